"""The limits and sizes an ingest works under, read once per run from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from tasks.config import Settings
from tasks.fetching import FetchPolicy, PoliteFetcher
from tasks.semantic import model_choice


@dataclass(frozen=True)
class IngestOptions:
    """Everything an ingest task needs besides the sources; built once per run from settings."""

    policy: FetchPolicy
    workers: int
    host_concurrency: int
    host_min_gap: float
    obey_robots: bool
    default_interval: str
    pause_after: int
    extract_processes: int = 0
    extract_timeout: float = 30.0
    embed_model: str | None = None  # the page workers' model (tasks.semantic.model_choice); None: no vectors
    host_slots_db: str | None = None  # the database whose host slots every worker shares (None: this process's)
    # A feed's parse budget, read here once: parse_feed read the settings for it at every feed
    # (1 ms of CPU each, pydantic-settings reading the environment).
    parse_timeout: float = 20.0

    @classmethod
    def from_settings(cls, s: Settings) -> IngestOptions:
        return cls(
            FetchPolicy.from_settings(s),
            s.fetch_workers,
            s.host_concurrency,
            s.host_min_gap,
            s.obey_robots,
            s.default_interval,
            s.pause_after_failures,
            s.extract_processes,
            s.extract_timeout,
            model_choice(s.embed_model),
            s.db_url,
            s.parse_timeout,
        )

    def fetcher(self) -> PoliteFetcher:
        """A fetcher with its own session, sharing the per-host limits (of every worker on the
        database) and the process's robots.txt."""
        return PoliteFetcher(
            self.policy, self.host_concurrency, self.host_min_gap, self.obey_robots, self.host_slots_db
        )
