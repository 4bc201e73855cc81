"""Weighted indicators (a topic's `score:` key, issue #15): what the query misses is added when
the weights of what an article matches reach the threshold, each alert explained by its score
and the weights that fired; the key is checked at load; `topics fit` fits it on labelled
articles (scikit-learn) and prints a block that loads back."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from storage.records import StoredArticle
from tasks.config import ConfigError, TopicSpec, load_watchlist
from tasks.matching import LabelledArticle, compile_topic, features_of, fit_score, match
from tasks.matching.topics import compile_watchlist, match_article
from tests.helpers import cli

WATCHLIST = """\
topics:
  - name: forced-labour
    query: '"forced labour"'
    groups:
      held: {terms: [held, kept, locked]}
      papers: {terms: [passport*, documents]}
      unpaid: {terms: ["without pay", "never paid"]}
      sport: {terms: [football, match, league]}
    score:
      threshold: 1.0
      bias: -0.5
      weights: {"@held": 0.8, "@unpaid": 0.6, "@held NEAR/3 @papers": 0.5, "@sport": -2.0}
"""


def topic_of(text: str, tmp_path: Path) -> TopicSpec:
    path = tmp_path / "watchlist.yaml"
    path.write_text(text, encoding="utf-8")
    return load_watchlist(path).topics[0]


def test_the_score_adds_what_the_query_misses_and_says_why(tmp_path: Path) -> None:
    compiled = compile_topic(topic_of(WATCHLIST, tmp_path))
    text = "The men were kept on the boat. They worked without pay for a year."
    # -0.5 + 0.8 (held) + 0.6 (unpaid) = 0.9 < 1.0: not enough; the passports near "kept" add 0.5
    assert match("Crew back home", text, compiled, language="en") is None
    text += " The captain kept their passports."
    hit = match("Crew back home", text, compiled, language="en")
    assert hit is not None
    assert hit.terms == ["score 1.40 >= 1.00", "+0.80 @held", "+0.60 @unpaid", "+0.50 @held NEAR/3 @papers"]
    assert hit.indicators == {"held": ["kept"], "unpaid": ["without pay"], "papers": ["passports"]}
    assert "without pay" in hit.words and hit.hit_sentence  # the sentences that show why


def test_a_negative_weight_keeps_an_article_out(tmp_path: Path) -> None:
    compiled = compile_topic(topic_of(WATCHLIST, tmp_path))
    text = "The striker was kept out of the match; he played without pay and kept his passport."
    assert match("League news", text, compiled) is None  # -0.5 + 0.8 + 0.6 + 0.5 - 2.0


def test_the_query_still_matches_first_and_the_run_index_agrees(tmp_path: Path) -> None:
    spec = topic_of(WATCHLIST, tmp_path)
    compiled, watchlist = compile_topic(spec), compile_watchlist([spec])
    texts = {
        1: "Inspectors found forced labour on the farm.",  # the query
        2: "Workers were locked in and never paid, their documents held by the agent.",  # the score
        3: "Workers were locked in.",  # neither
    }
    for n, text in texts.items():
        article = StoredArticle(n, "src", [], f"https://x.example/{n}", "T", None, None, "en", text)
        alone = match("T", text, compiled, language="en")
        in_run = match_article(article, watchlist)
        assert [h.terms for h in in_run] == ([alone.terms] if alone else [])
    assert match("T", texts[1], compiled).terms == ['"forced labour"']  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("score", "problem"),
    [
        ("{threshold: 1, weights: {'@nosuch': 1}}", "undefined group @nosuch"),
        ("{threshold: 1, weights: {'@held AND': 1}}", "score.weights"),
        ("{threshold: .nan, weights: {'@held': 1}}", "finite"),
        ("{threshold: 1, weights: {}}", "weights"),
        ("{threshold: 1, weights: {'@held': 1}, extra: 2}", "extra"),
    ],
)
def test_a_bad_score_is_refused_at_load_naming_the_field(tmp_path: Path, score: str, problem: str) -> None:
    text = "topics:\n  - name: t\n    terms: [x]\n    groups:\n      held: {terms: [held]}\n    score: " + score + "\n"
    with pytest.raises(ConfigError, match="score") as caught:
        topic_of(text, tmp_path)
    assert problem.lower() in str(caught.value).lower()


def articles() -> list[LabelledArticle]:
    """Wanted: someone held and unpaid, told without the query's words; not wanted: sport that
    also says kept and never paid, and ordinary news. 60 articles, 20 wanted."""
    wanted = [f"Worker {i} was kept at the site and never paid for months, relatives said." for i in range(20)]
    sport = [f"Club {i} kept its coach although the football league never paid the prize." for i in range(10)]
    other = [f"The council {i} approved a new bridge over the river this week." for i in range(30)]
    rows = [(t, True) for t in wanted] + [(t, False) for t in sport + other]
    return [LabelledArticle(str(i), "en", "News", text, label) for i, (text, label) in enumerate(rows)]


def test_fitting_weighs_what_separates_wanted_from_unwanted(tmp_path: Path) -> None:
    spec = topic_of(WATCHLIST, tmp_path)
    fitted = fit_score(spec, articles(), features_of(spec, ["@held NEAR/3 @papers"]))
    assert fitted is not None and fitted.recall == 1.0 and fitted.precision >= 0.95
    weights = fitted.spec.weights
    assert weights["@sport"] < 0 < weights["@unpaid"] and weights["@held"] > 0
    refit = compile_topic(spec.model_copy(update={"score": fitted.spec}))
    found = [a.wanted for a in articles() if match(a.title, a.text, refit, language="en") is not None]
    assert found == [True] * 20  # every wanted article, no sport story


def test_fitting_needs_both_labels(tmp_path: Path) -> None:
    spec = topic_of(WATCHLIST, tmp_path)
    with pytest.raises(ValueError, match="wanted and unwanted"):
        fit_score(spec, [a for a in articles() if a.wanted], features_of(spec))


def test_fitting_without_scikit_learn_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.matching import FitUnavailable

    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "sklearn.linear_model", None)
    spec = topic_of(WATCHLIST, tmp_path)
    with pytest.raises(FitUnavailable, match=r"newswatch\[fit\]"):
        fit_score(spec, articles(), features_of(spec))


def test_topics_fit_prints_a_block_that_loads_back(tmp_path: Path) -> None:
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text(WATCHLIST, encoding="utf-8")
    labelled = tmp_path / "labelled.jsonl"
    lines = [
        json.dumps({"id": a.id, "lang": a.lang, "title": a.title, "text": a.text, "wanted": a.wanted})
        for a in articles()
    ]
    labelled.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = cli(["topics", "fit", "forced-labour", "--labelled", str(labelled), "--watchlist", str(watchlist),
                "--feature", "@held NEAR/3 @papers"], {})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# forced-labour on 60 labelled articles (20 wanted)")
    block = yaml.safe_load(done.stdout)
    document = yaml.safe_load(WATCHLIST)
    document["topics"][0]["score"] = block["score"]
    watchlist.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert load_watchlist(watchlist).topics[0].score == TopicSpec.model_validate(document["topics"][0]).score
    bad = cli(["topics", "fit", "forced-labour", "--labelled", str(labelled), "--watchlist", str(watchlist),
               "--feature", "@held NEAR/"], {})  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.startswith("--feature") and "Traceback" not in bad.stderr
