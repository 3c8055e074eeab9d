"""Loading a course folder: scenarios (validated by JSON Schema) and lessons.

A course folder has `lessons/`, `scenarios/<id>/`, `answers/<id>/`, `profiles/`
and optionally `crds/`. Loading one scenario reads only its own folder, so
`kprep check --scenario ID` stays fast however large the course is. Errors name
the file, the line and the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.course.catalog import Catalog, CatalogError, load_catalog
from app.course.celvars import variable_problem
from app.course.models import (
    Check,
    FollowUp,
    Hint,
    Lesson,
    Match,
    Scenario,
    Section,
    WrongAnswer,
)
from app.paths import cache_dir
from app.yamlmap import (
    COURSE_FILE_LIMIT,
    Document,
    UnreadableFile,
    format_path,
    load_documents,
    read_regular_file,
)

SCHEMA_PATH = Path(__file__).with_name("scenario.schema.json")


class CourseError(Exception):
    """A course file is missing or invalid. `str()` is `file:line: field: message`."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.detail = message
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


@lru_cache(maxsize=1)
def _scenario_validator() -> Any:
    import jsonschema_rs  # deferred: start-up cost, a cached scenario is not validated again

    return jsonschema_rs.validator_for(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def inside(path: Path, root: Path) -> bool:
    """Whether `path`, symlinks resolved, is in the folder `root` (resolved too)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def read_course_text(path: Path, root: Path | None = None) -> str:
    """A course file's text: a regular file (never a FIFO or device), inside `root` when
    given, bounded in size, UTF-8. Raises CourseError saying which rule it broke."""
    if root is not None and not inside(path, root):
        raise CourseError(
            path, f"leaves the course folder {root} (it resolves to {path.resolve()})"
        )
    try:
        raw = read_regular_file(path, COURSE_FILE_LIMIT)
    except UnreadableFile as exc:
        raise CourseError(path, str(exc)) from exc
    if len(raw) > COURSE_FILE_LIMIT:
        raise CourseError(path, f"is over {COURSE_FILE_LIMIT // 1024**2} MiB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise CourseError(path, "is not UTF-8 text", line) from exc


def read_yaml_document(path: Path, root: Path | None = None) -> Document:
    """Read a one-document YAML file with positions, or raise CourseError."""
    text = read_course_text(path, root)
    parsed = load_documents(text)
    if parsed.problems:
        first = parsed.problems[0]
        raise CourseError(path, first.message, first.line)
    if len(parsed.documents) != 1:
        raise CourseError(path, "expected exactly one YAML document")
    return parsed.documents[0]


def _check(raw: dict[str, Any], doc: Document, path: tuple[str | int, ...]) -> Check:
    match = raw.get("match")
    return Check(
        id=raw["id"],
        title=raw["title"],
        points=int(raw["points"]),
        concept=raw["concept"],
        expression=raw["expression"],
        message=" ".join(str(raw["message"]).split()),
        match=Match(match.get("kind"), match.get("name"), match.get("apiVersion"))
        if isinstance(match, dict)
        else None,
        field=raw.get("field"),
        wrong_answers=tuple(
            WrongAnswer(w["name"], w["patch"]) for w in raw.get("wrongAnswers") or []
        ),
        source_line=doc.locate(path)[0],
        load=raw.get("load"),
    )


def parse_scenario(
    doc: Document,
    source: Path,
    course_dir: Path,
    catalog: Catalog | None = None,
    *,
    validated: bool = False,
) -> Scenario:
    """A Scenario from its parsed document; `validated`: it passed the JSON Schema
    already (it came from the cache, which holds only scenarios that did)."""
    data = doc.data
    errors = [] if validated else list(_scenario_validator().iter_errors(data))
    if errors:
        first = errors[0]
        path = tuple(first.instance_path)
        where = format_path(path) or "(top level)"
        raise CourseError(source, f"{where}: {first.message}", doc.locate(path)[0])
    catalog = catalog or load_catalog(course_dir)
    if not catalog.knows(data["track"]):
        raise CourseError(
            source,
            f"track: {data['track']!r} is not a track of this course (course.yaml lists: "
            f"{', '.join(catalog.track_ids) or 'none'})",
            doc.locate(("track",))[0],
        )
    folder = source.parent
    if data["id"] != folder.name:
        raise CourseError(
            source,
            f"id: {data['id']!r} must equal the folder name {folder.name!r}",
            doc.locate(("id",))[0],
        )
    starter_name = data.get("starter", "starter.yaml")
    if not inside(folder / starter_name, folder):
        raise CourseError(
            source,
            f"starter: {starter_name!r} leaves the scenario folder (a symlink to "
            f"{(folder / starter_name).resolve()})",
            doc.locate(("starter",))[0],
        )
    checks = tuple(_check(c, doc, ("checks", i)) for i, c in enumerate(data["checks"]))
    live = tuple(
        _check(c, doc, ("liveChecks", i)) for i, c in enumerate(data.get("liveChecks") or [])
    )
    behaviour = tuple(
        _check(c, doc, ("autoscaleChecks", i))
        for i, c in enumerate(data.get("autoscaleChecks") or [])
    )
    seen: set[str] = set()
    for i, check in enumerate((*checks, *live, *behaviour)):
        if check.id in seen:
            raise CourseError(source, f"checks: id {check.id!r} repeats", check.source_line)
        seen.add(check.id)
        # A typo in a variable would only show when the check runs (live: on a cluster).
        kind = (
            "offline" if i < len(checks) else "live" if i < len(checks) + len(live) else "autoscale"
        )
        unknown = variable_problem(check, kind=kind)
        if unknown:
            raise CourseError(source, unknown, check.source_line)
    return Scenario(
        id=data["id"],
        title=data["title"],
        track=data["track"],
        difficulty=data["difficulty"],
        order=int(data.get("order", 100)),
        prompt=str(data["prompt"]).strip(),
        lesson=data["lesson"],
        hints=tuple(Hint(h["level"], str(h["text"]).strip()) for h in data["hints"]),
        checks=checks,
        live_checks=live,
        follow_ups=tuple(
            FollowUp(f["question"], tuple(f["keyPoints"]), str(f["modelAnswer"]).strip())
            for f in data["followUps"]
        ),
        folder=folder,
        answer_folder=course_dir / "answers" / data["id"],
        starter_name=starter_name,
        profile=data.get("profile", "default"),
        allowed_kinds=tuple(data.get("allowedKinds") or ()),
        apply_in_order=bool(data.get("applyInOrder", False)),
        interleave_arrivals=bool(data.get("interleaveArrivals", False)),
        params=dict(data.get("params") or {}),
        tags=tuple(data.get("tags") or ()),
        autoscale=dict(data["autoscale"]) if data.get("autoscale") else None,
        autoscale_checks=behaviour,
    )


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def slugify(title: str) -> str:
    """GitHub-style heading slug."""
    text = re.sub(r"[`*_]", "", title.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def parse_lesson(track: str, path: Path, text: str) -> Lesson:
    sections: list[Section] = []
    title = track
    in_fence = False
    used: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        match = _HEADING.match(line)
        if not match:
            continue
        level, heading = len(match.group(1)), match.group(2)
        if level == 1 and title == track:
            title = heading
            continue
        slug = slugify(heading)
        if slug in used:
            used[slug] += 1
            slug = f"{slug}-{used[slug]}"
        else:
            used[slug] = 0
        sections.append(Section(slug, heading, level, number))
    return Lesson(track=track, title=title, path=path, text=text, sections=tuple(sections))


_CACHE_FORMAT = 2
"""Bump when what the scenario cache stores changes."""


def _cache_path(source: Path) -> Path | None:
    """A cache file for a scenario.yaml, keyed by its path, size and mtime."""
    try:
        stat = source.stat()
    except OSError:
        return None
    schema = SCHEMA_PATH.stat()
    # The scenario schema is part of the key: a cached scenario skips validation.
    key = (
        f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{_CACHE_FORMAT}|"
        f"{schema.st_size}|{schema.st_mtime_ns}"
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return cache_dir() / "scenarios" / f"{digest}.json"


def _cached_document(source: Path) -> Document | None:
    """The parsed scenario from the cache (big scenarios take ~40 ms to parse with positions)."""
    path = _cache_path(source)
    if path is None or not path.is_file():
        return None
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        positions = {tuple(p): (int(line), int(column)) for p, line, column in stored["positions"]}
        return Document(index=0, data=stored["data"], start_line=1, positions=positions)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store_document(source: Path, doc: Document) -> None:
    """Cache a scenario that loaded cleanly: its data and the lines of its checks."""
    path = _cache_path(source)
    if path is None:
        return
    wanted = [
        p
        for p in doc.positions
        if len(p) == 2 and p[0] in ("checks", "liveChecks", "autoscaleChecks")
    ]
    try:
        text = json.dumps(
            {"data": doc.data, "positions": [[list(p), *doc.positions[p]] for p in wanted]}
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{id(doc)}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except (OSError, TypeError, ValueError):
        pass  # not JSON-able (a YAML timestamp, say) or a read-only cache: just slower


@dataclass
class Course:
    """A course folder. Scenarios load on demand and are cached."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self._scenarios: dict[str, Scenario] = {}
        self._catalog: Catalog | None = None

    @property
    def catalog(self) -> Catalog:
        """course.yaml: the format version and the tracks. Raises CourseError if invalid."""
        if self._catalog is None:
            try:
                self._catalog = load_catalog(self.root)
            except CatalogError as exc:
                raise CourseError(exc.path, exc.detail, exc.line) from exc
        return self._catalog

    @property
    def scenarios_dir(self) -> Path:
        return self.root / "scenarios"

    @property
    def crd_dir(self) -> Path:
        return self.root / "crds"

    def scenario_ids(self) -> list[str]:
        if not self.scenarios_dir.is_dir():
            return []
        return sorted(p.parent.name for p in self.scenarios_dir.glob("*/scenario.yaml"))

    def scenario(self, scenario_id: str) -> Scenario:
        """Load one scenario; raises KeyError if unknown, CourseError if invalid."""
        cached = self._scenarios.get(scenario_id)
        if cached is not None:
            return cached
        source = self.scenarios_dir / scenario_id / "scenario.yaml"
        if "/" in scenario_id or not (source.exists() or source.is_symlink()):
            raise KeyError(scenario_id)
        if not inside(source, self.root):
            raise CourseError(source, f"leaves the course folder {self.root}")
        doc = _cached_document(source)
        from_cache = doc is not None
        if doc is None:
            doc = read_yaml_document(source, self.root)
        scenario = parse_scenario(doc, source, self.root, self.catalog, validated=from_cache)
        if not from_cache:
            _store_document(source, doc)
        self._scenarios[scenario_id] = scenario
        return scenario

    def load_all(self) -> tuple[list[Scenario], list[CourseError]]:
        """Every scenario in course order, and the errors of those that failed to load."""
        scenarios: list[Scenario] = []
        errors: list[CourseError] = []
        for scenario_id in self.scenario_ids():
            try:
                scenarios.append(self.scenario(scenario_id))
            except CourseError as exc:
                errors.append(exc)
        try:
            catalog = self.catalog
        except CourseError as exc:
            return [], [exc]
        scenarios.sort(key=lambda s: (catalog.rank(s.track), s.order, s.id))
        return scenarios, errors

    def lesson(self, track: str) -> Lesson:
        """The track's lesson (course.yaml's `lesson`, default lessons/<track>.md)."""
        entry = self.catalog.track(track)
        path = self.root / (entry.lesson if entry else f"lessons/{track}.md")
        if not path.is_file():
            raise KeyError(track)
        return parse_lesson(track, path, read_course_text(path, self.root))

    def lessons(self) -> list[Lesson]:
        found = []
        for track in self.catalog.track_ids:
            try:
                found.append(self.lesson(track))
            except (KeyError, CourseError):
                continue  # lint reports an unreadable lesson
        return found
