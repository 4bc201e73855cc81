"""ingest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.ingest.batch import IngestOptions, SourceOutcome, ingest_batch
    from tasks.ingest.extract import extract
    from tasks.ingest.probe import add_source, probe
    from tasks.ingest.schedule import is_due, status

__all__ = ["add_source", "extract", "ingest_batch", "IngestOptions", "is_due", "probe", "SourceOutcome", "status"]
__getattr__ = lazy_exports(__name__, __file__)
