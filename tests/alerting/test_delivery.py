"""Alert delivery end to end against real receivers: an SMTP server (aiosmtpd), the Mosquitto MQTT
broker on 127.0.0.1:1883, json:// webhooks that work, fail, or hang. The monitor flow runs on
Prefect's real engine (session harness), as in tests/flows/test_monitor.py."""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import re
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import lxml.html
import pytest
from sqlalchemy import MetaData, select, update
from sqlmodel import col

from storage.db import get_engine
from storage.models import Alert, Article, Match
from tasks.alerting.delivery import retry_delay  # imports Prefect at collection: see PREFECT_LOGGING below
from tests.helpers import Watched, run_monitor, write_config
from tests.newsweb import TRAFFICKING_PARAGRAPHS, NewsWeb, article_page, rss
from tests.receivers import FlakyJsonReceiver, HangingReceiver, JsonReceiver, SmtpReceiver, free_port

# PREFECT_LOGGING: Prefect's logging setup, on its first import in the process, replaces the root
# logger's handlers and binds its console handler to the current stderr. Importing it at collection
# (above) does that before any test captures log records (caplog) or output (capfd).

pytestmark = pytest.mark.usefixtures("prefect_harness")

MATCHED = "accused of colluding with human traffickers who lured workers"  # in the hit sentence
PUBLISHED = "2026-11-27 01:15 UTC"  # the feed's pubDate, as alerts print it
# C0/C1 control characters other than tab, line feed and carriage return (line breaks are fine).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
TAG = re.compile(r"</?[A-Za-z!][^>]*>")
ZWSP = "\u200b"


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite database for tests whose point is not the backend (flow_db runs both)."""
    url = f"sqlite:///{tmp_path / 'delivery.db'}"
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", url)
    return url


def one_story_feed(web: NewsWeb, title_in_feed: str, paragraphs: list[str], prefix: str = "/story") -> dict[str, str]:
    """A feed with one article. `title_in_feed` is the item title's text as the feed carries it
    (rss() XML-escapes it once more)."""
    story = web.add(f"{prefix}/article", article_page("A story", paragraphs, "Mekong Daily"))
    items = [{"title": title_in_feed, "link": story, "guid": f"{prefix}-1"}]
    feed = web.add(f"{prefix}/feed.xml", rss("Mekong Daily", web.url(prefix), items), "application/rss+xml")
    return {"feed": feed, "story": story}


def alert_rows(db: str) -> list:  # type: ignore[type-arg]
    with get_engine(db).connect() as conn:
        return list(conn.execute(select(Alert).order_by(col(Alert.id))).all())


def row_for(db: str, port: int):  # type: ignore[no-untyped-def]
    """The alert row of the json:// target listening on `port` (its label is the masked URL)."""
    rows = [r for r in alert_rows(db) if f":{port}/" in r.target_label]
    assert len(rows) == 1, [r.target_label for r in alert_rows(db)]
    return rows[0]


def time_passes(db: str) -> None:
    """Make every alert's retry due, as if the backoff (1 min, 2 min, ...) had passed."""
    with get_engine(db).begin() as conn:
        conn.execute(update(Alert).values(next_attempt_at=Alert.created_at))


def parts(mail: EmailMessage) -> dict[str, str]:
    return {p.get_content_type(): p.get_content() for p in mail.walk() if not p.is_multipart()}


# --- 1. e-mail -------------------------------------------------------------------------------


def test_email_is_multipart_alternative_with_html_and_text(
    sqlite_url: str, web: NewsWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    title = 'Officials & "fixers" accused of colluding with human traffickers in Sihanoukville'
    # Escaped once for rss() and once for the feed itself: the stored title holds the literal text.
    site = one_story_feed(web, html.escape(title, quote=False), TRAFFICKING_PARAGRAPHS)
    src, wl = write_config(tmp_path, [("Mekong Daily", site["feed"])])
    with SmtpReceiver() as smtp:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", smtp.apprise_url())
        summary = run_monitor(src, wl)
        assert summary.matches == 1 and summary.alerts_sent == 1 and summary.alerts_failed == 0
        assert len(smtp.messages) == 1
    with get_engine(sqlite_url).connect() as conn:
        assert conn.execute(select(col(Article.title))).scalar_one() == title  # precondition: the markup is there
    mail = smtp.messages[0]
    assert mail.get_content_type() == "multipart/alternative"
    # Plain first, HTML last: clients show the last alternative they can render.
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert title in str(mail["Subject"])
    body = parts(mail)

    page = body["text/html"]
    assert html.escape(title, quote=True) in page  # the title, escaped
    assert '& "fixers"' not in page
    doc = lxml.html.fromstring(page)
    assert title in doc.text_content()
    for fact in ("Mekong Daily", PUBLISHED, site["story"]):
        assert fact in doc.text_content(), fact
    quotes = doc.xpath("//blockquote")
    assert len(quotes) == 1 and MATCHED in quotes[0].text_content()
    assert [s.text_content() for s in quotes[0].xpath(".//strong")] == ["human traffickers"]
    assert doc.xpath("//a/@href") == [site["story"]]

    text = body["text/plain"]
    assert TAG.search(text) is None, TAG.search(text)
    assert not re.search(r"&(amp|lt|gt|quot|#\d+);", text)  # no entities either
    for fact in (title, "Mekong Daily", PUBLISHED, MATCHED, site["story"]):
        assert fact in text, fact


# --- 2. MQTT -----------------------------------------------------------------------------------


@pytest.fixture
def mqtt_topic() -> Iterator[tuple[str, list[bytes], Callable[[], list[bytes]]]]:
    """A paho subscriber on a fresh topic of the local Mosquitto broker; yields (topic, payloads,
    settle). settle() publishes a marker on the topic and waits for it: Mosquitto forwards what
    it received in order, so every message published before it has arrived by then (no sleep
    that merely hopes so); it returns the payloads without the markers."""
    import paho.mqtt.client as mqtt

    topic = f"newswatch/alerts/{uuid.uuid4().hex}"
    received: list[bytes] = []
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
    client.on_connect = lambda c, userdata, flags, rc, props: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda *args: subscribed.set()
    client.on_message = lambda c, userdata, msg: received.append(bytes(msg.payload))
    client.connect("127.0.0.1", 1883)
    client.loop_start()

    def settle() -> list[bytes]:
        marker = f"marker-{uuid.uuid4().hex}".encode()
        client.publish(topic, marker, qos=1)
        assert wait_for(lambda: marker in received, 30), "the marker never came back"
        return [p for p in received if not p.startswith(b"marker-")]

    try:
        assert subscribed.wait(5), "no SUBACK from Mosquitto on 127.0.0.1:1883"
        yield topic, received, settle
    finally:
        client.disconnect()
        client.loop_stop()


def wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def test_mqtt_alert_through_mosquitto(
    sqlite_url: str, mekong: Watched, monkeypatch: pytest.MonkeyPatch, mqtt_topic: tuple[str, list, Callable]
) -> None:
    from tests.newsweb import TRAFFICKING_TITLE

    topic, received, settle = mqtt_topic
    site, src, wl = mekong
    # Apprise: mqtt://user[:password]@host[:port]/topic (the broker allows anonymous clients).
    monkeypatch.setenv("NEWSWATCH_NOTIFY", f"mqtt://newswatch@127.0.0.1:1883/{topic}")
    summary = run_monitor(src, wl)
    assert summary.matches == 1 and summary.alerts_sent == 1 and summary.alerts_failed == 0
    # The run published its alert (and would have published any duplicate) before the marker.
    assert len(settle()) == 1
    payload = received[0].decode("utf-8")
    assert TRAFFICKING_TITLE in payload and site["story"] in payload
    assert "accused of colluding with *human traffickers* who lured workers" in payload  # text format
    assert run_monitor(src, wl, force=True).alerts_sent == 0  # the same story again: nothing more
    assert len(settle()) == 1
    (row,) = alert_rows(sqlite_url)
    assert row.status == "sent" and row.attempts == 1 and row.target_label.startswith("mqtt://")


# --- 3. one target fails, the other works --------------------------------------------------


def test_only_the_failing_target_is_retried(flow_db: str, mekong: Watched, monkeypatch: pytest.MonkeyPatch) -> None:
    _, src, wl = mekong
    with FlakyJsonReceiver(failures=1) as flaky, JsonReceiver() as steady:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", f"{flaky.apprise_url()}, {steady.apprise_url()}")
        first = run_monitor(src, wl)
        assert first.matches == 1 and first.alerts_sent == 1 and first.alerts_failed == 1
        assert first.alerts_pending == 1
        assert (len(flaky.attempts), len(flaky.posts), len(steady.posts)) == (1, 0, 1)
        failed, ok = row_for(flow_db, flaky.port), row_for(flow_db, steady.port)
        assert (failed.status, failed.attempts) == ("pending", 1) and "500" in failed.last_error
        backoff = (failed.next_attempt_at - failed.created_at).total_seconds()
        assert abs(backoff - retry_delay(1).total_seconds()) < 10 and retry_delay(1).total_seconds() == 60
        assert (ok.status, ok.attempts) == ("sent", 1)

        early = run_monitor(src, wl)  # within the minute: nothing is due
        assert early.alerts_sent == 0 and early.alerts_failed == 0 and early.alerts_pending == 1
        assert (len(flaky.attempts), len(steady.posts)) == (1, 1)

        time_passes(flow_db)
        later = run_monitor(src, wl)
        assert later.alerts_sent == 1 and later.alerts_failed == 0 and later.alerts_pending == 0
        assert (len(flaky.attempts), len(flaky.posts), len(steady.posts)) == (2, 1, 1)
        assert flaky.posts[0]["title"] == steady.posts[0]["title"]  # the same alert, delivered late
    failed, ok = row_for(flow_db, flaky.port), row_for(flow_db, steady.port)
    assert (failed.status, failed.attempts, failed.last_error) == ("sent", 2, None)
    assert (ok.status, ok.attempts) == ("sent", 1)


# --- 4. dead letters -------------------------------------------------------------------------


def test_dead_letter_after_max_attempts(flow_db: str, mekong: Watched, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from deploy.cli import app

    _, src, wl = mekong
    monkeypatch.setenv("NEWSWATCH_ALERT_MAX_ATTEMPTS", "2")
    with FlakyJsonReceiver(failures=10**9) as broken:  # always HTTP 500
        monkeypatch.setenv("NEWSWATCH_NOTIFY", broken.apprise_url())
        first = run_monitor(src, wl)
        assert first.alerts_failed == 1 and first.alerts_pending == 1
        (row,) = alert_rows(flow_db)
        assert (row.status, row.attempts) == ("pending", 1)

        time_passes(flow_db)
        second = run_monitor(src, wl)
        assert second.alerts_failed == 1 and second.alerts_pending == 0
        (row,) = alert_rows(flow_db)
        assert (row.status, row.attempts) == ("dead", 2) and "500" in row.last_error
        assert len(broken.attempts) == 2

        time_passes(flow_db)  # long after: a dead alert is due for nothing
        third = run_monitor(src, wl)
        assert third.alerts_sent == 0 and third.alerts_failed == 0 and third.alerts_pending == 0
        assert len(broken.attempts) == 2 and broken.posts == []
    (row,) = alert_rows(flow_db)
    assert (row.status, row.attempts) == ("dead", 2)

    listed = CliRunner().invoke(app, ["alerts", "list", "--status", "dead", "--json"])
    assert listed.exit_code == 0, listed.output
    dead = json.loads(listed.stdout.strip().splitlines()[-1])
    assert [(d["id"], d["status"], d["attempts"]) for d in dead] == [(row.id, "dead", 2)]


# --- 5. a hanging receiver -------------------------------------------------------------------

# Apprise's json:// waits at most 4 s to connect and 4 s for an answer (socket_connect_timeout,
# socket_read_timeout); a hanging receiver accepts at once, so one attempt costs the 4 s read
# timeout. A run without it takes ~1.5-2 s here; the bound leaves room for a slow CI machine
# while staying far below a hang without a timeout (forever) or with requests' none (forever).
HANG_BOUND_S = 15.0


def test_hanging_receiver_costs_bounded_time_and_others_still_get_their_alert(
    sqlite_url: str,
    mekong: Watched,
    monkeypatch: pytest.MonkeyPatch,
    record_property: Callable[[str, object], None],
) -> None:
    _, src, wl = mekong
    with HangingReceiver() as hang, JsonReceiver() as hook:
        # The hanging target first: its alert has the lower id and is attempted first.
        monkeypatch.setenv("NEWSWATCH_NOTIFY", f"{hang.apprise_url()} {hook.apprise_url()}")
        started = time.monotonic()
        summary = run_monitor(src, wl)
        elapsed = time.monotonic() - started
        record_property("hanging_run_seconds", round(elapsed, 2))
        print(f"\nflow run with a hanging receiver: {elapsed:.2f} s")
        assert hang.connections >= 1  # the hanging server was really connected to
        assert summary.alerts_sent == 1 and summary.alerts_failed == 1 and summary.alerts_pending == 1
        assert len(hook.posts) == 1
    assert elapsed < HANG_BOUND_S, f"run took {elapsed:.1f} s"
    hung, ok = row_for(sqlite_url, hang.port), row_for(sqlite_url, hook.port)
    assert hung.id < ok.id  # the working target's alert was sent after the hang
    assert (hung.status, hung.attempts) == ("pending", 1) and hung.last_error
    assert (ok.status, ok.attempts) == ("sent", 1)


# --- 6. escaping -----------------------------------------------------------------------------

HOSTILE_TITLE = "<script>alert(1)</script> **bold** @everyone <!channel> [x](http://evil.example)"


def test_hostile_title_is_escaped_and_defused_in_every_message(
    sqlite_url: str, web: NewsWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The feed carries the title as text (escaped twice: once here, once by rss()), with raw
    # control characters and a character reference to BEL, which the parser may clean up.
    in_feed = html.escape(HOSTILE_TITLE, quote=False) + " \x07\x00&#7;"
    paragraphs = [
        "Officials @everyone <!channel> were accused of colluding with human traffickers \x07 who lured workers "
        "from across the region into online scam compounds, rights groups said on Thursday.",
        *TRAFFICKING_PARAGRAPHS[1:],
    ]
    site = one_story_feed(web, in_feed, paragraphs)
    src, wl = write_config(tmp_path, [("Mekong Daily", site["feed"])])
    smtp, hook = SmtpReceiver(), JsonReceiver()  # not started yet: the first run cannot deliver
    monkeypatch.setenv("NEWSWATCH_NOTIFY", f"{smtp.apprise_url()} {hook.apprise_url()}")
    down = run_monitor(src, wl)
    assert down.matches == 1 and down.alerts_failed == 2

    with get_engine(sqlite_url).begin() as conn:
        stored = conn.execute(select(col(Article.title))).scalar_one()
        sentence = conn.execute(select(col(Match.hit_sentence))).scalar_one()
        # Preconditions: the hostile text was stored as is, so the renderers have something to do.
        assert stored.startswith(HOSTILE_TITLE), stored
        assert "@everyone <!channel>" in sentence and "human traffickers" in sentence
        assert not CONTROL.search(stored + sentence)  # the parser removed the feed's control characters
        # Control characters that did reach the database (an older version, another writer) are
        # the renderer's to remove: put some there.
        conn.execute(update(Article).values(title=Article.title + " \x07\x1b[31m\x7f\x85end"))
        conn.execute(update(Match).values(hit_sentence=Match.hit_sentence + " \x08\x1b[2J\x00"))
    time_passes(sqlite_url)

    with smtp, hook:
        summary = run_monitor(src, wl)
        assert summary.alerts_sent == 2 and summary.alerts_failed == 0
        assert len(smtp.messages) == 1 and len(hook.posts) == 1

    mail = smtp.messages[0]
    body = parts(mail)
    page = body["text/html"]
    assert "<script" not in page.lower() and "</script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not lxml.html.fromstring(page).xpath("//script")
    assert "<!channel>" not in page

    post = hook.posts[0]
    message, title = post["message"], post["title"]
    for text in (message, title):
        assert "@everyone" not in text and "<!channel>" not in text
        assert "@" + ZWSP + "everyone" in text and "<" + ZWSP + "!channel>" in text  # defused, not dropped
    assert "**bold**" in message and "[x](http://evil.example)" in message  # plain text: shown as is

    everything = {
        "subject": str(mail["Subject"]),
        **{f"mail {k}": v for k, v in body.items()},
        "json title": title,
        "json message": message,
    }
    for where, text in everything.items():
        assert "@everyone" not in text, where
        assert not CONTROL.search(text), (where, CONTROL.search(text))
    assert "[31mend" in title and "[31mend" in str(mail["Subject"])  # the tampered title is the one sent
    assert "[2J" in message and "[2J" in page  # and so is the tampered sentence


# --- 7. secrets ------------------------------------------------------------------------------

CANARY = "CANARY-s3cret-7731"


def database_text(db: str) -> tuple[int, str]:
    """Every value of every row of every table, as text; and how many rows."""
    engine = get_engine(db)
    meta = MetaData()
    with warnings.catch_warnings():  # SQLite's expression index cannot be reflected; its table still is
        warnings.filterwarnings("ignore", message=".*expression-based index")
        meta.reflect(bind=engine)
    chunks, rows = [], 0
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                rows += 1
                chunks.append(f"{table.name}: " + " | ".join(map(str, row)))
    return rows, "\n".join(chunks)


def test_secrets_never_leak(
    flow_db: str,
    mekong: Watched,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.logging.handlers import APILogHandler

    from flows.monitor import monitor

    _, src, wl = mekong
    refused = free_port()  # nothing listens there
    failing = f"json://watcher:{CANARY}@127.0.0.1:{refused}/hook"
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="apprise")
    assert caplog.handler in logging.getLogger().handlers  # see the import of tasks.alerting.delivery above
    prefect_logger = logging.getLogger("prefect")  # does not propagate to the root logger
    prefect_logger.addHandler(caplog.handler)
    try:
        with JsonReceiver() as hook:
            monkeypatch.setenv("NEWSWATCH_NOTIFY", f"{failing} {hook.apprise_url()}")
            state = monitor(sources_file=src, watchlist_file=wl, return_state=True)
            summary = state.result()
            assert summary.alerts_sent == 1 and summary.alerts_failed == 1 and len(hook.posts) == 1
        APILogHandler().flush()  # ship the run's logs to the API before reading them back
    finally:
        prefect_logger.removeHandler(caplog.handler)
    captured = capfd.readouterr()
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None

    # Apprise's DEBUG records were captured (so a password in them would have been seen).
    assert any(r.name.startswith("apprise") and r.levelno == logging.DEBUG for r in caplog.records)
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "alerts sent: 1, failed: 1" in logged

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    assert logs and artifacts and task_runs
    api_logs = "\n".join(log.message for log in logs)
    assert "alerts sent: 1, failed: 1" in api_logs

    rows, db_text = database_text(flow_db)
    assert rows > 0 and len(alert_rows(flow_db)) == 2
    masked = row_for(flow_db, refused)
    assert "watcher" in masked.target_label and "****" in masked.target_label and masked.last_error

    places = {
        "stdout": captured.out,
        "stderr": captured.err,
        "log records": logged,
        "flow run": flow_run.model_dump_json(),
        "flow run parameters": json.dumps(flow_run.parameters, default=str),
        "API logs": api_logs,
        "artifacts": "\n".join(a.model_dump_json() for a in artifacts),
        "task runs": "\n".join(t.model_dump_json() for t in task_runs),
        "run summary": repr(summary) + json.dumps(dataclasses.asdict(summary), default=str),
        "run summary failures": "\n".join(summary.failures),
        "database": db_text,
    }
    leaks = [where for where, text in places.items() if CANARY in text]
    assert leaks == [], f"the canary password leaked into: {leaks}"
