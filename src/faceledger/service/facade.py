"""The FaceLedger holder: opens a data directory and composes the use-case objects.

Each attribute is one area of use cases, built here from explicit dependencies (the context,
the access model, the policy store, the matcher); a reader follows a route or command to
storage through these names, never through a mixin chain.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from argon2 import PasswordHasher

from faceledger.at_rest.kek import LocalKek, create_kek_file, kek_file_path, kek_from_settings
from faceledger.at_rest.keyring import open_sealer
from faceledger.at_rest.models import DataKeyRow
from faceledger.at_rest.modes import make_private_dir
from faceledger.biometrics.pipeline import FacePipeline
from faceledger.config import Settings
from faceledger.db import Database
from faceledger.governance.accounts import DEFAULT_HASHER
from faceledger.ledger import PRIVATE_KEY_FILE, generate_keys
from faceledger.ledger.pseudonyms import ensure_pseudonym_key
from faceledger.service.access import Access
from faceledger.service.accounts import AccountUseCases
from faceledger.service.alert_inbox import AlertInbox
from faceledger.service.alerts import AlertUseCases
from faceledger.service.audit import AuditUseCases
from faceledger.service.case_queries import CaseQueryUseCases
from faceledger.service.context import KEYS_DIR, ServiceContext
from faceledger.service.dashboard import DashboardUseCases
from faceledger.service.data_keys import DataKeyUseCases
from faceledger.service.deployments import DeploymentUseCases, OperatingPoints
from faceledger.service.disclosures import DisclosureUseCases
from faceledger.service.emergencies import EmergencyUseCases
from faceledger.service.galleries import GalleryUseCases
from faceledger.service.images import ImageUseCases
from faceledger.service.jobs import DueJobs
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.ledger_keys import LedgerKeyUseCases
from faceledger.service.misuse import MisuseUseCases
from faceledger.service.policy import PolicyStore, PolicyUseCases
from faceledger.service.request_core import RequestSteps
from faceledger.service.requests import RequestUseCases
from faceledger.service.retention import RetentionUseCases
from faceledger.service.reviews import ReviewUseCases
from faceledger.service.searches import Matcher, SearchUseCases
from faceledger.service.tokens import TokenUseCases
from faceledger.service.transparency import TransparencyUseCases
from faceledger.service.violations import ViolationLog, ViolationUseCases
from faceledger.service.witnesses import WitnessUseCases


class FaceLedger:
    """The service: every use case of faceledger, each in one transaction with its record.

    ``password_hasher`` makes new password hashes; a subclass may set a cheaper one (tests do).
    """

    password_hasher: ClassVar[PasswordHasher] = DEFAULT_HASHER

    def __init__(self, settings: Settings, pipeline: FacePipeline | None = None) -> None:
        ctx = ServiceContext.open(settings, pipeline, self.password_hasher)
        try:
            _attach_data_keys(ctx)
        except BaseException:
            ctx.close()
            raise
        self.context, self.settings = ctx, settings
        self._policy_store = PolicyStore(ctx)
        inbox = AlertInbox(settings)
        violation_log = ViolationLog(ctx.ledger, inbox)
        self.access = Access(ctx, self._policy_store, violation_log)
        points = OperatingPoints(ctx, self._policy_store)
        matcher = Matcher(ctx, points)
        steps = RequestSteps(ctx, self.access, self._policy_store)
        self.galleries = GalleryUseCases(ctx, self.access)
        self.searches = SearchUseCases(ctx, matcher, self.access, self._policy_store)
        self.requests = RequestUseCases(steps, matcher)
        self.reviews = ReviewUseCases(steps)
        self.emergencies = EmergencyUseCases(steps, violation_log)
        self.images = ImageUseCases(steps, matcher)
        self.accounts = AccountUseCases(ctx, self.access, self._policy_store)
        self.tokens = TokenUseCases(ctx, self.access)
        self.audit = AuditUseCases(ctx, self.access)
        self.ledger_keys = LedgerKeyUseCases(ctx, self.access)
        self.data_keys = DataKeyUseCases(ctx, self.access)
        self.policy = PolicyUseCases(ctx, self._policy_store, self.access)
        self.violations = ViolationUseCases(ctx, self.access)
        self.deployments = DeploymentUseCases(ctx, self.access, self._policy_store, points)
        self.disclosures = DisclosureUseCases(ctx, self.access)
        self.transparency = TransparencyUseCases(ctx, self.access, self._policy_store)
        self.misuse = MisuseUseCases(ctx, self.access, self._policy_store, inbox)
        self.alerts = AlertUseCases(ctx, self.access, inbox)
        self.cases = CaseQueryUseCases(ctx, self.access)
        self.retention = RetentionUseCases(ctx, self.access, self._policy_store)
        self.witnesses = WitnessUseCases(ctx, self.access)
        self.jobs = DueJobs(
            self.emergencies,
            self.misuse,
            self.alerts,
            self.retention,
            self.audit,
            self.witnesses,
        )
        self.dashboard = DashboardUseCases(ctx, self.access)

    @classmethod
    def initialise(cls, settings: Settings, actor: str) -> FaceLedger:
        """Create (or bring up to date) the data directory (0700), database schema, ledger keys,
        the key-encryption key file (0600, when it is the KEK source and no data key exists
        yet) and the first data key.

        Raises:
            ConfigError: if the KEK is missing or wrong for the data keys already there.
        """
        make_private_dir(settings.data_dir)
        database = Database(settings.db_url)
        try:
            database.upgrade()
            with database.read() as session:
                has_data_keys = session.query(DataKeyRow.id).first() is not None
        finally:
            database.dispose()
        keys_dir = settings.data_dir / KEYS_DIR
        created = not (keys_dir / PRIVATE_KEY_FILE).exists()
        if created:
            generate_keys(keys_dir)
            # With the signing key (opening the service makes it for older data dirs too).
            ensure_pseudonym_key(keys_dir)
        make_private_dir(keys_dir)
        for path in keys_dir.iterdir():
            if path.is_file():  # the public key too: anyone may have it, from `ledger public-key`
                os.chmod(path, 0o600)
        kek_file = kek_file_path(settings)
        uses_file = not (settings.data_kek or settings.data_kek_command)
        if uses_file and not has_data_keys and not kek_file.exists():
            # Only before anything is sealed: a new KEK could open no existing data key.
            create_kek_file(kek_file)
        service = cls(settings)
        if created:
            with service.context.db.transaction() as session:
                service.context.ledger.append(
                    session,
                    actor=actor,
                    action=LedgerAction.SYSTEM_INIT,
                    object_type="system",
                    object_id="faceledger",
                    payload={"schema": service.context.db.head_revision() or ""},
                )
        service._policy_store.initialise(actor)
        return service

    @property
    def public_key_path(self) -> Path:
        """Where the ledger's public key (PEM) is."""
        return self.context.public_key_path

    def close(self) -> None:
        """Release database connections."""
        self.context.close()


def _attach_data_keys(ctx: ServiceContext) -> None:
    """Unwrap the data keys with the configured KEK and attach them to the database; make the
    index folder 0700 (its files hold plaintext vectors, a derived cache).

    Raises:
        ConfigError: if the KEK is missing, malformed, loose or not the one that wrapped them.
    """
    settings = ctx.settings
    kek = kek_from_settings(settings)
    kek_file = (
        kek_file_path(settings) if isinstance(kek, LocalKek) and not settings.data_kek else None
    )
    ctx.db.attach_sealer(open_sealer(ctx.db, kek, kek_file))
    make_private_dir(settings.data_dir / "index")
