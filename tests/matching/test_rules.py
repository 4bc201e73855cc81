"""The matching stage's product rules (tasks/matching/rules.py), without a database: which new
matches alert (one alert per topic and story; follow-ups from new outlets when the topic asks)
and which targets a topic's alerts go to."""

from __future__ import annotations

import logging

import pytest

from storage.records import StoryFacts, Target
from tasks.config import TopicSpec
from tasks.matching.rules import alert_rule, match_alerts, route


class Outlet:
    """The lazy "did this outlet carry the story for the topic" answer, counting the questions."""

    def __init__(self, carried: bool) -> None:
        self.carried = carried
        self.asked = 0

    def __call__(self) -> bool:
        self.asked += 1
        return self.carried


def facts(story_id: int | None, first: bool, outlet: Outlet) -> StoryFacts:
    return StoryFacts(story_id=story_id, first_for_topic=first, outlet_carried_before=outlet)


@pytest.mark.parametrize("followups", [False, True])
@pytest.mark.parametrize("carried", [False, True])
def test_the_first_match_of_a_topic_and_story_alerts_without_asking_about_the_outlet(
    followups: bool, carried: bool
) -> None:
    outlet = Outlet(carried)
    assert match_alerts(followups, facts(7, True, outlet)) is True
    assert outlet.asked == 0


@pytest.mark.parametrize("followups", [False, True])
def test_an_article_in_no_story_alerts(followups: bool) -> None:
    outlet = Outlet(True)
    assert match_alerts(followups, facts(None, False, outlet)) is True
    assert outlet.asked == 0


@pytest.mark.parametrize("carried", [False, True])
def test_a_later_copy_is_silent_when_the_topic_wants_no_followups(carried: bool) -> None:
    outlet = Outlet(carried)
    assert match_alerts(False, facts(7, False, outlet)) is False
    assert outlet.asked == 0  # the answer does not depend on the outlet: no query


def test_a_later_copy_from_a_new_outlet_is_a_followup_when_the_topic_asks() -> None:
    outlet = Outlet(carried=False)
    assert match_alerts(True, facts(7, False, outlet)) is True
    assert outlet.asked == 1


def test_a_later_copy_from_an_outlet_that_carried_the_story_stays_silent() -> None:
    outlet = Outlet(carried=True)
    assert match_alerts(True, facts(7, False, outlet)) is False
    assert outlet.asked == 1


def topic(name: str, **kw: object) -> TopicSpec:
    return TopicSpec(name=name, terms=("x",), **kw)  # type: ignore[arg-type]


def test_alert_rule_applies_each_topics_followups_setting() -> None:
    rule = alert_rule([topic("quiet"), topic("news", followups="new-outlets")])
    later_copy = facts(7, False, Outlet(carried=False))
    assert rule("news", later_copy) is True
    assert rule("quiet", later_copy) is False
    assert rule("unknown", later_copy) is False  # not in the watchlist: no follow-ups
    assert rule("quiet", facts(7, True, Outlet(carried=True))) is True


TARGETS = [Target("a", "json://a", ("ops",)), Target("b", "json://b", ("legal", "ops")), Target("c", "json://c")]


def test_route_without_notify_goes_to_every_target() -> None:
    assert route(topic("t"), TARGETS) == TARGETS


def test_route_goes_to_the_targets_carrying_a_notify_tag() -> None:
    assert route(topic("t", notify=("legal",)), TARGETS) == [TARGETS[1]]
    assert route(topic("t", notify=("ops", "legal")), TARGETS) == TARGETS[:2]


def test_route_with_tags_no_target_carries_goes_to_all_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tasks.matching.rules"):
        assert route(topic("t", notify=("press",)), TARGETS) == TARGETS
    assert "no target tagged press" in caplog.text
