"""pkg/controller/podautoscaler/horizontal.go `computeReplicasForMetrics`: one
replica proposal per metric of the HPA, the maximum over them, and when the
controller refuses to act on them.

Each source type (Resource, ContainerResource, Pods, Object, External) follows
`computeReplicasForMetric` and its `computeStatusFor*` function, reading the
samples through `ClusterView.metrics` and computing with `calculator`. A metric
that fails records the controller's Warning event (its reason and text).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.autoscale.hpa.calculator import (
    CalcError,
    Tolerances,
    go_div,
    group_pods,
    per_pod_replicas,
    pod_request,
    replicas_with_unready_and_missing,
    usage_ratio,
    utilization_ratio,
)
from app.autoscale.hpa.labtime import ControllerConfig
from app.autoscale.hpa.spec import INT32_MAX, INT64_MAX, HPASpec, MetricSpec
from app.autoscale.hpa.view import (
    ClusterView,
    ControllerEvent,
    MetricReading,
    MetricUnavailable,
    ResourceSample,
)


@dataclass(frozen=True)
class MetricsOutcome:
    """What `computeReplicasForMetrics` returns to the reconcile loop."""

    replicas: int
    """The largest proposal (-1 when `failure` is set)."""
    metric_name: str
    """The metric that asked for `replicas`, as the rescale reason names it."""
    readings: tuple[MetricReading, ...]
    failure: str | None
    """The FailedComputeMetricsReplicas message when the controller takes no decision."""
    scaling_active: str
    """The ScalingActive condition's reason after this pass."""


class MetricFailure(Exception):
    """A metric could not be computed: `reason` and `message` make its Warning event,
    `wrapped` is the error `computeReplicasForMetric` returns."""

    def __init__(self, reason: str, message: str, wrapped: str):
        self.reason = reason
        self.message = message
        self.wrapped = wrapped
        super().__init__(wrapped)


def compute_replicas_for_metrics(
    hpa: HPASpec,
    config: ControllerConfig,
    tolerances: Tolerances,
    now: float,
    view: ClusterView,
    events: list[ControllerEvent],
) -> MetricsOutcome:
    """horizontal.go `computeReplicasForMetrics`; appends each failed metric's event
    to `events`."""
    metric_pass = _MetricPass(config, tolerances)
    replicas = 0
    metric_name = ""
    invalid = 0
    first_error = ""
    first_reason = ""
    readings = []
    for spec in hpa.metrics:
        try:
            proposal, name, value = metric_pass.replicas_for_metric(now, view, spec)
        except MetricFailure as failure:
            events.append(ControllerEvent("Warning", failure.reason, failure.message))
            if invalid == 0:
                first_error = failure.wrapped
                first_reason = failure.reason
            invalid += 1
            readings.append(MetricReading(spec.key, None, None, failure.wrapped))
            continue
        readings.append(MetricReading(spec.key, value, proposal))
        if replicas == 0 or proposal > replicas:
            replicas = proposal
            metric_name = name
    total = len(hpa.metrics)
    if invalid >= total or (invalid > 0 and replicas < view.spec_replicas):
        message = (
            f"invalid metrics ({invalid} invalid out of {total}), first error is: {first_error}"
        )
        return MetricsOutcome(-1, "", tuple(readings), message, first_reason)
    return MetricsOutcome(replicas, metric_name, tuple(readings), None, "ValidMetricFound")


class _MetricPass:
    """One metric's proposal, with the controller's settings and tolerances."""

    def __init__(self, config: ControllerConfig, tolerances: Tolerances):
        self.config = config
        self.tolerances = tolerances

    def replicas_for_metric(
        self, now: float, view: ClusterView, spec: MetricSpec
    ) -> tuple[int, str, float]:
        tolerances = self.tolerances
        target = spec.target
        spec_replicas = view.spec_replicas
        if spec.type == "Object":
            reason = "FailedGetObjectMetric"
            wrap = "failed to get object metric value: {}"
            try:
                described = spec.described_object or ("", "", "")
                if target.type == "Value" and target.value_milli is not None:
                    usage = _object_value(view, spec, described)
                    ratio = usage / target.value_milli
                    proposal = self.usage_ratio_replicas(spec_replicas, ratio, tolerances, view)
                    return proposal, f"{described[1]} metric {spec.name}", usage / 1000
                if target.type == "AverageValue" and target.average_value_milli is not None:
                    usage = _object_value(view, spec, described)
                    proposal, per_pod = per_pod_replicas(
                        view.status_replicas, usage, target.average_value_milli, tolerances
                    )
                    # (sic) the controller names this "external metric" too.
                    name = f"external metric {spec.name}({_format_selector(spec.selector)})"
                    return proposal, name, per_pod / 1000
                raise CalcError(
                    "invalid object metric source: neither a value target nor an average "
                    "value target was set"
                )
            except CalcError as exc:
                raise MetricFailure(reason, str(exc), wrap.format(exc)) from None
        if spec.type == "Pods":
            reason = "FailedGetPodsMetric"
            try:
                try:
                    metrics = view.metrics.pods(spec.name, spec.selector)
                except MetricUnavailable as exc:
                    raise CalcError(f"unable to get metric {spec.name}: {exc}") from None
                assert target.average_value_milli is not None  # validated by parse_hpa
                proposal, usage = self._plain_metric_replicas(
                    now, view, metrics, target.average_value_milli, "", tolerances
                )
                return proposal, f"pods metric {spec.name}", usage / 1000
            except CalcError as exc:
                raise MetricFailure(
                    reason, str(exc), f"failed to get pods metric value: {exc}"
                ) from None
        if spec.type in ("Resource", "ContainerResource"):
            reason = (
                "FailedGetResourceMetric"
                if spec.type == "Resource"
                else "FailedGetContainerResourceMetric"
            )
            wrapper = (
                f"failed to get {spec.name} resource metric value: {{}}"
                if spec.type == "Resource"
                else f"failed to get {spec.container} container metric value: {{}}"
            )
            try:
                return self._resource_replicas(now, view, spec, tolerances)
            except CalcError as exc:
                raise MetricFailure(reason, str(exc), wrapper.format(exc)) from None
        if spec.type == "External":
            reason = "FailedGetExternalMetric"
            try:
                name = f"external metric {spec.name}({_format_selector(spec.selector)})"
                if target.average_value_milli is not None:
                    usage = _external_sum(view, spec, cap=False)
                    proposal, per_pod = per_pod_replicas(
                        view.status_replicas, usage, target.average_value_milli, tolerances
                    )
                    return proposal, name, per_pod / 1000
                if target.value_milli is not None:
                    usage = _external_sum(view, spec, cap=True)
                    ratio = usage / target.value_milli
                    proposal = self.usage_ratio_replicas(spec_replicas, ratio, tolerances, view)
                    return proposal, name, usage / 1000
                raise CalcError(
                    "invalid external metric source: neither a value target nor an average "
                    "value target was set"
                )
            except CalcError as exc:
                raise MetricFailure(
                    reason,
                    str(exc),
                    f"failed to get {spec.name} external metric value: {exc}",
                ) from None
        raise MetricFailure(
            "InvalidMetricSourceType",
            f'unknown metric source type "{spec.type}"',
            f'unknown metric source type "{spec.type}"',
        )

    # replica_calculator.go `getUsageRatioReplicaCount` (Object Value, External Value)
    def usage_ratio_replicas(
        self, current: int, ratio: float, tolerances: Tolerances, view: ClusterView
    ) -> int:
        if current != 0:
            if tolerances.is_within(ratio):
                return current
            # `getReadyPodsCount`: Running and Ready pods of the target.
            if not view.pods:
                raise CalcError(
                    "unable to calculate ready pods: no pods returned by selector while "
                    "calculating replica count"
                )
            ready = sum(1 for p in view.pods if p.phase == "Running" and p.ready)
            count = ratio * ready
            return INT32_MAX if count > INT32_MAX else math.ceil(count)
        return math.ceil(ratio)

    # replica_calculator.go `calcPlainMetricReplicas` (Pods metrics, raw resource values)
    def _plain_metric_replicas(
        self,
        now: float,
        view: ClusterView,
        samples: Mapping[str, Any],
        target_usage: int,
        resource: str,
        tolerances: Tolerances,
    ) -> tuple[int, int]:
        """`samples` maps pod name to its sample (a `ResourceSample` for resources,
        whose timestamp the CPU readiness rule reads; a milli-value otherwise)."""
        if not view.pods:
            raise CalcError("no pods returned by selector while calculating replica count")
        groups = group_pods(
            view.pods,
            samples,
            resource,
            now,
            self.config.cpu_initialization_period,
            self.config.initial_readiness_delay,
        )
        metrics = {
            name: sample.milli if isinstance(sample, ResourceSample) else int(sample)
            for name, sample in samples.items()
            if name not in groups.ignored and name not in groups.unready
        }
        if not metrics:
            raise CalcError("did not receive metrics for targeted pods (pods might be unready)")
        ratio, usage = usage_ratio(metrics, target_usage)
        proposal = replicas_with_unready_and_missing(
            ratio,
            metrics,
            groups,
            view.spec_replicas,
            tolerances,
            # Scale-down: a missing pod counts as using exactly the target.
            {name: target_usage for name in groups.missing},
            lambda m: usage_ratio(m, target_usage)[0],
        )
        return proposal, usage

    # horizontal.go `computeStatusForResourceMetricGeneric`; replica_calculator.go
    # `GetResourceReplicas` and `GetRawResourceReplicas`.
    def _resource_replicas(
        self, now: float, view: ClusterView, spec: MetricSpec, tolerances: Tolerances
    ) -> tuple[int, str, float]:
        resource = spec.name
        target = spec.target

        def fetch() -> dict[str, ResourceSample]:
            try:
                return view.metrics.resource(resource, spec.container)
            except MetricUnavailable as exc:
                raise CalcError(f"unable to get metrics for resource {resource}: {exc}") from None

        if target.average_value_milli is not None:
            try:
                proposal, usage = self._plain_metric_replicas(
                    now, view, fetch(), target.average_value_milli, resource, tolerances
                )
            except CalcError as exc:
                raise CalcError(f"failed to get {resource} usage: {exc}") from None
            return proposal, f"{resource} resource", usage / 1000
        if target.average_utilization is None:
            raise CalcError(
                "invalid resource metric source: neither an average utilization target nor "
                "an average value (usage) target was set"
            )
        try:
            return self._utilization_replicas(now, view, spec, fetch(), tolerances)
        except CalcError as exc:
            raise CalcError(f"failed to get {resource} utilization: {exc}") from None

    def _utilization_replicas(
        self,
        now: float,
        view: ClusterView,
        spec: MetricSpec,
        samples: Mapping[str, ResourceSample],
        tolerances: Tolerances,
    ) -> tuple[int, str, float]:
        resource = spec.name
        target_utilization = spec.target.average_utilization
        assert target_utilization is not None
        if not view.pods:
            raise CalcError("no pods returned by selector while calculating replica count")
        groups = group_pods(
            view.pods,
            samples,
            resource,
            now,
            self.config.cpu_initialization_period,
            self.config.initial_readiness_delay,
        )
        metrics = {
            name: sample.milli
            for name, sample in samples.items()
            if name not in groups.ignored and name not in groups.unready
        }
        if not metrics:
            raise CalcError("did not receive metrics for targeted pods (pods might be unready)")
        # Every pod of the target shares one template, so one pod's request is all
        # pods' request; the error names the first pod, as the controller's loop would.
        request = pod_request(view.requests, view.pods[0].name, resource, spec.container)
        requests = {pod.name: request for pod in view.pods}
        ratio, utilization, _raw = utilization_ratio(metrics, requests, target_utilization)
        fallback = max(100, target_utilization)
        proposal = replicas_with_unready_and_missing(
            ratio,
            metrics,
            groups,
            view.spec_replicas,
            tolerances,
            # Scale-down: a missing pod counts as using 100% of its request (or the
            # target, when the target is above 100%).
            {name: go_div(requests[name] * fallback, 100) for name in groups.missing},
            lambda m: utilization_ratio(m, requests, target_utilization)[0],
        )
        if spec.type == "ContainerResource":
            name = f"{resource} container resource utilization (percentage of request)"
        else:
            name = f"{resource} resource utilization (percentage of request)"
        return proposal, name, float(utilization)


def _format_selector(selector: Mapping[str, Any] | None) -> str:
    """`%+v` of a *metav1.LabelSelector (its generated String()), as the controller
    prints it into External metric names."""
    if selector is None:
        return "nil"
    labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    label_text = "".join(f"{k}: {labels[k]}," for k in sorted(labels))
    expr_text = "".join(
        f"LabelSelectorRequirement{{Key:{e.get('key', '')},Operator:{e.get('operator', '')},"
        f"Values:[{' '.join(str(v) for v in e.get('values') or [])}],}},"
        for e in expressions
        if isinstance(e, Mapping)
    )
    return (
        f"&LabelSelector{{MatchLabels:map[string]string{{{label_text}}},"
        f"MatchExpressions:[]LabelSelectorRequirement{{{expr_text}}},}}"
    )


def _object_value(view: ClusterView, spec: MetricSpec, described: tuple[str, str, str]) -> int:
    try:
        return view.metrics.object(spec.name, described, spec.selector)
    except MetricUnavailable as exc:
        raise CalcError(
            f"unable to get metric {spec.name}: {described[1]} on {described[2]} {exc}"
        ) from None


def _external_sum(view: ClusterView, spec: MetricSpec, cap: bool) -> int:
    try:
        values = view.metrics.external(spec.name, spec.selector)
    except MetricUnavailable as exc:
        raise CalcError(f"unable to get external metric {spec.name}: {exc}") from None
    usage = 0
    for value in values:
        # GetExternalMetricReplicas caps at MaxInt64; the per-pod variant detects the
        # overflow after the fact. The same result for any realistic value.
        usage = min(INT64_MAX, usage + value) if cap else usage + value
    return min(usage, INT64_MAX)
