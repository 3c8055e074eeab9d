#!/usr/bin/env python3
"""Generate the course's CRDs (crds/*.yaml) from the skeletons in hack/crds/.

A skeleton is a CustomResourceDefinition whose schema is written by hand after
the upstream Go types, except where it embeds a Kubernetes type: there it says
`$k8s: io.k8s.api.core.v1.PodTemplateSpec` (or any other definition), and this
script inlines Kubernetes 1.36's own schema for that type, converted to a
structural OpenAPI v3 schema the way controller-gen does for the upstream CRDs:
IntOrString and Quantity become `x-kubernetes-int-or-string`, embedded
ObjectMeta keeps name/namespace/labels/annotations/finalizers, descriptions and
defaults are dropped. `$ref: "#Name"` points at the skeleton's own
`definitions:`. The Kubernetes schemas come from the kubernetes-validate
package kprep already depends on, so no download is involved.

Usage: .venv/bin/python hack/gen-crds.py [--check]   (--check: fail if crds/ is stale)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
SKELETONS = REPO / "hack" / "crds"
OUT = REPO / "crds"
KUBERNETES_VERSION = "1.36.0"
QUANTITY_PATTERN = (r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
                    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$")
KEEP_X = ("x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields",
          "x-kubernetes-embedded-resource")
SPECIAL: dict[str, dict[str, Any]] = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
        "anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {
        "anyOf": [{"type": "integer"}, {"type": "string"}], "pattern": QUANTITY_PATTERN,
        "x-kubernetes-int-or-string": True},
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
        "type": "object", "properties": {
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "items": {"type": "string"}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "name": {"type": "string"},
            "namespace": {"type": "string"}}},
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": {"type": "string", "format": "date-time"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": {"type": "string", "format": "date-time"},
}


def kubernetes_definitions() -> dict[str, Any]:
    import kubernetes_validate

    root = (Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
            / f"v{KUBERNETES_VERSION}-local-strict")
    return dict(json.loads((root / "_definitions.json").read_text(encoding="utf-8"))["$defs"])


class Converter:
    def __init__(self, definitions: dict[str, Any], local: dict[str, Any]) -> None:
        self.definitions = definitions
        self.local = local

    def k8s(self, name: str, stack: tuple[str, ...] = ()) -> dict[str, Any]:
        if name in SPECIAL:
            return json.loads(json.dumps(SPECIAL[name]))
        if name in stack:  # a recursive type: accept anything below
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        return self.json_schema(self.definitions[name], (*stack, name))

    def json_schema(self, node: Any, stack: tuple[str, ...]) -> Any:
        """A kubernetes-validate JSON Schema node -> a structural OpenAPI v3 node."""
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self.k8s(ref.rsplit("/", 1)[-1], stack)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("description", "default", "$schema", "$id", "example"):
                continue
            if key.startswith("x-kubernetes") and key not in KEEP_X:
                continue
            if key == "type":
                types = [t for t in (value if isinstance(value, list) else [value])
                         if t != "null"]
                if len(types) == 1:
                    out["type"] = types[0]
                continue
            if key == "format":
                if value in ("int32", "int64", "date-time", "byte", "double"):
                    out["format"] = value
                continue
            if key == "additionalProperties":
                if isinstance(value, dict):
                    out[key] = self.json_schema(value, stack)
                continue
            if key == "properties":
                out[key] = {k: self.json_schema(v, stack) for k, v in value.items()}
                continue
            if key == "items":
                out[key] = self.json_schema(value, stack)
                continue
            if key == "enum":
                out[key] = [v for v in value if v is not None]
                continue
            if key in ("oneOf", "anyOf", "allOf"):
                raise SystemExit(f"gen-crds: unexpected {key} in {stack[-1] if stack else '?'}")
            out[key] = value
        if "properties" in out or "additionalProperties" in out:
            out.setdefault("type", "object")
        return out

    def skeleton(self, node: Any, stack: tuple[str, ...] = ()) -> Any:
        """Expand `$k8s:` and local `$ref:` in a hand-written schema."""
        if isinstance(node, list):
            return [self.skeleton(v, stack) for v in node]
        if not isinstance(node, dict):
            return node
        if "$k8s" in node:
            expanded = self.k8s(str(node["$k8s"]))
            extra = {k: v for k, v in node.items() if k != "$k8s"}
            return {**expanded, **extra}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            name = ref[1:]
            return self.skeleton(self.local[name], (*stack, name))
        return {k: self.skeleton(v, stack) for k, v in node.items()}


def generate(path: Path, definitions: dict[str, Any]) -> str:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    local = raw.pop("definitions", {}) or {}
    crd = Converter(definitions, local).skeleton(raw)
    header = (f"# Generated by hack/gen-crds.py from hack/crds/{path.name}: edit the skeleton, "
              "then run\n# `.venv/bin/python hack/gen-crds.py`. Embedded Kubernetes types are "
              f"Kubernetes {KUBERNETES_VERSION}'s.\n")
    return header + yaml.safe_dump(crd, sort_keys=False, width=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if crds/ is out of date")
    args = parser.parse_args()
    definitions = kubernetes_definitions()
    stale = []
    for skeleton in sorted(SKELETONS.glob("*.yaml")):
        text = generate(skeleton, definitions)
        target = OUT / skeleton.name
        if args.check:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                stale.append(str(target))
            continue
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(REPO)} ({len(text.splitlines())} lines)")
    if stale:
        print("gen-crds: out of date: " + ", ".join(stale) + "; run hack/gen-crds.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
