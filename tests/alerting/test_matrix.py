"""Chat alerts against a real chat server (issue #19 item 15): Synapse on 127.0.0.1 (tests/matrix.py),
a bot and an analyst registered with the shared secret, a room made by its alias. A monitor run
sends its alert the way an operator's would (NEWSWATCH_NOTIFY with Apprise's matrix:// URL: the
room alias, the Markdown body format, the notice message type), and the analyst reads the room
back through the client-server API: the matched words bold, the article a working link, a hostile
feed title shown as text, never as markup."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.helpers import run_monitor, write_config
from tests.matrix import Client, Synapse, synapse_missing
from tests.newsweb import TRAFFICKING_PARAGRAPHS, NewsWeb, article_page, rss

HOSTILE_TITLE = (
    'Officials accused [click](http://evil.example) <a href="https://phish.example/login">Read the full report</a>'
)
BOT, BOT_PASSWORD = "newswatch-bot", "bot-password-1"
ANALYST, ANALYST_PASSWORD = "analyst", "analyst-password-1"


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    if reason := synapse_missing():
        if os.environ.get("CI"):  # .ci/run installs the chat extra: there, a missing server is a failure
            pytest.fail(reason)
        pytest.skip(reason)
    with Synapse(tmp_path_factory.mktemp("synapse")) as server:
        server.register(BOT, BOT_PASSWORD)
        server.register(ANALYST, ANALYST_PASSWORD)
        yield server


@pytest.fixture
def analyst(synapse: Synapse) -> Client:
    return synapse.login(ANALYST, ANALYST_PASSWORD)


def hostile_outlet(web: NewsWeb, folder: Path) -> tuple[str, str, str]:
    """One outlet whose trafficking story carries a hostile title; (story URL, sources, watchlist)."""
    story = web.add("/hostile/story", article_page(HOSTILE_TITLE, TRAFFICKING_PARAGRAPHS, "Hostile Daily"))
    item = {"title": HOSTILE_TITLE, "link": story, "guid": "hostile-1", "summary": TRAFFICKING_PARAGRAPHS[0]}
    feed = web.add("/hostile/feed.xml", rss("Hostile Daily", web.url("/hostile"), [item]), "application/rss+xml")
    return story, *write_config(folder, [("Hostile Daily", feed)])


def test_an_alert_reaches_a_matrix_room_formatted_and_escaped(
    synapse: Synapse,
    analyst: Client,
    web: NewsWeb,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    room = analyst.create_room("alerts")
    story, src, wl = hostile_outlet(web, tmp_path)
    alias = quote("#alerts:localhost", safe="")
    url = f"matrix://{BOT}:{BOT_PASSWORD}@127.0.0.1:{synapse.port}/{alias}?msgtype=notice&format=markdown"
    monkeypatch.setenv("NEWSWATCH_NOTIFY", url + "&discovery=no")

    summary = run_monitor(src, wl)
    assert summary.matches == 1 and summary.alerts_sent == 1 and summary.alerts_failed == 0

    (event,) = analyst.messages(room)
    content = event["content"]
    assert event["sender"] == f"@{BOT}:localhost" and content["msgtype"] == "m.notice"
    assert content["format"] == "org.matrix.custom.html"
    html = content["formatted_body"]
    assert "<strong>human traffickers</strong>" in html, html  # the matched words, bold
    assert re.findall(r'<a href="([^"]*)"', html) == [story], html  # the article: the one live link
    shown = unescape(re.sub(r"<[^>]+>", "", html))  # what the analyst reads
    assert "[click](http://evil.example)" in shown, shown  # the title as written, not a link
    assert "Read the full report" in shown and "phish.example" not in html  # the feed's markup is gone
