"""Words and two-word phrases as weighted expressions of a topic's `score:` (`newswatch topics
fit --words`, issue #15): the candidates are the words and word pairs that labelled articles
use, each written as a quoted phrase of the query language, so a fitted score weighs them with
the same engine, the same index and the same explanations as its indicator groups.

Why: the groups are indicators someone wrote down; stories told in other words carry none of
them. Out of fold on the relevance set's tune half (264 articles), the groups alone stopped at
English recall 0.91 at precision 0.94 with the query, whatever the model over them (forests,
boosting, pairs: bench/relevance_models.py), while the same logistic regression over the groups
plus these phrases reached 0.95 / 0.97."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from tasks.matching.evaluation import LabelledArticle

# In at least this many labelled articles: a phrase of one or two articles is a fact of those
# stories (a name, a place), not a way of telling one. Tune half, out of fold, English recall
# with 3 / 5 / 10: 0.97 / 0.95 / 0.94 (2,211 / 1,045 / 413 candidates).
MIN_ARTICLES = 3
# In at most this share of them: "the", "said" and "police" say nothing about the topic and
# would fire on every article, each a weighted expression evaluated (same recall without them).
MAX_SHARE = 0.5
# Weights below this (in absolute value) are dropped from the fitted score, in each fold as in
# the final fit: with 0.02, about 770 of 2,200 phrases stay and out-of-fold English recall stays
# 0.97 (0.03: 380 stay, 0.93; 0.05: 130 stay, 0.91).
MIN_WEIGHT = 0.02
# At most this many candidates, the most common first: a score holds at most
# tasks.config.scoring.MAX_WEIGHTS expressions (the tune half gives 2,211 candidates).
MAX_PHRASES = 4000
# Words as the phrase engine sees them in English and other Latin-script text: Khmer and Thai
# write no spaces between words, so their candidates would be whole clauses.
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def _phrases(text: str) -> set[str]:
    words = [w for w in _WORD.findall(text.lower()) if len(w) > 1]
    return set(words) | {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def phrase_features(
    articles: Sequence[LabelledArticle], languages: Iterable[str] = ("en",), min_articles: int = MIN_ARTICLES
) -> list[str]:
    """The quoted words and two-word phrases of the articles in `languages` found in at least
    `min_articles` of them and in at most MAX_SHARE (the MAX_PHRASES most common), sorted."""
    wanted = set(languages)
    chosen = [a for a in articles if (a.lang or "") in wanted]
    counts = Counter(p for a in chosen for p in _phrases(f"{a.title}\n{a.text}"))
    most = MAX_SHARE * len(chosen)
    kept = sorted((p for p, n in counts.items() if min_articles <= n <= most), key=lambda p: (-counts[p], p))
    return [f'"{p}"' for p in sorted(kept[:MAX_PHRASES])]
