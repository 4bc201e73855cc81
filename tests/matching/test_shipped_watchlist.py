"""The shipped watchlist does what it promises: human trafficking in English, Khmer, Thai and
Vietnamese, also when a story never names it (its indicators: deception, confinement, retained
documents, debt, people sold), and not drug, arms or wildlife trafficking, goods smuggling, road
traffic, an ordinary labour dispute or ordinary migration, however many of the same words they use.

The texts here were written for these tests, not taken from bench/relevance (whose measure half
must stay unseen while the topic is tuned)."""

from __future__ import annotations

import re

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
    # The issue's own two misses of the old topic: the trafficking word next to no people word
    # but nationals moved abroad, and a minor trafficked for prostitution.
    (
        "en",
        "Minister orders a hunt",
        "The minister ordered a hunt for the masterminds behind trafficking rings that move Cambodians abroad "
        "illegally.",
    ),
    ("en", "Released", "He was released from prison for trafficking a minor for prostitution."),
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


# One hard negative of each kind the topic must stay silent on: each uses words of the
# indicators (recruited, threatened, held, locked, debt, broker, passports) about something else.
HARD_NEGATIVES = {
    "drugs": (
        "Couriers paid $300 a trip by drug traffickers",
        "Police at Phnom Penh airport arrested two young women who said drug traffickers had recruited them on "
        "Facebook, promising $300 for carrying a suitcase to Kuala Lumpur. Officers found 4 kg of methamphetamine "
        "sewn into its lining. The women said they had been threatened when they asked what was inside. Both were "
        "charged with drug trafficking.",
    ),
    "arms": (
        "Arms traffickers used fishing boats to move rifles",
        "The navy seized 30 rifles and grenades hidden under ice on two fishing boats off Koh Kong. Investigators "
        "said arms traffickers paid the crews $200 a trip and kept the weapons in a locked warehouse near the port "
        "before shipping them to armed groups in Myanmar. Eight people were arrested.",
    ),
    "wildlife": (
        "Pangolins found in cages at a trafficking ring's warehouse",
        "Forestry officials raided a warehouse in Kratie where a wildlife trafficking ring held 60 live pangolins in "
        "cages before they were sold to restaurants in Vietnam. Workers at the warehouse said they were paid $10 a "
        "day to feed the animals. The owner escaped arrest.",
    ),
    "goods smuggling": (
        "Fuel smugglers pay fishermen to run diesel across the gulf",
        "Marine police said smugglers are paying fishermen to carry diesel from Thailand in boats fitted with hidden "
        "tanks. Crews earn 3,000 baht a trip and are often in debt to the boat owners who recruit them. Police seized "
        "15,000 litres and held the crews overnight before releasing them with fines.",
    ),
    "road traffic": (
        "Workers trapped as truck overturns on way to Thai farms",
        "A truck carrying 35 migrant workers to farms in Thailand overturned on National Road 5, killing four. "
        "Several workers were trapped in the wreckage for hours before rescuers freed them. Traffic police said the "
        "driver had worked through the night and was speeding; the broker who hired the truck was questioned.",
    ),
    "labour dispute": (
        "Garment workers strike over unpaid wages and 12-hour shifts",
        "About 1,000 workers at a garment factory in Kandal went on strike over unpaid wages and new 12-hour shifts. "
        "Managers threatened to dismiss the strike leaders and locked the factory gates. The labour ministry called "
        "both sides to talks and the company promised to pay the wages owed by Friday.",
    ),
    "missing after a flood": (
        "Villagers lost contact with relatives as floods cut roads",
        "Families in Kratie said they lost contact with relatives working on farms upriver after floods cut roads "
        "and phone lines. Two fishermen went missing when their boat overturned. Rescue teams reached the villages "
        "by boat on Tuesday and the provincial labour office promised jobs on the repair works.",
    ),
    "ordinary migration": (
        "Cambodians borrow to pay brokers for jobs in Korea",
        "Thousands of Cambodians leaving for jobs in South Korea this year borrowed money to pay brokers for "
        "passports, language classes and flights, a survey found, and many spend their first months abroad repaying "
        "the debt. The labour ministry urged workers to use the free government scheme, which arranges visas and "
        "keeps recruitment fees at zero.",
    ),
}

# Stories told without the word trafficking (nor ជួញដូរ, ค้ามนุษย์, buôn/mua bán người): the
# indicators carry them.
UNNAMED = {
    "scam compound": (
        "en",
        "Freed Indonesians say they were made to run online scams",
        "Forty Indonesians freed from a walled compound in Sihanoukville told their embassy they had answered online "
        "adverts for customer-service jobs in Thailand and were driven across the border at night. Their passports "
        "were taken on arrival, they said, and they were forced to defraud strangers on dating apps for 15 hours a "
        "day. Those who missed their targets were beaten with electric batons.",
    ),
    "debt bondage at a brick kiln": (
        "km",
        "គ្រួសារកម្មករឡឥដ្ឋមិនអាចចាកចេញបាន រហូតទាល់តែសងបំណុលអស់",
        "គ្រួសារកម្មករប្រាំគ្រួសារ នៅឡឥដ្ឋមួយក្នុងខេត្តកណ្ដាល បាននិយាយថា ពួកគេជំពាក់ម្ចាស់ឡរាប់ពាន់ដុល្លារ "
        "ហើយម្ចាស់ឡកាត់ប្រាក់ឈ្នួលរៀងរាល់សប្ដាហ៍ដើម្បីសងបំណុល។ ម្ចាស់ឡមិនអនុញ្ញាតឱ្យចេញពីឡឥដ្ឋទេ រហូតទាល់តែសងបំណុលអស់ "
        "ហើយបានគំរាមថានឹងប្ដឹងទៅប៉ូលិស។",
    ),
    "a bride sold": (
        "vi",
        "Cô gái 17 tuổi bị lừa sang Trung Quốc bán làm vợ",
        "Công an tỉnh Lào Cai vừa giải cứu một cô gái 17 tuổi bị một người quen hứa hẹn việc làm lương cao rồi đưa "
        "qua biên giới, bán cho một người đàn ông Trung Quốc làm vợ với giá 80 triệu đồng. Cô gái bị nhốt trong nhà "
        "gần một năm trước khi trốn thoát.",
    ),
    # The four misses told through what happened to people (issue #15), in our words.
    "men vanish after a job offer": (
        "en",
        "Families wait for word from sons who left with a broker",
        "A broker promised the men jobs abroad in a factory. After they left the village nobody heard from them for "
        "months, until one called home from a fishing vessel far out at sea.",
    ),
    "fishermen unpaid and threatened": (
        "en",
        "Fishermen back after seven months without pay",
        "Fishermen returned home after seven months without pay. The recruiters had taken their documents and "
        "threatened them when they asked to leave.",
    ),
    "teenagers confined in a casino": (
        "en",
        "Teenagers freed from casino after parents pay",
        "Three teenagers were locked in a casino and made to work there for weeks. Their parents paid a ransom before "
        "they were released.",
    ),
    "hotline callers held abroad": (
        "en",
        "Hotline hears from workers held by employers",
        "Callers to the hotline say they are held by employers in Saudi Arabia, their passports taken, and told they "
        "owe thousands in recruitment fees.",
    ),
    "job lure, then silence (km)": (
        "km",
        "គ្រួសារបាត់ទំនាក់ទំនងជាមួយយុវជនដែលទៅរកការងារ",
        "មេខ្យល់បានសន្យាថានឹងរកការងារធ្វើនៅប្រទេសថៃឱ្យយុវជនបីនាក់ ប៉ុន្តែចាប់តាំងពីពួកគេចាកចេញ ក្រុមគ្រួសារបាត់ទំនាក់ទំនងជាមួយពួកគេអស់បីខែហើយ។",
    ),
    "job lure, then silence (th)": (
        "th",
        "ครอบครัวขาดการติดต่อลูกชาย",
        "นายหน้าสัญญาว่าจะหางานรายได้ดีในมาเลเซียให้ชายหนุ่มสามคน แต่หลังจากเดินทางไป ครอบครัวก็ขาดการติดต่อกับพวกเขามาสามเดือนแล้ว",
    ),
}


@pytest.mark.parametrize("kind", HARD_NEGATIVES)
def test_silent_on_hard_negatives(kind: str) -> None:
    title, text = HARD_NEGATIVES[kind]
    assert match(title, text, TOPIC, language="en") is None


@pytest.mark.parametrize("kind", UNNAMED)
def test_fires_on_stories_that_never_name_trafficking(kind: str) -> None:
    lang, title, text = UNNAMED[kind]
    assert not re.search(r"traffick|ជួញដូរ|ค้ามนุษย์|buôn bán người|mua bán người|buôn người", title + text, re.I)
    hit = match(title, text, TOPIC, language=lang)
    assert hit is not None and hit.indicators  # the groups that fired, for the alert's Indicators: line


def test_language_queries_apply_to_their_language_only() -> None:
    khmer = "ប៉ូលិសបានចាប់ខ្លួនជនសង្ស័យពីបទជួញដូរមនុស្សនៅខេត្តព្រះសីហនុ។"
    assert match("x", khmer, TOPIC, language="en") is None  # the groups' Khmer terms are for Khmer articles
    assert match("x", khmer, TOPIC, language="km") is not None
