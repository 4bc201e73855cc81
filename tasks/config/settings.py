"""All of newswatch's settings, read from the environment (prefix NEWSWATCH_) in one place.

Secrets (Apprise URLs, a database password) come from the environment or a Prefect Secret
block, never from flow parameters, files in git, logs or the database.

Priority: arguments, then the environment, then the deployment's Prefect Variables
(`newswatch_<setting>`, written by `newswatch setup`; tasks/config/variables.py), then the defaults.
Variables only ever hold the settings in VARIABLE_FIELDS: nothing secret.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tasks.common.interval import parse_interval
from tasks.config.files import ConfigError
from tasks.config.variables import read_variables

DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy"
HOMEPAGE = "https://github.com/newswatch/newswatch"
VERSION = "0.1.0"


def default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "newswatch"


class PrefectVariables(PydanticBaseSettingsSource):
    """The deployment's `newswatch_<setting>` Prefect Variables, for the settings that may be kept there."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every Variable in one request

    def __call__(self) -> dict[str, Any]:
        return read_variables(VARIABLE_FIELDS)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSWATCH_", extra="ignore")

    home: Path = Field(default_factory=default_home, description="Where the default SQLite file lives.")
    database_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL; default: sqlite:///$NEWSWATCH_HOME/newswatch.db"
    )
    sources_file: Path = DEPLOY_DIR / "sources.yaml"
    watchlist_file: Path = DEPLOY_DIR / "watchlist.yaml"

    notify: SecretStr | None = Field(default=None, description="Apprise URLs, comma- or space-separated.")
    apprise_config: Path | None = Field(default=None, description="An Apprise config file (YAML or text).")
    apprise_secret_block: str | None = Field(
        default=None, description="Name of a Prefect Secret block holding Apprise URLs or an Apprise config."
    )

    user_agent: str = f"newswatch/{VERSION} (+{HOMEPAGE})"
    # Every number is bounded, so that what `check` accepts a run can compute with (a story
    # window of 99,999,999 days overflowed datetime in every run): the bounds are far beyond use.
    connect_timeout: float = Field(default=10.0, gt=0, le=3600)
    read_timeout: float = Field(default=20.0, gt=0, le=3600)
    total_timeout: float = Field(default=30.0, gt=0, le=3600)
    max_bytes: int = Field(default=15 * 1024 * 1024, ge=1024, le=1 << 30)
    max_redirects: int = Field(default=5, ge=0, le=50)
    allow_private: str = Field(
        default="",
        description="Hosts, host:port pairs or CIDRs that may be fetched although private (intranet sources, tests).",
    )
    parse_timeout: float = Field(default=20.0, gt=0, le=3600, description="Time budget for parsing one feed (seconds).")

    host_concurrency: int = Field(default=2, ge=1, le=1000, description="Requests in flight per host at most.")
    host_min_gap: float = Field(
        default=1.0, ge=0, le=3600, description="Seconds between two requests to the same host."
    )
    obey_robots: bool = Field(default=True, description="Article pages obey robots.txt (feeds are subscribed to).")
    default_interval: str = Field(default="15m", description="Poll interval of a source that sets none.")
    story_window_days: int = Field(
        default=30, ge=1, le=3650, description="Days of articles a new one is compared with."
    )
    alert_claim_lease: float = Field(
        default=600,
        gt=0,
        le=86400,
        description="Seconds a claimed alert stays reserved to its run (must outlast one send).",
    )
    alert_max_attempts: int = Field(
        default=8, ge=1, le=1000, description="Send attempts before an alert is dead-lettered."
    )
    pause_after_failures: int = Field(
        default=10, ge=1, le=10_000, description="Consecutive failures that pause a source."
    )

    extract_processes: int = Field(
        default=0, ge=0, le=1024, description="Processes extracting article pages (CPU-bound); 0: one per CPU core."
    )
    extract_timeout: float = Field(
        default=30.0, gt=0, le=3600, description="Time budget for extracting one page (seconds)."
    )
    embed_model: str = Field(
        default="auto",
        description="Article vectors for topics' semantic: key: auto (the [semantic] extra's model if installed), "
        "off, or a local model directory (ONNX or model2vec).",
    )
    # All batches share the fetch threads, so a batch is a unit of retry and of reporting, not of
    # concurrency: 100 rather than 25 cut a quiet 1,000-source run by 0.5 s (40 task runs to 10).
    batch_size: int = Field(default=100, ge=1, le=100_000, description="Sources per Prefect task.")
    # A source's pages come one per host_min_gap, so a second or more per new article: keeping
    # two cores extracting takes a couple of hundred sources in flight. The fetch threads are
    # one pool per process, shared by the batches; waiting threads cost little memory and no CPU
    # (bench/pipeline.py).
    batch_concurrency: int = Field(
        default=32, ge=1, le=1000, description="Batches (Prefect tasks) run at once; they share the fetch threads."
    )
    fetch_workers: int = Field(default=200, ge=1, le=10_000, description="Sources fetched at once by one process.")
    schedule_minutes: int = Field(default=15, ge=1, le=10_080, description="Interval of the scheduled monitor run.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, dotenv_settings, file_secret_settings, PrefectVariables(settings_cls)

    @field_validator("default_interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        parse_interval(value)
        return value

    @cached_property
    def db_url(self) -> str:
        if self.database_url is not None and self.database_url.get_secret_value().strip():
            return self.database_url.get_secret_value().strip()
        return f"sqlite:///{self.home.expanduser() / 'newswatch.db'}"

    def notify_urls(self) -> list[str]:
        if self.notify is None:
            return []
        return [u for u in re.split(r"[,\s]+", self.notify.get_secret_value()) if u]


# Never in a Variable: secrets, and the Apprise config file, whose contents `setup` puts in the
# Secret block (the block's name, apprise_secret_block, is kept).
NOT_IN_VARIABLES = frozenset({"database_url", "notify", "apprise_config"})
VARIABLE_FIELDS = frozenset(
    name
    for name, info in Settings.model_fields.items()
    if name not in NOT_IN_VARIABLES and "SecretStr" not in str(info.annotation)
)


def environment_values() -> dict[str, str]:
    """The settings of VARIABLE_FIELDS set in this process's environment, as written there."""
    prefix = Settings.model_config.get("env_prefix", "")
    found = {}
    for key, value in os.environ.items():
        name = key[len(prefix) :].lower() if key.upper().startswith(prefix) else ""
        if name in VARIABLE_FIELDS:
            found[name] = value
    return found


def load_settings() -> Settings:
    """The settings; a value that cannot be used is a ConfigError naming its variable, a line each."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = [
            f"NEWSWATCH_{'_'.join(map(str, e['loc'])).upper()}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise ConfigError("\n".join(lines)) from None
