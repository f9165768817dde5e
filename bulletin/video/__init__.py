"""The bulletin's pictures and video: index cards, chart.png, poster.png, bulletin.mp4.

* :mod:`.fonts`: the CJK-capable font (Debian fonts-wqy-microhei or fonts-noto-cjk);
* :mod:`.cards`: the facts of the six index cards (from the script's own day summary) and
  their drawing;
* :mod:`.chart`: ``chart.png``, the day's hourly temperature, wind chill and levels;
* :mod:`.poster`: ``poster.png``, the still summary card;
* :mod:`.compose`: the 1280x720 frame compositor and the streaming moviepy/ffmpeg encoder.

:func:`bulletin.unit.build_venue_bulletin` puts them together with the script, speech and
presenter stages.
"""

from .fonts import VideoError

__all__ = ["VideoError"]
