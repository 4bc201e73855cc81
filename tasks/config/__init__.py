"""config."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.config.files import (
        ConfigError,
        SourceSpec,
        TopicSpec,
        Watchlist,
        load_sources,
        load_watchlist,
        select_sources,
        select_topics,
    )
    from tasks.config.settings import Settings, environment_values, load_settings

__all__ = [
    "ConfigError",
    "environment_values",
    "load_settings",
    "load_sources",
    "load_watchlist",
    "select_sources",
    "select_topics",
    "Settings",
    "SourceSpec",
    "TopicSpec",
    "Watchlist",
]
__getattr__ = lazy_exports(__name__, __file__)
