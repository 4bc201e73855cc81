"""The shipped watchlist does what it promises: human trafficking in English, Khmer, Thai and
Vietnamese, and not drug or arms trafficking or road traffic on their own."""

from __future__ import annotations

import pytest

from tasks.config import load_watchlist
from tasks.config.settings import DEPLOY_DIR
from tasks.matching import compile_topic, match

TOPIC = compile_topic(
    next(t for t in load_watchlist(DEPLOY_DIR / "watchlist.yaml").topics if t.name == "human-trafficking")
)

FIRES = [
    ("en", "Officials accused", "Three officials colluded with human traffickers who lured workers abroad."),
    ("en", "Raid", "Police freed 40 workers held in debt bondage at a brick kiln in Kandal."),
    ("en", "Rescue", "The women were trafficked to Malaysia and forced to work without pay."),
    ("en", "Report", "Trafficking of women and girls across the border rose last year, the UN said."),
    ("en", "Crackdown", "Survivors of a scam compound in Sihanoukville described beatings."),
    ("km", "ព័ត៌មាន", "ប៉ូលិសបានចាប់ខ្លួនជនសង្ស័យពីបទជួញដូរមនុស្សនៅខេត្តព្រះសីហនុ។"),
    ("th", "ข่าว", "ตำรวจจับกุมขบวนการค้ามนุษย์ที่ชายแดนไทยกัมพูชา"),
    ("vi", "Tin tức", "Công an đã triệt phá một đường dây mua bán người qua biên giới Campuchia."),
]

SILENT = [
    ("en", "Drugs", "Police arrested three men for drug trafficking and seized 20 kg of methamphetamine."),
    ("en", "Arms", "The court convicted two arms traffickers who smuggled rifles across the border."),
    ("en", "Roads", "Heavy traffic is expected along the riverside during the Water Festival."),
    ("en", "Wildlife", "Rangers stopped a wildlife trafficking ring moving pangolins through the province."),
    ("km", "គ្រឿងញៀន", "ប៉ូលិសបានចាប់ខ្លួនជនសង្ស័យពីបទជួញដូរគ្រឿងញៀននៅរាជធានីភ្នំពេញ។"),
    ("vi", "Ma túy", "Công an bắt giữ hai đối tượng buôn bán ma túy tại biên giới."),
]


@pytest.mark.parametrize(("lang", "title", "text"), FIRES)
def test_fires(lang: str, title: str, text: str) -> None:
    hit = match(title, text, TOPIC, language=lang)
    assert hit is not None and hit.hit_field == "text" and hit.terms


@pytest.mark.parametrize(("lang", "title", "text"), SILENT)
def test_stays_silent(lang: str, title: str, text: str) -> None:
    assert match(title, text, TOPIC, language=lang) is None


def test_language_queries_apply_to_their_language_only() -> None:
    khmer = "ប៉ូលិសបានចាប់ខ្លួនជនសង្ស័យពីបទជួញដូរមនុស្សនៅខេត្តព្រះសីហនុ។"
    assert match("x", khmer, TOPIC, language="en") is None  # the Khmer query is for Khmer articles
    assert match("x", khmer, TOPIC, language="km") is not None
