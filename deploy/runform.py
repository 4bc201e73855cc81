"""The deployments' Run form in the Prefect UI (issue #19 item 1). The flow's own schema
made `sources`, `topics`, `sources_file` and `watchlist_file` `list | None` toggles with
"Property is type "None"" under them. The form an operator gets instead, built from the config
when the deployment is made (`newswatch serve` builds it again each time it starts):

- `sources` and `topics`: a list to pick from (every source name and tag, every topic name, and
  "all", the default), or names typed in (a "typed" tab): sources.yaml and watchlist.yaml are
  read again by every run, so a name added since the deployment was made can still be asked for
  (a name that is in neither file fails the run in one line, before anything is fetched);
- `sources_file` and `watchlist_file`: a text field, empty for the setting (shown in its
  description)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tasks.config import SourceSpec, TopicSpec

ALL = "all"


def _choices(names: Iterable[str]) -> list[str]:
    """ "all", then the names in the config's order, each once."""
    return list(dict.fromkeys([ALL, *names]))


def _kept(generated: dict[str, Any]) -> dict[str, Any]:
    """What the form keeps of Prefect's property: its title and position (the field's order)."""
    return {key: generated[key] for key in ("title", "position") if key in generated}


def pick_list(generated: dict[str, Any], choices: list[str], description: str) -> dict[str, Any]:
    """A list property picked from `choices` (a multi-select in the UI) or typed in, "all" by
    default; keeps the generated property's title and position."""
    return {
        **_kept(generated),
        "description": description,
        "default": [ALL],
        "anyOf": [
            {"title": "from the config", "type": "array", "items": {"type": "string", "enum": choices}},
            {"title": "typed", "type": "array", "items": {"type": "string"}},
        ],
    }


def text_field(generated: dict[str, Any], description: str) -> dict[str, Any]:
    """A plain text property (no None variant), empty by default."""
    return {**_kept(generated), "type": "string", "description": description}


def run_form(
    properties: dict[str, dict[str, Any]],
    sources: Iterable[SourceSpec],
    topics: Iterable[TopicSpec],
    files: tuple[str, str],
) -> dict[str, dict[str, Any]]:
    """A flow's schema properties (as Prefect generated them) with the Run form's sources,
    topics and config files, those of them the flow takes (the digest: topics and its
    watchlist); `files` are the sources and watchlist paths of the settings, named in the
    descriptions."""
    sources = list(sources)
    source_names = _choices([s.name for s in sources] + sorted({t for s in sources for t in s.tags}))
    form = {
        "sources": lambda p: pick_list(
            p, source_names, "Sources to fetch, by name or tag (all: every enabled source)."
        ),
        "topics": lambda p: pick_list(p, _choices(t.name for t in topics), "Topics (all: every one)."),
        "sources_file": lambda p: text_field(p, f"Path of sources.yaml (empty: {files[0]})."),
        "watchlist_file": lambda p: text_field(p, f"Path of watchlist.yaml (empty: {files[1]})."),
    }
    return {name: form[name](p) if name in form else p for name, p in properties.items()}
