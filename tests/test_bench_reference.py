"""The machine reference every bench prints (bench/reference.py): both figures measured, and a
bench's seconds restated in reference loops."""

from __future__ import annotations

import pytest

from bench.reference import in_extractions, in_loops, per_loop, with_reference


def test_with_reference_measures_both_and_restates_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    out = with_reference({"seconds": 3.0, "name": "x"}, ("seconds", "name", "absent"))
    ref = out["reference"]
    assert 0 < ref["loop_cpu_s"] < 30 and 0 < ref["trafilatura_cpu_s"] < 30
    assert out["seconds_in_loops"] == round(3.0 / ref["loop_cpu_s"], 3)
    assert "name_in_loops" not in out and "absent_in_loops" not in out  # only numbers are restated
    assert capsys.readouterr().out.startswith("machine reference: ")


def test_figures_in_reference_units() -> None:
    ref = {"loop_cpu_s": 0.5, "trafilatura_cpu_s": 0.1}
    assert in_loops(2.0, ref) == 4.0
    assert per_loop(100.0, ref) == 50.0  # articles per CPU-second -> per reference loop
    assert in_extractions(0.004, ref) == pytest.approx(2.0)  # 4 ms against 2 ms a reference page
