"""The Beaufort scale of wind force, which the trend of the facts and the wording share."""

from __future__ import annotations

#: Lower edges (m/s) of Beaufort forces 1-17 (GB/T 28591-2012 风力等级; forces 0-12 are the WMO
#: Beaufort scale).
BEAUFORT_EDGES_MS = (
    0.3, 1.6, 3.4, 5.5, 8.0, 10.8, 13.9, 17.2, 20.8, 24.5, 28.5, 32.7, 37.0, 41.5, 46.2, 51.0, 56.1,
)  # fmt: skip


def beaufort_force(speed_kmh: float) -> int:
    """Beaufort force (0-17) of a wind speed in km/h (GB/T 28591-2012, WMO Beaufort scale)."""
    speed_ms = speed_kmh / 3.6
    return sum(speed_ms >= edge for edge in BEAUFORT_EDGES_MS)
