"""Topics of terms (compile_topic, match): whole words, wildcards, phrases across line breaks,
Unicode, exclusions, the hit sentence, and its highlighted words; topics with groups of terms
(compiled per language, the index, the indicators of a hit and of its alert). Pure functions."""

from __future__ import annotations

import unicodedata

import pytest

from storage.records import AlertToSend, StoredArticle
from tasks.alerting.render import indicators_line, render_alert, render_digest
from tasks.common.highlight import emphasize
from tasks.config import TopicSpec
from tasks.matching import CompiledTopic, TopicHit, compile_topic, match
from tasks.matching.topics import compile_watchlist, match_article
from tasks.query import TermGroup, parse_query


def topic(*terms: str, exclude: tuple[str, ...] = ()) -> CompiledTopic:
    return compile_topic(TopicSpec(name="watch", terms=terms, exclude=exclude))


def hit(terms: tuple[str, ...], title: str, text: str, exclude: tuple[str, ...] = ()) -> TopicHit | None:
    return match(title, text, topic(*terms, exclude=exclude))


# --- match: case, whole words, wildcards --------------------------------------------------------


def test_match_case_insensitive_keeps_original_spelling() -> None:
    result = hit(("Human Trafficking",), "Report", "Police said HUMAN TRAFFICKING rose sharply.")
    assert result is not None
    assert result.topic == "watch"
    assert result.terms == ['"Human Trafficking"']  # clauses as written in the query
    assert result.words == ["HUMAN TRAFFICKING"]
    assert result.hit_field == "text"
    assert result.hit_sentence == "Police said HUMAN TRAFFICKING rose sharply."


def test_match_whole_word_only() -> None:
    assert hit(("traffic",), "Roads", "Heavy traffic expected near the palace.") is not None
    assert hit(("traffic",), "Roads", "Police arrested trafficking suspects.") is None
    assert hit(("traffic",), "Roads", "Cyber-traffic and untrafficked roads.") is not None  # hyphen is a boundary
    assert hit(("traffic",), "Roads", "The untrafficked roads were quiet.") is None


def test_prefix_wildcard_does_not_match_shorter_word() -> None:
    assert hit(("traffick*",), "Water Festival", "A traffic jam blocked the riverside for hours.") is None
    assert hit(("traffick*",), "Heavy traffic expected", "Traffic police closed several roads.") is None


def test_prefix_wildcard_only_at_word_start() -> None:
    assert hit(("traffick*",), "Roads", "The untrafficked roads were quiet.") is None


def test_prefix_wildcard_matches_word_forms() -> None:
    result = hit(
        ("traffick*",),
        "Report",
        "Traffickers lured workers. Trafficking is rising. Many were trafficked abroad. TRAFFICKING again.",
    )
    assert result is not None
    assert result.terms == ["traffick*"]
    assert result.words == ["Traffickers", "Trafficking", "trafficked"]  # one per case-folded form, first seen
    assert hit(("traffick*",), "Report", "He is a trafficker.") is not None
    assert hit(("traffick*",), "Report", "Traffick.") is not None  # the bare prefix is a word too


def test_no_match_returns_none() -> None:
    assert hit(("human trafficking", "forced labour"), "Rice exports rise", "Exports rose twelve percent.") is None


# --- match: phrases across line breaks and hyphens ----------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    ["human trafficking", "human  trafficking", "human-trafficking", "human - trafficking", "human\ttrafficking"],
)
def test_phrase_across_spaces_and_hyphens(spelling: str) -> None:
    text = f"Officers warned against {spelling} in the region."
    result = hit(("human trafficking",), "Police report", text)
    assert result is not None
    assert result.words == [spelling]
    assert result.hit_field == "text"
    assert result.hit_sentence == text


@pytest.mark.parametrize("spelling", ["human\ntrafficking", "human-\ntrafficking", "human\r\ntrafficking"])
def test_phrase_across_line_break_fires(spelling: str) -> None:
    result = hit(("human trafficking",), "Police report", f"Officers warned against {spelling} in the region.")
    assert result is not None
    assert result.terms == ['"human trafficking"']
    assert result.words == [spelling]


def test_phrase_does_not_match_other_separators() -> None:
    assert hit(("human trafficking",), "Report", "human/trafficking and human_trafficking") is None
    assert hit(("human trafficking",), "Report", "human rights and trafficking") is None


def test_phrase_across_line_break_hit_sentence_is_from_body() -> None:
    result = hit(("human trafficking",), "Police report", "Officers warned against human\ntrafficking in the region.")
    assert result is not None
    assert result.hit_field == "text"
    assert "trafficking" in result.hit_sentence and "human" in result.hit_sentence


# --- match: Unicode ----------------------------------------------------------------------------


def test_german_term_case_folded() -> None:
    result = hit(("Menschenhandel",), "Bericht", "Der MENSCHENHANDEL nimmt zu.")
    assert result is not None and result.words == ["MENSCHENHANDEL"]
    # full case folding: ß == SS
    result = hit(("Zwangsarbeit auf der Straße",), "Bericht", "ZWANGSARBEIT AUF DER STRASSE wurde gemeldet.")
    assert result is not None and result.words == ["ZWANGSARBEIT AUF DER STRASSE"]
    assert hit(("Menschenhändler*",), "Bericht", "Zwei MENSCHENHÄNDLERN wurde der Prozess gemacht.") is not None


def test_vietnamese_term_with_diacritics_case_folded() -> None:
    result = hit(("buôn người",), "Tin tức", "Tội phạm BUÔN NGƯỜI tăng mạnh ở biên giới.")
    assert result is not None
    assert result.words == ["BUÔN NGƯỜI"]
    assert result.hit_sentence == "Tội phạm BUÔN NGƯỜI tăng mạnh ở biên giới."
    # diacritics matter: "buôn người" (trafficking in persons) is not "buồn người"
    assert hit(("buôn người",), "Tin tức", "Một ngày buồn người ta ở nhà.") is None


def test_vietnamese_term_matches_decomposed_text() -> None:
    text = unicodedata.normalize("NFD", "Tội phạm buôn người tăng mạnh.")
    assert hit(("buôn người",), "Tin tức", text) is not None


KHMER_TERM = "ជួញដូរមនុស្ស"  # human trafficking
KHMER_TEXT = "ប៉ូលិសបានចាប់ខ្លួនជនសង្ស័យពីបទជួញដូរមនុស្សនៅខេត្តព្រះសីហនុ។ ពួកគេត្រូវបានបញ្ជូនទៅតុលាការ។"


def test_khmer_term_inside_unspaced_text() -> None:
    result = hit((KHMER_TERM,), "ព័ត៌មាន", KHMER_TEXT)
    assert result is not None
    assert result.words == [KHMER_TERM]
    assert result.hit_field == "text"
    assert result.hit_sentence == "ប៉ូលិសបានចាប់ខ្លួនជនសង្ស័យពីបទជួញដូរមនុស្សនៅខេត្តព្រះសីហនុ។"


def test_khmer_term_absent() -> None:
    assert hit((KHMER_TERM,), "ព័ត៌មាន", "ការនាំចេញអង្ករបានកើនឡើងក្នុងខែតុលា។") is None


def test_khmer_term_not_cut_inside_a_grapheme_cluster() -> None:
    # "ជួញដូរមនុស" without the final subscript: in the text it is followed by the coeng sign (a mark),
    # so it is not a match at that position.
    assert hit(("ជួញដូរមនុស",), "ព័ត៌មាន", KHMER_TEXT) is None


# --- match: exclude, hit sentence, field -------------------------------------------------------


def test_exclude_term_vetoes_match() -> None:
    terms = ("trafficking",)
    assert hit(terms, "Report", "A trafficking ring was busted.", exclude=("drug*",)) is not None
    assert hit(terms, "Report", "A drug trafficking ring was busted.", exclude=("drug*",)) is None
    assert hit(terms, "Drugs seized", "A trafficking ring was busted.", exclude=("drug*",)) is None  # in the title
    assert hit(terms, "Report", "A DRUG-trafficking ring was busted.", exclude=("drug*",)) is None
    # exclude is whole-word too
    assert hit(terms, "Report", "A trafficking ring; the drugstore was closed.", exclude=("drug",)) is not None


def test_hit_sentence_from_body_not_repeated_title() -> None:
    title = "Trafficking ring busted in Sihanoukville"
    text = (
        f"{title}\n"
        "Police arrested five people on Monday. "
        "Investigators said the trafficking ring had operated for years. "
        "The suspects were handed to the court."
    )
    result = hit(("trafficking",), title, text)
    assert result is not None
    assert result.hit_field == "text"
    assert result.hit_sentence == "Investigators said the trafficking ring had operated for years."
    assert result.words == ["Trafficking"]  # found first in the title


def test_hit_sentence_is_the_one_with_most_hits() -> None:
    text = (
        "Trafficking is a crime. "
        "Victims of trafficking endured forced labour and debt bondage. "
        "Forced labour was reported."
    )
    result = hit(("trafficking", "forced labour", "debt bondage"), "Report", text)
    assert result is not None
    assert result.terms == ["trafficking", '"forced labour"', '"debt bondage"']
    assert result.hit_sentence == "Victims of trafficking endured forced labour and debt bondage."


def test_field_title_when_only_title_matches() -> None:
    title = "Trafficking ring busted"
    result = hit(("trafficking",), title, "Police arrested five people on Monday. They face charges.")
    assert result is not None
    assert result.hit_field == "title"
    assert result.hit_sentence == title
    assert result.words == ["Trafficking"]


def test_long_sentence_trimmed_around_hit() -> None:
    filler = "word " * 200
    text = filler + "the trafficking network " + filler
    result = hit(("trafficking",), "Report", text)
    assert result is not None
    assert "trafficking" in result.hit_sentence
    assert len(result.hit_sentence) <= 402
    assert result.hit_sentence.startswith("…") and result.hit_sentence.endswith("…")


# --- emphasize ---------------------------------------------------------------------------------


def test_emphasize_wraps_matched_words() -> None:
    sentence = "Traffickers and human trafficking rings, not the traffic jam."
    assert (
        emphasize(sentence, ["Traffickers", "human trafficking"])
        == "**Traffickers** and **human trafficking** rings, not the traffic jam."
    )


def test_emphasize_case_insensitive_whole_words() -> None:
    assert emphasize("TRAFFICKERS and traffickers", ["Traffickers"]) == "**TRAFFICKERS** and **traffickers**"
    assert emphasize("untrafficked traffic", ["traffic"]) == "untrafficked **traffic**"


def test_emphasize_prefers_longest_word_and_custom_markers() -> None:
    assert emphasize("human trafficking", ["human", "human trafficking"]) == "**human trafficking**"
    assert emphasize("forced labour", ["forced labour"], "<b>", "</b>") == "<b>forced labour</b>"
    assert emphasize("nothing to see", []) == "nothing to see"


def test_emphasize_words_from_match() -> None:
    result = hit(("traffick*", "forced labour"), "Report", "Traffickers imposed forced labour on the trafficked.")
    assert result is not None
    assert (
        emphasize(result.hit_sentence, result.words)
        == "**Traffickers** imposed **forced labour** on the **trafficked**."
    )


def test_emphasize_khmer_word_in_unspaced_text() -> None:
    result = hit((KHMER_TERM,), "ព័ត៌មាន", KHMER_TEXT)
    assert result is not None
    assert f"**{KHMER_TERM}**" in emphasize(result.hit_sentence, result.words)


# --- groups of terms: compiled per language, indicators in the hit and in the alert ---------------

INDICATOR_GROUPS = {
    "recruitment": ("recruit*", "lured"),
    "documents": {"terms": ("took their passports", "confiscated passport*"), "km": ("រឹបអូសលិខិតឆ្លងដែន",)},
    "exploitation": ("forced to work", "forced to defraud people online"),
}
INDICATORS = "ATLEAST(2, @recruitment, @documents, @exploitation)"
LURED = "Brokers lured the workers across the border. Then they took their passports and forced them to work."


def indicator_topic(**fields: object) -> TopicSpec:
    groups = {k: v if isinstance(v, dict) else {"terms": v} for k, v in INDICATOR_GROUPS.items()}
    return TopicSpec.model_validate({"name": "indicators", "groups": groups, **fields})


def test_hit_names_each_group_that_fired_with_the_text() -> None:
    result = match("Rescue", LURED, compile_topic(indicator_topic(query=INDICATORS)))
    assert result is not None
    assert result.terms == ["@recruitment", "@documents"]
    assert result.indicators == {"recruitment": ["lured"], "documents": ["took their passports"]}
    assert result.words == ["lured", "took their passports"]
    assert result.sentences == [
        "Brokers lured the workers across the border.",
        "Then they took their passports and forced them to work.",
    ]
    assert [s[3] for s in result.spans] == ["@recruitment", "@documents"]


def test_hits_without_groups_have_no_indicators() -> None:
    result = hit(("police",), "Report", "Police said.")
    assert result is not None and result.indicators == {}


def test_khmer_article_gets_the_khmer_terms_of_the_default_query() -> None:
    compiled = compile_topic(indicator_topic(query="@documents"))
    khmer = "ប៉ូលិសបានរកឃើញថាមេខ្យល់បានរឹបអូសលិខិតឆ្លងដែនរបស់កម្មករ។"
    result = match("ព័ត៌មាន", khmer, compiled, language="km")
    assert result is not None and result.indicators == {"documents": ["រឹបអូសលិខិតឆ្លងដែន"]}
    assert match("ព័ត៌មាន", khmer, compiled, language="th") is None
    assert match("ព័ត៌មាន", khmer, compiled) is None


def test_language_queries_take_their_language_terms() -> None:
    compiled = compile_topic(indicator_topic(query="@recruitment", queries={"km": "@documents"}))
    assert compiled.queries["km"] == parse_query("@documents", compiled_groups(), "km")
    assert compiled.queries["*"] == parse_query("@recruitment", compiled_groups())
    khmer = "គេបានរឹបអូសលិខិតឆ្លងដែន។"
    assert match("", khmer, compiled, language="km-KH") is not None


def compiled_groups() -> dict[str, TermGroup]:
    return indicator_topic(query="x").term_groups()


def test_the_watchlist_index_agrees_with_each_topic() -> None:
    topics = [
        indicator_topic(query=INDICATORS),
        indicator_topic(name="km", queries={"km": "SENTENCE(@documents)"}),
        TopicSpec(name="plain", terms=("border",)),
    ]
    compiled = compile_watchlist(topics)
    articles = [
        StoredArticle(1, "Mekong Daily", [], "https://m.example/1", "Rescue", None, None, "en", LURED),
        StoredArticle(2, "Khmer News", [], "https://k.example/2", "ព័ត៌មាន", None, None, "km", "គេបានរឹបអូសលិខិតឆ្លងដែន"),
    ]
    for article in articles:
        expected = [
            found
            for t in topics
            if (found := match(article.title, article.text, compile_topic(t), language=article.language)) is not None
        ]
        assert match_article(article, compiled) == expected
    assert [h.topic for h in match_article(articles[0], compiled)] == ["indicators", "plain"]
    assert [h.indicators for h in match_article(articles[1], compiled)] == [{"documents": ["រឹបអូសលិខិតឆ្លងដែន"]}]


def alert(indicators: dict[str, list[str]] | None = None) -> AlertToSend:
    return AlertToSend(
        id=1, target="t", topic="indicators", terms=["@means"], words=["passports confiscated"],
        hit_sentence="Their passports confiscated, they were forced to defraud people online.", hit_field="text",
        title="Rescue", url="https://m.example/1", source_name="Mekong Daily", published_at=None, attempts=0,
        indicators=indicators or {},
    )  # fmt: skip


FIRED = {"means": ["passports confiscated"], "purpose": ["forced to defraud people online", "<b>*x*</b>"]}


@pytest.mark.parametrize(
    ("fmt", "line", "brief"),
    [
        (
            "text",
            "Indicators: means: *passports confiscated*; purpose: *forced to defraud people online*, *<b>*x*</b>*",
            "Indicators: means: *passports confiscated*; purpose: *forced to defraud people online* (+1)",
        ),
        (
            "markdown",
            "Indicators: means: *passports confiscated*; purpose: *forced to defraud people online*, "
            "*&lt;b&gt;\\*x\\*&lt;/b&gt;*",
            "Indicators: means: *passports confiscated*; purpose: *forced to defraud people online* \\(\\+1\\)",
        ),
        (
            "html",
            "<p>Indicators: means: <em>passports confiscated</em>; purpose: <em>forced to defraud people online</em>, "
            "<em>&lt;b&gt;*x*&lt;/b&gt;</em></p>",
            "Indicators: means: <em>passports confiscated</em>; purpose: <em>forced to defraud people online</em> (+1)",
        ),
    ],
)
def test_alert_names_the_indicators_escaped(fmt: str, line: str, brief: str) -> None:
    plain, with_groups = render_alert(alert(), fmt), render_alert(alert(FIRED), fmt)
    assert "Indicators" not in plain.body and render_alert(alert({}), fmt) == plain
    before = [line.rstrip() for line in plain.body.splitlines()]
    topic = next(i for i, text in enumerate(before) if "Topic: " in text)
    after = [line.rstrip() for line in with_groups.body.splitlines()]
    assert after == before[: topic + 1] + [line] + before[topic + 1 :]  # one line more, after the topic's
    if fmt == "markdown":  # a line break within the header block
        assert "in the text)  \nIndicators:" in with_groups.body
    digest = render_digest("indicators", [alert(FIRED)], fmt, "today")  # briefly: each group's first quote
    assert brief in digest.body and "&lt;b&gt;" not in digest.body
    assert "Indicators" not in render_digest("indicators", [alert()], fmt, "today").body
    assert indicators_line({}, fmt) is None
