"""Watching one API path: the events of a `?watch=1` stream, as the API server sends them.

Beside `app.cluster.kube` (which owns the connection, the URL and the headers)
because only the live autoscaling runner needs a stream; `app.live.watch`
builds an informer on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import urllib3

from app.cluster.errors import ClusterUnreachable
from app.cluster.kube import ApiError, Kube, _short


def watch(
    kube: Kube, path: str, *, query: dict[str, Any] | None = None, seconds: int = 5
) -> Iterator[dict[str, Any]]:
    """The events of one watch (`?watch=1`) for at most `seconds` (the server ends
    the stream then). Raises ApiError or ClusterUnreachable like `Kube.request`."""
    query = {**(query or {}), "watch": "1", "timeoutSeconds": seconds}
    try:
        response = kube._pool.request(
            "GET",
            kube._url(path, query),
            headers=kube._headers(),
            timeout=urllib3.Timeout(connect=kube.timeout, read=seconds + kube.timeout),
            preload_content=False,
        )
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise ClusterUnreachable(
            f"the API server at {kube.host} does not answer ({_short(exc)})"
        ) from exc
    try:
        if response.status >= 400:
            raw = response.read() or b""
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            raise ApiError(response.status, body)
        pending = b""
        try:
            for chunk in response.stream(65536, decode_content=True):
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterUnreachable(f"the watch of {path} broke off ({_short(exc)})") from exc
    finally:
        response.release_conn()
