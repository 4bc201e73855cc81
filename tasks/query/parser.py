"""The topic query language: its grammar, the parser that turns a query into the syntax tree
evaluated by tasks.query.evaluate, the compiled terms that tree matches text with, and the errors a
malformed query raises.

Grammar (precedence, tightest first: field prefix, NEAR/ONEAR, NOT, AND, OR)::

    query    := or
    or       := and ("OR" and)*
    and      := unary (["AND"] unary)*          adjacent clauses are ANDed
    unary    := "NOT" unary | proximity
    proximity:= primary [("NEAR/n" | "ONEAR/n") primary]
    primary  := [field ":"] (term | "phrase" | "(" or ")")

Operators are upper-case only (AND, OR, NOT, NEAR/n, ONEAR/n), so "and", "or", "not", "near"
stay ordinary words that can be searched for. Field names are case-insensitive.

- term: a word matched whole-word, case-insensitively (full Unicode case folding) after NFC
  normalization. A trailing ``*`` is a prefix wildcard (``traffick*``); ``*`` anywhere else is
  an error. A hyphenated term (``anti-trafficking``) is a two-word phrase.
- "phrase": words separated in the text by any run of whitespace and/or hyphens (``-``, U+2010,
  U+2011); the last word may carry the wildcard (``"human traffick*"``). Double quotes cannot
  be escaped.
- Scripts written without spaces (Khmer, Thai, Lao, Myanmar, Han, Hiragana, Katakana): a term
  edge in such a script needs no word boundary, only a grapheme-cluster boundary (the match
  never starts or ends inside a cluster). There ``*`` only completes the cluster it ends in.
  A Latin word directly next to such a script (``在Facebook上``) still counts as whole-word.
- ``A NEAR/n B``: an occurrence of A and one of B, in the same field, either order, at most n
  words apart; ``A ONEAR/n B``: A before B. Distance = word index of the first word of the
  later clause minus that of the last word of the earlier one (adjacent words: 1; overlapping
  occurrences never count), 1 <= n <= 100. A and B are terms, phrases or parenthesised OR
  groups of them. Words are runs of letters/digits/marks; in unspaced scripts every grapheme
  cluster counts as one word (a Khmer or Thai word is 2-4 clusters, a Chinese word 1-2
  characters: choose n accordingly).
- fields: ``title:x``/``text:x`` restrict a term, phrase or group to that field (unprefixed
  terms search both). ``source:"Khmer Times"`` (the source's name), ``tag:cambodia`` (one of
  the source's tags) and ``lang:km`` (the article's language; ``lang:en`` also matches
  ``en-GB``) compare whole values, case-insensitively; a trailing ``*`` makes them prefixes.
  A field prefix on a group applies to every term in it; fields cannot be nested differently.
  Letters followed by a colon always name a field: quote such a word to search for it
  (``"covid:19"``).
- ``NOT x`` is allowed anywhere, also alone (``NOT sport`` matches every article without
  "sport"); ``a NOT b`` is ``a AND NOT b``. Mind the precedence: ``a OR b NOT c`` is
  ``a OR (b AND NOT c)``; write ``(a OR b) NOT c``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import regex

if TYPE_CHECKING:
    from tasks.query.evaluate import _FieldView, _Meta, _Node, _Term

TEXT_FIELDS = ("title", "text")
META_FIELDS = ("source", "tag", "lang")
MAX_DISTANCE = 100
MAX_DEPTH = 50

_UNSPACED_CLASS = r"[\p{Khmer}\p{Thai}\p{Lao}\p{Myanmar}\p{Han}\p{Hiragana}\p{Katakana}]"
_UNSPACED = regex.compile(_UNSPACED_CLASS, regex.V1)
# A character that continues a word of a spaced script: letters, digits, combining marks; not
# those of unspaced scripts, so that "Facebook" in "在Facebook上" is still a whole word.
_WORDCH = rf"[[\w\p{{M}}]--{_UNSPACED_CLASS}]"
# What separates the words of a phrase in the text (and splits a hyphenated query term): the
# space, every other character str.isspace() accepts (spelt out, so that the regex module here
# and the re module in tasks.query.prefilter agree exactly), and hyphens.
SEPARATORS_BUT_SPACE = r"\t-\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\-\u2010\u2011"
_SEP = f"[ {SEPARATORS_BUT_SPACE}]+"
_QUERY_WORD = regex.compile(f"[^ {SEPARATORS_BUT_SPACE}]+", regex.V1)
_FIELD_PREFIX = regex.compile(r"([A-Za-z]+):")
_PROXIMITY = regex.compile(r"(O?NEAR)(?:/(.*))?", regex.DOTALL)


# --- errors ------------------------------------------------------------------------------------


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


# --- how terms and metadata values compare ------------------------------------------------------


def _fold(value: str) -> str:
    """How metadata values compare: NFC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


_TermKey = tuple[tuple[str, ...], bool]  # case-folded words, trailing wildcard
_Occurrence = tuple[int, int]  # [start, end) in a _FieldView's view


class _Matcher:
    """One term or phrase, compiled: its regex runs on case-folded text (so its semantics are
    exactly "equal after str.casefold", which is also what the Aho-Corasick prefilter sees)."""

    __slots__ = ("key", "literal", "pattern", "start_cluster", "end_cluster")

    def __init__(self, words: tuple[str, ...], wildcard: bool) -> None:
        self.key: _TermKey = (words, wildcard)
        # Every match starts with this once separator runs are squeezed to one space: the
        # prefilter looks for it (the wildcard's prefix; the whole phrase, not just a word of it).
        self.literal = " ".join(words)
        self.start_cluster = bool(_UNSPACED.match(words[0][0]))
        self.end_cluster = bool(_UNSPACED.match(words[-1][-1]))
        body = _SEP.join(regex.escape(w) for w in words)
        if wildcard and not self.end_cluster:
            body += f"{_WORDCH}*"
        start = "" if self.start_cluster else f"(?<!{_WORDCH})"
        end = "" if self.end_cluster else f"(?!{_WORDCH})"
        self.pattern = regex.compile(start + body + end, regex.V1)

    def _checked(self, view: _FieldView, start: int, end: int) -> _Occurrence | None:
        # Unspaced scripts: not inside a grapheme cluster (a Khmer subscript, a Thai vowel sign).
        if self.start_cluster and not view.is_boundary(start):
            return None
        if self.end_cluster and not view.is_boundary(end):
            if not self.key[1]:
                return None
            end = view.next_boundary(end)
        return start, end

    def find(self, view: _FieldView) -> list[_Occurrence]:
        """Every occurrence, overlapping ones too (as the index finds them: one per start)."""
        found = (self._checked(view, m.start(), m.end()) for m in self.pattern.finditer(view.view, overlapped=True))
        return [occ for occ in found if occ is not None]

    def at_each(self, view: _FieldView, starts: Iterable[int]) -> list[_Occurrence]:
        """The occurrences starting at these places (where the prefilter saw the literal)."""
        match, text = self.pattern.match, view.view
        spans = [m.span() for m in (match(text, pos) for pos in starts) if m is not None]
        if not (self.start_cluster or self.end_cluster):  # the common case: no cluster checks
            return spans
        return [occ for occ in (self._checked(view, *span) for span in spans) if occ is not None]


# --- lexer and parser ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # ( ) AND OR NOT NEAR WORD PHRASE FIELD EOF
    text: str  # WORD: the word; PHRASE: between the quotes; FIELD: its name; NEAR: as written
    pos: int
    end: int
    distance: int = 0
    ordered: bool = False


_OPERAND_START = ("WORD", "PHRASE", "FIELD", "(", "NOT")
_NEAR_HELP = "each side takes a term, a phrase or an (a OR b) group of them"
_FIELD_HELP = 'fields are title, text, source, tag, lang; to search for "word:", quote it'


class _Parser:
    """Recursive descent over the tokens, building the syntax tree of tasks.query. Its node classes
    live there and tasks.query.evaluate imports this module, so each method imports the nodes it builds when
    it runs: importing them when this module loads would be an import cycle."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.toks = self._lex()
        self.i = 0
        self.depth = 0  # open parentheses and NOTs
        self.matchers: dict[_TermKey, _Matcher] = {}

    def error(self, message: str, pos: int, detail: str = "") -> QuerySyntaxError:
        return QuerySyntaxError(message, self.query, pos, detail)

    def _lex(self) -> list[_Tok]:
        q, toks, i = self.query, [], 0
        while i < len(q):
            ch = q[i]
            if ch.isspace():
                i += 1
            elif ch in "()":
                toks.append(_Tok(ch, ch, i, i + 1))
                i += 1
            elif ch == '"':
                close = q.find('"', i + 1)
                if close < 0:
                    raise self.error("unterminated phrase", i, "missing closing quote")
                toks.append(_Tok("PHRASE", q[i + 1 : close], i, close + 1))
                i = close + 1
            else:
                j = i
                while j < len(q) and not q[j].isspace() and q[j] not in '()"':
                    j += 1
                toks.extend(self._word(q[i:j], i, j))
                i = j
        toks.append(_Tok("EOF", "", len(q), len(q)))
        return toks

    def _word(self, word: str, i: int, j: int) -> list[_Tok]:
        if word in ("AND", "OR", "NOT"):
            return [_Tok(word, word, i, j)]
        near = _PROXIMITY.fullmatch(word)
        if near:
            op, n = near.group(1), near.group(2)
            if n is None or not regex.fullmatch(r"[0-9]+", n):
                raise self.error(f"{op} needs a distance", i, f"write {op}/n with n from 1 to {MAX_DISTANCE}")
            if not 1 <= int(n) <= MAX_DISTANCE:
                raise self.error(f"{op}/{n} out of range", i, f"the distance must be from 1 to {MAX_DISTANCE} words")
            return [_Tok("NEAR", word, i, j, int(n), op == "ONEAR")]
        field = _FIELD_PREFIX.match(word)
        if field is None:
            return [_Tok("WORD", word, i, j)]
        name = field.group(1).lower()
        if name not in TEXT_FIELDS + META_FIELDS:
            raise self.error(f"unknown field {field.group(0)}", i, _FIELD_HELP)
        toks = [_Tok("FIELD", name, i, i + field.end())]
        rest = word[field.end() :]
        if rest:
            toks.append(_Tok("WORD", rest, i + field.end(), j))
        elif j >= len(self.query) or self.query[j] not in '("':
            raise self.error(f"field {name}: without a value", i, "put a term, phrase or group right after the colon")
        return toks

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> _Node:
        if not self.query.strip():
            raise self.error("empty query", 0)
        node = self.or_expr(None)
        tok = self.peek()
        if tok.kind != "EOF":  # only a ')' stops the loops above before the end
            raise self.error("unbalanced parenthesis", tok.pos, "')' without '('")
        return node

    def or_expr(self, field: str | None) -> _Node:
        from tasks.query.evaluate import _Or

        parts = [self.and_expr(field, None)]
        while self.peek().kind == "OR":
            parts.append(self.and_expr(field, self.take()))
        return parts[0] if len(parts) == 1 else _Or(tuple(parts), parts[0].pos)

    def and_expr(self, field: str | None, after: _Tok | None) -> _Node:
        from tasks.query.evaluate import _And

        parts = [self.unary(field, after)]
        while True:
            tok = self.peek()
            if tok.kind == "AND":
                parts.append(self.unary(field, self.take()))
            elif tok.kind in _OPERAND_START:
                parts.append(self.unary(field, None))
            else:
                break
        return parts[0] if len(parts) == 1 else _And(tuple(parts), parts[0].pos)

    def unary(self, field: str | None, after: _Tok | None) -> _Node:
        if self.peek().kind == "NOT":
            from tasks.query.evaluate import _Not

            tok = self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:  # the parser and the evaluator recurse: stay far from Python's limit
                raise self.error("query nested too deeply", tok.pos, f"more than {MAX_DEPTH} levels")
            node = _Not(self.unary(field, tok), tok.pos)
            self.depth -= 1
            return node
        return self.proximity(field, after)

    def proximity(self, field: str | None, after: _Tok | None) -> _Node:
        left, start, _ = self.primary(field, after)
        if self.peek().kind != "NEAR":
            return left
        from tasks.query.evaluate import _Near

        op = self.take()
        right, right_start, end = self.primary(field, op)
        if self.peek().kind == "NEAR":
            again = self.peek()
            raise self.error(f"{again.text} cannot be chained", again.pos, "join proximity clauses with AND")
        left_terms = self.operand(left, start, op)
        right_terms = self.operand(right, right_start, op)
        return _Near(left_terms, right_terms, op.distance, op.ordered, self.query[start:end], start)

    def operand(self, node: _Node, pos: int, op: _Tok) -> tuple[_Term, ...]:
        from tasks.query.evaluate import _Or, _Term

        terms: list[_Term] = []
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, _Term):
                terms.append(n)
            elif isinstance(n, _Or):
                stack.extend(n.children)
            else:
                raise self.error(f"{op.text} operand is not a term, phrase or group", pos, _NEAR_HELP)
        return tuple(terms)

    def primary(self, field: str | None, after: _Tok | None) -> tuple[_Node, int, int]:
        """A term, phrase or group, with its extent in the query (for clauses and carets)."""
        tok = self.peek()
        prefix: _Tok | None = None
        if tok.kind == "FIELD":
            prefix = self.take()
            field = self._nested(field, prefix)
            tok = self.peek()
        if tok.kind in ("WORD", "PHRASE"):
            self.take()
            start = prefix.pos if prefix else tok.pos
            return self.leaf(tok, field, self.query[start : tok.end], start), start, tok.end
        if tok.kind == "(":
            self.take()
            if self.peek().kind == ")":
                raise self.error("empty parentheses", tok.pos)
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error("query nested too deeply", tok.pos, f"more than {MAX_DEPTH} levels")
            inner = self.or_expr(field)
            self.depth -= 1
            if self.peek().kind != ")":
                raise self.error("unbalanced parenthesis", tok.pos, "'(' is never closed")
            close = self.take()
            return inner, prefix.pos if prefix else tok.pos, close.end
        if after is not None and after.kind == "NEAR" and tok.kind == "NOT":
            raise self.error(f"{after.text} operand is not a term, phrase or group", tok.pos, _NEAR_HELP)
        if after is not None:
            raise self.error(f"dangling operator {after.text}", after.pos, "nothing follows it")
        if tok.kind == ")":
            raise self.error("unbalanced parenthesis", tok.pos, "')' without '('")
        raise self.error(f"dangling operator {tok.text}", tok.pos, "nothing precedes it")

    def _nested(self, outer: str | None, prefix: _Tok) -> str:
        inner = prefix.text
        if outer is None or outer == inner or (outer in TEXT_FIELDS and inner in META_FIELDS):
            return inner
        raise self.error("conflicting fields", prefix.pos, f"{inner}: cannot be used inside {outer}:")

    def leaf(self, tok: _Tok, field: str | None, written: str, start: int) -> _Node:
        if field in META_FIELDS:
            return self.meta(tok, field, written if start != tok.pos else f"{field}:{written}", start)
        from tasks.query.evaluate import _Term

        words, wildcard = self.words(tok)
        key = (tuple(unicodedata.normalize("NFC", w).casefold() for w in words), wildcard)
        matcher = self.matchers.get(key) or self.matchers.setdefault(key, _Matcher(*key))
        return _Term(matcher, (field,) if field else TEXT_FIELDS, written, start)

    def meta(self, tok: _Tok, kind: str, clause: str, start: int) -> _Meta:
        from tasks.query.evaluate import _Meta

        value = tok.text.strip()
        base = tok.pos + (1 if tok.kind == "PHRASE" else 0)
        if not value:
            raise self.error("empty phrase", tok.pos)
        self._check_stars(value, base + tok.text.index(value[0]), last=True)
        prefix = value.endswith("*")
        folded = _fold(value.rstrip("*"))
        return _Meta(kind, folded.replace("_", "-") if kind == "lang" else folded, prefix, clause, start)

    def words(self, tok: _Tok) -> tuple[list[str], bool]:
        base = tok.pos + (1 if tok.kind == "PHRASE" else 0)
        found = list(_QUERY_WORD.finditer(tok.text))
        if not found:
            if tok.kind == "PHRASE":
                raise self.error("empty phrase", tok.pos)
            raise self.error("lone '-'", tok.pos, "use NOT to exclude a term")
        if tok.kind == "WORD" and tok.text[0] in "-\u2010\u2011":
            raise self.error("'-' is not NOT", tok.pos, f"write NOT {found[0].group(0)}")
        for k, m in enumerate(found):
            self._check_stars(m.group(0), base + m.start(), last=k == len(found) - 1)
        words = [m.group(0) for m in found]
        wildcard = words[-1].endswith("*")
        words[-1] = words[-1].rstrip("*")
        return words, wildcard

    def _check_stars(self, word: str, pos: int, last: bool) -> None:
        if word.strip("*") == "":
            raise self.error("lone '*'", pos, "a wildcard needs a prefix, as in traffick*")
        for k, ch in enumerate(word):
            if ch != "*":
                continue
            if k != len(word) - 1:
                raise self.error("'*' inside a word", pos + k, "only a trailing wildcard (traffick*) is supported")
            if not last:
                raise self.error("'*' inside a phrase", pos + k, "only its last word may end in *")


# --- the old terms: lists -----------------------------------------------------------------------


def _needs_quotes(term: str) -> bool:
    if any(ch.isspace() or ch in '()":-\u2010\u2011' for ch in term) or term in ("AND", "OR", "NOT"):
        return True
    return _PROXIMITY.fullmatch(term) is not None


def terms_query(terms: Sequence[str]) -> str:
    """The old `terms:` list as one OR query. Multi-word terms and words the grammar would read
    otherwise (operators, field-like words, hyphens) become phrases; a trailing * is kept (inside
    the quotes); double quotes inside a term, which a phrase cannot hold, become spaces."""
    parts = []
    for raw in terms:
        term = " ".join(raw.replace('"', " ").split())
        if not term:
            continue
        parts.append(f'"{term}"' if _needs_quotes(term) else term)
    if not parts:
        raise ValueError("terms_query: no non-empty term")
    return " OR ".join(parts)
