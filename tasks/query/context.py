"""What a query's nodes are evaluated on and explain into: ArticleContext (one article while
queries are evaluated on it), ScopedContext (one sentence or paragraph of one of its fields,
for SENTENCE() and PARAGRAPH()) and ExplanationBuilder (what the matching clauses found)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from operator import itemgetter

from tasks.query.document import TEXT_FIELDS, Doc, Explanation, Indicator, Span
from tasks.query.terms import Occurrence, TermKey, TermMatcher
from tasks.query.text import FieldView, fold_value

_START = itemgetter(0)


class ArticleContext:
    """One article while queries are evaluated on it: occurrences are computed once per term
    (scan mode) or were all filled in by the index's automaton pass (complete mode)."""

    __slots__ = ("doc", "fields", "occurrences", "pending", "pairs", "complete", "_meta")

    def __init__(self, doc: Doc, complete: bool = False) -> None:
        self.doc = doc
        self.fields = {"title": FieldView(doc.title), "text": FieldView(doc.text)}
        self.occurrences: dict[tuple[TermKey, str], list[Occurrence]] = {}
        # Complete mode: where each literal occurs, per field (filled by the prefilter); a term is
        # verified there only when a query asks for it, and absent when its literal is absent.
        self.pending: dict[tuple[str, str], list[int]] = {}
        # NEAR clauses explained: node -> [(field, a, b)] (keyed by the node: no import of nodes here)
        self.pairs: dict[object, list[tuple[str, Occurrence, Occurrence]]] = {}
        self.complete = complete
        self._meta: dict[str, tuple[str, ...]] | None = None

    def occ(self, matcher: TermMatcher, field: str) -> list[Occurrence]:
        """The term's occurrences in the field, in order of their start."""
        key = (matcher.key, field)
        found = self.occurrences.get(key)
        if found is None:
            view = self.fields[field]
            if self.complete:
                starts = self.pending.get((matcher.literal, field))
                found = matcher.at_each(view, starts) if starts else []
            else:
                found = matcher.find(view)
            self.occurrences[key] = found
        return found

    def meta(self, kind: str) -> tuple[str, ...]:
        if self._meta is None:
            lang = fold_value(self.doc.lang or "").replace("_", "-")
            self._meta = {
                "source": (fold_value(self.doc.source),),
                "tag": tuple(fold_value(t) for t in self.doc.tags),
                "lang": (lang,) if lang else (),
                "primary": (lang.split("-")[0],) if lang else ("",),
            }
        return self._meta[kind]

    def language(self) -> str:
        """The article's primary language subtag ("km" for km-KH), "" when unknown: which
        language's terms a group adds."""
        return self.meta("primary")[0]

    def windows(self, kind: str) -> Iterator[ScopedContext]:
        """The article seen one sentence or one paragraph (kind) at a time, title first."""
        for field in TEXT_FIELDS:
            for start, end in self.fields[field].scope_spans(kind):
                yield ScopedContext(self, field, start, end)


class ScopedContext(ArticleContext):
    """One sentence or paragraph [start, end) of one field: terms occur only inside it. Metadata
    and the article's language stay the article's."""

    __slots__ = ("outer", "field", "start", "end")

    def __init__(self, outer: ArticleContext, field: str, start: int, end: int) -> None:  # shares, not super()
        self.outer, self.field, self.start, self.end = outer, field, start, end
        self.doc, self.fields, self.complete = outer.doc, outer.fields, outer.complete
        self.occurrences, self.pending, self.pairs = {}, outer.pending, {}
        self._meta = None

    def occ(self, matcher: TermMatcher, field: str) -> list[Occurrence]:
        if field != self.field:
            return []
        key = (matcher.key, field)
        found = self.occurrences.get(key)
        if found is None:
            everywhere = self.outer.occ(matcher, field)
            found = []
            for occ in everywhere[bisect_left(everywhere, self.start, key=_START) :]:
                if occ[0] >= self.end:
                    break
                if occ[1] <= self.end:
                    found.append(occ)
            self.occurrences[key] = found
        return found

    def meta(self, kind: str) -> tuple[str, ...]:
        return self.outer.meta(kind)

    def windows(self, kind: str) -> Iterator[ScopedContext]:
        """A sentence within a paragraph (or the other way round): the spans clipped to this one."""
        for start, end in self.fields[self.field].scope_spans(kind):
            start, end = max(start, self.start), min(end, self.end)
            if start < end:
                yield ScopedContext(self, self.field, start, end)


class ExplanationBuilder:
    """What a matching query's clauses found: spans kept as view offsets until the end, where
    they are deduplicated, ordered (title first) and mapped to the Doc's offsets; and per group
    that fired, the spans it matched."""

    def __init__(self, ctx: ArticleContext) -> None:
        self.ctx = ctx
        self.clauses: list[tuple[int, str]] = []
        self.spans: set[tuple[int, int, int, str]] = set()  # field's index in TEXT_FIELDS first
        self.groups: dict[str, tuple[int, set[tuple[int, int, int]]]] = {}  # name -> (first pos, spans)

    def add(self, field: str, occurrences: Iterable[Occurrence], clause: str) -> None:
        order = 0 if field == "title" else 1
        self.spans.update((order, start, end, clause) for start, end in occurrences)

    def indicate(self, group: str, pos: int, field: str, occurrences: Iterable[Occurrence]) -> None:
        first, spans = self.groups.setdefault(group, (pos, set()))
        if pos < first:
            self.groups[group] = (pos, spans)
        order = 0 if field == "title" else 1
        spans.update((order, start, end) for start, end in occurrences)

    def _span(self, order: int, start: int, end: int, clause: str) -> Span:
        start, end = self.ctx.fields[TEXT_FIELDS[order]].original(start, end)
        return Span(TEXT_FIELDS[order], start, end, clause)

    def explanation(self) -> Explanation:
        clauses = tuple(dict.fromkeys(c for _, c in sorted(self.clauses)))
        indicators = self._indicators() if self.groups else ()
        ordered = sorted(self.spans)
        if all(self.ctx.fields[f].same_offsets for f in TEXT_FIELDS):  # view offsets are the Doc's: unique
            return Explanation(clauses, tuple(Span(TEXT_FIELDS[o], s, e, c) for o, s, e, c in ordered), indicators)
        # Two view spans inside one expanded character ("ß" -> "ss") can coincide: dict, not list.
        return Explanation(clauses, tuple(dict.fromkeys(self._span(*s) for s in ordered)), indicators)

    def _indicators(self) -> tuple[Indicator, ...]:
        indicators = []
        for _, name, found in sorted((pos, name, found) for name, (pos, found) in self.groups.items()):
            spans = tuple(dict.fromkeys(self._span(*s, f"@{name}") for s in sorted(found)))
            quotes: dict[str, str] = {}
            for sp in spans:
                quote = self.ctx.fields[sp.field].text[sp.start : sp.end]
                quotes.setdefault(" ".join(quote.casefold().split()), " ".join(quote.split()))
            indicators.append(Indicator(name, tuple(quotes.values()), spans))
        return tuple(indicators)
