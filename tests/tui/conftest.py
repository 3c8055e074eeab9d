"""Fixtures for driving the terminal app with Pilot.

The course is a small fixed copy (the real `gpu-limits` scenario and a short
lesson) so results and snapshots do not move when the content team adds
scenarios. User state lives in the per-test KPREP_HOME from tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

LESSON = """\
# Serving a Model on Kubernetes

## What the interviewer is testing

Requests, limits, probes and GPUs.

## Requests, limits and QoS

The scheduler places pods by requests; the kubelet enforces limits.

### What happens without limits

A leak can take the node down.

## GPUs as extended resources

GPUs are whole devices, set in limits.

## Questions this prepares you for

- Ask for a GPU the way Kubernetes accepts.
"""


FIXTURE_CATALOG = """\
format_version: 1
tracks:
  - {id: serving, title: Serving models on GPUs}
  - {id: autoscaling, title: Autoscaling inference}
  - {id: gpu-scheduling, title: GPU scheduling}
  - {id: distributed-training, title: Distributed training}
"""
"""Fixed, so the snapshots do not change when the bundled course gains a track."""


def make_course(root: Path, lesson_link: str | None = None) -> Path:
    """A course folder with the real gpu-limits scenario and a fixed lesson."""
    for part in ("scenarios", "answers"):
        shutil.copytree(REPO / part / "gpu-limits", root / part / "gpu-limits")
    (root / "lessons").mkdir(parents=True)
    (root / "lessons" / "serving.md").write_text(LESSON, encoding="utf-8")
    (root / "course.yaml").write_text(FIXTURE_CATALOG, encoding="utf-8")
    if lesson_link is not None:
        scenario = root / "scenarios" / "gpu-limits" / "scenario.yaml"
        text = scenario.read_text(encoding="utf-8").replace(
            "lesson: serving\n", f"lesson: {lesson_link}\n"
        )
        scenario.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def course_dir(tmp_path: Path) -> Path:
    return make_course(tmp_path / "course", lesson_link="serving#gpus-as-extended-resources")


@pytest.fixture
def make_app(course_dir: Path) -> Callable[..., Any]:
    """Build a KprepApp on the fixture course, with default settings and no cursor blink."""
    from app.settings import Settings
    from app.tui.app import KprepApp, Start

    def factory(kind: str = "home", target: str | None = None, **options: Any) -> KprepApp:
        options.setdefault("settings", Settings())
        options.setdefault("cursor_blink", False)
        start = Start(kind, target)  # type: ignore[arg-type]
        app = KprepApp(course_dir=options.pop("course", course_dir), start=start, **options)
        shown: list[str] = []
        notify = app.notify

        def recording_notify(message: str, **kwargs: Any) -> None:
            shown.append(f"{kwargs.get('title', '')}: {message}")
            notify(message, **kwargs)

        app.notify = recording_notify  # type: ignore[method-assign]
        app.shown_notifications = shown  # type: ignore[attr-defined]
        return app

    return factory


async def settle(pilot: Any) -> None:
    """Let messages, timers already due and every running worker finish."""
    from textual.worker import WorkerState

    for _ in range(20):
        await pilot.pause()
        running = [
            w for w in pilot.app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)
        ]
        if not running:
            await pilot.pause()
            return
        await asyncio.gather(*(w.wait() for w in running), return_exceptions=True)
    raise AssertionError("workers did not settle")


async def type_text(pilot: Any, text: str) -> None:
    """Type `text` as key presses, in order, then wait once for the app to be idle.

    The app gets the Key events `pilot.press(*text)` would send, as from a fast typist
    (the same keys and characters, in the same order); Pilot waits for idle twice after
    every key (at least 40 ms, up to a second each while another process keeps the CPU
    busy), which made a typed sentence cost seconds. Keys that change screens (ctrl+r,
    enter in a dialog) still go through `pilot.press`.
    """
    from textual import events
    from textual.keys import _character_to_key

    app = pilot.app
    for char in text:
        key = char if char.isalnum() else _character_to_key(char)
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)
    await pilot.pause()


def notifications(app: Any) -> str:
    """Every notification shown so far ("title: message" lines)."""
    return "\n".join(app.shown_notifications)
