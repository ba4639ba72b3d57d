"""Settings from the environment or a .env file (every one documented in .env.example)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB = Path("data") / "tripcheck.db"


class Settings(BaseSettings):
    """What an installation can set. Command-line options override the environment.

    A channel whose credentials are missing is off."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # The engine and its storage.
    db: Path = Field(default=DEFAULT_DB, validation_alias="TRIPCHECK_DB")
    # sqlite:///path or postgresql://...; empty: the SQLite file TRIPCHECK_DB.
    database_url: str | None = Field(default=None, validation_alias="TRIPCHECK_DATABASE_URL")
    lang: str = Field(default="sv", validation_alias="TRIPCHECK_LANG", pattern="^(sv|en)$")
    idle_days: float = Field(default=14.0, validation_alias="TRIPCHECK_IDLE_DAYS", gt=0)
    rules_dir: Path | None = Field(default=None, validation_alias="TRIPCHECK_RULES_DIR")
    places_cache: Path | None = Field(default=None, validation_alias="TRIPCHECK_PLACES_CACHE")
    retention_months: int = Field(default=24, validation_alias="TRIPCHECK_RETENTION_MONTHS", ge=1)
    # The server.
    host: str = Field(default="0.0.0.0", validation_alias="TRIPCHECK_HOST")
    port: int = Field(default=8000, validation_alias="PORT", ge=1, le=65535)
    log_level: str = Field(default="info", validation_alias="TRIPCHECK_LOG_LEVEL")
    # Limits on what a client may send and hold open (hostile input, floods).
    max_body_bytes: int = Field(
        default=1_048_576, validation_alias="TRIPCHECK_MAX_BODY_BYTES", ge=1024
    )
    header_timeout: float = Field(default=10.0, validation_alias="TRIPCHECK_HEADER_TIMEOUT", gt=0)
    keep_alive_timeout: float = Field(
        default=5.0, validation_alias="TRIPCHECK_KEEP_ALIVE_TIMEOUT", gt=0
    )
    max_connections: int = Field(default=200, validation_alias="TRIPCHECK_MAX_CONNECTIONS", ge=1)
    # Proxies whose X-Forwarded-For is trusted (comma-separated addresses); empty: none.
    forwarded_allow_ips: str = Field(default="", validation_alias="TRIPCHECK_FORWARDED_ALLOW_IPS")
    rest_token: SecretStr | None = Field(default=None, validation_alias="TRIPCHECK_REST_TOKEN")
    # /metrics (Prometheus): on its own port, and/or on the public port behind a bearer token;
    # neither set: not served (tripcheck/metrics.py).
    metrics_port: int | None = Field(
        default=None, validation_alias="TRIPCHECK_METRICS_PORT", ge=1, le=65535
    )
    metrics_token: SecretStr | None = Field(
        default=None, validation_alias="TRIPCHECK_METRICS_TOKEN"
    )
    # Keys the hash of each erased user id kept to re-apply erasures after a restore; empty:
    # none is kept (docs/operations.md).
    erasure_key: SecretStr | None = Field(default=None, validation_alias="TRIPCHECK_ERASURE_KEY")
    # Who to contact about accessibility, on the accessibility statement; empty: Kommunstaben.
    accessibility_contact: str = Field(
        default="", validation_alias="TRIPCHECK_ACCESSIBILITY_CONTACT"
    )
    # Signs web admin session cookies; empty: a random key per process (sessions end on restart).
    admin_secret: SecretStr | None = Field(default=None, validation_alias="TRIPCHECK_ADMIN_SECRET")
    # Admins by platform user id, comma-separated: they may use stats, recent and show in chat.
    slack_admins: str = Field(default="", validation_alias="SLACK_ADMINS")
    telegram_admins: str = Field(default="", validation_alias="TELEGRAM_ADMINS")
    teams_admins: str = Field(default="", validation_alias="TEAMS_ADMINS")
    # Slack.
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str | None = Field(default=None, validation_alias="SLACK_API_URL")
    # Telegram.
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_BOT_TOKEN"
    )
    telegram_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_WEBHOOK_SECRET"
    )
    telegram_api_url: str | None = Field(default=None, validation_alias="TELEGRAM_API_URL")
    # Microsoft Teams.
    teams_client_id: str | None = Field(default=None, validation_alias="TEAMS_CLIENT_ID")
    teams_client_secret: SecretStr | None = Field(
        default=None, validation_alias="TEAMS_CLIENT_SECRET"
    )
    teams_tenant_id: str | None = Field(default=None, validation_alias="TEAMS_TENANT_ID")
    teams_allow_unauthenticated: bool = Field(
        default=False, validation_alias="TEAMS_ALLOW_UNAUTHENTICATED"
    )

    @field_validator("metrics_port", "metrics_token", "erasure_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # .env.example lists every setting with an empty value: empty means not set.
        return None if value == "" else value

    def with_db(self, path: Path) -> Settings:
        """These settings on the SQLite file `path` (the command line's --db), whatever
        TRIPCHECK_DATABASE_URL says."""
        return self.model_copy(update={"db": Path(path), "database_url": None})

    @classmethod
    def from_env(cls) -> Settings:
        """Reads the environment (and .env); unset settings keep their defaults."""
        return cls()

    def place_cache_dir(self) -> Path:
        """Where the place index is cached: the user's cache folder unless configured."""
        if self.places_cache is not None:
            return self.places_cache
        cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(cache_home) / "tripcheck"

    def admins(self) -> dict[str, frozenset[str]]:
        """Admin user ids by channel name."""
        lists = {"slack": self.slack_admins, "telegram": self.telegram_admins}
        lists["teams"] = self.teams_admins
        return {
            channel: frozenset(part.strip() for part in ids.split(",") if part.strip())
            for channel, ids in lists.items()
        }

    @classmethod
    def env_names(cls) -> list[str]:
        """Every environment variable a setting is read from."""
        return [str(field.validation_alias) for field in cls.model_fields.values()]
