#!/usr/bin/env bash
# Prepares this machine for kprep's kind live tests (tests/live/test_kind.py), for CI and
# for anyone running them: everything the tests need that is not Python.
#
#   1. Docker answering (hack/docker-up.sh: starts Debian's dockerd, and only on a machine
#      whose capability bounding set lacks CAP_SYS_RESOURCE registers the runc wrapper);
#   2. the kind node image (hack/build-kind-node.sh: cached by its recipe label, instant
#      when built; cold ~6 min on 2 cores with warm Go caches, bench/README.md); it also
#      builds the kind CLI into kprep's cache, where `kprep` finds it;
#   3. the fake GPU device plugin image (hack/build-plugin-image.sh: cached by its recipe
#      label).
#
# The tests themselves create the kind cluster (`kprep cluster up --provider kind`) in
# $KPREP_KIND_HOME (else a temporary folder) and delete it at the end. A step that fails
# fails this script with the reason: CI must fail, never skip, without kind.
# Heavy steps run under flock /tmp/kprep-heavy.lock (a shared machine builds one thing at
# a time). Usage: bash hack/ci-kind.sh   (root; prints each step's time)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lock=${KPREP_HEAVY_LOCK:-/tmp/kprep-heavy.lock}

say() { echo "ci-kind: $*" >&2; }
timed() {
  local name=$1 start
  shift
  start=$(date +%s)
  "$@" >/dev/null
  say "$name: $(( $(date +%s) - start ))s"
}

timed "docker" bash "$here/docker-up.sh"
timed "node image" flock "$lock" bash "$here/build-kind-node.sh"
timed "plugin image" flock "$lock" bash "$here/build-plugin-image.sh"
# `kind create` with nine nodes needs more inotify instances than Debian's default (128).
if (( $(cat /proc/sys/fs/inotify/max_user_instances) < 512 )); then
  say "raising fs.inotify.max_user_instances to 512 (kind nodes each watch files)"
  sysctl -q -w fs.inotify.max_user_instances=512
fi
