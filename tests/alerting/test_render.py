"""The alert and digest bodies, whole, in each format (bench/mutation.py: with only the title
tests, 106 mutants of tasks/alerting/render.py were executed by no test, digests and the
Indicators line among them, and changed strings, formats and orderings survived)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from storage.records import AlertToSend
from tasks.alerting.render import Message, escape, render_alert, render_digest

ALERT = AlertToSend(
    id=7,
    target="t",
    topic="scams",
    terms=["traffick*", '"debt bondage"'],  # a phrase comes quoted
    words=["traffickers", "debt bondage"],
    hit_sentence="Police freed 42 from debt bondage; traffickers fled.",
    hit_field="title",
    title="Raid_on *compound*",
    url="https://news.example/a (1)",
    source_name="Mekong <Daily>",
    published_at=datetime(2026, 11, 27, 1, 15, tzinfo=UTC),
    attempts=0,
    also=("Khmer Times", "VOD"),
    indicators={"means": ["passports confiscated", "debt"], "purpose": ["forced to defraud"]},
)
OLDER = replace(ALERT, id=8, title="Older", published_at=datetime(2026, 11, 26, 9, tzinfo=UTC), also=(), indicators={})
OLDER = replace(OLDER, url="javascript:alert(1)")
UNDATED = replace(ALERT, id=9, title="Undated", published_at=None, also=(), indicators={}, hit_field="text")

ALERT_BODIES = {
    "markdown": "**Raid\\_on \\*compound\\***\n"
    "  \n"  # two trailing spaces: line breaks within the header block
    "Source: Mekong &lt;Daily&gt;  \n"
    "Published: 2026-11-27 01:15 UTC  \n"
    'Topic: scams (matched "traffick\\*", "debt bondage" in the title)  \n'
    "Indicators: means: *passports confiscated*, *debt*; purpose: *forced to defraud*\n\n"
    "> Police freed 42 from **debt bondage**; **traffickers** fled\\.\n\n"
    "Link: <https://news.example/a%20(1%29>\n"
    "Also reported by: Khmer Times, VOD\n\n"
    "Alert 7: newswatch alerts mark 7 \\-\\-relevant \\| \\-\\-not\\-relevant",
    "html": """<p><strong>Raid_on *compound*</strong></p>
<p>Source: Mekong &lt;Daily&gt;</p>
<p>Published: 2026-11-27 01:15 UTC</p>
<p>Topic: scams (matched &quot;traffick*&quot;, &quot;debt bondage&quot; in the title)</p>
<p>Indicators: means: <em>passports confiscated</em>, <em>debt</em>; purpose: <em>forced to defraud</em></p>
<blockquote>Police freed 42 from <strong>debt bondage</strong>; <strong>traffickers</strong> fled.</blockquote>
<p>Link: <a href="https://news.example/a (1)">https://news.example/a (1)</a></p>
<p>Also reported by: Khmer Times, VOD</p>
<p>Alert 7: newswatch alerts mark 7 --relevant | --not-relevant</p>""",
    "text": """*Raid_on *compound**

Source: Mekong <Daily>
Published: 2026-11-27 01:15 UTC
Topic: scams (matched "traffick*", "debt bondage" in the title)
Indicators: means: *passports confiscated*, *debt*; purpose: *forced to defraud*

> Police freed 42 from *debt bondage*; *traffickers* fled.

Link: https://news.example/a%20(1%29
Also reported by: Khmer Times, VOD

Alert 7: newswatch alerts mark 7 --relevant | --not-relevant""",
}


@pytest.mark.parametrize("fmt", ["markdown", "html", "text"])
def test_an_alert_says_everything_escaped_for_its_format(fmt: str) -> None:
    message = render_alert(ALERT, fmt)
    assert message == Message(title="[newswatch] scams: Raid_on *compound*", body=ALERT_BODIES[fmt], format=fmt)


def test_an_alert_names_where_it_matched_and_has_no_empty_extras() -> None:
    body = render_alert(UNDATED, "text").body
    assert "Published: date unknown" in body
    assert "in the text)" in body
    assert "Indicators" not in body and "Also reported by" not in body


DIGEST_BODIES = {
    "markdown": "3 new stories for scams (daily).\n\n"
    "- **Raid\\_on \\*compound\\*** (Mekong &lt;Daily&gt;, 2026-11-27 01:15 UTC)\n"
    "  > Police freed 42 from **debt bondage**; **traffickers** fled\\.\n"
    "  <https://news.example/a%20(1%29>\n"
    "  Indicators: means: *passports confiscated* \\(\\+1\\); purpose: *forced to defraud*\n"
    "  Also reported by: Khmer Times, VOD\n\n"
    "- **Older** (Mekong &lt;Daily&gt;, 2026-11-26 09:00 UTC)\n"
    "  > Police freed 42 from **debt bondage**; **traffickers** fled\\.\n"
    "  \n\n"  # a javascript: link is no link
    "- **Undated** (Mekong &lt;Daily&gt;, date unknown)\n"
    "  > Police freed 42 from **debt bondage**; **traffickers** fled\\.\n"
    "  <https://news.example/a%20(1%29>\n",
    "html": "<p>3 new stories for scams (daily).</p>\n"
    "<p><strong>Raid_on *compound*</strong> (Mekong &lt;Daily&gt;, 2026-11-27 01:15 UTC)</p>\n"
    "<blockquote>Police freed 42 from <strong>debt bondage</strong>; <strong>traffickers</strong> fled.</blockquote>\n"
    '<p><a href="https://news.example/a (1)">https://news.example/a (1)</a></p>\n'
    "<p>Indicators: means: <em>passports confiscated</em> (+1); purpose: <em>forced to defraud</em></p>\n"
    "<p>Also reported by: Khmer Times, VOD</p>\n"
    "<p><strong>Older</strong> (Mekong &lt;Daily&gt;, 2026-11-26 09:00 UTC)</p>\n"
    "<blockquote>Police freed 42 from <strong>debt bondage</strong>; <strong>traffickers</strong> fled.</blockquote>\n"
    '<p><a href=""></a></p>\n'
    "<p><strong>Undated</strong> (Mekong &lt;Daily&gt;, date unknown)</p>\n"
    "<blockquote>Police freed 42 from <strong>debt bondage</strong>; <strong>traffickers</strong> fled.</blockquote>\n"
    '<p><a href="https://news.example/a (1)">https://news.example/a (1)</a></p>\n',
    "text": "3 new stories for scams (daily).\n\n"
    "- *Raid_on *compound** (Mekong <Daily>, 2026-11-27 01:15 UTC)\n"
    "  > Police freed 42 from *debt bondage*; *traffickers* fled.\n"
    "  https://news.example/a%20(1%29\n"
    "  Indicators: means: *passports confiscated* (+1); purpose: *forced to defraud*\n"
    "  Also reported by: Khmer Times, VOD\n\n"
    "- *Older* (Mekong <Daily>, 2026-11-26 09:00 UTC)\n"
    "  > Police freed 42 from *debt bondage*; *traffickers* fled.\n"
    "  \n\n"
    "- *Undated* (Mekong <Daily>, date unknown)\n"
    "  > Police freed 42 from *debt bondage*; *traffickers* fled.\n"
    "  https://news.example/a%20(1%29\n",
}


@pytest.mark.parametrize("fmt", ["markdown", "html", "text"])
def test_a_digest_lists_stories_newest_first_undated_last(fmt: str) -> None:
    message = render_digest("scams", [OLDER, ALERT, UNDATED], fmt, "daily")
    assert message == Message(title="[newswatch] scams: 3 stories (daily)", body=DIGEST_BODIES[fmt], format=fmt)


def test_a_digest_of_one_says_story() -> None:
    message = render_digest("scams", [UNDATED], "text", "weekly")
    assert message.title == "[newswatch] scams: 1 story (weekly)"
    assert message.body.startswith("1 new story for scams (weekly).\n\n- *Undated*")


def test_titles_are_cut_at_250_characters() -> None:
    assert len(render_alert(replace(ALERT, title="x" * 400), "text").title) == 250
    assert len(render_digest("t" * 400, [ALERT], "text", "daily").title) == 250


@pytest.mark.parametrize("fmt", ["markdown", "html", "text"])
def test_mentions_and_control_characters_are_defused_in_every_format(fmt: str) -> None:
    text = escape("Hi @everyone @Here <!channel> <@U1> <#C1>\x07 @someone", fmt)
    assert "@everyone" not in text and "@Here" not in text
    assert "@\u200beveryone" in text and "@\u200bHere" in text and "@someone" in text
    assert "\x07" not in text
    angle = "&lt;" if fmt != "text" else "<"
    assert text.count(f"{angle}\u200b") == 3  # <!channel>, <@U1>, <#C1>


def test_a_message_title_is_escaped_only_where_the_channel_merges_it() -> None:
    message = Message(title="a_b <c>", body="", format="markdown")
    assert message.title_for(merged=False) == "a_b <c>"
    assert message.title_for(merged=True) == "a\\_b &lt;c&gt;"
    assert Message(title="a_b <c>", body="", format="html").title_for(merged=True) == "a_b &lt;c&gt;"


def test_every_third_party_field_is_escaped_and_every_link_kept_safe() -> None:
    """bench/mutation.py: with plain words in the topic, the other outlets, the groups and the
    matched words, escaping any of them for no format (None) survived; so did mangling `<`, `>`
    and `"` in links and refusing http:// (not https) links."""
    odd = replace(
        ALERT,
        topic="scams_2026",
        also=("Khmer_Times",),
        words=["U.S."],
        hit_sentence="Raids in the U.S. too.",
        url='http://news.example/a?q="<b>"',
        indicators={"debt_bondage": ["*owed*", "a<b"], "no_quote": []},
    )
    markdown = render_alert(odd, "markdown").body
    assert "Topic: scams\\_2026 (" in markdown and "Also reported by: Khmer\\_Times" in markdown
    assert "**U\\.S\\.**" in markdown
    assert "Indicators: debt\\_bondage: *\\*owed\\**, *a&lt;b*; no\\_quote\n" in markdown  # a group without a quote
    assert 'Link: <http://news.example/a?q="%3Cb%3E">' in markdown
    html = render_alert(odd, "html").body
    assert '<a href="http://news.example/a?q=&quot;&lt;b&gt;&quot;">' in html
    assert "<em>*owed*</em>, <em>a&lt;b</em>" in html
    assert "scams_2026" in html  # html does not escape underscores
    digest = render_digest("scams_2026", [odd], "markdown", "daily").body
    assert digest.startswith("1 new story for scams\\_2026 (daily).")
    assert "  Also reported by: Khmer\\_Times" in digest
