"""Feed bodies as bytes, made safe for a parser: the byte-level half of parsing.

Bodies are hostile until proven otherwise (shared NOTES): before feedparser sees a byte, the
body is decoded the way a browser would (tasks.ingest.charsets), control characters and
DOCTYPE/ENTITY declarations are removed, pathological field lengths are capped, and a document
cut off mid-entry is cut back to its last complete entry. `sanitize()` is the verb;
tasks.ingest.feeds does the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pyexpat import ErrorString, ExpatError, ParserCreate, errors

from tasks.ingest.charsets import decode_body

# Before parsing, in characters: caps on the raw text of these elements. feedparser runs a
# quadratic author-email regex on author-like fields (0.6 s at 16 KB, 2.8 s at 32 KB, 10 s at
# 64 KB measured), so those get a small cap and their long "email-like" runs are shortened too
# (the regex cost is quadratic in the length of a run of [\w.+@-] characters).
_PRECAP_AUTHOR = 1000
_PRECAP = {"title": 16_000, "subtitle": 16_000} | dict.fromkeys(
    ("description", "summary", "content", "encoded"), 256_000
)
_AUTHORISH = ("author", "creator", "publisher", "contributor", "managingeditor", "webmaster", "owner", "name", "email")
_MAX_RUN = 64


class MalformedBody(Exception):
    """The body cannot be made safe to parse; str() says why (tasks.ingest.feeds raises it as a ParseError)."""


@dataclass(frozen=True)
class Sanitized:
    """A body ready for a parser, and what was done to get it there."""

    is_json: bool  # JSON: `text` is the document; otherwise `xml` is
    text: str  # the decoded JSON text ("" for XML)
    xml: bytes  # the cleaned XML document, UTF-8 and declared so (b"" for JSON)
    encoding: str  # Python codec the body was decoded with ("utf-8", "cp1252", "utf-8+cp1252", ...)
    warnings: tuple[str, ...]  # what was wrong with the body or changed in it, in the order found
    dropped: int = 0  # incomplete entries cut off a truncated document
    # Truncated, but malformed before the cut, so no cut was made: feedparser's lenient parser will
    # keep the partial last entry, which the caller should then drop.
    open_entry_at_end: bool = False
    looks_like_html: bool = False  # the start of the document looks like an HTML page


def sanitize(body: bytes, content_type: str) -> Sanitized:
    """Decode `body` (Content-Type `content_type`) and, for XML, neutralize it for feedparser.
    Raises MalformedBody."""
    text, encoding, note = decode_body(body, content_type)
    text = text.removeprefix("\ufeff")
    notes = [note] if note else []
    start = text.lstrip()[:1]
    if start == "{" or (start != "<" and "json" in content_type.lower()):
        return Sanitized(True, text, b"", encoding, tuple(notes))
    # Leading blank lines (common in PHP-made feeds) would put the XML declaration out of place.
    text = _CHAR_REF.sub(_legal_char_ref, _ILLEGAL_CHARS.sub("", text)).lstrip()
    head = text[:2048].lower()
    text = _XML_DECL_ENCODING.sub(r'\1"utf-8"', text, count=1)  # the bytes we hand over are UTF-8
    text, root, removed = _neutralize_prolog(text)
    if removed:
        notes.append("unsafe entity declarations removed")
    text, capped = _cap_fields(text)
    if capped:
        notes.append(f"{capped} oversized field{'s' if capped > 1 else ''} cut before parsing")
    data = text.encode("utf-8")
    dropped, partial_last = 0, False
    if root and not _ends_with_root(text, root):
        if cut := _cut_truncated(data):
            data, dropped = cut.data, cut.dropped
            entries_note = f"; dropped {dropped} incomplete entr{'y' if dropped == 1 else 'ies'}" if dropped else ""
            notes.append(f"truncated feed ({cut.reason}){entries_note}")
        else:  # cut off and malformed before: feedparser's lenient parser will keep the partial entry
            partial_last = _open_entry_at_end(text)
    looks_like_html = "<html" in head or "<!doctype html" in head
    return Sanitized(False, "", data, encoding, tuple(notes), dropped, partial_last, looks_like_html)


# --- neutralizing the XML before feedparser -----------------------------------------------------

# XML 1.0 forbids C0 controls but tab/LF/CR (and U+FFFE/U+FFFF): one stray NUL would send the
# whole feed to feedparser's lenient fallback parser, and PostgreSQL rejects NUL in text.
_ILLEGAL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# The XML declaration's encoding, rewritten: the bytes handed to feedparser are UTF-8.
_XML_DECL_ENCODING = re.compile(r"""^(\s*<\?xml[^>]{0,200}?encoding\s*=\s*)(["'])[\w.:-]*\2""")
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
_DECL_TOKEN = re.compile(r"""["'\[\]>]|<!--|<\?""")
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]{0,100})")
# General entities that cannot expand to more than a few characters: plain text without
# references, or one character reference. Kept so feeds declaring &nbsp; and co. stay strict.
_DECLARED_ENTITY = re.compile(r"<!ENTITY\s+([A-Za-z_][\w.-]{0,100})\s")
_ENTITY_REF = re.compile(r"&([A-Za-z_][\w.-]{0,100});")
_SAFE_ENTITY = re.compile(r"""<!ENTITY\s+([A-Za-z_][\w.-]{0,30})\s+"(&\#\w{1,8};|[^"&%<]{0,32})"\s*>""")
_CAPPED_START = re.compile(
    r"<(?:[A-Za-z_][\w.-]{0,40}:)?(" + "|".join((*_PRECAP, *_AUTHORISH)) + r")(?=[\s/>])[^<>]{0,4000}>", re.I
)
_LONG_RUN = re.compile(r"[A-Za-z0-9_.+\-@\[\]]{" + str(_MAX_RUN + 1) + ",}")


def _legal_char_ref(ref: re.Match[str]) -> str:
    """A character reference, or nothing if it names a character XML forbids (&#0;, &#xD800;, ...)."""
    code = int(ref.group(1), 16) if ref.group(1) else int(ref.group(2))
    legal = code in (9, 10, 13) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF
    return ref.group() if legal else ""


def _declaration_end(text: str, start: int) -> int:
    """End of the markup declaration at text[start] ("<!DOCTYPE ... [ ... ]>"), skipping quoted
    literals, comments, PIs and the internal subset; -1 if it never ends. Linear: each find() runs forward."""
    pos, depth = start + 2, 0
    while m := _DECL_TOKEN.search(text, pos):
        token, pos = m.group(), m.end()
        if token in ('"', "'", "<!--", "<?"):
            close = text.find({"<!--": "-->", "<?": "?>"}.get(token, token), pos)
            if close < 0:
                return -1
            pos = close + (3 if token == "<!--" else 2 if token == "<?" else 1)
        elif token == "[":
            depth += 1
        elif token == "]":
            depth = max(depth - 1, 0)
        elif depth == 0:
            return pos
    return -1


def _neutralize_prolog(text: str) -> tuple[str, str | None, bool]:
    """Remove every <!DOCTYPE>/<!ENTITY> before the root element (DOCTYPE must precede it), so no
    entity is expanded (billion laughs) and no DTD or external entity is fetched (XXE). Tiny literal
    entities are declared again; references to the others are deleted, so the document stays
    well-formed for the strict parser. Returns (text, root element name, whether entities were removed)."""
    parts: list[str] = []
    safe: dict[str, str] = {}
    declared: set[str] = set()
    last, pos, root = 0, 0, None
    while (lt := text.find("<", pos)) >= 0:
        if text.startswith(("<?", "<!--"), lt):
            terminator = "?>" if text[lt + 1] == "?" else "-->"
            close = text.find(terminator, lt + 2)
            if close < 0:
                break
            pos = close + len(terminator)
        elif text.startswith("<!", lt) and not text.startswith("<![CDATA[", lt):
            end = _declaration_end(text, lt)
            if end < 0:
                raise MalformedBody("malformed DOCTYPE: it never ends")
            declaration = text[lt:end]
            declared.update(_DECLARED_ENTITY.findall(declaration))
            for m in _SAFE_ENTITY.finditer(declaration):
                if len(safe) < 256:
                    safe.setdefault(m.group(1), m.group(2))
            parts.append(text[last:lt])
            last = pos = end
        elif root_tag := _ROOT.match(text, lt):
            root = root_tag.group(1)
            break
        else:
            pos = lt + 1
    if not parts:
        return text, root, False
    body = text[last:]
    if root and safe:
        redeclared = "\n".join(f'<!ENTITY {name} "{value}">' for name, value in safe.items())
        parts.append(f"{text[last:lt]}<!DOCTYPE {root} [\n{redeclared}\n]>\n")
        body = text[lt:]
    if unsafe := declared - safe.keys() - {"amp", "lt", "gt", "quot", "apos"}:
        body = _ENTITY_REF.sub(lambda r: "" if r.group(1) in unsafe else r.group(), body)
    return "".join(parts) + body, root, bool(unsafe)


def _cut_text(value: str, limit: int) -> str:
    value = value[:limit]
    amp = value.rfind("&", max(0, limit - 12))
    return value[:amp] if amp >= 0 and ";" not in value[amp:] else value  # never half an entity reference


def _cap_fields(text: str) -> tuple[str, int]:
    """Cap the first text run (or CDATA section) of title/author/summary-like elements. Linear:
    the scan only moves forward, and each capped region is copied once."""
    parts: list[str] = []
    last, pos, capped = 0, 0, 0
    while m := _CAPPED_START.search(text, pos):
        pos = m.end()
        if m.group().endswith("/>"):
            continue
        name = m.group(1).lower()
        authorish = name in _AUTHORISH
        limit = _PRECAP_AUTHOR if authorish else _PRECAP[name]
        start = pos + 9 if text.startswith("<![CDATA[", pos) else pos
        end = text.find("]]>" if start > pos else "<", start)
        end = len(text) if end < 0 else end
        if end - start <= (_MAX_RUN if authorish else limit):
            pos = end
            continue
        value = _cut_text(text[start : min(end, start + limit + 1)], limit)
        if authorish:
            value = _LONG_RUN.sub(lambda r: r.group()[:_MAX_RUN], value)
        if end - start != len(value):
            parts += (text[last:start], value)
            last = end
            capped += 1
        pos = end
    return ("".join(parts) + text[last:], capped) if parts else (text, 0)


def _ends_with_root(text: str, root: str) -> bool:
    tail = text[-4096:].rstrip()
    while tail.endswith(("-->", "?>")):  # comments and PIs may follow the root element
        start = tail.rfind("<!--" if tail.endswith("-->") else "<?")
        if start < 0:
            break
        tail = tail[:start].rstrip()
    return re.search(rf"</\s*{re.escape(root)}\s*>$", tail) is not None


# --- truncated documents -----------------------------------------------------------------------

# Errors expat can only report at the end of the input: the document was cut off.
_EOF_ERRORS = {
    errors.codes[e]
    for e in (
        errors.XML_ERROR_NO_ELEMENTS,
        errors.XML_ERROR_UNCLOSED_TOKEN,
        errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
        errors.XML_ERROR_PARTIAL_CHAR,
    )
}
_ENTRY_TAGS = {"item", "entry"}
_CONTAINER_TAGS = {"rss", "feed", "rdf", "channel"}
_ENTRY_START = re.compile(r"<(?:[\w.-]+:)?(?:item|entry)(?:\s[^<>]*)?>", re.I)
_ENTRY_END = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.I)
_TAG = re.compile(rb"""<[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>""")


@dataclass
class _Cut:
    data: bytes
    dropped: int
    reason: str


def _cut_truncated(data: bytes) -> _Cut | None:
    """For a document cut off mid-way: the document ending after its last complete entry (open
    elements closed), the number of entries dropped and expat's reason; None if not truncated.
    feedparser's own fallback would keep the partial last entry, with an empty summary."""
    parser = ParserCreate()
    parser.UseForeignDTD(True)  # undeclared entities (&nbsp;) are skipped, not fatal, in this pass
    stack: list[tuple[str, int]] = []  # open elements: name, offset of the start tag
    in_entry = open_entry = 0
    safe: tuple[int, list[str]] | None = None  # last offset where the document could end, open elements there

    def start(name: str, _attrs: object) -> None:
        nonlocal in_entry, open_entry, safe
        at = parser.CurrentByteIndex
        local = name.rpartition(":")[2].lower()
        if local in _ENTRY_TAGS:
            if not in_entry:  # everything before a top-level entry's start tag is complete
                safe, open_entry = (at, [n for n, _ in stack]), 1
            in_entry += 1
        elif not in_entry and local in _CONTAINER_TAGS and (tag := _TAG.match(data, at)):
            safe = (tag.end(), [*(n for n, _ in stack), name])
        stack.append((name, at))

    def end(name: str) -> None:
        nonlocal in_entry, open_entry, safe
        _, started = stack.pop()
        if name.rpartition(":")[2].lower() in _ENTRY_TAGS:
            in_entry -= 1
        if not in_entry:
            # An empty element <x/> has no end tag: expat then points just past the start tag.
            start_tag = _TAG.match(data, started)
            end_tag = _TAG.match(data, parser.CurrentByteIndex)
            if start_tag and start_tag.group().endswith(b"/>"):
                safe = (start_tag.end(), [n for n, _ in stack])
            elif end_tag:
                safe = (end_tag.end(), [n for n, _ in stack])
            open_entry = 0

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
        return None
    except ExpatError as exc:
        if exc.code not in _EOF_ERRORS or safe is None:
            return None
        reason = f"{ErrorString(exc.code)}: line {exc.lineno}, column {exc.offset}"
    cut, still_open = safe
    closing = "".join(f"</{name}>" for name in reversed(still_open))
    return _Cut(data[:cut] + closing.encode(), open_entry, reason)


def _open_entry_at_end(text: str) -> bool:
    """Whether the last complete entry start tag comes after the last entry end tag."""
    last_start = max((m.start() for m in _ENTRY_START.finditer(text)), default=-1)
    last_end = max((m.start() for m in _ENTRY_END.finditer(text)), default=-1)
    return last_start > last_end
