#!/usr/bin/env bash
# Builds the Debian rootfs image kprep's local images start from, with nothing but
# debootstrap and a Debian mirror: no base image is ever pulled from a registry.
#
# It holds what a kind node runs (systemd, iptables, runc, the CNI plugins, ...; the
# list kind v0.33.0's base image installs, minus NFS/iSCSI/curl) plus python3.11, which
# only the device plugin image's build stage uses (hack/build-plugin-image.sh copies
# the interpreter out of it). One rootfs, one debootstrap, for both.
#
# The image is tagged kprep/debian-rootfs:<suite>-<hash of the package list and
# suite>, only after the import succeeded: a tag that exists is complete, and is the
# stamp (a second run finds it and prints it). Downloaded .debs are kept in
# $cache_root/kprep/debootstrap so a rebuild does not download them again.
# Mirror: KPREP_DEBIAN_MIRROR, else the first Debian URI in this machine's apt
# sources, else http://deb.debian.org/debian.
# Usage: hack/build-debian-rootfs.sh   (prints the image reference; needs root, docker)
set -euo pipefail

SUITE=bookworm
PACKAGES=(
  # services
  systemd systemd-sysv dbus
  # Kubernetes components, the container runtime, kind's entrypoint
  conntrack iptables nftables iproute2 ethtool util-linux mount kmod libseccomp2 pigz
  fuse-overlayfs e2fsprogs bash ca-certificates jq procps runc containernetworking-plugins
  # the device plugin image's build stage
  python3.11-minimal libpython3.11-stdlib
)

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}
deb_cache=$cache_root/kprep/debootstrap
recipe_hash=$( { echo "$SUITE"; printf '%s\n' "${PACKAGES[@]}"; } | sha256sum | cut -c1-12)
image=kprep/debian-rootfs:$SUITE-$recipe_hash

say() { echo "build-debian-rootfs: $*" >&2; }

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi

[[ $(id -u) == 0 ]] || { say "debootstrap needs root"; exit 1; }
if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2 \
    || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2; }
fi

mirror=${KPREP_DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)\/*$/\1/p' | head -1)
fi
if [[ -z $mirror ]]; then
  mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\/debian\)\/*[[:space:]].*/\2/p' /etc/apt/sources.list 2>/dev/null | head -1)
fi
mirror=${mirror:-http://deb.debian.org/debian}

start=$(date +%s)
mkdir -p "$deb_cache"
work=$(mktemp -d "${TMPDIR:-/tmp}/kprep-rootfs.XXXXXX")
# debootstrap bind-mounts /proc and /sys into the target; unmount before removing it.
cleanup() {
  for m in proc sys dev/pts dev; do umount -l "$work/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

say "debootstrap $SUITE from $mirror (${#PACKAGES[@]} extra packages) into $work"
include=$(IFS=,; echo "${PACKAGES[*]}")
if ! debootstrap --variant=minbase --cache-dir="$deb_cache" --include="$include" \
  "$SUITE" "$work" "$mirror" >"$work.log" 2>&1; then
  tail -n 30 "$work.log" >&2
  say "debootstrap failed (full log: $work.log)"
  exit 1
fi
rm -f "$work.log"

# Nothing in an image needs apt's lists, docs or locales; the node is never upgraded
# in place (a new image is built instead).
rm -rf "$work"/var/lib/apt/lists/* "$work"/var/cache/apt/* "$work"/usr/share/doc/* \
  "$work"/usr/share/man/* "$work"/usr/share/info/* "$work"/var/log/*.log
find "$work/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'C.*' -exec rm -rf {} + 2>/dev/null || true
for m in proc sys dev/pts dev; do umount -l "$work/$m" 2>/dev/null || true; done

say "importing it as $image"
tar -C "$work" --numeric-owner -cf - . | docker import --message "kprep debootstrap $SUITE" - "$image" >/dev/null
say "done in $(( $(date +%s) - start ))s"
echo "$image"
