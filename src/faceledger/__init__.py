"""faceledger: governed face search with a verifiable ledger."""

__version__ = "0.1.0"
