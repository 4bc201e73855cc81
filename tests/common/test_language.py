"""An article's language (tasks.common.language): declared, from its script, or detected."""

from __future__ import annotations

from tasks.common.language import detect


def test_language_from_metadata_script_or_detector() -> None:
    khmer = "មន្ត្រីបីនាក់ត្រូវបានចោទប្រកាន់ពីបទឃុបឃិតជាមួយជនជួញដូរមនុស្ស នៅខេត្តព្រះសីហនុ"
    assert detect(khmer, declared="en") == "km"  # the script overrides a wrong declaration
    assert detect("ເຈົ້າໜ້າທີ່ສາມຄົນຖືກກ່າວຫາວ່າຮ່ວມມືກັບພວກຄ້າມະນຸດ ຢູ່ແຂວງ") == "lo"
    assert detect("Three officials were accused of colluding with human traffickers in Cambodia.") == "en"
    assert detect("Ba quan chức bị cáo buộc thông đồng với những kẻ buôn người ở Campuchia hôm nay.") == "vi"
    assert detect("Short text", declared="fr") == "fr" and detect("Short") is None
