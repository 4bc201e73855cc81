"""The README is the front door: its commands, config examples and settings must work."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main

from deploy.cli import app
from tasks.alerting import load_senders
from tasks.config import Settings, load_sources, load_watchlist

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def example(name: str) -> str:
    found = re.search(rf"<!-- example: {name} -->\n```\w+\n(.*?)```", README, flags=re.S)
    assert found, f"README has no example block {name!r}"
    return found.group(1)


def test_quick_start_commands_exist() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#")[0].strip() for line in blocks("bash")[0].splitlines() if line.strip()]
    assert commands == ["make run", "make test"] and "make run" in quick
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: .*\n\t\$\(BIN\)/newswatch run$", makefile, flags=re.M)
    assert re.search(r"^test: .*\n\t\$\(BIN\)/pytest -n 2 --dist loadfile$", makefile, flags=re.M)  # two workers
    assert "make test" in (ROOT / ".ci" / "run").read_text()  # CI runs the README's test command


def test_config_examples_are_valid(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(example("sources"))
    (tmp_path / "w.yaml").write_text(example("watchlist"))
    assert len(load_sources(tmp_path / "s.yaml").sources) == 4
    topic = load_watchlist(tmp_path / "w.yaml").topics[0]
    assert topic.name == "human-trafficking" and "traffick*" in topic.terms


def targets(notify: str | None = None, apprise_config: Path | None = None) -> list[set[str]]:
    """The tags of each Apprise target that these notifier settings alone give (load_senders)."""
    settings = Settings(notify=notify, apprise_config=apprise_config, apprise_secret_block=None)
    return [sender.tags for sender in load_senders(settings)]


def test_notifier_examples_are_accepted_by_apprise() -> None:
    urls = re.findall(r'export NEWSWATCH_NOTIFY="([^"]+)"', example("env"))
    assert len(urls) == 2
    for value in urls:
        assert len(targets(notify=value)) == len(value.split(","))


def test_documented_settings_exist_and_all_settings_are_documented() -> None:
    documented = set(re.findall(r"`NEWSWATCH_([A-Z_]+)`", README)) - {"TEST_PG"}
    fields = {name.upper() for name in Settings.model_fields}
    assert documented == fields


def newswatch_commands() -> list[str]:
    lines = [line.split("  #")[0].strip() for block in blocks("bash") for line in block.splitlines()]
    return [line for line in lines if line.startswith("newswatch ")]


@pytest.mark.parametrize("line", newswatch_commands())
def test_readme_commands_parse(line: str) -> None:
    """Each `newswatch ...` line in the README names a real command with real options."""
    group = typer.main.get_command(app)
    words = shlex.split(line.split(" > ")[0])[1:]  # a shell redirection is not the command's
    command = group.commands[words[0]]  # type: ignore[attr-defined]
    command.make_context(words[0], words[1:], parent=None)  # parses and validates; runs nothing


def test_parameters_table_matches_the_flow() -> None:
    from flows.monitor import monitor

    table = README.split("## Operating it from the Prefect UI", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)? \|", table, flags=re.M))
    names = {n for pair in documented for n in pair if n}
    assert names == set(monitor.parameters.properties)


def test_apprise_config_example_has_an_ops_target(tmp_path: Path) -> None:
    (tmp_path / "apprise.yaml").write_text(example("apprise"))
    assert [sorted(tags) for tags in targets(apprise_config=tmp_path / "apprise.yaml")] == [["analysts"], ["ops"]]


def all_commands() -> list[list[str]]:
    group = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(command, path: list[str]) -> None:  # type: ignore[no-untyped-def]
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(group, [])
    return found


@pytest.mark.parametrize("path", all_commands(), ids=lambda p: " ".join(p) or "newswatch")
def test_every_command_has_help_with_an_example(path: list[str]) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    group = typer.main.get_command(app)
    command = group
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    if not getattr(command, "commands", None):  # a leaf command: its help shows an example
        assert "Example" in (command.help or ""), f"newswatch {' '.join(path)} --help has no example"


def test_every_readme_command_group_is_documented() -> None:
    """Every top-level command appears in the README."""
    for name in typer.main.get_command(app).commands:  # type: ignore[attr-defined]
        assert f"newswatch {name}" in README, f"newswatch {name} is not in the README"


def test_source_kinds_example_is_valid(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(example("source-kinds"))
    sources = load_sources(tmp_path / "s.yaml").sources
    assert [s.kind for s in sources] == ["feed", "sitemap", "page", "page"]
    assert sources[2].page is not None and sources[2].page.item_uri == ".//h2/a/@href" and sources[3].page.css  # type: ignore[union-attr]
