"""Imports every table module so that ``Base.metadata`` knows the whole schema."""

from faceledger.alerts import models as alert_models
from faceledger.at_rest import models as key_models
from faceledger.gallery import models as gallery_models
from faceledger.governance import accounts as account_models
from faceledger.governance import models as governance_models
from faceledger.governance import throttle as throttle_models
from faceledger.governance import tokens as token_models
from faceledger.ledger import models as ledger_models
from faceledger.reports import models as report_models

__all__ = [
    "account_models",
    "alert_models",
    "gallery_models",
    "governance_models",
    "key_models",
    "ledger_models",
    "report_models",
    "throttle_models",
    "token_models",
]
