"""Offline grader vs. the real API server, and every scenario's live checks.

For every scenario's reference answer, its variants and every known-wrong
answer (`wrongAnswers` patches of every check), the offline grader's validity
verdict (any error from the schema or the offline API rules) must equal the API
server's server-side dry run. A disagreement is a bug in
app/grading/apirules.py or the schema handling.

One deliberate asymmetry: inside custom resources (PyTorchJob, TrainJob,
JobSet) the offline rules also check the embedded pod templates, which the API
server stores without Pod validation (the operator's pods would be rejected
later). For custom kinds only schema errors are compared.

Then each scenario with live checks: its reference answer (and variants) pass
them on the cluster, and each live check's wrongAnswers fail it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import REPO

BUILTIN_GROUPS = (
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
)


def _course() -> Any:
    from app.course.loader import Course

    return Course(REPO)


def _answers() -> Iterator[tuple[str, str, str]]:
    """(scenario id, case name, answer text) for every reference, variant and wrong answer."""
    from app.authoring.patch import apply_patch

    scenarios, _errors = _course().load_all()
    for scenario in scenarios:
        try:
            reference = scenario.answer_text()
        except OSError:
            continue
        yield scenario.id, "reference", reference
        for variant in scenario.variants:
            yield scenario.id, f"variant {variant.name}", variant.read_text(encoding="utf-8")
        for check in (*scenario.checks, *scenario.live_checks):
            for wrong in check.wrong_answers:
                try:
                    text = apply_patch(reference, wrong.patch)
                except Exception:  # noqa: BLE001 - lint reports broken patches
                    continue
                yield scenario.id, f"{check.id}: {wrong.name}", text


CASES = list(_answers())


def _is_builtin(api_version: str | None) -> bool:
    group = (api_version or "").rpartition("/")[0]
    return group in BUILTIN_GROUPS


@pytest.mark.parametrize("scenario_id, case, text", CASES, ids=[f"{s}/{c}" for s, c, _ in CASES])
def test_offline_validity_agrees_with_api_server(
    scenario_id: str, case: str, text: str, kube: Any, scratch_namespace: str
) -> None:
    from app.grading.engine import Grader
    from app.live.apierrors import dry_run_diagnostics
    from app.yamlmap import load_documents

    course = _course()
    scenario = course.scenario(scenario_id)
    grader = Grader(scenario, crd_dir=course.crd_dir)
    parsed = load_documents(text)
    assert not parsed.problems, parsed.problems
    docs = [d for d in parsed.documents if isinstance(d.data, dict)]
    offline = []
    for doc in docs:
        for error in grader.validate([doc]):
            if error.source == "schema" or _is_builtin(doc.api_version):
                offline.append(error)
    server = [
        d for d in dry_run_diagnostics(kube, docs, scratch_namespace) if d.severity == "error"
    ]
    assert bool(offline) == bool(server), (
        f"{scenario_id} / {case}: offline says "
        f"{'invalid' if offline else 'valid'} ({[e.message for e in offline]}), the API server "
        f"says {'invalid' if server else 'valid'} ({[e.message for e in server]})"
    )


LIVE = [(s.id, s) for s in _course().load_all()[0] if s.live_checks]


@pytest.mark.parametrize("scenario_id", [s for s, _ in LIVE])
def test_reference_answer_passes_live_checks(scenario_id: str, cluster_home: Any) -> None:
    from app.cluster.errors import ClusterError
    from app.grading.engine import Grader
    from app.live.attempt import grade_live
    from app.live.connect import connect

    course = _course()
    scenario = course.scenario(scenario_id)
    grader = Grader(scenario, crd_dir=course.crd_dir)
    try:
        cluster = connect(course, scenario)
    except ClusterError as exc:
        pytest.fail(f"live tests need the local cluster: {exc}", pytrace=False)
    try:
        answers = [("reference", scenario.answer_text())]
        answers += [(v.name, v.read_text(encoding="utf-8")) for v in scenario.variants]
        for name, text in answers:
            report = grade_live(course, scenario, grader, text, name, cluster=cluster)
            live_ids = {c.check.id for c in grader.live_checks}
            failing = [c for c in report.checks if c.id in live_ids and c.status != "pass"]
            assert not failing, (
                f"{scenario_id} {name}: "
                + "; ".join(f"{c.id}: {c.status}: {c.message} {c.advice}" for c in failing)
                + f"\nplacement: {report.placement}\nerrors: {report.errors}"
            )
        from app.authoring.patch import apply_patch

        reference = scenario.answer_text()
        for compiled in grader.live_checks:
            for wrong in compiled.check.wrong_answers:
                text = apply_patch(reference, wrong.patch)
                report = grade_live(course, scenario, grader, text, wrong.name, cluster=cluster)
                result = next(c for c in report.checks if c.id == compiled.check.id)
                assert result.status != "pass", (
                    f"{scenario_id}: live check {compiled.check.id} passes on the wrong answer "
                    f"{wrong.name!r}"
                )
    finally:
        cluster.close()


# -- probes: API rules the course's answers do not exercise yet ------------------------------
#
# Variations of a GPU Deployment and a few other kinds, each valid or invalid in a
# way the offline rules must predict. Found and fixed with this test; keep adding.


def _probes() -> list[tuple[str, dict[str, Any]]]:
    import copy

    import yaml

    base = yaml.safe_load((REPO / "answers" / "gpu-limits" / "answer.yaml").read_text())

    def dep(change: Any) -> dict[str, Any]:
        obj = copy.deepcopy(base)
        change(obj)
        return obj

    def c0(obj: dict[str, Any]) -> dict[str, Any]:
        return obj["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return,unused-ignore]

    def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
        return obj["spec"]["template"]["spec"]  # type: ignore[no-any-return,unused-ignore]

    job_template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}
    hpa_ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"}

    def hpa(spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"},
            "spec": {"scaleTargetRef": hpa_ref, "maxReplicas": 3, **spec},
        }

    def job(spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "j"},
            "spec": {"template": job_template, **spec},
        }

    return [
        (
            "cronjob without restartPolicy",
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": {"name": "c"},
                "spec": {
                    "schedule": "* * * * *",
                    "jobTemplate": {
                        "spec": {
                            "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}
                        }
                    },
                },
            },
        ),
        (
            "selector mismatch",
            dep(lambda d: d["spec"]["selector"].update(matchLabels={"app": "x"})),
        ),
        ("uppercase container name", dep(lambda d: c0(d).update(name="Model"))),
        (
            "cpu limit below request",
            dep(
                lambda d: c0(d)["resources"].update(
                    limits={"cpu": "1", "memory": "8Gi", "nvidia.com/gpu": 1}
                )
            ),
        ),
        ("fractional memory", dep(lambda d: c0(d)["resources"]["requests"].update(memory="1.5Gi"))),
        ("cpu as a float", dep(lambda d: c0(d)["resources"]["requests"].update(cpu=0.5))),
        (
            "unqualified resource name",
            dep(lambda d: c0(d)["resources"]["limits"].update({"gpu": 1})),
        ),
        (
            "toleration Exists with a value",
            dep(lambda d: pod_spec(d)["tolerations"][0].update(value="present")),
        ),
        (
            "tolerationSeconds without NoExecute",
            dep(lambda d: pod_spec(d)["tolerations"][0].update(tolerationSeconds=30)),
        ),
        (
            "probe with two handlers",
            dep(
                lambda d: c0(d).update(
                    livenessProbe={
                        "httpGet": {"path": "/", "port": 8080},
                        "tcpSocket": {"port": 8080},
                    }
                )
            ),
        ),
        (
            "probe without a handler",
            dep(lambda d: c0(d).update(readinessProbe={"periodSeconds": 5})),
        ),
        (
            "liveness successThreshold 2",
            dep(
                lambda d: c0(d).update(
                    livenessProbe={"httpGet": {"path": "/", "port": 8080}, "successThreshold": 2}
                )
            ),
        ),
        (
            "maxSkew 0",
            dep(
                lambda d: pod_spec(d).update(
                    topologySpreadConstraints=[
                        {
                            "maxSkew": 0,
                            "topologyKey": "zone",
                            "whenUnsatisfiable": "DoNotSchedule",
                            "labelSelector": {"matchLabels": {"app": "sentiment"}},
                        }
                    ]
                )
            ),
        ),
        (
            "minDomains with ScheduleAnyway",
            dep(
                lambda d: pod_spec(d).update(
                    topologySpreadConstraints=[
                        {
                            "maxSkew": 1,
                            "minDomains": 2,
                            "topologyKey": "zone",
                            "whenUnsatisfiable": "ScheduleAnyway",
                        }
                    ]
                )
            ),
        ),
        ("negative replicas", dep(lambda d: d["spec"].update(replicas=-1))),
        ("replicas as a string", dep(lambda d: d["spec"].update(replicas="2"))),
        (
            "Deployment restartPolicy Never",
            dep(lambda d: pod_spec(d).update(restartPolicy="Never")),
        ),
        ("container without image", dep(lambda d: c0(d).pop("image"))),
        (
            "containerPort out of range",
            dep(lambda d: c0(d).update(ports=[{"containerPort": 80800}])),
        ),
        (
            "bad label key",
            dep(lambda d: d["spec"]["template"]["metadata"]["labels"].update({"bad key": "x"})),
        ),
        ("bad label value", dep(lambda d: d["metadata"].update(labels={"a": "b c"}))),
        ("bad annotation key", dep(lambda d: d["metadata"].update(annotations={"bad key": "x"}))),
        ("bad object name", dep(lambda d: d["metadata"].update(name="Sentiment_1"))),
        (
            "empty nodeSelectorTerms",
            dep(
                lambda d: pod_spec(d).update(
                    affinity={
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": []
                            }
                        }
                    }
                )
            ),
        ),
        (
            "rolling update with no surge and no unavailability",
            dep(
                lambda d: d["spec"].update(
                    strategy={
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0},
                    }
                )
            ),
        ),
        (
            "Recreate with rollingUpdate",
            dep(
                lambda d: d["spec"].update(
                    strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}
                )
            ),
        ),
        (
            "volumeMount of a missing volume",
            dep(lambda d: c0(d).update(volumeMounts=[{"name": "nope", "mountPath": "/x"}])),
        ),
        (
            "shared memory volume",
            dep(
                lambda d: (
                    pod_spec(d).update(
                        volumes=[
                            {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}}
                        ]
                    ),
                    c0(d).update(volumeMounts=[{"name": "shm", "mountPath": "/dev/shm"}]),
                )
            ),
        ),
        ("HPA minReplicas 0", hpa({"minReplicas": 0})),
        ("HPA max below min", hpa({"minReplicas": 4})),
        (
            "HPA target without a value",
            hpa(
                {
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {"name": "cpu", "target": {"type": "Utilization"}},
                        }
                    ]
                }
            ),
        ),
        (
            "HPA scaleTargetRef without name",
            hpa({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment"}}),
        ),
        (
            "HPA scaleTargetRef without apiVersion",
            hpa({"scaleTargetRef": {"kind": "Deployment", "name": "x"}}),
        ),
        (
            "PDB with both fields",
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": "p"},
                "spec": {
                    "minAvailable": 1,
                    "maxUnavailable": 1,
                    "selector": {"matchLabels": {"a": "b"}},
                },
            },
        ),
        ("Indexed Job, completions defaulted", job({"completionMode": "Indexed"})),
        (
            "Indexed Job, parallelism without completions",
            job({"completionMode": "Indexed", "parallelism": 2}),
        ),
        ("Job with negative parallelism", job({"parallelism": -1})),
        (
            "Service without ports",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "s"},
                "spec": {"selector": {"a": "b"}},
            },
        ),
        (
            "headless Service without ports",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "s"},
                "spec": {"clusterIP": "None", "selector": {"a": "b"}},
            },
        ),
        (
            "Pod without containers",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p"},
                "spec": {"containers": []},
            },
        ),
    ]


PROBES = _probes()


@pytest.mark.parametrize("case, obj", PROBES, ids=[c for c, _ in PROBES])
def test_probe_validity_agrees_with_api_server(
    case: str, obj: dict[str, Any], kube: Any, scratch_namespace: str
) -> None:
    import yaml

    from app.grading.engine import Grader
    from app.live.apierrors import dry_run_diagnostics
    from app.yamlmap import load_documents

    course = _course()
    grader = Grader(course.scenario("gpu-limits"), crd_dir=course.crd_dir)
    docs = load_documents(yaml.safe_dump(obj)).documents
    offline = grader.validate(docs)
    server = [
        d for d in dry_run_diagnostics(kube, docs, scratch_namespace) if d.severity == "error"
    ]
    assert bool(offline) == bool(server), (
        f"{case}: offline {[e.message for e in offline]} vs API server "
        f"{[e.message for e in server]}"
    )
