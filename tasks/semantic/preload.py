"""Imported only by the page workers' fork server (tasks.ingest.workers) when a run embeds articles:
loads the model named in PRELOAD_ENV there, before any worker is forked, so every worker shares
its pages instead of loading a copy. Measured with the shipped model: a process forked after
the load holds 21 MB of its own (USS) against 331 MB for one that loads it, and skips the
1.3 s of CPU the load costs. A model that cannot load here is left to the workers (they log why)."""

from __future__ import annotations

import contextlib
import os

from tasks.semantic.embedders import EmbedderUnavailable
from tasks.semantic.vectors import PRELOAD_ENV, cached_embedder


def preload(choice: str | None) -> None:
    if choice:
        with contextlib.suppress(EmbedderUnavailable):
            cached_embedder(choice)


preload(os.environ.get(PRELOAD_ENV))
