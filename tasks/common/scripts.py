"""Scripts written without spaces between words: Khmer, Thai, Lao, Myanmar, Han (Chinese,
Japanese kanji), Hiragana and Katakana.

They matter wherever text is cut into words: a word there has no space (and so no word
boundary) around it, only other letters of the same run. So a term in such a script is matched
without word boundaries (at grapheme-cluster boundaries instead: tasks.query), emphasised the
same way (tasks.matching.topics), and cannot be looked up in PostgreSQL's text-search index,
which reads a whole run of such letters as one token (tasks.matching.search tells
storage.search which literals are in these scripts).
"""

from __future__ import annotations

import regex

# A regex character class (the `regex` module's syntax: \p{Script}), for use inside patterns.
UNSPACED_SCRIPT_CLASS = r"[\p{Khmer}\p{Thai}\p{Lao}\p{Myanmar}\p{Han}\p{Hiragana}\p{Katakana}]"
# One character of such a script: .search(text) says whether text holds any.
UNSPACED_SCRIPT_CHAR = regex.compile(UNSPACED_SCRIPT_CLASS, regex.V1)
