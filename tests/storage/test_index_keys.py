"""What a unique index holds is bounded, and a batch the database refuses for one record's values
is stored record by record (issue #19, item 16), on SQLite and PostgreSQL."""

from __future__ import annotations

import random

from sqlalchemy import select

from storage import repository
from storage.db import get_engine
from storage.models import INDEX_KEY_MAX_BYTES, Article
from tests.helpers import stored_article


def test_a_batch_the_database_refuses_is_stored_entry_by_entry(db_url: str) -> None:
    """A record the driver cannot bind (a lone surrogate that came past the parse boundary) is
    refused alone, with its reason; the records beside it are stored."""
    (state,) = _sources(db_url, 1)
    good = [stored_article(state, f"https://a.example/{n}", f"Story {n}", f"Text {n} " * 40) for n in range(2)]
    bad = stored_article(state, "https://a.example/bad", "Broken \ud800 title", "Other text " * 40)
    outcome = repository.insert_articles(db_url, [good[0], bad, good[1]])
    assert outcome.ids[0] is not None and outcome.ids[2] is not None and outcome.ids[1] is None
    assert list(outcome.rejected) == [1] and "surrogate" in outcome.rejected[1]
    assert outcome.conflicts == 0


def test_identifiers_of_thousands_of_characters_are_stored_and_found_again(db_url: str) -> None:
    """A 3,000-character link and GUID (PostgreSQL's btree refuses index rows over 2,704 bytes)
    are stored as their bounded index key and found again by the values the feed gives."""
    (state,) = _sources(db_url, 1)
    rng = random.Random(19)
    link = "https://a.example/" + "".join(rng.choice("abcdefghij0123456789") for _ in range(3000))
    guid = "tag:" + "".join(rng.choice("klmnopqrst中é") for _ in range(3000))
    record = stored_article(state, link, "A long link", "Long link text " * 40, guid=guid)
    assert repository.insert_articles(db_url, [record]).new_ids
    known = repository.known_entries(db_url, state, [link], [guid])
    assert set(known) == {link, guid}
    with get_engine(db_url).connect() as conn:
        key = conn.execute(select(Article.canonical_url)).scalar_one()
    assert len(key.encode()) <= INDEX_KEY_MAX_BYTES and key.startswith("https://a.example/")
    again = repository.insert_articles(db_url, [record])  # the same entry in the next run: a conflict
    assert again.new_ids == [] and again.conflicts == 1


def _sources(db_url: str, n: int) -> list[int]:
    ids = repository.upsert_sources(db_url, [(f"s{i}", f"https://s{i}.example/feed", []) for i in range(n)])
    return list(ids.values())
