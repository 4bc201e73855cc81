"""What a run did, for the terminal and for the Prefect UI (a Markdown artifact)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from prefect.artifacts import create_markdown_artifact

from storage.repository import MatchRow
from tasks.ingest import SourceOutcome
from tasks.match import emphasize


@dataclass
class RunSummary:
    sources_ok: int = 0
    sources_failed: int = 0
    entries_seen: int = 0
    already_known: int = 0
    new_articles: int = 0
    duplicates: int = 0
    articles_checked: int = 0
    matches: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    alerts_pending: int = 0
    dry_run: bool = False
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def summarize(outcomes: list[SourceOutcome]) -> RunSummary:
    s = RunSummary()
    for o in outcomes:
        if o.ok:
            s.sources_ok += 1
        else:
            s.sources_failed += 1
            s.failures.append(f"{o.name}: {o.error}")
        s.entries_seen += o.entries
        s.already_known += o.known
        s.new_articles += o.new
        s.duplicates += o.duplicates
    return s


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(summary: RunSummary, matches: list[MatchRow]) -> str:
    lines = [
        "# newswatch run" + (" (dry run: nothing sent)" if summary.dry_run else ""),
        "",
        "| sources ok | sources failed | entries | already stored | new articles | duplicates | matches "
        "| alerts sent | alerts failed | alerts pending |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary.sources_ok} | {summary.sources_failed} | {summary.entries_seen} | {summary.already_known} "
        f"| {summary.new_articles} | {summary.duplicates} | {summary.matches} | {summary.alerts_sent} "
        f"| {summary.alerts_failed} | {summary.alerts_pending} |",
        "",
        "## New matches",
        "",
    ]
    if matches:
        lines += ["| topic | title | source | published | why |", "|---|---|---|---|---|"]
        for m in matches:
            date = m.published_at.strftime("%Y-%m-%d %H:%M") if m.published_at else ""
            lines.append(
                f"| {_cell(m.topic)} | [{_cell(m.title)}]({m.url}) | {_cell(m.source_name)} | {date} "
                f"| {_cell(emphasize(m.hit_sentence, m.words))} |"
            )
    else:
        lines.append("None.")
    if summary.failures:
        lines += ["", "## Failed sources", ""] + [f"- {_cell(f)}" for f in summary.failures]
    return "\n".join(lines) + "\n"


def publish(summary: RunSummary, matches: list[MatchRow]) -> None:
    create_markdown_artifact(
        key="newswatch-run", markdown=render_markdown(summary, matches), description="newswatch run summary"
    )
