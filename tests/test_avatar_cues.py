"""Cues: the presenter turns, looks and gestures toward a card, smiles at the greeting and the
closing, frowns at a warning; the channels are eased (no jumps) and exactly neutral outside the
cues, and the bulletin builds the cues from its timed sentences."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from avatar.audio import SAMPLE_RATE
from avatar.cues import ATTACK_S, RELEASE_S, Cue, cue_channels
from avatar.errors import AvatarError
from avatar.mouth import MouthShape, MouthTrack
from avatar.procedural import PresenterStyle, ProceduralPresenter
from avatar.render import render_presenter
from bulletin.pipeline import TimedSentence
from bulletin.video.compose import PRESENTER_BOX, card_box, presenter_cues

FPS = 25
SIZE = (160, 158)  # the 512x504 panel's shape, small
RIGHT_CARD = (1.375, 0.135)  # the first card's centre, right of the presenter (frame fractions)


def rest_track(seconds: float) -> MouthTrack:
    n = round(seconds * FPS)
    return MouthTrack(np.tile(MouthShape.rest().as_array(), (n, 1)), FPS)


@pytest.fixture(scope="module")
def presenter():
    return ProceduralPresenter(PresenterStyle.default(), SIZE, seed=1)


def frames_with(presenter, cues, seconds=4.0):
    return list(presenter.frames(rest_track(seconds), cues=cues))


@pytest.fixture(scope="module")
def plain(presenter):
    return frames_with(presenter, ())


def test_point_cue_turns_the_head_and_raises_the_arm_toward_a_card_then_back(presenter, plain):
    cued = frames_with(presenter, [Cue(0.4, 2.0, "point", RIGHT_CARD)])
    during, after = round(1.2 * FPS), round(3.6 * FPS)  # 2.0 + release 0.5 < 3.6
    expression = cued[during].expression
    assert expression.yaw > 0.5 and expression.gaze[0] > 0.5 and expression.arm_right == 1.0
    assert expression.arm_left == 0.0 and cued[during].pose.yaw == expression.yaw
    h, w = SIZE[1], SIZE[0]
    # The raised arm: the lower right of the frame changes, the lower left does not.
    arm = np.abs(cued[during].image.astype(int) - plain[during].image.astype(int))
    assert arm[h // 2 :, int(0.6 * w) :].max(axis=-1).mean() > 10
    assert arm[h // 2 :, : int(0.3 * w)].max() == 0

    # The features slide toward the card: the dark pixels of the eyes and brows (the band
    # from the brows to below the eyes, inside the hair) move right; the face box follows.
    def dark_x(frame):
        x0, y0, x1, y1 = plain[during].face_box
        fw, fh = x1 - x0, y1 - y0
        band = frame.image[y0 + fh * 3 // 10 : y0 + fh * 52 // 100, x0 + fw // 6 : x1 - fw // 6]
        xs = np.nonzero(band.astype(float).mean(axis=-1) < 90)[1]
        return xs.mean()

    assert dark_x(cued[during]) - dark_x(plain[during]) > 1.5
    assert cued[during].face_box[0] > plain[during].face_box[0]
    # After the release the frame is exactly the one without cues.
    assert cued[after].expression.neutral
    assert np.array_equal(cued[after].image, plain[after].image)
    assert cued[0].expression.neutral and np.array_equal(cued[0].image, plain[0].image)


def test_a_target_on_the_left_raises_the_left_arm(presenter, plain):
    cued = frames_with(presenter, [Cue(0.2, 2.0, "point", (-0.4, 0.3))], seconds=1.6)
    frame = cued[30]
    assert frame.expression.yaw < -0.5 and frame.expression.arm_left == 1.0
    diff = np.abs(frame.image.astype(int) - plain[30].image.astype(int)).max(axis=-1)
    h, w = SIZE[1], SIZE[0]
    assert diff[h // 2 :, : int(0.4 * w)].mean() > 10 and diff[h // 2 :, int(0.7 * w) :].max() == 0


def test_greeting_smiles_and_alert_frowns_only_in_the_face(presenter, plain):
    cued = frames_with(presenter, [Cue(0.0, 1.5, "greet"), Cue(2.0, 3.5, "alert")])
    greet, alert = cued[round(1.0 * FPS)], cued[round(3.0 * FPS)]
    assert greet.expression.smile == 1.0 and greet.expression.brow > 0
    assert alert.expression.brow == -1.0 and alert.expression.smile == -1.0
    for frame in (greet, alert):
        reference = plain[round(frame.time * FPS)]
        diff = np.abs(frame.image.astype(int) - reference.image.astype(int)).max(axis=-1)
        x0, y0, x1, y1 = reference.face_box
        assert diff[max(0, y0) : y1, max(0, x0) : x1].max() > 20
        outside = diff.copy()
        outside[max(0, y0) : y1, max(0, x0) : x1] = 0
        assert outside.max() == 0
    # The smile lifts the mouth corners: the lips' dark seam line rises at the sides.
    x0, y0, x1, y1 = greet.mouth_box

    def corner_row(frame):
        mouth = frame.image[y0:y1, x0:x1].astype(float)
        redness = mouth[..., 0] - mouth[..., 1]  # lips are redder than skin
        side = redness[:, : (x1 - x0) // 3]
        ys = np.nonzero(side > 60)[0]
        return ys.mean()

    assert corner_row(greet) < corner_row(plain[round(1.0 * FPS)])
    # The alert's brows come down: the darkness above the eyes (the band of the brows, inside
    # the hair) has its centre lower.
    fx0, fy0, fx1, fy1 = alert.face_box
    fw, fh = fx1 - fx0, fy1 - fy0

    def brow_row(frame):
        band = frame.image[
            fy0 + fh * 22 // 100 : fy0 + fh * 40 // 100, fx0 + fw // 5 : fx1 - fw // 5
        ]
        darkness = np.clip(180 - band.astype(float).mean(axis=-1), 0, None)
        return (darkness * np.arange(len(band))[:, None]).sum() / darkness.sum()

    assert brow_row(alert) > brow_row(plain[round(3.0 * FPS)]) + 0.25


def test_channels_are_eased_bounded_and_blend_between_cues():
    cues = [
        Cue(0.0, 1.0, "greet"),
        Cue(1.1, 3.0, "point", RIGHT_CARD),
        Cue(3.05, 5.0, "point", (1.375, 0.706)),  # the next card down, right after
        Cue(5.1, 5.3, "alert"),  # shorter than the attack: rises part way, falls smoothly
        Cue(7.0, 8.0, "close"),
    ]
    channels = cue_channels(cues, 9 * FPS, FPS, head=(0.5, 0.36), aspect=512 / 504)
    # Smooth-step: at most 1.5 / (attack * fps) of a channel's range per frame; yaw, smile and
    # brow span 2, the others 1.
    bound = 2 * 1.5 / (min(ATTACK_S, RELEASE_S) * FPS)
    assert 0 < channels.max_step() <= bound
    assert np.abs(np.diff(channels.arm_right)).max() <= 1.5 / (ATTACK_S * FPS) + 1e-9
    # Between the two point cues the arm stays up and its target moves smoothly down.
    between = slice(round(3.0 * FPS), round(3.6 * FPS))
    assert channels.arm_right[between].min() > 0.5
    assert np.abs(np.diff(channels.right_y[between])).max() < 0.2
    assert channels.smile[round(0.6 * FPS)] == 1.0 and channels.smile[round(7.6 * FPS)] == 1.0
    assert -1.0 < channels.brow[round(5.3 * FPS)] < -0.3
    assert channels[round(6.5 * FPS)].neutral


def test_render_presenter_takes_cues_and_checks_them(tmp_path):
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    voice = 0.1 * np.sin(2 * np.pi * 150 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    wav = tmp_path / "speech.wav"
    soundfile.write(wav, voice.astype(np.float32), SAMPLE_RATE)
    plain = list(render_presenter(wav, size=SIZE))
    cued = list(render_presenter(wav, size=SIZE, cues=[Cue(0.0, 1.0, "point", RIGHT_CARD)]))
    assert len(cued) == len(plain) == 50
    assert not np.array_equal(cued[20], plain[20])
    assert np.array_equal(cued[49], plain[49])  # 1.0 + 0.5 s release < 1.96 s
    with pytest.raises(AvatarError, match=r"cue 0 \(greet\) starts at 5.00 s, after the audio"):
        render_presenter(wav, size=SIZE, cues=[Cue(5.0, 6.0, "greet")])
    with pytest.raises(AvatarError, match="cue 0 is a tuple"):
        render_presenter(wav, size=SIZE, cues=[(0.0, 1.0, "greet", None)])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1.0, 0.5, "greet"), "ends"),
        ((0.0, 1.0, "wave"), "unknown cue kind 'wave'"),
        ((0.0, 1.0, "point"), "a point cue needs a target"),
        ((0.0, 1.0, "point", (float("nan"), 0.2)), "a point cue needs a target"),
        ((0.0, 1.0, "alert", (1.0, 0.5)), "an? alert cue takes no target"),
        ((-1.0, 1.0, "greet"), "Cue.start_s must be a finite number >= 0"),
    ],
)
def test_bad_cues_are_one_line_errors(args, message):
    with pytest.raises(AvatarError, match=message):
        Cue(*args)


def test_bulletin_cues_from_timed_sentences():
    sentences = [
        TimedSentence("Good morning.", "Good morning.", None, 0.0, 1.2),
        TimedSentence("Wind chill is low.", "Wind chill is low.", "wind_chill", 1.4, 3.0),
        TimedSentence("UV is high.", "UV is high.", "uv_category", 3.2, 4.0),
        TimedSentence("Cold wave warning.", "Cold wave warning.", None, 4.2, 5.0),
        TimedSentence("Cloudy later.", "Cloudy later.", None, 5.2, 6.0),
        TimedSentence("Enjoy the games.", "Enjoy the games.", None, 6.2, 7.0),
    ]
    alerts = [{"kind": "cold_wave", "colour": "blue", "text": "Cold wave warning."}]
    cues = presenter_cues(sentences, alerts)
    assert [c.kind for c in cues] == ["greet", "point", "point", "alert", "close"]
    assert (cues[0].start_s, cues[0].end_s) == (0.0, 1.2)
    x0, y0, x1, y1 = card_box("wind_chill")
    px0, py0, px1, py1 = PRESENTER_BOX
    assert cues[1].target == pytest.approx(
        (((x0 + x1) / 2 - px0) / (px1 - px0), ((y0 + y1) / 2 - py0) / (py1 - py0))
    )
    assert cues[1].target[0] > 1  # the cards are right of the presenter
    sun = card_box("sunscreen")  # the UV category's card
    assert cues[2].target[1] == pytest.approx(((sun[1] + sun[3]) / 2 - py0) / (py1 - py0))


def test_only_whole_warning_sentences_are_alerts():
    sentences = [
        TimedSentence("你好。", "你好。", None, 0.0, 1.0),
        TimedSentence("寒潮蓝色预警。", "寒潮蓝色预警。", None, 1.2, 2.0),
        TimedSentence("请注意保暖。", "请注意保暖。", None, 2.2, 3.0),
        TimedSentence("注意防风。", "注意防风。", None, 3.2, 4.0),  # inside "请注意防风。" only
        TimedSentence("Roads are icy.", "Roads are icy.", None, 4.2, 5.0),
        TimedSentence("icy.", "icy.", None, 5.2, 5.5),  # a word of a warning, not a sentence
        TimedSentence("再见。", "再见。", None, 6.2, 7.0),
    ]
    alerts = [
        {"text": "寒潮蓝色预警。请注意保暖。"},
        {"text": "大风预警，请注意防风。"},
        {"text": "Snow tonight. Roads are icy."},
    ]
    kinds = [c.kind for c in presenter_cues(sentences, alerts)]
    assert kinds == ["greet", "alert", "alert", "alert", "close"]


def test_a_twin_template_gestures_with_the_cues_but_keeps_its_head_frontal():
    """A twin's generator learnt the mouth on the frontal template only: the arm and eyes
    follow a point cue, the head (and so the face crop) does not turn."""
    from avatar.neural import ProceduralTemplate

    template = ProceduralTemplate(PresenterStyle.default(), SIZE, seed=1)
    track = rest_track(2.0)
    plain = list(template.frames(track))
    cued = list(template.frames(track, [Cue(0.2, 2.0, "point", RIGHT_CARD)]))
    assert not np.array_equal(cued[30].image, plain[30].image)  # the arm is raised
    assert cued[30].box == plain[30].box  # the head stays frontal
    assert np.array_equal(cued[0].image, plain[0].image) and cued[0].box == plain[0].box
