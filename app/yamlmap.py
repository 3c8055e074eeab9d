"""Multi-document YAML with a line and column for every node.

This module owns turning the candidate's bytes into plain Python documents plus
a map from field path to source position, and refusing hostile input early:
files over `MAX_BYTES`, alias bombs, non-UTF-8 bytes, duplicate keys. It never
raises on bad input; problems come back as `Problem` entries with a line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_BYTES = 1024 * 1024
"""Answers larger than this are refused before parsing."""
MAX_EXPANDED_NODES = 100_000
"""A document that expands (aliases resolved) to more nodes than this is an alias bomb."""
MAX_DOCUMENTS = 200

PathKey = str | int
Path = tuple[PathKey, ...]

# The C loader is several times faster where libyaml is present.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    """Something wrong with the file itself, before any Kubernetes meaning."""

    message: str
    line: int | None
    """1-based line, None when the whole file is concerned."""
    column: int | None = None
    """1-based column."""


@dataclass
class Document:
    """One YAML document of the answer, with where each field was written."""

    index: int
    """0-based position of the document in the file."""
    data: Any
    """The plain Python value (dicts, lists, scalars)."""
    start_line: int
    """1-based line where the document's content starts."""
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    """Path -> (line, column), 1-based. For a mapping entry, the position of its key."""

    def locate(self, path: Iterable[PathKey]) -> tuple[int, int]:
        """The position of `path`, or of its nearest ancestor that exists."""
        parts = tuple(path)
        while parts:
            pos = self.positions.get(parts)
            if pos is not None:
                return pos
            parts = parts[:-1]
        return (self.start_line, 1)

    @property
    def kind(self) -> str | None:
        if isinstance(self.data, dict) and isinstance(self.data.get("kind"), str):
            return str(self.data["kind"])
        return None

    @property
    def api_version(self) -> str | None:
        if isinstance(self.data, dict) and isinstance(self.data.get("apiVersion"), str):
            return str(self.data["apiVersion"])
        return None

    @property
    def name(self) -> str | None:
        if isinstance(self.data, dict):
            meta = self.data.get("metadata")
            if isinstance(meta, dict) and isinstance(meta.get("name"), str):
                return str(meta["name"])
        return None

    def describe(self) -> str:
        """`Deployment/model-serving`, or `document 2` when it has no kind or name."""
        if self.kind:
            return f"{self.kind}/{self.name or '(no name)'}"
        return f"document {self.index + 1}"


@dataclass
class ParsedFile:
    documents: list[Document]
    problems: list[Problem]


_PATH_TOKEN = re.compile(r"([^.\[\]\"']+)|\[(\d+|\*)\]|\[\"([^\"]*)\"\]|\['([^']*)'\]")


def parse_path(text: str) -> list[str | int]:
    """`spec.containers[0].resources` -> ['spec', 'containers', 0, 'resources'].

    `[*]` stays as the string '*' (any index); keys with dots or slashes go in
    quoted brackets: `limits["nvidia.com/gpu"]`.
    """
    parts: list[str | int] = []
    for name, index, dquoted, squoted in _PATH_TOKEN.findall(text):
        if name:
            parts.append(name)
        elif dquoted or squoted:
            parts.append(dquoted or squoted)
        elif index == "*":
            parts.append("*")
        else:
            parts.append(int(index))
    return parts


def format_path(path: tuple[PathKey, ...]) -> str:
    """['spec', 'containers', 0, 'image'] -> 'spec.containers[0].image' (parse_path's inverse)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def decode(raw: bytes) -> tuple[str | None, Problem | None]:
    """Bytes -> text, refusing oversize and non-UTF-8 input with a located problem."""
    if len(raw) > MAX_BYTES:
        return None, Problem(
            f"file is {len(raw):,} bytes; answers are limited to {MAX_BYTES:,} bytes (1 MiB)", None
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Problem(
            f"file is not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded", line, column
        )
    if "\x00" in text:
        index = text.index("\x00")
        return None, Problem(
            "file contains a NUL byte; it is not a YAML text file", text.count("\n", 0, index) + 1
        )
    return text, None


def _expanded_size(node: yaml.Node, memo: dict[int, int], depth: int = 0) -> int:
    """Node count with aliases expanded, memoised so a bomb is measured, not expanded."""
    key = id(node)
    cached = memo.get(key)
    if cached is not None:
        return cached
    if depth > 200:
        return MAX_EXPANDED_NODES + 1
    memo[key] = MAX_EXPANDED_NODES + 1  # a cycle counts as too big
    size = 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            size += _expanded_size(k, memo, depth + 1) + _expanded_size(v, memo, depth + 1)
            if size > MAX_EXPANDED_NODES:
                break
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            size += _expanded_size(item, memo, depth + 1)
            if size > MAX_EXPANDED_NODES:
                break
    memo[key] = size
    return size


def _record(
    node: yaml.Node,
    path: Path,
    positions: dict[Path, tuple[int, int]],
    problems: list[Problem],
    seen: set[int],
) -> None:
    if id(node) in seen:  # an alias: its positions were recorded where it was defined
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key == "<<":
                continue
            if key in keys:
                problems.append(
                    Problem(
                        f"duplicate key {key!r} (first defined on line {keys[key]}); "
                        "Kubernetes rejects a mapping with a repeated key",
                        line,
                        key_node.start_mark.column + 1,
                    )
                )
            keys[key] = line
            child = (*path, key)
            positions[child] = (line, key_node.start_mark.column + 1)
            _record(value_node, child, positions, problems, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            positions[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _record(item, child, positions, problems, seen)


def _problem_from_yaml_error(exc: yaml.YAMLError, text: str) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    message = f"YAML syntax error: {problem}"
    context_mark = getattr(exc, "context_mark", None)
    if context:
        where = f" that starts on line {context_mark.line + 1}" if context_mark else ""
        message += f" ({context}{where})"
    if mark is None:
        return Problem(message, None)
    lines = text.splitlines()
    source_line = lines[mark.line] if mark.line < len(lines) else ""
    indent = source_line[: len(source_line) - len(source_line.lstrip())]
    if "\t" in indent or "tab" in message:
        message += "; YAML does not allow tabs for indentation, use spaces"
    return Problem(message, mark.line + 1, mark.column + 1)


def load_documents(text: str) -> ParsedFile:
    """Parse every document; stop at the first syntax error, keeping what came before."""
    documents: list[Document] = []
    problems: list[Problem] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if len(documents) >= MAX_DOCUMENTS:
                problems.append(
                    Problem(
                        f"more than {MAX_DOCUMENTS} documents in one file", node.start_mark.line + 1
                    )
                )
                break
            if _expanded_size(node, {}) > MAX_EXPANDED_NODES:
                problems.append(
                    Problem(
                        "document expands to too many nodes through aliases (an alias bomb?); "
                        "refused",
                        node.start_mark.line + 1,
                        node.start_mark.column + 1,
                    )
                )
                break
            # Positions first: constructing flattens merge keys (<<) into the node,
            # which would then look like repeated keys.
            positions: dict[Path, tuple[int, int]] = {}
            _record(node, (), positions, problems, set())
            data = loader.construct_document(node)
            documents.append(
                Document(
                    index=len(documents),
                    data=data,
                    start_line=node.start_mark.line + 1,
                    positions=positions,
                )
            )
    except yaml.YAMLError as exc:
        problems.append(_problem_from_yaml_error(exc, text))
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        problems.append(Problem(f"YAML could not be read: {exc}", None))
    finally:
        loader.dispose()
    return ParsedFile(documents=documents, problems=problems)
