"""The Run form of deployments made with `prefect deploy` (deploy/prefect.yaml; issue #19 item
1): Prefect's CLI takes the form from the flow's signature, so it must be the form `newswatch
serve` gives: the config's sources and topics to pick from, "all" by default, names typed in, no
None toggle; `prefect deploy` run again after the config changed refreshes the lists. Deployed to
a real Prefect server with Prefect's own CLI, the schema read back through Prefect's client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.conftest import TEST_ENV
from tests.deploy.server import client_env, prefect
from tests.helpers import ROOT, write_config

TOPICS = '  - name: human-trafficking\n    terms: ["human traffickers"]\n'
FORM_PARAMETERS = ("sources", "topics", "sources_file", "watchlist_file")


def deployed_schemas(api: str) -> dict[str, dict[str, Any]]:
    """Each deployment's parameter_openapi_schema, as the server keeps it for the UI."""
    with temporary_settings(updates={PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        return {
            name: client.read_deployment_by_name(name).parameter_openapi_schema or {}
            for name in ("monitor/monitor", "digest/digest")
        }


def nullable(prop: dict[str, Any]) -> bool:
    """The property offers None (the UI's `list | None` toggle, "Property is type None")."""
    return "null" in json.dumps(prop)


def test_prefect_deploy_gives_the_config_run_form_and_refreshes_it(prefect_server: str, tmp_path: Path) -> None:
    src, wl = write_config(tmp_path, [("Mekong Daily", "https://m.example/rss")], TOPICS)
    # `prefect deploy` with the settings its operator works with (here, the environment).
    env = client_env(
        prefect_server, tmp_path, PWD=str(ROOT), NEWSWATCH_SOURCES_FILE=src, NEWSWATCH_WATCHLIST_FILE=wl, **TEST_ENV
    )
    prefect(["work-pool", "create", "newswatch", "--type", "process"], env)
    prefect(["--no-prompt", "deploy", "--all", "--prefect-file", "deploy/prefect.yaml"], env)

    schemas = deployed_schemas(prefect_server)
    monitor, digest = schemas["monitor/monitor"]["properties"], schemas["digest/digest"]["properties"]
    for name in FORM_PARAMETERS:
        assert not nullable(monitor[name]), (name, monitor[name])
    assert not nullable(digest["topics"]) and not nullable(digest["watchlist_file"])
    picked, typed = monitor["sources"]["anyOf"]
    assert picked["items"]["enum"] == ["all", "Mekong Daily", "test"]
    assert typed == {"title": "typed", "type": "array", "items": {"type": "string"}}
    assert monitor["topics"]["anyOf"][0]["items"]["enum"] == ["all", "human-trafficking"]
    assert monitor["sources"]["default"] == monitor["topics"]["default"] == ["all"]
    assert monitor["sources_file"]["type"] == monitor["watchlist_file"]["type"] == "string"
    assert [monitor[p]["position"] for p in ("sources", "topics", "dry_run", "force")] == [0, 1, 2, 3]
    assert digest["topics"]["anyOf"][0]["items"]["enum"] == ["all", "human-trafficking"]

    # The operator adds a source and a topic, and deploys again: the lists follow.
    write_config(
        tmp_path,
        [("Mekong Daily", "https://m.example/rss"), ("VOD", "https://v.example/rss")],
        TOPICS + '  - name: water-festival\n    terms: ["Water Festival"]\n',
    )
    prefect(["--no-prompt", "deploy", "--all", "--prefect-file", "deploy/prefect.yaml"], env)
    schemas = deployed_schemas(prefect_server)
    monitor = schemas["monitor/monitor"]["properties"]
    assert monitor["sources"]["anyOf"][0]["items"]["enum"] == ["all", "Mekong Daily", "VOD", "test"]
    assert monitor["topics"]["anyOf"][0]["items"]["enum"] == ["all", "human-trafficking", "water-festival"]
    assert schemas["digest/digest"]["properties"]["topics"]["anyOf"][0]["items"]["enum"] == [
        "all",
        "human-trafficking",
        "water-festival",
    ]


def test_the_flow_definition_reads_no_config() -> None:
    """Prefect builds the schema at `@flow` too, in every process that imports the flow (each flow
    run's): there the form is the typed list, and the config is not read (a run reads it itself)."""
    from flows.monitor import monitor

    assert "enum" not in json.dumps(monitor.parameters.model_dump())
    assert monitor.parameters.properties["sources"]["default"] == ["all"]
    assert not nullable(monitor.parameters.properties["sources"])
