"""Patch operations that turn a reference answer into a known-wrong one.

Used by `wrongAnswers` on checks (see scenarios/README.md). Operations:
  {op: set, target: Kind/name, path: a.b[0].c, value: ...}
  {op: remove, target: Kind/name, path: a.b}
  {op: removeDocument, target: Kind/name}
  {op: addDocument, value: {...}}
`target` may be omitted when the answer has one document. `[*]` in a path
applies the operation to every item. Keys with dots go in quoted brackets:
`limits["nvidia.com/gpu"]`.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from app.yamlmap import parse_path


class PatchError(Exception):
    """The patch does not apply to the reference answer (a course bug)."""


def _target_index(docs: list[Any], target: str | None) -> int:
    if target is None:
        if len(docs) != 1:
            raise PatchError("patch needs a `target` (Kind/name): the answer has several documents")
        return 0
    kind, _, name = target.partition("/")
    for i, doc in enumerate(docs):
        if (
            isinstance(doc, dict)
            and doc.get("kind") == kind
            and (not name or _name_of(doc) == name)
        ):
            return i
    raise PatchError(f"target {target!r} is not in the reference answer")


def _name_of(doc: dict[str, Any]) -> Any:
    meta = doc.get("metadata")
    return meta.get("name") if isinstance(meta, dict) else None


def _apply_path(node: Any, parts: list[str | int], op: str, value: Any, full: str) -> None:
    head, rest = parts[0], parts[1:]
    if head == "*":
        if not isinstance(node, list):
            raise PatchError(f"{full}: [*] on something that is not a list")
        for item in node:
            if rest:
                _apply_path(item, rest, op, value, full)
        if not rest:
            raise PatchError(f"{full}: cannot end a path with [*]")
        return
    if not rest:
        if op == "set":
            if isinstance(node, list) and isinstance(head, int):
                if head == len(node):
                    node.append(copy.deepcopy(value))
                elif head < len(node):
                    node[head] = copy.deepcopy(value)
                else:
                    raise PatchError(
                        f"{full}: index {head} is past the end of a list of {len(node)} "
                        f"(use [{len(node)}] to append)"
                    )
            elif isinstance(node, dict) and isinstance(head, str):
                node[head] = copy.deepcopy(value)
            else:
                raise PatchError(f"{full}: parent is not a mapping or list")
        else:
            try:
                del node[head]
            except (KeyError, IndexError, TypeError) as exc:
                raise PatchError(f"{full}: nothing to remove") from exc
        return
    if isinstance(node, dict) and isinstance(head, int):
        raise PatchError(f"{full}: [{head}] indexes a mapping, not a list")
    if isinstance(node, dict):
        if head not in node:
            if op == "remove":
                raise PatchError(f"{full}: {head!r} does not exist")
            node[head] = [] if isinstance(rest[0], int) else {}
        _apply_path(node[head], rest, op, value, full)
    elif isinstance(node, list) and isinstance(head, int) and head < len(node):
        _apply_path(node[head], rest, op, value, full)
    elif isinstance(node, list) and isinstance(head, int):
        raise PatchError(f"{full}: index {head} is past the end of a list of {len(node)}")
    else:
        raise PatchError(f"{full}: {head!r} does not exist")


def apply_patch(answer_text: str, patch: Any) -> str:
    """Apply patch operations to a YAML answer and return the new YAML text.

    Raises PatchError (with the reason) for any patch that does not apply."""
    try:
        docs = [d for d in yaml.safe_load_all(answer_text) if d is not None]
    except yaml.YAMLError as exc:
        raise PatchError(f"the reference answer is not valid YAML: {exc}") from exc
    operations = patch if isinstance(patch, list) else [patch]
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation:
            raise PatchError(f"not a patch operation: {operation!r}")
        op = operation["op"]
        if not isinstance(op, str):
            raise PatchError(f"not a patch operation: {operation!r}")
        if op == "addDocument":
            docs.append(copy.deepcopy(operation.get("value")))
            continue
        target = operation.get("target")
        index = _target_index(docs, None if target is None else str(target))
        if op == "removeDocument":
            docs.pop(index)
            continue
        if op not in ("set", "remove"):
            raise PatchError(f"unknown op {op!r} (set, remove, removeDocument, addDocument)")
        path = str(operation.get("path", ""))
        parts = parse_path(path)
        if not parts:
            raise PatchError("set/remove need a `path`")
        _apply_path(docs[index], parts, op, operation.get("value"), path)
    try:
        return yaml.safe_dump_all(docs, sort_keys=False)
    except yaml.YAMLError as exc:
        raise PatchError(f"the patched answer cannot be written as YAML: {exc}") from exc
