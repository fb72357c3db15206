"""The witness program: an outside party's check that a unit shows everyone one log.

A witness (a court clerk, a civil-liberties group) keeps its own Ed25519 key and, for each log it
witnesses, the latest checkpoint it cosigned. Given a new checkpoint and a consistency proof it
checks that the log's key signed it and that it extends the last one, and only then returns a
``cosignature/v1`` line (``c2sp.org/tlog-witness``, ``c2sp.org/tlog-cosignature``). Two
different checkpoints for one size, or one that does not extend the last, are refused and kept
as evidence.

* :mod:`.state`: the witness directory (key, vkey, logs, state, evidence);
* :mod:`.protocol`: the ``add-checkpoint`` wire format;
* :mod:`.add`: the checks and the cosigning;
* :mod:`.server`: ``POST /add-checkpoint`` over HTTP (``faceledger witness serve``);
* :mod:`.client`: submitting to a witness (what the unit's collector uses);
* :mod:`.pull`: pull mode against a unit's API (``faceledger witness cosign``).

It needs only the ledger's pure modules, the standard library, ``cryptography`` and ``httpx``:
nothing of the unit's service, database or models.
"""

from faceledger.witness.add import Cosigned, add_checkpoint
from faceledger.witness.pull import PullResult, cosign_from_unit
from faceledger.witness.state import WitnessDir

__all__ = ["Cosigned", "PullResult", "WitnessDir", "add_checkpoint", "cosign_from_unit"]
