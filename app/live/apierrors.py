"""The API server's verdict, at the answer's lines.

The API server names fields (`spec.template.spec.containers[0].resources.requests[nvidia.com/gpu]`)
and sometimes only inside its message; these functions turn an `ApiError`
(from a dry run or a real create) into diagnostics at the line of the field
in the candidate's YAML, and `dry_run_diagnostics` asks the server about every
document without persisting anything (the offline-vs-server differential test
uses it).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from app.cluster.kube import ApiError, Kube, UnknownKindError
from app.grading.report import Diagnostic
from app.yamlmap import Document

_FIELD_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[([^\]]*)\]")


def api_field_path(text: str) -> tuple[str | int, ...]:
    """`spec.containers[0].resources.requests[nvidia.com/gpu]` -> path parts."""
    parts: list[str | int] = []
    for name, bracket in _FIELD_TOKEN.findall(text.strip()):
        if name:
            parts.append(name)
        elif bracket.isdigit():
            parts.append(int(bracket))
        elif bracket:
            parts.append(bracket.strip("\"'"))
    return tuple(parts)


_MESSAGE_FIELD = (
    re.compile(r"unknown field \"([^\"]+)\""),
    re.compile(r"(?:^|: )\.?([A-Za-z][\w.\[\]/-]*): field not declared in schema"),
    re.compile(r"(?:^|: )\.([A-Za-z][\w.\[\]/-]*): expected "),
    re.compile(
        r"(?:^|: )\.?([A-Za-z][\w.\[\]/-]*): (?:Invalid value|Required value|"
        r"Unsupported value|Forbidden|Duplicate value|Too many|Too long)"
    ),
    re.compile(r"^([a-z][\w]*(?:\.[\w]+|\[[^\]]+\])+): "),
)


def _message_path(message: str) -> tuple[str | int, ...]:
    for pattern in _MESSAGE_FIELD:
        found = pattern.search(message)
        if found:
            return api_field_path(found.group(1))
    return ()


def _value_at(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        in_list = isinstance(part, int) and isinstance(data, list) and part < len(data)
        in_map = isinstance(part, str) and isinstance(data, dict) and part in data
        if not (in_list or in_map):
            return None
        data = data[part]
    return data


def refine_path(doc: Document, path: tuple[str | int, ...], message: str) -> tuple[str | int, ...]:
    """Descend into the one key of the named mapping that the message mentions.

    The API server names `...resources.requests` for "Invalid value: "2": must
    be equal to nvidia.com/gpu limit of 1"; the line that matters is the
    `nvidia.com/gpu` entry inside it.
    """
    value = _value_at(doc.data, path)
    if isinstance(value, dict):
        named = [
            k
            for k in value
            if isinstance(k, str) and re.search(rf"(?<![\w./-]){re.escape(k)}(?![\w./-])", message)
        ]
        if len(named) == 1:
            return (*path, named[0])
    return path


_TYPED_PATCH = re.compile(r"^failed to create typed patch object \([^)]*\): ")


def is_answer_error(error: ApiError) -> bool:
    """An error about the answer (vs. the cluster failing).

    Server-side apply reports a field outside the schema or of the wrong type
    as HTTP 500 "failed to create typed patch object (...)": that is the
    answer's fault, not the cluster's.
    """
    return error.status < 500 or bool(_TYPED_PATCH.match(error.message))


def _clean_message(message: str) -> str:
    text = _TYPED_PATCH.sub("", message)
    return re.sub(
        r"^\.?([A-Za-z][\w.\[\]/-]*): field not declared in schema$",
        r"\1: unknown field (not in the schema)",
        text,
    )


def api_diagnostics(doc: Document, error: ApiError) -> list[Diagnostic]:
    """One diagnostic per invalid field of an API server error, at the field's line."""
    causes = [c for c in error.causes if c.get("message")]
    out: list[Diagnostic] = []
    if causes:
        for cause in causes:
            field_text = str(cause.get("field") or "")
            message = str(cause.get("message"))
            path = api_field_path(field_text) if field_text else _message_path(message)
            path = refine_path(doc, path, message)
            line, column = doc.locate(path) if path else (doc.start_line, 1)
            where = f"{field_text}: " if field_text and field_text not in message else ""
            out.append(Diagnostic(f"{doc.describe()}: {where}{message}", "apiserver", line, column))
        return out
    message = error.message or f"HTTP {error.status}"
    path = _message_path(message)
    message = _clean_message(message)
    line, column = doc.locate(path) if path else (doc.start_line, 1)
    return [Diagnostic(f"{doc.describe()}: {message}", "apiserver", line, column)]


def warning_diagnostics(doc: Document, warnings: Sequence[str]) -> list[Diagnostic]:
    out = []
    for text in warnings:
        path = _message_path(text)
        line, column = doc.locate(path) if path else (doc.start_line, 1)
        out.append(
            Diagnostic(f"{doc.describe()}: {text}", "apiserver", line, column, severity="warning")
        )
    return out


def dry_run_diagnostics(kube: Kube, docs: Sequence[Document], namespace: str) -> list[Diagnostic]:
    """The API server's verdict on every document (server-side dry run, nothing persisted).

    The offline-vs-server differential test compares this with the offline
    grader. Namespaced objects are dry-run in `namespace` (which must exist).
    """
    out: list[Diagnostic] = []
    for doc in docs:
        if not isinstance(doc.data, dict) or not doc.kind or not doc.api_version:
            continue
        try:
            resource = kube.resource(doc.api_version, doc.kind)
        except UnknownKindError:
            line, column = doc.locate(("kind",))
            out.append(
                Diagnostic(
                    f"{doc.describe()}: unknown kind {doc.api_version}/{doc.kind}",
                    "apiserver",
                    line,
                    column,
                )
            )
            continue
        manifest = copy.deepcopy(doc.data)
        meta = manifest.get("metadata")
        if not isinstance(meta, dict):
            meta = manifest["metadata"] = {}
        if resource.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        try:
            kube.create(
                manifest, namespace=namespace if resource.namespaced else None, dry_run=True
            )
        except ApiError as exc:
            if not is_answer_error(exc):
                raise
            out.extend(api_diagnostics(doc, exc))
    return out
