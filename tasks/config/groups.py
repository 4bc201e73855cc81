"""The watchlist's named groups of terms (`groups:`, shared by every topic, and a topic's own):
their schema, and what the query language makes of them (tasks.query.TermGroup, @name).

    groups:
      documents:                      # terms for every language, plus per language code
        terms: ["confiscated passport*", "took their passports"]
        km: ["រឹបអូសលិខិតឆ្លងដែន"]
      deception: [deceived, "false promises", "fake job*"]   # terms alone: a plain list
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, TypeAdapter, ValidationError

from tasks.query import QuerySyntaxError, TermGroup, parse_query, terms_query

LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")  # the keys of `queries:` and of a group's lists
GROUP_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_REFERENCE = re.compile(r"@([A-Za-z][A-Za-z0-9_-]*)")  # as tasks.query's lexer reads @name


MAX_TERM = 200  # characters: the longest term of the shipped topics is under 40


def check_term(term: str) -> str:
    """One term of a `terms:` list or a group: it must read as a term of the query language."""
    if len(term) > MAX_TERM:
        raise ValueError(f"term of {len(term)} characters: at most {MAX_TERM}")
    try:
        parse_query(terms_query([term]))
    except QuerySyntaxError as exc:
        raise ValueError(f"invalid term {term!r}: {exc.message}" + (f" ({exc.detail})" if exc.detail else "")) from None
    except ValueError:
        raise ValueError("empty term") from None
    return term


def _group_name(name: str) -> str:
    if not GROUP_NAME.fullmatch(name):
        raise ValueError(f"group name {name!r}: lower-case letters, digits, - and _, starting with a letter")
    return name


def _group_key(key: str) -> str:
    if key != "terms" and not LANGUAGE_CODE.fullmatch(key):
        raise ValueError(f"unknown key {key!r} (allowed: terms, or a language code: en, km, th, vi, ...)")
    return key


def _group_shorthand(value: Any) -> Any:
    return {"terms": value} if isinstance(value, list) else value  # documents: [a, b] is documents: {terms: [a, b]}


def _group_has_terms(value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    if not any(value.values()):
        raise ValueError("a group needs terms")
    return value


GroupSpec = Annotated[
    dict[Annotated[str, AfterValidator(_group_key)], tuple[Annotated[str, AfterValidator(check_term)], ...]],
    BeforeValidator(_group_shorthand),
    AfterValidator(_group_has_terms),
]
Groups = dict[Annotated[str, AfterValidator(_group_name)], GroupSpec]
_GROUPS: TypeAdapter[Groups] = TypeAdapter(Groups)


def term_groups(groups: Groups) -> dict[str, TermGroup]:
    """Validated groups as the query language takes them."""
    return {
        name: TermGroup(spec.get("terms", ()), {k: v for k, v in spec.items() if k != "terms"})
        for name, spec in groups.items()
    }


def shared_groups(raw: Any) -> dict[str, Any]:
    """The watchlist's `groups:` as each topic gets them. Broken ones are reported where they
    are written; meanwhile their names stand for anything, so that the topics that use them
    are not reported too."""
    try:
        return dict(_GROUPS.validate_python(raw))
    except ValidationError:
        names = [n for n in raw if isinstance(n, str) and GROUP_NAME.fullmatch(n)] if isinstance(raw, dict) else []
        return dict.fromkeys(names, ["anything"])


def unchecked_groups(query: str) -> dict[str, TermGroup]:
    """Every group the query names, standing for anything: to check its syntax alone."""
    return {name.lower(): TermGroup(["anything"]) for name in _REFERENCE.findall(query)}
