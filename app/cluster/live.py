"""Live grading: run an answer on the local cluster and check what the cluster did.

`grade_live` (one answer text -> one Report) and `run_live_checks` (the CLI's
`kprep check --live`) share one path. The terminal app calls `connect(course,
scenario)` once (it raises `ClusterError` with what to do), then `grade_live(...,
cluster=...)` in a worker for each submission; `cancel` (a threading.Event)
ends the wait early. The steps:

1. the offline report comes first (the caller's, or graded here);
2. the documents are screened (`app.cluster.safety`): allowed, namespaced
   kinds only, no host access, at most 50 objects; any refusal applies nothing;
3. a fresh namespace `kprep-<scenario>-<random>` labelled `kprep.dev/owned=true`
   (what `kprep cluster gc` deletes) and `kprep.dev/scenario=<id>`;
4. a server-side dry-run apply of every document (field manager `kprep`,
   strict field validation): the API server's errors and warnings become
   `Diagnostic(source="apiserver")` at the line of the field they name;
5. the real apply, then a bounded wait (`SETTLE_SECONDS`) until every pod the
   answer's objects should create exists and is bound to a node or refused by
   the scheduler (PodScheduled=False with its reason);
6. the scenario's live checks, in CEL, over `objects`, `pods`, `nodes`,
   `events` and `params` (the contract in scenarios/README.md), with scheduler
   messages translated into advice (`app.cluster.advice`);
7. the namespace is deleted (also on errors and Ctrl-C) unless `keep`.

A cluster that is missing or dies mid-check raises `ClusterError` out of
`grade_live`; `run_live_checks` turns that into notes on the offline reports
and `cluster_failed=True` (the CLI exits 3).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.cluster import advice, safety
from app.cluster.errors import ClusterError, ClusterNotRunning, ClusterUnreachable
from app.cluster.kube import ApiError, Kube, Resource, UnknownKindError
from app.course.models import Scenario
from app.grading.engine import Grader
from app.grading.report import CheckResult, Diagnostic, Placement, Report
from app.grading.yamlmap import Document, decode, load_documents

Echo = Callable[[str], None]
OWNED_LABEL = "kprep.dev/owned"
SCENARIO_LABEL = "kprep.dev/scenario"
SETTLE_SECONDS = 20.0
"""Upper bound on waiting for the scheduler and controllers."""
POLL_SECONDS = 0.2
BOUND_GRACE_SECONDS = 3.0
"""A pod bound to a node but still Pending this long counts as placed (kind pulls images)."""
NAMESPACE_RESOURCE = Resource("v1", "Namespace", "namespaces", False)
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915", "gpu.intel.com/xe")
NO_OPERATOR = {
    "PyTorchJob": "no Kubeflow training operator runs on the local cluster",
    "TrainJob": "no Kubeflow Trainer controller runs on the local cluster",
    "JobSet": "no JobSet controller runs on the local cluster",
}


# -- connecting -------------------------------------------------------------------------------


@dataclass
class LiveCluster:
    """The cluster live checks run on, and how it was found."""

    kube: Kube
    provider: str
    """`kwok`, `kind`, or `context` (a foreign cluster via --context)."""
    profile: str | None
    description: str

    def close(self) -> None:
        self.kube.close()


def connect(
    course: Any,
    scenario: Scenario | None = None,
    *,
    context: str | None = None,
    profile: str | None = None,
    echo: Echo | None = None,
) -> LiveCluster:
    """The running kprep cluster (or a kubeconfig context); raises ClusterError with advice.

    The cluster must run `profile` (default: the scenario's, if given). On
    kwok, a cluster running another profile is reshaped (nodes only, well under
    a second); on kind it is an error.
    """
    say = echo or (lambda _message: None)
    if context:
        kube = Kube(None, context=context)
        if not kube.readyz(timeout=5):
            kube.close()
            raise ClusterUnreachable(f"the cluster of context {context!r} does not answer")
        return LiveCluster(kube, "context", None, f"context {context}")
    from app.cluster.provider import make_provider, read_active

    active = read_active()
    if active is None:
        raise ClusterNotRunning(
            "no local cluster is up. Start it with `kprep cluster up` "
            "(kwok: a few seconds once the binaries are built)"
        )
    provider = make_provider(active.provider, course.root)
    kubeconfig = provider.kubeconfig_path
    if not kubeconfig.is_file():
        raise ClusterNotRunning(
            f"the {active.provider} cluster is gone (no {kubeconfig}); "
            "start it with `kprep cluster up`"
        )
    kube = Kube(kubeconfig)
    if not kube.readyz(timeout=5):
        kube.close()
        raise ClusterUnreachable(
            f"the {active.provider} cluster does not answer; `kprep cluster up` restarts it"
        )
    running = active.profile
    wanted = profile or (scenario.profile if scenario is not None else None)
    if wanted and wanted != running:
        if active.provider != "kwok":
            kube.close()
            who = f"scenario {scenario.id!r}" if scenario is not None else "this check"
            raise ClusterError(
                f"{who} needs cluster profile {wanted!r}, but the {active.provider} cluster "
                f"runs {running!r}: `kprep cluster down && kprep cluster up --provider "
                f"{active.provider} --profile {wanted}`"
            )
        from app.cluster.kwok import KwokProvider
        from app.cluster.profiles import ProfileError, load_profile

        try:
            loaded = load_profile(wanted, course.root)
        except ProfileError as exc:
            kube.close()
            raise ClusterError(str(exc)) from exc
        assert isinstance(provider, KwokProvider)
        provider.ensure_profile(loaded, echo=say)
        kube.forget_discovery()
        running = wanted
    return LiveCluster(kube, active.provider, running, f"{active.provider} ({running})")


# -- API server messages -> lines ------------------------------------------------------------

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
        import copy

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


# -- the attempt ------------------------------------------------------------------------------


@dataclass
class Planned:
    doc: Document
    resource: Resource
    manifest: dict[str, Any]
    """The answer's object in the attempt's namespace: what the dry run validates."""
    runnable: dict[str, Any] | None = None
    """What is applied for real when it differs (kind: placeholder images)."""


@dataclass
class Observation:
    """What the cluster did with the answer."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    pods: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Why the wait ended without a verdict (no scheduler, no controller)."""
    seconds: float = 0.0


def reference_kinds(scenario: Scenario) -> list[str]:
    try:
        parsed = load_documents(scenario.answer_text())
    except OSError:
        return []
    return sorted({d.kind for d in parsed.documents if d.kind})


def new_namespace_name(scenario_id: str) -> str:
    stem = re.sub(r"[^a-z0-9-]", "-", scenario_id.lower())[:40].strip("-") or "attempt"
    return f"kprep-{stem}-{secrets.token_hex(3)}"


def _skip_live(grader: Grader, reason: str) -> list[CheckResult]:
    return [
        CheckResult(c.check.id, c.check.title, "skip", 0, c.check.points, c.check.concept, reason)
        for c in grader.live_checks
    ]


def _prepare(doc: Document, namespace: str, scenario_id: str) -> dict[str, Any]:
    import copy

    manifest = copy.deepcopy(doc.data)
    meta = manifest.setdefault("metadata", {})
    if not isinstance(meta, dict):
        meta = manifest["metadata"] = {}
    meta["namespace"] = namespace
    labels = meta.get("labels")
    if not isinstance(labels, dict):
        labels = meta["labels"] = {}
    labels[OWNED_LABEL] = "true"
    labels[SCENARIO_LABEL] = scenario_id[:63]
    return manifest


def grade_live(
    course: Any,
    scenario: Scenario,
    grader: Grader,
    text: str,
    file: str = "<answer>",
    *,
    cluster: LiveCluster,
    keep: bool = False,
    offline: Report | None = None,
    echo: Echo | None = None,
    settle_seconds: float = SETTLE_SECONDS,
    cancel: threading.Event | None = None,
) -> Report:
    """Grade one answer on the cluster. Raises ClusterError if the cluster fails mid-way.

    `offline` is the offline report of the same text (graded here when None).
    `cancel`, when set by another thread, ends the wait early (the namespace is
    still deleted).
    """
    del course  # the course is the caller's; kept in the signature for the terminal app
    say = echo or (lambda _message: None)
    report = offline if offline is not None else grader.grade_text(text, file)
    report = dataclasses.replace(
        report, errors=list(report.errors), checks=list(report.checks), notes=list(report.notes)
    )
    report.mode = "live"
    report.placement = []
    parsed = load_documents(text)
    docs = [d for d in parsed.documents if isinstance(d.data, dict)]
    if parsed.problems or not docs:
        report.checks.extend(_skip_live(grader, "fix the YAML first; nothing was applied"))
        return report
    kube = cluster.kube

    # -- screening --
    allowed = safety.allowed_kinds(scenario.allowed_kinds, reference_kinds(scenario))
    refusals: list[Diagnostic] = []
    planned: list[Planned] = []
    namespace = new_namespace_name(scenario.id)
    for doc in docs:
        kind, api_version = doc.kind, doc.api_version
        if not kind or not api_version:
            continue  # the offline report already says what is missing
        if kind == "Namespace":
            report.notes.append(
                f"{doc.describe()} was not applied: every attempt runs in a "
                "fresh namespace of kprep's"
            )
            continue
        refusal = safety.kind_refusal(kind, allowed)
        problems = [refusal] if refusal else []
        problems += safety.host_access(doc.data)
        for problem in problems:
            line, column = doc.locate(problem.path)
            refusals.append(
                Diagnostic(f"{doc.describe()}: {problem.message}", "cluster", line, column)
            )
        if problems:
            continue
        try:
            resource = kube.resource(api_version, kind)
        except UnknownKindError:
            line, column = doc.locate(("kind",))
            hint = (
                " (is its CRD in the course's crds/ and listed by the profile?)"
                if ("." in api_version.split("/")[0])
                else ""
            )
            refusals.append(
                Diagnostic(
                    f"{doc.describe()}: unknown kind {api_version}/{kind}: "
                    f"the cluster serves no such API{hint}",
                    "apiserver",
                    line,
                    column,
                )
            )
            continue
        except ApiError as exc:
            raise ClusterError(f"discovery failed: {exc}") from exc
        if not resource.namespaced:
            line, column = doc.locate(("kind",))
            refusals.append(
                Diagnostic(
                    f"{doc.describe()}: {kind} is cluster-scoped; kprep "
                    "only applies namespaced objects",
                    "cluster",
                    line,
                    column,
                )
            )
            continue
        original_ns = (
            (doc.data.get("metadata") or {}).get("namespace")
            if isinstance(doc.data.get("metadata"), dict)
            else None
        )
        if original_ns:
            report.notes.append(
                f"{doc.describe()}: metadata.namespace {original_ns!r} was "
                f"replaced by the attempt's namespace {namespace}"
            )
        manifest = _prepare(doc, namespace, scenario.id)
        runnable = None
        if cluster.provider == "kind":
            # kind runs real containers: kind's own rewrite makes them start and finish.
            from app.cluster.kind import runnable_on_kind

            runnable = runnable_on_kind(manifest)
        planned.append(Planned(doc, resource, manifest, runnable))
    if len(planned) > safety.MAX_OBJECTS:
        refusals.append(
            Diagnostic(
                f"the answer has {len(planned)} objects; kprep applies at "
                f"most {safety.MAX_OBJECTS}",
                "cluster",
                None,
                None,
            )
        )
    if refusals:
        report.errors.extend(refusals)
        report.checks.extend(_skip_live(grader, "nothing was applied: see the errors above"))
        return report
    if not planned:
        report.checks.extend(_skip_live(grader, "nothing to apply"))
        return report

    # -- the namespace --
    created = False
    try:
        kube.request(
            "POST",
            NAMESPACE_RESOURCE.path(),
            body={
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": namespace,
                    "labels": {OWNED_LABEL: "true", SCENARIO_LABEL: scenario.id[:63]},
                },
            },
        )
        created = True
        _ensure_service_account(kube, namespace)
        observation = _run_attempt(
            kube, grader, report, planned, namespace, settle_seconds, cancel, say
        )
        if observation is None:
            return report
        _finish(grader, report, docs, planned, observation)
        if keep:
            report.notes.append(
                f"namespace {namespace} kept (--keep); delete it with `kprep cluster gc`"
            )
        return report
    except ApiError as exc:
        raise ClusterError(f"the API server refused a kprep request: {exc}") from exc
    finally:
        if created and not keep:
            delete_attempt_namespace(kube, namespace)


def _ensure_service_account(kube: Kube, namespace: str) -> None:
    """Pods need the `default` ServiceAccount; create it rather than wait for the controller."""
    try:
        kube.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/serviceaccounts",
            body={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
        )
    except ApiError as exc:
        if exc.status != 409:
            raise


def delete_attempt_namespace(kube: Kube, namespace: str, wait_seconds: float = 3.0) -> None:
    """Delete the attempt's namespace and, at once, its pods (freeing their GPUs).

    Namespace deletion alone is asynchronous: terminating pods would keep their
    GPUs for seconds and skew the next attempt's placement. Deleting the
    namespace first stops controllers from making new pods; force-deleting the
    pods (grace 0) then frees their resources in the scheduler immediately.
    On failure `kprep cluster gc` finds the namespace by its label.
    """
    with contextlib.suppress(ApiError, ClusterError):
        kube.delete(NAMESPACE_RESOURCE.path(name=namespace), propagation="Background")
        pods_path = f"/api/v1/namespaces/{namespace}/pods"
        kube.request(
            "DELETE",
            pods_path,
            body={"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0},
        )
        deadline = time.monotonic() + wait_seconds
        while kube.get(pods_path).get("items") and time.monotonic() < deadline:
            time.sleep(0.05)


def _run_attempt(
    kube: Kube,
    grader: Grader,
    report: Report,
    planned: list[Planned],
    namespace: str,
    settle_seconds: float,
    cancel: threading.Event | None,
    say: Echo,
) -> Observation | None:
    rejected = False
    for item in planned:
        try:
            response = kube.create(item.manifest, namespace=namespace, dry_run=True)
        except ApiError as exc:
            if not is_answer_error(exc):
                raise
            rejected = True
            report.errors.extend(api_diagnostics(item.doc, exc))
            report.errors.extend(warning_diagnostics(item.doc, exc.warnings))
            continue
        report.errors.extend(warning_diagnostics(item.doc, response.warnings))
    if rejected:
        report.checks.extend(
            _skip_live(
                grader,
                "the API server rejected the answer (see the "
                "apiserver errors); nothing was applied",
            )
        )
        return None
    applied: list[dict[str, Any]] = []
    for item in planned:
        try:
            response = kube.create(item.runnable or item.manifest, namespace=namespace)
        except ApiError as exc:
            if not is_answer_error(exc):
                raise
            report.errors.extend(api_diagnostics(item.doc, exc))
            report.checks.extend(
                _skip_live(grader, "the API server rejected an object when it was applied")
            )
            return None
        applied.append(response.body)
    say(f"applied {len(applied)} object(s) in namespace {namespace}; waiting for the scheduler")
    return observe(kube, namespace, planned, applied, settle_seconds, cancel)


# -- waiting and observing --------------------------------------------------------------------


def _expected_pods(obj: dict[str, Any]) -> int | None:
    """Pods an object creates right away; None when it depends on the cluster (DaemonSet)."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return 1
    if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        replicas = spec.get("replicas")
        return 1 if replicas is None else int(replicas)
    if kind == "Job":
        if spec.get("suspend"):
            return 0
        parallelism = spec.get("parallelism")
        parallelism = 1 if parallelism is None else int(parallelism)
        completions = spec.get("completions")
        return parallelism if completions is None else min(parallelism, int(completions))
    if kind == "DaemonSet":
        return None
    return 0


def _condition(pod: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return None


def _unschedulable(pod: dict[str, Any]) -> dict[str, Any] | None:
    condition = _condition(pod, "PodScheduled")
    if condition and condition.get("status") == "False":
        return condition
    return None


def _owner_key(obj: dict[str, Any]) -> tuple[str, str]:
    return (str(obj.get("kind")), str((obj.get("metadata") or {}).get("name")))


def _top_owner(
    pod: dict[str, Any], owners: dict[tuple[str, str], dict[str, Any]]
) -> tuple[str, str]:
    """(kind, name) of the answer object that (transitively) owns a pod."""
    current = pod
    key = ("", "")
    for _ in range(5):
        refs = (current.get("metadata") or {}).get("ownerReferences") or []
        ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
        if ref is None:
            break
        key = (str(ref.get("kind")), str(ref.get("name")))
        parent = owners.get(key)
        if parent is None:
            break
        current = parent
    return key


def observe(
    kube: Kube,
    namespace: str,
    planned: Sequence[Planned],
    applied: Sequence[dict[str, Any]],
    settle_seconds: float = SETTLE_SECONDS,
    cancel: threading.Event | None = None,
) -> Observation:
    """Wait (bounded) until the answer's pods are placed or refused, then collect everything."""
    start = time.monotonic()
    deadline = start + settle_seconds
    expected: dict[tuple[str, str], int | None] = {
        _owner_key(o): _expected_pods(o) for o in applied
    }
    statefulsets_ordered = {
        _owner_key(o)
        for o in applied
        if o.get("kind") == "StatefulSet"
        and (o.get("spec") or {}).get("podManagementPolicy") != "Parallel"
    }
    hpas = [_owner_key(o) for o in applied if o.get("kind") == "HorizontalPodAutoscaler"]
    needs_owners = any(o.get("kind") in ("Deployment", "CronJob") for o in applied)
    daemonsets = [o for o in applied if o.get("kind") == "DaemonSet"]
    bound_since: dict[str, float] = {}
    pods: list[dict[str, Any]] = []
    owners: dict[tuple[str, str], dict[str, Any]] = {}
    problems: list[str] = []
    while True:
        now = time.monotonic()
        pods = [
            p
            for p in kube.get(f"/api/v1/namespaces/{namespace}/pods").get("items") or []
            if not (p.get("metadata") or {}).get("deletionTimestamp")
        ]
        owners = {_owner_key(o): o for o in applied}
        if needs_owners:
            for rs in (
                kube.get(f"/apis/apps/v1/namespaces/{namespace}/replicasets").get("items") or []
            ):
                owners[("ReplicaSet", rs["metadata"]["name"])] = {**rs, "kind": "ReplicaSet"}
            for job in kube.get(f"/apis/batch/v1/namespaces/{namespace}/jobs").get("items") or []:
                owners[("Job", job["metadata"]["name"])] = {**job, "kind": "Job"}
        for ds in daemonsets:
            fresh = kube.get(
                f"/apis/apps/v1/namespaces/{namespace}/daemonsets/{ds['metadata']['name']}"
            )
            status = fresh.get("status") or {}
            if status.get("observedGeneration"):
                expected[_owner_key(ds)] = int(status.get("desiredNumberScheduled") or 0)
        counts: dict[tuple[str, str], int] = {}
        blocked: set[tuple[str, str]] = set()
        unsettled = 0
        for pod in pods:
            name = pod["metadata"]["name"]
            top = _top_owner(pod, owners)
            if top == ("", ""):
                top = ("Pod", name)
            counts[top] = counts.get(top, 0) + 1
            node = (pod.get("spec") or {}).get("nodeName")
            phase = (pod.get("status") or {}).get("phase")
            if node:
                bound_since.setdefault(name, now)
                if phase == "Pending" and now - bound_since[name] < BOUND_GRACE_SECONDS:
                    unsettled += 1
            elif _unschedulable(pod):
                blocked.add(top)
            else:
                unsettled += 1
        missing = [
            key
            for key, want in expected.items()
            if (want is None or counts.get(key, 0) < want)
            and not (key in statefulsets_ordered and key in blocked)
        ]
        hpa_pending = [key for key in hpas if not _hpa_has_conditions(kube, namespace, key[1])]
        if not unsettled and not missing and not hpa_pending:
            break
        if (cancel is not None and cancel.is_set()) or now >= deadline:
            seconds = int(settle_seconds)
            if any(
                not (p.get("spec") or {}).get("nodeName") and not _unschedulable(p) for p in pods
            ):
                problems.append(advice.NO_SCHEDULER.format(seconds=seconds))
            for key in missing:
                if counts.get(key, 0) == 0:
                    problems.append(
                        advice.NO_CONTROLLER.format(what=f"{key[0]}/{key[1]}", seconds=seconds)
                    )
            if hpa_pending:
                problems.append(
                    f"the HorizontalPodAutoscaler controller reported nothing "
                    f"within {seconds}s; is the controller-manager running?"
                )
            break
        time.sleep(POLL_SECONDS)
    observation = Observation(problems=problems, seconds=time.monotonic() - start)
    observation.nodes = [_node_view(n) for n in kube.get("/api/v1/nodes").get("items") or []]
    observation.pods = [_pod_view(p, owners) for p in pods]
    observation.objects = []
    for item in planned:
        name = item.manifest["metadata"].get("name")
        try:
            body = kube.get(item.resource.path(namespace, name))
        except ApiError:
            continue
        observation.objects.append(body)
    observation.events = [
        _event_view(e)
        for e in kube.get(f"/api/v1/namespaces/{namespace}/events").get("items") or []
    ]
    return observation


def _hpa_has_conditions(kube: Kube, namespace: str, name: str) -> bool:
    try:
        body = kube.get(
            f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/{name}"
        )
    except ApiError:
        return True
    return bool((body.get("status") or {}).get("conditions"))


def _node_view(node: dict[str, Any]) -> dict[str, Any]:
    meta = node.get("metadata") or {}
    status = node.get("status") or {}
    allocatable = {k: str(v) for k, v in (status.get("allocatable") or {}).items()}
    capacity = {k: str(v) for k, v in (status.get("capacity") or {}).items()}
    gpu_resource = next((r for r in GPU_RESOURCES if r in allocatable), "")
    if not gpu_resource:
        gpu_resource = next((r for r in sorted(allocatable) if r.startswith("nvidia.com/mig-")), "")
    try:
        gpus = int(allocatable.get(gpu_resource, "0")) if gpu_resource else 0
    except ValueError:
        gpus = 0
    return {
        "name": str(meta.get("name")),
        "labels": dict(meta.get("labels") or {}),
        "taints": [
            {k: str(t.get(k) or "") for k in ("key", "value", "effect")}
            for t in (node.get("spec") or {}).get("taints") or []
        ],
        "allocatable": allocatable,
        "capacity": capacity,
        "gpuResource": gpu_resource,
        "gpus": gpus,
    }


def _pod_view(pod: dict[str, Any], owners: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    node = str(spec.get("nodeName") or "")
    refused = _unschedulable(pod)
    owner_kind, owner_name = _top_owner(pod, owners)
    return {
        "name": str(meta.get("name")),
        "labels": dict(meta.get("labels") or {}),
        "node": node,
        "phase": str((pod.get("status") or {}).get("phase") or "Pending"),
        "scheduled": bool(node),
        "reason": str(refused.get("reason") or "") if refused and not node else "",
        "message": str(refused.get("message") or "") if refused and not node else "",
        "owner": {"kind": owner_kind, "name": owner_name},
        "spec": spec,
        # The API server computes the QoS class at admission: the authority on it.
        "qosClass": str((pod.get("status") or {}).get("qosClass") or ""),
    }


def _event_view(event: dict[str, Any]) -> dict[str, Any]:
    involved = event.get("involvedObject") or {}
    return {
        "type": str(event.get("type") or ""),
        "reason": str(event.get("reason") or ""),
        "message": str(event.get("message") or ""),
        "kind": str(involved.get("kind") or ""),
        "name": str(involved.get("name") or ""),
    }


def _finish(
    grader: Grader,
    report: Report,
    docs: Sequence[Document],
    planned: Sequence[Planned],
    observation: Observation,
) -> None:
    """Live checks, advice, placement and notes from an observation."""
    by_key = {_owner_key(o): o for o in observation.objects}
    live_docs: list[Document] = []
    for doc in docs:
        server = by_key.get((str(doc.kind), str(doc.name)))
        live_docs.append(dataclasses.replace(doc, data=server) if server is not None else doc)
    results = grader.run_checks(
        live_docs,
        grader.live_checks,
        extra={
            "objects": observation.objects,
            "pods": observation.pods,
            "nodes": observation.nodes,
            "events": observation.events,
        },
    )
    pending_messages = [
        (p["message"], p["spec"].get("tolerations"))
        for p in observation.pods
        if not p["scheduled"] and p["message"]
    ]
    summary = advice.summarize(pending_messages, observation.nodes)
    extra = "; ".join(observation.problems)
    hint = "; ".join(part for part in (summary, extra) if part)
    for result in results:
        if result.status in ("fail", "error") and hint:
            result = dataclasses.replace(result, advice=hint)
        report.checks.append(result)
    placement: list[Placement] = []
    for pod in sorted(observation.pods, key=lambda p: p["name"]):
        reason = ""
        if not pod["scheduled"]:
            plain = "; ".join(
                advice.explain(pod["message"], observation.nodes, pod["spec"].get("tolerations"))
            )
            if pod["message"]:
                reason = f"{plain} (scheduler: {pod['message']})" if plain else pod["message"]
            else:
                reason = extra or "not scheduled"
        placement.append(Placement(pod["name"], pod["node"] or None, pod["phase"], reason))
    report.placement = placement
    kinds = {item.manifest.get("kind") for item in planned}
    for kind, why in NO_OPERATOR.items():
        if kind in kinds:
            report.notes.append(
                f"{kind} was accepted by the API server, but {why}: no pods were created from it"
            )
    for problem in observation.problems:
        report.notes.append(problem)


# -- the CLI's entry point ------------------------------------------------------------------


def run_live_checks(
    course: Any,
    scenario: Scenario,
    grader: Grader,
    reports: list[Report],
    files: Sequence[Path],
    *,
    keep: bool,
    context: str | None,
    echo: Echo,
) -> tuple[list[Report], bool]:
    """`kprep check --live`: one live Report per file; True when the cluster failed us."""

    def unavailable(reason: str) -> tuple[list[Report], bool]:
        echo(f"kprep: live checks not run: {reason}")
        for report in reports:
            report.notes.append(f"live checks not run: {reason}")
        return reports, True

    try:
        cluster = connect(course, scenario, context=context, echo=echo)
    except ClusterError as exc:
        return unavailable(str(exc))
    out: list[Report] = []
    failed = False
    try:
        for index, (report, path) in enumerate(zip(reports, files, strict=False)):
            if failed:
                out.append(report)
                continue
            if any(e.source == "yaml" for e in report.errors):
                out.append(report)
                continue
            try:
                raw = Path(path).read_bytes()
            except OSError:
                out.append(report)
                continue
            text, _problem = decode(raw)
            if text is None:
                out.append(report)
                continue
            try:
                out.append(
                    grade_live(
                        course,
                        scenario,
                        grader,
                        text,
                        report.file,
                        cluster=cluster,
                        keep=keep,
                        offline=report,
                        echo=echo,
                    )
                )
            except ClusterError as exc:
                failed = True
                echo(
                    f"kprep: the cluster failed during the live check of {report.file}: "
                    f"{exc}. `kprep cluster up` restarts it; `kprep cluster gc` removes what "
                    "the check left behind"
                )
                report.notes.append(f"live check failed: {exc}")
                out.append(report)
                for rest in reports[index + 1 :]:
                    rest.notes.append("live checks not run: the cluster failed")
    finally:
        cluster.close()
    return out, failed
