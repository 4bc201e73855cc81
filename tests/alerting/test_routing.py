"""Routing by tag, digests (daily, and the overflow of max_per_hour), quiet hours, urgent
topics, and the alerts CLI (dead letters, retry) — through the real flows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import get_engine
from storage.models import Alert
from tests.helpers import BORDER_STORIES, TaggedTargets, border_news, cli, run_digest, run_monitor, write_config
from tests.newsweb import TRAFFICKING_TITLE, NewsWeb, article_page, rss
from tests.receivers import JsonReceiver

pytestmark = pytest.mark.usefixtures("prefect_harness")


def titles(receiver: JsonReceiver) -> list[str]:
    return [p["title"] for p in receiver.posts]


def test_topics_go_to_the_targets_their_tags_name(web: NewsWeb, tmp_path: Path, tagged_targets: TaggedTargets) -> None:
    feed = border_news(web, BORDER_STORIES[:1])
    src, wl = write_config(
        tmp_path,
        [("Border News", feed)],
        ("  - {name: bondage, terms: [debt bondage], notify: [legal]}\n  - {name: everything, terms: [workers]}\n"),
    )
    with JsonReceiver() as analysts, JsonReceiver() as legal:
        tagged_targets({"analysts": analysts, "legal": legal})
        summary = run_monitor(src, wl)
        assert summary.matches == 2 and summary.alerts_sent == 3
        assert sorted(t.split(":")[0] for t in titles(legal)) == ["[newswatch] bondage", "[newswatch] everything"]
        assert [t.split(":")[0] for t in titles(analysts)] == ["[newswatch] everything"]


def test_daily_digest_lists_the_stories_once(web: NewsWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feed = border_news(web, BORDER_STORIES)
    src, wl = write_config(
        tmp_path,
        [("Border News", feed)],
        "  - {name: abuse, terms: [debt bondage, forced labour], mode: daily}\n",
        head='digest:\n  time: "00:00"\n  timezone: Asia/Phnom_Penh\n',
    )
    with JsonReceiver() as hook:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
        summary = run_monitor(src, wl)
        assert summary.matches == 2 and summary.alerts_sent == 0 and hook.posts == []  # waits for the digest
        report = run_digest(wl)
        assert (report.digests, report.stories) == (1, 2) and len(hook.posts) == 1
        post = hook.posts[0]
        assert post["title"] == "[newswatch] abuse: 2 stories (daily digest)"
        assert all(title in post["message"] for title, _ in BORDER_STORIES)
        assert run_digest(wl).digests == 0 and len(hook.posts) == 1  # nothing waiting, nothing sent

        web.add(
            "/s/9",
            article_page(
                "Third case of debt bondage reported",
                [
                    "A third case of debt bondage was reported in the province on Friday, officials said, as the "
                    "investigation into the recruitment network widened to two more districts."
                ],
                "Border News",
            ),
        )
        items = [{"title": "Third case of debt bondage reported", "link": web.url("/s/9"), "guid": "g9"}]
        web.add("/feed.xml", rss("Border News", web.url("/"), items), "application/rss+xml")
        assert run_monitor(src, wl, force=True).matches == 1
        assert run_digest(wl).digests == 0  # today's digest has gone out: the next one is tomorrow
        forced = run_digest(wl, force=True)
        assert forced.stories == 1 and len(hook.posts) == 2 and "1 story" in hook.posts[1]["title"]


def test_all_topics_of_a_digest_include_those_removed_since(
    web: NewsWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digest deployment's Run form defaults to topics ["all"] (issue #19 item 1): it is
    every waiting digest, as with no topics named, even of a topic no longer in the watchlist."""
    feed = border_news(web, BORDER_STORIES[:1])
    src, wl = write_config(tmp_path, [("Border News", feed)], "  - {name: abuse, terms: [debt bondage], mode: daily}\n")
    with JsonReceiver() as hook:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
        assert run_monitor(src, wl).matches == 1 and hook.posts == []
        write_config(tmp_path, [("Border News", feed)], "  - {name: other, terms: [rice], mode: daily}\n")
        assert run_digest(wl, topics=["all"], force=True).digests == 1
    assert [p["title"].split(" (")[0] for p in hook.posts] == ["[newswatch] abuse: 1 story"]


def test_max_per_hour_rolls_the_excess_into_the_next_digest(
    web: NewsWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = border_news(web, BORDER_STORIES)
    src, wl = write_config(
        tmp_path, [("Border News", feed)], "  - {name: abuse, terms: [debt bondage, forced labour], max_per_hour: 1}\n"
    )
    with JsonReceiver() as hook:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
        summary = run_monitor(src, wl)
        assert summary.matches == 2 and summary.alerts_sent == 1 and len(hook.posts) == 1
        report = run_digest(wl)
        assert report.stories == 1 and len(hook.posts) == 2
        assert hook.posts[1]["title"] == "[newswatch] abuse: 1 story (hourly digest)"


def test_quiet_hours_hold_alerts_except_urgent_topics(
    web: NewsWeb, tmp_path: Path, home_db: str, tagged_targets: TaggedTargets
) -> None:
    feed = border_news(web, BORDER_STORIES)
    now = datetime.now(UTC)
    # 22:00-07:00 in the fixed-offset zone where it is 23:xx now: the window always crosses midnight
    # and holds, whatever the time of day the test runs (Etc/GMT-N is UTC+N; N from -1 to 23-1).
    offset = (23 - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    zone = f"Etc/GMT{-offset:+d}" if offset else "UTC"
    src, wl = write_config(
        tmp_path,
        [("Border News", feed)],
        "  - {name: bondage, terms: [debt bondage]}\n  - {name: labour, terms: [forced labour], urgent: true}\n",
        head=f'targets:\n  - tag: night\n    quiet: "22:00-07:00 {zone}"\n',
    )
    with JsonReceiver() as hook:
        tagged_targets({"night": hook})
        summary = run_monitor(src, wl)
        assert summary.matches == 2 and summary.alerts_sent == 1
        assert [t.split(":")[0] for t in titles(hook)] == ["[newswatch] labour"]  # urgent goes through
        with get_engine(home_db).connect() as conn:
            held = conn.execute(select(Alert).where(Alert.topic == "bondage")).one()
        assert held.status == "pending" and held.attempts == 0
        wait = (held.next_attempt_at.replace(tzinfo=UTC) - now).total_seconds()
        assert 7 * 3600 - 60 < wait <= 8 * 3600 + 60  # from 23:xx to 07:00 the next morning, local time


def test_dead_letters_and_retry_from_the_cli(web: NewsWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feed = border_news(web, BORDER_STORIES[:1])
    src, wl = write_config(tmp_path, [("Border News", feed)], "  - {name: bondage, terms: [debt bondage]}\n")
    hook = JsonReceiver()  # down
    monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
    monkeypatch.setenv("NEWSWATCH_ALERT_MAX_ATTEMPTS", "1")
    summary = run_monitor(src, wl)
    assert summary.alerts_failed == 1 and summary.alerts_pending == 0
    env = {
        "NEWSWATCH_HOME": str(tmp_path / "home"),
        "NEWSWATCH_NOTIFY": hook.apprise_url(),
        "NEWSWATCH_WATCHLIST_FILE": wl,
    }
    listed = cli(["alerts", "list", "--status", "dead", "--json"], env, timeout=60)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 1 and rows[0]["status"] == "dead" and rows[0]["attempts"] == 1
    assert "Connection" in rows[0]["last_error"] and rows[0]["title"] == BORDER_STORIES[0][0]
    with hook:
        retried = cli(["alerts", "retry"], env, timeout=60)
        assert retried.returncode == 0, retried.stderr + retried.stdout
        assert "1 alert(s) back in the queue" in retried.stdout and "sent 1" in retried.stdout
        assert len(hook.posts) == 1 and BORDER_STORIES[0][0] in hook.posts[0]["title"]
    table = cli(["alerts"], env, timeout=60)
    assert table.returncode == 0 and "sent" in table.stdout and TRAFFICKING_TITLE not in table.stdout


def test_targets_from_a_prefect_secret_block(web: NewsWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.blocks.system import Secret

    feed = border_news(web, BORDER_STORIES[:1])
    src, wl = write_config(tmp_path, [("Border News", feed)], "  - {name: bondage, terms: [debt bondage]}\n")
    with JsonReceiver() as hook:
        Secret(value=f"urls:\n  - {hook.apprise_url()}:\n    - tag: analysts\n").save(
            "newswatch-apprise-test", overwrite=True
        )
        monkeypatch.setenv("NEWSWATCH_APPRISE_SECRET_BLOCK", "newswatch-apprise-test")
        assert run_monitor(src, wl).alerts_sent == 1 and len(hook.posts) == 1


def test_a_failed_run_tells_ops(tmp_path: Path, tagged_targets: TaggedTargets) -> None:
    from tasks.config import ConfigError

    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - name: a\n    url: nope\n")
    wl = tmp_path / "watchlist.yaml"
    wl.write_text("topics:\n  - {name: t, terms: [x]}\n")
    with JsonReceiver() as ops, JsonReceiver() as analysts:
        tagged_targets({"ops": ops, "analysts": analysts})
        with pytest.raises(ConfigError):
            run_monitor(str(bad), str(wl))
        assert len(ops.posts) == 1 and analysts.posts == []
        assert ops.posts[0]["title"].startswith("[newswatch] monitor run failed: ")
        assert "sources[0].url: invalid URL 'nope'" in ops.posts[0]["message"]


def test_a_target_that_fails_is_not_tried_again_in_the_same_run(
    web: NewsWeb, tmp_path: Path, home_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = border_news(web, BORDER_STORIES)
    src, wl = write_config(
        tmp_path, [("Border News", feed)], "  - {name: abuse, terms: [debt bondage, forced labour]}\n"
    )
    down = JsonReceiver()  # refuses: the first alert fails, the second waits for the next run untried
    monkeypatch.setenv("NEWSWATCH_NOTIFY", down.apprise_url())
    summary = run_monitor(src, wl)
    assert summary.matches == 2 and summary.alerts_failed == 1 and summary.alerts_pending == 2
    with get_engine(home_db).connect() as conn:
        attempts = sorted(conn.execute(select(Alert.attempts)).scalars())
    assert attempts == [0, 1]
