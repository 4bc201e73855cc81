"""`newswatch run` without a Prefect server, on a busy machine (issue #18 part 1).

    .venv/bin/python bench/cli_start.py [--runs 20] [--idle-runs 5] [--load 2] [--ephemeral-runs 0]

Runs `newswatch run` on the example config (deploy/sources.yaml and watchlist.yaml; offline every
source fails at once and then waits out its backoff, so after the first these are quiet runs) --runs
times in a row, each in a new process with no PREFECT_API_URL and one Prefect home, while --load
processes spin in a Python loop (default: one per core); then --idle-runs more without the load.
--ephemeral-runs N also times N runs of the monitor flow through Prefect's temporary server, the way
`newswatch run` went before (`python -c "from flows.monitor import monitor; monitor()"`), under
the same load. Reports failures (runs that did not complete: an exit code other than 0, 4 or 5,
with the line saying why) and the median wall time, the machine reference (bench/reference.py) and
the median in reference loops. Prints a table and one JSON line, writes bench/results/cli_start.json.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reference import in_loops, machine_reference, reference_line, write_results  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "cli_start.json"
# Exit codes of a run that completed (README "Exit codes"): 4, every source it fetched failed (the
# example config offline), 5, alerts not delivered. Anything else is a run that did not complete.
COMPLETED = {0, 4, 5}
NEWSWATCH = [sys.executable, "-m", "deploy.cli", "run"]
EPHEMERAL = [sys.executable, "-c", "from flows.monitor import monitor; monitor()"]


def spin() -> None:  # pragma: no cover - the load, killed by the parent
    x = 0
    while True:
        x += 1


@contextmanager
def busy(processes: int) -> Iterator[None]:
    """`processes` processes each keeping a core busy."""
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(processes)]
    for p in spinners:
        p.start()
    try:
        yield
    finally:
        for p in spinners:
            p.terminate()
            p.join()


def environment(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSWATCH_"))}
    env.update(
        PREFECT_HOME=str(work / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        NEWSWATCH_HOME=str(work / "home"),
        NEWSWATCH_DATABASE_URL=f"sqlite:///{work / 'newswatch.db'}",
    )
    return env


def timed(command: list[str], env: dict[str, str], runs: int) -> list[dict[str, Any]]:
    """Each run's wall time, exit code and, when it failed, its last stderr line."""
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - started
        results.append({"wall_s": round(wall, 2), "rc": done.returncode, "error": failure(done)})
    return results


def failure(done: subprocess.CompletedProcess[str]) -> str:
    """The line that says why a run failed: the last naming an error, else the last one."""
    if done.returncode in COMPLETED:
        return ""
    lines = done.stderr.strip().splitlines() or [""]
    named = [line for line in lines if "Error" in line or "error" in line or "failed" in line]
    return (named or lines)[-1][:300]


def summary(runs: list[dict[str, Any]], ref: dict[str, Any]) -> dict[str, Any]:
    walls = [r["wall_s"] for r in runs]
    failures = [r for r in runs if r["rc"] not in COMPLETED]
    codes = [r["rc"] for r in runs]
    median = statistics.median(walls) if walls else 0.0
    return {
        "runs": len(runs),
        "failures": len(failures),
        "exit_codes": {str(c): codes.count(c) for c in sorted(set(codes))},
        "failure_lines": sorted({r["error"] for r in failures}),
        "median_wall_s": round(median, 2),
        "max_wall_s": max(walls, default=0.0),
        "median_in_loops": round(in_loops(median, ref), 1),
        "walls_s": walls,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        reference_line(result["reference"]),
        f"{'phase':<28} {'runs':>5} {'failures':>9} {'median s':>9} {'max s':>7} {'median/loop':>12}",
    ]
    for phase in ("loaded", "idle", "ephemeral_loaded"):
        s = result.get(phase)
        if s and s["runs"]:
            lines.append(
                f"{phase:<28} {s['runs']:>5} {s['failures']:>9} {s['median_wall_s']:>9.2f} "
                f"{s['max_wall_s']:>7.2f} {s['median_in_loops']:>12.1f}"
            )
            lines += [f"    failed: {line}" for line in s["failure_lines"]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="newswatch runs under load")
    parser.add_argument("--idle-runs", type=int, default=5, help="newswatch runs without the load")
    parser.add_argument("--load", type=int, default=os.cpu_count() or 2, help="busy processes")
    parser.add_argument("--ephemeral-runs", type=int, default=0, help="runs through Prefect's temporary server")
    args = parser.parse_args()
    reference = machine_reference()
    result: dict[str, Any] = {"reference": reference, "load_processes": args.load, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="nw-cli-start-") as tmp:
        env = environment(Path(tmp))
        with busy(args.load):
            result["loaded"] = summary(timed(NEWSWATCH, env, args.runs), reference)
            result["ephemeral_loaded"] = summary(timed(EPHEMERAL, env, args.ephemeral_runs), reference)
        result["idle"] = summary(timed(NEWSWATCH, env, args.idle_runs), reference)
    print(table(result))
    write_results(result, RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
