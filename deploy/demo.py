"""`newswatch demo`: a sample news site on 127.0.0.1 (four outlets, forty articles in English and
Khmer, generated here from a fixed seed), the full monitor flow run against it with a temporary
database, and the alerts it sends printed to the terminal. No internet needed."""

from __future__ import annotations

import os
import random
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from tasks.report import RunSummary

WATCHLIST = Path(__file__).resolve().parent / "watchlist.yaml"
SEED = 2026

# (name, slug, language, navigation words, footer line)
OUTLETS = [
    ("Mekong Daily", "mekong-daily", "en", "Home · Cambodia · Business · Region · Opinion", "Mekong Daily Media Co."),
    ("Border Post", "border-post", "en", "Front page · Provinces · Trade · Crime · Sport", "Border Post Publishing"),
    ("Siem Reap Herald", "siem-reap-herald", "en", "News · Tourism · Angkor · Life · Weather", "Herald Group"),
    ("Khmer Wire", "khmer-wire", "km", "ទំព័រដើម · ជាតិ · សេដ្ឋកិច្ច · អន្តរជាតិ · កីឡា", "ខ្មែរវ៉ាយ"),
]

# Trafficking stories that must alert: (outlet slug, title, lead). Story "A" is syndicated.
STORY_A = (
    "Police free 43 workers from scam compound in Sihanoukville",
    "Police in Preah Sihanouk province freed 43 workers from a scam compound on Thursday, in what officials "
    "described as one of the largest human trafficking rescues this year. The workers, from Vietnam, Thailand "
    "and Indonesia, said they had been recruited online with promises of office jobs and then held under "
    "debt bondage, forced to defraud strangers for up to sixteen hours a day.",
)
ALERTING = [
    (
        "border-post",
        "Court jails recruiter for trafficking women to Thailand",
        "A Battambang court sentenced a labour recruiter to twelve years in prison on Monday for trafficking women "
        "across the border to Thailand, where prosecutors said they were sold to fishing-port brothels. It was the "
        "province's third human trafficking conviction this year.",
    ),
    (
        "siem-reap-herald",
        "Anti-trafficking hotline sees surge in calls from migrant families",
        "An anti-trafficking hotline run by a Siem Reap charity received twice as many calls last month as a year "
        "earlier, most from families whose relatives had gone abroad for work and stopped answering. Staff said "
        "several callers described victims of trafficking held in compounds near the Myanmar border.",
    ),
]
KHMER_ALERT = (
    "ប៉ូលិស​ជួយ​សង្គ្រោះ​ស្ត្រី ១២ នាក់ ពី​បទ​ជួញដូរមនុស្ស",
    "ប៉ូលិស ខេត្ត បន្ទាយមានជ័យ បាន ជួយ សង្គ្រោះ ស្ត្រី ១២ នាក់ កាលពី ថ្ងៃច័ន្ទ ក្នុង ករណី ជួញដូរមនុស្ស "
    "ឆ្លង ព្រំដែន ទៅ ប្រទេស ថៃ ។ មន្ត្រី បាន និយាយ ថា ជនសង្ស័យ ពីរ នាក់ ត្រូវ បាន ឃាត់ខ្លួន ។",
)
# Traffick* without people, and traffic: these must not alert.
QUIET = [
    (
        "mekong-daily",
        "Customs seize heroin in drug trafficking bust at Poipet",
        "Customs officers at the Poipet checkpoint seized eleven kilograms of heroin hidden in a truck of "
        "cassava on Wednesday and arrested two suspected drug traffickers, the anti-narcotics police said.",
    ),
    (
        "border-post",
        "Road traffic deaths fall as helmet checks expand",
        "Road traffic deaths fell by a fifth in the first nine months of the year, the transport ministry said, "
        "crediting roadside helmet checks and new speed cameras on National Road 5.",
    ),
    (
        "khmer-wire",
        "ប៉ូលិស​បង្ក្រាប​ការ​ជួញដូរគ្រឿងញៀន",
        "ប៉ូលិស ប្រឆាំង គ្រឿងញៀន បាន ចាប់ខ្លួន ជនសង្ស័យ បី នាក់ ពី បទ ជួញដូរគ្រឿងញៀន នៅ ក្រុង ភ្នំពេញ ។",
    ),
]
ORDINARY = [
    "Rice exports rise for a third month",
    "Water festival boat races draw record crowds",
    "New bridge over the Tonle Sap opens",
    "Garment orders slow before the holidays",
    "Commune election campaign begins quietly",
    "Pepper farmers in Kampot expect a better harvest",
    "Power grid link to Laos completed",
    "Teachers ask for higher allowances in rural schools",
    "Mango growers find new buyers in China",
    "Airport passenger numbers recover",
    "Flood defences tested as rainy season peaks",
    "Rubber prices slip on weak demand",
    "Provincial hospital opens new maternity ward",
    "Railway to the coast adds a night train",
    "Fishing families worry over shrinking catches",
    "Solar farm tender draws twelve bids",
    "Temple restoration at Angkor enters final phase",
    "Microfinance debt under scrutiny",
    "Cassava traders cross the border in record numbers",
    "Bus operators raise fares before the holiday",
    "Land dispute in Kratie goes to court",
    "Cashew processing plant hires local staff",
    "Tourism board launches river cruise campaign",
    "Inflation eases as fuel prices fall",
    "Football league season ends in dramatic final",
]
KHMER_ORDINARY = [
    "ការនាំចេញ​ស្រូវ​កើនឡើង",
    "ពិធីបុណ្យ​អុំទូក​ទាក់ទាញ​ភ្ញៀវ",
    "ស្ពាន​ថ្មី​បើក​ឱ្យ​ប្រើប្រាស់",
    "កសិករ​ម្រេច​រំពឹង​ទិន្នផល​ល្អ",
    "ការបោះឆ្នោត​ឃុំ​ចាប់ផ្តើម",
    "មន្ទីរពេទ្យ​ខេត្ត​បើក​អគារ​ថ្មី",
    "តម្លៃ​កៅស៊ូ​ធ្លាក់ចុះ",
    "ទេសចរណ៍​អង្គរ​ងើបឡើងវិញ",
]
EN_SUBJECTS = [
    "Provincial officials",
    "Traders",
    "Residents",
    "A ministry spokesman",
    "Local farmers",
    "Economists",
    "Shop owners",
    "The commune chief",
    "Teachers",
    "Villagers",
    "Bankers",
    "Engineers",
]
EN_VERBS = ["said", "told reporters", "expect", "warned", "noted", "estimated", "confirmed", "argued"]
EN_PLACES = [
    "Kampot",
    "Takeo",
    "Kratie",
    "Battambang",
    "Pursat",
    "Kandal",
    "Prey Veng",
    "Svay Rieng",
    "Kep",
    "Koh Kong",
    "Stung Treng",
    "Mondulkiri",
    "Kampong Cham",
    "Siem Reap",
    "Pailin",
    "Ratanakiri",
]
EN_THINGS = [
    "rice",
    "cassava",
    "cement",
    "fuel",
    "pepper",
    "fish",
    "timber",
    "cashews",
    "sugar",
    "fertiliser",
    "bricks",
    "mangoes",
    "cattle",
    "rubber",
    "steel",
    "textiles",
    "maize",
    "soybeans",
]
EN_TAILS = [
    "before the rainy season",
    "this quarter",
    "after the holiday",
    "despite higher costs",
    "by next year",
    "compared with last year",
    "once the road is paved",
    "if the weather holds",
    "within two months",
]
KM_TEXT = (
    "ប្រទេស កម្ពុជា រដ្ឋាភិបាល ខេត្ត ភ្នំពេញ កសិករ ស្រូវ ទីផ្សារ សាលារៀន មន្ទីរពេទ្យ ផ្លូវ ស្ពាន ទន្លេ "
    "ពិធីបុណ្យ សេដ្ឋកិច្ច ការនាំចេញ អ្នកភូមិ ក្រសួង ថ្ងៃច័ន្ទ បាននិយាយថា នឹង ឆ្នាំនេះ ប្រជាពលរដ្ឋ តម្លៃ "
    "ទឹកជំនន់ ភ្លៀង អាជ្ញាធរ វត្ត ទេសចរណ៍ រោងចក្រ អគ្គិសនី គម្រោង ថវិកា ធនាគារ ឃុំ ភូមិ ទំនិញ"
)
KM_WORDS = KM_TEXT.split()


def en_paragraph(rng: random.Random, sentences: int = 6) -> str:
    out = []
    for _ in range(sentences):
        subject, verb, place = rng.choice(EN_SUBJECTS), rng.choice(EN_VERBS), rng.choice(EN_PLACES)
        amount, thing, tail = rng.randint(2, 980), rng.choice(EN_THINGS), rng.choice(EN_TAILS)
        out.append(f"{subject} in {place} {verb} that {amount} tonnes of {thing} would move {tail}.")
    return " ".join(out)


def km_paragraph(rng: random.Random, words: int = 90) -> str:
    return " ".join(rng.choice(KM_WORDS) for _ in range(words)) + " ។"


def page(outlet: tuple[str, str, str, str, str], title: str, paragraphs: list[str], published: datetime) -> str:
    name, _, lang, nav, owner = outlet
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    links = "".join(f'<li><a href="/{i}">{escape(w)}</a></li>' for i, w in enumerate(nav.split(" · ")))
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)} | {escape(name)}</title>
<meta property="og:site_name" content="{escape(name)}">
<meta property="article:published_time" content="{published.isoformat()}"></head>
<body><header><nav><ul>{links}</ul></nav><div class="ticker">{escape(name)} · Subscribe for daily news</div></header>
<main><article><h1>{escape(title)}</h1><div class="byline">{escape(name)} staff · {published:%d %B %Y}</div>
{body}</article>
<div class="share">Share on Facebook · Share on Telegram · Copy link</div></main>
<footer><p>© {published.year} {escape(owner)}. All rights reserved.</p>
<p><a href="/about">About</a> · <a href="/contact">Contact</a> · <a href="/privacy">Privacy</a></p></footer>
</body></html>"""


def build_site(now: datetime) -> dict[str, tuple[str, bytes]]:
    """Every route of the site: path -> (content type, body). Text is seeded: the same each time."""
    rng = random.Random(SEED)
    stories: dict[str, list[tuple[str, list[str]]]] = {o[1]: [] for o in OUTLETS}
    a_body = [STORY_A[1], en_paragraph(rng, 8), en_paragraph(rng, 8)]
    stories["mekong-daily"].append((STORY_A[0], a_body))
    # Syndicated copies: the same text, lightly edited, under other outlets' boilerplate.
    stories["border-post"].append((STORY_A[0], [a_body[0].replace("on Thursday", "this week"), *a_body[1:]]))
    copy = [a_body[0], a_body[1], a_body[2].replace(" said ", " stated ", 1), "First published by Mekong Daily."]
    stories["siem-reap-herald"].append(("Sihanoukville raid frees 43 scam compound workers", copy))
    for slug, title, lead in ALERTING + QUIET:
        if slug == "khmer-wire":
            stories[slug].append((title, [lead, km_paragraph(rng), km_paragraph(rng)]))
        else:
            stories[slug].append((title, [lead, en_paragraph(rng), en_paragraph(rng)]))
    stories["khmer-wire"].append((KHMER_ALERT[0], [KHMER_ALERT[1], km_paragraph(rng), km_paragraph(rng)]))
    ordinary = iter(ORDINARY)
    for slug in ("mekong-daily", "border-post", "siem-reap-herald"):
        while len(stories[slug]) < 10:
            title = next(ordinary)
            lead = f"{title}, officials and residents told {dict((o[1], o[0]) for o in OUTLETS)[slug]} this week."
            stories[slug].append((title, [lead, en_paragraph(rng), en_paragraph(rng)]))
    for title in KHMER_ORDINARY:
        stories["khmer-wire"].append((title, [title + " ។", km_paragraph(rng), km_paragraph(rng)]))

    routes: dict[str, tuple[str, bytes]] = {"/robots.txt": ("text/plain", b"User-agent: *\nAllow: /\n")}
    for outlet in OUTLETS:
        name, slug = outlet[0], outlet[1]
        items = []
        for i, (title, paragraphs) in enumerate(stories[slug]):
            published = now - timedelta(hours=3 * i + 1)
            path = f"/{slug}/{i + 1:02d}.html"
            routes[path] = ("text/html; charset=utf-8", page(outlet, title, paragraphs, published).encode())
            items.append(
                f"<item><title>{escape(title)}</title><link>{{base}}{path}</link><guid>{{base}}{path}</guid>"
                f"<pubDate>{format_datetime(published)}</pubDate>"
                f"<description>{escape(paragraphs[0][:160])}</description></item>"
            )
        feed = (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(name)}</title>'
            f"<link>{{base}}/{slug}/</link><description>{escape(name)}</description>{''.join(items)}</channel></rss>"
        )
        routes[f"/{slug}/rss.xml"] = ("application/rss+xml; charset=utf-8", feed.encode())
    return routes


class DemoSite:
    """The sample news site, served on 127.0.0.1 at an ephemeral port while the context is open."""

    def __init__(self) -> None:
        routes: dict[str, tuple[str, bytes]] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                content_type, body = routes.get(self.path.split("?")[0], ("text/plain", b"not found"))
                self.send_response(200 if self.path.split("?")[0] in routes else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        base = self.base.encode()
        routes.update({p: (t, b.replace(b"{base}", base)) for p, (t, b) in build_site(datetime.now(UTC)).items()})
        self.routes = routes
        self.feeds: list[tuple[str, str]] = [(o[0], f"{self.base}/{o[1]}/rss.xml") for o in OUTLETS]
        self.languages = {o[0]: o[2] for o in OUTLETS}
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> DemoSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_sources(site: DemoSite, path: Path) -> Path:
    lines = ["sources:"]
    for name, url in site.feeds:
        lines += [f"  - name: {name}", f"    url: {url}", f"    tags: [demo, {site.languages[name]}]"]
        lines += [f"    language: {site.languages[name]}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run_demo(keep: Path | None = None) -> RunSummary:
    """Serve the sample site, run the monitor on it with a fresh database, print the alerts."""
    with tempfile.TemporaryDirectory(prefix="newswatch-demo-") as tmp, DemoSite() as site:
        workdir = Path(tmp)
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
        db_file = (keep or workdir) / "demo.db"
        db_file.unlink(missing_ok=True)  # a fresh database each time: every article is new
        sources = write_sources(site, workdir / "sources.yaml")
        env: dict[str, str | None] = {
            "NEWSWATCH_DATABASE_URL": f"sqlite:///{db_file}",
            "NEWSWATCH_ALLOW_PRIVATE": "127.0.0.1",
            "NEWSWATCH_HOST_MIN_GAP": "0",
            "NEWSWATCH_WATCHLIST_FILE": str(WATCHLIST),
            "NEWSWATCH_NOTIFY": None,
            "NEWSWATCH_APPRISE_CONFIG": None,
            "NEWSWATCH_APPRISE_SECRET_BLOCK": None,
        }
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        print(f"Sample news site at {site.base}: " + ", ".join(name for name, _ in site.feeds))
        print("Alerts are printed below (no notifier is configured in the demo).")
        with _environment(env):
            from deploy.runner import monitor_runner
            from storage.db import dispose_all

            try:
                summary = monitor_runner()(sources_file=str(sources), watchlist_file=str(WATCHLIST), force=True)
            finally:
                dispose_all()  # release the SQLite file before the temporary directory goes
        if keep is not None:
            print(f"Demo database kept: {db_file}")
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    if api:
        print(f"Prefect UI: {api.rstrip('/').removesuffix('/api')}/runs")
    return summary
