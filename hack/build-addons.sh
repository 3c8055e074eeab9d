#!/usr/bin/env bash
# Builds the cluster add-ons kprep runs as host processes next to the local
# control plane, all from the Go module proxy, into a cache folder:
#   metrics    metrics-server ($METRICS_SERVER_VERSION), kprep-metrics-adapter (custom and
#              external metrics from a file, on custom-metrics-apiserver
#              $CUSTOM_METRICS_APISERVER_VERSION) and kprep-pki (the add-ons' certificates);
#   operators  the JobSet controller ($JOBSET_VERSION) and Kubeflow Trainer v2's
#              trainer-controller-manager ($TRAINER_VERSION);
#   training-operator  the Kubeflow training operator v1 for PyTorchJob ($TRAINING_OPERATOR_VERSION).
# Gang scheduling needs nothing here: Kubernetes 1.36's own (feature gates on the control
# plane); see docs/cluster-addons.md and bench/README.md for why not Kueue or coscheduling.
#
# Each group is one wrapper module under hack/modules/<group>/ whose go.mod pins every
# version, built with one `go build` so the packages its binaries share compile once
# (a group exists because its binaries agree on one Kubernetes/controller-runtime
# version; upstream projects that pin different ones get their own group). Every
# build goes through `flock /tmp/kprep-heavy.lock` and the shared Go caches.
#
# Each group gets its own folder, <cache>/kprep/bin/addons/<group>-<hash>, named after
# a hash of its wrapper module's files: a checkout with other add-on sources never
# overwrites another's binaries, and changing one group never rebuilds the others.
# A second run only checks the folders and exits. Prints the parent folder on stdout.
# Usage: hack/build-addons.sh [--force] [GROUP...]
#   KPREP_ADDONS_BIN_DIR=DIR puts every group's binaries in DIR instead (no hashes).
set -euo pipefail

METRICS_SERVER_VERSION=0.9.0
CUSTOM_METRICS_APISERVER_VERSION=1.37.0
JOBSET_VERSION=0.8.2
TRAINER_VERSION=2.0.0
TRAINING_OPERATOR_VERSION=1.8.1
GROUPS_ALL="metrics operators training-operator"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

# group_hash GROUP: the folder key; app/cluster/addons.py computes the same (a unit test
# checks): sha256 over "<sha256 of file>  <path from the repo root>" lines of the module's
# *.go, go.mod and go.sum files, sorted by path; the first 12 hex digits.
group_hash() {
  (cd "$repo" && find "hack/modules/$1" -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print \
    | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)
}

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}
root=${KPREP_ADDONS_BIN_DIR:-$cache_root/kprep/bin/addons}
group_dir() {
  if [[ -n "${KPREP_ADDONS_BIN_DIR:-}" ]]; then echo "$root"; else echo "$root/$1-$(group_hash "$1")"; fi
}

force=0
groups=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    metrics|operators|training-operator) groups+=("$arg") ;;
    *) echo "build-addons: unknown argument '$arg' (groups: $GROUPS_ALL)" >&2; exit 2 ;;
  esac
done
(( ${#groups[@]} )) || read -r -a groups <<<"$GROUPS_ALL"

binaries_of() {
  case "$1" in
    metrics) echo "metrics-server kprep-metrics-adapter kprep-pki" ;;
    operators) echo "jobset-controller trainer-controller-manager" ;;
    training-operator) echo "training-operator" ;;
  esac
}

# needs GROUP: true when --force, a binary is missing, or the group's sources changed.
needs() {
  [[ $force == 1 ]] && return 0
  local dir b
  dir=$(group_dir "$1")
  for b in $(binaries_of "$1"); do [[ -x "$dir/$b" ]] || return 0; done
  [[ "$(cat "$dir/.stamp-$1" 2>/dev/null)" == "$(group_hash "$1")" ]] || return 0
  return 1
}

todo=()
for g in "${groups[@]}"; do needs "$g" && todo+=("$g"); done
if (( ${#todo[@]} == 0 )); then
  echo "$root"
  exit 0
fi

command -v go >/dev/null || { echo "build-addons: Go 1.26+ is required (https://go.dev/dl)" >&2; exit 1; }
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
start=$(date +%s)

# heavy DIR GO-BUILD-ARGS...: one `go build` in a wrapper module, under the shared lock;
# reports the time spent after the lock was taken (the wait is other builds' time).
heavy() {
  local dir=$1
  shift
  (cd "$here/modules/$dir" && flock /tmp/kprep-heavy.lock bash -c '
    start=$(date +%s)
    go build -trimpath "$@" || exit
    echo "build-addons: go build took $(( $(date +%s) - start ))s once the lock was free" >&2
  ' heavy "$@")
}

for g in "${todo[@]}"; do
  group_start=$(date +%s)
  dir=$(group_dir "$g")
  mkdir -p "$dir"
  rm -f "$dir/.stamp-$g"
  echo "build-addons: $g ($(binaries_of "$g")) -> $dir" >&2
  case "$g" in
    metrics)
      # metrics-server prints client-go's version variable (its Makefile sets it so); the
      # adapter and the PKI tool, linked in the same build, report the same string.
      heavy metrics -o "$dir/" \
        -ldflags "-s -w -X k8s.io/client-go/pkg/version.gitVersion=v$METRICS_SERVER_VERSION" \
        sigs.k8s.io/metrics-server/cmd/metrics-server ./cmd/kprep-metrics-adapter ./cmd/kprep-pki
      ;;
    operators)
      # sigs.k8s.io/jobset is the module root, so `go build` would name its binary "jobset".
      tmp=$(mktemp -d "$dir/.build.XXXXXX")
      heavy operators -o "$tmp/" \
        -ldflags "-s -w -X sigs.k8s.io/jobset/pkg/version.GitVersion=v$JOBSET_VERSION" \
        sigs.k8s.io/jobset ./cmd/trainer-controller-manager
      mv "$tmp/jobset" "$dir/jobset-controller"
      mv "$tmp/trainer-controller-manager" "$dir/"
      rmdir "$tmp"
      ;;
    training-operator)
      heavy training-operator -ldflags "-s -w" -o "$dir/training-operator" ./cmd/training-operator
      ;;
  esac
  # Each binary must at least start and print its usage: a broken build fails here,
  # not at `cluster up`.
  for b in $(binaries_of "$g"); do
    if ! "$dir/$b" --help >/dev/null 2>&1 && ! "$dir/$b" -h >/dev/null 2>&1; then
      echo "build-addons: $dir/$b does not run" >&2
      exit 1
    fi
  done
  if [[ $g == metrics ]]; then
    out=$("$dir/metrics-server" --version 2>&1 | head -1) || true
    if [[ "$out" != "v$METRICS_SERVER_VERSION" ]]; then
      echo "build-addons: metrics-server reports '$out', expected v$METRICS_SERVER_VERSION" >&2
      exit 1
    fi
  fi
  group_hash "$g" >"$dir/.stamp-$g"
  echo "build-addons: $g built in $(( $(date +%s) - group_start ))s" >&2
done
echo "build-addons: done in $(( $(date +%s) - start ))s" >&2
echo "$root"
