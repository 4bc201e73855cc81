"""Topics of terms (compile_topic, match): whole words, wildcards, phrases across line breaks,
Unicode, exclusions, the hit sentence, and its highlighted words. Pure functions."""

from __future__ import annotations

import unicodedata

import pytest

from tasks.common.highlight import emphasize
from tasks.config import TopicSpec
from tasks.matching import CompiledTopic, TopicHit, compile_topic, match


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
