"""Run tasks.ingest.feeds.parse_feed() over the third-party feed corpora in ../shared/corpora (see its
MANIFEST.md): never crash, refuse cleanly, and match the corpora's expectations where they have
some (rss-parser test/output/*.json, feed-rs *.serde.json).

    .venv/bin/python bench/parse_corpora.py

Prints a table and one JSON line, writes bench/results/parse_corpora.json. Exits 0 and says so
when the corpora folder is absent; exits 1 when parse_feed() raised anything but ParseError.
"""

from __future__ import annotations

import gzip
import html
import json
import re
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reference import with_reference  # noqa: E402
from tasks.ingest.charsets import codec_for_label  # noqa: E402
from tasks.ingest.feeds import ParseCrash, ParsedFeed, ParseError, parse_feed  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
RESULTS = ROOT / "bench" / "results" / "parse_corpora.json"
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json"}
HEADER = re.compile(rb"^Header:\s*Content-type:\s*(.+?)\s*$", re.I | re.M)
EXPECT_ENCODING = re.compile(rb"^Expect:.*\bencoding == '([\w.-]+)'", re.M)
TAG = re.compile(r"<[^>]*>")


@dataclass
class Tally:
    corpus: str
    files: int = 0
    ok: int = 0
    parse_error: int = 0  # a clean refusal
    converted_crash: int = 0  # ParseCrash: parse_feed() caught an unexpected exception and named it
    crashes: int = 0  # anything else escaping parse_feed(): must be 0
    entries: int = 0
    dropped: int = 0
    warnings: int = 0
    seconds: float = 0.0
    slowest_file: str = ""
    slowest_seconds: float = 0.0
    expected_feeds: int = 0  # feeds with an expectation file
    count_match: int = 0  # our entry count == expected entries that have a link
    title_match: int = 0  # feed title equal (whitespace-normalized)
    item_titles: int = 0  # expected item titles compared (feeds with matching counts)
    item_title_match: int = 0
    garbled_expectations: int = 0  # expected titles that are themselves mis-decoded (U+FFFD): not compared
    encoding_expected: int = 0  # feedparser corpus: "Expect: ... encoding == 'x'" (x not us-ascii)
    encoding_match: int = 0  # ... and we decoded with x (or the superset browsers use for x)
    encodings: dict[str, int] = field(default_factory=dict)
    crash_list: list[str] = field(default_factory=list)
    converted_list: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)


def read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def base_suffix(path: Path) -> str:
    return Path(path.name.removesuffix(".gz")).suffix.lower()


def feed_files(corpus: str, folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        name = path.name.removesuffix(".gz")
        if not path.is_file() or base_suffix(path) not in FEED_SUFFIXES or name.endswith(".serde.json"):
            continue
        if corpus == "rss-parser" and "/test/input/" not in path.as_posix():
            continue  # test/output holds the expectations
        yield path


def norm(text: object) -> str:
    return " ".join(str(text or "").split())


def norm_expected(text: object) -> str:
    """rss-parser and feed-rs keep entities and tags in titles; we store text."""
    return norm(html.unescape(TAG.sub("", html.unescape(str(text or "")))))


def load_json(path: Path) -> object:
    raw = read(path)
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        return json.loads(raw.decode("latin-1"))  # rss-parser's encoding.json is itself ISO-8859-1


def expectation(corpus: str, path: Path) -> tuple[str | None, list[tuple[str, bool]]] | None:
    """(expected feed title, [(item title, item has a URL)]) when the corpus says what to expect.
    "Has a URL": a link, or an http(s) id/guid, which parse_feed() also takes as the entry's URL."""
    if corpus == "rss-parser":
        out = path.parent.parent / "output" / (Path(path.name.removesuffix(".gz")).stem + ".json")
        if not out.exists():
            return None
        doc = load_json(out)
        feed = doc.get("feed", doc) if isinstance(doc, dict) else {}
        items = [i for i in feed.get("items", []) if isinstance(i, dict)]
        return feed.get("title"), [
            (norm_expected(i.get("title")), has_url(i.get("link"), i.get("guid"))) for i in items
        ]
    if corpus == "feed-rs":
        out = path.with_name(Path(path.name.removesuffix(".gz")).stem + ".serde.json")
        doc = load_json(out) if out.exists() else None
        if not isinstance(doc, dict):
            return None
        entries = doc.get("entries") or []
        titles = [norm_expected((e.get("title") or {}).get("content")) for e in entries]
        urls = [has_url(any(link.get("href") for link in e.get("links") or []), e.get("id")) for e in entries]
        return (doc.get("title") or {}).get("content"), list(zip(titles, urls, strict=True))
    return None


def has_url(link: object, *ids: object) -> bool:
    return bool(link) or any(isinstance(i, str) and i.startswith(("http://", "https://")) for i in ids)


def check(tally: Tally, feed: ParsedFeed, expected: tuple[str | None, list[tuple[str, bool]]], name: str) -> None:
    title, items = expected
    tally.expected_feeds += 1
    linked = [t for t, has_link in items if has_link]  # parse_feed() skips entries without a URL
    if len(feed.entries) == len(linked):
        tally.count_match += 1
        for entry, expected_title in zip(feed.entries, linked, strict=True):
            if "\ufffd" in expected_title:
                tally.garbled_expectations += 1
                continue
            tally.item_titles += 1
            tally.item_title_match += norm(entry.title) == expected_title
    else:
        tally.mismatches.append(f"{name}: {len(feed.entries)} entries, expected {len(linked)} with a link")
    if title is None or norm(feed.title) == norm_expected(title):
        tally.title_match += 1
    else:
        tally.mismatches.append(f"{name}: title {norm(feed.title)[:60]!r}, expected {norm(title)[:60]!r}")


def attempt(tally: Tally, name: str, body: bytes, content_type: str, url: str = "") -> ParsedFeed | None:
    """parse_feed() once, counted: a feed, or None after a refusal or a crash."""
    tally.files += 1
    started = time.perf_counter()
    try:
        feed = parse_feed(body, url or f"https://corpus.example/{name}", content_type)
    except ParseCrash as exc:
        tally.converted_crash += 1
        tally.converted_list.append(f"{name}: {exc}")
        return None
    except ParseError:
        tally.parse_error += 1
        return None
    except Exception as exc:  # the bench's job: count what parse_feed() let escape
        tally.crashes += 1
        tally.crash_list.append(f"{name}: {type(exc).__name__}: {exc}")
        traceback.print_exc()
        return None
    finally:
        elapsed = time.perf_counter() - started
        tally.seconds += elapsed
        if elapsed > tally.slowest_seconds:
            tally.slowest_file, tally.slowest_seconds = name, elapsed
    tally.ok += 1
    tally.entries += len(feed.entries)
    tally.dropped += feed.dropped
    tally.warnings += feed.warning is not None
    tally.encodings[feed.encoding or "?"] = tally.encodings.get(feed.encoding or "?", 0) + 1
    return feed


def content_type_of(path: Path, body: bytes) -> str:
    header = HEADER.search(body[:2000])
    if header:
        return header.group(1).decode("latin-1")
    return "application/json" if base_suffix(path) == ".json" else ""


def run_corpus(corpus: str, folder: Path, full: dict[str, tuple[bytes, ParsedFeed]]) -> Tally:
    tally = Tally(corpus)
    for path in feed_files(corpus, folder):
        name = path.relative_to(CORPORA).as_posix()
        body = read(path)
        feed = attempt(tally, name, body, content_type_of(path, body))
        if feed is None:
            continue
        if base_suffix(path) != ".json" and corpus != "feedparser" and len(feed.entries) >= 2:
            full[name] = (body, feed)
        if (expected := expectation(corpus, path)) is not None:
            check(tally, feed, expected, name)
        if (encoding := EXPECT_ENCODING.search(body[:2000])) and encoding.group(1) != b"us-ascii":
            tally.encoding_expected += 1
            if codec_for_label(encoding.group(1).decode()) == feed.encoding:
                tally.encoding_match += 1
            else:
                tally.mismatches.append(f"{name}: decoded as {feed.encoding}, expected {encoding.group(1).decode()}")
    return tally


def run_truncated(full: dict[str, tuple[bytes, ParsedFeed]]) -> Tally:
    """Every real XML feed with 2+ entries, cut off at 2/3 of its bytes: the entries kept must be
    exactly the first entries of the full parse ("count ok"), the partial one dropped, and the
    feed title the same ("title ok")."""
    tally = Tally("truncated 2/3")
    for name, (body, whole) in full.items():
        feed = attempt(tally, f"{name}[:2/3]", body[: len(body) * 2 // 3], "", f"https://corpus.example/{name}")
        if feed is None:
            continue
        tally.expected_feeds += 1
        tally.title_match += feed.title == whole.title
        if feed.entries == whole.entries[: len(feed.entries)] and len(feed.entries) < len(whole.entries):
            tally.count_match += 1
        else:
            tally.mismatches.append(f"{name}[:2/3]: {len(feed.entries)} entries are not a prefix of the full feed's")
    return tally


def main() -> int:
    corpora = {name: CORPORA / name for name in ("feedparser", "rss-parser", "feed-rs")}
    present = {name: folder for name, folder in corpora.items() if folder.is_dir()}
    for name, folder in corpora.items():
        if name not in present:
            print(f"skipping {name}: {folder} not found")
    if not present:
        print(f"no corpora under {CORPORA}: nothing to do")
        return 0
    full: dict[str, tuple[bytes, ParsedFeed]] = {}
    tallies = [run_corpus(name, folder, full) for name, folder in present.items()]
    tallies.append(run_truncated(full))
    total = Tally("total")
    for t in tallies:
        for key in ("files", "ok", "parse_error", "converted_crash", "crashes", "entries", "dropped", "warnings"):
            setattr(total, key, getattr(total, key) + getattr(t, key))
        for key in ("expected_feeds", "count_match", "title_match", "item_titles", "item_title_match"):
            setattr(total, key, getattr(total, key) + getattr(t, key))
        for key in ("garbled_expectations", "encoding_expected", "encoding_match"):
            setattr(total, key, getattr(total, key) + getattr(t, key))
        total.seconds += t.seconds
        if t.slowest_seconds > total.slowest_seconds:
            total.slowest_file, total.slowest_seconds = t.slowest_file, t.slowest_seconds

    columns = ["corpus", "files", "ok", "ParseError", "converted", "crashes", "entries", "dropped", "warned", "seconds"]
    columns += ["expected", "count ok", "title ok", "item titles ok", "encoding ok", "slowest (s)"]
    print(" | ".join(columns))
    for t in [*tallies, total]:
        items = f"{t.item_title_match}/{t.item_titles}" if t.item_titles else "-"
        row = [t.corpus, t.files, t.ok, t.parse_error, t.converted_crash, t.crashes, t.entries, t.dropped, t.warnings]
        row += [f"{t.seconds:.1f}", t.expected_feeds or "-", t.count_match if t.expected_feeds else "-"]
        encodings = f"{t.encoding_match}/{t.encoding_expected}" if t.encoding_expected else "-"
        row += [
            t.title_match if t.expected_feeds else "-",
            items,
            encodings,
            f"{t.slowest_seconds:.3f} {t.slowest_file}",
        ]
        print(" | ".join(str(cell) for cell in row))
    for t in tallies:
        for line in t.crash_list + t.converted_list + t.mismatches:
            print(f"  {t.corpus}: {line}")

    summary = {
        "files": total.files,
        "ok": total.ok,
        "parse_error": total.parse_error,
        "converted_crash": total.converted_crash,
        "crashes": total.crashes,
        "entries": total.entries,
        "dropped": total.dropped,
        "slowest_file": total.slowest_file,
        "slowest_seconds": round(total.slowest_seconds, 3),
        "expected_feeds": total.expected_feeds,
        "count_match": total.count_match,
        "title_match": total.title_match,
        "item_titles": total.item_titles,
        "item_title_match": total.item_title_match,
        "garbled_expectations": total.garbled_expectations,
        "encoding_expected": total.encoding_expected,
        "encoding_match": total.encoding_match,
    }
    summary = with_reference({**summary, "seconds": round(total.seconds, 3)}, ("seconds", "slowest_seconds"))
    print(json.dumps(summary))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"summary": summary, "corpora": [asdict(t) for t in tallies]}, indent=2) + "\n")
    return 1 if total.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
