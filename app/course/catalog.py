"""The course's catalog: `course.yaml` at the course root, with its format version and tracks.

```yaml
format_version: 1
tracks:
  - id: serving                  # what scenarios name in `track:`
    title: Serving models on GPUs
    order: 10                    # position on the home screen (lower first)
    lesson: lessons/serving.md   # optional; default lessons/<id>.md
```

Tracks are data, so an instructor's pack can add its own: the scenario loader
accepts exactly these track ids, `kprep scenarios new --track` offers them, and
the home screen and `kprep progress` list them in this order. A pack without
`course.yaml` (made before it existed) still opens: its tracks are derived from
`lessons/*.md`, any track a scenario names is accepted, and lint asks for the
file. Reading the catalog is cheap (one small YAML file), so the home screen
reads it without loading any scenario.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from app.yamlmap import MAX_BYTES, UnreadableFile, read_regular_file

CATALOG_FILE = "course.yaml"
FORMAT_VERSION = 1
"""The newest course format this kprep reads."""
TRACK_ID = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")


class CatalogError(Exception):
    """course.yaml is invalid. `str()` is `file:line: message`."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.detail = message
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


@dataclass(frozen=True)
class Track:
    """One track of the course: a lesson and the scenarios that name it."""

    id: str
    title: str
    order: int
    lesson: str
    """The lesson file, relative to the course root."""


@dataclass(frozen=True)
class Catalog:
    """What course.yaml says (or what a pack without one implies)."""

    format_version: int
    tracks: tuple[Track, ...]
    path: Path | None = None
    """The course.yaml it came from; None when derived from lessons/."""

    @property
    def strict(self) -> bool:
        """Only course.yaml's tracks are accepted; a derived catalog accepts any track id."""
        return self.path is not None

    def knows(self, track_id: str) -> bool:
        return not self.strict or track_id in self.track_ids

    @property
    def track_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.tracks)

    def track(self, track_id: str) -> Track | None:
        return next((t for t in self.tracks if t.id == track_id), None)

    def title(self, track_id: str) -> str:
        track = self.track(track_id)
        return track.title if track else track_id

    def rank(self, track_id: str) -> int:
        """Position of the track in course order; unknown tracks sort last."""
        ids = self.track_ids
        return ids.index(track_id) if track_id in ids else len(ids)


def _read(path: Path) -> str:
    """A small text file: regular files only (a FIFO never blocks), at most 1 MiB."""
    raw = read_regular_file(path)
    if len(raw) > MAX_BYTES:
        raise UnreadableFile(f"cannot read: over {MAX_BYTES // 1024**2} MiB")
    return raw.decode("utf-8-sig")


def _line_of(text: str, pattern: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern in line:
            return number
    return None


def _derived(course_root: Path) -> Catalog:
    tracks = []
    for index, lesson in enumerate(sorted((course_root / "lessons").glob("*.md"))):
        title = lesson.stem
        try:
            first = _read(lesson).splitlines()[:1]
        except (OSError, UnicodeDecodeError, UnreadableFile):
            first = []
        if first and first[0].startswith("# "):
            title = first[0][2:].strip()
        tracks.append(Track(lesson.stem, title, (index + 1) * 10, f"lessons/{lesson.name}"))
    return Catalog(FORMAT_VERSION, tuple(tracks), None)


def load_catalog(course_root: Path) -> Catalog:
    """The course's catalog; raises CatalogError naming the file and line."""
    path = Path(course_root) / CATALOG_FILE
    if not path.exists() and not path.is_symlink():
        return _derived(Path(course_root))
    try:
        text = _read(path)
    except (OSError, UnicodeDecodeError, UnreadableFile) as exc:
        raise CatalogError(path, f"cannot read: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CatalogError(
            path, f"not valid YAML: {getattr(exc, 'problem', exc)}", mark.line + 1 if mark else None
        ) from exc
    if not isinstance(data, dict):
        raise CatalogError(path, "expected a mapping with format_version and tracks", 1)
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CatalogError(
            path, "format_version: must be a positive integer", _line_of(text, "format_version")
        )
    if version > FORMAT_VERSION:
        raise CatalogError(
            path,
            f"format_version {version}: this course needs a newer kprep (this one reads "
            f"format {FORMAT_VERSION}); upgrade kprep",
            _line_of(text, "format_version"),
        )
    unknown = sorted(str(k) for k in data if k not in ("format_version", "tracks"))
    if unknown:
        raise CatalogError(
            path, f"unknown field(s): {', '.join(unknown)}", _line_of(text, unknown[0])
        )
    raw_tracks = data.get("tracks")
    if not isinstance(raw_tracks, list) or not raw_tracks:
        raise CatalogError(path, "tracks: must be a non-empty list", _line_of(text, "tracks"))
    tracks: list[Track] = []
    for index, raw in enumerate(raw_tracks):
        tracks.append(_track(path, text, index, raw, {t.id for t in tracks}))
    return Catalog(version, tuple(sorted(tracks, key=lambda t: (t.order, t.id))), path)


def _track(path: Path, text: str, index: int, raw: Any, seen: set[str]) -> Track:
    where = f"tracks[{index}]"
    if not isinstance(raw, dict):
        raise CatalogError(path, f"{where}: must be a mapping with id and title")
    track_id = raw.get("id")
    line = _line_of(text, f"id: {track_id}") if isinstance(track_id, str) else None
    if not isinstance(track_id, str) or not TRACK_ID.match(track_id):
        raise CatalogError(
            path, f"{where}.id: lowercase letters, digits and '-' (got {track_id!r})", line
        )
    if track_id in seen:
        raise CatalogError(path, f"{where}.id: {track_id!r} repeats", line)
    unknown = sorted(str(k) for k in raw if k not in ("id", "title", "order", "lesson"))
    if unknown:
        raise CatalogError(path, f"{where}: unknown field(s): {', '.join(unknown)}", line)
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise CatalogError(path, f"{where}.title: a non-empty string is required", line)
    order = raw.get("order", (index + 1) * 10)
    if not isinstance(order, int) or isinstance(order, bool):
        raise CatalogError(path, f"{where}.order: must be an integer", line)
    lesson = raw.get("lesson", f"lessons/{track_id}.md")
    if not isinstance(lesson, str) or not lesson.endswith(".md"):
        raise CatalogError(path, f"{where}.lesson: a path to a .md file is required", line)
    parts = Path(lesson).parts
    if Path(lesson).is_absolute() or ".." in parts or "\\" in lesson:
        raise CatalogError(
            path, f"{where}.lesson: {lesson!r} must be a path inside the course folder", line
        )
    return Track(track_id, title.strip(), order, lesson)


def catalog_or_none(course_root: Path) -> Catalog | None:
    """The catalog, or None when course.yaml is invalid (the loader reports why)."""
    try:
        return load_catalog(course_root)
    except CatalogError:
        return None
