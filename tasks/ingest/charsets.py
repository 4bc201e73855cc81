"""Feed bodies from bytes to text, decoded the way a browser would: a byte-order mark outranks
every declaration, then the HTTP charset and the XML declaration's encoding (each used only if the
bytes fit it; labels mapped to the superset browsers use), then valid UTF-8, then a guess by
charset-normalizer weighed by the feed's declared language. tasks.ingest.feedbytes makes the text
safe for the parser."""

from __future__ import annotations

import codecs
import contextlib
import re
from functools import lru_cache

import charset_normalizer

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
def codec_for_label(label: str | None) -> str | None:
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
    if best is None or not _single_byte(codec_for_label(best.encoding) or "utf-8"):
        return codec_for_label(best.encoding) if best else None
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
    return codec_for_label(best.encoding)


def decode_body(body: bytes, content_type: str) -> tuple[str, str, str | None]:
    """`body` as text, decoded the way a browser would: a BOM first, then the HTTP charset, then the
    XML declaration's, each only if the bytes fit it, then a guess. (text, codec used, note when
    the declared charset was not used)."""
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
    codecs_declared = list(dict.fromkeys(codec_for_label(label) for label in labels))
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
