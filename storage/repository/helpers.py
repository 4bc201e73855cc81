"""What the repository's modules share: the tables' handles and building records from rows."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from storage.models import Alert, Article, ArticleRevision, Digest, Match, Source, StoryTopic

A = Article.__table__  # type: ignore[attr-defined]
AR = ArticleRevision.__table__  # type: ignore[attr-defined]
M = Match.__table__  # type: ignore[attr-defined]
AL = Alert.__table__  # type: ignore[attr-defined]
S = Source.__table__  # type: ignore[attr-defined]
ST = StoryTopic.__table__  # type: ignore[attr-defined]
DG = Digest.__table__  # type: ignore[attr-defined]

T = TypeVar("T")


def from_row(cls: type[T], row: Any) -> T:
    """A dataclass from a result row whose column labels are the dataclass's field names
    (fields the row lacks keep their defaults)."""
    return cls(**{f.name: row[f.name] for f in fields(cls) if f.name in row})  # type: ignore[arg-type]
