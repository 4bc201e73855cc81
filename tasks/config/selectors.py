"""A `kind: page` source's selectors, XPath 1.0 or CSS, compiled by lxml (CSS through
cssselect, which turns it into XPath): checked when sources.yaml loads, used by ingest."""

from __future__ import annotations

from lxml import etree
from lxml.cssselect import CSSSelector, SelectorError
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


def compile_selector(text: str, css: bool) -> etree.XPath:
    """The selector as a compiled XPath; ValueError, naming the selector, if it does not compile."""
    try:
        return CSSSelector(text) if css else etree.XPath(text)
    except (etree.XPathSyntaxError, SelectorError) as exc:
        kind = "CSS selector" if css else "XPath"
        raise ValueError(f"invalid {kind} {text!r}: {exc}") from None


class PageSelectors(BaseModel):
    """Where a listing page's stories are (a `kind: page` source), named as FreshRSS's "HTML +
    XPath" sources name them (xPathItem, xPathItemUri, xPathItemTitle, xPathItemTimestamp), so
    a FreshRSS user recognises them. item_uri, item_title and item_timestamp are relative to
    one item; without item_uri, the item's first link (or the item itself, if it is a link)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    css: bool = Field(default=False, description="The selectors are CSS (e.g. 'article h2 a'), not XPath.")
    item: str = Field(min_length=1, description="Each story on the page, e.g. //article or //h2[@class='title'].")
    item_uri: str | None = Field(default=None, description="The story's link in the item, e.g. .//a/@href.")
    item_title: str | None = Field(default=None, description="The story's title in the item, e.g. .//h2.")
    item_timestamp: str | None = Field(default=None, description="Its date, e.g. .//time/@datetime.")

    @field_validator("item", "item_uri", "item_title", "item_timestamp")
    @classmethod
    def _compiles(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            compile_selector(value, bool(info.data.get("css")))
        return value
