"""Text as every stage cleans, normalizes, hashes and splits it (tasks.common.text)."""

from __future__ import annotations

from tasks.common.text import MIN_HASHED_CHARS, clean, content_hash, normalize, sentences

BODY = (
    "Three provincial officials in Preah Sihanouk have been accused of colluding with human traffickers "
    "who lured workers from across the region into online scam compounds, rights groups said on Thursday. "
    "The Ministry of Interior said it would investigate the allegations."
)


def test_clean_removes_controls_and_collapses_spaces() -> None:
    assert clean("a\x00b\x07  c\t\td\r\n\r\n\r\ne\x9f") == "ab c d\n\ne"
    assert clean(None) == ""
    assert clean("  abcdef  ", 3) == "abc"


def test_content_hash_short_texts_get_none() -> None:
    assert content_hash("") is None
    assert content_hash("Three officials are accused of colluding with traffickers.") is None
    assert content_hash("x" * (MIN_HASHED_CHARS - 1)) is None
    assert content_hash("x" * MIN_HASHED_CHARS) is not None


def test_content_hash_equal_for_whitespace_and_case_variants() -> None:
    assert len(BODY) >= MIN_HASHED_CHARS
    variant = "  " + BODY.upper().replace(" ", "  \n\t ") + "\n"
    h = content_hash(BODY)
    assert h is not None and len(h) == 64
    assert content_hash(variant) == h
    assert content_hash("\uff34" + BODY[1:]) == h  # fullwidth 'Ｔ' -> 'T'


def test_content_hash_differs_for_different_text() -> None:
    assert content_hash(BODY) != content_hash(BODY.replace("Thursday", "Friday"))


def test_normalize() -> None:
    assert normalize("  Straße\n\nIST   Lang ") == "strasse ist lang"
    assert normalize("ﬁne") == "fine"  # NFKC ligature


def test_sentences_split() -> None:
    assert sentences("One. Two! Three?\nFour\n\nFive។ ប្រាំមួយ") == ["One.", "Two!", "Three?", "Four", "Five។", "ប្រាំមួយ"]
