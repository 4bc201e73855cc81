"""A failed run's notice to the ops targets names the reason in one line (issue #19 item 20):
a database error's message carries its SQL statement and parameters on the lines after."""

from __future__ import annotations

from tasks.alerting import notify_run_failed
from tasks.config import Settings
from tests.receivers import JsonReceiver

REASON = (
    "IntegrityError: (sqlite3.IntegrityError) database or disk is full\n"
    "[SQL: UPDATE sources SET last_error=? WHERE sources.id = ?]\n"
    "[parameters: ('Forced labour at the kiln: the article text', 1)]\n"
    "(Background on this error at: https://sqlalche.me/e/21/gkpj)"
)


def test_the_ops_notice_is_one_line() -> None:
    with JsonReceiver() as hook:
        settings = Settings(notify=hook.apprise_url(), apprise_secret_block=None)
        errors = notify_run_failed(settings, "monitor", "r1", REASON)
    assert errors == [] and len(hook.posts) == 1
    body = hook.posts[0]["message"]
    assert "database or disk is full" in body
    assert "[SQL" not in body and "article text" not in body and "\n" not in body.strip()
