"""The CPU-bound work on an article (page extraction, language, MinHash signature, and its
vector when a model is installed: tasks.semantic, loaded once per worker) in worker processes,
so a run keeps every core busy while its threads wait on the network (the GIL let threads use
one core only). One pool per process, started on first use (a run with nothing new never
starts it) and shared by every batch of the run.

Workers come from a fork server that imported this module once, so they start in
milliseconds with trafilatura loaded, and never inherit the parent's threads or connections."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from tasks.common.language import read_language
from tasks.common.text import clean, content_hash
from tasks.ingest.extraction import Extracted, extract
from tasks.semantic import PRELOAD_ENV, PRELOAD_MODULE, ArticleVector, worker_vector
from tasks.stories import signature

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ArticleText:
    page: Extracted | None  # None: no page, or no article text found in it
    text: str
    language: str | None
    signature: bytes | None
    content_hash: str | None
    vector: ArticleVector | None = None  # None: no model (tasks.semantic.model_choice)
    declared_language: str | None = None  # the page's or feed's, where the text overruled it


class ExtractionTimeout(RuntimeError):
    pass


def analyze(
    html: bytes | None,
    url: str,
    title: str,
    summary: str,
    language_hint: str | None,
    metadata: bool = True,
    embed_model: str | None = None,
) -> ArticleText:
    """An article's text (from its page, else from the feed's summary) and what is computed
    from it. `metadata`: also read the page's title, date and author (they cost about 40% of
    the extraction time, so callers ask only when the feed lacks them). `embed_model`: the
    model of its vector (tasks.semantic.model_choice; None: no vector)."""
    page = extract(html, url, metadata=metadata) if html is not None else None
    text = page.text if page else clean(summary)
    reading = read_language(f"{title}\n{text}", (page.language if page else None) or language_hint)
    overruled = reading.declared if reading.declared != reading.language else None
    vector = worker_vector(title or (page.title if page and page.title else ""), text, embed_model)
    return ArticleText(page, text, reading.language, signature(text), content_hash(text), vector, overruled)


class ArticleWorkerPool:
    """The worker processes for the CPU-bound work on articles: a process pool that replaces
    itself when a worker dies or hangs."""

    def __init__(self, processes: int, embed_model: str | None = None) -> None:
        self.processes = processes or os.cpu_count() or 1
        self.embed_model = embed_model  # loaded in the fork server, shared by the workers (tasks.semantic.preload)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        # At most two pages per worker submitted at once (one running, one waiting), so the
        # timeout measures extraction, not the queue: hundreds of fetch threads feed this pool.
        self._slots = threading.BoundedSemaphore(2 * self.processes)

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                preload = [__name__, "trafilatura", "trafilatura.settings"]
                if self.embed_model:
                    # The fork server inherits this environment when it starts (once per process).
                    os.environ[PRELOAD_ENV] = self.embed_model
                    preload.append(PRELOAD_MODULE)
                context.set_forkserver_preload(preload)
                # No max_tasks_per_child: with it (2,000) a 20,000-page bench run on Python 3.11
                # stalled after worker replacements and the queued pages timed out.
                self._pool = ProcessPoolExecutor(self.processes, mp_context=context)
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is not pool:
                return  # another thread replaced it already
            self._pool = None
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()  # a worker stuck in a pathological page would otherwise stay busy forever
        pool.shutdown(wait=False, cancel_futures=True)

    def analyze(
        self,
        html: bytes | None,
        url: str,
        title: str,
        summary: str,
        language_hint: str | None,
        metadata: bool,
        timeout: float,
        embed_model: str | None = None,
    ) -> ArticleText:
        return self.run(analyze, html, url, title, summary, language_hint, metadata, embed_model, timeout=timeout)

    def run(self, fn: Callable[..., T], *args: Any, timeout: float) -> T:
        """fn(*args) in a worker; ExtractionTimeout after `timeout` seconds (the worker is killed)."""
        for attempt in range(2):
            with self._slots:
                pool = self._executor()
                try:
                    future = pool.submit(fn, *args)
                except RuntimeError:  # shut down by another thread since _executor(): take the new one
                    continue
                try:
                    return future.result(timeout)
                except FutureTimeout:
                    self._discard(pool)
                    raise ExtractionTimeout(f"extraction took over {timeout:.0f} s") from None
                except (BrokenProcessPool, CancelledError):
                    # A worker died (out of memory, killed), or another thread replaced the pool
                    # after a timeout and its queue was cancelled: one more chance in a fresh pool.
                    self._discard(pool)
                    if attempt:
                        raise
                    log.warning("the article worker pool broke; starting a fresh one")
        raise BrokenProcessPool("the article worker pool was replaced twice while submitting")


_pools: dict[tuple[int, str | None], ArticleWorkerPool] = {}
_pools_lock = threading.Lock()


def article_workers(processes: int, embed_model: str | None = None) -> ArticleWorkerPool:
    """The process's pool of `processes` article workers (0: one per core), made on first use;
    `embed_model`: the model of the articles' vectors, loaded once for all of them."""
    with _pools_lock:
        return _pools.setdefault((processes, embed_model), ArticleWorkerPool(processes, embed_model))
