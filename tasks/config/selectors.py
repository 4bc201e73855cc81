"""A `kind: page` source's selectors, XPath 1.0 or CSS, compiled by lxml (CSS through
cssselect, which turns it into XPath): checked when sources.yaml loads, used by ingest."""

from __future__ import annotations

from lxml import etree
from lxml.cssselect import CSSSelector, SelectorError


def compile_selector(text: str, css: bool) -> etree.XPath:
    """The selector as a compiled XPath; ValueError, naming the selector, if it does not compile."""
    try:
        return CSSSelector(text) if css else etree.XPath(text)
    except (etree.XPathSyntaxError, SelectorError) as exc:
        kind = "CSS selector" if css else "XPath"
        raise ValueError(f"invalid {kind} {text!r}: {exc}") from None


def check_selector(text: str, css: bool) -> None:
    compile_selector(text, css)
