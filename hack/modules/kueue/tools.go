//go:build tools

// Package tools pins Kueue's controller manager, which hack/build-addons.sh
// builds on its own: Kueue pins newer JobSet and Kubernetes modules than
// Trainer v2.0.0, so it cannot share the operators group's versions.
package tools

import (
	_ "sigs.k8s.io/kueue/cmd/kueue"
)
