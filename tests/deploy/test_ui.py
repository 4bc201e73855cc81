"""The Prefect UI end to end (issue 9): a real Prefect server, `newswatch serve`, and headless
Debian chromium driven through Playwright at 1440 px: Deployments -> monitor (its entrypoint
relative to the project) -> Run -> Custom run, one topic picked from the config's list and
dry_run off -> the run completes in the UI -> the alert e-mail reaches a local SMTP server -> the
run report's artifact fits its pane (issue #19 items 1, 2, 4). Screenshots go to
$NEWSWATCH_UI_SCREENSHOTS (default: the test's tmp dir)."""

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
WIDTH = 1440  # a laptop's window: the artifact pane is about 870 px of it

# Every element of the rendered run report (the root is the parent of its "newswatch run" heading)
# whose right edge is past the report's or the window's, and the report's overflow in pixels.
OFF_SCREEN = """() => {
  const heading = [...document.querySelectorAll('h1')].find(h => h.textContent.startsWith('newswatch run'));
  const root = heading.parentElement;
  const right = Math.min(root.getBoundingClientRect().right, window.innerWidth) + 1;
  const off = [...root.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > right)
    .map(e => `${e.tagName}: ${e.textContent.slice(0, 60)} (${Math.round(e.getBoundingClientRect().right)} px)`);
  let scrolled = 0;
  for (let e = root; e; e = e.parentElement) scrolled = Math.max(scrolled, e.scrollWidth - e.clientWidth);
  return {off, scrolled, width: Math.round(root.getBoundingClientRect().width)};
}"""


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


def _new_page(browser, api: str):  # type: ignore[no-untyped-def]
    """A page of WIDTH px whose UI talks to `api`."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
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
    return page


def _assert_report_fits(page, ui: str, artifact_id: str, shot: Path) -> None:  # type: ignore[no-untyped-def]
    """The run report's artifact page in the default UI and in the V1 UI ("Switch to V1 UI",
    where the field report measured a 3,779 px table in an 868 px pane): a screenshot of each,
    and nothing of the report past its pane or the window."""
    from playwright.sync_api import expect

    for version, address in (
        ("", f"{ui}/v2/artifacts/artifact/{artifact_id}"),
        ("-v1", f"{ui}/artifacts/artifact/{artifact_id}"),
    ):
        page.goto(address)
        expect(page.get_by_role("heading", name="newswatch run", exact=True)).to_be_visible()
        page.screenshot(path=f"{shot}{version}.png", full_page=True)
        fit = page.evaluate(OFF_SCREEN)
        assert fit["off"] == [] and fit["scrolled"] <= 1, (address, fit)


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
            page = _new_page(browser, api)
            page.goto(f"{ui}/")

            page.get_by_role("link", name="Deployments", exact=True).first.click()
            page.get_by_role("link", name="monitor", exact=True).first.click()
            expect(page.get_by_role("button", name="Run", exact=True)).to_be_visible()
            expect(page.get_by_text("flows/monitor.py:monitor", exact=True)).to_be_visible()  # not ../../
            page.screenshot(path=shots / "1-deployment.png", full_page=True)

            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("Custom run", exact=True).click()
            # The topics and sources the config has, "all" by default; no None toggles.
            expect(page.get_by_text('Property is type "None"')).to_have_count(0)
            topics = _section(page, "topics")
            expect(topics.get_by_role("tab", name="from the config")).to_have_attribute("aria-selected", "true")
            topics.get_by_role("button", name="Remove all tag").click()
            topics.get_by_role("button", name="Select from the config").click()
            expect(page.get_by_role("option", name="water-festival", exact=True)).to_be_visible()
            page.get_by_role("option", name="human-trafficking", exact=True).click()
            page.keyboard.press("Escape")
            sources = _section(page, "sources")
            expect(sources.get_by_title("all", exact=True)).to_be_visible()
            sources.get_by_role("button", name="Select from the config").click()
            for name in ("Mekong Daily", "test"):  # its name and its tag
                expect(page.get_by_role("option", name=name, exact=True)).to_be_visible()
            page.keyboard.press("Escape")
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
            expect(page.get_by_text(re.compile(r"^batch 1-of-1: 1 source: 1 read \(4 entries, 3 new"))).to_be_visible()
            expect(page.get_by_text(re.compile(r"^sources ok 1, failed 0"))).to_be_visible()
            page.screenshot(path=shots / "3-run.png", full_page=True)

            page.get_by_role("tab", name="Artifacts").click()
            expect(page.get_by_text("newswatch-run").first).to_be_visible()
            page.screenshot(path=shots / "4-run-artifacts.png", full_page=True)

            page.get_by_text("newswatch-run").first.click()
            report = re.search(r"/artifacts/artifact/([0-9a-f-]+)", page.url)
            assert report, page.url
            _assert_report_fits(page, ui, report.group(1), shots / "5-run-report")
            expect(page.get_by_role("heading", name=f"1. {TRAFFICKING_TITLE}")).to_be_visible()
        finally:
            browser.close()

    assert len(smtp.messages) == 1, [m["Subject"] for m in smtp.messages]
    assert TRAFFICKING_TITLE in str(smtp.messages[0]["Subject"])


def _heavy_report() -> str:
    """The run report of a match with everything long: title, sentence, clauses, indicators,
    outlets, and a failing source whose error holds a long URL."""
    from storage.records import MatchRow
    from tasks.report import RunSummary, render_markdown
    from tests.helpers import NOW, health_row

    sentence = (
        "Police said the recruiters, who advertised well-paid jobs in Thailand on social media, confiscated "
        "the workers' passports, forced them to work sixteen hours a day defrauding strangers online and "
        "threatened to sell them to another compound if they did not meet their targets."
    )
    fired = {"recruitment": ["advertised well-paid jobs"], "documents": ["confiscated the workers' passports"],
             "coercion": ["forced them to work", "threatened to sell them"]}  # fmt: skip
    outlets = ["Phnom Penh Post", "Khmer Times", "VOD English", "CamboJA News", "The Irrawaddy", "Frontier Myanmar"]
    matches = [
        MatchRow(
            "human-trafficking",
            f"{TRAFFICKING_TITLE}: rights groups say scam compounds still hold thousands",
            f"https://{outlet.lower().replace(' ', '')}.example/2026/11/27/officials-accused-of-colluding-with"
            "-human-traffickers-in-sihanoukville-rights-groups-say",
            outlet,
            NOW,
            sentence,
            ["recruiters", "passports", "forced", "sell"],
            ["@recruitment", "@documents", "@coercion", '"scam compound"', "traffick*", '"forced labour"'],
            7,
            fired,
        )  # fmt: skip
        for outlet in outlets
    ]
    summary = RunSummary(sources_ok=11, sources_failed=1, entries_seen=412, already_known=380, new_articles=30,
                         matches=6, alerts_sent=6, sources_run=outlets, failures=["Broken: HTTP 500"])  # fmt: skip
    error = "HTTP 503 from https://feeds.example-news-network.com/asia/cambodia/national/rss.xml?format=full&since=2026-11-27"
    return render_markdown(summary, matches, [health_row(name="Broken", consecutive_failures=4, last_error=error)])


@pytest.mark.timeout(240)
def test_a_heavy_run_report_fits_the_pane(prefect_server: str, tmp_path: Path) -> None:
    """Issue #19 item 2: the report of a match with long text everywhere, as a newswatch-run
    artifact on a real Prefect server, opened at 1440 px: nothing of it off screen."""
    _require_browser()
    import httpx
    from playwright.sync_api import sync_playwright

    api = prefect_server
    artifact = {"key": "newswatch-run", "type": "markdown", "data": _heavy_report(), "description": "heavy"}
    created = httpx.post(f"{api}/artifacts/", json=artifact, timeout=30)
    assert created.status_code == 201, created.text
    shots = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            _assert_report_fits(
                _new_page(browser, api), api.removesuffix("/api"), created.json()["id"], shots / "heavy-report"
            )
        finally:
            browser.close()
