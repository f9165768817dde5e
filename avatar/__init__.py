"""Presenter avatar: speech audio (and phoneme timings) in, presenter frames out.

The package knows nothing of weather. Its parts:

* :mod:`avatar.mouth` - the mouth parameters (:class:`MouthShape`) and per-frame tracks.
* :mod:`avatar.procedural` - a procedural, stylised presenter drawn with numpy/PIL.
* :mod:`avatar.audio` - 16 kHz audio, log-mel windows per video frame, energy and voice activity.
* :mod:`avatar.visemes` - phoneme timings or audio alone to a coarticulated mouth track.
* :mod:`avatar.ground_truth` - the presenter speaking a given audio, frame by frame.

Nothing here imports torch; only :mod:`avatar.models` (optional) does.
"""
