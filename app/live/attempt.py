"""One live attempt, from screening to cleanup, and `kprep check --live` over many files.

`grade_live` (one answer text -> one Report) and `run_live_checks` (the CLI)
share one path; the steps are listed in `app.live`'s docstring. A cluster that
is missing or dies mid-check raises `ClusterError` out of `grade_live`;
`run_live_checks` turns that into notes on the offline reports and
`cluster_failed=True` (the CLI exits 3).
"""

from __future__ import annotations

import copy
import dataclasses
import re
import secrets
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.cluster.errors import ClusterError
from app.cluster.kube import ApiError, Kube, UnknownKindError
from app.cluster.namespaces import (
    ATTEMPT_LABEL,
    NAMESPACE_RESOURCE,
    OWNED_LABEL,
    SCENARIO_LABEL,
    await_quiet,
    delete_attempt_namespace,
)
from app.cluster.provider import Echo
from app.course.loader import Course
from app.course.models import Scenario
from app.grading.engine import Grader
from app.grading.report import CheckResult, Diagnostic, Report
from app.k8s.pods import expected_pods
from app.k8s.resources import int_quantity, is_gpu_resource
from app.live import arrival, safety, scoped
from app.live.apierrors import api_diagnostics, is_answer_error, warning_diagnostics
from app.live.connect import LiveCluster, connect
from app.live.observe import SETTLE_SECONDS, Observation, Planned, observe
from app.live.verdict import finish
from app.yamlmap import Document, UnreadableFile, decode, load_documents, read_regular_file


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


def _prepare(
    doc: Document, namespace: str, scenario_id: str, *, cluster_scoped: bool = False
) -> dict[str, Any]:
    """The answer's object labelled as kprep's: in the attempt's namespace, or (a
    cluster-scoped kind) renamed as the attempt's private copy."""
    manifest: dict[str, Any] = copy.deepcopy(doc.data)
    meta = manifest.setdefault("metadata", {})
    if not isinstance(meta, dict):
        meta = manifest["metadata"] = {}
    labels = meta.get("labels")
    if not isinstance(labels, dict):
        labels = meta["labels"] = {}
    labels[OWNED_LABEL] = "true"
    labels[SCENARIO_LABEL] = scenario_id[:63]
    if cluster_scoped:
        meta.pop("namespace", None)
        meta["name"] = scoped.copy_name(str(meta.get("name") or kind_stem(doc)), namespace)
        labels[ATTEMPT_LABEL] = namespace
    else:
        meta["namespace"] = namespace
    return manifest


def kind_stem(doc: Document) -> str:
    return str(doc.kind or "object").lower()


def grade_live(
    course: Course | None,
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
    lacking = cluster.lacks({d.kind for d in docs if d.kind})
    if lacking:
        report.notes.append(f"live checks not run: {lacking}")
        report.checks.extend(_skip_live(grader, lacking))
        return report
    kube = cluster.kube

    # -- screening --
    allowed = safety.allowed_kinds(scenario.allowed_kinds, reference_kinds(scenario))
    refusals: list[Diagnostic] = []
    planned: list[Planned] = []
    renamed: dict[str, dict[str, str]] = {}
    """kind -> the answer's name -> the attempt's copy (cluster-scoped kinds)."""
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
            copy = scoped.copiable(api_version, kind)
            line, column = doc.locate(("kind",))
            if copy is None:
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
            why = scoped.refusal(doc.data)
            if why is not None:
                line, column = doc.locate(why[0])
                refusals.append(Diagnostic(f"{doc.describe()}: {why[1]}", "cluster", line, column))
                continue
            manifest = _prepare(doc, namespace, scenario.id, cluster_scoped=True)
            renamed.setdefault(kind, {})[str(doc.name)] = manifest["metadata"]["name"]
            planned.append(Planned(doc, resource, manifest))
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
        planned.append(Planned(doc, resource, _prepare(doc, namespace, scenario.id)))
    # Copies of cluster-scoped objects first, so what refers to them finds them.
    planned.sort(key=lambda item: item.resource.namespaced)
    scoped.rewrite_references([item.manifest for item in planned], renamed)
    for item in planned:
        item.runnable = cluster.runnable(item.manifest) if item.resource.namespaced else None
        if not item.resource.namespaced:
            report.notes.append(
                f"{item.doc.describe()} was applied as {item.manifest['metadata']['name']}, a "
                "copy private to this attempt (references to it were renamed too)"
            )
    if not refusals:
        refusals += _pod_budget_refusals(kube, planned)
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
        await_quiet(kube, say=say)
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
            kube,
            grader,
            report,
            planned,
            namespace,
            settle_seconds,
            cancel,
            say,
            in_order=scenario.apply_in_order,
            interleave=scenario.interleave_arrivals,
            pods_start=cluster.starts_containers,
        )
        if observation is None:
            return report
        finish(grader, report, docs, planned, observation)
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
            copies = [item.resource for item in planned if not item.resource.namespaced]
            scoped.delete_copies(kube, copies, namespace)


def cluster_size(kube: Kube) -> tuple[int, int]:
    """(GPUs, nodes) of the cluster: whole GPUs of every vendor and MIG slices, summed
    over the nodes' allocatable, as the profile gave them."""
    nodes = kube.get("/api/v1/nodes").get("items") or []
    gpus = 0
    for node in nodes:
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        gpus += sum(int_quantity(v) for k, v in allocatable.items() if is_gpu_resource(str(k)))
    return gpus, len(nodes)


def _pod_budget_refusals(kube: Kube, planned: Sequence[Planned]) -> list[Diagnostic]:
    """The answer's pods, totalled before anything is applied (see safety.pod_budget)."""
    workloads = [item for item in planned if item.resource.namespaced]
    gpus, nodes = cluster_size(kube)
    refusal = safety.pod_budget([item.doc.data for item in workloads], gpus, nodes)
    if refusal is None:
        return []
    doc = workloads[refusal.document].doc
    line, column = doc.locate(refusal.path)
    return [Diagnostic(f"{doc.describe()}: {refusal.message}", "cluster", line, column)]


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


def _run_attempt(
    kube: Kube,
    grader: Grader,
    report: Report,
    planned: list[Planned],
    namespace: str,
    settle_seconds: float,
    cancel: threading.Event | None,
    say: Echo,
    *,
    in_order: bool = False,
    interleave: bool = False,
    pods_start: bool = True,
) -> Observation | None:
    for item in planned:
        if item.resource.namespaced:
            continue
        # A private copy is created for real first: a dry-run pod naming its
        # PriorityClass must find it.
        try:
            kube.create(item.manifest)
        except ApiError as exc:
            if not is_answer_error(exc):
                raise
            report.errors.extend(api_diagnostics(item.doc, exc))
            report.checks.extend(
                _skip_live(grader, "the API server rejected the answer; nothing else was applied")
            )
            return None
    rejected = False
    for item in planned:
        if not item.resource.namespaced:
            continue
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
        if not item.resource.namespaced:
            continue
        manifest = item.runnable or item.manifest
        if interleave:  # pods wait for their turn (app.live.arrival)
            manifest = arrival.gated(manifest) or manifest
        try:
            response = kube.create(manifest, namespace=namespace)
        except ApiError as exc:
            if not is_answer_error(exc):
                raise
            report.errors.extend(api_diagnostics(item.doc, exc))
            report.checks.extend(
                _skip_live(grader, "the API server rejected an object when it was applied")
            )
            return None
        applied.append(response.body)
        if in_order and expected_pods(response.body) != 0:
            say(f"applied {item.doc.describe()}; waiting for its pods before the next object")
            observe(kube, namespace, planned, applied, settle_seconds, cancel, pods_start)
    say(f"applied {len(applied)} object(s) in namespace {namespace}; waiting for the scheduler")
    if interleave:
        say("releasing the pods to the scheduler in turns, one workload's pod after another's")
        deadline = time.monotonic() + settle_seconds
        arrival.release_in_turns(kube, namespace, applied, deadline, cancel)
    return observe(kube, namespace, planned, applied, settle_seconds, cancel, pods_start)


def run_live_checks(
    course: Course,
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
                raw = read_regular_file(path)
            except UnreadableFile:
                out.append(report)  # its offline report already says why
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
