"""The matching stage's product rules, apart from the SQL: which new matches alert, and which
targets a topic's alerts go to. Pure functions over plain facts: storage runs the queries and
hands the facts over (storage.records.StoryFacts); these decide.

    match_alerts(topic_wants_followups, story) -> bool   does a new match write alerts
    alert_rule(topics) -> AlertRule                      match_alerts for a watchlist, for save_matches
    route(topic, targets) -> list[Target]                the targets a topic's alerts go to
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from storage.records import AlertRule, StoryFacts, Target
from tasks.config import TopicSpec

log = logging.getLogger(__name__)


def match_alerts(topic_wants_followups: bool, story: StoryFacts) -> bool:
    """Whether a new match of a topic writes alerts: one alert per (topic, story).

    The first match of its (topic, story) alerts (the one that inserted the story's unique row
    for the topic). A later copy of the story alerts only as a follow-up: when its topic asks for
    follow-ups (`followups: new-outlets`) and the copy comes from an outlet that had not carried
    the story for this topic. An article in no story is a copy of nothing, and alerts.
    The outlet is looked up only when the answer depends on it."""
    if story.story_id is None or story.first_for_topic:
        return True
    if not topic_wants_followups:
        return False
    return not story.outlet_carried_before()


def alert_rule(topics: Sequence[TopicSpec]) -> AlertRule:
    """match_alerts for these topics, in the form storage.repository.save_matches calls it with
    (topic name, story facts), inside its transaction."""
    followups = frozenset(t.name for t in topics if t.followups == "new-outlets")

    def rule(topic: str, story: StoryFacts) -> bool:
        return match_alerts(topic in followups, story)

    return rule


def route(topic: TopicSpec, targets: Sequence[Target]) -> list[Target]:
    """The targets a topic's alerts go to: those carrying one of its `notify` tags (all when it
    names none). A topic whose tags no target carries goes to all: nothing is dropped."""
    if not topic.notify:
        return list(targets)
    chosen = [t for t in targets if set(t.tags) & set(topic.notify)]
    if not chosen:
        log.warning("topic %s: no target tagged %s; sending to every target", topic.name, ", ".join(topic.notify))
    return chosen or list(targets)
