"""The operator's files: deploy/sources.yaml and deploy/watchlist.yaml.

A bad file stops everything before anything runs, with one message that names the file, the
line and the field, so an operator can fix it without reading code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tasks.common.interval import parse_interval
from tasks.common.windows import QuietHours, parse_clock, parse_zone
from tasks.config.groups import LANGUAGE_CODE, Groups, check_term, shared_groups, term_groups, unchecked_groups
from tasks.config.scoring import ScoreSpec
from tasks.config.selectors import PageSelectors
from tasks.config.semantic import SemanticSpec
from tasks.config.yamlfile import ConfigError, field_name, line_index, parse_yaml, read_config
from tasks.query import QuerySyntaxError, TermGroup, parse_query


class _FieldError(ValueError):
    """A model validator's error about one of the model's fields: loc names it (after the model's)."""

    def __init__(self, loc: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# Every field is bounded as it is loaded, so that what `check` accepts, a run can store: names
# and topics to their columns (200), a language tag to its column (20), URLs to the links a
# feed may give (4,096, tasks/ingest/feeds.py), the rest to far beyond any real use.
MAX_URL = 4096
MAX_LANGUAGE = 20
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")  # en, km, pt-BR, zh-Hant-TW (BCP 47's shape)
Tag = Annotated[str, Field(max_length=100)]
Query = Annotated[str, Field(max_length=20_000)]


SourceKind = Literal["feed", "sitemap", "page"]


class SourceSpec(_Strict):
    name: str = Field(min_length=1, max_length=200)
    url: str
    kind: SourceKind = Field(default="feed", description="feed (RSS/Atom/JSON), sitemap, page (a listing).")
    page: PageSelectors | None = Field(default=None, description="kind page: where the stories are on the page.")
    recurse: tuple[str, ...] = Field(default=(), description="kind sitemap: regexes of the sub-sitemaps to poll.")
    window: str | None = Field(default=None, description="kind sitemap: entries newer than this are read (default 2d).")
    tags: tuple[Tag, ...] = ()
    language: str | None = Field(default=None, description="Language of the source's articles, if known.")
    fetch_pages: bool = Field(default=True, description="Fetch each article page for its full text.")
    interval: str | None = Field(default=None, description="Poll interval, e.g. 30m, 2h (default 15m).")
    enabled: bool = True

    @field_validator("interval", "window")
    @classmethod
    def _interval(cls, value: str | None) -> str | None:
        if value is not None:
            parse_interval(value)
        return value

    @field_validator("recurse")
    @classmethod
    def _patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _kind_fields(self) -> SourceSpec:
        """Each kind's own settings, and only its own: `page` selectors are needed by a page."""
        if self.kind == "page" and self.page is None:
            raise _FieldError(("page",), "a kind: page source needs `page:` selectors (at least `item:`)")
        for name, kind in (("page", "page"), ("recurse", "sitemap"), ("window", "sitemap")):
            if getattr(self, name) and self.kind != kind:
                raise _FieldError((name,), f"only for kind: {kind} (this source is kind: {self.kind})")
        return self

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > MAX_LANGUAGE or not LANGUAGE_TAG.fullmatch(value)):
            shown = value if len(value) <= 40 else value[:37] + "..."
            raise ValueError(f"{shown!r} is not a language code (en, km, pt-BR; at most {MAX_LANGUAGE} characters)")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if len(value) > MAX_URL:
            raise ValueError(f"URL of {len(value)} characters: at most {MAX_URL}")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"invalid URL {value!r}: expected http:// or https:// with a host")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not t.strip() for t in value):
            raise ValueError("empty tag")
        return tuple(t.strip().lower() for t in value)


class TopicSpec(_Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    terms: tuple[str, ...] = ()
    query: Query | None = Field(default=None, description="A query in the query language (README).")
    queries: dict[str, Query] = Field(default_factory=dict, description="Queries by article language (en, km, ...).")
    groups: Groups = Field(default_factory=dict, description="Named term lists (@name); the watchlist's are added.")
    exclude: tuple[str, ...] = ()
    notify: tuple[Tag, ...] = Field(default=(), description="Apprise tags this topic's alerts go to (default: all).")
    mode: Literal["immediate", "hourly", "daily"] = "immediate"
    max_per_hour: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Immediate alerts per hour per target."
    )
    urgent: bool = Field(default=False, description="Alerts ignore the targets' quiet hours.")
    followups: Literal["none", "new-outlets"] = Field(
        default="none", description="Alert again when another outlet carries a story already alerted."
    )
    semantic: SemanticSpec | None = Field(
        default=None, description="Also match articles close in meaning to a description or examples (extra)."
    )
    score: ScoreSpec | None = Field(
        default=None, description="Also match articles whose weighted indicators reach a threshold."
    )

    @field_validator("notify")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not t.strip() for t in value):
            raise ValueError("empty tag")
        return tuple(t.strip().lower() for t in value)

    @field_validator("query")
    @classmethod
    def _query(cls, value: str | None) -> str | None:
        if value is not None:
            _check_query(value)
        return value

    @field_validator("queries")
    @classmethod
    def _queries(cls, value: dict[str, str]) -> dict[str, str]:
        checked = {}
        for lang, query in value.items():
            code = lang.strip().lower()
            if not LANGUAGE_CODE.fullmatch(code):
                raise ValueError(f"queries: {lang!r} is not a language code (en, km, th, vi, ...)")
            try:
                _check_query(query)
            except ValueError as exc:
                raise ValueError(f"queries.{code}: {exc}") from None
            checked[code] = query
        return checked

    @model_validator(mode="after")
    def _something_to_match(self) -> TopicSpec:
        if not (self.terms or self.query or self.queries):
            raise ValueError(f"topic {self.name!r} needs terms, query or queries")
        return self

    @model_validator(mode="after")
    def _groups_resolve(self) -> TopicSpec:
        """Every @group of every query is defined and has terms for the query's language."""
        groups = self.term_groups()
        written: list[tuple[tuple[str, ...], str | None, str]] = [(("query",), None, self.query)] if self.query else []
        written += [(("queries", code), code, query) for code, query in self.queries.items()]
        if self.score:
            written += [(("score", "weights", expression), None, expression) for expression in self.score.weights]
        for loc, language, query in written:
            try:
                parse_query(query, groups, language)
            except QuerySyntaxError as exc:
                raise _FieldError(loc, f"invalid query: {exc}") from None
        return self

    def term_groups(self) -> dict[str, TermGroup]:
        """The topic's groups (the watchlist's included) as its queries are compiled with."""
        return term_groups(self.groups)

    @field_validator("terms", "exclude")
    @classmethod
    def _terms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for i, term in enumerate(value):
            if not term.strip().lstrip("=").strip().rstrip("*").strip():
                raise ValueError(f"term {i + 1} is empty")
            if "*" in term.strip()[:-1]:
                raise ValueError(f"term {term!r}: '*' is allowed only at the end (a prefix wildcard)")
            check_term(term.strip())
        return tuple(t.strip() for t in value)


def _check_query(text: str) -> None:
    """A query that does not parse fails at load, with its position and a caret. Its @groups
    are checked once the topic's groups are (TopicSpec._groups_resolve): here any name will do."""
    try:
        parse_query(text, unchecked_groups(text))
    except QuerySyntaxError as exc:
        raise ValueError(f"invalid query: {exc}") from None


class SourcesFile(_Strict):
    sources: tuple[SourceSpec, ...] = Field(min_length=1)


class DigestSpec(_Strict):
    time: str = Field(default="07:30", max_length=20, description="Local time of the daily digest (HH:MM).")
    timezone: str = Field(default="UTC", max_length=100, description="IANA time zone of `time`.")

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        parse_clock(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        parse_zone(value)
        return value


class TargetOptions(_Strict):
    """Options for the Apprise targets carrying a tag."""

    tag: str = Field(min_length=1, max_length=100)
    quiet: str | None = Field(
        default=None, max_length=200, description="Quiet hours, e.g. '22:00-07:00 Asia/Phnom_Penh'."
    )

    @field_validator("quiet")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is not None:
            QuietHours.parse(value)
        return value


class Watchlist(_Strict):
    digest: DigestSpec = DigestSpec()
    targets: tuple[TargetOptions, ...] = ()
    groups: Groups = Field(default_factory=dict, description="Named term lists (@name) every topic can use.")
    topics: tuple[TopicSpec, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _share_groups(cls, data: Any) -> Any:
        """Each topic gets the shared groups; a topic's own group of the same name replaces one."""
        if not isinstance(data, dict) or not data.get("groups") or not isinstance(data.get("topics"), list):
            return data
        shared = shared_groups(data["groups"])
        topics = []
        for topic in data["topics"]:
            own = (topic.get("groups") or {}) if isinstance(topic, dict) else None
            topics.append({**topic, "groups": {**shared, **own}} if isinstance(own, dict) else topic)
        return {**data, "topics": topics}

    def quiet_hours(self, tags: set[str]) -> list[QuietHours]:
        return [QuietHours.parse(t.quiet) for t in self.targets if t.quiet and t.tag.lower() in tags]


M = TypeVar("M", bound=BaseModel)

MAX_MESSAGES = 20  # errors explained one per line; the rest counted


def _load(path: Path, model: type[M]) -> M:
    data, node = parse_yaml(path, read_config(path))
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping with {', '.join(model.model_fields)!s}, got {type(data).__name__}"
        )
    try:
        loaded = model.model_validate(data)
    except ValidationError as exc:
        lines = line_index(node)
        errors = exc.errors()
        # A list whose only item is broken is also "too short": say only what is wrong.
        real = [
            e
            for e in errors
            if e["type"] != "too_short" or not any(o["loc"][: len(e["loc"])] == e["loc"] and o is not e for o in errors)
        ]
        messages = []
        for err in real:
            loc = tuple(err["loc"]) + getattr(err.get("ctx", {}).get("error"), "loc", ())
            # A group written as a plain list has no `terms:` key: its items' lines are under the group.
            written = loc if loc in lines or "terms" not in loc[:-1] else tuple(p for p in loc if p != "terms")
            line = next((lines[written[:n]] for n in range(len(written), -1, -1) if written[:n] in lines), None)
            where = f"{path}:{line}" if line else str(path)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "too_short":
                msg = "must list at least one item"
            if err["type"] == "extra_forbidden":
                msg = f"unknown key (allowed: {', '.join(_allowed(model, loc))})"
            messages.append(f"{where}: {field_name(loc)}: {msg}")
        more = [f"{path}: and {len(messages) - MAX_MESSAGES} more errors"] if len(messages) > MAX_MESSAGES else []
        raise ConfigError("\n".join(messages[:MAX_MESSAGES] + more)) from None
    for list_name in model.model_fields:  # names are keys: two items must not share one
        seen: dict[str, int] = {}
        items = getattr(loaded, list_name)
        if not isinstance(items, tuple) or not all(hasattr(i, "name") for i in items):
            continue
        for i, item in enumerate(items):
            key = item.name.casefold()
            if key in seen:
                line = line_index(node).get((list_name, i, "name"))
                raise ConfigError(
                    f"{path}:{line}: {list_name}[{i}].name: duplicate name {item.name!r} "
                    f"(also {list_name}[{seen[key]}])"
                )
            seen[key] = i
    return loaded


def _allowed(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: type[BaseModel] = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        annotation = current.model_fields[part].annotation
        inner = getattr(annotation, "__args__", (annotation,))[0]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            current = inner
    return list(current.model_fields)


def load_sources(path: str | Path) -> SourcesFile:
    return _load(Path(path), SourcesFile)


def load_watchlist(path: str | Path) -> Watchlist:
    return _load(Path(path), Watchlist)


def _picked(wanted: list[str] | None) -> set[str] | None:
    """The names asked for, casefolded; None for all: none, or "all" (the Run form's default)."""
    return None if not (keys := {w.strip().casefold() for w in wanted or ()}) or "all" in keys else keys


def select_sources(sources: tuple[SourceSpec, ...], wanted: list[str] | None) -> list[SourceSpec]:
    """Enabled sources whose name or one of whose tags is in `wanted` (all when empty or "all")."""
    if (keys := _picked(wanted)) is None:
        return [s for s in sources if s.enabled]
    unknown = keys - {s.name.casefold() for s in sources} - {t for s in sources for t in s.tags}
    if unknown:
        raise ConfigError(f"unknown source names or tags: {', '.join(sorted(unknown))}")
    return [s for s in sources if s.enabled and (s.name.casefold() in keys or keys & set(s.tags))]


def select_topics(topics: tuple[TopicSpec, ...], wanted: list[str] | None) -> list[TopicSpec]:
    if (keys := _picked(wanted)) is None:
        return list(topics)
    unknown = keys - {t.name.casefold() for t in topics}
    if unknown:
        raise ConfigError(f"unknown topics: {', '.join(sorted(unknown))}")
    return [t for t in topics if t.name.casefold() in keys]
