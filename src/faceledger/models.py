"""Imports every table module so that ``Base.metadata`` knows the whole schema."""

from faceledger.gallery import models as gallery_models
from faceledger.governance import accounts as account_models  # noqa: F401  (accounts tables)
from faceledger.ledger import models as ledger_models  # noqa: F401  (registers the ledger tables)

__all__ = ["gallery_models"]
