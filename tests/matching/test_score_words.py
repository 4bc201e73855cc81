"""A fitted score that weighs words and two-word phrases besides the groups (`topics fit
--words`), and a score that reads only an article's lead (issue #15)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tasks.config import TopicSpec, load_watchlist
from tasks.matching import MIN_WEIGHT, LabelledArticle, compile_topic, features_of, fit_score, match, phrase_features
from tasks.matching.scoring import LEAD_CHARS, lead
from tasks.query import Doc
from tests.helpers import cli
from tests.matching.test_scoring import WATCHLIST, topic_of  # the same small topic

ROOT = Path(__file__).resolve().parents[2]


def articles() -> list[LabelledArticle]:
    """Wanted: men lured abroad and stranded, in words no group of the topic has; not wanted:
    travel and council news. 60 articles, 20 wanted."""
    wanted = [f"Recruiters lured {i} fishermen to a port abroad, where they were stranded." for i in range(20)]
    travel = [f"{i} tourists flew to a port abroad for the festival, the agency said." for i in range(20)]
    council = [f"The council {i} approved a new bridge over the river this week." for i in range(20)]
    rows = [(t, True) for t in wanted] + [(t, False) for t in travel + council]
    return [LabelledArticle(str(i), "en", "News", text, label) for i, (text, label) in enumerate(rows)]


def test_phrases_are_the_words_and_pairs_of_some_articles_but_not_most() -> None:
    few = [LabelledArticle(str(i), "en", "Title", "Men were lured abroad. The end.", True) for i in range(3)]
    others = [LabelledArticle(str(i), "en", "Title", "The council met.", False) for i in range(3, 8)]
    khmer = [LabelledArticle("km", "km", "Title", "lured abroad lured abroad", True)]
    found = phrase_features([*few, *others, *khmer])
    assert '"lured"' in found and '"were lured"' in found and '"lured abroad"' in found  # in 3 of 8
    assert '"title"' not in found and '"the"' not in found  # in every article, or most
    assert '"council"' not in found  # in 5 of 8: more than half
    assert all(p.startswith('"') and p.endswith('"') for p in found)
    assert '"lured"' not in phrase_features(few[:2] + others)  # in 2 articles: a fact of those stories
    assert phrase_features(khmer, languages=("en",)) == []  # only the languages asked for


def test_phrases_are_capped_at_the_most_common(monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.matching import words

    texts = ["alpha beta gamma"] * 4 + ["alpha beta"] * 3 + ["alpha"] * 3 + ["delta epsilon"] * 12
    labelled = [LabelledArticle(str(i), "en", "", text, True) for i, text in enumerate(texts)]
    assert len(phrase_features(labelled)) == 5  # alpha, beta, alpha beta, gamma, beta gamma; delta in 12 of 22
    monkeypatch.setattr(words, "MAX_PHRASES", 2)
    assert phrase_features(labelled) == ['"alpha"', '"alpha beta"']  # in 10 and 7 (beta too: a tie, by name)


def test_a_fitted_word_adds_the_story_and_is_named_in_the_alert(tmp_path: Path) -> None:
    spec = topic_of(WATCHLIST, tmp_path)
    labelled = articles()
    without = fit_score(spec, labelled, features_of(spec))
    fitted = fit_score(spec, labelled, features_of(spec, phrase_features(labelled)), min_weight=MIN_WEIGHT)
    assert without is None or without.recall < 1.0  # the groups alone cannot tell them apart
    assert fitted is not None and fitted.recall == 1.0 and fitted.precision >= 0.95
    weights = fitted.spec.weights
    assert weights['"lured"'] > 0 and all(abs(w) >= MIN_WEIGHT for w in weights.values())
    topic = compile_topic(spec.model_copy(update={"score": fitted.spec}))
    hit = match("Crew missing", "Recruiters lured 35 fishermen to a port abroad, where they were stranded.", topic)
    assert hit is not None and hit.terms[0].startswith("score ")
    assert any('"lured"' in clause for clause in hit.terms) and "lured" in hit.words
    assert match("Festival", "300 tourists flew to a port abroad for the festival.", topic) is None


def test_topics_fit_with_words_prints_phrase_weights_that_load_back(tmp_path: Path) -> None:
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text(WATCHLIST, encoding="utf-8")
    labelled = tmp_path / "labelled.jsonl"
    rows = [json.dumps({"id": a.id, "lang": a.lang, "title": a.title, "text": a.text, "wanted": a.wanted})
            for a in articles()]  # fmt: skip
    labelled.write_text("\n".join(rows) + "\n", encoding="utf-8")
    done = cli(["topics", "fit", "forced-labour", "--labelled", str(labelled), "--watchlist", str(watchlist),
                "--words"], {})  # fmt: skip
    assert done.returncode == 0, done.stderr
    block = yaml.safe_load(done.stdout)["score"]
    assert '"lured"' in block["weights"]
    document = yaml.safe_load(WATCHLIST)
    document["topics"][0]["score"] = block
    watchlist.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert load_watchlist(watchlist).topics[0].score == TopicSpec.model_validate(document["topics"][0]).score


def test_the_score_reads_the_title_and_the_lead_only(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.yaml"
    path.write_text(WATCHLIST.replace("threshold: 1.0", "threshold: 0.2"), encoding="utf-8")
    topic = compile_topic(load_watchlist(path).topics[0])  # -0.5 + 0.8 for @held: 0.3 >= 0.2
    filler = "The harbour office published the weekly tide tables and berth fees. " * 20
    assert len(filler) > LEAD_CHARS
    held = "Three men were held on the boat. "
    assert match("Port news", held + filler, topic) is not None  # in the lead
    assert match("Port news", filler + held, topic) is None  # past it: the score never sees it
    assert match("Men held on a boat", filler, topic) is not None  # the title is always read
    cut = lead(Doc(title="t", text=filler))
    assert len(cut.text) <= LEAD_CHARS and filler.startswith(cut.text) and filler[len(cut.text)] == " "


def test_the_real_news_bench_counts_the_alerts_of_each_method(tmp_path: Path) -> None:
    """bench/relevance_real.py on a tiny corpus: a long story whose indicators lie past the lead
    alerts only when the score reads the whole text; without corpora it skips."""
    corpora = tmp_path / "corpora"
    aeb = corpora / "scrapinghub-aeb"
    aeb.mkdir(parents=True)
    filler = "The city council met on Tuesday to discuss the budget for parks and roads. " * 20
    # A kidnapping, not trafficking: the weak indicators the score adds up (a child, women, held,
    # beaten, phones seized) lie past the lead, where only the whole-text reading finds them.
    late = (
        "The hostages, among them a child and two women, had been held by gunmen and beaten; "
        "the kidnappers seized their phones and demanded a ransom."
    )
    bodies = {"a": {"articleBody": filler + late, "url": "x"}, "b": {"articleBody": filler, "url": "y"}}
    (aeb / "ground-truth.json").write_text(json.dumps(bodies), encoding="utf-8")
    bench = [sys.executable, str(ROOT / "bench" / "relevance_real.py"), "--out", str(tmp_path / "out.json")]
    done = subprocess.run([*bench, "--corpora", str(corpora)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["articles"] == 2 and result["long_bodies"] == 2
    assert result["alerts"] == {"old": 0, "query alone": 0, "shipped": 0, "score read whole": 1}
    skipped = subprocess.run([*bench, "--corpora", str(tmp_path / "none")], capture_output=True, text=True, timeout=120)
    assert skipped.returncode == 0 and skipped.stdout.startswith("skipping bench/relevance_real.py")
