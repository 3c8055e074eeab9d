"""What a training worker pod will really run with: its environment, its torchrun flags,
the rendezvous settings they add up to, and where its master address resolves.

Pure functions over the API server's objects (no client): `app.live.observe` calls
`training_views` on the pods, Services and EndpointSlices it read, and live checks
see the result as `pods[].env`, `pods[].torchrun`, `pods[].rendezvous`,
`pods[].gpus` and `services` (the contract in scenarios/README.md).

Facts this relies on:
- the kubelet resolves `valueFrom.fieldRef` and expands `$(VAR)` from variables
  defined earlier in the list (`$$` escapes); unresolvable references stay as
  written (k8s.io/kubernetes/third_party/forked/golang/expansion);
- torchrun takes every option's default from `PET_<DEST>` (torch/distributed/
  argparse_util.py `env`), so `--nnodes` falls back to `PET_NNODES`; the flag, when
  given, wins over the variable an operator injected;
- cluster DNS answers `<hostname>.<service>` for an endpoint that carries that
  hostname in a headless Service's EndpointSlice, and `<service>` for the Service
  itself (Kubernetes DNS specification, records for headless Services).
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from app.k8s.resources import pod_spec_gpus

RENDEZVOUS_KEYS = (
    "nnodes",
    "nproc_per_node",
    "node_rank",
    "master_addr",
    "master_port",
    "rdzv_backend",
    "rdzv_endpoint",
    "rdzv_id",
)
"""torchrun options that decide who meets whom; each has a `PET_<KEY>` variable."""
_VIEW_NAMES = {
    "nnodes": "nnodes",
    "nproc_per_node": "nprocPerNode",
    "node_rank": "nodeRank",
    "master_addr": "masterAddr",
    "master_port": "masterPort",
    "rdzv_backend": "rdzvBackend",
    "rdzv_endpoint": "rdzvEndpoint",
    "rdzv_id": "rdzvId",
}
_BOOLEAN_FLAGS = {"standalone", "no_python", "run_path", "module", "m"}
"""torchrun flags that take no value."""
_LAUNCHERS = (("torchrun",), ("python", "-m", "torch.distributed.run"))
_SHELL_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_KUBE_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_FIELD_INDEX = re.compile(r"^metadata\.(labels|annotations)\['([^']+)'\]$")


def _field_value(pod: dict[str, Any], path: str) -> str | None:
    """The value of a downward-API `fieldRef.fieldPath`, or None when the pod has none."""
    meta = pod.get("metadata") or {}
    indexed = _FIELD_INDEX.match(path)
    if indexed:
        value = (meta.get(indexed.group(1)) or {}).get(indexed.group(2))
        return None if value is None else str(value)
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": (pod.get("spec") or {}).get("nodeName"),
        "spec.serviceAccountName": (pod.get("spec") or {}).get("serviceAccountName"),
        "status.podIP": (pod.get("status") or {}).get("podIP"),
        "status.hostIP": (pod.get("status") or {}).get("hostIP"),
    }.get(path)
    return None if simple is None else str(simple)


def expand_kube(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: known names replaced, `$$` -> `$`, the rest kept."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env[name] if name in env else match.group(0)

    return _KUBE_VAR.sub(replace, text)


def container_env(pod: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    """The variables a container starts with, as the kubelet sets them (literal values,
    downward-API fields, `$(VAR)` expansion in order). Variables from Secrets,
    ConfigMaps and resource fields are left out: they are not rendezvous settings."""
    env: dict[str, str] = {}
    for item in container.get("env") or []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        name = str(item["name"])
        if "value" in item:
            env[name] = expand_kube(str(item.get("value") or ""), env)
            continue
        field = ((item.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        value = _field_value(pod, str(field)) if field else None
        if value is not None:
            env[name] = value
    return env


def main_container(spec: dict[str, Any]) -> dict[str, Any]:
    """The container that runs torchrun, else the first one, else {}."""
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    for container in containers:
        if launcher_args(container, {}) is not None:
            return container
    return containers[0] if containers else {}


def _words(container: dict[str, Any], env: dict[str, str]) -> list[str]:
    """The container's command line as words, with variables expanded the way the
    process sees them: `$(VAR)` by the kubelet, then, inside a `sh -c`/`bash -c`
    script, `$VAR`/`${VAR}` by the shell; for a script, the words of its command
    that runs torchrun (else of its last command)."""
    raw = [expand_kube(str(w), env) for w in (container.get("command") or [])]
    raw += [expand_kube(str(w), env) for w in (container.get("args") or [])]
    shell = raw[0].split("/")[-1] if raw else ""
    if shell in ("sh", "bash"):
        for index, word in enumerate(raw[1:-1], start=1):
            if word.startswith("-") and "c" in word:
                return _script_words(raw[index + 1], dict(env))
    return raw


def _script_words(script: str, env: dict[str, str]) -> list[str]:
    """Follow a shell script's simple assignments (`X=...`, `export X=...`) and return
    the words of the command that runs torchrun, else of the last command."""
    joined = script.replace("\\\n", " ")
    last: list[str] = []
    for line in re.split(r"\n|;|&&|\|\|", joined):
        expanded = _SHELL_VAR.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), line)
        try:
            words = shlex.split(expanded, comments=True)
        except ValueError:
            words = expanded.split()
        if not words:
            continue
        assignments = words[1:] if words[0] == "export" else words
        if all(_ASSIGNMENT.match(w) for w in assignments):
            for word in assignments:
                name, _, value = word.partition("=")
                env[name] = value
            continue
        last = words
        if any(w.split("/")[-1] == "torchrun" or w == "torch.distributed.run" for w in words):
            return words
    return last


def launcher_args(container: dict[str, Any], env: dict[str, str]) -> list[str] | None:
    """The words after `torchrun` (or `python -m torch.distributed.run`), or None."""
    words = _words(container, env)
    for start in range(len(words)):
        for launcher in _LAUNCHERS:
            head = words[start : start + len(launcher)]
            if head and head[0].split("/")[-1].startswith("python") and len(launcher) > 1:
                head = ["python", *head[1:]]
            elif head:
                head = [head[0].split("/")[-1], *head[1:]]
            if head == list(launcher):
                return words[start + len(launcher) :]
    return None


def torchrun_flags(args: list[str]) -> dict[str, str]:
    """torchrun's own options (names with `_`), up to the training script."""
    flags: dict[str, str] = {}
    index = 0
    while index < len(args):
        word = args[index]
        if not word.startswith("-"):
            break  # the training script: the rest are its arguments
        name, has_value, value = word.lstrip("-").partition("=")
        name = name.replace("-", "_")
        if not has_value and name not in _BOOLEAN_FLAGS and index + 1 < len(args):
            index += 1
            value = args[index]
        flags[name] = value if (has_value or name not in _BOOLEAN_FLAGS) else "true"
        index += 1
    return flags


def rendezvous(flags: dict[str, str], env: dict[str, str], gpus: int) -> dict[str, Any]:
    """What torchrun will use: each setting's flag, else `PET_<KEY>`, else "" (torchrun's
    default), plus the numbers checks compare: `nodes` (the most nodes `--nnodes`
    allows: `3` or `2:3` give 3), `procs` (processes per node; `gpu`/`auto` count the
    pod's GPUs; 0 when unknown), `rank` (the node rank; 0 when a static rendezvous
    gives none, torchrun's default; -1 when the c10d rendezvous assigns it) and `static`
    (the rendezvous is rank 0's address rather than a c10d store)."""
    view: dict[str, Any] = {}
    for key in RENDEZVOUS_KEYS:
        view[_VIEW_NAMES[key]] = flags.get(key, env.get(f"PET_{key.upper()}", ""))
    nnodes = view["nnodes"] or "1"
    top = nnodes.rpartition(":")[2]
    view["nodes"] = int(top) if top.isdigit() else 0
    nproc = view["nprocPerNode"] or "1"
    if nproc.isdigit():
        view["procs"] = int(nproc)
    else:
        view["procs"] = gpus if nproc in ("gpu", "auto") else 0
    view["static"] = view["rdzvBackend"] in ("", "static")
    rank = view["nodeRank"]
    view["rank"] = int(rank) if rank.isdigit() else (0 if view["static"] and not rank else -1)
    return view


def _node_range(nnodes: str) -> str:
    """`--nnodes` as `min:max` (`2` means `2:2`)."""
    return nnodes if ":" in nnodes else f"{nnodes}:{nnodes}"


def _same_setting(key: str, flag: str, injected: str, gpus: int) -> bool:
    """Whether two values of one torchrun option make torchrun do the same thing:
    `2` and `2:2` nodes; `auto`/`gpu` and the pod's GPU count."""
    if key == "nnodes":
        return _node_range(flag) == _node_range(injected)
    if key == "nproc_per_node" and gpus:
        count = {"auto": str(gpus), "gpu": str(gpus)}
        return count.get(flag, flag) == count.get(injected, injected)
    return flag == injected


def conflicts(flags: dict[str, str], env: dict[str, str], gpus: int = 0) -> list[str]:
    """Flags that make torchrun do something else than the variable the operator injected
    for the same option (the flag wins, so the operator's value is silently ignored), and a
    --node-rank other than the RANK the training operator v1 gave the pod. WORLD_SIZE is
    not compared: torchrun sets WORLD_SIZE and RANK for the processes it starts."""
    found = []
    for key in RENDEZVOUS_KEYS:
        injected = env.get(f"PET_{key.upper()}")
        if key not in flags or injected is None:
            continue
        if not _same_setting(key, flags[key], injected, gpus):
            found.append(
                f"--{key.replace('_', '-')}={flags[key]} but the pod's PET_{key.upper()} "
                f"is {injected}"
            )
    rank, node_rank = env.get("RANK"), flags.get("node_rank")
    if rank is not None and node_rank is not None and rank != node_rank:
        found.append(f"RANK is {rank} but --node-rank is {node_rank}")
    return found


def service_views(
    services: list[dict[str, Any]], slices: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every Service with the pods its EndpointSlices list: what DNS would answer."""
    by_service: dict[str, list[dict[str, Any]]] = {}
    for endpoint_slice in slices:
        labels = (endpoint_slice.get("metadata") or {}).get("labels") or {}
        owner = labels.get("kubernetes.io/service-name")
        if not owner:
            continue
        for endpoint in endpoint_slice.get("endpoints") or []:
            target = endpoint.get("targetRef") or {}
            if target.get("kind") != "Pod":
                continue
            conditions = endpoint.get("conditions") or {}
            by_service.setdefault(str(owner), []).append(
                {
                    "pod": str(target.get("name") or ""),
                    "hostname": str(endpoint.get("hostname") or ""),
                    "ready": conditions.get("ready") is not False,
                }
            )
    views = []
    for service in services:
        meta = service.get("metadata") or {}
        spec = service.get("spec") or {}
        name = str(meta.get("name") or "")
        views.append(
            {
                "name": name,
                "headless": spec.get("clusterIP") == "None",
                "selector": dict(spec.get("selector") or {}),
                "publishNotReadyAddresses": bool(spec.get("publishNotReadyAddresses")),
                "endpoints": sorted(by_service.get(name, []), key=lambda e: e["pod"]),
            }
        )
    return views


def resolve(address: str, namespace: str, services: list[dict[str, Any]]) -> list[str]:
    """The pods a DNS name resolves to inside `namespace` ([] when it resolves to none):
    `<hostname>.<service>` → the endpoint with that hostname in a headless Service;
    `<service>` → every endpoint of a headless Service, or the endpoints behind a
    ClusterIP (traffic reaches one of them)."""
    host = address.strip().rstrip(".").split(":")[0]
    for suffix in (f".{namespace}.svc.cluster.local", f".{namespace}.svc", f".{namespace}"):
        if host.endswith(suffix):
            host = host[: -len(suffix)]
            break
    by_name = {s["name"]: s for s in services}
    first, _, rest = host.partition(".")
    if rest and rest in by_name and by_name[rest]["headless"]:
        return [
            e["pod"]
            for e in by_name[rest]["endpoints"]
            if e["hostname"] == first and (e["ready"] or by_name[rest]["publishNotReadyAddresses"])
        ]
    if not rest and host in by_name:
        service = by_name[host]
        return [
            e["pod"]
            for e in service["endpoints"]
            if e["ready"] or service["publishNotReadyAddresses"]
        ]
    return []


def training_views(
    pods: list[dict[str, Any]], services: list[dict[str, Any]], namespace: str
) -> dict[str, dict[str, Any]]:
    """Pod name -> the fields live checks see about its training setup:
    `env`, `torchrun` (flags; {} without torchrun), `rendezvous` (effective settings
    plus `masterPods`: the pods its master address resolves to), `conflicts`, `gpus`."""
    views = {}
    for pod in pods:
        spec = pod.get("spec") or {}
        container = main_container(spec)
        env = container_env(pod, container)
        args = launcher_args(container, env)
        flags = torchrun_flags(args) if args is not None else {}
        gpus = pod_spec_gpus(spec)
        settings = rendezvous(flags, env, gpus)
        # A static rendezvous meets at rank 0's address (torchrun's default: 127.0.0.1,
        # which no other pod reaches); c10d at the store's endpoint.
        master = (
            settings["masterAddr"] or "127.0.0.1"
            if settings["static"]
            else settings["rdzvEndpoint"]
        )
        settings["masterPods"] = resolve(master, namespace, services) if master else []
        views[str((pod.get("metadata") or {}).get("name"))] = {
            "env": env,
            "torchrun": flags,
            "rendezvous": settings,
            "conflicts": conflicts(flags, env, gpus),
            "gpus": gpus,
        }
    return views
