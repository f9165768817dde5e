"""Text normalisation for speech, display-word mapping and pinyin conversion."""

import pytest

from bulletin.errors import SpeechError
from bulletin.speech.pinyin import to_pinyin
from bulletin.spoken import display_tokens, normalize, normalize_for_speech

EN_CASES = [
    ("-12°C", "minus twelve degrees Celsius"),
    ("-1°C", "minus one degree Celsius"),
    ("+3°C", "plus three degrees Celsius"),
    ("It is -12~-5°C.", "It is minus twelve to minus five degrees Celsius."),
    ("-12 to -5°C", "minus twelve to minus five degrees Celsius"),
    ("14–21°C", "fourteen to twenty-one degrees Celsius"),
    ("2.5 clo", "two point five clo"),
    ("0.05 mm", "zero point zero five millimeters"),
    ("3-5 m/s", "three to five meters per second"),
    ("1 m/s", "one meter per second"),
    ("15 km/h", "fifteen kilometers per hour"),
    ("5km", "five kilometers"),
    ("40%", "forty percent"),
    ("1,200 m", "one thousand two hundred meters"),
    ("05:30", "five thirty a.m."),
    ("14:00", "two p.m."),
    ("14:05", "two oh five p.m."),
    ("00:00", "midnight"),
    ("12:00", "noon"),
    ("2022-02-04", "February fourth, twenty twenty-two"),
    ("21st", "twenty-first"),
    ("UV index 4", "U V index four"),
    ("SPF 30", "S P F thirty"),
    ("SPF50+", "S P F fifty plus"),
    ("PM2.5", "PM two point five"),
]

ZH_CASES = [
    ("-12°C", "零下十二摄氏度"),
    ("气温-12~-5°C。", "气温零下十二到零下五摄氏度。"),
    ("温度：-5度", "温度：零下五度"),
    ("+3℃", "零上三摄氏度"),
    ("14–21℃", "十四到二十一摄氏度"),
    ("-3%", "负百分之三"),
    ("-0.5 clo", "负零点五 克罗"),
    ("湿度40%", "湿度百分之四十"),
    ("湿度30-50%", "湿度百分之三十到百分之五十"),
    ("风速3-5 m/s", "风速三到五 米每秒"),
    ("15km/h", "十五千米每小时"),
    ("3-5级", "三到五级"),
    ("2.5 clo", "二点五 克罗"),
    ("0.5度", "零点五度"),
    ("1200米", "一千二百米"),
    ("05:30", "五点三十分"),
    ("02:00", "两点"),
    ("14:05", "十四点零五分"),
    ("14时", "十四时"),
    ("2022-02-04", "二零二二年二月四日"),
    ("2月4日", "二月四日"),
    ("2022年", "二零二二年"),
    ("UV指数4", " you1 wei1 指数四"),
    ("SPF30+", " ai1 si1 pi1 ai1 fu1 三十加"),
]


@pytest.mark.parametrize(("text", "spoken"), EN_CASES)
def test_english_normalisation(text, spoken):
    assert normalize_for_speech(text, "en") == spoken


@pytest.mark.parametrize(("text", "spoken"), ZH_CASES)
def test_chinese_normalisation(text, spoken):
    assert normalize_for_speech(text, "zh") == spoken


def test_every_spoken_character_maps_into_its_display_word():
    text = "Gusts -12~-5°C at 05:30, SPF 30."
    spoken_text = normalize(text, "en")
    assert len(spoken_text.origin) == len(spoken_text.spoken)
    words = [t.text for t in spoken_text.tokens]
    assert words == ["Gusts", "-12~-5°C", "at", "05:30,", "SPF 30."]
    minus = spoken_text.spoken.index("minus twelve")
    assert spoken_text.token_at[spoken_text.origin[minus]] == 1
    celsius = spoken_text.spoken.index("Celsius")
    assert spoken_text.token_at[spoken_text.origin[celsius]] == 1


def test_display_words_keep_numbers_with_units_and_split_chinese_into_words():
    words = [t.text for t in display_tokens("西北风5 m/s，局地有小雪。气温-12~-5°C", "zh")]
    assert words == ["西北风", "5 m/s，", "局地", "有", "小雪。", "气温", "-12~-5°C"]
    words = [t.text for t in display_tokens("Don't (really) go: wind 5 m/s at 3 p.m.", "en")]
    assert words == ["Don't", "(really)", "go:", "wind", "5 m/s", "at", "3", "p.m."]


def test_pinyin_fixes_polyphones_and_keeps_number_words_unambiguous():
    text = "局地有小雪，重新调整着装，长时间在场地冷得发抖。01:00一点也不冷。"
    pinyin = to_pinyin(normalize(text, "zh"))
    syllables = pinyin.text.split()
    assert syllables[:2] == ["ju2", "di4"]  # espeak's own dictionary says "de"
    assert "chong2" in syllables and "tiao2" in syllables and "zhuo2" in syllables
    assert syllables[syllables.index("shi2") - 1] == "chang2"  # 长时间, not zhang3
    assert "leng3 de5" in pinyin.text
    # The time 01:00 is one o'clock (yi1), the phrase 一点 "a little" is yi4 dian3.
    assert "yi1 dian3 yi4 dian3" in pinyin.text
    # Sentence ends stay full-width: ASCII "." after a syllable is not a pause for the voice.
    assert "。" in pinyin.text and "." not in pinyin.text
    assert len(pinyin.origin) == len(pinyin.text)


def test_pinyin_maps_every_syllable_back_to_its_character():
    text = "气温-5°C"
    spoken_text = normalize(text, "zh")
    pinyin = to_pinyin(spoken_text)
    assert pinyin.text == "qi4 wen1 ling2 xia4 wu3 she4 shi4 du4"
    syllable_starts = [0] + [i + 1 for i, ch in enumerate(pinyin.text) if ch == " "]
    words = [
        spoken_text.tokens[spoken_text.token_at[pinyin.origin[i]]].text for i in syllable_starts
    ]
    assert words == ["气温", "气温", "-5°C", "-5°C", "-5°C", "-5°C", "-5°C", "-5°C"]
    # 气 and 温 keep their own characters; the number and its unit map to where they start.
    assert [pinyin.origin[i] for i in syllable_starts] == [0, 1, 2, 2, 2, 4, 4, 4]


@pytest.mark.parametrize(
    ("text", "lang", "message"),
    [
        ("", "en", "empty"),
        ("   ", "zh", "empty"),
        ("…", "zh", "no words"),
        ("风速5 mph", "zh", "English word 'mph'"),
        ("气温 low", "zh", "English word 'low'"),
        ("气温5#", "zh", "'#'"),
        ("Beijing 北京", "en", "Chinese character"),
        ("2022-13-04", "en", "impossible date"),
        ("25:10", "zh", "impossible time"),
        ("hello", "fr", "unsupported speech language"),
    ],
)
def test_bad_text_gives_one_line_error(text, lang, message):
    with pytest.raises(SpeechError) as caught:
        normalize(text, lang)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_speech_text_given_back_says_to_pass_the_display_text():
    """Normalised Chinese (SPF as tone-numbered letter names) is not display text."""
    spoken = normalize_for_speech("请涂SPF30防晒霜。", "zh")
    assert "ai1 si1 pi1 ai1 fu1" in spoken
    with pytest.raises(SpeechError, match=r"already normalised .*Script\.display_text"):
        normalize(spoken, "zh")
