"""The offline checker of a disclosure packet: the public key and the packet, nothing else.

Steps, each naming the first thing that fails (a :class:`~faceledger.errors.VerificationFailed`
whose ``details`` carry ``reason`` and, where known, ``seq`` or ``fact`` and its ``label``):

(1) the packet is strict JSON (no duplicate keys) of this format, version and facts version;
(2) its checkpoint is signed by the given key, for the log the header names;
(3) every entry, in ``seq`` order, is well formed, its payload hashes to its
    ``payload_sha256``, its envelope (public fields included) to its leaf hash, and its
    inclusion proof reaches the checkpoint's root (RFC 9162 §2.1.3.2; the same steps as
    :func:`faceledger.ledger.bundle.verify_inclusion_bundle`, which does them);
(4) every reveal among the entries opens its commitment in an earlier entry of the packet (the
    first review's marks, opened by the peer review);
(5) every document's text hashes to the SHA-256 its entry records;
(6) every fact's value is the value at its pointer in its entry or document;
(7) the facts are exactly those :func:`~.facts.extract_facts` reads from these entries and
    documents: none changed in label or source, none added, none left out;
(8) every entry is about the request, or backs one of its facts.

The header (apart from the request id, case number and log id) and the database ``records``
are not ledger facts; the ledger's ``report.disclosure`` entry records the packet's SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger.errors import VerificationFailed
from faceledger.ledger.bundle import BUNDLE_FORMAT, BUNDLE_VERSION, verify_inclusion_bundle
from faceledger.ledger.canonical import canonical_json
from faceledger.ledger.checkpoint import Checkpoint
from faceledger.ledger.commitments import RevealTracker
from faceledger.reports.disclosure.accuracy import evaluation_document
from faceledger.reports.disclosure.collect import ActionNames, Document, entry_view
from faceledger.reports.disclosure.facts import FACTS_VERSION, extract_facts
from faceledger.reports.disclosure.packet import PACKET_FORMAT, PACKET_VERSION
from faceledger.reports.disclosure.pointer import PointerError, resolve

__all__ = ["PacketReport", "check_packet"]


@dataclass(frozen=True)
class PacketReport:
    """What a packet that checks out proved."""

    request_id: int
    entries: int
    facts: int
    documents: int
    checkpoint_number: int
    tree_size: int
    reveals_checked: int

    def summary(self) -> str:
        """One sentence for a person."""
        return (
            f"request {self.request_id}: {self.entries} ledger entries proven against the signed "
            f"checkpoint {self.checkpoint_number} (tree size {self.tree_size}); "
            f"{self.facts} facts match their entries, {self.documents} documents their hashes, "
            f"{self.reveals_checked} reveals their commitments."
        )


def _fail(message: str, reason: str, **details: Any) -> NoReturn:
    raise VerificationFailed(message, reason=reason, **details)


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 200 else text[:197] + "..."


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON (so 1, 1.0 and true differ, and key order does not matter)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            _fail(f"The packet repeats the key {key!r} in one object.", "malformed", key=key)
        found[key] = value
    return found


def _load(packet: str | bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(packet, Mapping):
        return packet
    try:
        data = json.loads(packet, object_pairs_hook=_unique_object)
    except ValueError as exc:
        _fail(f"The packet is not valid JSON: {exc}.", "malformed")
    if not isinstance(data, dict):
        _fail("A packet must be a JSON object.", "malformed")
    return data


def _part(data: Mapping[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind):
        _fail(f"The packet has no {name} {kind.__name__}.", "malformed", part=name)
    return value


def check_packet(
    packet: str | bytes | Mapping[str, Any], public_key: Ed25519PublicKey, actions: ActionNames
) -> PacketReport:
    """Check a disclosure packet offline (steps in the module doc) and report what it proved.

    Raises:
        VerificationFailed: at the first failing step, naming the entry or fact.
    """
    # (1) Format.
    data = _load(packet)
    header = _part(data, "header", dict)
    expected = [PACKET_FORMAT, PACKET_VERSION, FACTS_VERSION]
    actual = [header.get("format"), header.get("version"), header.get("facts_version")]
    if actual != expected:
        _fail(
            f"Not a {PACKET_FORMAT} version {PACKET_VERSION} packet with facts version "
            f"{FACTS_VERSION}.",
            "malformed",
            expected=expected,
            actual=actual,
        )
    request_id = header.get("request_id")
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        _fail("The packet header names no request id.", "malformed")
    # (2) The checkpoint: signed, and of the log the header names.
    cp_data = _part(data, "checkpoint", dict)
    checkpoint = Checkpoint.from_dict(cp_data)
    checkpoint.verify_signature(public_key)
    if base64.b64encode(checkpoint.signature).decode("ascii") != cp_data.get("signature"):
        _fail("The checkpoint's signature is not in canonical base64.", "malformed")
    if header.get("log_id") != checkpoint.log_id:
        _fail(
            "The header names another log than the checkpoint.",
            "log_mismatch",
            expected=checkpoint.log_id,
            actual=header.get("log_id"),
        )
    entries = _entries(_part(data, "entries", list), cp_data, public_key)
    reveals = _reveals(entries)
    documents = _documents(_part(data, "documents", list), entries, actions)
    facts = _part(data, "facts", list)
    _facts_match(facts, entries, documents)
    _facts_complete(facts, request_id, list(entries.values()), documents, actions)
    _entries_used(entries, facts, documents, request_id)
    _case_number(header, facts)
    return PacketReport(
        request_id=request_id,
        entries=len(entries),
        facts=len(facts),
        documents=len(documents),
        checkpoint_number=checkpoint.number,
        tree_size=checkpoint.tree_size,
        reveals_checked=reveals,
    )


def _entries(
    items: Sequence[Any], checkpoint: Mapping[str, Any], public_key: Ed25519PublicKey
) -> dict[int, dict[str, Any]]:
    """(3) Every entry proven against the checkpoint; returned by seq."""
    found: dict[int, dict[str, Any]] = {}
    last = -1
    for position, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("seq"), int):
            _fail(f"Entry {position} of the packet is malformed.", "malformed", position=position)
        seq = item["seq"]
        if seq <= last:
            _fail(f"Entry {seq} is out of seq order or repeated.", "malformed", seq=seq)
        last = seq
        if item.get("type") != "entry":
            _fail(f"Entry {seq} is not marked as an entry record.", "malformed", seq=seq)
        record = {k: v for k, v in item.items() if k != "proof"}
        bundle = {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "entry": record,
            "proof": item.get("proof"),
            "checkpoint": checkpoint,
        }
        try:
            verify_inclusion_bundle(bundle, public_key)
        except VerificationFailed as exc:
            message = exc.message
            if not message.startswith(f"Entry {seq}"):
                message = f"Entry {seq}: {message[0].lower()}{message[1:]}"
            action = item.get("action")
            _fail(f"{message} ({action})", str(exc.details.get("reason", "malformed")), seq=seq)
        found[seq] = item
    return found


def _reveals(entries: Mapping[int, Mapping[str, Any]]) -> int:
    """(4) Reveals against commitments of earlier entries in the packet."""
    tracker = RevealTracker(
        was_redacted=lambda seq: seq not in entries or "payload" not in entries[seq]
    )
    for seq, entry in entries.items():
        payload = entry.get("payload")
        if isinstance(payload, dict):
            tracker.entry(seq, canonical_json(payload), payload)
    return tracker.reveals_checked


def _documents(
    items: Sequence[Any], entries: Mapping[int, Mapping[str, Any]], actions: ActionNames
) -> dict[str, Document]:
    """(5) Every document hashes to the SHA-256 its ``model.evaluation`` entry records (checked
    before it is read), and is named as that entry names it."""
    found: dict[str, Document] = {}
    for position, item in enumerate(items):
        try:
            doc_id, text = str(item["id"]), item["text"]
            seq = item["sha256_in"]["seq"]
            if not isinstance(text, str) or not isinstance(seq, int):
                raise TypeError("a document's text is a string and its seq an integer")
        except (KeyError, TypeError):
            _fail(
                f"Document {position} of the packet is malformed.", "malformed", position=position
            )
        entry = entries.get(seq)
        if entry is None or entry.get("action") != actions.model_evaluation:
            _fail(
                f"Document {doc_id}: its hash is said to be in entry {seq}, which is not an "
                "evaluation entry of the packet.",
                "document_unanchored",
                document=doc_id,
            )
        payload = entry.get("payload") or {}
        recorded = payload.get("summary_sha256")
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        if not isinstance(recorded, str) or not hmac.compare_digest(recorded, digest):
            _fail(
                f"Document {doc_id}: its text does not hash to the SHA-256 entry {seq} records.",
                "document_hash_mismatch",
                document=doc_id,
                seq=seq,
                expected=recorded,
                actual=digest,
            )
        try:
            document = evaluation_document(seq, payload, text)
        except ValueError as exc:
            _fail(f"Document {doc_id} cannot be read: {exc}.", "malformed", document=doc_id)
        given = {k: item.get(k) for k in ("id", "label", "media_type", "sha256_in")}
        if given != {k: v for k, v in document.to_dict().items() if k != "text"}:
            _fail(
                f"Document {doc_id} is not named as entry {seq} names it "
                f"({document.id}: {document.label}).",
                "document_altered",
                document=doc_id,
            )
        if document.id in found:
            _fail(f"Document {document.id} appears twice.", "malformed", document=document.id)
        found[document.id] = document
    return found


def _fact_name(fact: Any, position: int) -> tuple[str, str]:
    if not isinstance(fact, dict):
        return f"#{position}", ""
    return str(fact.get("id", f"#{position}")), str(fact.get("label", ""))


def _facts_match(
    facts: Sequence[Any],
    entries: Mapping[int, Mapping[str, Any]],
    documents: Mapping[str, Document],
) -> None:
    """(6) Every fact's value is the one at its pointer."""
    for position, fact in enumerate(facts):
        fid, label = _fact_name(fact, position)
        named = f"Fact {fid} ({label})"
        source = fact.get("source") if isinstance(fact, dict) else None
        if not isinstance(source, dict) or not isinstance(source.get("pointer"), str):
            _fail(f"{named} has no source.", "malformed", fact=fid, label=label)
        where: Any
        if "document" in source:
            document = documents.get(str(source["document"]))
            if document is None:
                _fail(
                    f"{named} cites a document the packet does not hold.",
                    "fact_unsourced",
                    fact=fid,
                    label=label,
                )
            where, what = document.data, f"document {document.id}"
        else:
            seq = source.get("seq")
            entry = entries.get(seq) if isinstance(seq, int) else None
            if entry is None:
                _fail(
                    f"{named} cites entry {seq}, which the packet does not hold.",
                    "fact_unsourced",
                    fact=fid,
                    label=label,
                )
            where, what = entry_view(entry), f"entry {seq}"
        try:
            value = resolve(where, source["pointer"])
        except PointerError as exc:
            _fail(
                f"{named}: {what} has no such value: {exc}", "fact_unsourced", fact=fid, label=label
            )
        if "value" not in fact or not _same(fact["value"], value):
            _fail(
                f"{named}: the packet says {_show(fact.get('value'))}, but {what} says "
                f"{_show(value)} at {source['pointer']}.",
                "fact_mismatch",
                fact=fid,
                label=label,
                expected=_show(value),
                actual=_show(fact.get("value")),
            )


def _facts_complete(
    facts: Sequence[Any],
    request_id: int,
    entries: Sequence[Mapping[str, Any]],
    documents: Mapping[str, Document],
    actions: ActionNames,
) -> None:
    """(7) The facts are exactly those the entries establish."""
    try:
        wanted = [f.to_dict() for f in extract_facts(request_id, entries, documents, actions)]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # Entries proven genuine but of a shape this reading does not know: fail closed.
        _fail(f"The packet's entries cannot be read into facts: {exc!r}.", "malformed")
    by_id = {w["id"]: w for w in wanted}
    for position, fact in enumerate(facts):
        fid, label = _fact_name(fact, position)
        want = by_id.get(fid)
        if want is None:
            _fail(
                f"Fact {fid} ({label}) is not one the packet's entries establish.",
                "fact_unexpected",
                fact=fid,
                label=label,
            )
        if not _same(fact, want):
            _fail(
                f"Fact {fid} ({label}) differs from what its entry establishes "
                f"(as {want['label']!r} from {_show(want['source'])}).",
                "fact_altered",
                fact=fid,
                label=label,
                expected=_show(want),
                actual=_show(fact),
            )
    given = [f.get("id") for f in facts if isinstance(f, dict)]
    if given != [w["id"] for w in wanted]:
        missing = [w for w in wanted if w["id"] not in given]
        if missing:
            first = missing[0]
            _fail(
                f"Fact {first['id']} ({first['label']}) is left out, though entry "
                f"{_show(first['source'])} establishes it.",
                "fact_missing",
                fact=first["id"],
                label=first["label"],
            )
        _fail("The facts are out of order or repeated.", "malformed")


def _entries_used(
    entries: Mapping[int, Mapping[str, Any]],
    facts: Sequence[Any],
    documents: Mapping[str, Document],
    request_id: int,
) -> None:
    """(8) No entry rides along unexplained."""
    cited = {f["source"].get("seq") for f in facts if isinstance(f, dict)}
    cited |= {d.anchor.seq for d in documents.values()}
    for seq, entry in entries.items():
        about = entry.get("object_type") == "request" and entry.get("object_id") == str(request_id)
        if not about and seq not in cited:
            _fail(
                f"Entry {seq} ({entry.get('action')}) is not about request {request_id} and "
                "backs none of its facts.",
                "entry_unrelated",
                seq=seq,
            )


def _case_number(header: Mapping[str, Any], facts: Sequence[Any]) -> None:
    for fact in facts:
        if fact.get("id") == "request.case_number" and fact.get("value") != header.get(
            "case_number"
        ):
            _fail(
                "The header's case number is not the one the request's entry records.",
                "header_mismatch",
                expected=fact.get("value"),
                actual=header.get("case_number"),
            )
