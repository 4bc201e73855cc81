"""Mutation testing of the modules that hold the README's promises (issue #19, "Tests that let
bugs through"): mutmut 3 plants one small change at a time (a flipped comparison, `and` for `or`,
a changed constant, a dropped argument) in a module and runs the unit tests that cover it; a
mutant no test fails on "survived". Each survivor is killed by a test or explained in
bench/mutation.md. A bench, never run in CI: one module takes minutes of CPU.

    .venv/bin/python bench/mutation.py                        # the default modules, one at a time
    .venv/bin/python bench/mutation.py --modules canonical windows
    .venv/bin/python bench/mutation.py --list                 # every module it knows and its tests

Each module runs in its own copy of the project under a temporary directory (mutmut writes its
mutants into ./mutants of the directory it runs in; the shared working tree is never touched), with
only that module mutated and only its fast unit-test files as the selection. mutmut forks each
mutant's run from a pytest process that has already imported everything (3 s of CPU per pytest
start here), and runs only the tests that executed the mutated function. Prints a table (module,
mutants, killed, survived, timeout, score) and one JSON line, and writes bench/results/mutation.json
(with the surviving mutants' names; `--show` prints their diffs).

Score = (killed + timeout) / (mutants - not run): a mutant that hangs the tests is caught by the
timeout; one that no selected test executes ("no tests") counts as surviving.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "mutation.json"
COPIED = ("tasks", "storage", "flows", "deploy", "tests", "pyproject.toml")


@dataclass(frozen=True)
class Target:
    """Modules mutated together and the test selection (pytest arguments) that covers them."""

    paths: tuple[str, ...]
    tests: tuple[str, ...]
    # "fork": each mutant's run forks from the process that ran the tests once (fastest). Where
    # the tests start threads (Apprise's senders, local servers), a child forked with their locks
    # held hung until mutmut's timeout and failed: a kill for the wrong reason (render: 50 s a
    # mutant). "forkserver" forks from a process that only collected the tests.
    isolation: str = "fork"
    env: tuple[tuple[str, str], ...] = ()  # set for the tests (e.g. fewer property-test examples)


# The fast ones first: a few seconds of tests each. The others need databases or servers.
TARGETS: dict[str, Target] = {
    "canonical": Target(("tasks/ingest/canonical.py",), ("tests/ingest/test_canonical.py",)),
    "windows": Target(("tasks/common/windows.py",), ("tests/common/test_windows.py",)),
    # test_titles.py's Apprise tests (a real plugin posting to a local receiver) took 8 s a mutant
    # here through the fork server: its pure tests and test_render.py cover the same functions.
    "render": Target(
        ("tasks/alerting/render.py",),
        ("tests/alerting/test_render.py", "tests/alerting/test_titles.py", "-k", "not by_apprise and not a_channel"),
    ),
    "addresses": Target(
        ("tasks/fetching/addresses.py",),
        (
            "tests/fetching/test_addresses.py",
            "tests/fetching/test_fetch_hostile.py",
            "-k",
            "addresses or internal or private or rebinding or allow or classify or ipv4 or host_rule",
        ),
        "forkserver",
    ),
    "minhash": Target(("tasks/stories/minhash.py",), ("tests/stories/test_minhash.py",)),
    # Without the nine tests that wait out a 2 s deadline or decode 200 MiB (each 2-3 s, and every
    # netguard function is run by all of them: 35 s a surviving mutant, 263 mutants). The guard's
    # own tests at the end of the file keep the deadline in a fraction of a second; the survivors
    # in the watchdog were also run against the deadline tests by hand (bench/mutation.md).
    "netguard": Target(
        ("tasks/fetching/netguard.py",),
        (
            "tests/fetching/test_fetch_hostile.py",
            "-k",
            "not dripping and not deadline and not concurrent and not gzip and not https",
        ),
        "forkserver",
    ),
    # fetch() and its parts (redirects, the byte cap, Retry-After, the messages). The same
    # selection as netguard's and for the same reason: every fetch test runs every httpget
    # function, and the nine left out wait out a 2 s deadline or decode 200 MiB (the whole file:
    # 23 s, most of it in those nine). The others take 0.2 s or less each.
    "httpget": Target(
        ("tasks/fetching/httpget.py",),
        (
            "tests/fetching/test_fetch_hostile.py",
            "-k",
            "not dripping and not deadline and not concurrent and not gzip and not https",
        ),
        "forkserver",
    ),
    # The property tests take 150 examples each by default (94 s for tests/query here); 25 keep
    # the whole selection near 20 s. Eleven modules, about 1,400 mutants: --only runs a part.
    "query": Target(("tasks/query/*.py",), ("tests/query",), env=(("QUERY_EXAMPLES", "25"),)),
    "stories": Target(("tasks/stories/assign.py",), ("tests/stories/test_story_rules.py",), "forkserver"),
    # test_delivery.py runs the monitor flow on Prefect's engine (seconds a test, and the harness
    # started again in each forked mutant): test_outbox.py calls the outbox sender directly, on
    # SQLite with real json:// targets, in a fraction of a second a test.
    "delivery": Target(("tasks/alerting/delivery.py",), ("tests/alerting/test_outbox.py",), "forkserver"),
    # On SQLite only, without the memory test (15 s: 5,000 rows of 5 KB) and the two that run the
    # monitor flow under Prefect's harness (40 s a mutant). The other tests page the export
    # (chunk=2), prune in chunks and look tombstones up with small inputs.
    "archive": Target(
        ("storage/archive.py",),
        ("tests/storage/test_archive.py", "-k", "sqlite and not flat_memory"),
        "forkserver",
    ),
    # The outbox's storage side: the claims that keep an alert from being sent twice, the marks,
    # what `newswatch alerts` lists and retries. test_outbox.py (delivery's selection: the sender
    # on SQLite with json:// targets) and the repository tests that call these functions directly,
    # with archive's two export tests (alerts_with_article), on SQLite only: 21 tests, 8 s in all.
    # Left out: the CLI tests of `alerts list/retry` (tests/deploy, test_routing.py: a `newswatch`
    # process each, which mutmut neither times nor traces), test_delivery.py (the monitor flow),
    # test_migrations.py (a schema walk a test). Forkserver: the json:// receivers are threads.
    "outbox": Target(
        ("storage/repository/alerts.py",),
        (
            "tests/alerting/test_outbox.py",
            "tests/storage/test_repository.py",
            "tests/storage/test_judgments.py",
            "tests/storage/test_archive.py::test_export_rows_filters_and_json_safe",
            "tests/storage/test_archive.py::test_export_rows_every_column_and_each_filter_at_its_bound",
            "-k",
            "not postgresql",
        ),
        "forkserver",
    ),
}
DEFAULT = ("canonical", "windows", "render", "addresses", "minhash")


def copy_project(dest: Path) -> None:
    """The project's sources and tests, without caches, into dest (mutmut runs there)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        else:
            shutil.copy2(source, dest / name)


def mutmut_config(target: Target) -> str:
    """The [tool.mutmut] table for one target (appended to the copy's pyproject.toml)."""
    sources = sorted({path.split("/")[0] for path in target.paths})
    also_copy = [name for name in ("tasks", "storage", "flows", "deploy") if name not in sources]
    return (
        "\n[tool.mutmut]\n"
        f"source_paths = {json.dumps(sources)}\n"
        f"only_mutate = {json.dumps(list(target.paths))}\n"
        f"also_copy = {json.dumps(also_copy)}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(list(target.tests))}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "no:randomly"]\n'
        f'process_isolation = "{target.isolation}"\n'
    )


def read_verdicts(workdir: Path) -> dict[str, int | None]:
    """Every mutant's exit code from mutmut's .meta files (None: not run)."""
    verdicts: dict[str, int | None] = {}
    for meta in (workdir / "mutants").rglob("*.py.meta"):
        verdicts.update(json.loads(meta.read_text())["exit_code_by_key"])
    return verdicts


def tally(verdicts: dict[str, int | None]) -> dict[str, Any]:
    """Counts by mutmut's own statuses, and the score."""
    from mutmut.stats import status_by_exit_code

    statuses = {name: status_by_exit_code[code] for name, code in verdicts.items()}
    count = {status: sum(1 for s in statuses.values() if s == status) for status in set(statuses.values())}
    killed = count.get("killed", 0) + count.get("caught by type check", 0)
    timeout = count.get("timeout", 0)
    not_run = count.get("not checked", 0) + count.get("skipped", 0)
    judged = len(verdicts) - not_run
    survived = sorted(name for name, s in statuses.items() if s in ("survived", "no tests", "suspicious"))
    return {
        "mutants": len(verdicts),
        "killed": killed,
        "survived": len(survived),
        "timeout": timeout,
        "not_run": not_run,
        # A mutant that hangs the tests is caught by the timeout: it counts as detected.
        "score": round((killed + timeout) / judged, 3) if judged else None,
        "survivors": survived,
        "statuses": count,
    }


def run_target(
    name: str,
    target: Target,
    keep: bool,
    show: bool,
    max_children: int,
    reuse: Path | None = None,
    only: tuple[str, ...] = (),
) -> dict[str, Any]:
    workdir = reuse or Path(tempfile.mkdtemp(prefix=f"mutation-{name}-"))
    keep = keep or reuse is not None
    try:
        if reuse is None:
            copy_project(workdir)
            with (workdir / "pyproject.toml").open("a") as config:
                config.write(mutmut_config(target))
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COVERAGE_PROCESS_START")}
        env.update(target.env)
        started = time.monotonic()
        cpu = os.times()
        run = subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *only],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
        )
        after = os.times()
        result = tally(read_verdicts(workdir))
        result["wall_s"] = round(time.monotonic() - started, 1)
        children = after.children_user + after.children_system - cpu.children_user - cpu.children_system
        result["cpu_s"] = round(children, 1)
        if run.returncode != 0 or not result["mutants"]:
            result["error"] = (run.stderr or run.stdout).strip().splitlines()[-5:]
        if show:
            for mutant in result["survivors"]:
                show_cmd = [sys.executable, "-m", "mutmut", "show", mutant]
                diff = subprocess.run(show_cmd, cwd=workdir, env=env, capture_output=True, text=True)
                print(f"--- {mutant}\n{diff.stdout}", file=sys.stderr)
        return result
    finally:
        if keep:
            print(f"{name}: mutmut's directory kept at {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [f"{'module':<10} {'mutants':>7} {'killed':>6} {'survived':>8} {'timeout':>7} {'score':>6} {'wall s':>7}"]
    for name, r in results.items():
        score = "-" if r["score"] is None else f"{r['score']:.1%}"
        lines.append(
            f"{name:<10} {r['mutants']:>7} {r['killed']:>6} {r['survived']:>8} {r['timeout']:>7} {score:>6}"
            f" {r['wall_s']:>7}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modules", nargs="+", choices=sorted(TARGETS), default=list(DEFAULT), metavar="NAME")
    parser.add_argument("--list", action="store_true", help="print the modules and their tests, run nothing")
    parser.add_argument("--show", action="store_true", help="print each surviving mutant's diff (stderr)")
    parser.add_argument("--keep", action="store_true", help="keep each module's mutmut directory")
    parser.add_argument("--max-children", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument(
        "--only",
        nargs="+",
        default=[],
        metavar="GLOB",
        help="run only the mutants whose names match (mutmut's names, e.g. 'tasks.query.parser.*'); "
        "the others count as not run, outside the score",
    )
    parser.add_argument(
        "--reuse",
        type=Path,
        metavar="DIR",
        help="a directory kept by --keep (one module): mutmut goes on where it stopped, "
        "only the mutants not yet run are run",
    )
    args = parser.parse_args()
    if args.list:
        for name, target in TARGETS.items():
            print(f"{name:<10} {' '.join(target.paths)}  <-  {' '.join(target.tests)}")
        return 0
    if (args.reuse or args.only) and len(args.modules) != 1:
        parser.error("--reuse and --only take one module (--modules NAME)")
    results: dict[str, dict[str, Any]] = {}
    for name in args.modules:
        target = TARGETS[name]
        results[name] = run_target(name, target, args.keep, args.show, args.max_children, args.reuse, tuple(args.only))
        print(f"{name}: {results[name]['killed']}/{results[name]['mutants']} killed", file=sys.stderr, flush=True)
    print(table(results))
    for name, r in results.items():
        for mutant in r["survivors"]:
            print(f"  survived: {mutant}")
        if "error" in r:
            print(f"  {name}: mutmut failed: " + " | ".join(r["error"]))
    summary = {"tool": "mutmut " + _mutmut_version(), "modules": results}
    print(json.dumps(summary))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous.setdefault("modules", {}).update(results)
    previous["tool"] = summary["tool"]
    RESULTS.write_text(json.dumps(previous, indent=2) + "\n")
    return 1 if any("error" in r for r in results.values()) else 0


def _mutmut_version() -> str:
    from importlib.metadata import version

    return version("mutmut")


if __name__ == "__main__":
    sys.exit(main())
