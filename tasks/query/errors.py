"""QuerySyntaxError: what the lexer and the parser raise for a malformed query."""

from __future__ import annotations

import unicodedata


def _width(text: str) -> int:
    """Terminal columns, so the caret lands under the token even after CJK or combining marks."""
    cols = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        cols += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return cols


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed. str() is "<message> at position <n>[: <detail>]", then the
    query, then a caret under the culprit; message names the kind of error ("unbalanced
    parenthesis"), detail says what to do about it."""

    def __init__(self, message: str, query: str, position: int, detail: str = "") -> None:
        self.message = message
        self.query = query
        self.position = position
        self.detail = detail
        first = f"{message} at position {position}" + (f": {detail}" if detail else "")
        shown = "".join(" " if ch in "\r\n\t\v\f" else ch for ch in query)
        super().__init__(f"{first}\n  {shown}\n  {' ' * _width(query[:position])}^")

    def __reduce__(self) -> tuple[type[QuerySyntaxError], tuple[str, str, int, str]]:
        # Prefect and multiprocessing pickle exceptions; the default would call cls(str(self)).
        return (type(self), (self.message, self.query, self.position, self.detail))
