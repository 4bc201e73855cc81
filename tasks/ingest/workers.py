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
import pickle
import queue
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.connection import Connection
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


def _serve(conn: Connection) -> None:
    """A worker's life: (fn, args) in, ("ok", result) or ("error", exception) out, until the
    pipe closes."""
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("ok", fn(*args))
        except Exception as exc:
            answer = ("error", exc)
        try:
            conn.send(answer)
        except (TypeError, ValueError, AttributeError, pickle.PicklingError) as exc:  # unpicklable
            conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


class _Worker:
    """One worker process and the pipe to it."""

    def __init__(self, context: Any) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True, name="newswatch-page-worker")
        self.process.start()
        child.close()

    def kill(self) -> None:
        self.process.kill()  # a worker stuck in a pathological page would otherwise stay busy forever
        self.conn.close()
        self.process.join(5)


class ArticleWorkerPool:
    """The worker processes for the CPU-bound work on articles, each fed through its own pipe by
    the thread that needs it: a worker that hangs or dies is replaced.

    Not a ProcessPoolExecutor: its manager and queue-feeder threads took 0.43 ms of CPU per page
    in the run's process (1,200 pages of the bench's news web, 60 sites), on top of the 0.14 ms
    of the threads that submitted; a pipe per worker needs neither (0.20 against 0.29 ms of CPU
    per 100 KB page in all, measured in a loop)."""

    def __init__(self, processes: int, embed_model: str | None = None) -> None:
        self.processes = processes or os.cpu_count() or 1
        self.embed_model = embed_model  # loaded in the fork server, shared by the workers (tasks.semantic.preload)
        self._lock = threading.Lock()
        self._context: Any = None
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._workers: set[_Worker] = set()

    def _start(self) -> None:
        """The workers, on first use (a run with nothing new never starts them)."""
        if self._context is not None:
            return
        with self._lock:
            if self._context is not None:
                return
            context = multiprocessing.get_context("forkserver")
            preload = [__name__, "trafilatura", "trafilatura.settings"]
            if self.embed_model:
                # The fork server inherits this environment when it starts (once per process).
                os.environ[PRELOAD_ENV] = self.embed_model
                preload.append(PRELOAD_MODULE)
            context.set_forkserver_preload(preload)
            self._context = context
            for _ in range(self.processes):
                self._idle.put(self._new_worker())

    def _new_worker(self) -> _Worker:
        worker = _Worker(self._context)
        self._workers.add(worker)
        return worker

    def _replace(self, worker: _Worker) -> None:
        self._workers.discard(worker)
        worker.kill()
        self._idle.put(self._new_worker())

    def close(self) -> None:
        """Kill every worker (tests; a run's pool lives as long as its process)."""
        while True:
            try:
                self._idle.get_nowait()
            except queue.Empty:
                break
        for worker in list(self._workers):
            worker.kill()
        self._workers.clear()
        self._context = None

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
        """fn(*args) in a worker; ExtractionTimeout after `timeout` seconds (the worker is killed
        and replaced). A worker that dies gets one retry in a fresh one, then BrokenProcessPool."""
        self._start()
        for attempt in range(2):
            worker = self._idle.get()  # waits for a free worker: hundreds of fetch threads feed this pool
            try:
                worker.conn.send((fn, args))
                if not worker.conn.poll(timeout):
                    self._replace(worker)
                    raise ExtractionTimeout(f"extraction took over {timeout:.0f} s")
                status, value = worker.conn.recv()
            except (EOFError, OSError):  # the worker died (out of memory, killed)
                self._replace(worker)
                if attempt:
                    raise BrokenProcessPool("an article worker died twice in a row") from None
                log.warning("an article worker died; starting a fresh one")
                continue
            self._idle.put(worker)
            if status == "error":
                raise value
            return value  # type: ignore[no-any-return]
        raise AssertionError("unreachable")  # pragma: no cover


_pools: dict[tuple[int, str | None], ArticleWorkerPool] = {}
_pools_lock = threading.Lock()


def article_workers(processes: int, embed_model: str | None = None) -> ArticleWorkerPool:
    """The process's pool of `processes` article workers (0: one per core), made on first use;
    `embed_model`: the model of the articles' vectors, loaded once for all of them."""
    with _pools_lock:
        return _pools.setdefault((processes, embed_model), ArticleWorkerPool(processes, embed_model))
