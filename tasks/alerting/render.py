"""What alerts and digests say, per channel: HTML for e-mail (Apprise adds the plain-text
part), Markdown for chat (Slack, Telegram, Matrix, Discord), plain text elsewhere.

Article text (titles, sentences, source names, the text a topic's groups matched) comes from
third parties: it is escaped for each channel, so a title can inject no HTML or Markdown,
mention no one (@everyone, @here, <!channel>) and carry no control character.

A match whose query used groups of terms (``@means``) names each group that fired with the text
it matched, on an "Indicators:" line (a digest: each group's first quote); other alerts have no
such line."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.records import AlertToSend
from tasks.common.highlight import hit_segments
from tasks.common.text import strip_controls

FORMATS = ("html", "markdown", "text")
_MENTION = re.compile(r"@(?=(everyone|here|channel|room|all)\b)", re.IGNORECASE)
_SLACK_SPECIAL = re.compile(r"<(?=[!@#])")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
# Bidirectional embeddings, overrides and isolates: U+202E makes "Invoice \u202egnp.exe" read as
# "Invoice exe.png"; in a subject or title they disguise what an alert says. Marks (U+200E/F) stay.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
ZWSP = "\u200b"


@dataclass(frozen=True)
class Message:
    title: str  # plain text in every format (subjects and chat titles are not markup)
    body: str
    format: str = "markdown"  # one of FORMATS

    def title_for(self, merged: bool) -> str:
        """The title to hand a channel: plain text where the channel has a title field, escaped
        for the body's format where the channel merges it into the body (Apprise does so for
        channels without a title field: a Markdown heading, <b>title</b> in HTML)."""
        return escape(self.title, self.format) if merged else self.title


def _defuse(text: str) -> str:
    """No control characters, no bidi overrides, no mass mentions, no Slack/Discord <!channel>
    or <@id> tokens."""
    text = _BIDI_CONTROLS.sub("", strip_controls(text))
    text = _MENTION.sub("@" + ZWSP, text)
    return _SLACK_SPECIAL.sub("<" + ZWSP, text)


def escape(text: str, fmt: str) -> str:
    text = _defuse(text)
    if fmt == "html":
        return html.escape(text, quote=True)
    if fmt == "markdown":
        return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    return text


def _strong(text: str, fmt: str) -> str:
    return {"html": f"<strong>{text}</strong>", "markdown": f"**{text}**"}.get(fmt, f"*{text}*")


def link(url: str, fmt: str) -> str:
    safe = url if url.startswith(("http://", "https://")) else ""
    if fmt == "html":
        return f'<a href="{html.escape(safe, quote=True)}">{html.escape(safe)}</a>'
    return safe.replace(" ", "%20").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def live_link(url: str, fmt: str) -> str:
    """The article's address as a link a reader opens: an <a> in HTML, a Markdown autolink
    (`<https://...>`; a bare address stays text once Markdown is rendered, as Apprise does for
    Matrix), the address itself in text."""
    safe = link(url, fmt)
    return f"<{safe}>" if fmt == "markdown" and safe else safe


def sentence(text: str, words: Sequence[str], fmt: str) -> str:
    return "".join(_strong(escape(t, fmt), fmt) if hit else escape(t, fmt) for t, hit in hit_segments(text, words))


def indicators_line(indicators: Mapping[str, Sequence[str]], fmt: str, brief: bool = False) -> str | None:
    """ "Indicators: means: *passports confiscated*; purpose: *forced to defraud*" (None without
    indicators): each group that fired, and the text it matched, quoted from the article.
    `brief` (digests): each group's first quote only, "(+2)" saying how many more it matched."""
    if not indicators:
        return None

    def quoted(text: str) -> str:
        return f"<em>{escape(text, fmt)}</em>" if fmt == "html" else f"*{escape(text, fmt)}*"

    def part(group: str, quotes: Sequence[str]) -> str:
        shown = quotes[:1] if brief else quotes
        more = f" (+{len(quotes) - len(shown)})" if len(quotes) > len(shown) else ""
        said = f": {', '.join(map(quoted, shown))}" if shown else ""
        return f"{escape(group, fmt)}{said}{escape(more, fmt)}"

    return "Indicators: " + "; ".join(part(group, quotes) for group, quotes in indicators.items())


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "date unknown"


def _lines(fmt: str, lines: list[str]) -> str:
    if fmt == "html":
        wrapped = (line if line.startswith("<blockquote>") else f"<p>{line}</p>" for line in lines if line)
        return "\n".join(wrapped)
    return "\n".join(lines)


def render_alert(alert: AlertToSend, fmt: str) -> Message:
    terms = ", ".join(t if t.startswith('"') else f'"{t}"' for t in alert.terms)  # phrases come quoted
    where = "the title" if alert.hit_field == "title" else "the text"
    quote = sentence(alert.hit_sentence, alert.words, fmt)
    quote_line = f"<blockquote>{quote}</blockquote>" if fmt == "html" else f"> {quote}"
    indicators = indicators_line(alert.indicators, fmt)
    body = _lines(
        fmt,
        [
            _strong(escape(alert.title, fmt), fmt),
            "",
            f"Source: {escape(alert.source_name, fmt)}",
            f"Published: {_when(alert.published_at)}",
            f"Topic: {escape(alert.topic, fmt)} (matched {escape(terms, fmt)} in {where})",
            *([indicators] if indicators else []),
            "",
            quote_line,
            "",
            f"Link: {live_link(alert.url, fmt)}",
            *([f"Also reported by: {escape(', '.join(alert.also), fmt)}"] if alert.also else []),
            "",
            # The analyst's judgment feeds `newswatch topics report` and labelled exports.
            escape(f"Alert {alert.id}: newswatch alerts mark {alert.id} --relevant | --not-relevant", fmt),
        ],
    )
    if fmt == "markdown":  # two trailing spaces: line breaks within the header block
        body = body.replace("\nSource:", "  \nSource:").replace("\nPublished:", "  \nPublished:")
        body = body.replace("\nTopic:", "  \nTopic:").replace("\nIndicators:", "  \nIndicators:")
    return Message(title=f"[newswatch] {alert.topic}: {_defuse(alert.title)}"[:250], body=body, format=fmt)


def render_digest(topic: str, alerts: Sequence[AlertToSend], fmt: str, period: str) -> Message:
    """One message listing a topic's stories since the last digest, newest first."""
    items = sorted(alerts, key=lambda a: a.published_at.timestamp() if a.published_at else 0.0, reverse=True)
    lines = [f"{len(items)} new {'story' if len(items) == 1 else 'stories'} for {escape(topic, fmt)} ({period}).", ""]
    for a in items:
        head = f"{_strong(escape(a.title, fmt), fmt)} ({escape(a.source_name, fmt)}, {_when(a.published_at)})"
        quote = sentence(a.hit_sentence, a.words, fmt)
        indicators = indicators_line(a.indicators, fmt, brief=True)
        also = [f"Also reported by: {escape(', '.join(a.also), fmt)}"] if a.also else []
        extra = [indicators, *also] if indicators else also
        if fmt == "html":
            lines += [head, f"<blockquote>{quote}</blockquote>", link(a.url, fmt), *extra, ""]
        else:
            lines += [f"- {head}", f"  > {quote}", f"  {live_link(a.url, fmt)}", *(f"  {x}" for x in extra), ""]
    return Message(
        title=f"[newswatch] {topic}: {len(items)} {'story' if len(items) == 1 else 'stories'} ({period})"[:250],
        body=_lines(fmt, lines).rstrip() + "\n",
        format=fmt,
    )
