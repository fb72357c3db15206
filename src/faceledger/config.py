"""Settings, declared once as data.

Each setting is a field of :class:`Settings` with a default, a help sentence and optional bounds.
Values come, lowest priority first, from the defaults, the TOML file ``faceledger.toml`` in the
data directory (or the file named by ``FACELEDGER_CONFIG``), environment variables
``FACELEDGER_<NAME>`` and explicit overrides (CLI flags, tests). A bad value fails loudly with a
:class:`~faceledger.errors.ConfigError` naming the setting, the value and where it came from.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceledger.errors import ConfigError

ENV_PREFIX = "FACELEDGER_"
CONFIG_FILE_NAME = "faceledger.toml"


def _setting(default: Any, help: str, **bounds: Any) -> Any:
    return field(default=default, metadata={"help": help, **bounds})


@dataclass(frozen=True)
class Settings:
    """Every faceledger setting. Build with :func:`load_settings`, not directly."""

    data_dir: Path = _setting(
        Path(".faceledger-data"), "Directory holding the database, vector index and ledger keys."
    )
    database_url: str = _setting(
        "", "SQLAlchemy URL of the database; empty means SQLite file faceledger.db in data_dir."
    )
    pipeline: str = _setting(
        "sface",
        "Face pipeline: 'sface' (YuNet detector + SFace descriptor, ONNX; default) or 'dlib' "
        "(dlib detector + ResNet descriptor). Templates of one cannot be searched with the other.",
        choices=("sface", "dlib"),
    )
    model_threads: int = _setting(
        1, "Threads each face model may use per process (OpenCV and onnxruntime).", min=1
    )
    detector: str = _setting(
        "hog",
        "dlib pipeline only: face detector 'hog' (fast, CPU) or 'cnn' (dlib MMOD, slower, "
        "finds more).",
        choices=("hog", "cnn"),
    )
    upsample: int = _setting(
        1,
        "dlib pipeline only: times the detector upsamples the image to find smaller faces.",
        min=0,
        max=3,
    )
    max_image_pixels: int = _setting(
        40_000_000, "Largest image accepted, in pixels, checked before decoding.", min=1
    )
    max_image_bytes: int = _setting(
        25 * 1024 * 1024, "Largest image file accepted, in bytes.", min=1
    )
    probe_working_pixels: int = _setting(
        1_500_000,
        "Probe photos larger than this many pixels are scaled down to it before face "
        "detection (a JPEG is decoded at reduced scale); the original is kept and hashed.",
        min=100_000,
    )
    analysis_timeout_seconds: float = _setting(
        30.0,
        "Time box of one face analysis (waiting for the pipeline, detecting, embedding); past "
        "it the call answers 503 and nothing is written.",
        min=0.001,
    )
    max_concurrent_analyses: int = _setting(
        1,
        "Face analyses one user may have running at once in a server process; more answer 429.",
        min=1,
    )
    min_eye_distance_px: float = _setting(
        12.0, "Smallest distance between the eye centres, in pixels, for a usable face.", min=0
    )
    min_sharpness: float = _setting(
        10.0, "Smallest variance of the Laplacian of the aligned face for a usable face.", min=0
    )
    max_yaw_degrees: float = _setting(
        60.0, "Largest estimated head turn (yaw), in degrees, for a usable face.", min=0, max=90
    )
    min_brightness: float = _setting(
        25.0, "Smallest mean grey level (0-255) of the aligned face.", min=0, max=255
    )
    max_brightness: float = _setting(
        235.0, "Largest mean grey level (0-255) of the aligned face.", min=0, max=255
    )
    top_k: int = _setting(10, "Candidates returned per probe face unless asked otherwise.", min=1)
    max_top_k: int = _setting(50, "Cap on candidates returned per probe face.", min=1, max=1000)
    verify_target_fmr: float = _setting(
        0.001,
        "1:1 verification: the false match rate the threshold is calibrated for, from the newest "
        "stored evaluation of the model (without one, the model's uncalibrated default).",
        min=1e-9,
        max=0.5,
    )
    enrol_dominance_ratio: float = _setting(
        2.0,
        "Enrolment of a photo with several faces: take the largest face if its box area is at "
        "least this many times the next face's; otherwise refuse the photo (0: always refuse).",
        min=0,
    )
    enroll_workers: int = _setting(
        0, "Processes used for bulk enrolment; 0 means one per CPU core.", min=0
    )
    dask_scheduler: str = _setting(
        "",
        "Bulk enrolment on a Dask cluster: the scheduler address (tcp://host:8786); empty means "
        "a LocalCluster on this machine for large jobs (`faceledger enroll --cluster` overrides).",
    )
    index_backend: str = _setting(
        "auto",
        "Vector index of each gallery: 'flat' (exact FAISS), 'hnsw' or 'ivf' (approximate FAISS "
        "with exact re-ranking), 'milvus' (Milvus Lite file or cluster at milvus_uri), or 'auto' "
        "(flat below index_approximate_from templates, ivf from there).",
        choices=("auto", "flat", "hnsw", "ivf", "milvus"),
    )
    index_approximate_from: int = _setting(
        1_000_000,
        "index_backend 'auto': galleries with at least this many templates get the approximate "
        "(ivf) index; smaller ones are searched exactly.",
        min=1,
    )
    milvus_uri: str = _setting(
        "",
        "index_backend 'milvus': a Milvus Lite file path (ending in .db) or a cluster URI "
        "(http://host:19530); empty means the Milvus Lite file index/milvus.db in data_dir.",
    )
    policy_profile: str = _setting(
        "massachusetts",
        "Policy profile made active at init (massachusetts, washington, maryland, eu-ai-act, "
        "lab, or a YAML path); later changes are admin actions recorded in the ledger.",
    )
    ledger_log_id: str = _setting(
        "", "Name of this ledger in signed checkpoints; empty means derived from the public key."
    )
    checkpoint_every_entries: int = _setting(
        1000,
        "Sign a checkpoint automatically after this many new ledger entries (0: never).",
        min=0,
    )
    checkpoint_every_minutes: int = _setting(
        60,
        "Sign a checkpoint automatically when the last one is older than this (0: never).",
        min=0,
    )
    jobs_every_seconds: int = _setting(
        300,
        "How often `faceledger serve` runs the due jobs (overdue emergency filings, misuse scan, "
        "alert delivery, retention, checkpoints and witnesses; 0: never).",
        min=0,
    )
    data_kek_file: str = _setting(
        "",
        "File holding the key-encryption key (KEK, base64 of 32 bytes, mode 0600) that wraps the "
        "data keys sealing photos, templates and narratives; empty means keys/data-kek in "
        "data_dir (made at init). Used unless data_kek or data_kek_command is set.",
    )
    data_kek: str = _setting(
        "",
        "The key-encryption key itself, base64 of 32 bytes (usually from the environment, "
        "FACELEDGER_DATA_KEK); used instead of data_kek_file. Shown masked.",
        secret=True,
    )
    data_kek_command: str = _setting(
        "",
        "KMS hook instead of a local KEK: a command run as `CMD wrap` or `CMD unwrap`, the key "
        "in base64 on its stdin, the result in base64 on its stdout; empty means none.",
    )
    witness_urls: str = _setting(
        "",
        "Witnesses (C2SP tlog-witness) the latest checkpoint is pushed to for cosigning: "
        "comma-separated base URLs (each serves POST <url>/add-checkpoint); empty means none.",
    )
    witness_keys: str = _setting(
        "",
        "Witnesses whose cosignatures the unit accepts, stores and serves with its checkpoints: "
        "comma-separated vkeys (name+hash+key, from `faceledger witness init`) or paths to "
        "vkey files; empty means none.",
    )
    alert_email_to: str = _setting(
        "",
        "Alerts (R18) by email: comma-separated recipient addresses; empty means no email.",
    )
    alert_email_from: str = _setting("faceledger@localhost", "Sender address of alert emails.")
    smtp_host: str = _setting("localhost", "SMTP server for alert emails.")
    smtp_port: int = _setting(25, "SMTP server port.", min=1, max=65535)
    smtp_tls: str = _setting(
        "none",
        "SMTP transport security: 'none', 'starttls' or 'ssl' (implicit TLS, usually port 465).",
        choices=("none", "starttls", "ssl"),
    )
    smtp_username: str = _setting("", "SMTP login name; empty means no login.")
    smtp_password: str = _setting(
        "", "SMTP password (shown masked by `faceledger config`).", secret=True
    )
    smtp_timeout_seconds: int = _setting(
        10, "Seconds to wait for the SMTP server before a delivery counts as failed.", min=1
    )
    alert_webhook_url: str = _setting(
        "", "Alerts (R18) by webhook: the URL each alert is POSTed to as JSON; empty means none."
    )
    alert_webhook_secret: str = _setting(
        "",
        "Key of the webhook's HMAC-SHA256 signature (header X-Faceledger-Signature); required "
        "with alert_webhook_url.",
        secret=True,
    )
    alert_max_attempts: int = _setting(
        8, "Delivery attempts per alert and channel before it is marked failed.", min=1, max=100
    )
    alert_retry_seconds: int = _setting(
        60, "Wait before the first retry of a failed delivery; doubles with each attempt.", min=1
    )

    api_docs: bool = _setting(
        True,
        "Serve the API documentation (/api/v1/docs and /api/v1/openapi.json) from bundled "
        "assets, no CDN; set false in production to turn them off.",
    )
    hsts_max_age_seconds: int = _setting(
        0,
        "Behind TLS: send Strict-Transport-Security with this max-age on every response; 0 "
        "sends none (plain HTTP on loopback).",
        min=0,
        max=63_072_000,
    )
    header_timeout_seconds: int = _setting(
        10, "A client must send a request's headers within this many seconds.", min=1, max=600
    )
    body_timeout_seconds: int = _setting(
        30,
        "A client must send each part of a request body within this many seconds of the last.",
        min=1,
        max=3600,
    )

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL in use (the SQLite file in data_dir unless database_url is set)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'faceledger.db').resolve()}"

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied and validated."""
        return _build({**self.as_dict(), **changes}, {k: "override" for k in changes})

    def as_dict(self) -> dict[str, Any]:
        """Return every setting by name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def shown(self) -> dict[str, Any]:
        """Return every setting by name as it may be shown: secrets masked (``***`` when set),
        and the passwords and query values of URLs masked by :func:`mask_url`."""
        shown: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("secret"):
                value = "***" if value else ""
            elif isinstance(value, str):
                value = _mask_urls(value)
            shown[f.name] = value
        return shown


# Query options of database and index URLs that never hold a secret; every other query value
# (password=, token=, sig=, code=, ...) is masked.
_PLAIN_QUERY_KEYS = frozenset(
    {
        "application_name",
        "cache",
        "charset",
        "check_same_thread",
        "connect_timeout",
        "db_name",
        "mode",
        "sslmode",
        "target_session_attrs",
        "timeout",
        "uri",
    }
)
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# As SQLAlchemy's URL pattern: a password runs from the first ":" of the user part to an "@".
_SQLALCHEMY_USERINFO = re.compile(r"[^:/@]*(?::[^@]*)?@")
_WEB_SCHEMES = frozenset({"http", "https", "ws", "wss", "tcp", "tls", "grpc", "grpcs"})


def mask_url(url: str) -> str:
    """Return ``url`` as it may be shown or logged: its password and every query value but a
    few harmless options replaced by ``***``, and its fragment too; user, host, port and path
    stay (``postgresql+psycopg://user:***@host/db``). Text that is not a URL comes back as is.

    Web URLs (http, https, tcp, ...) are read as RFC 3986 does; others as database URLs, in
    which SQLAlchemy lets an unencoded ``/`` stand in the password.
    """
    scheme, separator, rest = url.partition("://")
    if not separator or not _URL_SCHEME.fullmatch(scheme):
        return url
    # The user part ends at the last "@" of the host part (which ends at the first "/", "?"
    # or "#" of a web URL, at the first "?" of a database URL). A password with a character
    # that ends the host part unencoded still counts as one: better masked too much than leaked.
    stops = "/?#" if scheme.lower() in _WEB_SCHEMES else "?"
    ends = [i for i in (rest.find(c) for c in stops) if i >= 0]
    at = rest.rfind("@", 0, min(ends, default=len(rest)))
    if at < 0:
        found = _SQLALCHEMY_USERINFO.match(rest)
        at = found.end() - 1 if found else -1
    if at >= 0:
        user, colon, password = rest[:at].partition(":")
        rest = f"{user}{colon}{'***' if password else ''}{rest[at:]}"
    rest, hash_mark, fragment = rest.partition("#")
    rest, question, query = rest.partition("?")
    if question:
        query = "&".join(_mask_query_item(item) for item in query.split("&"))
    return f"{scheme}://{rest}{question}{query}{hash_mark}{'***' if fragment else ''}"


def _mask_query_item(item: str) -> str:
    key, equals, value = item.partition("=")
    if not equals:
        return "***" if key else key  # a bare ?TOKEN
    return item if key.lower() in _PLAIN_QUERY_KEYS or not value else f"{key}=***"


def _mask_urls(text: str) -> str:
    # A comma-separated list of URLs (witness_urls) is masked item by item; a PostgreSQL URL
    # with several hosts (postgresql://u:p@h1,h2/db) has one "://" and is masked whole.
    items = text.split(",")
    if len(items) > 1 and all("://" in item for item in items):
        return ",".join(mask_url(item) for item in items)
    return mask_url(text)


def describe_settings() -> list[tuple[str, str, Any, str]]:
    """Return (name, environment variable, default, help) for every setting, for docs and CLI."""
    return [
        (f.name, ENV_PREFIX + f.name.upper(), f.default, f.metadata["help"])
        for f in dataclasses.fields(Settings)
    ]


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read settings from defaults, the config file, the environment and ``overrides``.

    Raises:
        ConfigError: for an unknown setting in the file, or any value of the wrong type or range.
    """
    environ = os.environ if environ is None else environ
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    names = {f.name for f in dataclasses.fields(Settings)}

    env_values = {
        name: environ[ENV_PREFIX + name.upper()]
        for name in names
        if ENV_PREFIX + name.upper() in environ
    }
    data_dir = overrides.get("data_dir", env_values.get("data_dir", Settings.data_dir))
    config_path = Path(environ.get(ENV_PREFIX + "CONFIG", Path(data_dir) / CONFIG_FILE_NAME))
    if config_path.is_file():
        try:
            file_values = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Config file {config_path} is not valid TOML: {exc}") from exc
        unknown = sorted(set(file_values) - names)
        if unknown:
            raise ConfigError(
                f"Config file {config_path} names unknown settings: {', '.join(unknown)}",
                known=sorted(names),
            )
        values.update(file_values)
        sources.update({k: str(config_path) for k in file_values})
    values.update(env_values)
    sources.update({k: ENV_PREFIX + k.upper() for k in env_values})
    values.update(overrides)
    sources.update({k: "override" for k in overrides})
    return _build(values, sources)


def _build(values: Mapping[str, Any], sources: Mapping[str, str]) -> Settings:
    parsed: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        if f.name not in values:
            continue
        parsed[f.name] = _parse(f, values[f.name], sources.get(f.name, "default"))
    settings = Settings(**parsed)
    if settings.min_brightness >= settings.max_brightness:
        raise ConfigError("min_brightness must be below max_brightness.")
    if settings.top_k > settings.max_top_k:
        raise ConfigError(
            f"top_k ({settings.top_k}) must not exceed max_top_k ({settings.max_top_k})."
        )
    if settings.alert_webhook_url:
        if not settings.alert_webhook_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"alert_webhook_url must be an http:// or https:// URL, got "
                f"{mask_url(settings.alert_webhook_url)!r}.",
                setting="alert_webhook_url",
            )
        if not settings.alert_webhook_secret:
            raise ConfigError(
                "alert_webhook_url needs alert_webhook_secret: receivers must be able to check "
                "each alert's HMAC signature.",
                setting="alert_webhook_secret",
            )
    return settings


def _parse(f: dataclasses.Field[Any], raw: Any, source: str) -> Any:
    kind = (
        f.type
        if isinstance(f.type, type)
        else {"Path": Path, "str": str, "int": int, "float": float, "bool": bool}[f.type]
    )
    where = f"setting {f.name} (from {source})"
    try:
        if kind is bool:
            value: Any = _parse_bool(raw)
        elif kind is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            value = int(raw)
        elif kind is float:
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
        elif kind is Path:
            value = Path(str(raw)).expanduser()
        else:
            value = str(raw)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where} must be of type {kind.__name__}, got {raw!r}.", setting=f.name
        ) from None
    choices = f.metadata.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(
            f"{where} must be one of {', '.join(choices)}, got {value!r}.", setting=f.name
        )
    low, high = f.metadata.get("min"), f.metadata.get("max")
    if low is not None and value < low:
        raise ConfigError(f"{where} must be at least {low}, got {value!r}.", setting=f.name)
    if high is not None and value > high:
        raise ConfigError(f"{where} must be at most {high}, got {value!r}.", setting=f.name)
    return value


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)
