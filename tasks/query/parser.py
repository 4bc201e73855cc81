"""The topic query language's grammar, and the parser that turns a query into its syntax tree
(tasks.query.nodes) and compiles its terms (tasks.query.terms).

Grammar (precedence, tightest first: field prefix, NEAR/ONEAR, NOT, AND, OR)::

    query    := or
    or       := and ("OR" and)*
    and      := unary (["AND"] unary)*          adjacent clauses are ANDed
    unary    := "NOT" unary | proximity
    proximity:= primary [("NEAR/n" | "ONEAR/n") primary]
    primary  := [field ":"] (term | phrase | group | "(" or ")" | atleast | scope)
    term     := ["="] word                      "=": exact case (=US)
    phrase   := ["="] '"' words '"'
    group    := "@" name                        a named list of terms (TermGroup)
    atleast  := "ATLEAST" "(" n ("," or)+ ")"   1 <= n <= the number of operands
    scope    := ("SENTENCE" | "PARAGRAPH") "(" or ")"

Operators are upper-case only (AND, OR, NOT, NEAR/n, ONEAR/n, ATLEAST, SENTENCE, PARAGRAPH), so
"and", "or", "not", "near", "sentence" stay ordinary words that can be searched for. Field
names and group names are case-insensitive.

- term: a word matched whole-word, case-insensitively (full Unicode case folding) after NFC
  normalization. A trailing ``*`` is a prefix wildcard (``traffick*``); ``*`` anywhere else is
  an error. A hyphenated term (``anti-trafficking``) is a two-word phrase.
- "phrase": words separated in the text by any run of whitespace and/or hyphens (``-``, U+2010,
  U+2011); the last word may carry the wildcard (``"human traffick*"``). Double quotes cannot
  be escaped.
- ``=`` right before a term or phrase (``=US``, ``="Nifty 50"``, ``=Traffick*``) matches only
  the exact case as written (after NFC): ``=US`` is not "us". The default stays case-blind.
  (``=`` because it reads "equal to", is not a word character, and needs no closing mark.)
- Scripts written without spaces (Khmer, Thai, Lao, Myanmar, Han, Hiragana, Katakana): a term
  edge in such a script needs no word boundary, only a grapheme-cluster boundary (the match
  never starts or ends inside a cluster). There ``*`` only completes the cluster it ends in.
  A Latin word directly next to such a script (``在Facebook上``) still counts as whole-word.
- ``@name``: any term of the group `name` (terms for every language, plus those of the
  article's language; a query compiled for one language takes that language's). An undefined
  group is an error. Quote a word starting with ``@`` to search for it (``"@police"``).
- ``A NEAR/n B``: an occurrence of A and one of B, in the same field, either order, at most n
  words apart; ``A ONEAR/n B``: A before B. Distance = word index of the first word of the
  later clause minus that of the last word of the earlier one (adjacent words: 1; overlapping
  occurrences never count), 1 <= n <= 100. A and B are terms, phrases, groups or
  parenthesised OR-lists of them. Words are runs of letters/digits/marks; in unspaced scripts
  every grapheme cluster counts as one word (a Khmer or Thai word is 2-4 clusters, a Chinese
  word 1-2 characters: choose n accordingly).
- ``ATLEAST(n, a, b, ...)``: at least n of the operands match (any sub-queries; an operand
  that occurs many times counts once; the same operand written twice is an error).
- ``SENTENCE(x)``, ``PARAGRAPH(x)``: x holds within one sentence (tasks.common.text's
  splitter) or one paragraph (blank-line separated) of the title or the text, each evaluated
  as if it were the whole field: ``SENTENCE(a NOT b)`` is a sentence with a and without b.
- fields: ``title:x``/``text:x`` restrict a term, phrase, group or parenthesised query to that
  field (unprefixed terms search both). ``source:"Khmer Times"`` (the source's name),
  ``tag:cambodia`` (one of the source's tags) and ``lang:km`` (the article's language;
  ``lang:en`` also matches ``en-GB``) compare whole values, case-insensitively; a trailing ``*``
  makes them prefixes. Fields cannot be nested differently. Letters followed by a colon always
  name a field: quote such a word to search for it (``"covid:19"``).
- ``NOT x`` is allowed anywhere, also alone (``NOT sport`` matches every article without
  "sport"); ``a NOT b`` is ``a AND NOT b``. Mind the precedence: ``a OR b NOT c`` is
  ``a OR (b AND NOT c)``; write ``(a OR b) NOT c``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tasks.query.document import META_FIELDS, TEXT_FIELDS, TermGroup
from tasks.query.errors import QuerySyntaxError
from tasks.query.leaves import LeafCompiler
from tasks.query.lexer import Token, tokenize
from tasks.query.nodes import AndNode, AtLeastNode, GroupTermNode, NearNode, Node, NotNode, OrNode, ScopeNode, TermNode
from tasks.query.terms import TermMatcher

MAX_DEPTH = 50  # open parentheses and NOTs: the parser and the evaluator recurse

_OPERAND_START = ("WORD", "PHRASE", "GROUP", "FIELD", "(", "NOT", "ATLEAST", "SCOPE")
_NEAR_HELP = "each side takes a term, a phrase, a group or an (a OR b) list of them"
_ATLEAST_HELP = "write ATLEAST(n, a, b, ...): at least n of the operands a, b, ..."


@dataclass(frozen=True)
class QueryTree:
    """A parsed query: its syntax tree, and every term it holds compiled once (NOT's too)."""

    root: Node
    matchers: tuple[TermMatcher, ...]


def parse_tree(query: str, groups: Mapping[str, TermGroup] | None = None, language: str | None = None) -> QueryTree:
    """The syntax tree of query; QuerySyntaxError if it does not follow the grammar above.
    groups: the TermGroups its @references name; language: compile groups for articles of that
    language only (None: every language's terms, chosen per article)."""
    parser = QueryParser(query, groups or {}, language)
    root = parser.parse()
    return QueryTree(root, tuple(parser.leaves.matchers.values()))


class QueryParser:
    """Recursive descent over the tokens, building the syntax tree of tasks.query.nodes."""

    def __init__(self, query: str, groups: Mapping[str, TermGroup], language: str | None) -> None:
        self.query = query
        self.toks = tokenize(query)
        self.i = 0
        self.depth = 0  # open parentheses and NOTs
        self.leaves = LeafCompiler(query, groups, language)

    def error(self, message: str, pos: int, detail: str = "") -> QuerySyntaxError:
        return QuerySyntaxError(message, self.query, pos, detail)

    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def deeper(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:  # the parser and the evaluator recurse: stay far from Python's limit
            raise self.error("query nested too deeply", tok.pos, f"more than {MAX_DEPTH} levels")

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
            self.deeper(tok)
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
        grouped = [t for t in left_terms + right_terms if isinstance(t, GroupTermNode)]
        localized = any(t.lang for t in grouped)
        clause = self.query[start:end]
        return NearNode(left_terms, right_terms, op.distance, op.ordered, clause, start, bool(grouped), localized)

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
        """A term, phrase, group, parenthesised query, ATLEAST or scope, with its extent in the
        query (for clauses and carets)."""
        tok = self.peek()
        prefix: Token | None = None
        if tok.kind == "FIELD":
            prefix = self.take()
            field = self._nested(field, prefix)
            tok = self.peek()
        start = prefix.pos if prefix else tok.pos
        if tok.kind in ("WORD", "PHRASE", "GROUP"):
            self.take()
            return self.leaves.leaf(tok, field, self.query[start : tok.end], start), start, tok.end
        if tok.kind in ("(", "ATLEAST", "SCOPE"):
            node, close = self.parenthesized(field) if tok.kind == "(" else self.function(field)
            return node, start, close.end
        if after is not None and after.kind == "NEAR" and tok.kind == "NOT":
            raise self.error(f"{after.text} operand is not a term, phrase or group", tok.pos, _NEAR_HELP)
        if after is not None:
            raise self.error(f"dangling operator {after.text}", after.pos, "nothing follows it")
        if tok.kind == ")":
            raise self.error("unbalanced parenthesis", tok.pos, "')' without '('")
        if tok.kind == ",":
            raise self.error("empty ATLEAST operand", tok.pos, _ATLEAST_HELP)
        raise self.error(f"dangling operator {tok.text}", tok.pos, "nothing precedes it")

    def parenthesized(self, field: str | None) -> tuple[Node, Token]:
        """A parenthesised query (the next token is its '('), and its closing ')'."""
        tok = self.take()
        if self.peek().kind == ")":
            raise self.error("empty parentheses", tok.pos)
        if self.peek().kind == "EOF":  # else primary() said "dangling operator" with no operator named
            raise self.error("unbalanced parenthesis", tok.pos, "'(' is never closed")
        self.deeper(tok)
        inner = self.or_expr(field)
        self.depth -= 1
        if self.peek().kind != ")":
            raise self.error("unbalanced parenthesis", tok.pos, "'(' is never closed")
        return inner, self.take()

    def function(self, field: str | None) -> tuple[Node, Token]:
        """ATLEAST(...), SENTENCE(...) or PARAGRAPH(...), and its closing ')'."""
        op = self.take()
        if self.peek().kind != "(":
            example = "ATLEAST(n, a, b, ...)" if op.kind == "ATLEAST" else f"{op.text}(a AND b)"
            raise self.error(f"{op.text} needs parentheses", op.pos, f"write {example}")
        if op.kind == "SCOPE":
            inner, close = self.parenthesized(field)
            return ScopeNode(op.text.lower(), inner, op.pos), close
        opening = self.take()
        self.deeper(opening)
        count = self.take()
        if count.kind != "WORD" or count.exact or not (count.text.isascii() and count.text.isdigit()):
            raise self.error("ATLEAST needs a count first", count.pos, _ATLEAST_HELP)
        operands = self.arguments(field)
        self.depth -= 1
        if self.peek().kind != ")":
            tok = self.peek()
            if tok.kind == "EOF":
                raise self.error("unbalanced parenthesis", opening.pos, "'(' is never closed")
            raise self.error("ATLEAST operands are separated by commas", tok.pos, _ATLEAST_HELP)
        n = int(count.text)
        if not 1 <= n <= len(operands):
            detail = f"n must be from 1 to {len(operands)}, its number of operands"
            raise self.error(f"ATLEAST({n}, ...) out of range", count.pos, detail)
        return AtLeastNode(n, tuple(operands), op.pos), self.take()

    def arguments(self, field: str | None) -> list[Node]:
        """ATLEAST's operands, each after its comma: at least one; none written twice."""
        if self.peek().kind != ",":
            raise self.error("ATLEAST needs a comma after its count", self.peek().pos, _ATLEAST_HELP)
        operands: list[Node] = []
        seen: dict[str, int] = {}
        while self.peek().kind == ",":
            comma = self.take()
            if self.peek().kind in (",", ")", "EOF"):
                raise self.error("empty ATLEAST operand", comma.pos, _ATLEAST_HELP)
            start = self.peek().pos
            operands.append(self.or_expr(field))
            written = " ".join(self.query[start : self.toks[self.i - 1].end].split())
            if written in seen:
                raise self.error("ATLEAST operand repeated", start, f"{written} is already operand {seen[written]}")
            seen[written] = len(operands)
        return operands

    def _nested(self, outer: str | None, prefix: Token) -> str:
        inner = prefix.text
        if outer is None or outer == inner or (outer in TEXT_FIELDS and inner in META_FIELDS):
            return inner
        raise self.error("conflicting fields", prefix.pos, f"{inner}: cannot be used inside {outer}:")
