"""A match's indicators (the groups of terms that fired, with the text each matched) end to end:
stored with the match, carried to the alert, and said by every message of a real delivery: the
e-mail's HTML and plain-text parts (a local SMTP server), a text webhook (json://), a Markdown chat
(Rocket.Chat's webhook, posted to a local receiver), the daily digest and the run's Markdown report.
The monitor flow runs on Prefect's real engine (session harness), on SQLite and PostgreSQL."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import lxml.html
import pytest
from sqlalchemy import select
from sqlmodel import col

from storage import repository
from storage.db import get_engine
from storage.models import Alert, Match
from tests.helpers import Watched, run_digest, run_monitor, write_config
from tests.receivers import JsonReceiver, SmtpReceiver

pytestmark = pytest.mark.usefixtures("prefect_harness")

GROUPS = (
    "groups:\n"
    '  recruitment: [lured, "recruit*"]\n'
    '  documents: ["passports confiscated", "confiscated passport*"]\n'
    '  coercion: ["forced to work", "threat of beatings"]\n'
)
QUERY = "ATLEAST(2, @recruitment, @documents, @coercion)"
# What the groups find in tests.newsweb.TRAFFICKING_PARAGRAPHS, in the order they fired.
FIRED = {
    "recruitment": ["lured"],
    "documents": ["passports confiscated"],
    "coercion": ["forced to work", "threat of beatings"],
}
TEXT_LINE = (
    "Indicators: recruitment: *lured*; documents: *passports confiscated*; "
    "coercion: *forced to work*, *threat of beatings*"
)
HTML_LINE = (
    "Indicators: recruitment: <em>lured</em>; documents: <em>passports confiscated</em>; "
    "coercion: <em>forced to work</em>, <em>threat of beatings</em>"
)


def watch(mekong: Watched, tmp_path: Path, mode: str = "immediate") -> tuple[str, str]:
    """Config files watching Mekong Daily with one topic of indicator groups."""
    topic = f'  - {{name: indicators, query: "{QUERY}", mode: {mode}}}\n'
    return write_config(tmp_path, [("Mekong Daily", mekong.site["feed"])], topic, head=GROUPS)


def parts(mail: EmailMessage) -> dict[str, str]:
    return {p.get_content_type(): p.get_content() for p in mail.walk() if not p.is_multipart()}


def test_indicators_reach_every_message_of_a_real_delivery(
    flow_db: str, mekong: Watched, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, wl = watch(mekong, tmp_path)
    with SmtpReceiver() as smtp, JsonReceiver() as hook, JsonReceiver() as chat:
        # rocket://ID/TOKEN@host: Rocket.Chat's incoming webhook (POST /hooks/ID/TOKEN {"text": ...}), Markdown.
        chat_url = f"rocket://hookid/hooktoken@127.0.0.1:{chat.port}"
        monkeypatch.setenv("NEWSWATCH_NOTIFY", f"{smtp.apprise_url()} {hook.apprise_url()} {chat_url}")
        summary = run_monitor(src, wl)
        assert summary.matches == 1 and summary.alerts_sent == 3 and summary.alerts_failed == 0
        assert len(smtp.messages) == 1 and len(hook.posts) == 1 and len(chat.posts) == 1

    with get_engine(flow_db).connect() as conn:  # stored with the match
        match_id, stored = conn.execute(select(col(Match.id), col(Match.indicators))).one()
    assert stored == FIRED

    body = parts(smtp.messages[0])
    assert f"<p>{HTML_LINE}</p>" in body["text/html"]
    page = lxml.html.fromstring(body["text/html"])
    assert [em.text_content() for em in page.xpath("//p/em")] == [q for quotes in FIRED.values() for q in quotes]
    plain = " ".join(body["text/plain"].split())
    assert "recruitment: lured" in plain and "coercion: forced to work, threat of beatings" in plain

    message = hook.posts[0]["message"]  # json:// takes plain text
    assert TEXT_LINE in message.splitlines()
    with get_engine(flow_db).connect() as conn:  # each message names its alert, to judge it by
        alert_ids = set(conn.execute(select(col(Alert.id))).scalars())
    named = {int(line.split()[1].rstrip(":")) for line in message.splitlines() if line.startswith("Alert ")}
    assert len(named) == 1 and named <= alert_ids and "newswatch alerts mark" in message
    lines = message.splitlines()
    assert lines.index(TEXT_LINE) == next(i for i, line in enumerate(lines) if line.startswith("Topic: ")) + 1

    text = chat.posts[0]["text"]  # Markdown: a line break (two spaces) within the header block
    assert f"in the text)  \n{TEXT_LINE}\n\n> " in text

    from tasks.report import RunSummary, render_markdown

    (row,) = repository.match_rows(flow_db, [match_id])
    assert row.indicators == FIRED
    report = render_markdown(RunSummary(matches=1), [row]).splitlines()
    assert f"- {TEXT_LINE}" in report  # in the match's block, as the alert says it
    (quote,) = [line for line in report if line.startswith("> ")]
    assert "**passports confiscated**" in quote


def test_the_digest_says_the_indicators_briefly(
    mekong: Watched, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, wl = watch(mekong, tmp_path, mode="daily")
    with JsonReceiver() as hook:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
        assert run_monitor(src, wl).matches == 1 and hook.posts == []
        assert run_digest(wl, force=True).digests == 1 and len(hook.posts) == 1
    message = hook.posts[0]["message"]
    brief = "Indicators: recruitment: *lured*; documents: *passports confiscated*; coercion: *forced to work* (+1)"
    assert f"  {brief}" in message.splitlines()
    assert TEXT_LINE not in message  # the alert's full line: the digest quotes each group once
