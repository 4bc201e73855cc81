"""The deployments' Run form in the Prefect UI (issue #19 item 1). Plain `list[str] | None`
parameters made `sources`, `topics`, `sources_file` and `watchlist_file` toggles with
"Property is type "None"" under them. The form an operator gets instead:

- `sources` and `topics`: a list to pick from (every source name and tag, every topic name, and
  "all", the default), or names typed in (a "typed" tab): sources.yaml and watchlist.yaml are
  read again by every run, so a name added since the deployment was made can still be asked for
  (a name that is in neither file fails the run in one line, before anything is fetched);
- `sources_file` and `watchlist_file`: a text field, empty for the setting.

Prefect builds a deployment's form (its parameter_openapi_schema) from the flow's signature
however the deployment is made: `prefect deploy` (prefect/cli/deploy/_core.py sets it from
parameter_schema(flow) and replaces whatever prefect.yaml says; the build and push steps run
after it is taken) and `newswatch serve` (flow.to_deployment) alike. So the form is in the
signatures of flows/monitor.py and flows/digest.py: their annotations carry the JSON schema of
each parameter (pydantic's __get_pydantic_json_schema__), and Python callers may still pass
None (all, or the setting).

The lists are read from the config each time a deployment is made from the flow: `prefect
deploy` or `newswatch serve` run again refresh them. Not while `@flow` defines the flow: Prefect
builds the schema there too, in every process that imports the flow (each flow run's), and the
config would be read twice per run (load_watchlist of the shipped watchlist took 1.0-2.2 s and
load_sources of 7,000 sources 1.1-4.3 s on this 2-core machine at a load average of 10-15)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from tasks.common.runlog import LOGGER
from tasks.config import ConfigError, load_settings, load_sources, load_watchlist

ALL = "all"
EVERY = (ALL,)  # the default of `sources` and `topics`: every enabled source, every topic

TYPED = {"type": "array", "items": {"type": "string"}}


def _choices(names: list[str]) -> list[str]:
    """ "all", then the names in the config's order, each once."""
    return list(dict.fromkeys([ALL, *names]))


def _stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


# Pydantic asks for a parameter's schema twice per form (Prefect checks each parameter alone
# first); a file unchanged since is not read again.
@lru_cache(maxsize=4)
def _source_names(stamp: tuple[str, int, int]) -> list[str]:
    sources = load_sources(stamp[0]).sources
    return _choices([s.name for s in sources] + sorted({t for s in sources for t in s.tags}))


@lru_cache(maxsize=4)
def _topic_names(stamp: tuple[str, int, int]) -> list[str]:
    return _choices([t.name for t in load_watchlist(stamp[0]).topics])


def config_names(kind: Literal["sources", "topics"]) -> list[str]:
    """The names a `sources` or `topics` parameter offers, from the settings' config file."""
    settings = load_settings()
    if kind == "sources":
        return _source_names(_stamp(Path(settings.sources_file)))
    return _topic_names(_stamp(Path(settings.watchlist_file)))


class ConfigNames:
    """The annotation of a `sources` or `topics` parameter of the flow `flow` of module `module`:
    its schema is a list picked from the config's names or typed in, never None. While the flow
    is being defined (the name not yet bound in its module), or when the config cannot be read
    (said in a warning: the runs will say why), it is the typed list alone."""

    def __init__(self, kind: Literal["sources", "topics"], module: str, flow: str) -> None:
        self.kind, self.module, self.flow = kind, module, flow

    def _names(self) -> list[str] | None:
        if not hasattr(sys.modules.get(self.module), self.flow):
            return None
        try:
            return config_names(self.kind)
        except (ConfigError, OSError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            logging.getLogger(LOGGER).warning("Run form of %s: %s typed only (%s)", self.flow, self.kind, reason)
            return None

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Callable[[Any], Any]) -> dict[str, Any]:
        names = self._names()
        if names is None:
            return dict(TYPED)
        picked = {"title": "from the config", "type": "array", "items": {"type": "string", "enum": names}}
        return {"anyOf": [picked, {"title": "typed", **TYPED}]}


class Text:
    """The annotation of a path parameter (`sources_file`, `watchlist_file`): a plain text field,
    empty for the setting; None from a Python caller means the setting too."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Callable[[Any], Any]) -> dict[str, Any]:
        return {"type": "string"}


TEXT = Text()
