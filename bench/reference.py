"""The machine reference every bench prints with its figures, measured in the same run (issue #18
part 6): the CPU seconds of a fixed pure-Python loop (10 million additions of a local variable in
a function: 0.22 s on the 2-core machine of the issue, whose own figure of 2.1 s was for a loop
written otherwise) and of trafilatura extracting a fixed page 50 times (about 1 ms a page there),
each the fastest of REPEATS tries (another process on the machine only ever slows a try). A
figure divided by them tells a slower machine from a slower build: the same matching code gave
11,100 articles per CPU-second there against 32,600 quoted when it was written, on another machine.

    from bench.reference import machine_reference, per_loop
    ref = machine_reference()          # {"loop_cpu_s": 2.1, "trafilatura_cpu_s": 0.4, ...}
    print(reference_line(ref))
    rate_in_loops = per_loop(articles_per_cpu_s, ref)   # articles per reference loop

Run alone (`.venv/bin/python bench/reference.py`) it prints the reference and one JSON line.
"""

from __future__ import annotations

import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOOP_ADDITIONS = 10_000_000
TRAFILATURA_REPEATS = 50
REPEATS = 3
PARAGRAPHS = 12

# The fixed page: a news article with the navigation, related links and footer of a real
# outlet's template around twelve paragraphs. Never edit it: figures are compared across runs.
_SENTENCE = (
    "Officials in the provincial capital said on Thursday that {n} workers recruited with promises of "
    "well-paid jobs abroad had been returned home after a joint operation by police and labour inspectors, "
    "and that the recruitment agency that sent them was under investigation for deception."
)
PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Workers returned home after "
    "recruitment inquiry | Mekong Daily</title></head><body><header><nav>"
    + "".join(f"<a href='/section/{i}'>Section {i}</a> " for i in range(20))
    + "</nav></header><main><article><h1>Workers returned home after recruitment inquiry</h1>"
    "<p class='byline'>By Staff Reporter, 27 November 2026</p>"
    + "".join(f"<p>{_SENTENCE.format(n=40 + i)} Paragraph {i} of the report.</p>" for i in range(PARAGRAPHS))
    + "</article><aside><h2>Related</h2><ul>"
    + "".join(f"<li><a href='/story/{i}'>Related story number {i}</a></li>" for i in range(10))
    + "</ul></aside></main><footer><p>Copyright Mekong Daily. All rights reserved.</p>"
    + "".join(f"<a href='/about/{i}'>About {i}</a> " for i in range(10))
    + "</footer></body></html>"
)


def loop_cpu_seconds() -> float:
    """CPU seconds of LOOP_ADDITIONS additions in a plain Python loop."""
    started = time.process_time()
    total = 0
    for i in range(LOOP_ADDITIONS):
        total += i
    elapsed = time.process_time() - started
    assert total == LOOP_ADDITIONS * (LOOP_ADDITIONS - 1) // 2
    return elapsed


def trafilatura_cpu_seconds() -> float:
    """CPU seconds of trafilatura extracting the fixed page TRAFILATURA_REPEATS times (after one
    call that loads it)."""
    import trafilatura

    text = trafilatura.extract(PAGE)
    assert text and "recruitment agency" in text, "trafilatura found no text in the reference page"
    started = time.process_time()
    for _ in range(TRAFILATURA_REPEATS):
        trafilatura.extract(PAGE)
    return time.process_time() - started


def machine_reference() -> dict[str, Any]:
    """Both references, measured now (the fastest of REPEATS tries each), with what they measure."""
    return {
        "loop_cpu_s": round(min(loop_cpu_seconds() for _ in range(REPEATS)), 3),
        "loop": f"{LOOP_ADDITIONS:,} additions in a Python for loop",
        "trafilatura_cpu_s": round(min(trafilatura_cpu_seconds() for _ in range(REPEATS)), 3),
        "trafilatura": f"trafilatura.extract of bench/reference.py's page x{TRAFILATURA_REPEATS}",
    }


def per_loop(rate_per_cpu_s: float, ref: dict[str, Any]) -> float:
    """A rate per CPU-second as a rate per reference loop (a machine twice as fast halves the loop,
    so the figure stays the same for the same build)."""
    return rate_per_cpu_s * float(ref["loop_cpu_s"])


def in_loops(seconds: float, ref: dict[str, Any]) -> float:
    """A CPU (or wall) time as a number of reference loops."""
    return seconds / float(ref["loop_cpu_s"])


def in_extractions(seconds: float, ref: dict[str, Any]) -> float:
    """A time per page as a multiple of trafilatura's time for the reference page."""
    return seconds / (float(ref["trafilatura_cpu_s"]) / TRAFILATURA_REPEATS)


def with_reference(summary: dict[str, Any], seconds: tuple[str, ...] = ()) -> dict[str, Any]:
    """`summary` with the machine reference measured now, each of its `seconds` keys also in
    reference loops (`<key>_in_loops`); the reference line is printed. For a bench's last step:
    its figures are measured, and the reference is of the same run on the same machine."""
    ref = machine_reference()
    print(reference_line(ref))
    out = {**summary, "reference": ref}
    for key in seconds:
        value = summary.get(key)
        if isinstance(value, int | float):
            out[f"{key}_in_loops"] = round(in_loops(value, ref), 3)
            print(f"{key}: {value} s = {out[f'{key}_in_loops']} reference loops")
    return out


def reference_line(ref: dict[str, Any]) -> str:
    per_page_ms = 1000 * float(ref["trafilatura_cpu_s"]) / TRAFILATURA_REPEATS
    return (
        f"machine reference: {ref['loop_cpu_s']:.2f} CPU-s for {ref['loop']}; "
        f"{per_page_ms:.2f} CPU-ms per trafilatura extraction of the reference page"
    )


if __name__ == "__main__":
    reference = machine_reference()
    print(reference_line(reference))
    print(json.dumps(reference))


def print_verdicts(targets: dict[str, bool]) -> None:
    """A bench's targets, one line each: pass or FAIL, then what was aimed at."""
    print()
    for target, ok in targets.items():
        print(f"{'pass' if ok else 'FAIL'}  {target}")


def summary_head(bench: str) -> dict[str, Any]:
    """The first keys of a bench's JSON line: its name, when it ran, and on which Python."""
    when = datetime.now(UTC).isoformat(timespec="seconds")
    return {"bench": bench, "when": when, "python": platform.python_version()}


def write_results(line: dict[str, Any], path: Path, full: dict[str, Any] | None = None) -> None:
    """A bench's last words: its JSON line on stdout, and `full` (else the line) written to path."""
    print(json.dumps(line, ensure_ascii=False, default=str))
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(line if full is None else full, indent=2, ensure_ascii=False, default=str)
    path.write_text(text + "\n", encoding="utf-8")
