"""OPML in and out of sources.yaml (issue #17 part 3): a real-world-shaped export with nested
folders, a FreshRSS scraping source and a duplicate, imported, exported and imported again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.config import ConfigError, SourceSpec, load_sources, read_opml, write_opml
from tests.helpers import cli

# As Miniflux and FreshRSS write them: folders of folders, text and title, htmlUrl, a FreshRSS
# "HTML + XPath" source, the same feed in two folders, and a podcast without an http URL.
OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0" xmlns:frss="https://freshrss.org/opml">
  <head><title>Subscriptions</title><dateCreated>Fri, 04 Dec 2026 10:00:00 GMT</dateCreated></head>
  <body>
    <outline text="Asia" title="Asia">
      <outline text="Cambodia" title="Cambodia">
        <outline type="rss" text="Khmer Times" title="Khmer Times" xmlUrl="https://www.khmertimeskh.com/feed/"
                 htmlUrl="https://www.khmertimeskh.com/"/>
        <outline type="HTML+XPath" text="CamboJA News" xmlUrl="https://cambojanews.com/category/news/"
                 htmlUrl="https://cambojanews.com/category/news/" frss:xPathItem="//article"
                 frss:xPathItemUri=".//h2/a/@href" frss:xPathItemTitle=".//h2"/>
      </outline>
      <outline text="Thailand">
        <outline type="rss" text="Bangkok Post" xmlUrl="https://www.bangkokpost.com/rss/data/topstories.xml"/>
      </outline>
    </outline>
    <outline text="Wires">
      <outline type="rss" text="Khmer Times again" xmlUrl="https://www.khmertimeskh.com/feed/"/>
      <outline type="rss" text="A podcast" xmlUrl="ftp://example.org/podcast.xml"/>
    </outline>
    <outline type="rss" text="Top level" xmlUrl="https://news.example/rss"/>
  </body>
</opml>
"""


def test_opml_round_trip_with_nested_folders(tmp_path: Path) -> None:
    opml = tmp_path / "subscriptions.opml"
    opml.write_text(OPML)
    first = tmp_path / "sources.yaml"
    first.write_text("# my sources\nsources:\n  - name: Other\n    url: https://news.example/rss  # keep me\n")
    env = {"NEWSWATCH_HOME": str(tmp_path / "home")}

    imported = cli(["sources", "import", str(opml), "--tag", "imported", "--sources", str(first), "--json"], env, 60)
    assert imported.returncode == 0, imported.stderr
    report = json.loads(imported.stdout)
    assert report["added"] == ["Khmer Times", "CamboJA News", "Bangkok Post"]
    assert report["refused"] == ["https://news.example/rss", "https://www.khmertimeskh.com/feed/"]
    assert len(report["skipped"]) == 1 and report["skipped"] == ["ftp://example.org/podcast.xml: not an http(s) URL"]
    text = first.read_text()
    assert text.startswith("# my sources\n") and "# keep me" in text
    specs = {s.name: s for s in load_sources(first).sources}
    assert specs["Khmer Times"].tags == ("imported", "asia", "cambodia")
    assert specs["Bangkok Post"].tags == ("imported", "asia", "thailand")
    page = specs["CamboJA News"]
    assert page.kind == "page" and page.page is not None and page.page.item_uri == ".//h2/a/@href"

    exported = cli(["sources", "export", "--sources", str(first), "-o", str(tmp_path / "out.opml")], env, 60)
    assert exported.returncode == 0, exported.stderr
    second = tmp_path / "again.yaml"
    again = cli(["sources", "import", str(tmp_path / "out.opml"), "--sources", str(second)], env, 60)
    assert again.returncode == 0, again.stderr
    assert load_sources(second).sources == load_sources(first).sources  # the same sources, kinds and tags

    as_yaml = cli(["sources", "export", "--format", "yaml", "--sources", str(second)], env, 60)
    assert as_yaml.returncode == 0 and "kind: page" in as_yaml.stdout and "item: //article" in as_yaml.stdout


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("<html><body>no</body></html>", "not OPML"),
        ("<opml><body><outline", "not XML"),
        ('<!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body><outline xmlUrl="https://x.example/&a;"/></body></opml>', "DTD"),
    ],
)
def test_bad_opml_is_one_clear_line(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "x.opml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        read_opml(path)


def test_a_css_page_source_goes_out_as_the_xpath_freshrss_reads(tmp_path: Path) -> None:
    spec = SourceSpec(name="K", url="https://k.example/news", kind="page", page={"item": "article", "css": True})
    path = tmp_path / "k.opml"
    path.write_text(write_opml((spec,)))
    (entry,) = read_opml(path).entries
    assert entry["page"] == {"item": "descendant-or-self::article"}  # what CSS `article` compiles to
