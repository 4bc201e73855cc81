"""Configuration: what an operator writes, checked before anything runs.

A bad file or setting stops a run before anything is touched, with one line that names the
file, the line and the field.

- settings.py: every NEWSWATCH_* setting in one typed object (environment, then the
  deployment's Prefect Variables, then defaults); passed down, never global.
- variables.py: the non-secret settings kept as Prefect Variables (`newswatch setup`).
- files.py: sources.yaml and watchlist.yaml: their schema, line-numbered errors, and the
  selection of sources and topics a run is asked for.
- yamlfile.py: an operator's YAML read safely (size, nesting and aliases bounded) with the line
  of every node, and ConfigError, the one-line error of any config file.
- opml.py: OPML read into sources.yaml entries (folders become tags) and written (read_opml, write_opml).
- selectors.py: a listing page's XPath or CSS selectors, compiled (compile_selector).
- groups.py: the watchlist's indicator groups (shared and per topic, per language) and the
  check that every @group a query names exists for its language.
- scoring.py: a topic's `score:` key (threshold, bias, weighted expressions).
- semantic.py: a topic's `semantic:` key (description, examples, thresholds) and the check
  that the [semantic] extra is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.config.files import (
        SourceKind,
        SourceSpec,
        TopicSpec,
        Watchlist,
        load_sources,
        load_watchlist,
        select_sources,
        select_topics,
    )
    from tasks.config.opml import OpmlRead, read_opml, write_opml
    from tasks.config.scoring import ScoreSpec
    from tasks.config.selectors import PageSelectors, compile_selector
    from tasks.config.semantic import SemanticSpec
    from tasks.config.settings import Settings, environment_values, load_settings
    from tasks.config.variables import VARIABLE_PREFIX, forget_read_variables, prefect_api_url, save_variables
    from tasks.config.yamlfile import ConfigError

__all__ = [
    "ScoreSpec",
    "forget_read_variables",
    "prefect_api_url",
    "save_variables",
    "VARIABLE_PREFIX",
    "ConfigError",
    "compile_selector",
    "OpmlRead",
    "read_opml",
    "write_opml",
    "PageSelectors",
    "SourceKind",
    "environment_values",
    "load_settings",
    "load_sources",
    "load_watchlist",
    "select_sources",
    "select_topics",
    "SemanticSpec",
    "Settings",
    "SourceSpec",
    "TopicSpec",
    "Watchlist",
]
__getattr__ = lazy_exports(__name__, __file__)
