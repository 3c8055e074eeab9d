"""A cached index of the course's scenarios, for the home screen and the lesson reader.

Parsing a scenario with the course loader (YAML with line maps, JSON Schema,
CEL checks) takes about 10 ms, so listing a course of 50 scenarios would cost
half a second at every start. The index keeps what the lists show (title,
track, difficulty, lesson, points, hint levels, check ids) per scenario.yaml,
keyed by its size and modification time, in `data_dir()/cache/`. A changed or
new file is loaded with the real loader (so errors are the loader's), an
unchanged one is read from the cache without importing the loader at all.
Headless.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.course.catalog import CatalogError, load_catalog
from app.paths import data_dir

INDEX_VERSION = 1
"""Bumped when ScenarioCard changes, which invalidates every cache."""


@dataclass(frozen=True)
class ScenarioCard:
    """What lists need to know about a scenario, without loading it."""

    id: str
    title: str
    track: str
    difficulty: str
    order: int
    lesson: str
    """`track` or `track#section`."""
    max_score: int
    hints: tuple[str, ...]
    """Hint levels, in order."""
    checks: tuple[str, ...]
    """Offline check ids."""

    @property
    def lesson_track(self) -> str:
        return self.lesson.split("#", 1)[0]

    @property
    def lesson_section(self) -> str | None:
        return self.lesson.split("#", 1)[1] if "#" in self.lesson else None

    @classmethod
    def of(cls, scenario: Any) -> ScenarioCard:
        """The card of a loaded `app.course.models.Scenario`."""
        return cls(
            scenario.id,
            scenario.title,
            scenario.track,
            scenario.difficulty,
            scenario.order,
            scenario.lesson,
            scenario.max_score,
            tuple(h.level for h in scenario.hints),
            tuple(c.id for c in scenario.checks),
        )


def index_path(course_root: Path) -> Path:
    digest = hashlib.sha1(str(Path(course_root).resolve()).encode()).hexdigest()[:12]
    return data_dir() / "cache" / f"course-index-{digest}.json"


def load_index(
    course_root: Path, cache: Path | None = None
) -> tuple[list[ScenarioCard], list[str]]:
    """Every scenario of the course in course order, and the load errors (as messages)."""
    course_root = Path(course_root)
    cache = cache or index_path(course_root)
    stored = _read(cache)
    entries: dict[str, dict[str, Any]] = {}
    cards: list[ScenarioCard] = []
    errors: list[str] = []
    course: Any = None
    changed = False
    for source in sorted((course_root / "scenarios").glob("*/scenario.yaml")):
        scenario_id = source.parent.name
        try:
            stat = source.stat()
        except OSError as exc:
            errors.append(f"{source}: cannot read: {exc.strerror or exc}")
            continue
        key = {"mtime_ns": stat.st_mtime_ns, "size": stat.st_size}
        entry = stored.get(scenario_id)
        if entry is not None and all(entry.get(k) == v for k, v in key.items()):
            try:
                card = _card(entry["card"])
            except (KeyError, TypeError, ValueError):
                card = None
            if card is not None:
                cards.append(card)
                entries[scenario_id] = entry
                continue
        changed = True
        # deferred: start-up cost, a warm index never imports the loader (YAML, schemas)
        from app.course.loader import Course, CourseError

        if course is None:
            course = Course(course_root)
        try:
            card = ScenarioCard.of(course.scenario(scenario_id))
        except (CourseError, KeyError) as exc:
            errors.append(str(exc))
            continue
        cards.append(card)
        entries[scenario_id] = {**key, "card": asdict(card)}
    if changed or set(entries) != set(stored):
        _write(cache, entries)
    try:
        catalog = load_catalog(course_root)
    except CatalogError as exc:
        errors.append(str(exc))
        return cards, errors
    cards.sort(key=lambda c: (catalog.rank(c.track), c.order, c.id))
    return cards, errors


def _card(data: dict[str, Any]) -> ScenarioCard:
    return ScenarioCard(
        str(data["id"]),
        str(data["title"]),
        str(data["track"]),
        str(data["difficulty"]),
        int(data["order"]),
        str(data["lesson"]),
        int(data["max_score"]),
        tuple(str(h) for h in data["hints"]),
        tuple(str(c) for c in data["checks"]),
    )


def _read(cache: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != INDEX_VERSION:
        return {}
    entries = data.get("scenarios")
    return entries if isinstance(entries, dict) else {}


def _write(cache: Path, entries: dict[str, dict[str, Any]]) -> None:
    """Best effort: a cache that cannot be written only costs time."""
    temp_name = None
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=".course-index.", dir=cache.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"version": INDEX_VERSION, "scenarios": entries}, handle)
        os.replace(temp_name, cache)
        temp_name = None
    except OSError:
        pass
    finally:
        if temp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
