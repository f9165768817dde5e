"""The twin's quality gates: each named with its value, threshold and verdict; an invalid
confidence ratio (ground truth's confidence near zero) or a missing metric never passes; the
mouth-opening gate, measured from pixels, fails a mouth that does not open and passes the
procedural presenter speaking real speech."""

import numpy as np
import pytest

from avatar.geometry import crop_square, square_box
from avatar.metrics import (
    GATES,
    MOUTH_OPENING_MIN,
    format_gate,
    gate_report,
    gates,
    mouth_opening,
    mouth_opening_correlation,
)
from avatar.mouth import MouthTrack
from avatar.procedural import PresenterStyle, ProceduralPresenter, speaking_envelope

GOOD = {
    "sync_offset": 0,
    "sync_confidence_ratio": 1.1,
    "jaw_mae": 0.05,
    "ssim": 0.95,
    "outside_mask_max_diff": 0,
    "jitter_ratio": 1.0,
    "rest_jaw_in_silence": 0.02,
    "mouth_opening_correlation": 0.7,
}
DISPLAY = {"edge_strength_ratio": 0.9, "seam_ratio": 1.1, "band_colour_diff": 1.0}
HELD_OUT = [g[0] for g in GATES if not g[1].startswith("display.")]


def test_every_gate_is_named_with_value_threshold_and_verdict():
    rows = gate_report(dict(GOOD, display=DISPLAY))
    assert [r["name"] for r in rows] == [g[0] for g in GATES]
    assert all(r["passed"] for r in rows)
    assert format_gate(rows[2]) == "jaw_mae_le_0.1: 0.05 (<= 0.1) pass"
    by_name = {r["name"]: format_gate(r) for r in rows}
    assert by_name["mouth_opening_correlation_ge_0.5"] == (
        "mouth_opening_correlation_ge_0.5: 0.7 (>= 0.5) pass"
    )
    assert by_name["display_seam_ratio_le_1.25"] == "display_seam_ratio_le_1.25: 1.1 (<= 1.25) pass"
    # Without display measures (footage twins) only the held-out gates apply.
    assert [r["name"] for r in gate_report(GOOD)] == HELD_OUT


def test_display_measures_are_gated_not_only_stored():
    verdicts = gates(dict(GOOD, display=dict(DISPLAY, edge_strength_ratio=0.53)))
    assert verdicts["display_edge_strength_ge_0.8"] is False
    assert sum(verdicts.values()) == len(GATES) - 1


def test_invalid_confidence_ratio_fails_and_says_invalid():
    metrics = dict(GOOD, sync_confidence_ratio=None)
    assert gates(metrics)["sync_confidence_ratio_ge_0.8"] is False
    row = next(r for r in gate_report(metrics) if r["metric"] == "sync_confidence_ratio")
    assert "invalid" in format_gate(row) and format_gate(row).endswith("FAIL")


def test_a_missing_metric_fails_its_gate_and_says_missing():
    metrics = {k: v for k, v in GOOD.items() if k != "mouth_opening_correlation"}
    rows = gate_report(metrics)
    assert [r["name"] for r in rows] == HELD_OUT  # still reported
    row = next(r for r in rows if r["name"] == "mouth_opening_correlation_ge_0.5")
    assert format_gate(row) == "mouth_opening_correlation_ge_0.5: missing (>= 0.5) FAIL"
    assert sum(gates(metrics).values()) == len(HELD_OUT) - 1


def test_a_failing_value_fails_its_gate_only():
    verdicts = gates(dict(GOOD, ssim=0.5, sync_offset=-2))
    assert not verdicts["ssim_ge_0.90"] and not verdicts["sync_offset_within_1"]
    assert sum(verdicts.values()) == len(HELD_OUT) - 2


def _speech_track(tmp_path_factory) -> MouthTrack:
    """The mouth track of real espeak-ng speech (its phoneme timings), as the renderer builds it."""
    import ctypes

    try:
        ctypes.CDLL("libespeak-ng.so.1")
    except OSError:
        pytest.skip("espeak-ng is not installed")
    from avatar.audio import as_speech
    from avatar.ground_truth import mouth_track
    from avatar.visemes import load_timings
    from bulletin.speech import synthesize

    out = tmp_path_factory.mktemp("speech")
    text = "Good morning from the mountain cluster, where light snow is falling this morning."
    result = synthesize(text, "en", out)
    return mouth_track(as_speech(result.wav_path), load_timings(out / "timings.json"), 25)


@pytest.fixture(scope="module")
def speech_track(tmp_path_factory) -> MouthTrack:
    return _speech_track(tmp_path_factory)


def _face_crops(presenter: ProceduralPresenter, track: MouthTrack, size: int = 96) -> np.ndarray:
    return np.stack(
        [crop_square(f.image, square_box(f.face_box), size) for f in presenter.frames(track)]
    )


@pytest.mark.media
@pytest.mark.parametrize("style", [PresenterStyle(), PresenterStyle.alternate()], ids=["a", "b"])
def test_the_procedural_presenter_speaking_passes_the_mouth_opening_gate(speech_track, style):
    faces = _face_crops(ProceduralPresenter(style, (320, 240), 0), speech_track)
    jaw = speech_track.column("jaw")
    correlation = mouth_opening_correlation(faces, jaw)
    assert correlation is not None and correlation >= MOUTH_OPENING_MIN
    assert gates(dict(GOOD, mouth_opening_correlation=correlation))[
        "mouth_opening_correlation_ge_0.5"
    ]
    # The measure reads the pixels: wide-open frames measure more than closed ones.
    opening = mouth_opening(faces)
    assert opening[jaw > 0.5].mean() > opening[jaw < 0.05].mean()


@pytest.mark.media
def test_a_mouth_that_never_opens_fails_the_mouth_opening_gate(speech_track):
    presenter = ProceduralPresenter(PresenterStyle(), (320, 240), 0)
    jaw = speech_track.column("jaw")
    # Frames copied from one template: no mouth motion at all, the correlation is invalid.
    copied = np.repeat(_face_crops(presenter, MouthTrack.silent(1)), len(jaw), axis=0)
    assert mouth_opening_correlation(copied, jaw) is None
    row = next(
        r
        for r in gate_report(dict(GOOD, mouth_opening_correlation=None))
        if r["name"] == "mouth_opening_correlation_ge_0.5"
    )
    assert format_gate(row).endswith("invalid (>= 0.5) FAIL")
    # The presenter moving with the speech, blinking and breathing, its mouth at rest.
    rest = MouthTrack.silent(len(jaw), speech_track.fps)
    speaking = speaking_envelope(speech_track)
    still = np.stack(
        [crop_square(f.image, square_box(f.face_box), 96) for f in presenter.frames(rest, speaking)]
    )
    correlation = mouth_opening_correlation(still, jaw)
    assert correlation is None or correlation < MOUTH_OPENING_MIN


def test_mouth_opening_rejects_what_is_not_a_face_crop():
    from avatar.errors import AvatarError

    with pytest.raises(AvatarError, match="face crops"):
        mouth_opening(np.zeros((3, 64, 48, 3), np.uint8))
    with pytest.raises(AvatarError, match="jaw track"):
        mouth_opening_correlation(np.zeros((3, 64, 64, 3), np.uint8), np.zeros(4))
