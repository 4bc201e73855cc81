"""The leaves of a query's syntax tree: a term or phrase compiled to its TermMatcher (each
distinct term once per query), a field clause's value, and a group reference expanded to the
group's terms (tasks.query.parser calls LeafCompiler for each)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

import regex

from tasks.query.document import META_FIELDS, TEXT_FIELDS, TermGroup
from tasks.query.errors import QuerySyntaxError
from tasks.query.lexer import Token, terms_query, tokenize
from tasks.query.nodes import GroupTermNode, MetadataNode, Node, OrNode, TermNode
from tasks.query.terms import TermKey, TermMatcher, term_matcher
from tasks.query.text import SEPARATORS_BUT_SPACE, fold_value

_QUERY_WORD = regex.compile(f"[^ {SEPARATORS_BUT_SPACE}]+", regex.V1)

Words = tuple[list[str], bool]  # a term's words as written (wildcard removed), and its wildcard


class LeafCompiler:
    """Compiles the leaves of one query; `matchers` ends up holding every term of it."""

    def __init__(self, query: str, groups: Mapping[str, TermGroup], language: str | None) -> None:
        self.query = query
        self.groups = groups
        self.language = language
        self.matchers: dict[TermKey, TermMatcher] = {}

    def error(self, message: str, pos: int, detail: str = "") -> QuerySyntaxError:
        return QuerySyntaxError(message, self.query, pos, detail)

    def leaf(self, tok: Token, field: str | None, written: str, start: int) -> Node:
        """A WORD, PHRASE or GROUP token (in `field`, if given), as written from `start`."""
        if tok.kind == "GROUP":
            return self.reference(tok, field, written, start)
        if field in META_FIELDS:
            return self.meta(tok, field, written if start != tok.pos else f"{field}:{written}", start)
        words, wildcard = self.words(tok)
        return TermNode(self.matcher(words, wildcard, tok.exact), (field,) if field else TEXT_FIELDS, written, start)

    def matcher(self, words: list[str], wildcard: bool, exact: bool) -> TermMatcher:
        nfc = tuple(unicodedata.normalize("NFC", w) for w in words)
        key = (tuple(w.casefold() for w in nfc), wildcard, nfc if exact else ())
        return self.matchers.get(key) or self.matchers.setdefault(key, term_matcher(*key))

    def meta(self, tok: Token, kind: str, clause: str, start: int) -> MetadataNode:
        if tok.exact:
            raise self.error("'=' on a field value", tok.pos, f"{kind}: values always compare case-insensitively")
        value = tok.text.strip()
        if not value:
            raise self.error("empty phrase", tok.pos)
        self._check_stars(value, tok.content + tok.text.index(value[0]), last=True)
        prefix = value.endswith("*")
        folded = fold_value(value.rstrip("*"))
        return MetadataNode(kind, folded.replace("_", "-") if kind == "lang" else folded, prefix, clause, start)

    def words(self, tok: Token) -> Words:
        base = tok.content
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

    # --- @groups ------------------------------------------------------------------------------

    def reference(self, tok: Token, field: str | None, written: str, start: int) -> Node:
        """@name: an OR of the group's terms (for self.language, or each tagged with its language)."""
        if field in META_FIELDS:
            raise self.error(f"{field}: cannot take a group", start, "a group holds terms: use title: or text:")
        name = tok.text
        group = self.groups.get(name)
        if group is None:
            known = ", ".join(f"@{n}" for n in sorted(self.groups))
            detail = f"the groups are {known}" if known else "define it under groups: in the watchlist"
            raise self.error(f"undefined group @{name}", tok.pos, detail)
        wanted: list[tuple[str, str | None]]
        if self.language is not None:
            wanted = [(term, None) for term in group.terms_for(self.language)]
        else:
            wanted = [(term, None) for term in group.terms]
            wanted += [(term, code) for code, more in group.languages.items() for term in more]
        if not wanted:
            for_lang = f" for {self.language}" if self.language is not None else ""
            raise self.error(
                f"group @{name} has no terms{for_lang}", tok.pos, "give it terms, or a list for the language"
            )
        fields = (field,) if field else TEXT_FIELDS
        nodes: list[Node] = []
        for term, lang in wanted:
            (words, wildcard), exact = self.group_term(tok, term)
            nodes.append(GroupTermNode(self.matcher(words, wildcard, exact), fields, written, start, name, lang))
        return nodes[0] if len(nodes) == 1 else OrNode(tuple(nodes), start)

    def group_term(self, ref: Token, term: str) -> tuple[Words, bool]:
        """A group's term (the syntax of a `terms:` list) as words; an error points at the reference."""
        try:
            snippet = terms_query([term])
            tok = tokenize(snippet)[0]
            return LeafCompiler(snippet, {}, None).words(tok), tok.exact
        except QuerySyntaxError as exc:
            detail = f"{exc.message}: {exc.detail}" if exc.detail else exc.message
            raise self.error(f"invalid term {term!r} in group @{ref.text}", ref.pos, detail) from None
        except ValueError:
            raise self.error(f"empty term in group @{ref.text}", ref.pos) from None
