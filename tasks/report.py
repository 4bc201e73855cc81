"""What a run did, for the terminal and for the Prefect UI (a Markdown artifact)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from prefect.artifacts import create_markdown_artifact, create_table_artifact
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
# What a run adds to Prefect's database is bounded, whatever the number of sources and matches
# (issue #18: under 50 MB a day at 96 runs and 7,000 sources; bench/emm_day.py). Prefect writes
# an artifact's data twice for good (the artifact, and the payload of its collection's event)
# and keeps a third copy as its key's latest. The report names at most REPORT_MAX_ITEMS stories,
# failed sources and sources to look at, the matches table at most TABLE_MAX_MATCHES rows; the
# rest are a command away (`newswatch alerts`, `newswatch export`, `newswatch sources list`).
REPORT_MAX_ITEMS = 20
TABLE_MAX_MATCHES = 50
# The full source-health table is about 160 bytes per source (1.1 MB at 7,000 sources). It is
# stored again when a source's status, failure count or error changes (at thousands of sources,
# nearly every run), but no more often than keeps it under SOURCES_TABLE_BYTES_PER_DAY of table
# data a day, and at least every SOURCES_TABLE_MAX_AGE: every change at 100 sources, every 1.5
# hours at 1,000, twice a day at 7,000.
SOURCES_TABLE_MAX_AGE = timedelta(hours=24)
SOURCES_TABLE_BYTES_PER_DAY = 2_500_000

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
    lines += _match_blocks(matches) if matches else ["None."]
    if summary.failures:
        failed = [f"- {_one_line(escape(f, MD))}" for f in summary.failures[:REPORT_MAX_ITEMS]]
        lines += ["", "## Failed sources", "", *failed, *_more(len(summary.failures), "failed sources", SOURCES_CMD)]
    if health:
        # Only the sources that need a look: at a thousand sources the full table (it is the
        # newswatch-sources artifact) buried them, and every run stored it again.
        rows = health_table(health, now_utc())
        attention = [row for row in rows if row[1] != "ok"]
        lines += ["", "## Source health", "", f"{len(rows) - len(attention)} of {len(rows)} sources ok."]
        if attention:
            lines += ["", *(_health_item(row) for row in attention[:REPORT_MAX_ITEMS])]
            lines += _more(len(attention), "sources that need a look", SOURCES_CMD)
    return "\n".join(lines).rstrip("\n") + "\n"


SOURCES_CMD = "`newswatch sources list` shows every source's health"
MATCHES_CMD = "`newswatch alerts` lists the alerts, `newswatch export --kind matches --since 1h` every match"


def _more(count: int, what: str, where: str) -> list[str]:
    """The line that stands for the items past REPORT_MAX_ITEMS, and where to find them."""
    return ["", f"... and {count - REPORT_MAX_ITEMS} more {what}: {where}."] if count > REPORT_MAX_ITEMS else []


def _match_blocks(matches: list[MatchRow]) -> list[str]:
    """Stories, not raw duplicates: one block per (topic, story), naming the other outlets; the
    first REPORT_MAX_ITEMS of them."""
    stories: dict[tuple[str, int | None], list[MatchRow]] = {}
    for m in matches:
        stories.setdefault((m.topic, m.story_id if m.story_id is not None else -id(m)), []).append(m)
    groups = list(stories.values())
    lines = [
        line for number, group in enumerate(groups[:REPORT_MAX_ITEMS], start=1) for line in _match_block(number, group)
    ]
    return lines + _more(len(groups), "stories", MATCHES_CMD)


def run_name(summary: RunSummary, started: datetime) -> str:
    """A flow run name that says what the run did, e.g. monitor-2026-11-27T08:15Z-3-matches."""
    outcome = f"{summary.matches}-match{'es' if summary.matches != 1 else ''}"
    if summary.sources_failed:
        outcome += f"-{summary.sources_failed}-failed"
    return f"monitor-{started.strftime('%Y-%m-%dT%H:%MZ')}-{outcome}" + ("-dry-run" if summary.dry_run else "")


RUN_KEY = "newswatch-run"
MATCHES_KEY = "newswatch-matches"


def publish(summary: RunSummary, matches: list[MatchRow], health: list[SourceHealthRow] | None = None) -> None:
    """The run's artifacts in the Prefect UI, each with a key (its card's and page's name) and a
    description: the Markdown report, a table of new matches and the source-health table. No
    artifact per article: each was a new key in the UI's list and about 2 KB of Prefect's database
    (the report's blocks link to the articles)."""
    create_markdown_artifact(
        key=RUN_KEY,
        markdown=render_markdown(summary, matches, health),
        description="What this run fetched, matched and sent: counts, one block per new match, sources to look at",
    )
    if matches:
        shown = matches[:TABLE_MAX_MATCHES]
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
                for m in shown
            ],
            description="New matches of this run, one row each (for sorting and copying)"
            + (f"; the first {len(shown)} of {len(matches)}: {MATCHES_CMD}" if len(shown) < len(matches) else ""),
        )
    if health:
        now = now_utc()
        table = [dict(zip(HEALTH_COLUMNS, r, strict=True)) for r in health_table(health, now)]
        if _sources_table_due(table, now):
            create_table_artifact(
                key=SOURCES_KEY,
                table=table,
                description="Source health (stored when a source's status, failures or error change, at most a few "
                "times a day at thousands of sources, and daily)",
            )


def _health_states(table: list[dict[str, str]]) -> list[tuple[str, ...]]:
    """What makes a new version of the health table worth storing: not the times, which move every run."""
    return sorted((r["source"], r["status"], r["failures"], r["last error"]) for r in table)


def sources_table_gap(table_bytes: int) -> timedelta:
    """The least time between two stored health tables of this size (JSON bytes): none while one
    stored every 15-minute run (96 a day) stays within SOURCES_TABLE_BYTES_PER_DAY."""
    per_day = SOURCES_TABLE_BYTES_PER_DAY / max(table_bytes, 1)
    return timedelta(0) if per_day >= 96 else timedelta(days=1) / per_day


def health_table_due(
    table: list[dict[str, str]], previous: object, previous_at: datetime | None, now: datetime
) -> bool:
    """Whether to store this health table, given the newest stored one (its data, as Prefect returns
    it: a JSON string or the list itself) and when it was stored."""
    if previous is None or previous_at is None or now - previous_at >= SOURCES_TABLE_MAX_AGE:
        return True
    if now - previous_at < sources_table_gap(len(json.dumps(table))):
        return False
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
