//go:build tools

// Package tools pins the JobSet controller (sigs.k8s.io/jobset is itself
// package main), which hack/build-addons.sh builds in the same `go build` as
// Kubeflow Trainer's controller manager (cmd/trainer-controller-manager):
// Trainer v2.0.0 requires this JobSet version, so both share one set of
// Kubernetes and controller-runtime packages.
package tools

import (
	_ "sigs.k8s.io/jobset"
)
