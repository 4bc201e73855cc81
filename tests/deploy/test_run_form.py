"""What the Prefect UI shows of the served deployments, without a server (issue #19 items 1, 4):
the monitor's Run form offers the config's sources (names and tags) and topics, "all" by
default, with no None variant; names typed in still work; the entrypoints are relative to the
project wherever `newswatch serve` starts. tests/deploy/test_ui.py drives the same form in Chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.helpers import write_config

TOPICS = (
    '  - name: human-trafficking\n    terms: ["human traffickers"]\n'
    '  - name: water-festival\n    terms: ["Water Festival"]\n'
)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """build_deployments on a config of two sources (tags cambodia, test) and two topics, called
    from a folder outside the project."""
    from deploy.serve import build_deployments
    from tasks.config import load_settings

    src, wl = write_config(
        tmp_path, [("Mekong Daily", "https://m.example/rss"), ("VOD", "https://v.example/rss")], TOPICS
    )
    Path(src).write_text(Path(src).read_text().replace("tags: [test]", "tags: [test, cambodia]", 1))
    monkeypatch.setenv("NEWSWATCH_SOURCES_FILE", src)
    monkeypatch.setenv("NEWSWATCH_WATCHLIST_FILE", wl)
    elsewhere = tmp_path / "some" / "other" / "folder"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    return build_deployments(load_settings())


def schema_of(deployment: Any) -> dict[str, Any]:
    """The parameter schema as the server stores it and the UI reads it."""
    return json.loads(json.dumps(deployment._parameter_openapi_schema.model_dump()))


def test_the_run_form_offers_the_configs_sources_and_topics(served: list[Any]) -> None:
    schema = schema_of(served[0])
    props = schema["properties"]
    assert "null" not in json.dumps(schema)  # no None toggle, no "Property is type None"
    picked, typed = props["sources"]["anyOf"]
    assert picked["items"]["enum"] == ["all", "Mekong Daily", "VOD", "cambodia", "test"]
    assert props["topics"]["anyOf"][0]["items"]["enum"] == ["all", "human-trafficking", "water-festival"]
    assert props["sources"]["default"] == props["topics"]["default"] == ["all"]
    assert typed == {"title": "typed", "type": "array", "items": {"type": "string"}}
    assert props["sources_file"]["type"] == props["watchlist_file"]["type"] == "string"
    assert "sources.yaml" in props["sources_file"]["description"]
    assert [props[p]["position"] for p in ("sources", "topics", "dry_run", "force")] == [0, 1, 2, 3]
    # What the server checks a Custom run's parameters against (enforce_parameter_schema).
    for parameters in ({"topics": ["water-festival"]}, {"sources": ["cambodia", "VOD"]}, {"sources": ["new-one"]}):
        jsonschema.validate(parameters, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"topics": None}, schema)
    digest = schema_of(served[1])  # the digest's form: its topics and watchlist the same way
    assert "null" not in json.dumps(digest) and set(digest["properties"]) == {"topics", "force", "watchlist_file"}
    assert digest["properties"]["topics"]["anyOf"][0]["items"]["enum"] == ["all", "human-trafficking", "water-festival"]


def test_all_means_every_source_and_topic() -> None:
    from tasks.config import SourceSpec, TopicSpec, select_sources, select_topics

    sources = (
        SourceSpec(name="A", url="https://a.example/rss", tags=("x",)),
        SourceSpec(name="B", url="https://b.example/rss"),
    )
    topics = (TopicSpec(name="t1", terms=["a"]), TopicSpec(name="t2", terms=["b"]))
    assert [s.name for s in select_sources(sources, ["all"])] == ["A", "B"]
    assert [s.name for s in select_sources(sources, ["x", "All"])] == ["A", "B"]
    assert [t.name for t in select_topics(topics, ["all"])] == ["t1", "t2"]
    assert [t.name for t in select_topics(topics, ["t2"])] == ["t2"]


def test_entrypoints_are_relative_to_the_project_wherever_serve_starts(served: list[Any]) -> None:
    monitor, digest = served
    assert (monitor.entrypoint, digest.entrypoint) == ("flows/monitor.py:monitor", "flows/digest.py:digest")
    from deploy.serve import PROJECT

    assert (PROJECT / "flows" / "monitor.py").is_file() and monitor._path == str(PROJECT)


def test_a_config_that_cannot_be_read_gives_the_typed_form_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A deployment made where the config cannot be read (a path of the worker's, a file being
    edited) still gets a form without None toggles: the typed lists, and a warning saying why."""
    from prefect.utilities.callables import parameter_schema

    from flows.monitor import monitor

    monkeypatch.setenv("NEWSWATCH_SOURCES_FILE", str(tmp_path / "absent.yaml"))
    bad = tmp_path / "watchlist.yaml"
    bad.write_text("topics:\n  - name: x\n    colour: red\n")
    monkeypatch.setenv("NEWSWATCH_WATCHLIST_FILE", str(bad))
    props = json.loads(json.dumps(parameter_schema(monitor).model_dump()))["properties"]
    for name in ("sources", "topics"):
        assert props[name]["type"] == "array" and "anyOf" not in props[name] and props[name]["default"] == ["all"]
    assert "absent.yaml" in caplog.text and "sources typed only" in caplog.text
    assert "topics typed only" in caplog.text and "unknown key" in caplog.text
