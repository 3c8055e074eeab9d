#!/usr/bin/env python3
"""Vendor the upstream objects kprep's cluster add-ons need, from each add-on's Go module.

Webhook configurations (with the JSON patches and name prefix upstream's own
kustomization applies), Kubeflow Trainer's ClusterTrainingRuntime
`torch-distributed`, kwok's Metric and ClusterResourceUsage: `hack/addon-sources.yaml`
pins each module and names the files; this script downloads the module through
the Go module proxy (the same way hack/vendor-crds.py does), applies the
patches, and writes one multi-document file per entry under
app/cluster/addon-manifests/, headed by where it came from.

Usage: .venv/bin/python hack/vendor-addons.py [--check] [NAME...]
  --check   fail when a vendored file differs from what the pinned module gives
  NAME      only the entries whose `out` is NAME
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "hack" / "addon-sources.yaml"
OUT = REPO / "app" / "cluster" / "addon-manifests"
HEADER = "# Vendored by hack/vendor-addons.py from {module}@{version}: {files}. Do not edit.\n"


def _vendor_crds() -> Any:
    spec = importlib.util.spec_from_file_location("vendor_crds", REPO / "hack" / "vendor-crds.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def apply_patch(document: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 `replace`, `add` and `remove` (what upstream's webhook patches use)."""
    result = copy.deepcopy(document)
    for op in operations:
        *parents, last = _pointer(op["path"])
        node: Any = result
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        index: Any = int(last) if isinstance(node, list) and last != "-" else last
        if op["op"] == "replace":
            node[index] = op["value"]
        elif op["op"] == "add":
            if isinstance(node, list):
                node.append(op["value"]) if index == "-" else node.insert(index, op["value"])
            else:
                node[index] = op["value"]
        elif op["op"] == "remove":
            del node[index]
        else:
            raise SystemExit(f"vendor-addons: unsupported patch op {op['op']!r}")
    return result


def render(entry: dict[str, Any], module_dir: Any) -> str:
    folder = module_dir(entry["module"], entry["version"])
    patches: dict[str, list[str]] = entry.get("patches") or {}
    keep = set(entry.get("webhooks") or [])
    documents: list[Any] = []
    for name in entry["files"]:
        path = folder / name
        if not path.is_file():
            raise SystemExit(f"vendor-addons: {entry['module']}@{entry['version']} has no {name}")
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not isinstance(doc, dict):
                continue
            for patch_file in patches.get(doc.get("kind", ""), []):
                operations = yaml.safe_load((folder / patch_file).read_text(encoding="utf-8"))
                doc = apply_patch(doc, operations)
            if entry.get("namePrefix"):
                doc["metadata"]["name"] = entry["namePrefix"] + doc["metadata"]["name"]
            if keep and "webhooks" in doc:
                doc["webhooks"] = [w for w in doc["webhooks"] if w["name"] in keep]
                if not doc["webhooks"]:
                    continue
            documents.append(doc)
    if not documents:
        raise SystemExit(f"vendor-addons: nothing kept from {entry['files']}")
    body = yaml.safe_dump_all(documents, sort_keys=False, width=120, explicit_start=True)
    header = HEADER.format(
        module=entry["module"], version=entry["version"], files=", ".join(entry["files"])
    )
    return header + body


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    module_dir = _vendor_crds().module_dir
    entries = yaml.safe_load(SOURCES.read_text(encoding="utf-8"))
    OUT.mkdir(parents=True, exist_ok=True)
    stale = []
    for entry in entries:
        if args.names and entry["out"] not in args.names:
            continue
        text = render(entry, module_dir)
        target = OUT / entry["out"]
        if args.check:
            current = target.read_text(encoding="utf-8") if target.is_file() else ""
            if current != text:
                stale.append(entry["out"])
            continue
        target.write_text(text, encoding="utf-8")
        print(
            f"vendor-addons: {target.relative_to(REPO)} <- {entry['module']}@{entry['version']}",
            file=sys.stderr,
        )
    if stale:
        print(f"vendor-addons: stale: {', '.join(stale)} (run hack/vendor-addons.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
