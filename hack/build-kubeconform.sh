#!/usr/bin/env bash
# Build kubeconform from its Go module (the Go module proxy; nothing vendored into
# kprep) for bench/bench_check.py, which compares `kprep check` over a class of
# answers with kubeconform's schema-only pass. Prints the binary's path.
#
#   bash hack/build-kubeconform.sh            # instant when already built
#
# On a shared machine, wrap it: flock /tmp/kprep-heavy.lock bash hack/build-kubeconform.sh
set -euo pipefail

version=${KUBECONFORM_VERSION:-v0.8.0}
dir="${XDG_CACHE_HOME:-$HOME/.cache}/kprep/bin/kubeconform-$version"
if [[ -x "$dir/kubeconform" ]]; then
  echo "$dir/kubeconform"
  exit 0
fi
command -v go >/dev/null || { echo "build-kubeconform: needs Go (https://go.dev/dl/)" >&2; exit 1; }
mkdir -p "$dir"
GOBIN="$dir" GOFLAGS=-mod=mod go install "github.com/yannh/kubeconform/cmd/kubeconform@$version" >&2
echo "$dir/kubeconform"
