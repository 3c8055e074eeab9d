#!/usr/bin/env bash
# Builds the local Kubernetes binaries kprep runs, all from the Go module proxy, into a
# cache folder. No git clone, no download outside the module proxy. Two groups:
#
# - control-plane (the default), what the kwok provider runs: kube-apiserver,
#   kube-scheduler, kube-controller-manager and kubectl (Kubernetes $K8S_VERSION), etcd
#   ($ETCD_VERSION), kwok and kwokctl ($KWOK_VERSION);
# - node, what a kind node image needs besides those: kubelet and kubeadm (same
#   Kubernetes, same version ldflags). hack/build-kind-node.sh asks for it.
# - kube-proxy, on its own: kprep's kind clusters run with kubeProxyMode none (see
#   bench/README.md), so nothing asks for it by default.
#
# Why wrapper modules: k8s.io/kubernetes requires its staging modules at v0.0.0
# and maps them with replace directives, which Go ignores outside the main module,
# so `go install k8s.io/kubernetes/cmd/...@v1.x` fails. Each component therefore
# gets its own small module under hack/modules/ whose go.mod pins every version
# (and, for Kubernetes, replaces each staging module with its published v0.Y.Z).
# Every Kubernetes binary the requested groups lack is built by one `go build`, so
# packages they share are compiled once and links run in parallel.
#
# kubectl is there because kwokctl shells out to `kubectl get --raw /version` while it
# starts a cluster; kprep puts this folder first on kwokctl's PATH, so kwokctl never
# downloads one and never uses whatever kubectl the machine has.
#
# Each group has a stamp file (`.complete` for control-plane, `.complete-<group>` for
# the others). A second run with the stamps present only checks them and exits; a run
# with some binaries missing rebuilds only the groups that lack one.
# Usage: hack/build-binaries.sh [--force] [control-plane] [node] [kube-proxy]
#   (no group: control-plane; KPREP_BIN_DIR overrides the cache folder; prints it)
set -euo pipefail

K8S_VERSION=1.36.3
ETCD_VERSION=3.6.16
KWOK_VERSION=0.8.0

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}
bin_dir=${KPREP_BIN_DIR:-$cache_root/kprep/bin/k8s-v$K8S_VERSION-etcd-v$ETCD_VERSION-kwok-v$KWOK_VERSION}

force=0
groups=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    control-plane | node | kube-proxy) groups+=("$arg") ;;
    *) echo "build-binaries: unknown argument '$arg' (usage: [--force] [control-plane] [node] [kube-proxy])" >&2; exit 2 ;;
  esac
done
(( ${#groups[@]} )) || groups=(control-plane)

# group_binaries GROUP: the binaries a group provides
group_binaries() {
  case "$1" in
    control-plane) echo "kube-apiserver kube-scheduler kube-controller-manager kubectl etcd kwok kwokctl" ;;
    node) echo "kubelet kubeadm" ;;
    kube-proxy) echo "kube-proxy" ;;
  esac
}
stamp_of() { if [[ $1 == control-plane ]]; then echo "$bin_dir/.complete"; else echo "$bin_dir/.complete-$1"; fi; }

if [[ $force == 0 ]]; then
  missing=0
  for g in "${groups[@]}"; do
    [[ -f $(stamp_of "$g") ]] || missing=1
    for b in $(group_binaries "$g"); do [[ -x "$bin_dir/$b" ]] || missing=1; done
  done
  if [[ $missing == 0 ]]; then echo "$bin_dir"; exit 0; fi
fi

command -v go >/dev/null || { echo "build-binaries: Go 1.26+ is required (https://go.dev/dl)" >&2; exit 1; }
mkdir -p "$bin_dir"
for g in "${groups[@]}"; do rm -f "$(stamp_of "$g")"; done
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
start=$(date +%s)

# wanted GROUP: true when that group was asked for
wanted() {
  local g
  for g in "${groups[@]}"; do [[ $g == "$1" ]] && return 0; done
  return 1
}
# needs NAME...: true when --force or any of the binaries is missing
needs() {
  [[ $force == 1 ]] && return 0
  local b
  for b in "$@"; do [[ -x "$bin_dir/$b" ]] || return 0; done
  return 1
}

minor=$(echo "$K8S_VERSION" | cut -d. -f2)
k8s_wanted=()
wanted control-plane && k8s_wanted+=(kube-apiserver kube-scheduler kube-controller-manager kubectl)
wanted node && k8s_wanted+=(kubelet kubeadm)
wanted kube-proxy && k8s_wanted+=(kube-proxy)
k8s_pkgs=()
for b in "${k8s_wanted[@]}"; do
  needs "$b" && k8s_pkgs+=("k8s.io/kubernetes/cmd/$b")
done
if (( ${#k8s_pkgs[@]} )); then
  echo "build-binaries: Kubernetes v$K8S_VERSION (${k8s_pkgs[*]##*/}) -> $bin_dir" >&2
  (cd "$here/modules/kubernetes" && go build -trimpath -o "$bin_dir/" \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor" \
    "${k8s_pkgs[@]}")
fi

if wanted control-plane && needs etcd; then
  echo "build-binaries: etcd v$ETCD_VERSION" >&2
  (cd "$here/modules/etcd" && go build -trimpath -ldflags "-s -w" -o "$bin_dir/etcd" go.etcd.io/etcd/server/v3)
fi

if wanted control-plane && needs kwok kwokctl; then
  echo "build-binaries: kwok v$KWOK_VERSION" >&2
  (cd "$here/modules/kwok" && go build -trimpath -o "$bin_dir/" \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$K8S_VERSION" \
    sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl)
fi

# Each binary must report the pinned version (kwokctl picks component flags from it).
check_version() {
  local out
  out=$("$bin_dir/$1" "${@:3}" 2>&1 | head -3) || true
  if [[ "$out" != *"$2"* ]]; then
    echo "build-binaries: $1 reports '$out', expected '$2'" >&2
    exit 1
  fi
}
if wanted control-plane; then
  for b in kube-apiserver kube-scheduler kube-controller-manager; do check_version "$b" "v$K8S_VERSION" --version; done
  check_version kubectl "v$K8S_VERSION" version --client
  check_version etcd "$ETCD_VERSION" --version
  check_version kwok "v$KWOK_VERSION" --version
  check_version kwokctl "v$KWOK_VERSION" --version
fi
if wanted node; then
  check_version kubelet "v$K8S_VERSION" --version
  check_version kubeadm "v$K8S_VERSION" version -o short
fi
wanted kube-proxy && check_version kube-proxy "v$K8S_VERSION" --version

for g in "${groups[@]}"; do touch "$(stamp_of "$g")"; done
echo "build-binaries: done in $(( $(date +%s) - start ))s" >&2
echo "$bin_dir"
