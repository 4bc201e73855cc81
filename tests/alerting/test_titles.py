"""Feed titles are third-party text wherever they land in an alert (issue #19, items 18 and 22):
in the body in each format, and in the title that Apprise merges into the body of channels that
have no title field (Telegram's HTML mode, Mattermost, Markdown channels). Markdown bodies are
rendered to HTML with Apprise's own converter, as Apprise does for a channel that takes HTML."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import apprise
import pytest
from apprise.conversion import convert_between

from storage.records import AlertToSend
from tasks.alerting.channels import AppriseSender
from tasks.alerting.render import render_alert
from tests.receivers import JsonReceiver

PHISH = '<a href="https://phish.example/login">Read the full report</a>'
MARKDOWN_LINK = "[click](http://evil.example)"
SCRIPT_LINK = "[x](javascript:alert(1))"
BIDI = "Invoice \u202egnp.exe\u202c and \u2066isolated\u2069 text"


def alert(title: str) -> AlertToSend:
    return AlertToSend(
        id=7,
        target="t",
        topic="human-trafficking",
        terms=["traffick*"],
        words=["traffickers"],
        hit_sentence="Police arrested traffickers at the border.",
        hit_field="text",
        title=title,
        url="https://news.example/story",
        source_name="Mekong Daily",
        published_at=datetime(2026, 11, 27, 1, 15, tzinfo=UTC),
        attempts=0,
    )


def live_links(html_text: str) -> list[str]:
    return re.findall(r"<a\s[^>]*href=\"([^\"]*)\"", html_text)


@pytest.mark.parametrize("title", [MARKDOWN_LINK, SCRIPT_LINK, PHISH])
def test_a_title_never_becomes_a_live_link_in_a_markdown_body(title: str) -> None:
    body = render_alert(alert(title), "markdown").body
    rendered = convert_between(apprise.NotifyFormat.MARKDOWN, apprise.NotifyFormat.HTML, body)
    assert set(live_links(rendered)) <= {"https://news.example/story"}  # the article's own link at most
    assert "click" in rendered or "Read the full report" in rendered or "javascript" in rendered  # shown as text


@pytest.mark.parametrize("fmt", ["markdown", "html", "text"])
def test_bidi_overrides_are_stripped_from_subject_and_body(fmt: str) -> None:
    message = render_alert(alert(BIDI), fmt)
    for text in (message.title, message.body):
        assert not re.search("[\u202a-\u202e\u2066-\u2069]", text)
        assert "gnp" in text and "isolated text" in text


@pytest.mark.parametrize(("fmt", "title"), [("markdown", MARKDOWN_LINK), ("markdown", SCRIPT_LINK), ("html", PHISH)])
def test_a_title_merged_into_the_body_by_apprise_is_escaped_for_the_body(fmt: str, title: str) -> None:
    """Mattermost has no title field: Apprise merges the title into the body (a Markdown heading,
    or <b>title</b> for HTML). The channel is a real Apprise plugin posting to a local server."""
    with JsonReceiver() as receiver:
        server = apprise.Apprise.instantiate(f"mmost://127.0.0.1:{receiver.port}/token?format={fmt}")
        assert server is not None and server.title_maxlen == 0
        sender = AppriseSender(server)
        assert sender.format == fmt
        sender.send(render_alert(alert(title + " \u202eevil"), fmt))
    (post,) = receiver.posts
    text = post["text"]
    rendered = (
        convert_between(apprise.NotifyFormat.MARKDOWN, apprise.NotifyFormat.HTML, text) if fmt == "markdown" else text
    )
    assert set(live_links(rendered)) <= {"https://news.example/story"}, text
    assert "\u202e" not in text


def test_a_channel_with_a_title_field_gets_the_title_as_plain_text() -> None:
    with JsonReceiver() as receiver:
        server = apprise.Apprise.instantiate(receiver.apprise_url())
        AppriseSender(server).send(render_alert(alert(MARKDOWN_LINK), "markdown"))
    (post,) = receiver.posts
    assert post["title"] == f"[newswatch] human-trafficking: {MARKDOWN_LINK}"
