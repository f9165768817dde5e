"""Level names (Chinese and English) and colours of every index, in one place.

Scripts and video cards read these tables; the index functions return the level numbers.
``LEVEL_NAMES[index][level]`` is a :class:`LevelName` ``(zh, en, colour)``; ``colour`` is a
``#rrggbb`` hex string. ``LEVEL_SOURCES[index]`` says where the names and colours come from;
everything not taken from a named source is **our choice** and says so.
"""

from __future__ import annotations

from typing import NamedTuple


class LevelName(NamedTuple):
    """Short names of one level and its display colour."""

    zh: str
    en: str
    colour: str


#: Seven-step hazard palette (ColorBrewer "RdYlGn" reversed, Brewer 2003; our choice) used
#: where a source gives no colours.
_HAZARD_7 = ("#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027", "#7f0000")
_HAZARD_5 = ("#1a9850", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027")
_HAZARD_4 = ("#1a9850", "#fee08b", "#fc8d59", "#d73027")
#: WHO (2002) UV index graphic colours: green, yellow, orange, red, violet.
_WHO_UV = ("#289500", "#f7e400", "#f85900", "#d8001d", "#6b49c8")

LEVEL_NAMES: dict[str, dict[int, LevelName]] = {
    # ECCC wind chill hazard table (risk names); Chinese names our translation.
    "wind_chill": {
        0: LevelName("不冷", "not cold", _HAZARD_7[0]),
        1: LevelName("微冷", "low risk", _HAZARD_7[1]),
        2: LevelName("冷", "moderate risk", _HAZARD_7[2]),
        3: LevelName("很冷", "high risk", _HAZARD_7[3]),
        4: LevelName("严寒", "very high risk", _HAZARD_7[4]),
        5: LevelName("酷寒", "severe risk", _HAZARD_7[5]),
        6: LevelName("危险", "extreme danger", _HAZARD_7[6]),
    },
    "frostbite": {
        1: LevelName("风险低", "low risk", _HAZARD_5[0]),
        2: LevelName("有冻伤风险", "frostbite possible", _HAZARD_5[1]),
        3: LevelName("冻伤风险高", "high risk", _HAZARD_5[2]),
        4: LevelName("冻伤风险很高", "very high risk", _HAZARD_5[3]),
        5: LevelName("冻伤风险极高", "extreme risk", _HAZARD_5[4]),
    },
    # Outfit tiers and time limits of bulletin.indices.clothing (CLOTHING_TIERS): outfits our
    # choice on ISO 9920 / ISO 11079 ensemble insulation, time limits from ISO 11079 DLEmin.
    "clothing": {
        1: LevelName("外套或夹克", "jacket", _HAZARD_7[0]),
        2: LevelName("毛衣加冬季外套", "sweater and winter coat", _HAZARD_7[1]),
        3: LevelName("羽绒服加毛衣、帽子手套", "down jacket, sweater, hat, gloves", _HAZARD_7[2]),
        4: LevelName(
            "长款厚羽绒服、保暖内衣、防寒裤、棉靴",
            "long down parka, thermals, insulated pants, boots",
            _HAZARD_7[3],
        ),
        5: LevelName("极寒全套装备", "full cold-weather gear", _HAZARD_7[4]),
        6: LevelName(
            "极寒全套并定时进室内取暖", "full cold-weather gear, breaks indoors", _HAZARD_7[5]
        ),
        7: LevelName(
            "极寒全套也难坚持一小时", "full cold-weather gear, under an hour out", _HAZARD_7[6]
        ),
    },
    # CMA / weather.com.cn 感冒指数 level names.
    "cold": {
        1: LevelName("少发", "rare", _HAZARD_4[0]),
        2: LevelName("较易发", "fairly likely", _HAZARD_4[1]),
        3: LevelName("易发", "likely", _HAZARD_4[2]),
        4: LevelName("极易发", "very likely", _HAZARD_4[3]),
    },
    # CMA 5 UV levels (GB/T 36744-2018); colours: WHO hues, our choice.
    "sunscreen": {
        1: LevelName("最弱", "weakest", _WHO_UV[0]),
        2: LevelName("弱", "weak", _WHO_UV[1]),
        3: LevelName("中等", "moderate", _WHO_UV[2]),
        4: LevelName("强", "strong", _WHO_UV[3]),
        5: LevelName("很强", "very strong", _WHO_UV[4]),
    },
    # WHO (2002) categories and colours.
    "uv_category": {
        0: LevelName("低", "low", _WHO_UV[0]),
        1: LevelName("中等", "moderate", _WHO_UV[1]),
        2: LevelName("高", "high", _WHO_UV[2]),
        3: LevelName("很高", "very high", _WHO_UV[3]),
        4: LevelName("极高", "extreme", _WHO_UV[4]),
    },
    # Our proposal.
    "goggles": {
        1: LevelName("可不戴/普通太阳镜", "not needed / sunglasses", _HAZARD_4[0]),
        2: LevelName("建议佩戴", "recommended", _HAZARD_4[1]),
        3: LevelName("应佩戴护目镜", "goggles needed", _HAZARD_4[2]),
        4: LevelName("必须佩戴高防护护目镜", "high-protection goggles essential", _HAZARD_4[3]),
    },
    # ISO 12312-1 / 18527-1 filter categories (luminous transmittance); colours: lens tints,
    # our choice.
    "goggles_lens": {
        0: LevelName("S0 透明镜片", "S0 clear lens", "#f2f2f2"),
        1: LevelName("S1 浅色镜片", "S1 light tint", "#f6d365"),
        2: LevelName("S2 中度镜片", "S2 medium tint", "#e0a030"),
        3: LevelName("S3 深色镜片", "S3 dark tint", "#8c5a2b"),
        4: LevelName("S4 极深镜片（不可驾驶）", "S4 very dark (not for driving)", "#3b2a1a"),
    },
    # T/CMSA 0033-2022: level I wording and colour RGB (0, 132, 199) are from the standard;
    # II-IV wording is ours, and their colours follow the Chinese warning-signal order
    # blue-yellow-orange-red that level I's blue begins (our choice).
    "spectator": {
        1: LevelName("影响很小", "minimal", "#0084c7"),
        2: LevelName("有一定影响", "some impact", "#f5c400"),
        3: LevelName("影响较大", "considerable impact", "#f28c00"),
        4: LevelName("影响很大", "severe impact", "#d7191c"),
    },
}

#: Roman numerals of the composite spectator levels (T/CMSA 0033-2022 numbering).
SPECTATOR_NUMERALS = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ"}

#: Provenance of each table's names and colours.
LEVEL_SOURCES: dict[str, str] = {
    "wind_chill": "ECCC wind chill hazard table (risk bands); Chinese names our translation; "
    "colours ColorBrewer RdYlGn (our choice)",
    "frostbite": "our proposal (Tikuisis & Osczevski 2003 bands + ECCC); colours our choice",
    "clothing": "outfit tiers on ISO 11079 ICLneutral and time limits on ISO 11079 DLEmin "
    "(outfits our choice on ISO 9920/ISO 11079 ensemble insulation); colours our choice",
    "cold": "CMA 感冒指数 level names; scoring and colours our choice",
    "sunscreen": "CMA UV levels (GB/T 36744-2018); colours WHO hues (our choice)",
    "uv_category": "WHO (2002) Global Solar UV Index: A Practical Guide",
    "goggles": "our proposal; colours our choice",
    "goggles_lens": "ISO 12312-1 / ISO 18527-1 filter categories; colours our choice",
    "spectator": "T/CMSA 0033-2022 level I (wording, colour); levels II-IV wording and "
    "colours our choice",
}


def level_name(index: str, level: int, language: str = "zh") -> str:
    """Short name of ``level`` of ``index`` in ``language`` (``"zh"`` or ``"en"``); ``""`` for
    a missing level (-1)."""
    from ._arrays import IndexInputError

    if level == -1:
        return ""
    table = LEVEL_NAMES.get(index)
    if table is None or int(level) not in table:
        raise IndexInputError(f"level_name: no level {level!r} for index {index!r}")
    if language not in ("zh", "en"):
        raise IndexInputError(f"level_name: language must be 'zh' or 'en', got {language!r}")
    entry = table[int(level)]
    return entry.zh if language == "zh" else entry.en
