"""Feed bodies as bytes, made safe for a parser: the byte-level half of parsing.

Bodies are hostile until proven otherwise (shared NOTES): before feedparser sees a byte, the
body is decoded the way a browser would, control characters and DOCTYPE/ENTITY declarations
are removed, pathological field lengths are capped, and a document cut off mid-entry is cut
back to its last complete entry. `sanitize()` is the verb; tasks.ingest.feeds does the rest.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pyexpat import ErrorString, ExpatError, ParserCreate, errors

import charset_normalizer

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
    text, encoding, note = _decode(body, content_type)
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


# --- decoding ----------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG Encoding Standard: browsers decode these labels with a superset (Python names).
_SUPERSET = {
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
}
_WHATWG_ONLY = {"windows-874": "cp874", "x-sjis": "cp932", "iso-8859-8-i": "iso8859-8", "x-gbk": "gb18030"}
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]{1,40})""", re.I)
_XML_ENCODING = re.compile(rb"""\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([\w.:-]{1,40})["']""")
_XML_DECL_ENCODING = re.compile(r"""^(\s*<\?xml[^>]{0,200}?encoding\s*=\s*)(["'])[\w.:-]*\2""")
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_ASCII = bytes(range(128))
# Languages written in ISO-8859-2/windows-1250: as charset-normalizer names them, and as ISO 639-1
# codes in a feed's <language> or xml:lang; Western ones are written in windows-1252.
_CENTRAL_EUROPEAN_NAMES = {"Polish", "Czech", "Slovak", "Hungarian", "Slovene", "Croatian", "Romanian"}
_CENTRAL_EUROPEAN = {"pl", "cs", "sk", "hu", "sl", "hr", "bs", "ro"}
_WESTERN = {"en", "fr", "de", "es", "pt", "it", "nl", "da", "sv", "no", "nb", "nn", "fi", "is", "ca", "eu", "gl", "ga"}
_LANGUAGE_HINT = re.compile(rb"""<(?:\w+:)?language>\s*([A-Za-z]{2})\b|xml:lang\s*=\s*["']([A-Za-z]{2})\b""")
_DETECT_MAX = 1_000_000


def _cp1252_repair(exc: UnicodeError) -> tuple[str, int]:
    assert isinstance(exc, UnicodeDecodeError)
    return exc.object[exc.start : exc.end].decode("cp1252", "replace"), exc.end


# A UTF-8 feed with a few pasted windows-1252 bytes: decode those bytes alone as windows-1252.
codecs.register_error("newswatch-cp1252", _cp1252_repair)


@lru_cache(maxsize=256)
def _codec(label: str | None) -> str | None:
    """Python codec for a charset label, as a browser maps it; None if unknown or unsafe."""
    if not label:
        return None
    label = label.strip().lower()
    try:
        name = codecs.lookup(_WHATWG_ONLY.get(label, label)).name
        b"".decode(name)  # LookupError for rot13, hex, ...: not text encodings
    except LookupError:
        return None
    name = _SUPERSET.get(name, name)
    # UTF-16/32 and EBCDIC labels on a body we could read as ASCII are lies (UTF-16 was sniffed
    # from the bytes already); UTF-7 smuggles markup, which is why browsers dropped it.
    if name == "utf-7" or "<?xml".encode(name, "replace") != b"<?xml":
        return None
    return name


@lru_cache(maxsize=64)
def _single_byte(codec: str) -> bool:
    return len(bytes(range(256)).decode(codec, "replace")) == 256


def _strict(body: bytes, codec: str) -> str | None:
    """body decoded without any error, tolerating a character cut off at the very end (a truncated body)."""
    try:
        return body.decode(codec)
    except UnicodeDecodeError as exc:
        if exc.end == len(body) and exc.start >= len(body) - 4:
            with contextlib.suppress(UnicodeDecodeError):
                return body[: exc.start].decode(codec)
        return None


def _detect(body: bytes) -> str | None:
    """Best guess for an undeclared legacy encoding: charset-normalizer, with a browser's priors
    (Firefox weighs the site's language the same way). Short Latin texts look alike in every Latin
    code page, so the feed's declared language decides between Western and Central European."""
    sample = body if len(body) <= _DETECT_MAX else body[: max(body.rfind(b"<", 0, _DETECT_MAX), 1)]
    matches = charset_normalizer.from_bytes(sample)
    best = matches.best()
    if best is None or not _single_byte(_codec(best.encoding) or "utf-8"):
        return _codec(best.encoding) if best else None
    hint = _LANGUAGE_HINT.search(sample, 0, 65536)
    lang = (hint.group(1) or hint.group(2)).decode("ascii").lower() if hint else None
    guessed = best.languages[0] if best.languages else None
    if lang in _CENTRAL_EUROPEAN or (lang is None and guessed in _CENTRAL_EUROPEAN_NAMES):
        # ISO-8859-2 and windows-1250 share these languages' letters except where windows-1250
        # puts š, ž, ś, ź, ť (0x80-0x9F), which ISO-8859-2 never uses.
        return "cp1250" if re.search(rb"[\x80-\x9f]", sample) else "iso8859-2"
    close = [m for m in matches if m.percent_chaos <= best.percent_chaos + 3]
    if lang in _WESTERN or any("cp1252" in (m.encoding, *m.could_be_from_charset) for m in close):
        return "cp1252"  # the web's most common legacy encoding
    return _codec(best.encoding)


def _decode(body: bytes, content_type: str) -> tuple[str, str, str | None]:
    """(text, codec used, note when the declared charset was not used)."""
    for bom, codec in _BOMS:
        if body.startswith(bom):  # a BOM outranks every declaration, as in browsers
            return body[len(bom) :].decode(codec, "replace"), codec, None
    if body[:2] in (b"<\x00", b"{\x00"):  # UTF-16 without a BOM, sniffed as XML 1.0 appendix F says
        return body.decode("utf-16-le", "replace"), "utf-16-le", None
    if body[:2] in (b"\x00<", b"\x00{"):
        return body.decode("utf-16-be", "replace"), "utf-16-be", None
    http = _CHARSET.search(content_type)
    xml = _XML_ENCODING.match(body, 0, 1024)
    labels = [http.group(1) if http else None, xml.group(1).decode("ascii") if xml else None]
    utf8 = _strict(body, "utf-8")
    codecs_declared = list(dict.fromkeys(_codec(label) for label in labels))
    for codec in filter(None, codecs_declared):  # HTTP first (RFC 7303), then the XML declaration
        if codec == "utf-8" and utf8 is None:
            continue
        if utf8 is not None and (codec == "utf-8" or (_single_byte(codec) and not utf8.isascii())):
            # Valid UTF-8 with non-ASCII letters is practically never a legacy text by accident;
            # servers defaulting to "charset=iso-8859-1" for UTF-8 files are common.
            mislabelled = "utf-8" not in codecs_declared
            return utf8, "utf-8", f"declared {codec}, decoded as utf-8" if mislabelled else None
        if (text := _strict(body, codec)) is not None:
            return text, codec, None
    declared = list(dict.fromkeys(label.lower() for label in labels if label))
    note = f"declared {'/'.join(declared)} does not fit the bytes" if declared else None
    if utf8 is not None:
        return utf8, "utf-8", note
    valid = sum(map(len, _UTF8_MULTIBYTE.findall(body)))
    if valid > len(body.translate(None, _ASCII)) - valid:
        return body.decode("utf-8", "newswatch-cp1252"), "utf-8+cp1252", note or "invalid utf-8 bytes read as cp1252"
    codec = _detect(body) or "cp1252"
    return body.decode(codec, "replace"), codec, note


# --- neutralizing the XML before feedparser -----------------------------------------------------

# XML 1.0 forbids C0 controls but tab/LF/CR (and U+FFFE/U+FFFF): one stray NUL would send the
# whole feed to feedparser's lenient fallback parser, and PostgreSQL rejects NUL in text.
_ILLEGAL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
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
