"""Throughput of tasks.query.WatchlistIndex.match on a fixed, seeded corpus.

    .venv/bin/python bench/match.py

About 1,000 generated news articles (about 400 words, English, some with Khmer or Thai passages,
a few wholly Khmer) against 1, 100 and 1,000 generated topics that use phrases, wildcards,
NEAR/ONEAR, NOT and fields. Reports articles/second (median of 3 runs, pinned to one core), the
candidates the prefilter let through and the matches per article (rates are per CPU second
of this process, so that other processes on a shared machine do not count); then the naive baseline
(every Query.matches on every article, no prefilter) for 100 topics on a subset, after checking
that both give the same matches. Prints a table and one JSON line, writes
bench/results/match.json.
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reference import machine_reference, per_loop, reference_line  # noqa: E402
from tasks.matching import CompiledScore  # noqa: E402
from tasks.query import Doc, Query, WatchlistIndex, parse_query, terms_query  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "match.json"
SEED = 20240611
ARTICLES = 1000
WORDS = 400
TOPIC_COUNTS = (1, 100, 1000)
NAIVE_TOPICS = 100
NAIVE_ARTICLES = 200
RUNS = 3
SHIPPED = "human-trafficking"
PHRASE = re.compile(r'"([^"]+)"')

PLACE_NAMES = [
    "Phnom Penh", "Sihanoukville", "Siem Reap", "Battambang", "Poipet", "Kampot", "Koh Kong", "Takeo", "Kandal",
    "Kratie", "Stung Treng", "Ratanakiri", "Mondulkiri", "Pursat", "Svay Rieng", "Prey Veng", "Kampong Cham",
    "Bangkok", "Chiang Mai", "Mae Sot", "Vientiane", "Luang Prabang", "Hanoi", "Yangon", "Myawaddy", "Shwe Kokko",
    "Manila", "Jakarta", "Kuala Lumpur", "Preah Sihanouk", "Oddar Meanchey", "Banteay Meanchey", "Pailin",
]  # fmt: skip
ISSUES = [
    "human trafficking", "forced labour", "debt bondage", "land grabbing", "illegal logging", "scam compound",
    "money laundering", "press freedom", "child labour", "migrant workers", "sand mining", "wildlife trafficking",
    "garment factory", "minimum wage", "election fraud", "border dispute", "rice exports", "dengue fever",
    "flash floods", "deforestation", "online gambling", "cyber scam", "microfinance debt", "forced evictions",
    "drug trafficking", "road safety", "traffic accident", "power outage", "hydropower dam", "fish stocks",
    "rubber plantation", "bird flu", "land dispute", "sexual exploitation", "child marriage", "labour rights",
    "trade union", "freedom of expression", "political prisoners", "judicial independence", "corruption case",
    "tax evasion", "customs fraud", "illegal fishing", "river pollution", "air quality", "heat wave", "drought",
    "crop failure", "fertiliser prices", "fuel prices", "inflation rate", "exchange rate", "foreign investment",
    "special economic zone", "casino licence", "property bubble", "construction collapse", "building safety",
    "school enrolment", "teacher shortage", "university fees", "hospital funding", "maternal health",
    "malaria cases", "tuberculosis", "vaccination campaign", "food safety", "water supply", "sanitation",
    "solar power", "coal plant", "electricity tariff", "mobile payments", "data protection", "internet shutdown",
    "social media law", "cybercrime law", "defamation charges", "journalist arrested", "protest ban",
    "opposition leader", "party dissolution", "local elections", "voter registration", "constitutional amendment",
    "border crossing", "refugee camp", "asylum seekers", "deportation flights", "visa overstay", "worker remittances",
    "fishing boat", "sea slavery", "palm oil", "sugar plantation", "brick kiln", "domestic workers",
    "child abuse", "orphanage tourism", "organ trafficking", "surrogacy ring", "bride trafficking",
    "arms smuggling", "timber smuggling", "gold mining", "mercury poisoning", "mangrove loss", "coral reef",
    "tourism arrivals", "airport expansion", "railway project", "expressway toll", "port concession",
    "football league", "boxing match", "marathon race", "film festival", "temple restoration", "heritage site",
]  # fmt: skip
# What most of a feed is about and nobody here watches: half the articles focus on these.
UNWATCHED = [
    "quarterly earnings", "stock market", "celebrity wedding", "weather forecast", "new smartphone",
    "car sales", "hotel opening", "fashion week", "cooking contest", "music concert", "lottery results",
    "shopping mall", "bank holiday", "exam results", "bridge repairs", "street food", "coffee prices",
    "art exhibition", "chess tournament", "badminton final", "golf course", "cinema release", "book fair",
    "pagoda festival", "boat racing", "water festival", "new year holiday", "phone tariffs", "airline routes",
    "cruise ship", "bus service", "tuk tuk drivers", "parking fees", "city lights", "night market",
]  # fmt: skip
ACTORS = [
    "police", "officials", "the ministry", "provincial authorities", "rights groups", "the court", "prosecutors",
    "the governor", "the military police", "labour unions", "villagers", "investors", "an NGO", "the embassy",
    "the UN agency", "local journalists", "the opposition", "district officers", "immigration officers",
]  # fmt: skip
VERBS = [
    "said", "denied", "reported", "confirmed", "investigated", "warned about", "condemned", "raised concerns over",
    "announced measures against", "arrested suspects linked to", "rescued victims of", "questioned", "ignored",
]  # fmt: skip
FILLER = [
    "the", "a", "of", "in", "on", "for", "with", "at", "by", "from", "as", "and", "to", "that", "this", "was",
    "were", "is", "are", "be", "has", "have", "had", "will", "would", "year", "month", "week", "day", "people",
    "government", "country", "region", "report", "statement", "meeting", "project", "market", "company", "price",
    "growth", "development", "policy", "plan", "public", "local", "national", "international", "economic",
    "social", "political", "new", "major", "recent", "several", "many", "other", "more", "most", "first", "last",
    "second", "third", "official", "senior", "former", "according", "told", "spokesman", "statement", "interview",
    "told", "reporters", "on", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
]  # fmt: skip
SURNAMES = [
    "Sok", "Chan", "Heng", "Meas", "Kim", "Lim", "Chea", "Ouk", "Sam", "Keo", "Nhem", "Pich", "Ros", "Seng", "Tep",
    "Vann", "Yim", "Hun", "Prak", "Long",
]  # fmt: skip
GIVEN = [
    "Dara", "Vuthy", "Sophea", "Rithy", "Sokha", "Bopha", "Chenda", "Kosal", "Nary", "Piseth", "Samnang", "Sovann",
    "Theary", "Vanna", "Vichea", "Sreymom", "Sothea", "Rathana", "Chantha", "Kimsan", "Leakhena", "Makara",
    "Narin", "Phalla", "Ratha", "Sambath", "Sopheak", "Thida", "Veasna", "Visal", "Bunthoeun", "Chanthou", "Dalin",
    "Kanha", "Lida", "Mony", "Nimol", "Pisey", "Raksmey", "Sinat",
]  # fmt: skip
COMPANIES = [
    f"{a} {b}"
    for a in ("Golden", "Royal", "Mekong", "Angkor", "Asia", "Lucky", "Prince", "Huione", "Star", "Pacific", "Delta")
    for b in ("Group", "Holdings", "Investment", "Development", "Resorts", "Bank", "Garments", "Logistics")
]
SOURCES = ["Khmer Times", "Phnom Penh Post", "CamboJA News", "VOD English", "Bangkok Post", "Mekong Eye", "RFA"]
TAGS = ["cambodia", "thailand", "laos", "vietnam", "myanmar", "regional", "business", "rights"]
KHMER = [
    "ប៉ូលិសបានចាប់ខ្លួនជនសង្ស័យពីបទជួញដូរមនុស្សនៅខេត្តព្រះសីហនុ។",
    "អាជ្ញាធរខេត្តបានរកឃើញកម្មករចំនួនម្ភៃនាក់ដែលត្រូវបានបង្ខំឱ្យធ្វើការ។",
    "ក្រសួងការងារបានប្រកាសពីវិធានការថ្មីដើម្បីការពារពលករចំណាកស្រុក។",
    "ការនាំចេញអង្ករបានកើនឡើងក្នុងខែតុលា។",
    "ទឹកជំនន់បានបំផ្លាញផ្ទះប្រជាពលរដ្ឋជាច្រើននៅខេត្តក្រចេះ។",
    "តុលាការបានកាត់ទោសជនជាប់ចោទពីបទលាងលុយកខ្វក់។",
]
THAI = [
    "ตำรวจจับกุมผู้ต้องสงสัยคดีค้ามนุษย์ที่ชายแดนแม่สอด",
    "แรงงานข้ามชาติถูกบังคับให้ทำงานในแก๊งคอลเซ็นเตอร์",
    "ราคาข้าวส่งออกเพิ่มขึ้นในเดือนตุลาคม",
    "น้ำท่วมฉับพลันในจังหวัดเชียงใหม่",
]
KHMER_TERMS = ["ជួញដូរមនុស្ស", "ពលករចំណាកស្រុក", "លាងលុយកខ្វក់", "ទឹកជំនន់", "បង្ខំឱ្យធ្វើការ", "ការនាំចេញអង្ករ"]
THAI_TERMS = ["ค้ามนุษย์", "แรงงานข้ามชาติ", "แก๊งคอลเซ็นเตอร์", "น้ำท่วม", "ข้าวส่งออก"]


def person(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"


def sentence(rng: random.Random, focus: list[str], cast: list[str], places: list[str]) -> str:
    """One sentence: about the article's issues a third of the time, otherwise about its people,
    companies and places, or plain filler."""
    roll = rng.random()
    issue = rng.choice(focus) if rng.random() < 0.95 else rng.choice(ISSUES)
    place = rng.choice(places)
    who = rng.choice(cast)
    if roll < 0.2:
        s = f"{rng.choice(ACTORS).capitalize()} in {place} {rng.choice(VERBS)} {issue} on {rng.choice(FILLER)}"
    elif roll < 0.35:
        s = f"The case of {issue} in {place} involved {rng.randint(2, 300)} people and {rng.choice(ACTORS)}"
    elif roll < 0.55:
        s = f"{who}, {rng.choice(['a spokesman for', 'the head of', 'an adviser to'])} {rng.choice(cast[-2:])}, "
        s += f"{rng.choice(VERBS)} {rng.choice(FILLER)} {rng.choice(FILLER)} in {place}"
    else:
        s = " ".join(rng.choice(FILLER) for _ in range(rng.randint(8, 18))).capitalize()
    return s + rng.choice([".", ".", ".", ",", " -", ";"])


def articles(rng: random.Random) -> list[Doc]:
    docs = []
    for _ in range(ARTICLES):
        focus = rng.sample(ISSUES, 2) if rng.random() < 0.5 else rng.sample(UNWATCHED, 2)
        cast = [person(rng) for _ in range(3)] + rng.sample(COMPANIES, 2)
        places = rng.sample(PLACE_NAMES, 2)
        parts: list[str] = []
        wholly_khmer = rng.random() < 0.03
        roll = rng.random()
        snippet = "km" if roll < 0.05 else "th" if roll < 0.08 else ""
        while sum(len(p.split()) for p in parts) < WORDS:
            if wholly_khmer:
                parts.append(rng.choice(KHMER))
                if len(parts) > 40:
                    break
                continue
            parts.append(sentence(rng, focus, cast, places))
            if len(parts) == 6 and snippet:  # a quoted passage in the original language
                parts.append(rng.choice(KHMER if snippet == "km" else THAI))
        title = f"{focus[0].capitalize()} in {places[0]}: {rng.choice(ACTORS)} {rng.choice(VERBS)}"
        text = " ".join(parts).replace(". ", ".\n", rng.randint(0, 5))
        tags = tuple(rng.sample(TAGS, rng.randint(1, 3)))
        docs.append(Doc(title, text, rng.choice(SOURCES), tags, "km" if wholly_khmer else "en"))
    return docs


def wild(phrase: str) -> str:
    """A phrase with its last word cut to a stem and a wildcard, as users write them."""
    words = phrase.split()
    last = words[-1]
    words[-1] = (last[: max(4, len(last) - 3)] if len(last) > 5 else last) + "*"
    return " ".join(words)


def quoted(phrase: str) -> str:
    return f'"{phrase}"' if " " in phrase else phrase


def topic(rng: random.Random, i: int) -> str:
    issue = rng.choice(ISSUES)
    other = rng.choice(ISSUES)
    entity = rng.choice([person(rng), rng.choice(COMPANIES), rng.choice(PLACE_NAMES)])
    kind = i % 12
    if kind == 0:
        return f'"{entity}"'
    if kind == 1:
        return f'"{entity}" AND ({quoted(issue)} OR {quoted(wild(other))})'
    if kind == 2:
        actor = rng.choice(["official*", "police", "authorit*", "prosecutor*", "governor"])
        return f'({actor} OR "{rng.choice(PLACE_NAMES)}") NEAR/10 {quoted(wild(issue))}'
    if kind == 3:
        return f'({quoted(issue)} OR {quoted(wild(other))}) NOT ("{rng.choice(ISSUES)}" OR "{entity}")'
    if kind == 4:
        return f"title:{quoted(wild(issue))} AND tag:{rng.choice(TAGS)}"
    if kind == 5:
        return f'source:"{rng.choice(SOURCES)}" AND {quoted(issue)}'
    if kind == 6:
        return f"lang:km AND ({' OR '.join(rng.sample(KHMER_TERMS, 2))})"
    if kind == 7:
        return f'"{entity}" ONEAR/8 (arrest* OR charged OR detained OR "questioned")'
    if kind == 8:
        return f'{rng.choice(THAI_TERMS)} OR {rng.choice(KHMER_TERMS)} OR "{wild(issue)}"'
    if kind == 9:
        return (
            f'{quoted(wild(issue))} NEAR/5 "{rng.choice(PLACE_NAMES)}" NOT title:{rng.choice(["sport*", "football"])}'
        )
    if kind == 10:
        return f'("{entity}" OR "{person(rng)}") AND ({quoted(issue)} OR {quoted(other)})'
    return (
        f'("human trafficking" OR traffick* NEAR/5 (person* OR people OR women OR children OR worker*)) '
        f'NOT "drug trafficking" AND {quoted(issue)}'
    )


def topics(rng: random.Random, count: int) -> dict[str, Query]:
    out: dict[str, Query] = {}
    i = 0
    while len(out) < count:
        text = topic(rng, i)
        i += 1
        if text not in {q.text for q in out.values()}:
            out[f"topic-{len(out)}"] = parse_query(text)
    return out


def match_all(index: WatchlistIndex[str], docs: list[Doc]) -> None:
    for doc in docs:
        index.match(doc)


def match_with_score(index: WatchlistIndex[str], score: CompiledScore, docs: list[Doc]) -> None:
    """As a run matches the topic: its queries, then its `score:` for the articles they miss."""
    for doc in docs:
        if not index.match(doc):
            score.explain(doc)


def median_rate(run: Callable[[], object], n_articles: int) -> tuple[float, float]:
    """Articles per second of CPU time of this process, and per second of wall time, medians of
    RUNS runs. CPU time is the headline: on a shared machine other processes steal the core."""
    cpu, wall = [], []
    for _ in range(RUNS):
        c0, w0 = time.process_time(), time.perf_counter()
        run()
        cpu.append(n_articles / (time.process_time() - c0))
        wall.append(n_articles / (time.perf_counter() - w0))
    return statistics.median(cpu), statistics.median(wall)


def shipped_vs_keywords(docs: list[Doc]) -> dict[str, object]:
    """The shipped topic (deploy/watchlist.yaml: its indicator groups, ATLEAST, scopes and
    legal-term clauses, every language's query) against a plain keyword topic of the same size:
    one OR of every term the shipped topic names (its groups' terms and its queries' quoted
    phrases), per language key. Target: the indicator topic costs at most 2x the keyword one."""
    from tasks.config import load_watchlist
    from tasks.matching import compile_score, topic_queries

    topic = next(t for t in load_watchlist(ROOT / "deploy" / "watchlist.yaml").topics if t.name == SHIPPED)
    groups = topic.term_groups()
    shipped: dict[str, Query] = {
        lang: parse_query(q, groups, None if lang == "*" else lang) for lang, q in topic_queries(topic).items()
    }
    keywords: dict[str, Query] = {}
    for lang, text in topic_queries(topic).items():
        # the default query ("*") serves every language: its keyword twin gets every language's terms
        terms = [
            t
            for g in groups.values()
            for t in (*g.terms, *(t for code, more in g.languages.items() if lang in ("*", code) for t in more))
        ]
        terms += [t for t in PHRASE.findall(text) if t not in terms]
        keywords[lang] = parse_query(terms_query(terms))
    rates = {}
    for name, queries in (("indicators", shipped), ("keywords", keywords)):
        index = WatchlistIndex(queries)
        rates[name] = median_rate(partial(match_all, index, docs), len(docs))[0]
    score = compile_score(topic)
    if score is not None:  # the weighted indicators, for what the query misses (issue #15)
        run = partial(match_with_score, WatchlistIndex(shipped), score, docs)
        rates["indicators+score"] = median_rate(run, len(docs))[0]
    terms_per_language = {lang: len(q.text.split(" OR ")) for lang, q in keywords.items()}
    return {
        "topic": SHIPPED,
        "indicator_articles_per_s": round(rates["indicators"], 1),
        "keyword_articles_per_s": round(rates["keywords"], 1),
        "cost_ratio": round(rates["keywords"] / rates["indicators"], 2),
        "with_score_articles_per_s": round(rates.get("indicators+score", 0.0), 1),
        "cost_ratio_with_score": round(rates["keywords"] / rates["indicators+score"], 2) if score else None,
        "keyword_terms_per_language": terms_per_language,
    }


def main() -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says
    reference = machine_reference()  # on the same core, in the same run (bench/reference.py)
    rng = random.Random(SEED)
    docs = articles(rng)
    all_topics = topics(random.Random(SEED + 1), max(TOPIC_COUNTS))
    words = statistics.mean(len(d.text.split()) for d in docs)
    rows = []
    for count in TOPIC_COUNTS:
        chosen = dict(list(all_topics.items())[:count])
        t0 = time.perf_counter()
        index = WatchlistIndex(chosen)
        build = time.perf_counter() - t0
        rate, wall = median_rate(partial(match_all, index, docs), len(docs))
        matches = sum(len(index.match(d)) for d in docs) / len(docs)
        candidates = sum(index.candidates(d) for d in docs) / len(docs)
        rows.append(
            {
                "topics": count,
                "articles_per_s": round(rate, 1),
                "articles_per_wall_s": round(wall, 1),
                "articles_per_loop": round(per_loop(rate, reference), 1),
                "build_s": round(build, 3),
                "candidates_per_article": round(candidates, 2),
                "matches_per_article": round(matches, 2),
            }
        )
    naive_topics = dict(list(all_topics.items())[:NAIVE_TOPICS])
    subset = docs[:NAIVE_ARTICLES]
    index = WatchlistIndex(naive_topics)
    for doc in subset:  # the prefilter must never lose a match
        expected = {k: q.explain(doc) for k, q in naive_topics.items() if q.matches(doc)}
        if index.match(doc) != expected:
            print(f"MISMATCH on {doc.title!r}", file=sys.stderr)
            return 1
    naive, naive_wall = median_rate(lambda: [q.matches(d) for d in subset for q in naive_topics.values()], len(subset))

    print(f"{len(docs)} articles, {words:.0f} words on average; one core, median of {RUNS} runs")
    print(reference_line(reference) + " (per loop: articles matched in the time of one reference loop)")
    head = f"{'topics':>7} {'articles/s':>11} {'(wall)':>9} {'per loop':>9} {'build s':>8}"
    print(f"{head} {'candidates':>11} {'matches':>8}")
    for r in rows:
        print(
            f"{r['topics']:>7} {r['articles_per_s']:>11.1f} {r['articles_per_wall_s']:>9.1f} "
            f"{r['articles_per_loop']:>9.1f} {r['build_s']:>8.3f} "
            f"{r['candidates_per_article']:>11.2f} {r['matches_per_article']:>8.2f}"
        )
    print(
        f"naive (Query.matches for each of {NAIVE_TOPICS} topics, no prefilter, {len(subset)} articles): "
        f"{naive:.1f} articles/s ({naive_wall:.1f} wall)"
    )
    result = {
        "bench": "match",
        "articles": len(docs),
        "mean_words": round(words, 1),
        "runs": RUNS,
        "rows": rows,
        "naive": {
            "topics": NAIVE_TOPICS,
            "articles": len(subset),
            "articles_per_s": round(naive, 1),
            "articles_per_wall_s": round(naive_wall, 1),
        },
        "python": sys.version.split()[0],
        "reference": reference,
    }
    shipped = shipped_vs_keywords(docs)
    result["shipped_vs_keywords"] = shipped
    print(
        f"shipped topic {SHIPPED!r} (indicators): {shipped['indicator_articles_per_s']:.1f} articles/s; "
        f"a keyword topic of the same terms: {shipped['keyword_articles_per_s']:.1f} articles/s; "
        f"cost ratio {shipped['cost_ratio']:.2f}x (target <= 2x); with its score: "
        f"{shipped['with_score_articles_per_s']:.1f} articles/s, {shipped['cost_ratio_with_score']}x"
    )
    print(json.dumps(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
