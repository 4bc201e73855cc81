"""A topic's weighted indicator score (its `score:` key, tasks.config.scoring): the articles the
query misses whose score reaches the threshold are added, each explained by the score, the
threshold and the weighted expressions that fired, with what they found.

The weighted expressions compile into one WatchlistIndex, so an article costs one Aho-Corasick
pass plus the expressions whose terms occur in it (the shipped topic's 70 weights, most of
them single groups)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from tasks.config import TopicSpec
from tasks.query import Doc, Explanation, WatchlistIndex, parse_query

SCORE_CLAUSE = "score"  # the first clause of a score match: "score 1.07 >= 0.41"
SHOWN = 6  # positive contributions listed in an explanation's clauses, largest first
# The score reads the title and the first this many characters of the text (cut at a space): its
# weights are fitted on short articles (the relevance set's are at most 805 characters), and a
# long article fires many weak indicators anywhere in it. On 181 real news pages that are not
# about trafficking (scrapinghub-aeb, 529 words median), the shipped score read in full added
# 14 alerts to the query's; read to here, 1 (bench/relevance_real.py). A news story says what it
# is about in its lead; the query still reads the whole text.
LEAD_CHARS = 1000


def lead(doc: Doc, chars: int = LEAD_CHARS) -> Doc:
    """The article as the score reads it: its title and the start of its text."""
    if len(doc.text) <= chars:
        return doc
    space = doc.text.rfind(" ", chars // 2, chars + 1)
    return replace(doc, text=doc.text[: space if space > 0 else chars])


@dataclass(frozen=True)
class CompiledScore:
    threshold: float
    bias: float
    weights: dict[str, float]  # expression -> weight
    index: WatchlistIndex[str]
    lead_chars: int = LEAD_CHARS  # of the text the score reads

    def explain(self, doc: Doc) -> Explanation | None:
        """The article's score and why, if it reaches the threshold; else None."""
        fired = self.index.match(lead(doc, self.lead_chars))
        total = self.bias + sum(self.weights[e] for e in fired)
        if total < self.threshold:
            return None
        positive = sorted((e for e in fired if self.weights[e] > 0), key=lambda e: -self.weights[e])
        clauses = [f"{SCORE_CLAUSE} {total:.2f} >= {self.threshold:.2f}"]
        clauses += [f"{self.weights[e]:+.2f} {e}" for e in positive[:SHOWN]]
        spans = tuple(span for e in positive for span in fired[e].spans)
        indicators = {i.group: i for e in positive for i in fired[e].indicators}
        return Explanation(tuple(clauses), spans, tuple(indicators.values()))


def expression_index(topic: TopicSpec, expressions: Iterable[str]) -> WatchlistIndex[str]:
    """The expressions compiled with the topic's groups (every language's terms), in one index."""
    groups = topic.term_groups()
    return WatchlistIndex({e: parse_query(e, groups) for e in expressions})


def compile_score(topic: TopicSpec) -> CompiledScore | None:
    """The topic's score, compiled, or None."""
    spec = topic.score
    if spec is None:
        return None
    return CompiledScore(spec.threshold, spec.bias, dict(spec.weights), expression_index(topic, spec.weights))
