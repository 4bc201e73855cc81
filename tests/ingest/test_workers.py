"""The article worker pool: extraction runs in other processes, gives what the in-thread call
gives, and survives a hanging or dying worker."""

from __future__ import annotations

import os
import threading
import time

import pytest

from tasks.ingest.workers import ArticleWorkerPool, ExtractionTimeout, analyze
from tests.newsweb import distinct_paragraphs

PAGE = (
    "<html lang='en'><head><title>Flood closes the river road</title></head><body><nav>Home News Sport</nav>"
    "<article><h1>Flood closes the river road</h1>"
    + "".join(f"<p>{p}</p>" for p in distinct_paragraphs(7, 6))
    + "</article><footer>Contact us</footer></body></html>"
).encode()


def kill_workers(pool: ArticleWorkerPool) -> None:
    # A run's pool lives as long as its process; a test's goes with the test.
    pool.close()


@pytest.fixture
def pool():
    pool = ArticleWorkerPool(2)
    yield pool
    kill_workers(pool)


def test_pool_analyzes_in_another_process_and_agrees_with_the_inline_call(pool):
    assert pool.run(os.getpid, timeout=30) != os.getpid()
    inline = analyze(PAGE, "http://x.test/a", "Flood closes the river road", "teaser", None, False)
    pooled = pool.analyze(PAGE, "http://x.test/a", "Flood closes the river road", "teaser", None, False, 30)
    assert pooled == inline
    assert inline.page is not None and inline.language == "en" and inline.signature
    assert inline.text.startswith("Flood closes the river road") or "river" in inline.text


def test_without_a_page_the_summary_is_the_text(pool):
    result = pool.analyze(None, "http://x.test/a", "Title", "A short teaser.", "en", True, 30)
    assert result.page is None and result.text == "A short teaser." and result.signature is None


def test_a_hanging_worker_times_out_and_the_pool_is_replaced(pool):
    started = time.monotonic()
    with pytest.raises(ExtractionTimeout):
        pool.run(time.sleep, 60, timeout=1)
    assert time.monotonic() - started < 10
    assert pool.run(os.getpid, timeout=30) != os.getpid()  # a fresh pool answers


def test_a_dying_worker_gets_one_retry_then_the_pool_recovers(pool):
    with pytest.raises(Exception) as info:
        pool.run(os._exit, 3, timeout=30)
    assert "BrokenProcessPool" in type(info.value).__name__
    assert pool.run(sum, [1, 2, 3], timeout=30) == 6


def test_work_queued_behind_a_hanging_page_is_retried_not_lost(tmp_path):
    pool = ArticleWorkerPool(1)
    results: dict[str, object] = {}
    started = tmp_path / "hanging"

    def hang() -> None:
        try:
            # The worker says it has started the hanging page (a file), then hangs in it.
            code = f"import pathlib, time; pathlib.Path({str(started)!r}).touch(); time.sleep(60)"
            pool.run(exec, code, timeout=2)
        except ExtractionTimeout as exc:
            results["hang"] = exc

    def quick() -> None:
        deadline = time.monotonic() + 30
        while not started.exists():  # seen running, so this work queues behind it (no sleep that hopes so)
            assert time.monotonic() < deadline
            time.sleep(0.02)
        results["quick"] = pool.run(sum, [1, 2, 3], timeout=30)

    threads = [threading.Thread(target=hang), threading.Thread(target=quick)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert isinstance(results.get("hang"), ExtractionTimeout)
        assert results.get("quick") == 6
    finally:
        kill_workers(pool)
