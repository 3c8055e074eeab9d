"""A small informer: one API path's objects kept current by list + watch, in a thread.

A live autoscaling run must know *when* the HPA controller wrote its status,
when a pod turned Ready, when the Deployment was scaled: polling sees each
change up to a poll late (and later still on a busy machine), which blurs the
real controller's clock that the differential test replays. A watch delivers
each change as the API server commits it. `Watch` lists once, then watches from
that resourceVersion in streams of a few seconds (the server ends each; a
broken or expired one relists), calling `on_change` after every change with the
objects as they now are. It stops within one stream when `stop` is set.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from app.cluster.errors import ClusterError
from app.cluster.kube import ApiError, Kube
from app.cluster.kubewatch import watch

STREAM_SECONDS = 3
"""Length of one watch stream: how long `stop` can take to be noticed."""


class Watch(threading.Thread):
    """Keeps `objects` (name -> object) current for `path` (see the module docstring)."""

    def __init__(
        self,
        kube: Kube,
        path: str,
        on_change: Callable[[Mapping[str, dict[str, Any]]], None],
        *,
        query: dict[str, Any] | None = None,
        stop: threading.Event,
    ):
        super().__init__(daemon=True, name=f"watch {path}")
        self.kube = kube
        self.path = path
        self.query = dict(query or {})
        self.on_change = on_change
        self.stop = stop
        self.objects: dict[str, dict[str, Any]] = {}
        self.synced = threading.Event()
        """Set once the first list has been read."""
        self.error: str | None = None
        """Why the watch gave up (the cluster went away), if it did."""

    def _list(self) -> str:
        listed = self.kube.get(self.path, **self.query)
        self.objects = {
            str((item.get("metadata") or {}).get("name")): item
            for item in listed.get("items") or []
        }
        self.synced.set()
        self.on_change(self.objects)
        return str((listed.get("metadata") or {}).get("resourceVersion") or "")

    def run(self) -> None:
        failures = 0
        version = ""
        while not self.stop.is_set():
            try:
                if not version:
                    version = self._list()
                query = {**self.query, "resourceVersion": version, "allowWatchBookmarks": "true"}
                for event in watch(self.kube, self.path, query=query, seconds=STREAM_SECONDS):
                    kind = event.get("type")
                    item = event.get("object") or {}
                    meta = item.get("metadata") or {}
                    if kind == "ERROR":
                        version = ""  # expired (410 Gone): list again
                        break
                    version = str(meta.get("resourceVersion") or version)
                    if kind == "BOOKMARK":
                        continue
                    name = str(meta.get("name"))
                    if kind == "DELETED":
                        self.objects.pop(name, None)
                    else:
                        self.objects[name] = item
                    self.on_change(self.objects)
                    if self.stop.is_set():
                        return
                failures = 0
            except (ApiError, ClusterError) as exc:
                failures += 1
                version = ""
                if failures >= 5:
                    self.error = f"watching {self.path} failed: {exc}"
                    return
                time.sleep(0.2)
