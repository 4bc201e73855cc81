"""OPML, the list of sources feed readers (Miniflux, FreshRSS, ...) import and export: read into
sources.yaml entries, and sources.yaml written as OPML.

Nested outlines (folders) become tags, as does an outline's `category`. A sitemap source is an
outline with `newswatch:kind="sitemap"`; a page source is FreshRSS's `type="HTML+XPath"` with
its `frss:xPathItem...` attributes, so a FreshRSS scraping source comes in as a page source and
goes back out as one. The file is read by lxml without entities, DTDs or network, and bounded
(MAX_BYTES, MAX_OUTLINES, MAX_DEPTH)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from lxml import etree
from pydantic import ValidationError

from tasks.config.files import ConfigError, SourceSpec
from tasks.config.selectors import compile_selector

MAX_BYTES = 5 * 1024 * 1024
MAX_OUTLINES = 20000
MAX_DEPTH = 16
NEWSWATCH_NS = "https://github.com/newswatch/opml"
FRESHRSS_NS = "https://freshrss.org/opml"
# FreshRSS's attribute for each page selector.
FRESHRSS_SELECTORS = {
    "item": "xPathItem",
    "item_uri": "xPathItemUri",
    "item_title": "xPathItemTitle",
    "item_timestamp": "xPathItemTimestamp",
}


@dataclass
class OpmlRead:
    entries: list[dict[str, object]] = field(default_factory=list)  # sources.yaml items, in file order
    duplicates: list[str] = field(default_factory=list)  # URLs listed more than once: the first kept
    skipped: list[str] = field(default_factory=list)  # outlines that are not a source we can read, and why


def _tag(text: str) -> str:
    return " ".join(text.split()).lower()


def _entry(outline: etree._Element, tags: list[str]) -> dict[str, object] | str:  # noqa: SLF001
    """The sources.yaml item of a feed outline, or why it is not one."""
    url = (outline.get("xmlUrl") or "").strip()
    kind = outline.get(f"{{{NEWSWATCH_NS}}}kind") or "feed"
    if (outline.get("type") or "").lower() == "html+xpath":
        kind, url = "page", url or (outline.get("htmlUrl") or "").strip()
    if urlsplit(url).scheme not in ("http", "https"):
        return f"{url or '(no URL)'}: not an http(s) URL"
    name = (outline.get("title") or outline.get("text") or urlsplit(url).hostname or url).strip()[:200]
    item: dict[str, object] = {"name": name, "url": url}
    if kind != "feed":
        item["kind"] = kind
    if kind == "page":
        page = {k: outline.get(f"{{{FRESHRSS_NS}}}{a}") for k, a in FRESHRSS_SELECTORS.items()}
        item["page"] = {k: v for k, v in page.items() if v}
    categories = [_tag(c) for c in (outline.get("category") or "").replace("/", ",").split(",") if c.strip()]
    if all_tags := list(dict.fromkeys(t for t in [*tags, *categories] if t)):
        item["tags"] = all_tags
    try:
        SourceSpec.model_validate(item)
    except ValidationError as exc:
        error = exc.errors()[0]
        return f"{url}: {'.'.join(map(str, error['loc'])) or 'source'}: {error['msg'].removeprefix('Value error, ')}"
    return item


def read_opml(path: Path, tags: list[str] | None = None) -> OpmlRead:
    """The sources an OPML file lists; `tags` are added to each. Raises ConfigError for a file
    that is not OPML or is too large."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES} bytes: not an OPML list of sources")
    if b"<!ENTITY" in data or b"<!DOCTYPE" in data[:4096]:  # as defusedxml: no entity bombs, no DTD tricks
        raise ConfigError(f"{path}: OPML with a DTD or entities is refused")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ConfigError(f"{path}: not XML: {exc}") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ConfigError(f"{path}: not OPML (no <opml><body>)")
    read, seen = OpmlRead(), set()
    base = [_tag(t) for t in tags or []]
    stack: list[tuple[etree._Element, list[str]]] = [(o, base) for o in reversed(body.findall("outline"))]  # noqa: SLF001
    count = 0
    while stack:
        outline, folder_tags = stack.pop()
        count += 1
        if count > MAX_OUTLINES or len(folder_tags) - len(base) > MAX_DEPTH:
            raise ConfigError(f"{path}: more than {MAX_OUTLINES} outlines or {MAX_DEPTH} levels of folders")
        children = outline.findall("outline")
        if children and not outline.get("xmlUrl"):
            folder = _tag(outline.get("title") or outline.get("text") or "")
            stack += [(c, [*folder_tags, folder] if folder else folder_tags) for c in reversed(children)]
            continue
        entry = _entry(outline, folder_tags)
        if isinstance(entry, str):
            read.skipped.append(entry)
        elif entry["url"] in seen:
            read.duplicates.append(str(entry["url"]))
        else:
            seen.add(entry["url"])
            read.entries.append(entry)
    return read


def _outline(spec: SourceSpec, indent: str) -> str:
    attrs = {"text": spec.name, "title": spec.name, "type": "rss", "xmlUrl": spec.url}
    if spec.kind == "sitemap":
        attrs["newswatch:kind"] = "sitemap"
    if spec.kind == "page" and spec.page is not None:
        attrs = {"text": spec.name, "title": spec.name, "type": "HTML+XPath", "xmlUrl": spec.url, "htmlUrl": spec.url}
        attrs["newswatch:kind"] = "page"
        for key, name in FRESHRSS_SELECTORS.items():
            if value := getattr(spec.page, key):  # CSS goes out as the XPath it compiles to (FreshRSS reads XPath)
                attrs[f"frss:{name}"] = compile_selector(value, True).path if spec.page.css else value
    if spec.tags:
        attrs["category"] = ",".join(spec.tags)
    return f"{indent}<outline {' '.join(f'{k}={quoteattr(v)}' for k, v in attrs.items())}/>\n"


def write_opml(sources: tuple[SourceSpec, ...], title: str = "newswatch sources") -> str:
    """OPML 2.0 of these sources, in a folder per first tag (untagged ones at the top level);
    every tag is also in the outline's `category`, so an import gives back the same tags."""
    folders: dict[str, list[SourceSpec]] = {}
    for spec in sources:
        folders.setdefault(spec.tags[0] if spec.tags else "", []).append(spec)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<opml version="2.0" xmlns:newswatch="{NEWSWATCH_NS}" xmlns:frss="{FRESHRSS_NS}">\n',
        f"  <head><title>{title}</title></head>\n  <body>\n",
    ]
    lines += [_outline(s, "    ") for s in folders.pop("", [])]
    for folder, specs in folders.items():
        lines.append(f"    <outline text={quoteattr(folder)} title={quoteattr(folder)}>\n")
        lines += [_outline(s, "      ") for s in specs]
        lines.append("    </outline>\n")
    lines.append("  </body>\n</opml>\n")
    return "".join(lines)
