"""What the repository's modules share: building records from rows."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def from_row(cls: type[T], row: Any) -> T:
    """A dataclass from a result row whose column labels are the dataclass's field names
    (fields the row lacks keep their defaults)."""
    return cls(**{f.name: row[f.name] for f in fields(cls) if f.name in row})  # type: ignore[arg-type]
