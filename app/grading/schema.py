"""Strict schema validation against Kubernetes' own OpenAPI schemas.

The schemas come from the kubernetes-validate package (generated from the
Kubernetes OpenAPI spec, `-strict` variant: unknown fields are errors). Its
files reference one 1.6 MB definitions file; loading that on every run would
cost more than grading, so each kind's schema is cut down once to the
definitions it reaches, with descriptions removed, and cached on disk.
CRDs the course ships (`crds/*.yaml` in the course folder) are validated the
same way, from their `openAPIV3Schema`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from app.paths import cache_dir

KUBERNETES_VERSION = "1.36.0"
"""The schema version graded against; matches the live cluster's 1.36."""


@dataclass(frozen=True)
class SchemaError:
    path: tuple[str | int, ...]
    """Path of the offending field inside the document."""
    message: str


class UnknownKind(Exception):
    """No schema exists for this apiVersion/kind."""


@lru_cache(maxsize=1)
def _schema_root() -> Path:
    # find_spec locates the package without importing it: importing
    # kubernetes_validate loads jsonschema, which costs more than grading.
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise UnknownKind("the kubernetes-validate package (bundled schemas) is not installed")
    package = Path(next(iter(spec.submodule_search_locations)))
    return package / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}-local-strict"


def _file_stem(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    if not group:
        return f"{kind.lower()}-{version}"
    return f"{kind.lower()}-{group.split('.')[0]}-{version}"


def _strip(node: Any, *, in_properties: bool = False) -> Any:
    """Drop the `description` and `format` annotations of every schema node.

    Under `properties` the keys are field names, so a field called
    `description` (PriorityClass has one) or `format` is kept.
    """
    if isinstance(node, dict):
        return {
            k: _strip(v, in_properties=(k == "properties" and not in_properties))
            for k, v in node.items()
            if in_properties or k not in ("description", "format")
        }
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


_REF = re.compile(r"#/\$defs/(.+)$")


def _self_contained(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """Copy `schema` with every reachable definition inlined under `$defs`."""
    needed: dict[str, Any] = {}

    def visit(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    match = _REF.search(value)
                    if match:
                        name = match.group(1)
                        if name not in needed:
                            needed[name] = None
                            needed[name] = visit(definitions[name])
                        out[key] = f"#/$defs/{name}"
                        continue
                out[key] = visit(value)
            return out
        if isinstance(node, list):
            return [visit(v) for v in node]
        return node

    root: dict[str, Any] = visit(_strip(schema))
    root["$defs"] = {name: _strip(body) for name, body in needed.items()}
    root.pop("$id", None)
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return root


_CACHE_FORMAT = 2
"""Bump when the cut-down schema's shape changes."""


def _cache_file(stem: str, source: Path) -> Path:
    """Cache path keyed by the source schema's size and mtime, so an upgrade invalidates it."""
    stat = source.stat()
    key = f"{stem}-{stat.st_size}-{stat.st_mtime_ns}-f{_CACHE_FORMAT}"
    return cache_dir() / "schemas" / f"k8s-{KUBERNETES_VERSION}" / f"{key}.json"


def _write_atomic(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs speed


@lru_cache(maxsize=1)
def _definitions() -> dict[str, Any]:
    data = json.loads((_schema_root() / "_definitions.json").read_text(encoding="utf-8"))
    return dict(data["$defs"])


def builtin_schema(api_version: str, kind: str) -> dict[str, Any]:
    """The self-contained strict schema of a built-in kind, from cache when possible."""
    stem = _file_stem(api_version, kind)
    source = _schema_root() / f"{stem}.json"
    if not source.is_file():
        raise UnknownKind(f"{api_version}/{kind}")
    cached = _cache_file(stem, source)
    if cached.is_file():
        try:
            return dict(json.loads(cached.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            pass
    raw = json.loads(source.read_text(encoding="utf-8"))
    schema = _self_contained(raw, _definitions())
    _write_atomic(cached, json.dumps(schema, separators=(",", ":")))
    return schema


def crd_to_json_schema(node: Any) -> Any:
    """An OpenAPI v3 structural schema (CRD) -> JSON Schema, strict on unknown fields."""
    if isinstance(node, list):
        return [crd_to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("description", "format", "example", "default") or key.startswith("x-kubernetes"):
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {k: crd_to_json_schema(v) for k, v in value.items()}
        else:
            out[key] = crd_to_json_schema(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["type"] = ["integer", "string"]
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    out.pop("nullable", None)
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@lru_cache(maxsize=8)
def crd_schemas(crd_dir: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> JSON Schema for every served version of every CRD in `crd_dir`.

    Converted schemas are cached on disk, keyed by the CRD files' names, sizes and
    mtimes: parsing the CRDs (hundreds of KB of YAML) costs more than grading.
    """
    folder = Path(crd_dir)
    if not folder.is_dir():
        return {}
    files = sorted(folder.glob("*.yaml"))
    key = hashlib.sha256(
        repr([(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files]).encode()
    ).hexdigest()[:20]
    cached = cache_dir() / "schemas" / "crds" / f"{key}-f{_CACHE_FORMAT}.json"
    if cached.is_file():
        try:
            return {(a, k): schema for a, k, schema in json.loads(cached.read_text("utf-8"))}
        except (OSError, ValueError, TypeError):
            pass
    found = _convert_crds(files)
    _write_atomic(
        cached,
        json.dumps([[a, k, schema] for (a, k), schema in found.items()], separators=(",", ":")),
    )
    return found


def _convert_crds(files: list[Path]) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in files:
        # CRDs embed whole pod templates (hundreds of KB): libyaml parses them ~30x faster.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader):
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc.get("spec", {})
            group = spec.get("group")
            kind = spec.get("names", {}).get("kind")
            for version in spec.get("versions", []):
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if not (group and kind and schema and version.get("served", True)):
                    continue
                converted = crd_to_json_schema(schema)
                props = converted.setdefault("properties", {})
                props["apiVersion"] = {"type": "string"}
                props["kind"] = {"type": "string"}
                props["metadata"] = {"type": "object"}
                converted["additionalProperties"] = False
                found[(f"{group}/{version['name']}", kind)] = converted
    return found


class SchemaValidator:
    """Validates documents; compiled validators are kept per kind."""

    def __init__(self, crd_dir: Path | None = None) -> None:
        self._crd_dir = str(crd_dir) if crd_dir else ""
        self._validators: dict[tuple[str, str], Any] = {}

    def known(self, api_version: str, kind: str) -> bool:
        try:
            self._validator(api_version, kind)
        except UnknownKind:
            return False
        return True

    def _validator(self, api_version: str, kind: str) -> Any:
        key = (api_version, kind)
        validator = self._validators.get(key)
        if validator is None:
            import jsonschema_rs  # deferred: start-up cost, until the first validation

            # Built-in kinds first: the course's CRDs are only read for kinds Kubernetes lacks.
            try:
                schema = builtin_schema(api_version, kind)
            except UnknownKind:
                crd = crd_schemas(self._crd_dir).get(key) if self._crd_dir else None
                if crd is None:
                    raise
                schema = crd
            validator = jsonschema_rs.validator_for(schema)
            self._validators[key] = validator
        return validator

    def validate(self, api_version: str, kind: str, data: Any) -> Iterator[SchemaError]:
        """Yield the schema errors of one document. Raises UnknownKind."""
        validator = self._validator(api_version, kind)
        odd_key = _non_string_key(data, ())
        if odd_key is not None:
            path, key = odd_key
            yield SchemaError(
                path,
                f"mapping key {key!r} is not a string; Kubernetes objects "
                "only have string keys (quote it)",
            )
            return
        try:
            found = list(validator.iter_errors(data))
        except ValueError as exc:
            # A value JSON cannot hold (the loader converts YAML's own types, so this is
            # a last line of defence): one error at the top, not a traceback.
            yield SchemaError((), f"holds a value that is not JSON: {exc}")
            return
        for error in found:
            path = tuple(error.instance_path)
            message = error.message
            unexpected = re.search(r"\('([^']+)' was unexpected\)", message)
            if unexpected and "Additional properties" in message:
                names = re.findall(r"'([^']+)'", message)
                for name in names:
                    yield SchemaError((*path, name), f'unknown field "{name}"')
                continue
            yield SchemaError(path, _plain(message))


def _non_string_key(
    data: Any, path: tuple[str | int, ...]
) -> tuple[tuple[str | int, ...], object] | None:
    """The first mapping key that is not a string (YAML allows `~:` or `1:`; JSON does not)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                return path, key
            found = _non_string_key(value, (*path, key))
            if found is not None:
                return found
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found = _non_string_key(item, (*path, index))
            if found is not None:
                return found
    return None


def _plain(message: str) -> str:
    """The generated schemas allow null everywhere; naming it only confuses."""
    message = re.sub(r'is not of types "null", ("[a-z]+")$', r"is not of type \1", message)
    message = re.sub(r'is not of types ("[a-z]+"), "null"$', r"is not of type \1", message)
    return message


_GROUP_VERSIONS: dict[str, list[str]] | None = None


def versions_of_kind(kind: str) -> list[str]:
    """apiVersions under which a built-in kind exists, for 'did you mean' messages."""
    global _GROUP_VERSIONS
    if _GROUP_VERSIONS is None:
        table: dict[str, list[str]] = {}
        for name in _definitions():
            parts = name.split(".")
            if len(parts) < 3 or not name.startswith("io.k8s.api."):
                continue
            k, version, group = parts[-1], parts[-2], parts[-3]
            api = version if group == "core" else f"{group}/{version}"
            table.setdefault(k, []).append(api)
        _GROUP_VERSIONS = table
    return _GROUP_VERSIONS.get(kind, [])
