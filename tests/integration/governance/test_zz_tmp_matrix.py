import pytest
from faceledger.errors import FaceLedgerError
from tests.integration.governance.conftest import Governed

@pytest.mark.parametrize("who", ["req_a", "req_a2", "req_b", "ex1", "ex2", "rev", "aud", "ex_out", "admin", "sup"])
def test_m(governed: Governed, who: str) -> None:
    before = governed.counts()
    try:
        governed.service.disclosures.produce(governed.who(who), governed.requests["released"], "x")
        after = governed.counts()
        print("\nRESULT", who, "OK", {k: after[k]-before[k] for k in after if after[k] != before[k]})
    except FaceLedgerError as e:
        print("\nRESULT", who, e.status)
