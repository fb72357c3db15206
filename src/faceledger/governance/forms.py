"""Turning what a requester types into policy context, and stored records back into it.

Pure functions: validation of the request form (clear ``InvalidInput`` errors naming the field)
and the mapping between stored JSON and the frozen context records the rules read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

from faceledger.errors import InvalidInput
from faceledger.governance.context import (
    Attestation,
    AuthorityKind,
    CourtOrder,
    DeceasedOrIncapacitated,
    DescribedRace,
    DescribedSex,
    Emergency,
    Investigation,
    LegalBasis,
    LegalBasisKind,
    ProbeSource,
    Purpose,
)
from faceledger.governance.inputs import (
    MAX_ID,
    REQUEST_TEXT_LIMITS,
    check_emergency_time,
    check_order_dates,
    check_text,
)

_E = TypeVar("_E", bound=StrEnum)


LEGAL_BASIS_FIELDS: Mapping[LegalBasisKind, tuple[str, ...]] = MappingProxyType(
    {
        LegalBasisKind.COURT_ORDER: (
            "court",
            "order_id",
            "judge",
            "issued_on",
            "expires_on",
            "authority",
        ),
        LegalBasisKind.EMERGENCY: ("facts", "declared_at"),
        LegalBasisKind.DECEASED_OR_INCAPACITATED: ("description",),
        LegalBasisKind.INVESTIGATION: (),
    }
)
"""The fields of each kind of legal basis: the one map every interface builds its form from."""

FORM_TEXT_FIELDS = (
    "case_number",
    "offence_code",
    "narrative",
    "legal_basis_kind",
    "probe_source",
    "attestation_text",
    "purpose",
    "max_candidates",
    "face_index",
    "described_sex",
    "described_race",
    *dict.fromkeys(name for names in LEGAL_BASIS_FIELDS.values() for name in names),
)
"""Every text field of a request form as interfaces take it (``galleries`` and ``attested``
aside)."""

MULTILINE_FIELDS = frozenset({"narrative", "attestation_text", "facts", "description"})
"""The text fields that may hold line breaks and tabs (every other refuses them too)."""


@dataclass(frozen=True)
class RequestForm:
    """A search request as filed by a requester (the probe photo travels separately)."""

    case_number: str
    offence_code: str | None
    narrative: str
    legal_basis_kind: LegalBasisKind
    legal_basis: Mapping[str, Any]
    probe_source: ProbeSource
    attested: bool
    attestation_text: str
    purpose: Purpose
    galleries: tuple[str, ...] = ()
    max_candidates: int | None = None
    face_index: int | None = None
    """The one face of the probe photo to search (0-based, as detected); may be left out only
    when the photo shows a single face."""
    described_sex: DescribedSex | None = None
    described_race: DescribedRace | None = None
    """The requester's description of the unknown person, optional (MA-BILL, counted in the
    transparency report). Never inferred from the photo (R8)."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse control and bidirectional-text characters in every text of the form, and
        texts longer than :data:`~faceledger.governance.inputs.REQUEST_TEXT_LIMITS`, so no
        interface can store them (:func:`~faceledger.governance.inputs.check_text`).

        Raises:
            InvalidInput: naming the field and the character's code point or the limit.
        """
        texts = {
            "case_number": self.case_number,
            "offence_code": self.offence_code or "",
            "narrative": self.narrative,
            "attestation_text": self.attestation_text,
        }
        limits = REQUEST_TEXT_LIMITS
        for name, value in texts.items():
            check_text(value, name, multiline=name in MULTILINE_FIELDS, max_length=limits.get(name))
        for name, value in self.legal_basis.items():
            if isinstance(value, str):
                check_text(
                    value,
                    f"legal_basis.{name}",
                    multiline=name in MULTILINE_FIELDS,
                    max_length=limits.get(name),
                )
        for gallery in self.galleries:
            check_text(str(gallery), "galleries", max_length=limits["galleries"])

    @classmethod
    def parse(
        cls, fields: Mapping[str, Any], galleries: Sequence[str], attested: bool
    ) -> RequestForm:
        """Build the form from flat fields as an interface received them (text or typed);
        only the fields of the chosen legal basis are kept, empty ones left out.

        Raises:
            InvalidInput: for an unknown legal basis, probe source or purpose, or a
                candidate count or face index that is not a whole number.
        """
        kind = enum_value(LegalBasisKind, fields.get("legal_basis_kind"), "legal_basis_kind")
        basis = {
            name: str(fields[name])
            for name in LEGAL_BASIS_FIELDS[kind]
            if fields.get(name) not in (None, "")
        }
        return cls(
            case_number=str(fields.get("case_number") or ""),
            offence_code=str(fields.get("offence_code") or "") or None,
            narrative=str(fields.get("narrative") or ""),
            legal_basis_kind=kind,
            legal_basis=basis,
            probe_source=enum_value(
                ProbeSource, fields.get("probe_source") or "still_photo", "probe_source"
            ),
            attested=attested,
            attestation_text=str(fields.get("attestation_text") or ""),
            purpose=enum_value(
                Purpose, fields.get("purpose") or "criminal_investigation", "purpose"
            ),
            galleries=tuple(galleries),
            max_candidates=_whole(fields.get("max_candidates"), "max_candidates"),
            face_index=_whole(fields.get("face_index"), "face_index"),
            described_sex=_optional_enum(
                DescribedSex, fields.get("described_sex"), "described_sex"
            ),
            described_race=_optional_enum(
                DescribedRace, fields.get("described_race"), "described_race"
            ),
        )


def _optional_enum(kind: type[_E], value: object, name: str) -> _E | None:
    if value is None or value == "":
        return None
    return enum_value(kind, value, name)


def _whole(value: object, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value).strip()
        try:
            number = int(text) if len(text) <= 20 else MAX_ID + 1
        except ValueError:
            raise InvalidInput(
                f"{name} must be a whole number; got {value!r}.", field=name
            ) from None
    if not 0 <= number <= MAX_ID:
        raise InvalidInput(
            f"{name} must be a whole number from 0 to {MAX_ID}; got {value!r}.", field=name
        )
    return number


def enum_value(kind: type[_E], value: object, name: str) -> _E:
    """Return ``value`` as member of ``kind``, or raise InvalidInput listing the choices."""
    try:
        return kind(str(value))
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise InvalidInput(f"{name} must be one of {choices}; got {value!r}.", field=name) from None


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{where}: {key} is required.", field=f"legal_basis.{key}")
    return value.strip()


def _date(data: Mapping[str, Any], key: str, where: str) -> dt.date:
    value = data.get(key)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            f"{where}: {key} must be a date (YYYY-MM-DD); got {value!r}.",
            field=f"legal_basis.{key}",
        ) from None


def parse_time(value: object, name: str) -> dt.datetime:
    """Parse an ISO 8601 time; a time without zone is taken as UTC."""
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise InvalidInput(f"{name} must be an ISO 8601 time; got {value!r}.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_legal_basis(
    kind_text: str, data: Mapping[str, Any], now: dt.datetime
) -> tuple[LegalBasisKind, dict[str, Any]]:
    """Validate the legal-basis fields of a form; return the kind and the record to store.

    Raises:
        InvalidInput: naming the first missing or malformed field.
    """
    kind = enum_value(LegalBasisKind, kind_text, "legal_basis_kind")
    if kind is LegalBasisKind.COURT_ORDER:
        where = "Court order"
        issued, expires = _date(data, "issued_on", where), _date(data, "expires_on", where)
        check_order_dates(issued, expires, now.date())
        authority = enum_value(
            AuthorityKind, data.get("authority", "judicial"), "legal_basis.authority"
        )
        return kind, {
            "court": _text(data, "court", where),
            "order_id": _text(data, "order_id", where),
            "judge": _text(data, "judge", where),
            "issued_on": issued.isoformat(),
            "expires_on": expires.isoformat(),
            "authority": authority.value,
        }
    if kind is LegalBasisKind.EMERGENCY:
        declared = check_emergency_time(
            parse_time(data.get("declared_at", now), "legal_basis.declared_at"), now
        )
        return kind, {
            "facts": _text(data, "facts", "Emergency"),
            "declared_at": declared.isoformat(),
        }
    if kind is LegalBasisKind.DECEASED_OR_INCAPACITATED:
        return kind, {"description": _text(data, "description", "Deceased or incapacitated")}
    return kind, {}


@dataclass(frozen=True)
class EmergencyState:
    """The follow-up of an emergency as stored beside the request."""

    approving_supervisor: str | None
    filing_deadline: dt.datetime | None
    filed_at: dt.datetime | None
    court_refused: bool


def legal_basis_of(
    kind: str, data: Mapping[str, Any], emergency: EmergencyState | None = None
) -> LegalBasis:
    """Rebuild the context record of a stored legal basis."""
    basis = LegalBasisKind(kind)
    if basis is LegalBasisKind.COURT_ORDER:
        return CourtOrder(
            court=data["court"],
            order_id=data["order_id"],
            judge=data["judge"],
            issued_on=dt.date.fromisoformat(data["issued_on"]),
            expires_on=dt.date.fromisoformat(data["expires_on"]),
            authority=AuthorityKind(data.get("authority", "judicial")),
        )
    if basis is LegalBasisKind.EMERGENCY:
        state = emergency or EmergencyState(None, None, None, False)
        return Emergency(
            facts=data["facts"],
            declared_at=parse_time(data["declared_at"], "declared_at"),
            approving_supervisor_id=state.approving_supervisor,
            filing_deadline=state.filing_deadline,
            filed_at=state.filed_at,
            court_refused=state.court_refused,
        )
    if basis is LegalBasisKind.DECEASED_OR_INCAPACITATED:
        return DeceasedOrIncapacitated(description=data["description"])
    return Investigation()


def attestation_record(form: RequestForm) -> dict[str, Any]:
    """Validate the protected-activity attestation (R8) and return the record to store."""
    purpose = enum_value(Purpose, form.purpose, "purpose")
    return {
        "attested": bool(form.attested),
        "text": form.attestation_text.strip(),
        "purpose": purpose.value,
    }


def attestation_of(record: Mapping[str, Any]) -> Attestation:
    """Rebuild the attestation from its stored record."""
    return Attestation(bool(record["attested"]), str(record["text"]), Purpose(record["purpose"]))
