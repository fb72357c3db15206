"""Imports every table module so that ``Base.metadata`` knows the whole schema."""

from faceledger.gallery import models as gallery_models

__all__ = ["gallery_models"]
