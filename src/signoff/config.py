"""Settings: ``SIGNOFF_*`` environment variables over an optional ``signoff.toml``.

Nothing is read at import time: entry points call :func:`load_settings` once and pass the
result to :func:`signoff.bootstrap.build`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from signoff.errors import ConfigurationError

__all__ = ["Settings", "load_settings"]


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

