"""The topic query language's grammar, and the parser that turns a query into its syntax tree
(tasks.query.nodes) and compiles its terms (tasks.query.terms).

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
from dataclasses import dataclass

import regex

from tasks.query.document import META_FIELDS, TEXT_FIELDS
from tasks.query.errors import QuerySyntaxError
from tasks.query.lexer import Token, tokenize
from tasks.query.nodes import AndNode, MetadataNode, NearNode, Node, NotNode, OrNode, TermNode
from tasks.query.terms import TermKey, TermMatcher
from tasks.query.text import SEPARATORS_BUT_SPACE, fold_value

MAX_DEPTH = 50  # open parentheses and NOTs: the parser and the evaluator recurse

_QUERY_WORD = regex.compile(f"[^ {SEPARATORS_BUT_SPACE}]+", regex.V1)
_OPERAND_START = ("WORD", "PHRASE", "FIELD", "(", "NOT")
_NEAR_HELP = "each side takes a term, a phrase or an (a OR b) group of them"


@dataclass(frozen=True)
class QueryTree:
    """A parsed query: its syntax tree, and every term it holds compiled once (NOT's too)."""

    root: Node
    matchers: tuple[TermMatcher, ...]


def parse_tree(query: str) -> QueryTree:
    """The syntax tree of query; QuerySyntaxError if it does not follow the grammar above."""
    parser = QueryParser(query)
    root = parser.parse()
    return QueryTree(root, tuple(parser.matchers.values()))


class QueryParser:
    """Recursive descent over the tokens, building the syntax tree of tasks.query.nodes."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.toks = tokenize(query)
        self.i = 0
        self.depth = 0  # open parentheses and NOTs
        self.matchers: dict[TermKey, TermMatcher] = {}

    def error(self, message: str, pos: int, detail: str = "") -> QuerySyntaxError:
        return QuerySyntaxError(message, self.query, pos, detail)

    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.query.strip():
            raise self.error("empty query", 0)
        node = self.or_expr(None)
        tok = self.peek()
        if tok.kind != "EOF":  # only a ')' stops the loops above before the end
            raise self.error("unbalanced parenthesis", tok.pos, "')' without '('")
        return node

    def or_expr(self, field: str | None) -> Node:
        parts = [self.and_expr(field, None)]
        while self.peek().kind == "OR":
            parts.append(self.and_expr(field, self.take()))
        return parts[0] if len(parts) == 1 else OrNode(tuple(parts), parts[0].pos)

    def and_expr(self, field: str | None, after: Token | None) -> Node:
        parts = [self.unary(field, after)]
        while True:
            tok = self.peek()
            if tok.kind == "AND":
                parts.append(self.unary(field, self.take()))
            elif tok.kind in _OPERAND_START:
                parts.append(self.unary(field, None))
            else:
                break
        return parts[0] if len(parts) == 1 else AndNode(tuple(parts), parts[0].pos)

    def unary(self, field: str | None, after: Token | None) -> Node:
        if self.peek().kind == "NOT":
            tok = self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:  # the parser and the evaluator recurse: stay far from Python's limit
                raise self.error("query nested too deeply", tok.pos, f"more than {MAX_DEPTH} levels")
            node = NotNode(self.unary(field, tok), tok.pos)
            self.depth -= 1
            return node
        return self.proximity(field, after)

    def proximity(self, field: str | None, after: Token | None) -> Node:
        left, start, _ = self.primary(field, after)
        if self.peek().kind != "NEAR":
            return left
        op = self.take()
        right, right_start, end = self.primary(field, op)
        if self.peek().kind == "NEAR":
            again = self.peek()
            raise self.error(f"{again.text} cannot be chained", again.pos, "join proximity clauses with AND")
        left_terms = self.operand(left, start, op)
        right_terms = self.operand(right, right_start, op)
        return NearNode(left_terms, right_terms, op.distance, op.ordered, self.query[start:end], start)

    def operand(self, node: Node, pos: int, op: Token) -> tuple[TermNode, ...]:
        terms: list[TermNode] = []
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, TermNode):
                terms.append(n)
            elif isinstance(n, OrNode):
                stack.extend(n.children)
            else:
                raise self.error(f"{op.text} operand is not a term, phrase or group", pos, _NEAR_HELP)
        return tuple(terms)

    def primary(self, field: str | None, after: Token | None) -> tuple[Node, int, int]:
        """A term, phrase or group, with its extent in the query (for clauses and carets)."""
        tok = self.peek()
        prefix: Token | None = None
        if tok.kind == "FIELD":
            prefix = self.take()
            field = self._nested(field, prefix)
            tok = self.peek()
        if tok.kind in ("WORD", "PHRASE"):
            self.take()
            start = prefix.pos if prefix else tok.pos
            return self.leaf(tok, field, self.query[start : tok.end], start), start, tok.end
        if tok.kind == "(":
            inner, close = self.group(field)
            return inner, prefix.pos if prefix else tok.pos, close.end
        if after is not None and after.kind == "NEAR" and tok.kind == "NOT":
            raise self.error(f"{after.text} operand is not a term, phrase or group", tok.pos, _NEAR_HELP)
        if after is not None:
            raise self.error(f"dangling operator {after.text}", after.pos, "nothing follows it")
        if tok.kind == ")":
            raise self.error("unbalanced parenthesis", tok.pos, "')' without '('")
        raise self.error(f"dangling operator {tok.text}", tok.pos, "nothing precedes it")

    def group(self, field: str | None) -> tuple[Node, Token]:
        """A parenthesised query (the next token is its '('), and its closing ')'."""
        tok = self.take()
        if self.peek().kind == ")":
            raise self.error("empty parentheses", tok.pos)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error("query nested too deeply", tok.pos, f"more than {MAX_DEPTH} levels")
        inner = self.or_expr(field)
        self.depth -= 1
        if self.peek().kind != ")":
            raise self.error("unbalanced parenthesis", tok.pos, "'(' is never closed")
        return inner, self.take()

    def _nested(self, outer: str | None, prefix: Token) -> str:
        inner = prefix.text
        if outer is None or outer == inner or (outer in TEXT_FIELDS and inner in META_FIELDS):
            return inner
        raise self.error("conflicting fields", prefix.pos, f"{inner}: cannot be used inside {outer}:")

    def leaf(self, tok: Token, field: str | None, written: str, start: int) -> Node:
        if field in META_FIELDS:
            return self.meta(tok, field, written if start != tok.pos else f"{field}:{written}", start)
        words, wildcard = self.words(tok)
        key = (tuple(unicodedata.normalize("NFC", w).casefold() for w in words), wildcard)
        matcher = self.matchers.get(key) or self.matchers.setdefault(key, TermMatcher(*key))
        return TermNode(matcher, (field,) if field else TEXT_FIELDS, written, start)

    def meta(self, tok: Token, kind: str, clause: str, start: int) -> MetadataNode:
        value = tok.text.strip()
        base = tok.pos + (1 if tok.kind == "PHRASE" else 0)
        if not value:
            raise self.error("empty phrase", tok.pos)
        self._check_stars(value, base + tok.text.index(value[0]), last=True)
        prefix = value.endswith("*")
        folded = fold_value(value.rstrip("*"))
        return MetadataNode(kind, folded.replace("_", "-") if kind == "lang" else folded, prefix, clause, start)

    def words(self, tok: Token) -> tuple[list[str], bool]:
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
