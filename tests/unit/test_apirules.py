"""Offline API-server rules: meaning and wording of the real validations."""

from app.grading.apirules import validate_object


def deployment(resources=None, labels=None, selector=None, **pod):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "m"},
        "spec": {
            "selector": selector if selector is not None else {"matchLabels": {"app": "m"}},
            "template": {
                "metadata": {"labels": labels if labels is not None else {"app": "m"}},
                "spec": {
                    "containers": [{"name": "c", "image": "i", "resources": resources or {}}],
                    **pod,
                },
            },
        },
    }


def messages(obj):
    return [e.message for e in validate_object(obj)]


def test_valid_gpu_deployment_has_no_errors():
    ok = deployment(
        {
            "limits": {"nvidia.com/gpu": 1, "memory": "8Gi"},
            "requests": {"nvidia.com/gpu": "1", "memory": "4Gi", "cpu": "2"},
        }
    )
    assert messages(ok) == []


def test_gpu_request_must_equal_limit():
    (msg,) = messages(
        deployment({"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 2}})
    )
    assert "requests[nvidia.com/gpu]" in msg
    assert "must be equal to nvidia.com/gpu limit of 2" in msg


def test_gpu_request_without_limit():
    (msg,) = messages(deployment({"requests": {"nvidia.com/gpu": 1}}))
    assert "Limit must be set for non overcommitable resources" in msg


def test_fractional_gpu_is_not_an_integer_but_3000m_is():
    assert any(
        "must be an integer" in m
        for m in messages(deployment({"limits": {"nvidia.com/gpu": "500m"}}))
    )
    assert any(
        "must be an integer" in m for m in messages(deployment({"limits": {"amd.com/gpu": 0.5}}))
    )
    assert messages(deployment({"limits": {"nvidia.com/gpu": "3000m"}})) == []


def test_cpu_request_above_limit():
    (msg,) = messages(deployment({"requests": {"cpu": "4"}, "limits": {"cpu": "2"}}))
    assert "must be less than or equal to cpu limit of 2" in msg


def test_resource_names():
    (msg,) = messages(deployment({"limits": {"gpu": 1}}))
    assert "must be a standard resource for containers" in msg
    assert messages(deployment({"limits": {"gpu.intel.com/i915": 1}})) == []


def test_selector_must_match_template_labels():
    (msg,) = messages(deployment(labels={"app": "other"}))
    assert "`selector` does not match template `labels`" in msg
    assert any("empty selector" in m for m in messages(deployment(selector={})))


def test_toleration_rules():
    msgs = messages(
        deployment(
            tolerations=[
                {"key": "nvidia.com/gpu", "operator": "Exists", "value": "present"},
                {"operator": "Equal", "value": "x"},
            ]
        )
    )
    assert any("value must be empty when `operator` is 'Exists'" in m for m in msgs)
    assert any("operator must be Exists when `key` is empty" in m for m in msgs)


def test_liveness_success_threshold_must_be_1():
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["livenessProbe"] = {
        "httpGet": {"path": "/", "port": 8080},
        "successThreshold": 2,
    }
    assert any("successThreshold: Invalid value: 2: must be 1" in m for m in messages(obj))


def hpa(**spec):
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "m"},
            "maxReplicas": 5,
            **spec,
        },
    }


def test_hpa_min_max_and_metric_targets():
    assert any(
        "must be greater than or equal to `minReplicas`" in m for m in messages(hpa(minReplicas=6))
    )
    assert any("must be greater than or equal to 1" in m for m in messages(hpa(minReplicas=0)))
    pods_value = hpa(
        metrics=[
            {
                "type": "Pods",
                "pods": {"metric": {"name": "q"}, "target": {"type": "Value", "value": "10"}},
            }
        ]
    )
    assert any("must specify a positive target averageValue" in m for m in messages(pods_value))
    ok = hpa(
        metrics=[
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": "q"},
                    "target": {"type": "AverageValue", "averageValue": "100m"},
                },
            },
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70},
                },
            },
        ]
    )
    assert messages(ok) == []


def test_hpa_behavior_bounds():
    msgs = messages(
        hpa(
            behavior={
                "scaleDown": {
                    "stabilizationWindowSeconds": 4000,
                    "policies": [{"type": "Percent", "value": 0, "periodSeconds": 60}],
                }
            }
        )
    )
    assert any("must be less than or equal to 3600" in m for m in msgs)
    assert any("must be greater than zero" in m for m in msgs)


def test_pdb_both_fields():
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "p"},
        "spec": {"minAvailable": 1, "maxUnavailable": 1, "selector": {}},
    }
    assert any("cannot be both set" in m for m in messages(pdb))


def test_indexed_job_needs_completions():
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {
            "completionMode": "Indexed",
            "parallelism": 2,
            "template": {
                "spec": {"restartPolicy": "Always", "containers": [{"name": "c", "image": "i"}]}
            },
        },
    }
    msgs = messages(job)
    assert any("spec.completions: Required value" in m for m in msgs)
    assert any('Unsupported value: "Always"' in m for m in msgs)
