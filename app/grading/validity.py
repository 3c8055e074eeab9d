"""Is an answer valid Kubernetes: every parsed document checked against its kind's
OpenAPI schema (or the course's CRDs) and the API server's own validation rules, each
problem a diagnostic at its line. What the checks then say about it is
`app.grading.checks`."""

from __future__ import annotations

from collections.abc import Sequence

from app.grading.apirules import validate_object
from app.grading.report import Diagnostic
from app.grading.schema import SchemaValidator, UnknownKind, versions_of_kind
from app.yamlmap import Document, format_path


def validate_documents(docs: Sequence[Document], schemas: SchemaValidator) -> list[Diagnostic]:
    """Schema and API-server-rule diagnostics for parsed documents."""
    diagnostics: list[Diagnostic] = []
    for doc in docs:
        data = doc.data
        if data is None:
            continue
        if not isinstance(data, dict):
            shape = "a list" if isinstance(data, list) else f"a {type(data).__name__} scalar"
            diagnostics.append(
                Diagnostic(
                    f"{doc.describe()}: a Kubernetes object is a mapping, not {shape}",
                    "schema",
                    doc.start_line,
                    1,
                )
            )
            continue
        api_version, kind = data.get("apiVersion"), data.get("kind")
        missing = [k for k, v in (("apiVersion", api_version), ("kind", kind)) if not v]
        if missing:
            diagnostics.append(
                Diagnostic(
                    f"{doc.describe()}: missing {' and '.join(missing)}; every object needs "
                    "apiVersion and kind",
                    "schema",
                    doc.start_line,
                    1,
                )
            )
            continue
        if not isinstance(api_version, str) or not isinstance(kind, str):
            diagnostics.append(
                Diagnostic(
                    f"{doc.describe()}: apiVersion and kind must be strings",
                    "schema",
                    doc.start_line,
                    1,
                )
            )
            continue
        try:
            errors = list(schemas.validate(api_version, kind, data))
        except UnknownKind:
            known = versions_of_kind(kind)
            hint = (
                f"; {kind} exists as {', '.join(known)}"
                if known
                else "; no such kind in Kubernetes 1.36 or in the course's CRDs"
            )
            line, column = doc.locate(("kind",) if not known else ("apiVersion",))
            diagnostics.append(
                Diagnostic(f"unknown kind {api_version}/{kind}{hint}", "schema", line, column)
            )
            continue
        for error in errors:
            line, column = doc.locate(error.path)
            where = format_path(error.path)
            diagnostics.append(
                Diagnostic(
                    f"{doc.describe()}: {where}: {error.message}"
                    if where
                    else f"{doc.describe()}: {error.message}",
                    "schema",
                    line,
                    column,
                )
            )
        for rule in validate_object(data):
            line, column = doc.locate(rule.path)
            diagnostics.append(
                Diagnostic(f"{doc.describe()}: {rule.message}", "validation", line, column)
            )
    return diagnostics
