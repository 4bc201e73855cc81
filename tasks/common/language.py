"""An article's language: what the page or feed declares, unless the text's own script says
otherwise, else a statistical guess (py3langid, whose model ships inside the package)."""

from __future__ import annotations

import threading

import regex

# Scripts that identify one language on their own (in this region): no guessing needed.
_SCRIPT_LANGUAGE = {"Khmer": "km", "Thai": "th", "Lao": "lo", "Myanmar": "my"}
_SCRIPTS = {name: regex.compile(rf"\p{{{name}}}") for name in (*_SCRIPT_LANGUAGE, "Latin", "Han")}
MIN_CHARS = 40
SAMPLE = 3000

_lock = threading.Lock()
_identifier = None


def _guess(text: str) -> str | None:
    global _identifier
    with _lock:  # the model loads once (0.7 s); classify is not documented as thread-safe
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        language, probability = _identifier.classify(text)
    return str(language) if probability >= 0.5 else None


def primary_tag(value: str | None) -> str | None:
    """The primary subtag of a language tag, lower case: "en" for "en-US", "EN_gb" or " en ";
    None for an empty or missing tag. Feeds, pages and queries all name languages this way."""
    if not value or not value.strip():
        return None
    return value.strip().replace("_", "-").split("-")[0].lower()[:20]


def dominant_script(text: str) -> str | None:
    sample = text[:SAMPLE]
    counts = {name: len(pattern.findall(sample)) for name, pattern in _SCRIPTS.items()}
    name, count = max(counts.items(), key=lambda kv: kv[1])
    return name if count >= MIN_CHARS // 2 else None


def detect(text: str, declared: str | None = None) -> str | None:
    """A language code such as en, km, th, vi. The declared one wins unless the text is in a
    script that belongs to another language (a Khmer article on a site that says lang="en")."""
    script = dominant_script(text)
    by_script = _SCRIPT_LANGUAGE.get(script or "")
    if by_script:
        return by_script
    if declared:
        return declared
    if len(text.strip()) < MIN_CHARS:
        return None
    return _guess(text[:SAMPLE])
