//go:build tools

// Package tools pins the containerd commands the kind node image runs
// (hack/build-kind-node.sh builds them).
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
