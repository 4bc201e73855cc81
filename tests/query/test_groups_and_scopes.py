"""tasks.query's indicator constructs: @groups of terms (per language), ATLEAST, SENTENCE and
PARAGRAPH scopes, exact-case terms; their errors, explanations (indicators) and prefilter."""

from __future__ import annotations

import os
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.query import (
    Doc,
    Explanation,
    Indicator,
    Query,
    QuerySyntaxError,
    Span,
    TermGroup,
    WatchlistIndex,
    parse_query,
)

GROUPS = {
    "act": TermGroup(["recruit*", "lured", "smuggled"]),
    "means": TermGroup(["deceived", "debt", "took their passports", "confiscated passport*"], {"km": ["បោកប្រាស់"]}),
    "purpose": TermGroup(["forced to work", "scam compound*", "forced to defraud people online"]),
    "kmonly": TermGroup([], {"km": ["ជួញដូរមនុស្ស"]}),
    "caps": TermGroup(["=US", '="Nifty 50"']),
}
KHMER = "ក្រុមហ៊ុនបានបោកប្រាស់កម្មករ។"  # the company deceived workers


def hits(query: str, text: str, title: str = "Report", lang: str | None = None, groups: bool = True) -> bool:
    return parse_query(query, GROUPS if groups else None).matches(Doc(title, text, lang=lang))


def explain(query: str, text: str, title: str = "Report", lang: str | None = None) -> Explanation:
    result = parse_query(query, GROUPS).explain(Doc(title, text, lang=lang))
    assert result is not None, query
    return result


# --- @groups -------------------------------------------------------------------------------------


def test_group_matches_any_of_its_terms() -> None:
    assert hits("@means", "They were deceived by a broker.")
    assert hits("@means", "The boss took  their\npassports.")
    assert hits("@means", "Officers found confiscated passports.")
    assert not hits("@means", "They paid their debts.")  # whole words: "debt" is not "debts"
    assert hits("@act AND @purpose", "Workers lured into a scam compound.")
    assert not hits("@act AND @purpose", "Workers lured into a factory.")


def test_group_names_are_case_insensitive_and_take_fields() -> None:
    assert hits("@MEANS", "deceived")
    assert hits("title:@means", "nothing", title="Deceived workers")
    assert not hits("title:@means", "deceived")
    assert hits("@act NEAR/3 @purpose", "They were lured with promises, forced to work")
    assert not hits("@act NEAR/2 @purpose", "lured one two three scam compounds")


def test_group_terms_per_article_language() -> None:
    assert hits("@means", KHMER, lang="km")  # the km terms are added for Khmer articles
    assert hits("@means", KHMER, lang="km-KH")
    assert not hits("@means", KHMER, lang="th")
    assert not hits("@means", KHMER, lang=None)
    assert hits("@means", "They were deceived.", lang="km")  # the terms for every language stay
    # A query compiled for one language takes that language's terms only.
    assert parse_query("@means", GROUPS, "km").matches(Doc("", KHMER, lang="th"))
    assert not parse_query("@means", GROUPS, "th").matches(Doc("", KHMER, lang="km"))


def test_group_inside_near_for_one_language() -> None:
    query = parse_query("@kmonly NEAR/30 @means", GROUPS)
    text = "ប៉ូលិសបានរកឃើញការជួញដូរមនុស្សដែលបានបោកប្រាស់កម្មករ"
    assert query.matches(Doc("", text, lang="km"))
    assert not query.matches(Doc("", text, lang="en"))
    result = query.explain(Doc("", text, lang="km"))
    assert result is not None
    assert [(i.group, i.quotes) for i in result.indicators] == [("kmonly", ("ជួញដូរមនុស្ស",)), ("means", ("បោកប្រាស់",))]


def test_near_explains_every_pair_in_its_field_and_names_a_group_only_where_it_applies() -> None:
    """Every pair, not the first one found, with each span and indicator in its own field; a
    group written for the title is not named for the same word in the text."""
    result = explain("@act NEAR/2 workers", "Smuggled workers and lured workers.", title="Lured workers")
    assert [(s.field, s.start, s.end) for s in result.spans] == [
        ("title", 0, 5),
        ("title", 6, 13),
        ("text", 0, 8),
        ("text", 9, 16),
        ("text", 21, 26),
        ("text", 27, 34),
    ]
    assert [(s.field, s.start) for s in result.indicators[0].spans] == [("title", 0), ("text", 0), ("text", 21)]
    assert result.indicators[0].quotes == ("Lured", "Smuggled")  # each distinct text the group matched
    assert explain("@act", "x", title="Lured").spans == (Span("title", 0, 5, "@act"),)
    result = explain("(title:@act OR lured) NEAR/2 workers", "lured workers", title="x")
    assert len(result.spans) == 2 and result.indicators == ()


def test_near_sides_with_a_group_for_one_language_and_overlapping_terms() -> None:
    # A side holding a group with per-language terms keeps its plain terms in every language.
    assert hits("(@means OR police) NEAR/2 workers", "police workers", lang="en")
    # The phrase ends right before "police", the word inside it earlier: the nearest by end counts.
    assert hits('police NEAR/1 ("human trafficking ring" OR trafficking)', "human trafficking ring police")


def test_undefined_group_and_group_without_terms_for_the_language() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("police AND @nope", GROUPS)
    assert (info.value.message, info.value.position) == ("undefined group @nope", 11)
    assert "@act, @caps, @kmonly, @means, @purpose" in info.value.detail
    assert str(info.value).split("\n")[2] == "  " + " " * 11 + "^"
    with pytest.raises(QuerySyntaxError, match="undefined group @x.*define it under groups"):
        parse_query("@x")
    with pytest.raises(QuerySyntaxError, match="group @kmonly has no terms for en"):
        parse_query("a OR @kmonly", GROUPS, "en")
    assert parse_query("@kmonly", GROUPS, "km").matches(Doc("", "ជួញដូរមនុស្ស"))
    with pytest.raises(QuerySyntaxError, match=r"invalid term 'traf\*ic' in group @bad at position 2"):
        parse_query("a @bad", {"bad": TermGroup(["traf*ic"])})
    with pytest.raises(QuerySyntaxError, match="source: cannot take a group"):
        parse_query("source:@act", GROUPS)


def test_explanation_names_each_group_with_the_text_it_matched() -> None:
    query = "ATLEAST(2, @act, @means, @purpose)"
    title = "Workers lured abroad"
    text = "Brokers LURED them, took their\npassports and they were forced to defraud people online. Lured again."
    result = explain(query, text, title)
    assert result.clauses == ("@act", "@means", "@purpose")
    assert result.indicators == (
        Indicator(
            "act",
            ("lured",),
            (Span("title", 8, 13, "@act"), Span("text", 8, 13, "@act"), Span("text", 88, 93, "@act")),
        ),
        Indicator("means", ("took their passports",), (Span("text", 20, 40, "@means"),)),
        Indicator("purpose", ("forced to defraud people online",), (Span("text", 55, 86, "@purpose"),)),
    )
    assert text[20:40] == "took their\npassports"  # quoted with its line break as a space
    assert text[88:93] == "Lured" and text[8:13] == "LURED"  # one quote for the three: case-blind


def test_explanation_without_groups_has_no_indicators() -> None:
    result = parse_query("police").explain(Doc("", "Police"))
    assert result is not None and result.indicators == ()
    result = explain("police OR @means", "police only")
    assert result.indicators == ()


def test_indicators_after_case_folding_that_changes_length_and_in_query_order() -> None:
    # "ß" folds to "ss": spans are mapped back to the text, indicators with them.
    result = explain("@act", "Die Straße: lured workers")
    assert result.indicators == (Indicator("act", ("lured",), (Span("text", 12, 17, "@act"),)),)
    # @act is found first for the right side (in the title), then for the left side, written
    # first: indicators are in the order the query first names each group.
    result = explain("(text:@act OR police) NEAR/3 (@means OR @act)", "lured deceived", "police deceived lured")
    assert [i.group for i in result.indicators] == ["act", "means"]


def test_term_groups_compare_and_hash_by_terms_and_languages() -> None:
    assert TermGroup(["a"]) != TermGroup(["b"]) and TermGroup(["a"]) != ["a"]
    assert TermGroup(["a"], {"KM": ["b"]}) == TermGroup(["a"], {"km": ["b"]})  # codes lower-cased
    assert hash(TermGroup(["a"], {"km": ["b"]})) == hash(TermGroup(["a"], {"KM": ["b"]}))


def test_query_with_groups_pickles_and_compares() -> None:
    q = parse_query("@means", GROUPS)
    assert pickle.loads(pickle.dumps(q)) == q
    assert q != parse_query("@means", {"means": TermGroup(["other"])})
    assert q != Query("@means", GROUPS, "km")
    assert q != parse_query("@means", {**GROUPS, "means": TermGroup(["other"])})  # the same names
    assert pickle.loads(pickle.dumps(q)).matches(Doc("", KHMER, lang="km"))


# --- ATLEAST -------------------------------------------------------------------------------------


def test_atleast_counts_distinct_operands() -> None:
    query = "ATLEAST(2, @act, @means, @purpose)"
    assert hits(query, "Lured and deceived.")
    assert not hits(query, "Lured, lured, lured and recruited.")  # one operand, many times: 1
    assert hits(query, "Recruited into a scam compound.")
    assert not hits(query, "Nothing of the sort.")
    assert hits("ATLEAST(1, a, b)", "b") and not hits("ATLEAST(2, a, b)", "b")
    assert hits("ATLEAST(3, a, b OR c, NOT d)", "a c") and not hits("ATLEAST(3, a, b OR c, NOT d)", "a c d")


def test_atleast_operands_are_whole_queries() -> None:
    query = "ATLEAST(2, (police OR court), title:raid, NOT football, lang:km)"
    assert hits(query, "The court ruled.")  # court, NOT football
    assert not hits(query, "The court ruled on football.")
    assert hits("ATLEAST(2, a b, c)", "b c a")
    assert not hits("ATLEAST(2, a b, c)", "a c x")  # "a b" is one operand


@pytest.mark.parametrize(
    ("query", "position", "start"),
    [
        ("ATLEAST(3, a, b)", 8, "ATLEAST(3, ...) out of range"),
        ("ATLEAST(0, a)", 8, "ATLEAST(0, ...) out of range"),
        ("ATLEAST(a, b)", 8, "ATLEAST needs a count first"),
        ("ATLEAST(=2, a)", 8, "ATLEAST needs a count first"),
        ("ATLEAST(2 a, b)", 10, "ATLEAST needs a comma after its count"),
        ("ATLEAST(1)", 9, "ATLEAST needs a comma after its count"),
        ("ATLEAST(2, a, b c, a)", 19, "ATLEAST operand repeated"),
        ("ATLEAST(1,)", 9, "empty ATLEAST operand"),
        ("ATLEAST(2, a,, b)", 12, "empty ATLEAST operand"),
        ("ATLEAST(2, a, b", 7, "unbalanced parenthesis"),
        ("ATLEAST(1, a b) c)", 17, "unbalanced parenthesis"),
        ("ATLEAST 2, a", 0, "ATLEAST needs parentheses"),
        ("x ATLEAST", 2, "ATLEAST needs parentheses"),
        ("SENTENCE a b", 0, "SENTENCE needs parentheses"),
        ("PARAGRAPH()", 9, "empty parentheses"),
        ("SENTENCE(a) NEAR/3 b", 0, "NEAR/3 operand is not a term, phrase or group"),
        ("a NEAR/3 ATLEAST(1, b)", 9, "NEAR/3 operand"),
        ("@", 0, "bad group name"),
        ("@1x", 0, "bad group name"),
        ("a @b.c", 2, "bad group name"),
        ("=", 0, "lone '='"),
        ("a = b", 2, "lone '='"),
        ("=@act", 0, "'=' before a field, group or '='"),
        ("=title:x", 0, "'=' before a field, group or '='"),
        ("tag:=x", 4, "'=' on a field value"),
        ('a ="unterminated', 3, "unterminated phrase"),
        ("title:=", 6, "lone '='"),
    ],
)
def test_syntax_errors_point_at_the_culprit(query: str, position: int, start: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query, GROUPS)
    err = info.value
    assert err.message.startswith(start), err.message
    assert (err.position, err.query) == (position, query)
    assert str(err).split("\n")[2] == " " * (2 + position) + "^"


WILDCARD_HELP = "only a trailing wildcard (traffick*) is supported"
BROKEN = {
    "star": TermGroup(["traf*ic"]),
    "dash": TermGroup(["-"]),
    "blank": TermGroup(["ok", ""]),
    "none": TermGroup([]),
}


@pytest.mark.parametrize(
    ("query", "first_line"),
    [
        ("tag:=x", "'=' on a field value at position 4: tag: values always compare case-insensitively"),
        ('source:""', "empty phrase at position 7"),  # no advice: nothing after the position
        ('source:" a*a"', f"'*' inside a word at position 10: {WILDCARD_HELP}"),  # inside a field's phrase
        ("source:@act", "source: cannot take a group at position 0: a group holds terms: use title: or text:"),
        ("a -", "lone '-' at position 2: use NOT to exclude a term"),
        ("-drug", "'-' is not NOT at position 0: write NOT drug"),
        ("a *", "lone '*' at position 2: a wildcard needs a prefix, as in traffick*"),
        ("traf*ick", f"'*' inside a word at position 4: {WILDCARD_HELP}"),
        ('"human* trafficking"', "'*' inside a phrase at position 6: only its last word may end in *"),
        ("a @star", f"invalid term 'traf*ic' in group @star at position 2: '*' inside a word: {WILDCARD_HELP}"),
        ("a @dash", "invalid term '-' in group @dash at position 2: empty phrase"),  # the term's error had no advice
        ("a @blank", "empty term in group @blank at position 2"),
        ("@none", "group @none has no terms at position 0: give it terms, or a list for the language"),
    ],
)
def test_each_leaf_error_says_what_to_do(query: str, first_line: str) -> None:
    """The whole first line of the errors of terms, field values and group references (the
    tests above check how each starts and where it points)."""
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query, {**GROUPS, **BROKEN})
    assert str(info.value).split("\n")[0] == first_line


def test_group_errors_without_groups_or_for_one_language() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("@x")
    assert (
        str(info.value).split("\n")[0] == "undefined group @x at position 0: define it under groups: in the watchlist"
    )
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("a OR @kmonly", GROUPS, "en")
    first = str(info.value).split("\n")[0]
    assert first == "group @kmonly has no terms for en at position 5: give it terms, or a list for the language"


def test_wildcards_and_field_values_ending_in_x_or_holding_an_underscore() -> None:
    # A capital X before the '*' is part of the prefix (the first letter of no syntax), as is "X".
    assert hits("boX*", "Boxes of food.") and not hits("boX*", "A boat sank.")
    assert hits("X", "Planet X.")
    assert parse_query("source:BX*").matches(Doc("t", "x", source="BX News"))
    assert not parse_query("source:BX*").matches(Doc("t", "x", source="BBC"))
    # lang: reads an underscore as a hyphen (en_GB is en-GB); tag: and source: compare it as written.
    assert hits("lang:en_GB", "x", lang="en-GB")
    assert parse_query("tag:a_b").matches(Doc("t", "x", tags=("a_b",)))
    assert not parse_query("tag:a_b").matches(Doc("t", "x", tags=("a-b",)))


def test_commas_are_syntax_only_inside_atleast() -> None:
    assert hits("1,000", "About 1,000 workers.")  # a word, as before
    assert hits('ATLEAST(1, "1,000", b)', "About 1,000 workers.")
    assert hits("ATLEAST(2, (x, y), z)", "x, y z")  # inside nested parentheses: part of the word "x,"


# --- SENTENCE and PARAGRAPH ------------------------------------------------------------------------

ARTICLE = (
    "Brokers lured the workers. Their passports were confiscated at the border.\n\n"
    "Later they were forced to work in a compound. Nobody was paid."
)


def test_sentence_paragraph_and_whole_text() -> None:
    assert hits("lured passports", ARTICLE)  # the whole text
    assert not hits("SENTENCE(lured passports)", ARTICLE)
    assert hits("PARAGRAPH(lured passports)", ARTICLE)
    assert not hits("PARAGRAPH(lured forced)", ARTICLE)
    assert hits("SENTENCE(passports confiscated)", ARTICLE)
    assert hits("SENTENCE(@act) SENTENCE(@purpose)", ARTICLE)  # each in a sentence of its own
    assert not hits("SENTENCE(@act @purpose)", ARTICLE)


def test_not_inside_a_scope_means_not_in_that_sentence() -> None:
    assert hits("SENTENCE(workers NOT passports)", ARTICLE)  # the first sentence
    assert not hits("workers NOT passports", ARTICLE)
    assert hits("SENTENCE(NOT lured)", ARTICLE)
    assert not hits("SENTENCE(NOT lured)", "Lured.", title="Lured")
    assert hits("PARAGRAPH(forced NOT lured)", ARTICLE)


def test_scope_looks_at_title_and_text_separately() -> None:
    assert hits("SENTENCE(lured)", "nothing", title="Workers lured")
    assert not hits("SENTENCE(title:lured AND text:passports)", ARTICLE, title="Workers lured")
    assert hits("SENTENCE(title:lured)", "x", title="Workers lured")
    assert not hits("SENTENCE(text:lured)", "x", title="Workers lured")


def test_near_and_atleast_inside_a_scope_and_nested_scopes() -> None:
    assert hits("SENTENCE(passports NEAR/3 confiscated)", ARTICLE)
    assert not hits("SENTENCE(workers NEAR/5 passports)", ARTICLE)  # 2 words apart, but across a stop
    assert hits("SENTENCE(ATLEAST(2, brokers, lured, border))", ARTICLE)
    assert not hits("SENTENCE(ATLEAST(2, lured, border, paid))", ARTICLE)
    assert hits("PARAGRAPH(SENTENCE(forced compound) paid)", ARTICLE)
    assert not hits("SENTENCE(PARAGRAPH(forced paid))", ARTICLE)


def test_a_sentence_inside_a_paragraph_is_still_a_sentence() -> None:
    assert not hits("PARAGRAPH(SENTENCE(lured passports))", ARTICLE)  # one paragraph, two sentences
    assert hits("PARAGRAPH(SENTENCE(passports confiscated))", ARTICLE)


def test_an_article_without_a_language_matches_no_lang_clause() -> None:
    assert not hits("lang:x*", "x") and hits("NOT lang:x*", "x")


def test_phrase_across_a_sentence_break_is_in_no_sentence() -> None:
    assert hits('"border later"', "At the border\nlater, home.")  # a line break separates words...
    assert not hits('SENTENCE("border later")', "At the border\nlater, home.")  # ...and sentences


def test_scope_explanation_keeps_the_sentences_that_hold() -> None:
    result = explain("SENTENCE(@act NOT paid)", "Lured in March. Lured again, then paid. Lured twice.")
    assert [(s.start, s.end) for s in result.spans] == [(0, 5), (40, 45)]
    assert result.indicators[0].quotes == ("Lured",)


def test_sentences_after_case_folding_that_changes_length() -> None:
    doc = Doc("", "Die STRAẞE war voll. Menschenhändler kamen. Ende.")
    result = parse_query("SENTENCE(menschenhändler*)").explain(doc)
    assert result is not None
    assert [doc.text[s.start : s.end] for s in result.spans] == ["Menschenhändler"]


# --- exact case ----------------------------------------------------------------------------------


def test_exact_case_terms() -> None:
    assert hits("=US", "The US said.") and not hits("=US", "Let us go.") and not hits("=US", "The Us said.")
    assert hits("us", "The US said.")  # the default stays case-blind
    assert hits('="Nifty 50"', "The Nifty\n50 rose.") and not hits('="Nifty 50"', "The NIFTY 50 rose.")
    assert hits("=Traffick*", "Trafficking rose.") and not hits("=Traffick*", "trafficking rose.")
    assert hits("title:=US", "x", title="US aid") and not hits("title:=US", "US aid", title="x")
    assert hits("=Straße", "Die Straße.") and not hits("=Straße", "Die STRASSE.")
    assert not hits("=STRASSE", "Die Straße.")
    assert hits("@caps", "The Nifty 50 and the us.") and not hits("@caps", "the nifty 50 and the us.")
    assert hits("=US NOT us", "The US said.") is False  # "us" (case-blind) is there too


def test_exact_case_explanation_and_index() -> None:
    doc = Doc("US aid", "Let us see: the US and the us.")
    result = parse_query("=US").explain(doc)
    assert result is not None
    assert [(s.field, s.start) for s in result.spans] == [("title", 0), ("text", 16)]
    assert doc.text[16:18] == "US"
    index = WatchlistIndex({"exact": parse_query("=US"), "blind": parse_query("us"), "none": parse_query("=Us")})
    assert set(index.match(doc)) == {"exact", "blind"}
    assert parse_query("=US").requirement() == [frozenset({"us"})]


# --- prefilter -----------------------------------------------------------------------------------


def test_the_prefilter_takes_the_most_selective_set_and_lets_through_only_what_can_match() -> None:
    # Of an AND's sets the longest literal ("police", not "fire"); at equal length the set with
    # fewer literals ("rain", not "fire" or "snow").
    assert parse_query("(fire AND police) OR smoke").requirement() == [frozenset({"police", "smoke"})]
    assert parse_query("(rain AND (fire OR snow)) OR x").requirement() == [frozenset({"rain", "x"})]
    index = WatchlistIndex({"and": parse_query("police AND fire"), "or": parse_query("(fire AND police) OR smoke")})
    assert index.candidates(Doc("", "police only")) == 1  # "and" needs fire too
    assert index.candidates(Doc("", "fire only")) == 0
    assert index.candidates(Doc("", "fire and police")) == 2


@pytest.mark.parametrize("text", ["human  trafficking", "human - trafficking", "human\t trafficking"])
def test_the_index_squeezes_runs_of_spaces_and_separators(text: str) -> None:
    index = WatchlistIndex({"q": parse_query('"human trafficking"')})
    assert set(index.match(Doc("", text))) == {"q"}


def test_requirements_of_groups_atleast_and_scopes() -> None:
    def req(query: str) -> list[frozenset[str]]:
        return parse_query(query, GROUPS).requirement()

    act = frozenset({"recruit", "lured", "smuggled"})
    assert req("@act") == [act]
    assert req("@kmonly") == [frozenset({"ជួញដូរមនុស្ស"})]  # every language's terms
    assert req("ATLEAST(3, a, b, c)") == [frozenset({"a"}), frozenset({"b"}), frozenset({"c"})]
    assert req("ATLEAST(2, @act, b, c)") == [act | {"b", "c"}]
    assert req("ATLEAST(1, a, NOT b)") == []
    assert req("ATLEAST(2, a, b, NOT c)") == [frozenset({"a", "b"})]
    assert req("ATLEAST(3, a, NOT b, NOT c)") == [frozenset({"a"})]
    assert req("SENTENCE(a NOT b)") == [frozenset({"a"})]
    assert req("PARAGRAPH(NOT b)") == []


PROPERTY = settings(
    max_examples=int(os.environ.get("QUERY_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

WORDS = ["lured", "LURED", "recruited", "debt", "Debt", "US", "us", "passports", "police", "took", "their",
         "forced", "work", "បោកប្រាស់", "ជួញដូរមនុស្ស", "straße", "STRASSE"]  # fmt: skip
SEPARATORS = [" ", "  ", ". ", "\n", "\n\n", " -\n", ", ", "-", "! "]


@st.composite
def texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), max_size=14))
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(words), max_size=len(words)))
    return "".join(w + s for w, s in zip(words, seps, strict=True))


docs = st.builds(Doc, title=texts(), text=texts(), lang=st.sampled_from([None, "km", "en", "km-KH"]))
PROPERTY_GROUPS = {
    "act": TermGroup(["lured", "recruit*"], {"km": ["ជួញដូរមនុស្ស"]}),
    "means": TermGroup(["debt", '"took their passports"', "=US"], {"km": ["បោកប្រាស់"]}),
    "purpose": TermGroup(["forced to work", "police"]),
    "kmonly": TermGroup([], {"km": ["បោកប្រាស់", "lured"]}),
}
LEAVES = ["@act", "@means", "@purpose", "@kmonly", "lured", "=US", "us", "=Debt", "strasse", "title:@act",
          '"forced work"', "lang:km", "police", "ជួញដូរមនុស្ស"]  # fmt: skip


@st.composite
def group_queries(draw: st.DrawFn, depth: int = 0) -> str:
    if depth >= 2 or draw(st.booleans()):
        if draw(st.integers(0, 4)) == 0:
            op = draw(st.sampled_from(["NEAR", "ONEAR"]))
            side = st.sampled_from(["@act", "@means", "@kmonly", "police", "(us OR @purpose)"])
            return f"{draw(side)} {op}/{draw(st.integers(1, 4))} {draw(side)}"
        return draw(st.sampled_from(LEAVES))
    shape = draw(st.sampled_from(["atleast", "scope", "({} OR {})", "({} AND {})", "({} NOT {})", "NOT {}"]))
    if shape == "atleast":
        operands = draw(st.lists(group_queries(depth + 1), min_size=1, max_size=4, unique=True))
        return f"ATLEAST({draw(st.integers(1, len(operands)))}, {', '.join(operands)})"
    if shape == "scope":
        return f"{draw(st.sampled_from(['SENTENCE', 'PARAGRAPH']))}({draw(group_queries(depth + 1))})"
    return shape.format(draw(group_queries(depth + 1)), draw(group_queries(depth + 1)))


@PROPERTY
@given(st.lists(group_queries(), min_size=1, max_size=8), st.lists(docs, min_size=1, max_size=4))
def test_index_agrees_with_each_query(texts_: list[str], docs_: list[Doc]) -> None:
    """The prefilter never drops an article a query matches, and explains it the same way."""
    parsed = {i: parse_query(t, PROPERTY_GROUPS) for i, t in enumerate(texts_)}
    index = WatchlistIndex(parsed)
    for doc in docs_:
        expected = {i: q.explain(doc) for i, q in parsed.items() if q.matches(doc)}
        assert index.match(doc) == expected
        for i in expected:  # every requirement set is met by a literal of the article
            folded = " ".join((doc.title + " " + doc.text).casefold().replace("-", " ").split())
            for literals in parsed[i].requirement():
                assert any(lit in folded for lit in literals), (texts_[i], literals)


@PROPERTY
@given(docs, st.lists(st.sampled_from(LEAVES), min_size=1, max_size=5, unique=True), st.data())
def test_atleast_is_a_count_of_matching_operands(doc: Doc, operands: list[str], data: st.DataObject) -> None:
    n = data.draw(st.integers(1, len(operands)))
    each = [parse_query(o, PROPERTY_GROUPS).matches(doc) for o in operands]
    assert parse_query(f"ATLEAST({n}, {', '.join(operands)})", PROPERTY_GROUPS).matches(doc) == (sum(each) >= n)


@PROPERTY
@given(docs, st.sampled_from(LEAVES), st.sampled_from(LEAVES))
def test_scopes_are_narrower_than_the_whole_text(doc: Doc, a: str, b: str) -> None:
    def m(query: str) -> bool:
        return parse_query(query, PROPERTY_GROUPS).matches(doc)

    sentence, paragraph, whole = m(f"SENTENCE({a} {b})"), m(f"PARAGRAPH({a} {b})"), m(f"{a} {b}")
    assert (not sentence or paragraph) and (not paragraph or whole)
    if not any(ch in a for ch in ':@"'):  # one word: in a sentence exactly when in the text
        assert m(f"SENTENCE({a})") == m(a)


FUZZ = ["ATLEAST", "ATLEAST(", "SENTENCE(", "PARAGRAPH", "(", ")", ",", "2", "0", "@act", "@", "@nope", "=", "=US",
        '="', '"', "title:", "title:=", "lang:", "NOT", "OR", "NEAR/2", "lured", "*", "@kmonly", " "]  # fmt: skip


@PROPERTY
@given(st.lists(st.sampled_from(FUZZ), max_size=14).map(" ".join), st.lists(st.sampled_from(FUZZ), max_size=14))
def test_parse_raises_only_query_syntax_errors(spaced: str, pieces: list[str]) -> None:
    for query in (spaced, "".join(pieces)):
        for language in (None, "km", "en"):
            try:
                q = parse_query(query, PROPERTY_GROUPS, language)
            except QuerySyntaxError as err:
                assert 0 <= err.position <= len(query)
                continue
            q.explain(Doc("US lured", "lured. debt\n\nបោកប្រាស់", lang="km"))  # evaluation must not raise
