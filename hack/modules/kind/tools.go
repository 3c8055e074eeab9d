//go:build tools

// Package tools pins the kind command hack/build-kind-node.sh builds.
package tools

import _ "sigs.k8s.io/kind"
