"""Settings: ``SIGNOFF_*`` environment variables over an optional ``signoff.toml``.

Nothing is read at import time: entry points call :func:`load_settings` once and pass the
result to :func:`signoff.bootstrap.build`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from signoff.errors import ConfigurationError

__all__ = ["Settings", "SmtpTarget", "load_settings", "parse_smtp_url"]


class SmtpTarget(NamedTuple):
    """Where notification e-mail goes, from ``SIGNOFF_SMTP_URL``."""

    tls: str            # "ssl" (smtps://), "starttls", or "none"
    host: str
    port: int
    username: str | None
    password: str | None

    def describe(self) -> str:
        """For start-up lines and the admin view: never the password."""
        who = f"{self.username}@" if self.username else ""
        scheme = "smtps" if self.tls == "ssl" else "smtp"
        extra = " (STARTTLS)" if self.tls == "starttls" else ""
        return f"{scheme}://{who}{self.host}:{self.port}{extra}"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_smtp_url(url: str, *, starttls: bool = False) -> SmtpTarget:
    """``smtp://[user:pass@]host[:port][?starttls=true]`` or ``smtps://…``; ValueError says
    what is wrong in one line."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"cannot be read as a URL: {exc}") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("names no host (smtp://host:port)")
    query = {k.lower(): v[-1].lower() for k, v in parse_qs(parts.query).items()}
    flag = query.get("starttls", "")
    if flag not in ("", "true", "false", "1", "0", "yes", "no"):
        raise ValueError("starttls must be true or false")
    starttls = starttls or flag in ("true", "1", "yes")
    if parts.scheme == "smtps" and starttls:
        raise ValueError("smtps:// is TLS from the start; STARTTLS is for smtp://")
    tls = "ssl" if parts.scheme == "smtps" else ("starttls" if starttls else "none")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and tls == "none" and not _loopback(parts.hostname):
        # Fail closed: AUTH over plain SMTP sends the password in clear across the network.
        raise ValueError("a password over plain smtp:// to another host would travel in "
                         "clear; use smtps:// or STARTTLS (?starttls=true or "
                         "SIGNOFF_SMTP_STARTTLS=true)")
    return SmtpTarget(tls=tls, host=parts.hostname,
                      port=port or (465 if tls == "ssl" else 587 if starttls else 25),
                      username=username, password=password)


def _check_http_url(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"cannot be read as a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return url.strip()


def _refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError("notify_settings", message)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIGNOFF_", extra="ignore",
                                      toml_file="signoff.toml")

    data_dir: Path = Field(Path("signoff-data"),
                           description="Where the SQLite database and signing keys live.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite under data_dir. "
                          "postgresql+psycopg://… runs several server processes on one database.")
    issuer: str = Field("signoff", description="`iss` of every grant.")
    public_url: str = Field("http://127.0.0.1:8000",
                            description="Where people and agents reach this server (links, JWKS).")
    policy: Path | None = Field(None, description="Policy file or directory (CEL rules).")
    policy_shadow: Path | None = Field(None, description="Candidate policy run in shadow mode.")
    max_params_bytes: int = Field(64 * 1024, description="Largest `params` accepted (413 above).")
    max_params_depth: int = Field(32, description="Deepest nesting of `params` accepted.")
    max_text_chars: int = Field(2_000_000, description="Longest summary or input excerpt accepted.")
    max_body_bytes: int = Field(8 * 1024 * 1024, description="Largest request body accepted.")
    max_wait_seconds: float = Field(60.0, description="Longest long-poll a client may ask for.")
    sweep_interval: float = Field(1.0, description="Seconds between expiry/escalation sweeps.")
    audit_chain: bool = Field(True,
                              description="Hash-chain audit events (off only for benchmarks).")
    audit_checkpoint_every: int = Field(
        1000, ge=1, description="Sign a checkpoint of the audit chain after this many events.")
    audit_checkpoint_seconds: float = Field(
        10.0, gt=0, description="…or after this many seconds, whichever comes first.")
    audit_witness_file: Path | None = Field(
        None, description="Append each signed checkpoint to this JSONL file (put it on other "
                          "storage than the database).")
    audit_witness_url: str | None = Field(
        None, description="POST each signed checkpoint as JSON to this URL.")
    secure_cookies: bool = Field(True, description="Mark console cookies Secure (HTTPS).")
    login_max_failures: int = Field(5, description="Failed sign-ins before a lockout.")
    login_lockout_seconds: int = Field(900, description="How long a lockout lasts.")
    db_pool_size: int = Field(20, description="Database connections per process.")
    session_idle_seconds: int = Field(8 * 3600, description="Console session idle timeout.")
    session_max_seconds: int = Field(24 * 3600, description="Console session absolute lifetime.")
    rubber_stamp_min_decisions: int = Field(
        10, description="Decisions before a reviewer can get a rubber-stamp warning.")
    rubber_stamp_approval_rate: float = Field(
        0.95, description="Approval rate at or above which fast approving is suspicious.")
    rubber_stamp_speed_ratio: float = Field(
        0.25, description="Warn when a reviewer's median time to decide is below this share "
                          "of the workflow's median.")

    smtp_starttls: bool = Field(
        False, description="Upgrade smtp:// with STARTTLS before signing in (same as "
                           "?starttls=true in SIGNOFF_SMTP_URL).")
    smtp_url: str | None = Field(
        None, description="Send notification e-mail through this server: "
                          "smtp://[user:pass@]host[:port][?starttls=true] or "
                          "smtps://[user:pass@]host[:port]. Unset: no e-mail.")
    smtp_from: str | None = Field(
        None, validate_default=True,
        description="From address of notification e-mail (required with SIGNOFF_SMTP_URL).")
    webhook_url: str | None = Field(
        None, description="POST each notification as signed JSON to this http(s) URL "
                          "(Slack, Teams or PagerDuty bridges). Unset: no webhook.")
    webhook_secret: SecretStr | None = Field(
        None, validate_default=True,
        description="Key of the webhook's HMAC-SHA256 signature (Signoff-Signature header); "
                    "required with SIGNOFF_WEBHOOK_URL, at least 16 characters.")
    notify_pending: bool = Field(
        True, description="Tell the eligible approvers of each new pending action "
                          "(flags and escalations are always told).")
    notify_interval: float = Field(
        2.0, gt=0, description="Seconds between looks at the notification outbox.")
    notify_max_attempts: int = Field(
        8, ge=1, description="Attempts before a notification is marked failed.")
    notify_retry_seconds: float = Field(
        30.0, ge=0, description="Wait after the first failed attempt; doubles each time, "
                                "at most an hour.")
    notify_max_age_hours: float = Field(
        72.0, gt=0, description="A notification not delivered by then is skipped, not sent "
                                "late (for example once a channel is configured).")
    notify_timeout: float = Field(
        10.0, gt=0, description="Seconds a mail server or webhook may take per message.")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            parse_smtp_url(value, starttls=bool(info.data.get("smtp_starttls")))
        except ValueError as exc:
            raise _refuse(str(exc)) from None
        return value.strip()

    @field_validator("smtp_from")
    @classmethod
    def _smtp_from(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("smtp_url") and not (value or "").strip():
            raise _refuse("must be set when SIGNOFF_SMTP_URL is (the From address)")
        if value is None:
            return None
        value = value.strip()
        if any(ch in value for ch in "\r\n\x00") or "@" not in value or " " in value:
            raise _refuse("must be one e-mail address, such as signoff@example.com")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return _check_http_url(value)
        except ValueError as exc:
            raise _refuse(str(exc)) from None

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None, info: ValidationInfo
                        ) -> SecretStr | None:
        if not info.data.get("webhook_url"):
            return value
        # Fail closed: an unsigned webhook is one anybody can forge to the receiver.
        if value is None or len(value.get_secret_value()) < 16:
            raise _refuse("must be set, at least 16 characters, when SIGNOFF_WEBHOOK_URL is "
                          "(receivers check the signature with it)")
        return value

    @property
    def smtp(self) -> SmtpTarget | None:
        return parse_smtp_url(self.smtp_url, starttls=self.smtp_starttls) \
            if self.smtp_url else None

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'signoff.db').resolve()}"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"


def load_settings(**overrides: Any) -> Settings:
    """Read settings once; a bad value is a one-line ConfigurationError, not a traceback."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        raise ConfigurationError(f"SIGNOFF_{where.upper()}: {first.get('msg')}") from None

