//go:build tools

// Package tools pins metrics-server, which hack/build-addons.sh builds beside
// kprep's own metrics adapter and PKI tool (one module, one `go build`, so the
// Kubernetes packages they share compile once).
package tools

import (
	_ "sigs.k8s.io/metrics-server/cmd/metrics-server"
)
