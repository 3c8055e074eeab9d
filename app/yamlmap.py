"""Multi-document YAML with a line and column for every node.

This module owns turning the candidate's bytes into plain Python documents plus
a map from field path to source position, and refusing hostile input early:
files that are not regular files or are over `MAX_BYTES`, alias bombs,
non-UTF-8 bytes, duplicate keys. It never raises on bad input; problems come
back as `Problem` entries with a line.

The documents hold only JSON types, as the API server would receive them from
`kubectl` (sigs.k8s.io/yaml over go-yaml v2): a date or timestamp stays the
text it was written as, `!!binary` is its decoded text, `!!set` a mapping of
nulls, `!!omap`/`!!pairs` a list of one-key mappings. What kubectl itself
refuses (an infinite or NaN float, `!!int ""`, bad base64) is a Problem at its
line.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

MAX_BYTES = 1024 * 1024
"""Answers larger than this are refused before parsing."""
MAX_EXPANDED_NODES = 100_000
"""Aliases may add at most this many nodes to a document's own: more is an alias bomb.
(A large file without aliases is fine: its size is bounded by MAX_BYTES.)"""
MAX_DOCUMENTS = 200

PathKey = str | int
Path = tuple[PathKey, ...]

# The C loader is several times faster where libyaml is present.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _refuse(node: yaml.Node, message: str) -> ConstructorError:
    return ConstructorError(None, None, message, node.start_mark)


def _scalar(loader: Any, node: yaml.Node) -> tuple[yaml.ScalarNode, str]:
    if not isinstance(node, yaml.ScalarNode):
        raise _refuse(node, f"{node.tag} must be a scalar value")
    return node, str(loader.construct_scalar(node))


def _construct_int(loader: Any, node: yaml.Node) -> int:
    node, text = _scalar(loader, node)
    try:
        return int(SafeConstructor.construct_yaml_int(loader, node))
    except (ValueError, IndexError) as exc:
        # go-yaml says "cannot decode !!str `` as a !!int"; so does kubectl.
        raise _refuse(node, f"cannot read {text!r} as an integer (!!int)") from exc


def _construct_float(loader: Any, node: yaml.Node) -> float:
    node, text = _scalar(loader, node)
    try:
        value = float(SafeConstructor.construct_yaml_float(loader, node))
    except (ValueError, IndexError) as exc:
        raise _refuse(node, f"cannot read {text!r} as a number (!!float)") from exc
    if not math.isfinite(value):
        raise _refuse(
            node,
            f"{text} is not a finite number: JSON cannot carry infinity or NaN, so kubectl "
            f'refuses the file ("json: unsupported value"); quote it if you meant a string',
        )
    return value


def _construct_bool(loader: Any, node: yaml.Node) -> bool:
    node, text = _scalar(loader, node)
    try:
        return bool(SafeConstructor.construct_yaml_bool(loader, node))
    except KeyError as exc:
        raise _refuse(node, f"cannot read {text!r} as true or false (!!bool)") from exc


_TIMESTAMP = SafeConstructor.timestamp_regexp


def _construct_timestamp(loader: Any, node: yaml.Node) -> str:
    """go-yaml v2 keeps a timestamp as its text when decoding into JSON: so does kprep."""
    node, text = _scalar(loader, node)
    if not _TIMESTAMP.match(text):
        raise _refuse(node, f"cannot read {text!r} as a timestamp (!!timestamp)")
    return text


def _construct_binary(loader: Any, node: yaml.Node) -> str:
    """go-yaml v2 decodes !!binary into its bytes as a string; kprep needs them as UTF-8 text."""
    node, text = _scalar(loader, node)
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _refuse(node, "!!binary value is not valid base64") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(
            node, "!!binary value is not UTF-8 text once decoded; a manifest cannot carry it"
        ) from exc


def _construct_set(loader: Any, node: yaml.Node) -> Any:
    """A set is a mapping whose values are null, which is what go-yaml hands kubectl."""
    return loader.construct_yaml_map(node)


def _construct_pairs(loader: Any, node: yaml.Node) -> Any:
    """!!omap and !!pairs are sequences of one-key mappings once the tag is dropped."""
    return loader.construct_yaml_seq(node)


class _KubernetesLoader(_BaseLoader):  # type: ignore[misc]
    """The safe loader, yielding only JSON types (see the module docstring)."""


for _tag, _constructor in (
    ("tag:yaml.org,2002:int", _construct_int),
    ("tag:yaml.org,2002:float", _construct_float),
    ("tag:yaml.org,2002:bool", _construct_bool),
    ("tag:yaml.org,2002:timestamp", _construct_timestamp),
    ("tag:yaml.org,2002:binary", _construct_binary),
    ("tag:yaml.org,2002:set", _construct_set),
    ("tag:yaml.org,2002:omap", _construct_pairs),
    ("tag:yaml.org,2002:pairs", _construct_pairs),
):
    _KubernetesLoader.add_constructor(_tag, _constructor)
_Loader: Any = _KubernetesLoader


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


COURSE_FILE_LIMIT = 16 * 1024 * 1024
"""Course files (scenarios, lessons, CRDs) are read up to this size."""


class UnreadableFile(Exception):
    """A file that cannot be read, or is not a regular file. `str()` says why."""


def read_regular_file(path: str | os.PathLike[str], limit: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file, at most `limit` + 1 of them (enough for `decode` to
    refuse an oversize file without reading it all).

    Opened without blocking, so a FIFO with no writer cannot hang the grader; a
    FIFO, device (`/dev/zero`, even behind a symlink), socket or directory is
    refused. Raises UnreadableFile.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnreadableFile(f"cannot read: {_file_type(mode)}, not a regular file")
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def _file_type(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "it is a directory"
    if stat.S_ISFIFO(mode):
        return "it is a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "it is a device"
    if stat.S_ISSOCK(mode):
        return "it is a socket"
    return "it is a special file"


def decode(raw: bytes) -> tuple[str | None, Problem | None]:
    """Bytes -> text, refusing oversize and non-UTF-8 input with a located problem."""
    if len(raw) > MAX_BYTES:
        return None, Problem(
            f"file is over {MAX_BYTES:,} bytes; answers are limited to 1 MiB", None
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


def _node_count(root: yaml.Node) -> int:
    """Distinct nodes of a document (each alias target once), without recursion."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack += (key, value)
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return len(seen)


def _expanded_size(node: yaml.Node, memo: dict[int, int], cap: int, depth: int = 0) -> int:
    """Node count with aliases expanded, memoised so a bomb is measured, not expanded;
    stops counting past `cap`."""
    key = id(node)
    cached = memo.get(key)
    if cached is not None:
        return cached
    if depth > 200:
        return cap + 1
    memo[key] = cap + 1  # a cycle counts as too big
    size = 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            size += _expanded_size(k, memo, cap, depth + 1) + _expanded_size(
                v, memo, cap, depth + 1
            )
            if size > cap:
                break
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            size += _expanded_size(item, memo, cap, depth + 1)
            if size > cap:
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
    # A constructor error is a value the API server could not be sent (see _KubernetesLoader),
    # not a syntax error.
    kind = "YAML error" if isinstance(exc, ConstructorError) else "YAML syntax error"
    message = f"{kind}: {problem}"
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
    may_alias = "*" in text
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
            # Only an alias (`*name`) can make a document bigger than its text: without
            # a `*` anywhere in the file there is nothing to measure.
            cap = MAX_EXPANDED_NODES + _node_count(node) if may_alias else 0
            if may_alias and _expanded_size(node, {}, cap) > cap:
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
    except RecursionError:
        problems.append(Problem("YAML is nested too deeply to read", None))
    except Exception as exc:  # noqa: BLE001 - whatever the loader raises is the answer's fault
        problems.append(Problem(f"YAML could not be read: {type(exc).__name__}: {exc}", None))
    finally:
        loader.dispose()
    return ParsedFile(documents=documents, problems=problems)
