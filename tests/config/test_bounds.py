"""Config that expands or overflows (issue #19 item 17): everything is bounded when a file is
loaded (alias expansion, nesting depth, size, durations, field lengths), so that what `check`
accepts, `run` runs. Each refusal is one message naming the file and, where there is one, the
line and the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from tasks.common.interval import parse_interval
from tasks.config import ConfigError, load_sources, load_watchlist
from tests.helpers import cli, run_monitor
from tests.newsweb import NewsWeb, build_site

SOURCE = "sources:\n  - name: a\n    url: https://x.example/rss\n"


def refused(load: Callable[[Path], object], path: Path, text: str) -> str:
    """The ConfigError message of loading `text` written at `path`."""
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load(path)
    return str(exc.value)


def alias_bomb(depth: int = 8) -> str:
    """A ~400-byte YAML whose last anchor expands to 9**depth scalars ("billion laughs")."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, depth):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(20)  # unbounded, the error-line lookup expands the aliases: minutes and gigabytes
@pytest.mark.parametrize("where", ["    junk: *a7\n", "    tags: *a7\n"])
def test_alias_expansion_is_bounded(tmp_path: Path, where: str) -> None:
    text = alias_bomb() + SOURCE + where
    assert len(text) < 600
    message = refused(load_sources, tmp_path / "s.yaml", text)
    assert message.startswith(f"{tmp_path / 's.yaml'}: YAML aliases expand to more than")


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("common: &tags [cambodia, english]\n" + SOURCE + "    tags: *tags\n")
    with pytest.raises(ConfigError, match=r"unknown key"):  # the anchor's holder, not the alias
        load_sources(path)
    second = "  - name: b\n    url: https://y.example/\n    tags: *tags\n"
    path.write_text(SOURCE + "    tags: &tags [cambodia, english]\n" + second)
    assert [s.tags for s in load_sources(path).sources] == [("cambodia", "english")] * 2


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    message = refused(load_sources, tmp_path / "s.yaml", SOURCE + "    tags: &t [a, *t]\n")
    assert "refers to itself" in message


@pytest.mark.parametrize("depth", [40, 990])
def test_nesting_depth_is_bounded(tmp_path: Path, depth: int) -> None:
    text = SOURCE + "    junk: " + "[" * depth + "]" * depth + "\n"
    message = refused(load_sources, tmp_path / "s.yaml", text)
    assert message == f"{tmp_path / 's.yaml'}:4: YAML nested deeper than 32 levels"


def test_file_size_is_bounded(tmp_path: Path) -> None:
    message = refused(load_sources, tmp_path / "s.yaml", SOURCE + "# " + "x" * (4 * 1024 * 1024) + "\n")
    assert message == f"{tmp_path / 's.yaml'}: larger than 4 MiB: not a config file"


SOURCE_FIELDS = {
    "interval": ("    interval: 9999999d\n", ":4: sources[0].interval: interval '9999999d' is over 365 days"),
    "interval digits": ("    interval: " + "9" * 5000 + "s\n", ":4: sources[0].interval: interval '99999"),
    "language": ("    language: " + "x" * 30 + "\n", ":4: sources[0].language: 'xxxxxx"),
    "language code": ("    language: english please\n", ":4: sources[0].language: 'english please' is not a language"),
    "tag": ("    tags: [" + "t" * 101 + "]\n", ":4: sources[0].tags[0]: String should have at most 100 characters"),
}


@pytest.mark.parametrize("case", SOURCE_FIELDS.values(), ids=SOURCE_FIELDS.keys())
def test_source_fields_are_bounded(tmp_path: Path, case: tuple[str, str]) -> None:
    line, expected = case
    assert expected in refused(load_sources, tmp_path / "s.yaml", SOURCE + line)


def test_long_url_is_refused(tmp_path: Path) -> None:
    text = "sources:\n  - name: a\n    url: https://x.example/" + "p" * 5000 + "\n"
    message = refused(load_sources, tmp_path / "s.yaml", text)
    assert ":3: sources[0].url: URL of 5018 characters: at most 4096" in message


TOPIC = "topics:\n  - name: t\n    terms: [trafficking]\n"
TOPIC_FIELDS = {
    "max_per_hour": ("    max_per_hour: 100000000000000000000\n", ":4: topics[0].max_per_hour: Input should be less"),
    "term": ("    exclude: [" + "w" * 201 + "]\n", ":4: topics[0].exclude: term of 201 characters: at most 200"),
    "group term": ("    groups: {g: [" + "w" * 201 + "]}\n", ":4: topics[0].groups.g.terms[0]: term of 201 characters"),
    "query": ("    query: " + "a OR " * 5000 + "b\n", ":4: topics[0].query: String should have at most 20000"),
    "description": ("    description: " + "d" * 5000 + "\n", ":4: topics[0].description: String should have at"),
}


@pytest.mark.parametrize("case", TOPIC_FIELDS.values(), ids=TOPIC_FIELDS.keys())
def test_topic_fields_are_bounded(tmp_path: Path, case: tuple[str, str]) -> None:
    line, expected = case
    assert expected in refused(load_watchlist, tmp_path / "w.yaml", TOPIC + line)


def test_durations_are_bounded() -> None:
    assert parse_interval("365d") == timedelta(days=365)
    for text in ("366d", "9999999d", "9" * 5000 + "s"):
        with pytest.raises(ValueError, match="is over 365 days"):
            parse_interval(text)
    assert parse_interval("36500d", maximum=timedelta(days=36500)) == timedelta(days=36500)


@pytest.mark.parametrize(
    "args",
    [
        ["stories", "--since", "999999d"],
        ["search", "trafficking", "--since", "999999d"],
        ["prune", "--older-than", "999999d"],
    ],
    ids=lambda a: a[0],
)
def test_huge_durations_on_the_command_line_are_one_line(args: list[str]) -> None:
    result = cli(args, {}, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "is over" in result.stderr


def test_check_refuses_what_would_break_the_run_in_one_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text(SOURCE + "    junk: " + "[" * 990 + "]" * 990 + "\n")
    result = cli(["check", "--sources", str(deep)], {}, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert f"{deep}:4: YAML nested deeper than 32 levels" in result.stderr


@pytest.mark.usefixtures("prefect_harness")
def test_what_check_accepts_at_the_bounds_runs(flow_db: str, web: NewsWeb, tmp_path: Path) -> None:
    """A source at every bound (a 200-character name, a 20-character language tag, the longest
    interval) passes the loader and runs on both backends."""
    site = build_site(web)
    src, wl = tmp_path / "s.yaml", tmp_path / "w.yaml"
    src.write_text(
        f"sources:\n  - name: {'N' * 200}\n    url: {site['feed']}\n    tags: [{'t' * 100}]\n"
        "    language: zh-Hant-TW-x-abcdefg\n    interval: 365d\n"
    )
    wl.write_text(TOPIC)
    assert len(load_sources(src).sources[0].language or "") == 20
    summary = run_monitor(str(src), str(wl), force=True)
    assert summary.sources_ok == 1 and summary.sources_failed == 0 and summary.new_articles >= 3


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("STORY_WINDOW_DAYS", "99999999", "NEWSWATCH_STORY_WINDOW_DAYS: Input should be less than or equal to 3650"),
        ("DEFAULT_INTERVAL", "9999999d", "NEWSWATCH_DEFAULT_INTERVAL: interval '9999999d' is over 365 days"),
        ("ALERT_CLAIM_LEASE", "1e300", "NEWSWATCH_ALERT_CLAIM_LEASE: Input should be less than or equal to 86400"),
        ("BATCH_SIZE", "abc", "NEWSWATCH_BATCH_SIZE: Input should be a valid integer"),
    ],
)
def test_settings_are_bounded(monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str) -> None:
    from tasks.config import load_settings

    monkeypatch.setenv(f"NEWSWATCH_{name}", value)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert str(exc.value).startswith(expected)


def test_a_bad_setting_is_one_line_exit_2() -> None:
    result = cli(["check"], {"NEWSWATCH_STORY_WINDOW_DAYS": "abc"}, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    reason = "Input should be a valid integer, unable to parse string as an integer"
    assert result.stderr.strip() == f"config error NEWSWATCH_STORY_WINDOW_DAYS: {reason}"
