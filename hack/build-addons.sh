#!/usr/bin/env bash
# Builds the cluster add-ons kprep runs as host processes next to the local
# control plane, all from the Go module proxy, into a cache folder:
#   metrics    metrics-server ($METRICS_SERVER_VERSION), kprep-metrics-adapter (custom and
#              external metrics from a file, on custom-metrics-apiserver
#              $CUSTOM_METRICS_APISERVER_VERSION) and kprep-pki (the add-ons' certificates);
#   operators  the JobSet controller ($JOBSET_VERSION) and Kubeflow Trainer v2's
#              trainer-controller-manager ($TRAINER_VERSION);
#   training-operator  the Kubeflow training operator v1 for PyTorchJob ($TRAINING_OPERATOR_VERSION);
#   kueue      Kueue ($KUEUE_VERSION), the gang admission the course's training scenarios use.
#
# Each group is one wrapper module under hack/modules/<group>/ whose go.mod pins every
# version, built with one `go build` so the packages its binaries share compile once
# (a group exists because its binaries agree on one Kubernetes/controller-runtime
# version; upstream projects that pin different ones get their own group). Every
# build goes through `flock /tmp/kprep-heavy.lock` and the shared Go caches.
#
# The folder is named after a hash of this script and the wrapper modules, so a
# checkout with different add-on sources never overwrites another's binaries. A
# second run only checks the stamps and exits; a group whose binaries are missing,
# or whose sources changed, is rebuilt alone. Prints the folder on stdout.
# Usage: hack/build-addons.sh [--force] [GROUP...]   (KPREP_ADDONS_BIN_DIR overrides the folder)
set -euo pipefail

METRICS_SERVER_VERSION=0.9.0
CUSTOM_METRICS_APISERVER_VERSION=1.37.0
JOBSET_VERSION=0.8.2
TRAINER_VERSION=2.0.0
TRAINING_OPERATOR_VERSION=1.8.1
KUEUE_VERSION=0.17.0
GROUPS_ALL="metrics operators training-operator kueue"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

# sources_hash: the cache key; app/cluster/addons.py computes the same (a unit test checks).
# sha256 over "<sha256 of file>  <path from the repo root>" lines, sorted by path.
sources_hash() {
  local dirs=() g
  for g in $GROUPS_ALL; do [[ -d "$repo/hack/modules/$g" ]] && dirs+=("hack/modules/$g"); done
  (cd "$repo" && find hack/build-addons.sh "${dirs[@]}" -type f \
      \( -name '*.go' -o -name go.mod -o -name go.sum -o -name build-addons.sh \) -print \
    | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)
}
group_hash() {
  (cd "$repo" && find "hack/modules/$1" -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print \
    | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)
}

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}
bin_dir=${KPREP_ADDONS_BIN_DIR:-$cache_root/kprep/bin/addons-$(sources_hash)}
stamp="$bin_dir/.complete"

force=0
groups=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    metrics|operators|training-operator|kueue) groups+=("$arg") ;;
    *) echo "build-addons: unknown argument '$arg' (groups: $GROUPS_ALL)" >&2; exit 2 ;;
  esac
done
(( ${#groups[@]} )) || read -r -a groups <<<"$GROUPS_ALL"

binaries_of() {
  case "$1" in
    metrics) echo "metrics-server kprep-metrics-adapter kprep-pki" ;;
    operators) echo "jobset-controller trainer-controller-manager" ;;
    training-operator) echo "training-operator" ;;
    kueue) echo "kueue" ;;
  esac
}

# needs GROUP: true when --force, a binary is missing, or the group's sources changed.
needs() {
  [[ $force == 1 ]] && return 0
  local b
  for b in $(binaries_of "$1"); do [[ -x "$bin_dir/$b" ]] || return 0; done
  [[ "$(cat "$bin_dir/.stamp-$1" 2>/dev/null)" == "$(group_hash "$1")" ]] || return 0
  return 1
}

todo=()
for g in "${groups[@]}"; do needs "$g" && todo+=("$g"); done
if (( ${#todo[@]} == 0 )) && [[ -f "$stamp" || ${#groups[@]} -lt 4 ]]; then
  echo "$bin_dir"
  exit 0
fi

command -v go >/dev/null || { echo "build-addons: Go 1.26+ is required (https://go.dev/dl)" >&2; exit 1; }
mkdir -p "$bin_dir"
rm -f "$stamp"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
start=$(date +%s)

# heavy DIR GO-BUILD-ARGS...: one `go build` in a wrapper module, under the shared lock.
heavy() {
  local dir=$1
  shift
  (cd "$here/modules/$dir" && flock /tmp/kprep-heavy.lock go build -trimpath "$@")
}

for g in "${todo[@]}"; do
  group_start=$(date +%s)
  echo "build-addons: $g ($(binaries_of "$g")) -> $bin_dir" >&2
  case "$g" in
    metrics)
      # metrics-server prints client-go's version variable (its Makefile sets it so); the
      # adapter and the PKI tool, linked in the same build, report the same string.
      heavy metrics -o "$bin_dir/" \
        -ldflags "-s -w -X k8s.io/client-go/pkg/version.gitVersion=v$METRICS_SERVER_VERSION" \
        sigs.k8s.io/metrics-server/cmd/metrics-server ./cmd/kprep-metrics-adapter ./cmd/kprep-pki
      ;;
    operators)
      tmp="$bin_dir/.operators"
      mkdir -p "$tmp"
      heavy operators -o "$tmp/" \
        -ldflags "-s -w -X sigs.k8s.io/jobset/pkg/version.GitVersion=v$JOBSET_VERSION" \
        sigs.k8s.io/jobset ./cmd/trainer-controller-manager
      # sigs.k8s.io/jobset is the module root, so `go build` names its binary "jobset".
      mv "$tmp/jobset" "$bin_dir/jobset-controller"
      mv "$tmp/trainer-controller-manager" "$bin_dir/"
      rmdir "$tmp"
      ;;
    training-operator)
      heavy training-operator -ldflags "-s -w" -o "$bin_dir/training-operator" ./cmd/training-operator
      ;;
    kueue)
      heavy kueue -o "$bin_dir/kueue" \
        -ldflags "-s -w -X sigs.k8s.io/kueue/pkg/version.GitVersion=v$KUEUE_VERSION" \
        sigs.k8s.io/kueue/cmd/kueue
      ;;
  esac
  group_hash "$g" >"$bin_dir/.stamp-$g"
  echo "build-addons: $g built in $(( $(date +%s) - group_start ))s" >&2
done

# Each binary must at least start and print its usage (a broken link fails here, not at `cluster up`).
for g in "${groups[@]}"; do
  for b in $(binaries_of "$g"); do
    if ! "$bin_dir/$b" --help >/dev/null 2>&1 && ! "$bin_dir/$b" -h >/dev/null 2>&1; then
      echo "build-addons: $bin_dir/$b does not run" >&2
      exit 1
    fi
  done
done
if [[ -x "$bin_dir/metrics-server" ]]; then
  out=$("$bin_dir/metrics-server" --version 2>&1 | head -1) || true
  [[ "$out" == *"v$METRICS_SERVER_VERSION"* ]] || { echo "build-addons: metrics-server reports '$out', expected v$METRICS_SERVER_VERSION" >&2; exit 1; }
fi

all=1
for g in $GROUPS_ALL; do
  for b in $(binaries_of "$g"); do [[ -x "$bin_dir/$b" ]] || all=0; done
done
[[ $all == 1 ]] && touch "$stamp"
echo "build-addons: done in $(( $(date +%s) - start ))s" >&2
echo "$bin_dir"
