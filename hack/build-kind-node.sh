#!/usr/bin/env bash
# Builds, offline, the pinned kind node image kprep uses when the public
# kindest/node cannot be pulled: kprep/kind-node:v$K8S_VERSION, for kind v$KIND_VERSION,
# with containerd v$CONTAINERD_VERSION. Every Go binary comes from the Go module proxy,
# the base from debootstrap; no registry is ever contacted. `kind build node-image`
# cannot do this (it always pulls its base image and every image it did not build), so
# this script does what its builder does, by hand:
#
#   1. binaries: kubelet and kubeadm (hack/build-binaries.sh's node group, sharing the
#      Go build cache with the control plane), kube-apiserver, kube-controller-manager,
#      kube-scheduler, kubectl and etcd (its control-plane group), containerd, ctr and
#      containerd-shim-runc-v2 (hack/modules/containerd), the kind CLI itself
#      (hack/modules/kind), and pause (hack/kind-node/pause.c, gcc -static);
#   2. the Debian rootfs (hack/build-debian-rootfs.sh);
#   3. component images, FROM scratch plus one binary, tagged exactly as
#      `kubeadm config images list` asks, saved into one archive;
#   4. the node's file system (hack/kind-node/Dockerfile: kind's own node files from the
#      kind module, kprep's containerd config, the runc wrapper, the binaries);
#   5. the node image: that file system with the component images imported into its
#      containerd (pinned, not unpacked), committed with kind's entrypoint.
#
# Left out, because kprep's kind clusters do not run them (bench/README.md has the
# figures): kube-proxy (clusters use kubeProxyMode none; nothing kprep checks needs
# Service routing), CoreDNS (kubeadm's addon/coredns phase is skipped: no in-cluster
# DNS is needed, and its pods would take scheduling room kwok nodes do not lose),
# crictl (debugging only: `ctr -n k8s.io` does the same in the node), kindnetd and
# local-path-provisioner (a static CNI conflist per node and kind's plain
# StorageClass fallback replace them).
#
# etcd: the binary is the control plane's etcd v$ETCD_VERSION (a newer patch of the
# same minor) tagged as the registry.k8s.io/etcd tag kubeadm asks for, so kubeadm's
# static pod finds it; the image carries its real version in a label.
#
# Caching and resumability: each step has a stamp (a file written last, or an image
# tag set only on success), and a step whose stamp exists is skipped, so a run that
# failed halfway resumes where it stopped. The node image is tagged only after the
# commit succeeded and carries the label dev.kprep.node-recipe (a hash of the pins and
# of every file that goes into it); a run finding that label on the tag prints it and
# exits. A half-built image is never tagged, so never used.
# Usage: hack/build-kind-node.sh   (prints the node image reference on stdout;
#   needs root, Go 1.26, gcc, docker; KPREP_KIND_NODE_IMAGE overrides the tag)
set -euo pipefail

K8S_VERSION=1.36.3
KIND_VERSION=0.33.0
CONTAINERD_VERSION=2.3.7
ETCD_VERSION=3.6.16
PAUSE_VERSION=3.10.2

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}
cache=$cache_root/kprep/kind/k8s-v$K8S_VERSION-containerd-v$CONTAINERD_VERSION-kind-v$KIND_VERSION
image=${KPREP_KIND_NODE_IMAGE:-kprep/kind-node:v$K8S_VERSION}

say() { echo "build-kind-node: $*" >&2; }
die() { say "$*"; exit 1; }
# step NAME: print a step header and remember when it started
step() { step_name=$1; step_start=$(date +%s); say "$1"; }
step_done() { say "$step_name: $(( $(date +%s) - step_start ))s"; }

node_files=(
  "$here/build-kind-node.sh" "$here/runc-capstrip" "$here/kind-node/Dockerfile"
  "$here/kind-node/containerd.toml" "$here/kind-node/pause.c"
)
recipe=$( { echo "$K8S_VERSION $KIND_VERSION $CONTAINERD_VERSION $ETCD_VERSION $PAUSE_VERSION"; cat "${node_files[@]}"; } | sha256sum | cut -c1-16)

current=$(docker image inspect --format '{{index .Config.Labels "dev.kprep.node-recipe"}}' "$image" 2>/dev/null || true)
if [[ "$current" == "$recipe" && -x "$cache/bin/kind" ]]; then
  echo "$image"
  exit 0
fi

command -v go >/dev/null || die "Go 1.26+ is required (https://go.dev/dl)"
command -v gcc >/dev/null || die "gcc is required for the pause binary (apt-get install gcc libc6-dev)"
docker info >/dev/null 2>&1 || die "Docker does not answer: run hack/docker-up.sh"
start=$(date +%s)
mkdir -p "$cache/bin"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

# -- 1. binaries ---------------------------------------------------------------
step "Kubernetes binaries (control-plane and node groups)"
k8s_bin=$("$here/build-binaries.sh" control-plane node)
step_done

if [[ ! -f "$cache/bin/.complete-kind" || ! -x "$cache/bin/kind" ]]; then
  step "kind v$KIND_VERSION"
  (cd "$here/modules/kind" && go build -trimpath -ldflags "-s -w" -o "$cache/bin/kind" sigs.k8s.io/kind)
  [[ $("$cache/bin/kind" version) == "kind v$KIND_VERSION "* ]] || die "kind reports '$("$cache/bin/kind" version)'"
  touch "$cache/bin/.complete-kind"
  step_done
fi

if [[ ! -f "$cache/bin/.complete-containerd" ]]; then
  step "containerd v$CONTAINERD_VERSION"
  # The same tags kind's base image builds with: no optional snapshotters.
  (cd "$here/modules/containerd" && go build -trimpath -tags "no_btrfs no_devmapper no_zfs no_aufs" \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=v$CONTAINERD_VERSION -X github.com/containerd/containerd/v2/version.Revision=kprep" \
    -o "$cache/bin/" \
    github.com/containerd/containerd/v2/cmd/containerd \
    github.com/containerd/containerd/v2/cmd/ctr \
    github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2)
  [[ $("$cache/bin/containerd" --version) == *" v$CONTAINERD_VERSION "* ]] || die "containerd reports '$("$cache/bin/containerd" --version)'"
  touch "$cache/bin/.complete-containerd"
  step_done
fi

if [[ ! -x "$cache/bin/pause" ]]; then
  gcc -static -O2 -s -o "$cache/bin/pause.tmp" "$here/kind-node/pause.c"
  mv "$cache/bin/pause.tmp" "$cache/bin/pause"
fi

# -- 2. rootfs -----------------------------------------------------------------
step "Debian rootfs"
rootfs=$("$here/build-debian-rootfs.sh")
step_done

# -- 3. component images -------------------------------------------------------
images_tar=$cache/images-$recipe.tar
if [[ ! -f "$images_tar" ]]; then
  step "component images"
  # What kubeadm asks for, minus the addons kprep's clusters skip.
  mapfile -t wanted < <("$k8s_bin/kubeadm" config images list --kubernetes-version "v$K8S_VERSION" 2>/dev/null \
    | grep -v -e /kube-proxy: -e /coredns)
  (( ${#wanted[@]} == 5 )) || die "kubeadm asks for unexpected images: ${wanted[*]}"
  # The pause tag containerd's sandbox_image names, if kubeadm names another one.
  mapfile -t refs < <(printf '%s\n' "${wanted[@]}" "registry.k8s.io/pause:$PAUSE_VERSION" | sort -u)
  tags=()
  # Built under a kprep-only name and renamed inside the node: the host's Docker
  # never gets a registry.k8s.io tag that is not the real image.
  build_prefix=kprep-build.invalid/$recipe
  for ref in "${refs[@]}"; do
    name=${ref##*/}
    name=${name%%:*}
    case "$name" in
      kube-apiserver | kube-controller-manager | kube-scheduler) binary=$k8s_bin/$name; version=v$K8S_VERSION ;;
      etcd) binary=$k8s_bin/etcd; version=v$ETCD_VERSION ;;
      pause) binary=$cache/bin/pause; version=$PAUSE_VERSION-kprep ;;
      *) die "no binary for $ref" ;;
    esac
    # FROM scratch + one binary, at / for pause (the kubelet runs /pause) and on
    # PATH for the others (kubeadm's static pods run them by name).
    staging=$(mktemp -d)
    if [[ $name == pause ]]; then
      install -m 0755 "$binary" "$staging/pause"
      entry='ENTRYPOINT ["/pause"]'
    else
      install -D -m 0755 "$binary" "$staging/usr/local/bin/$name"
      entry="ENTRYPOINT [\"/usr/local/bin/$name\"]"
    fi
    tar -C "$staging" --numeric-owner --owner=0 --group=0 -cf - . \
      | docker import --change "ENV PATH=/usr/local/bin:/usr/bin:/bin" --change "$entry" \
        --change "LABEL dev.kprep.binary-version=$version" - "$build_prefix/$ref" >/dev/null
    rm -rf "$staging"
    tags+=("$build_prefix/$ref")
  done
  printf '%s\n' "${refs[@]}" >"$cache/images-$recipe.list"
  docker save -o "$images_tar.tmp" "${tags[@]}"
  docker rmi "${tags[@]}" >/dev/null
  mv "$images_tar.tmp" "$images_tar"
  step_done
fi

# -- 4. the node's file system ---------------------------------------------------
fs_image=kprep/kind-node-fs:$recipe
if ! docker image inspect "$fs_image" >/dev/null 2>&1; then
  step "node file system ($fs_image)"
  kind_dir=$(cd "$here/modules/kind" && go list -m -f '{{.Dir}}' sigs.k8s.io/kind)
  [[ -d "$kind_dir/images/base/files" ]] || die "kind's node files are missing from $kind_dir"
  ctx=$(mktemp -d "${TMPDIR:-/tmp}/kprep-node-ctx.XXXXXX")
  trap 'rm -rf "$ctx"' EXIT
  files=$ctx/files
  mkdir -p "$files"
  # kind's node files (entrypoint, systemd units, kubelet drop-ins, sysctls), with
  # kind's modes: scripts 0755, the rest 0644. Its containerd config is replaced.
  cp -r "$kind_dir/images/base/files/." "$files/"
  chmod -R u+w "$files"
  find "$files" -type d -exec chmod 0755 {} +
  find "$files" -type f -exec chmod 0644 {} +
  chmod 0755 "$files"/usr/local/bin/* "$files"/kind/bin/*
  rm -f "$files/usr/local/bin/clean-install" "$files/etc/crictl.yaml"
  install -m 0644 "$here/kind-node/containerd.toml" "$files/etc/containerd/config.toml"
  # Every registry resolves to a closed port: a missing image fails at once.
  for registry in _default docker.io registry.k8s.io quay.io ghcr.io gcr.io nvcr.io; do
    mkdir -p "$files/etc/containerd/certs.d/$registry"
    printf '# kprep: nothing is pulled in this node; images come with it or by `kind load`.\nserver = "http://127.0.0.1:9"\n' \
      >"$files/etc/containerd/certs.d/$registry/hosts.toml"
  done
  install -D -m 0755 "$here/runc-capstrip" "$files/usr/local/sbin/runc-capstrip"
  install -D -m 0755 -t "$files/usr/local/bin" \
    "$cache/bin/containerd" "$cache/bin/ctr" "$cache/bin/containerd-shim-runc-v2"
  install -D -m 0755 -t "$files/usr/bin" "$k8s_bin/kubelet" "$k8s_bin/kubeadm" "$k8s_bin/kubectl"
  mkdir -p "$files/kind"
  echo "v$K8S_VERSION" >"$files/kind/version"
  cp "$here/kind-node/Dockerfile" "$ctx/"
  if ! docker build --force-rm --network none --build-arg "ROOTFS=$rootfs" -t "$fs_image" "$ctx" >"$ctx/build.log" 2>&1; then
    tail -n 30 "$ctx/build.log" >&2
    die "docker build of the node file system failed"
  fi
  rm -rf "$ctx"
  trap - EXIT
  step_done
fi

# -- 5. the node image -----------------------------------------------------------
step "node image ($image)"
builder=kprep-node-build-$$
trap 'docker rm -f -v "$builder" >/dev/null 2>&1 || true' EXIT
docker run -d --name "$builder" --privileged --network none --entrypoint sleep \
  -v "$images_tar:/kind/images.tar:ro" "$fs_image" infinity >/dev/null
in_node() { docker exec "$builder" "$@"; }
in_node sh -c 'nohup containerd >/tmp/containerd.log 2>&1 &'
for _ in $(seq 1 60); do
  in_node ctr version >/dev/null 2>&1 && break
  sleep 0.5
done
in_node ctr version >/dev/null 2>&1 || { in_node tail -n 20 /tmp/containerd.log >&2 || true; die "containerd did not start in the build container"; }
in_node ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned \
  --all-platforms --no-unpack /kind/images.tar >/dev/null
in_node sh -c 'ctr -n k8s.io images list --quiet | grep "^kprep-build.invalid/" | while read -r src; do
  dst=${src#kprep-build.invalid/*/}
  ctr -n k8s.io images tag --force "$src" "$dst" >/dev/null
  ctr -n k8s.io images label "$dst" io.cri-containerd.pinned=pinned >/dev/null
  ctr -n k8s.io images rm "$src" >/dev/null
done'
missing=$(comm -23 <(sort "$cache/images-$recipe.list") \
  <(in_node ctr --namespace=k8s.io images list --quiet 'labels."io.cri-containerd.pinned"==pinned' | sort))
[[ -z "$missing" ]] || die "not in the node's containerd (pinned) after the import: $missing"
# `sleep` is PID 1 and never reaps, so a stopped containerd stays a zombie (state Z).
in_node sh -c 'pkill -x containerd; for i in $(seq 1 50); do ps -C containerd -o stat= | grep -qv Z || exit 0; sleep 0.2; done; exit 1' \
  || die "containerd did not stop in the build container"
in_node rm -f /tmp/containerd.log
previous=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
docker commit \
  --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
  --change 'CMD []' \
  --change "LABEL dev.kprep.node-recipe=$recipe" \
  "$builder" "$image" >/dev/null
docker rm -f -v "$builder" >/dev/null
trap - EXIT
# The file-system image is the committed image's parent: untagging it frees nothing
# and leaves no stale tags behind (older recipes' included).
docker images --format '{{.Repository}}:{{.Tag}}' kprep/kind-node-fs | xargs -r docker rmi >/dev/null
# The image this one replaces, unless a cluster still runs on it.
[[ -n "$previous" ]] && docker rmi "$previous" >/dev/null 2>&1 || true
step_done

say "done in $(( $(date +%s) - start ))s: $image ($(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
echo "$image"
