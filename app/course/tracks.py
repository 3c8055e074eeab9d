"""The course's tracks, in a module of their own: the home screen and `kprep progress` need
the ids and titles without importing the scenario models."""

from __future__ import annotations

TRACKS: tuple[str, ...] = ("serving", "autoscaling", "gpu-scheduling", "distributed-training")
"""Track ids in course order."""
TRACK_TITLES: dict[str, str] = {
    "serving": "Serving models on GPUs",
    "autoscaling": "Autoscaling inference",
    "gpu-scheduling": "GPU scheduling",
    "distributed-training": "Distributed training",
}
