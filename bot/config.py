"""Settings from the environment and `.env` (see `.env.example` for every variable)."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_FEEDS_FILE = DATA_DIR / "feeds.toml"
DEFAULT_TOPICS_FILE = DATA_DIR / "topics.toml"
DEFAULT_PROJECTS_FILE = DATA_DIR / "projects.toml"
MAX_BROADCAST_RATE = 30.0  # Telegram's documented ceiling for bulk messages per bot


class ConfigError(Exception):
    """Settings that cannot work; the message names the variable and is safe to print (no secrets)."""


def parse_hhmm(value: str) -> time:
    """Parse a wall-clock time typed as HH:MM (also H:MM); raise ValueError with a plain message."""
    text = value.strip()
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[1]) != 2:
        raise ValueError(f"expected HH:MM, got {value!r}")
    hour, minute = int(parts[0]), int(parts[1])
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"expected HH:MM between 00:00 and 23:59, got {value!r}")
    return time(hour, minute)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_path: Path = Path("data/habar.sqlite3")
    feeds_file: Path = DEFAULT_FEEDS_FILE
    topics_file: Path = DEFAULT_TOPICS_FILE
    projects_file: Path = DEFAULT_PROJECTS_FILE
    timezone: str = "Asia/Almaty"
    digest_time: str = "09:00"
    ingest_interval_minutes: int = Field(default=30, ge=1, le=24 * 60)
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    broadcast_rate: float = Field(default=25.0, gt=0, le=MAX_BROADCAST_RATE)
    log_level: str = "INFO"
    log_format: str = "kv"
    webhook_url: str | None = None
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    health_port: int | None = Field(default=None, ge=1, le=65535)
    health_host: str = "127.0.0.1"  # 0.0.0.0 in a container whose port is published to a Prometheus
    retention_days: int = Field(default=365, ge=1)

    @field_validator("webhook_url", "health_port", "webhook_secret", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("WEBHOOK_URL must be an https:// address Telegram can reach")
        return value

    @field_validator("log_format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value not in ("kv", "json"):
            raise ValueError("LOG_FORMAT must be kv or json")
        return value

    @field_validator("bot_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("digest_time")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        return parse_hhmm(value).strftime("%H:%M")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",") if v.strip()]
            try:
                return frozenset(int(v) for v in items)
            except ValueError as exc:
                raise ValueError("ADMIN_IDS must be comma separated numeric Telegram user ids") from exc
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def default_digest_time(self) -> time:
        return parse_hhmm(self.digest_time)


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one readable ConfigError (never echoing the token)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            problems.append(f"{name}: {err['msg']}")
        raise ConfigError("bad configuration: " + "; ".join(problems)) from None
