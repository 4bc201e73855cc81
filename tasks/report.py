"""What a run did, for the terminal and for the Prefect UI (a Markdown artifact)."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from prefect.runtime import flow_run

from storage import repository
from storage.clock import aware, now_utc
from storage.records import MatchRow, SourceHealthRow
from tasks.alerting import DeliveryReport, escape, indicators_line, link, sentence
from tasks.common.runlog import in_prefect_run, run_logger
from tasks.ingest import SourceOutcome, status
from tasks.matching import MatchReport
from tasks.stories import StoryReport

MD = "markdown"  # the artifact is Markdown: article text is escaped like a chat message's
SOURCES_KEY = "newswatch-sources"
# The full source-health table is about 160 bytes per source: 160 KB per run at 1,000 sources,
# 15 MB a day in Prefect's database at a 15-minute schedule if stored every run. It is stored
# again when a source's status, failure count or error changes, and at least this often.
SOURCES_TABLE_MAX_AGE = timedelta(hours=24)

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    sources_ok: int = 0
    sources_failed: int = 0
    sources_not_modified: int = 0  # ok, and nothing to parse (304 or the same bytes)
    sources_not_due: int = 0  # skipped: their interval or backoff has not passed
    entries_seen: int = 0
    already_known: int = 0
    new_articles: int = 0
    duplicates: int = 0
    revised: int = 0  # stored articles whose page changed: stored as a new revision, matched again
    stories_joined: int = 0  # new articles that joined an existing story (near-duplicates)
    articles_checked: int = 0
    matches: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    alerts_pending: int = 0
    dry_run: bool = False
    duration_s: float = 0.0
    sources_run: list[str] = field(default_factory=list)  # which sources this run fetched
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def summarize(
    ingested: Sequence[SourceOutcome],
    not_due: int,
    stories: StoryReport,
    matched: MatchReport,
    delivery: DeliveryReport,
    pending_alerts: int,
    dry_run: bool,
    started: datetime,
) -> RunSummary:
    """The run's summary, from what each stage reported."""
    s = RunSummary(
        sources_not_due=not_due,
        sources_run=[o.name for o in ingested],
        stories_joined=stories.joined,
        articles_checked=matched.checked,
        matches=len(matched.new_match_ids or []),
        alerts_sent=delivery.sent,
        alerts_failed=delivery.failed,
        alerts_pending=pending_alerts,
        dry_run=dry_run,
        duration_s=(now_utc() - started).total_seconds(),
    )
    for o in ingested:
        if o.ok:
            s.sources_ok += 1
            s.sources_not_modified += o.not_modified
        else:
            s.sources_failed += 1
            s.failures.append(f"{o.name}: {o.error}")
        s.entries_seen += o.entries
        s.already_known += o.known
        s.new_articles += o.new
        s.duplicates += o.duplicates
        s.revised += o.revised
    return s


def report_run(
    db_url: str, summary: RunSummary, matched: MatchReport, sources: Sequence[str], started: datetime
) -> None:
    """Tell what the run did: the artifacts in the Prefect UI, one log line, and a run name (the
    artifacts and name only inside a Prefect run: without a server the summary is all there is)."""
    if in_prefect_run():
        chosen = set(sources)
        health = [h for h in repository.source_health(db_url) if h.name in chosen]
        publish(summary, repository.match_rows(db_url, matched.new_match_ids or []), health)
    run_logger().info(
        "sources ok %d, failed %d, not due %d; entries %d, new %d, duplicates %d; matches %d; "
        "alerts sent %d, failed %d",
        summary.sources_ok,
        summary.sources_failed,
        summary.sources_not_due,
        summary.entries_seen,
        summary.new_articles,
        summary.duplicates,
        summary.matches,
        summary.alerts_sent,
        summary.alerts_failed,
    )
    rename_run(run_name(summary, started))


def rename_run(name: str) -> None:
    """Name the flow run after what it did, once it is known (the UI lists runs by name)."""
    if flow_run.id:
        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run.id, name=name)


def _one_line(text: str) -> str:
    """Escaped text kept on its line: a newline would end a list item or a quote."""
    return " ".join(text.splitlines())


def _indicators_text(m: MatchRow) -> str:
    """The indicators in plain text, for the table artifact: "means: passports confiscated; purpose: ..."."""
    return "; ".join(f"{g}: {', '.join(quotes)}" for g, quotes in m.indicators.items())


def _when(value: datetime | None) -> str:
    value = aware(value)
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def health_table(rows: list[SourceHealthRow], now: datetime) -> list[list[str]]:
    """Source health, one row per source: name, status, last success, failures, next attempt, last error."""
    return [
        [
            r.name,
            status(r, now),
            _when(r.last_success_at),
            str(r.consecutive_failures),
            _when(r.next_attempt_at),
            (r.last_error or "")[:200],
        ]
        for r in rows
    ]


HEALTH_COLUMNS = ["source", "status", "last success (UTC)", "failures", "next attempt (UTC)", "last error"]


def _summary_table(summary: RunSummary) -> list[str]:
    """The counts as a two-column table: ten columns side by side were cut in the UI's pane."""
    rows = [
        ("Sources", f"{summary.sources_ok} ok, {summary.sources_failed} failed, {summary.sources_not_due} not due, "
         f"{summary.sources_not_modified} not modified"),
        ("Entries", f"{summary.entries_seen} seen, {summary.already_known} already stored, "
         f"{summary.new_articles} new articles, {summary.duplicates} duplicates, {summary.revised} revised"),
        ("Stories", f"{summary.stories_joined} new articles joined an existing story"),
        ("Matches", f"{summary.matches} new"),
        ("Alerts", f"{summary.alerts_sent} sent, {summary.alerts_failed} failed, {summary.alerts_pending} pending"),
    ]  # fmt: skip
    return ["| | this run |", "|---|---|", *(f"| {name} | {counts} |" for name, counts in rows)]


def _match_block(number: int, group: list[MatchRow]) -> list[str]:
    """One story's match as a block that wraps in any pane: its title as a link, then source,
    date and topic, the hit sentence with the matched words bold, and a list of the clauses
    that fired, the indicators and the other outlets that carried it."""
    m = group[0]
    others = sorted({o.source_name for o in group[1:]} - {m.source_name})
    date = m.published_at.strftime("%Y-%m-%d %H:%M UTC") if m.published_at else "date unknown"
    indicators = indicators_line(m.indicators, MD)
    details = [
        f"Clauses that fired: {escape('; '.join(m.terms), MD)}",
        *([indicators] if indicators else []),
        *([f"Also carried by: {escape(', '.join(others), MD)}"] if others else []),
    ]
    return [
        f"### {number}. [{_one_line(escape(m.title, MD))}]({link(m.url, MD)})",
        "",
        f"**{escape(m.source_name, MD)}** · {date} · topic **{escape(m.topic, MD)}**",
        "",
        f"> {_one_line(sentence(m.hit_sentence, m.words, MD))}",
        "",
        *(f"- {line}" for line in details),
        "",
    ]


def _health_item(row: list[str]) -> str:
    name, state, last_success, failures, next_attempt, error = (_one_line(escape(c, MD)) for c in row)
    said = (
        f"**{name}**: {state}, {failures} failures in a row; last success {last_success}; next attempt {next_attempt}"
    )
    return f"- {said}" + (f"; last error: {error}" if error else "")


def render_markdown(summary: RunSummary, matches: list[MatchRow], health: list[SourceHealthRow] | None = None) -> str:
    """The run report, laid out for the Prefect UI's artifact pane (about 870 px at a 1440 px
    window): text that wraps, a table of two columns at most."""
    lines = [
        "# newswatch run" + (" (dry run: nothing sent)" if summary.dry_run else ""),
        "",
        f"Fetched {len(summary.sources_run)} source(s) in {summary.duration_s:.1f} s: "
        + (", ".join(summary.sources_run[:30]) + (" ..." if len(summary.sources_run) > 30 else "") or "none")
        + ".",
        "",
        *_summary_table(summary),
        "",
        "## New matches",
        "",
    ]
    if matches:
        # Stories, not raw duplicates: one block per (topic, story), naming the other outlets.
        stories: dict[tuple[str, int | None], list[MatchRow]] = {}
        for m in matches:
            stories.setdefault((m.topic, m.story_id if m.story_id is not None else -id(m)), []).append(m)
        for number, group in enumerate(stories.values(), start=1):
            lines += _match_block(number, group)
    else:
        lines.append("None.")
    if summary.failures:
        lines += ["", "## Failed sources", ""] + [f"- {_one_line(escape(f, MD))}" for f in summary.failures]
    if health:
        # Only the sources that need a look: at a thousand sources the full table (it is the
        # newswatch-sources artifact) buried them, and every run stored it again.
        rows = health_table(health, now_utc())
        attention = [row for row in rows if row[1] != "ok"]
        lines += ["", "## Source health", "", f"{len(rows) - len(attention)} of {len(rows)} sources ok."]
        if attention:
            lines += ["", *(_health_item(row) for row in attention)]
    return "\n".join(lines).rstrip("\n") + "\n"


MAX_LINKS = 25  # link artifacts per run: enough to open the alerted articles, not a flood


def run_name(summary: RunSummary, started: datetime) -> str:
    """A flow run name that says what the run did, e.g. monitor-2026-11-27T08:15Z-3-matches."""
    outcome = f"{summary.matches}-match{'es' if summary.matches != 1 else ''}"
    if summary.sources_failed:
        outcome += f"-{summary.sources_failed}-failed"
    return f"monitor-{started.strftime('%Y-%m-%dT%H:%MZ')}-{outcome}" + ("-dry-run" if summary.dry_run else "")


RUN_KEY = "newswatch-run"
MATCHES_KEY = "newswatch-matches"
_NOT_IN_KEY = re.compile(r"[^a-z0-9]+")


def artifact_key(*parts: str) -> str:
    """An artifact key from names (Prefect takes lowercase letters, digits and dashes): each part
    lowercased, other characters as one dash, at most 40 characters; "x" for a part with none
    left (a Khmer topic name)."""
    slugs = (_NOT_IN_KEY.sub("-", part.lower()).strip("-")[:40].strip("-") or "x" for part in parts)
    return "-".join(slugs)


def link_key(m: MatchRow) -> str:
    """The key of a matched article's link artifact: the topic and outlet an operator knows it by,
    and 8 hex digits of the URL's SHA-256, so a story matched again is a new version of its key."""
    digest = hashlib.sha256(m.url.encode()).hexdigest()[:8]
    return artifact_key("newswatch-match", m.topic, m.source_name, digest)


def publish(summary: RunSummary, matches: list[MatchRow], health: list[SourceHealthRow] | None = None) -> None:
    """The run's artifacts in the Prefect UI, each with a key (its card's and page's name) and a
    description: the Markdown report, a table of new matches, the source-health table and a
    link to each matched article."""
    create_markdown_artifact(
        key=RUN_KEY,
        markdown=render_markdown(summary, matches, health),
        description="What this run fetched, matched and sent: counts, one block per new match, sources to look at",
    )
    if matches:
        create_table_artifact(
            key=MATCHES_KEY,
            table=[
                {
                    "topic": m.topic,
                    "title": m.title,
                    "link": m.url,
                    "source": m.source_name,
                    "published": m.published_at.isoformat() if m.published_at else "",
                    "why": m.hit_sentence,
                    "clauses": "; ".join(m.terms),
                    "indicators": _indicators_text(m),
                }
                for m in matches
            ],
            description="New matches of this run, one row each (for sorting and copying)",
        )
    if health:
        now = now_utc()
        table = [dict(zip(HEALTH_COLUMNS, r, strict=True)) for r in health_table(health, now)]
        if _sources_table_due(table, now):
            create_table_artifact(
                key=SOURCES_KEY,
                table=table,
                description="Source health (stored when a source's status, failures or error change, and daily)",
            )
    for m in matches[:MAX_LINKS]:
        about = f"{escape(m.source_name, MD)}, topic {escape(m.topic, MD)}"
        create_link_artifact(
            key=link_key(m),
            link=m.url,
            link_text=f"{m.topic}: {m.title}"[:200],
            description=f"Matched article: {escape(m.title, MD)} ({about})",
        )


def _health_states(table: list[dict[str, str]]) -> list[tuple[str, ...]]:
    """What makes a new version of the health table worth storing: not the times, which move every run."""
    return sorted((r["source"], r["status"], r["failures"], r["last error"]) for r in table)


def health_table_due(
    table: list[dict[str, str]], previous: object, previous_at: datetime | None, now: datetime
) -> bool:
    """Whether to store this health table, given the newest stored one (its data, as Prefect returns
    it: a JSON string or the list itself) and when it was stored."""
    if previous is None or previous_at is None or now - previous_at >= SOURCES_TABLE_MAX_AGE:
        return True
    try:
        rows = json.loads(previous) if isinstance(previous, str) else previous
        return _health_states(table) != _health_states(rows)  # type: ignore[arg-type]
    except (ValueError, TypeError, KeyError):
        return True  # not a table we wrote: store ours


def _sources_table_due(table: list[dict[str, str]], now: datetime) -> bool:
    try:
        with get_client(sync_client=True) as client:
            latest = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[SOURCES_KEY])),
                sort=ArtifactSort.CREATED_DESC,
                limit=1,
            )
    except Exception as exc:  # noqa: BLE001  (the report must not fail the run: store the table)
        log.warning("could not read the previous %s artifact (%s); storing this run's", SOURCES_KEY, exc)
        return True
    if not latest:
        return True
    return health_table_due(table, latest[0].data, aware(latest[0].created), now)
