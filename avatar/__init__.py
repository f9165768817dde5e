"""Presenter avatar: speech audio (and phoneme timings) in, presenter frames out.

The package knows nothing of weather and imports nothing of ``bulletin``. Its parts:

* :mod:`avatar.errors` - :class:`AvatarError`, one-line errors with an ``exit_code``.
* :mod:`avatar.synthesis` - :class:`Synthesize`, the speech synthesis a caller passes in.
* :mod:`avatar.geometry` - face boxes and square face crops.

* :mod:`avatar.mouth` - the mouth parameters (:class:`MouthShape`) and per-frame tracks.
* :mod:`avatar.procedural` - a procedural, stylised presenter drawn with numpy/PIL.
* :mod:`avatar.cues` - cues (greet, close, point, alert) and the eased channels they drive.
* :mod:`avatar.audio` - 16 kHz audio, log-mel windows per video frame, energy and voice activity.
* :mod:`avatar.visemes` - phoneme timings or audio alone to a coarticulated mouth track.
* :mod:`avatar.ground_truth` - the presenter speaking a given audio, frame by frame.
* :mod:`avatar.render` - the streaming render API and ``presenter.mp4`` (:mod:`avatar.video`).
* :mod:`avatar.footage` - procedural "presenter footage" (MP4 with espeak-ng speech).
* :mod:`avatar.cli` - the ``bulletin avatar`` commands ``render`` and ``train``.

Torch is imported only by the neural parts: :mod:`avatar.models` (networks, losses,
checkpoints), :mod:`avatar.neural` (GAN inference and paste-back), :mod:`avatar.train` (the
staged, resumable twin training) with :mod:`avatar.ingest` (face boxes and crops from
footage), :mod:`avatar.align` (transcript alignment) and :mod:`avatar.metrics`.
"""

DEFAULT_AVATAR = "default"
"""The presenter every command renders unless told otherwise (``bulletin run``, ``daily``,
``avatar render``): the shipped GAN twin (:data:`avatar.render.DEFAULT_CHECKPOINT`)."""
