"""Config files: the shipped examples load; every kind of mistake gets one clear message that
names the file, the line and the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tasks.config import ConfigError, load_sources, load_watchlist, select_sources, select_topics
from tasks.config.settings import DEPLOY_DIR

WriteFile = Callable[[str, str], Path]


@pytest.fixture
def config_file(tmp_path: Path) -> WriteFile:
    """config_file(name, text): a file of that name holding that text, in the test's folder; its path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def config_error(load: Callable[[Path], object], path: Path) -> str:
    """The message of the ConfigError that loading `path` raises."""
    with pytest.raises(ConfigError) as exc:
        load(path)
    return str(exc.value)


def test_shipped_config_loads() -> None:
    sources = load_sources(DEPLOY_DIR / "sources.yaml").sources
    topics = load_watchlist(DEPLOY_DIR / "watchlist.yaml").topics
    assert len(sources) >= 5 and any("cambodia" in s.tags for s in sources)
    assert any(t.name == "human-trafficking" for t in topics)


SOURCES_CASES = {
    "yaml error": (
        "sources:\n  - name: a\n    url: [unclosed\n",
        r":4:1: YAML error: did not find expected ',' or ']'",  # libyaml's wording
    ),
    "missing field": ("sources:\n  - name: a\n    tags: [x]\n", ":2: sources[0].url: Field required"),
    "unknown key": (
        "sources:\n  - name: a\n    url: https://x.example/rss\n    colour: red\n",
        ":4: sources[0].colour: unknown key (allowed: name, url, kind, page, recurse, window, tags, language, "
        "fetch_pages, interval, enabled)",
    ),
    "invalid url": (
        "sources:\n  - name: a\n    url: https://x.example/rss\n  - name: b\n    url: htp:/x\n",
        ":5: sources[1].url: invalid URL 'htp:/x': expected http:// or https:// with a host",
    ),
    "file scheme": ("sources:\n  - name: a\n    url: file:///etc/passwd\n", ":3: sources[0].url: invalid URL"),
    "duplicate name": (
        "sources:\n  - name: a\n    url: https://x.example/rss\n  - name: A\n    url: https://y.example/rss\n",
        ":4: sources[1].name: duplicate name 'A' (also sources[0])",
    ),
    "empty list": ("sources: []\n", ":1: sources: must list at least one item"),
    "not a mapping": ("- just a list\n", "expected a mapping with sources, got list"),
    "wrong type": (
        "sources:\n  - name: a\n    url: https://x.example/rss\n    enabled: maybe\n",
        ":4: sources[0].enabled",
    ),
    "unknown kind": (
        "sources:\n  - name: a\n    url: https://x.example/\n    kind: html\n",
        ":4: sources[0].kind: Input should be 'feed', 'sitemap' or 'page'",
    ),
    "page without selectors": (
        "sources:\n  - name: a\n    url: https://x.example/\n    kind: page\n",
        ":2: sources[0].page: a kind: page source needs `page:` selectors",
    ),
    "bad xpath": (
        "sources:\n  - name: a\n    url: https://x.example/\n    kind: page\n    page:\n      item: //article[\n",
        ":6: sources[0].page.item: invalid XPath '//article['",
    ),
    "bad css": (
        "sources:\n  - name: a\n    url: https://x.example/\n    kind: page\n    page: {item: 'a[', css: true}\n",
        ":5: sources[0].page.item: invalid CSS selector 'a['",
    ),
    "sitemap setting on a feed": (
        "sources:\n  - name: a\n    url: https://x.example/rss\n    window: 2d\n",
        ":4: sources[0].window: only for kind: sitemap (this source is kind: feed)",
    ),
    "bad recurse": (
        "sources:\n  - name: a\n    url: https://x.example/s.xml\n    kind: sitemap\n    recurse: ['(']\n",
        ":5: sources[0].recurse: invalid regular expression '('",
    ),
}


@pytest.mark.parametrize("case", SOURCES_CASES)
def test_bad_sources_file(case: str, config_file: WriteFile) -> None:
    text, expected = SOURCES_CASES[case]
    path = config_file("sources.yaml", text)
    message = config_error(load_sources, path)
    assert message.startswith(str(path)), message
    assert expected in message, message
    assert "Tuple should have" not in message  # no echo of a broken item as a "too short" list


WATCHLIST_CASES = {
    "empty term": ("topics:\n  - name: t\n    terms: ['a', '  ', 'b']\n", ":3: topics[0].terms: term 2 is empty"),
    "star only": ("topics:\n  - name: t\n    terms: ['*']\n", ":3: topics[0].terms: term 1 is empty"),
    "inner star": ("topics:\n  - name: t\n    terms: ['traf*ck']\n", "'*' is allowed only at the end"),
    "no terms": ("topics:\n  - name: t\n    terms: []\n", ":2: topics[0]: topic 't' needs terms, query or queries"),
    "bad query": (
        "topics:\n  - name: t\n    query: 'officials NEAR/0 traffick*'\n",
        ":3: topics[0].query: invalid query: ",
    ),
    "bad language key": ("topics:\n  - name: t\n    queries: {khmer: x}\n", "'khmer' is not a language code"),
    "empty exclude": ("topics:\n  - name: t\n    terms: [a]\n    exclude: ['']\n", ":4: topics[0].exclude: term 1"),
    "unknown key": ("topics:\n  - name: t\n    term: [a]\n", ":3: topics[0].term: unknown key"),
}


@pytest.mark.parametrize("case", WATCHLIST_CASES)
def test_bad_watchlist_file(case: str, config_file: WriteFile) -> None:
    text, expected = WATCHLIST_CASES[case]
    path = config_file("watchlist.yaml", text)
    message = config_error(load_watchlist, path)
    assert str(path) in message and expected in message, message


def test_missing_file_and_bad_encoding(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.yaml: cannot read"):
        load_sources(tmp_path / "nope.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("sources:\n  - name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="latin.yaml: not UTF-8"):
        load_sources(latin)


def test_selection_by_name_or_tag(config_file: WriteFile) -> None:
    path = config_file(
        "s.yaml",
        "sources:\n"
        "  - {name: A, url: 'https://a.example/rss', tags: [cambodia]}\n"
        "  - {name: B, url: 'https://b.example/rss', tags: [region]}\n"
        "  - {name: C, url: 'https://c.example/rss', tags: [cambodia], enabled: false}\n",
    )
    sources = load_sources(path).sources
    assert [s.name for s in select_sources(sources, None)] == ["A", "B"]
    assert [s.name for s in select_sources(sources, ["Cambodia"])] == ["A"]
    assert [s.name for s in select_sources(sources, ["b", "cambodia"])] == ["A", "B"]
    with pytest.raises(ConfigError, match="unknown source names or tags: nowhere"):
        select_sources(sources, ["nowhere"])
    topics = load_watchlist(DEPLOY_DIR / "watchlist.yaml").topics
    with pytest.raises(ConfigError, match="unknown topics: weather"):
        select_topics(topics, ["weather"])


def test_bad_interval(config_file: WriteFile) -> None:
    path = config_file("s.yaml", "sources:\n  - name: a\n    url: https://x.example/rss\n    interval: 5s\n")
    with pytest.raises(ConfigError, match=r":4: sources\[0\].interval: interval '5s' is under a minute"):
        load_sources(path)


# --- groups of terms ------------------------------------------------------------------------------

GROUPS_FILE = """\
groups:
  documents:
    terms: ["confiscated passport*", "took their passports"]
    km: ["រឹបអូសលិខិតឆ្លងដែន"]
  means: [deceived, debt]
  kmonly: {km: [ជំពាក់]}
topics:
  - name: shared
    query: "ATLEAST(2, @documents, @means)"
  - name: own
    query: "@documents"
    queries:
      km: "@documents OR @kmonly"
    groups:
      documents: ["=ID cards withheld"]
  - name: plain
    terms: [police]
"""


def test_groups_are_shared_and_a_topic_may_replace_one(config_file: WriteFile) -> None:
    watchlist = load_watchlist(config_file("watchlist.yaml", GROUPS_FILE))
    shared, own, plain = watchlist.topics
    assert set(watchlist.groups) == {"documents", "means", "kmonly"}
    assert shared.groups == watchlist.groups
    assert own.groups["documents"] == {"terms": ("=ID cards withheld",)}  # replaced, not merged
    assert own.groups["means"] == {"terms": ("deceived", "debt")}
    assert watchlist.groups["documents"] == {
        "terms": ("confiscated passport*", "took their passports"),
        "km": ("រឹបអូសលិខិតឆ្លងដែន",),
    }
    groups = shared.term_groups()
    assert groups["documents"].terms_for("km") == ("confiscated passport*", "took their passports", "រឹបអូសលិខិតឆ្លងដែន")
    assert groups["kmonly"].terms_for("en") == ()
    assert plain.groups == watchlist.groups  # unused groups are harmless


def test_watchlists_without_groups_load_as_before(config_file: WriteFile) -> None:
    topic = load_watchlist(config_file("w.yaml", "topics:\n  - name: t\n    terms: [a]\n")).topics[0]
    assert topic.groups == {} and topic.term_groups() == {}


def test_readme_groups_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("<!-- example: groups -->\n```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "w.yaml").write_text(example)
    topic = load_watchlist(tmp_path / "w.yaml").topics[0]
    assert topic.query and "ATLEAST" in topic.query and "km" in topic.term_groups()["documents"].languages


GROUP_CASES = {
    "unknown key in a group": (
        "groups:\n  documents:\n    terms: [a]\n    trems: [b]\ntopics:\n  - {name: t, terms: [x]}\n",
        ":4: groups.documents.trems: unknown key 'trems' (allowed: terms, or a language code",
    ),
    "bad group name": (
        "groups:\n  Documents: [a]\ntopics:\n  - {name: t, terms: [x]}\n",
        ":2: groups.Documents: group name 'Documents': lower-case",
    ),
    "group without terms": (
        "groups:\n  documents: {terms: [], km: []}\ntopics:\n  - {name: t, terms: [x]}\n",
        ":2: groups.documents: a group needs terms",
    ),
    "inner star": (
        "groups:\n  documents:\n    terms: ['passport* confiscated']\ntopics:\n  - {name: t, terms: [x]}\n",
        ":3: groups.documents.terms[0]: invalid term 'passport* confiscated': '*' inside a phrase",
    ),
    "empty term": (
        "groups:\n  documents:\n    km: ['a', ' = ']\ntopics:\n  - {name: t, terms: [x]}\n",
        ":3: groups.documents.km[1]: empty term",
    ),
    "not a list": (
        "groups:\n  documents: police\ntopics:\n  - {name: t, terms: [x]}\n",
        ":2: groups.documents: Input should be a valid dictionary",
    ),
    "undefined group": (
        "groups:\n  means: [debt]\ntopics:\n  - name: t\n    query: debt @mean\n",
        ":5: topics[0].query: invalid query: undefined group @mean at position 5: the groups are @means\n",
    ),
    "undefined in queries": (
        "groups:\n  means: [debt]\ntopics:\n  - name: t\n    queries:\n      en: '@means'\n      km: '@x'\n",
        ":7: topics[0].queries.km: invalid query: undefined group @x at position 0",
    ),
    "no terms for the language": (
        "groups:\n  means: {km: [debt]}\ntopics:\n  - name: t\n    query: '@means'\n    queries: {th: '@means'}\n",
        ":6: topics[0].queries.th: invalid query: group @means has no terms for th at position 0",
    ),
    "a topic's own group": (
        "topics:\n  - name: t\n    query: '@own'\n    groups:\n      own:\n        - 'x'\n        - 'a* b'\n",
        ":7: topics[0].groups.own.terms[1]: invalid term 'a* b'",
    ),
    "broken shared group, no echo in the topics": (
        "groups:\n  means: {trems: [debt]}\ntopics:\n  - name: t\n    query: '@means'\n",
        ":2: groups.means.trems: unknown key",
    ),
    "exact-case term without a term": (
        "topics:\n  - name: t\n    terms: [a, '=']\n",
        ":3: topics[0].terms: term 2 is empty",
    ),
}


@pytest.mark.parametrize("case", GROUP_CASES)
def test_bad_groups(case: str, config_file: WriteFile) -> None:
    text, expected = GROUP_CASES[case]
    message = config_error(load_watchlist, config_file("watchlist.yaml", text))
    assert expected in message, message
    assert len(message.splitlines()) == 1 or "\n  " in message, message  # one problem, one line (and a caret)
