"""Text fields of an entry are refused alike on every backend (PostgreSQL text cannot hold a
NUL; SQLite would store it), before anything is written."""

from __future__ import annotations

import pytest

from faceledger.db import Database
from faceledger.errors import LedgerError
from faceledger.ledger import Ledger


@pytest.mark.parametrize("field", ["actor", "action", "object_type", "object_id"])
def test_a_nul_in_a_text_field_is_refused_and_nothing_is_written(
    db: Database, ledger: Ledger, field: str
) -> None:
    fields = {"actor": "a", "action": "t", "object_type": "o", "object_id": "1"}
    fields[field] = "before\x00after"
    refused = pytest.raises(LedgerError, match=f"field {field} must not contain a NUL")
    with refused as caught, db.transaction() as session:
        ledger.append(
            session,
            actor=fields["actor"],
            action=fields["action"],
            object_type=fields["object_type"],
            object_id=fields["object_id"],
            payload={"k": "v"},
        )
    assert caught.value.details["field"] == field
    with db.read() as session:
        assert ledger.query(session) == []
        entry = ledger.append(
            session,
            actor="a",
            action="t",
            object_type="o",
            object_id="1",
            payload={"nul": "\x00 in a payload is JSON-escaped"},
        )
        assert entry.seq == 0
