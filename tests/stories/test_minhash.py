"""tasks.stories.minhash: one story told by several outlets is one story; different stories are not."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tasks.stories.minhash import MATCH_THRESHOLD, StoryFacts, StoryIndex, signature, similarity, words

FLOOD = """\
Floodwaters from the Mekong River have forced more than 12,000 families from their homes in Kratie
and Stung Treng provinces, the National Committee for Disaster Management said on Tuesday, as
officials warned that water levels could keep rising through the weekend.

The committee's spokesman, Soth Kimkolmony, told reporters in Phnom Penh that 47 schools had been
closed and that rescue teams had moved villagers from 23 communes to higher ground using police and
military boats. "The river rose almost a metre in two days, faster than anything we saw last year,"
he said. "Our priority is to bring people and their animals to safe places before night falls."

In Kratie town, the riverside road was under knee-deep water on Tuesday morning and several market
stalls had been abandoned. Farmers said they had lost rice that was only weeks from harvest. Chea
Sophal, who grows rice and vegetables on an island north of the town, said the water had covered his
fields in a single night. "Everything is under water. We took the children and the chickens, but the
crop is gone," he said.

The Ministry of Water Resources and Meteorology said heavy rain in Laos and northern Thailand had
swollen the river and its tributaries, and forecast more rain for the coming days. The Mekong River
Commission, which monitors water levels along the river, said the reading at Kratie had passed the
flood level of 22 metres on Monday evening and was still climbing.

Provincial authorities have opened 31 evacuation sites in pagodas and schools, and the Cambodian Red
Cross said it had distributed rice, drinking water, mosquito nets and hygiene kits to about 4,000
families. Health officials urged residents to boil water and to watch children closely near the
flooded roads, after two boys drowned in a swollen stream in Stung Treng province last week.

Prime Minister Hun Manet is expected to visit the affected districts on Thursday, the government
spokesman said.
"""

# The same event reported independently: same names, figures and one shared quote, different text.
FLOOD_OTHER_REPORT = """\
Rising water on the Mekong has swamped villages along the river in northeastern Cambodia, and
disaster officials say the worst may still be ahead. Soth Kimkolmony, spokesman for the National
Committee for Disaster Management, said evacuations were continuing in Kratie and Stung Treng, where
more than 12,000 families have left their homes since the weekend.

"The river rose almost a metre in two days, faster than anything we saw last year," he said.

Aid workers at a pagoda outside Kratie town described crowded conditions, with families sleeping
under tarpaulins next to their motorbikes and cattle. A volunteer with a local charity said supplies
of clean water were running low and that many of the evacuees were elderly people and young children
who had been brought from islands in the river by boat. Some villagers had refused to leave, she
said, because they feared their homes would be looted.

Meteorologists blame a late surge of monsoon rain upstream in Laos and Thailand. Cambodia's water
ministry expects the river to peak at Kratie on Saturday or Sunday, and has asked boat operators to
suspend ferry services across the river until the current slows. Schools in the two provinces will
stay closed for the rest of the week, education officials said.

Farmers' groups warned that losses to the rice harvest could be severe. Fields in low-lying districts
were planted late this year after a dry spell in June, and many were weeks away from harvest when
the water arrived. An official at the agriculture ministry said it was too early to estimate the
damage, but that seed would be distributed to affected farmers once the water receded so they could
replant before the dry season. Opposition politicians called on the government to speed up
compensation, saying that families who lost crops in last year's floods were still waiting for
payments promised to them.
"""

RATES = """\
The National Bank of Cambodia left its main policy rate unchanged on Wednesday and said it expected
inflation to stay below three percent this year, as lower fuel prices offset higher costs for food
imports. The central bank also kept reserve requirements for commercial banks at seven percent for
riel deposits and held the rate on its overnight lending facility steady.

Governor Chea Serey told a news conference in Phnom Penh that the economy was on track to grow by
about six percent in 2024, helped by a recovery in tourism and strong demand for garments, footwear
and travel goods from the United States and Europe. She said the bank would keep encouraging the use
of the riel in everyday payments, including through the Bakong mobile payment system, which now has
more than ten million accounts.

Economists said the decision was widely expected. Credit growth has slowed sharply over the past two
years as banks tightened lending to property developers and households after a construction boom,
and several microfinance institutions have restructured loans for borrowers who lost income during
the pandemic. Non-performing loans rose to about five percent of total lending at the end of June,
according to the central bank's latest financial stability report.

The bank said risks to the outlook included weaker growth in China, the country's largest source of
investment, and the possibility of higher global interest rates for longer. It said it would monitor
the property sector closely and was ready to use its policy tools if inflation or financial stability
came under pressure.

Analysts at a Phnom Penh brokerage said they expected the rate to stay on hold until at least the
middle of next year. They noted that the riel had been stable against the dollar and that the bank
held enough foreign reserves to cover about seven months of imports.
"""

NAV_A = "Mekong Daily Post | Home | Cambodia | Business | World | Sport | Opinion | Subscribe | Sign in\n\n"
FOOT_A = """

Related stories: Dam releases blamed for sudden river rise; Rice prices climb as harvest is hit;
Volunteers rush aid to island villages. Share this article on Facebook, Telegram or by email.
© 2024 Mekong Daily Post. All rights reserved. Privacy policy | Terms of use | Contact us
"""
NAV_B = "Kampuchea Times — Breaking news, analysis and opinion since 1998 — Newsletters | Podcasts | Search\n\n"
FOOT_B = "\n\nRead more: Cambodia floods 2024 live updates. Follow us on X and YouTube for the latest news."


def edited(text: str) -> str:
    """A second outlet's copy-edit: a few words changed, one sentence added (about 1% of the words)."""
    text = text.replace("said on Tuesday", "said Tuesday").replace("more than 12,000", "over 12,000")
    text = text.replace("Floodwaters from", "Floodwater from").replace("moved villagers", "evacuated villagers")
    return text + "\nThe ministry did not respond to a request for comment.\n"


def truncated(text: str, fraction: float = 0.7) -> str:
    words = text.split()
    return " ".join(words[: int(fraction * len(words))]) + " ..."


def sig(text: str) -> bytes:
    s = signature(text)
    assert s is not None
    return s


def test_one_story_from_three_outlets_is_one_story() -> None:
    index = StoryIndex()
    index.add(1, sig(FLOOD))
    index.add(2, sig(FLOOD_OTHER_REPORT))
    index.add(3, sig(RATES))
    copies = {
        "reformatted": "  ".join(FLOOD.upper().split()),
        "edited, other boilerplate": NAV_A + edited(FLOOD) + FOOT_A,
        "truncated, third boilerplate": NAV_B + truncated(FLOOD) + FOOT_B,
    }
    for name, text in copies.items():
        hit = index.nearest(sig(text))
        assert hit is not None and hit[0] == 1, name
        assert MATCH_THRESHOLD <= hit[1] <= 1.0, name


def test_different_stories_on_the_same_event_do_not_match() -> None:
    assert similarity(sig(FLOOD), sig(FLOOD_OTHER_REPORT)) < 0.1
    index = StoryIndex()
    index.add(1, sig(FLOOD))
    index.add(2, sig(NAV_A + edited(FLOOD) + FOOT_A))
    index.add(3, sig(RATES))
    assert index.nearest(sig(FLOOD_OTHER_REPORT)) is None
    # Not even when both carry the same outlet's nav and footer.
    assert index.nearest(sig(NAV_A + FLOOD_OTHER_REPORT + FOOT_A)) is None


def test_short_texts_get_no_signature() -> None:
    assert signature("") is None
    assert signature("Floods force 12,000 families from their homes in Kratie and Stung Treng.") is None
    plain = [w for w in FLOOD.split() if w.isalpha()]  # "12,000" would count as two words
    assert signature(" ".join(plain[:29])) is None
    assert signature(" ".join(plain[:30])) is not None
    assert signature("— " * 100) is None  # punctuation is not words


def test_signature_bytes_roundtrip() -> None:
    s = sig(FLOOD)
    assert len(s) == 2 + 4 * 128
    stored = bytes(memoryview(bytearray(s)))  # what comes back from a BLOB / bytea column
    assert stored == s == sig(FLOOD)
    assert similarity(stored, s) == 1.0
    assert similarity(s, sig(RATES)) < 0.1
    # Stored signatures are compared with new ones for 30 days: if a datasketch upgrade changes the
    # hash values, this fails and the format byte in tasks/stories/minhash.py must change with it.
    assert hashlib.sha256(s).hexdigest()[:16] == "3f3859fe194a3d1c"
    with pytest.raises(ValueError):
        similarity(s, s[:-4])
    with pytest.raises(ValueError):
        similarity(s, b"\x02" + s[1:])  # an unknown format
    with pytest.raises(ValueError):
        similarity(s, signature(FLOOD, shingle_words=5) or b"")  # other shingles: incomparable


def test_nearest_returns_the_best_of_several() -> None:
    index = StoryIndex()
    index.add(10, sig(NAV_A + edited(FLOOD) + FOOT_A))
    index.add(11, sig(FLOOD))
    index.add(12, sig(NAV_B + truncated(FLOOD) + FOOT_B))
    index.add(13, sig(RATES))
    assert len(index) == 4
    query = sig(FLOOD.replace("\n", " ").lower())
    matches = index.matches(query)
    assert [k for k, _ in matches][:1] == [11] and {k for k, _ in matches} == {10, 11, 12}
    assert [s for _, s in matches] == sorted((s for _, s in matches), reverse=True)
    assert index.nearest(query) == matches[0] == (11, 1.0)
    assert index.nearest(sig(FLOOD_OTHER_REPORT)) is None
    with pytest.raises(ValueError):
        index.add(11, sig(RATES))  # keys are unique


def test_words() -> None:
    assert words("U.S. officials said: “Floods—again!”") == ["u", "s", "officials", "said", "floods", "again"]
    # Khmer vowel signs are marks and stay; the zero-width space Khmer pages use separates words.
    assert words("ទឹកជំនន់\u200bបានបំផ្លាញ។ ផ្ទះ") == ["ទឹកជំនន់", "បានបំផ្លាញ", "ផ្ទះ"]


def test_empty_index() -> None:
    index = StoryIndex()
    assert len(index) == 0
    assert index.nearest(sig(FLOOD)) is None


def test_our_minhash_is_datasketchs_affine32_bit_for_bit() -> None:
    """Stored signatures were made with datasketch 2.0; ours must give the same values."""
    import random

    from datasketch import MinHash

    from tasks.stories.minhash import NUM_PERM, minhash

    rng = random.Random(7)
    for size in (0, 1, 2, 30, 500, 3000):
        items = [f"{rng.random()} {rng.randint(0, 10**9)} ក្រុង".encode() for _ in range(size)]
        theirs = MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32")
        theirs.update_batch(items)
        assert minhash(items).tolist() == theirs.hashvalues.tolist(), size


def test_signing_does_not_import_scipy() -> None:
    """The reason for our own MinHash: datasketch's package import pulls scipy into every worker."""
    import subprocess
    import sys

    code = (
        "import sys, tasks.ingest.workers as w; w.analyze(None, 'u', 't', 'w ' * 50, 'en'); "
        "print('scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


TEMPLATE = (
    "Scheduled maintenance notice number {n}. The customer portal will be unavailable during the "
    "maintenance window while engineers upgrade the database servers and apply security patches to "
    "the web front end. Customers are advised to complete any pending transactions before the window "
    "begins and to sign in again afterwards. Mobile applications will show a maintenance banner until "
    "the work is complete. We apologise for any inconvenience and thank you for your patience. "
    "Reference {m} in any question to the support desk."
)


def test_a_templated_flood_bounds_what_one_query_compares() -> None:
    """2,000 entries of one template, differing only by numbers, fill the same LSH buckets: a query
    is compared with at most HOT_BUCKET of each band's newest signatures, not with all of them
    (10,000 such entries took 3.5 minutes in story assignment; issue #19 item 19)."""
    from tasks.stories.minhash import HOT_BUCKET, LSH_BANDS

    index = StoryIndex()
    for n in range(2000):
        sig = signature(TEMPLATE.format(n=n, m=90000 + n))
        assert sig is not None
        index.add(n, sig)
    query = signature(TEMPLATE.format(n=5000, m=95000))
    assert query is not None
    found = index.matches(query)
    assert found, "a template's entries are near-duplicates of each other"
    assert len(found) <= LSH_BANDS * HOT_BUCKET and len(found) < 500  # without the cap: about 2,000
    assert max(k for k, _ in found) == 1999  # the newest entries stay candidates


def templated_index(merge_every: int, hot_bucket: int | None) -> StoryIndex:
    index = StoryIndex(hot_bucket=hot_bucket)
    index.MERGE_EVERY = merge_every  # type: ignore[misc]
    for n in range(40):
        index.add(n, sig(TEMPLATE.format(n=n, m=90000 + n)))
    return index


@pytest.mark.parametrize("merge_every", [1, 40])  # every signature merged at once; all merged at the end
def test_merged_signatures_are_found_as_pending_ones_are(merge_every: int) -> None:
    """bench/mutation.py: no test added MERGE_EVERY (2,048) signatures, so the merged (sorted) half
    of the index went untested: every mutant of _merge and most of _candidates survived."""
    query = sig(TEMPLATE.format(n=5000, m=95000))
    for hot_bucket in (4, None):
        merged, pending = templated_index(merge_every, hot_bucket), templated_index(2048, hot_bucket)
        assert len(merged._pending) == 0 and len(pending._sorted_bands) == 0
        assert merged.matches(query) == pending.matches(query)
    capped = templated_index(merge_every, 4).matches(query)
    assert sorted(k for k, _ in capped) == list(range(30, 40))  # each hot band's newest 4
    assert len(templated_index(merge_every, None).matches(query)) == 40  # no cap: every entry
    # copies and different stories alike, across merged and pending signatures
    index = StoryIndex()
    index.MERGE_EVERY = 2  # type: ignore[misc]
    for key, text in enumerate([RATES, FLOOD, NAV_A + edited(FLOOD) + FOOT_A, FLOOD_OTHER_REPORT, truncated(FLOOD)]):
        index.add(key, sig(text))
    assert [k for k, _ in index.matches(sig(FLOOD))] == [1, 2, 4]
    assert index.nearest(sig(RATES)) == (0, 1.0)


def test_shingle_estimate_counts_a_texts_distinct_shingles() -> None:
    from tasks.stories.minhash import SHORT_SHINGLES, shingle_estimate

    rng = random.Random(3)
    text = " ".join(f"w{rng.randrange(10**9)}" for _ in range(302))  # 300 distinct shingles
    estimate = shingle_estimate(np.frombuffer(sig(text), dtype="<u4", offset=2))
    assert 240 < estimate < 360  # within the estimate's error (about 9% at 128 permutations)
    assert estimate == pytest.approx(281.5943310991249, rel=1e-9)  # this text's estimate, exactly
    assert shingle_estimate(np.zeros(128, dtype=np.uint32)) == pytest.approx(127e12)  # never a division by 0
    assert SHORT_SHINGLES < 300


def facts(title: str | None, year: int = 2024) -> StoryFacts:
    return StoryFacts(title=title, when=datetime(year, 3, 1, tzinfo=UTC))


def test_titles_agree_unless_their_numbers_tell_editions_apart() -> None:
    """bench/mutation.py: StoryFacts.agrees and StoryIndex._same_story ran only in the database
    tests (tests/stories/test_story_rules.py)."""
    assert not facts("API v201509 sunset reminder").agrees(facts("API v201506 sunset reminder"))
    assert facts("42 workers freed from scam compound").agrees(facts("Police free 42 workers held in debt bondage"))
    assert facts("Floods: 12,000 families moved").agrees(facts("Floods"))  # one's numbers all in the other's
    assert facts("Floods").agrees(facts("Floods: 12,000 families moved"))
    assert facts(None).agrees(facts("v201506")) and facts("v201506").agrees(facts(None))
    assert facts("https://news.example/v201509").agrees(facts("v201506"))  # a URL is no title
    assert facts("https://news.example/v1").title_numbers is None and facts("").title_numbers is None


def test_an_index_with_a_window_keeps_stories_apart_in_time_and_short_texts_by_title() -> None:
    body = TEMPLATE.format(n=1, m=2)  # about 80 words: a short text
    index = StoryIndex(window=timedelta(days=30))
    index.add(1, sig(body), facts("Maintenance notice 1", 2016))
    index.add(2, sig(body + " "), facts("Maintenance notice 1", 2024))
    index.add(3, sig(body + "  "))  # no facts: always a candidate
    assert [k for k, _ in index.matches(sig(body), facts("Maintenance notice 1", 2024))] == [2, 3]
    assert [k for k, _ in index.matches(sig(body), facts("Maintenance notice 7", 2024))] == [3]  # short: title
    assert [k for k, _ in index.matches(sig(body))] == [1, 2, 3]  # no facts: text only
    no_window = StoryIndex()
    no_window.add(1, sig(body), facts("Maintenance notice 1", 2016))
    assert [k for k, _ in no_window.matches(sig(body), facts("Maintenance notice 1", 2024))] == [1]
    long = StoryIndex(window=timedelta(days=30))
    long.add(1, sig(FLOOD), facts("Floods: 12,000 families moved"))
    assert [k for k, _ in long.matches(sig(FLOOD), facts("Floods: 9,000 families moved"))] == [1]  # long: body


def test_bad_signatures_say_what_is_wrong() -> None:
    s = sig(FLOOD)
    with pytest.raises(ValueError, match="not a signature: 3 bytes, expected 514"):
        similarity(s, b"abc")
    with pytest.raises(ValueError, match="signature format 2 is not 1"):
        similarity(s, b"\x02" + s[1:])
    with pytest.raises(ValueError, match="signatures of 3- and 5-word shingles are not comparable"):
        similarity(s, signature(FLOOD, shingle_words=5) or b"")


def test_index_edges_thresholds_ties_and_errors() -> None:
    """bench/mutation.py: `>=` for `>` at the threshold and the window, the tie order, a cap of
    len - 1 without hot_bucket, facts dropped by nearest, unknown dates and error messages survived."""
    base = np.frombuffer(sig(FLOOD), dtype="<u4", offset=2)
    half = base.copy()
    half[64:] ^= np.uint32(0x5A5A5A5A)  # the first 64 values (21 whole bands) kept: similarity exactly 0.5
    half_sig = sig(FLOOD)[:2] + half.astype("<u4").tobytes()
    index = StoryIndex()
    index.add(5, sig(FLOOD))
    index.add(2, sig(FLOOD))  # the same text under a lower key, added later
    assert index.matches(half_sig) == [(2, 0.5), (5, 0.5)]  # at the threshold: a match; ties by key
    assert MATCH_THRESHOLD == 0.5
    uncapped = StoryIndex(hot_bucket=None)
    uncapped.add(1, sig(FLOOD))
    uncapped.add(2, sig(FLOOD))
    assert [k for k, _ in uncapped.matches(sig(FLOOD))] == [1, 2]  # every owner of a band
    window = StoryIndex(window=timedelta(days=30))
    window.add(1, sig(FLOOD), StoryFacts("Floods", datetime(2024, 3, 1, tzinfo=UTC)))
    assert window.nearest(sig(FLOOD), StoryFacts("Floods", datetime(2024, 3, 31, tzinfo=UTC))) == (1, 1.0)
    assert window.nearest(sig(FLOOD), StoryFacts("Floods", datetime(2024, 4, 1, tzinfo=UTC))) is None  # facts used
    assert window.nearest(sig(FLOOD), StoryFacts("Floods", None)) == (1, 1.0)  # no date: not kept apart
    with pytest.raises(ValueError, match="key 1 is already indexed"):
        window.add(1, sig(RATES))
    with pytest.raises(ValueError, match="index holds 3-word shingles, got 5"):
        window.add(9, signature(FLOOD, shingle_words=5) or b"")


def test_a_signature_is_the_minhash_of_the_texts_word_shingles() -> None:
    from tasks.stories.minhash import minhash

    text = " ".join(f"w{i}" for i in range(40))
    shingles = [f"w{i} w{i + 1} w{i + 2}".encode() for i in range(38)]  # 38 three-word shingles, no shorter
    assert sig(text) == b"\x01\x03" + minhash(shingles).astype("<u4").tobytes()
