"""The Prefect UI end to end (issue 9): a real Prefect server, `newswatch serve`, and headless
Debian chromium driven through Playwright: Deployments -> monitor -> Run -> Custom run with one
topic and dry_run off -> the run completes in the UI -> the alert e-mail reaches a local SMTP
server. Screenshots go to $NEWSWATCH_UI_SCREENSHOTS (default: the test's tmp dir)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.deploy.server import final_state, newswatch_serve
from tests.helpers import Watched
from tests.newsweb import TRAFFICKING_TITLE
from tests.receivers import SmtpReceiver

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Read at import: the autouse clean_env fixture removes NEWSWATCH_* variables before the test runs.
SCREENSHOTS = os.environ.get("NEWSWATCH_UI_SCREENSHOTS")
UI_TIMEOUT_MS = 45_000  # the React UI is heavy on a 2-core machine


def _require_browser() -> None:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    if missing:
        reason = "UI test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _watchlist_with_two_topics(wl: str) -> None:
    """A second topic that also matches the feed (the Water Festival story): without the topic
    limit the run would send two e-mails."""
    path = Path(wl)
    path.write_text(path.read_text() + '  - name: water-festival\n    terms: ["Water Festival"]\n    exclude: []\n')


def _section(page, label: str):  # type: ignore[no-untyped-def]
    """The form block of one parameter: its label, its menu and its input."""
    return page.get_by_text(f"{label} (Optional)", exact=True).locator("xpath=../../..")


@pytest.mark.timeout(240)
def test_custom_run_from_the_ui_sends_the_alert(prefect_server: str, mekong: Watched, tmp_path: Path) -> None:
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    api = prefect_server
    ui = api.removesuffix("/api")
    shots = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path / "screens"
    shots.mkdir(parents=True, exist_ok=True)

    _, src, wl = mekong
    _watchlist_with_two_topics(wl)
    smtp = SmtpReceiver()
    # A schedule of a day: no scheduled run during the test.
    serving = newswatch_serve(api, tmp_path, src, wl, smtp.apprise_url(), schedule_minutes=1440)
    with smtp, serving, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            expect.set_options(timeout=UI_TIMEOUT_MS)

            def ui_settings(route) -> None:  # type: ignore[no-untyped-def]
                # `prefect server start --port N` still tells the UI its API is on :4200
                # unless PREFECT_UI_API_URL is set: point it at this server.
                response = route.fetch()
                settings = response.json()
                settings["api_url"] = api
                route.fulfill(response=response, body=json.dumps(settings))

            page.route("**/ui-settings", ui_settings)
            page.goto(f"{ui}/")

            page.get_by_role("link", name="Deployments", exact=True).first.click()
            page.get_by_role("link", name="monitor", exact=True).first.click()
            expect(page.get_by_role("button", name="Run", exact=True)).to_be_visible()
            expect(page.get_by_text("flows/monitor.py:monitor")).to_be_visible()
            page.screenshot(path=shots / "1-deployment.png", full_page=True)

            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("Custom run", exact=True).click()
            topics = _section(page, "topics")
            topics.get_by_role("tab", name="list", exact=True).click()
            topics.get_by_role("button", name="Add item").click()
            topics.get_by_role("textbox").last.fill("human-trafficking")
            dry_run = _section(page, "dry_run").get_by_role("switch")
            if dry_run.get_attribute("aria-checked") == "true":
                dry_run.click()
            expect(dry_run).to_have_attribute("aria-checked", "false")
            page.screenshot(path=shots / "2-custom-run-form.png", full_page=True)

            with page.expect_response(
                lambda r: r.request.method == "POST" and r.url.endswith("/create_flow_run")
            ) as created:
                page.get_by_role("button", name="Submit").click()
            run = created.value.json()
            assert run["parameters"]["topics"] == ["human-trafficking"]
            assert run["parameters"]["dry_run"] is False

            page.get_by_role("link", name="View run").or_(page.get_by_role("button", name="View run")).first.click()
            page.wait_for_url(f"**/{run['id']}**")
            # The API says when the run is over; the UI must then show it.
            state = final_state(api, run["id"], 120, "the flow run to finish")
            assert state == "COMPLETED", (tmp_path / "serve.log").read_text()[-3000:]
            expect(page.get_by_text("Completed", exact=True).first).to_be_visible(timeout=60_000)
            expect(page.get_by_text(re.compile(r"^\d+ Task runs?$"))).to_be_visible(timeout=60_000)
            # Prefect's UI (v2, 3.9) polls a run's logs only while it sees the run RUNNING;
            # a run of two seconds between two 5-second polls keeps the Logs tab at "This
            # run did not produce any logs" until the page is loaded again (the API has them).
            page.reload()
            page.get_by_role("tab", name="Logs").click()
            expect(page.get_by_text(re.compile(r"^Mekong Daily: 4 entries, 3 new"))).to_be_visible()
            expect(page.get_by_text(re.compile(r"^sources ok 1, failed 0"))).to_be_visible()
            page.screenshot(path=shots / "3-run.png", full_page=True)

            page.get_by_role("tab", name="Artifacts").click()
            expect(page.get_by_text("newswatch-run").first).to_be_visible()
            page.screenshot(path=shots / "4-run-artifacts.png", full_page=True)
        finally:
            browser.close()

    assert len(smtp.messages) == 1, [m["Subject"] for m in smtp.messages]
    assert TRAFFICKING_TITLE in str(smtp.messages[0]["Subject"])
