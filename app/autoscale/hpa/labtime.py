"""Lab time: how a live run compresses every duration by a factor, and the
controller-manager settings that go with it.

`ControllerConfig` is kube-controller-manager's HPA configuration (its flags);
`ControllerConfig.for_lab`, `lab_seconds`, `lab_hpa_document` and `lab_spec`
compress time the same way for the simulator and the live runner.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from app.autoscale.hpa.parse import parse_hpa
from app.autoscale.hpa.spec import Behavior, HPASpec, ScalingRules


@dataclass(frozen=True)
class ControllerConfig:
    """kube-controller-manager's HPA settings. Defaults: pkg/controller/podautoscaler/
    config/v1alpha1/defaults.go `RecommendedDefaultHPAControllerConfiguration`."""

    sync_period: float = 15.0
    """--horizontal-pod-autoscaler-sync-period."""
    downscale_stabilization: float = 300.0
    """--horizontal-pod-autoscaler-downscale-stabilization: the scale-down window
    when `behavior` or its `scaleDown.stabilizationWindowSeconds` is left out."""
    tolerance: float = 0.1
    """--horizontal-pod-autoscaler-tolerance."""
    cpu_initialization_period: float = 300.0
    """--horizontal-pod-autoscaler-cpu-initialization-period."""
    initial_readiness_delay: float = 30.0
    """--horizontal-pod-autoscaler-initial-readiness-delay."""
    configurable_tolerance: bool = True
    """Feature gate HPAConfigurableTolerance (beta, on by default since 1.35:
    pkg/features/kube_features.go)."""

    @classmethod
    def for_lab(cls, time_scale: float) -> ControllerConfig:
        """The settings a live run uses when it compresses time by `time_scale`.

        Issue 13: a 1 s sync period, and the stabilization, CPU-initialization and
        readiness delays divided like every other duration (at least 1 s each).
        At `time_scale` 1 these are the defaults.
        """
        if time_scale == 1:
            return cls()
        base = cls()
        return cls(
            sync_period=1.0,
            downscale_stabilization=float(lab_seconds(base.downscale_stabilization, time_scale)),
            tolerance=base.tolerance,
            cpu_initialization_period=float(
                lab_seconds(base.cpu_initialization_period, time_scale)
            ),
            initial_readiness_delay=float(lab_seconds(base.initial_readiness_delay, time_scale)),
        )

    def flags(self) -> list[str]:
        """kube-controller-manager flags that realise this configuration."""

        def dur(seconds: float) -> str:
            return f"{seconds:g}s"

        flags = [
            f"--horizontal-pod-autoscaler-sync-period={dur(self.sync_period)}",
            f"--horizontal-pod-autoscaler-downscale-stabilization={dur(self.downscale_stabilization)}",
            f"--horizontal-pod-autoscaler-tolerance={self.tolerance:g}",
            f"--horizontal-pod-autoscaler-cpu-initialization-period={dur(self.cpu_initialization_period)}",
            f"--horizontal-pod-autoscaler-initial-readiness-delay={dur(self.initial_readiness_delay)}",
        ]
        if not self.configurable_tolerance:
            flags.append("--feature-gates=HPAConfigurableTolerance=false")
        return flags


# --- lab time ---------------------------------------------------------------------


def lab_seconds(seconds: float, time_scale: float) -> int:
    """One duration in lab time: divided by `time_scale`, rounded half up, at least
    1 s. Zero stays zero (a window of 0 means "no window", not "1 s")."""
    if time_scale < 1:
        raise ValueError("timeScale must be at least 1")
    if seconds <= 0:
        return 0
    return max(1, math.floor(seconds / time_scale + 0.5))


def lab_hpa_document(doc: Mapping[str, Any], time_scale: float) -> dict[str, Any]:
    """The HPA a live run applies: the answer with every `behavior` duration in lab time.

    A present `behavior` is written out fully defaulted first (as the API server
    would store it), so the defaulted 15 s periods shrink too; a scale-down window
    left out stays left out, because the controller then uses its flag, which
    `ControllerConfig.for_lab` shrinks. Raises `HPASpecError` like `parse_hpa`.
    """
    spec = parse_hpa(doc)
    out: dict[str, Any] = _deep_copy(doc)
    if time_scale == 1 or spec.behavior is None:
        return out
    lab = lab_spec(spec, time_scale).behavior
    assert lab is not None

    def rules_doc(rules: ScalingRules, up: bool) -> dict[str, Any]:
        written: dict[str, Any] = {
            "selectPolicy": rules.select_policy,
            "policies": [
                {"type": p.type, "value": p.value, "periodSeconds": p.period_seconds}
                for p in rules.policies
            ],
        }
        if rules.stabilization_window_seconds is not None:
            written["stabilizationWindowSeconds"] = rules.stabilization_window_seconds
        raw_rules = _raw_rules(doc, up)
        if isinstance(raw_rules, Mapping) and raw_rules.get("tolerance") is not None:
            written["tolerance"] = raw_rules["tolerance"]  # as written: not a duration
        return written

    out["spec"]["behavior"] = {
        "scaleUp": rules_doc(lab.scale_up, True),
        "scaleDown": rules_doc(lab.scale_down, False),
    }
    return out


def _raw_rules(doc: Mapping[str, Any], up: bool) -> object:
    behavior = doc.get("spec", {}).get("behavior") or {}
    return behavior.get("scaleUp" if up else "scaleDown")


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _deep_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_deep_copy(item) for item in value]
    return value


def lab_spec(spec: HPASpec, time_scale: float) -> HPASpec:
    """`spec` with its behavior durations in lab time (what `lab_hpa_document` applies)."""
    if time_scale == 1 or spec.behavior is None:
        return spec

    def shrink(rules: ScalingRules) -> ScalingRules:
        window = rules.stabilization_window_seconds
        return replace(
            rules,
            stabilization_window_seconds=None
            if window is None
            else lab_seconds(window, time_scale),
            policies=tuple(
                replace(p, period_seconds=lab_seconds(p.period_seconds, time_scale))
                for p in rules.policies
            ),
        )

    return replace(
        spec, behavior=Behavior(shrink(spec.behavior.scale_up), shrink(spec.behavior.scale_down))
    )
