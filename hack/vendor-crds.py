#!/usr/bin/env python3
"""Vendor upstream CRDs into crds/ from each project's own Go module.

The course validates KServe, Knative, LeaderWorkerSet, KEDA, Karpenter, Kueue
and other projects' objects against the CRDs those projects ship, not against
schemas written by hand. `hack/crd-sources.yaml` pins each module version and
names the CRD files inside it; this script downloads the module through the Go
module proxy (`go mod download -json`, the only network it uses), takes those
files, drops the `description` strings (they make up most of the bytes and the
API server does not need them to validate), and writes one multi-document file
per entry under crds/, headed by where it came from.

Usage: .venv/bin/python hack/vendor-crds.py [--check] [NAME...]
  --check   fail when a vendored file differs from what the pinned module gives
  NAME      only the entries whose `out` is NAME (e.g. keda.yaml)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "hack" / "crd-sources.yaml"
OUT = REPO / "crds"
HEADER = "# Vendored by hack/vendor-crds.py from {module}@{version}: {files}. Do not edit.\n"


def module_dir(module: str, version: str) -> Path:
    """The module's folder in the Go module cache (downloaded through the proxy if needed)."""
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    with tempfile.TemporaryDirectory() as scratch:
        # `go mod download` wants a module context; an empty one is enough.
        Path(scratch, "go.mod").write_text("module kprep.local/vendorcrds\n\ngo 1.26\n")
        done = subprocess.run(
            ["go", "mod", "download", "-json", f"{module}@{version}"],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    info: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        info = json.loads(done.stdout or "{}")
    folder = info.get("Dir")
    # A module whose go directive is newer than this toolchain still unpacks its files:
    # only the files are needed here, never a build.
    if folder and Path(folder).is_dir():
        return Path(folder)
    raise SystemExit(
        f"vendor-crds: cannot download {module}@{version}: "
        f"{info.get('Error') or done.stderr.strip() or 'no Dir reported'}"
    )


def strip_descriptions(node: Any) -> Any:
    """Drop schema `description` strings; a property *named* description is a mapping, kept."""
    if isinstance(node, dict):
        return {
            k: strip_descriptions(v)
            for k, v in node.items()
            if not (k == "description" and isinstance(v, str))
        }
    if isinstance(node, list):
        return [strip_descriptions(v) for v in node]
    return node


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(entry: dict[str, Any]) -> str:
    folder = module_dir(entry["module"], entry["version"])
    documents: list[Any] = []
    for name in entry["files"]:
        path = folder / name
        if not path.is_file():
            raise SystemExit(f"vendor-crds: {entry['module']}@{entry['version']} has no {name}")
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                doc.get("metadata", {}).pop("annotations", None)
                documents.append(strip_descriptions(doc))
    if not documents:
        raise SystemExit(f"vendor-crds: no CustomResourceDefinition in {entry['files']}")
    body = yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, width=120, explicit_start=True)
    header = HEADER.format(
        module=entry["module"], version=entry["version"], files=", ".join(entry["files"])
    )
    return header + body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    entries = yaml.safe_load(SOURCES.read_text(encoding="utf-8"))
    stale = []
    for entry in entries:
        if args.names and entry["out"] not in args.names:
            continue
        text = render(entry)
        target = OUT / entry["out"]
        if args.check:
            current = target.read_text(encoding="utf-8") if target.is_file() else ""
            if current != text:
                stale.append(entry["out"])
            continue
        target.write_text(text, encoding="utf-8")
        print(
            f"vendor-crds: {target.relative_to(REPO)} <- {entry['module']}@{entry['version']} "
            f"({len(text) // 1024} KiB)",
            file=sys.stderr,
        )
    if stale:
        print(f"vendor-crds: stale: {', '.join(stale)} (run hack/vendor-crds.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
