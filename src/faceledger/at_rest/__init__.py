"""Biometrics and case facts encrypted at rest: sealed columns, data keys, the KEK, file modes.

- :mod:`.sealing`: the sealed column types and the :class:`~.sealing.Sealer` of data keys;
- :mod:`.kek`: the key-encryption key (a file, an environment variable or a KMS hook);
- :mod:`.keyring`: the data keys in the database, wrapped under the KEK, and their rotation;
- :mod:`.modes`: the data directory 0700, its files 0600, and the check of both.
"""
