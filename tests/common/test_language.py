"""An article's language (tasks.common.language): declared, from its script, or detected."""

from __future__ import annotations

from tasks.common.language import detect, read_language


def test_language_from_metadata_script_or_detector() -> None:
    khmer = "មន្ត្រីបីនាក់ត្រូវបានចោទប្រកាន់ពីបទឃុបឃិតជាមួយជនជួញដូរមនុស្ស នៅខេត្តព្រះសីហនុ"
    assert detect(khmer, declared="en") == "km"  # the script overrides a wrong declaration
    assert detect("ເຈົ້າໜ້າທີ່ສາມຄົນຖືກກ່າວຫາວ່າຮ່ວມມືກັບພວກຄ້າມະນຸດ ຢູ່ແຂວງ") == "lo"
    assert detect("Three officials were accused of colluding with human traffickers in Cambodia.") == "en"
    assert detect("Ba quan chức bị cáo buộc thông đồng với những kẻ buôn người ở Campuchia hôm nay.") == "vi"
    assert detect("Short text", declared="fr") == "fr" and detect("Short") is None


GERMAN = (
    "Die elektronische Patientenakte soll ab dem kommenden Jahr allen Versicherten zur Verfügung stehen. "
    "Viele Praxen sind jedoch noch nicht an die Telematikinfrastruktur angeschlossen, und die Krankenkassen "
    "warnen vor langen Übergangsfristen, bevor Ärzte und Kliniken die Akte im Alltag wirklich nutzen können."
)


def test_a_confident_text_overrules_a_wrong_declaration_and_both_are_kept() -> None:
    reading = read_language(GERMAN, declared="en-US")  # a German post on a blog that says lang="en"
    assert (reading.language, reading.declared, reading.detected) == ("de", "en", "de")
    right = read_language(GERMAN, declared="de")
    assert (right.language, right.declared) == ("de", "de")
    # Too short to overrule: the declaration stands, and the text was not read.
    short = read_language("Die Akte kommt nächstes Jahr.", declared="en")
    assert (short.language, short.detected) == ("en", None)
    assert detect(GERMAN, declared="en") == "de"


def test_close_languages_keep_their_declaration() -> None:
    malay = (
        "Polis Diraja Malaysia menahan tiga lelaki yang dipercayai terlibat dalam sindiket pemerdagangan orang di "
        "sempadan negeri Kedah semalam. Mangsa dijanjikan pekerjaan bergaji tinggi di kilang tetapi dikurung di "
        "sebuah rumah dan dipaksa bekerja tanpa gaji selama beberapa bulan, kata ketua polis daerah."
    )
    reading = read_language(malay, declared="id")  # Malay or Indonesian: the site knows
    assert (reading.language, reading.detected) == ("id", "ms")
