#!/usr/bin/env bash
# Makes a Docker engine usable for kind on a machine like kprep's CI: a Debian VM with
# no init system to start services and, sometimes, a capability bounding set without
# CAP_SYS_RESOURCE.
#
#   1. If `docker info` answers, nothing is changed: a Docker the user already runs is
#      never reconfigured. Exit 0.
#   2. If there is no dockerd, install Debian's `docker.io` (apt-get).
#   3. Only when the bounding set lacks CAP_SYS_RESOURCE (bit 24 of CapBnd in
#      /proc/self/status): install hack/runc-capstrip as /usr/local/libexec/kprep/
#      runc-capstrip and register it as dockerd's default runtime in
#      /etc/docker/daemon.json (kept keys are merged, not replaced), and say so. Without
#      it, kind's privileged node containers fail with `unable to apply caps`.
#   4. Start dockerd in the background (log: $KPREP_DOCKERD_LOG, default
#      /var/log/kprep-dockerd.log) and wait up to $KPREP_DOCKER_WAIT seconds (default 60)
#      for `docker info`.
#
# Idempotent: a second run finds `docker info` answering and exits. Needs root (or
# sudo) for steps 2-4. Exit status is non-zero with the reason when Docker cannot be
# made to answer.
# Usage: hack/docker-up.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log=${KPREP_DOCKERD_LOG:-/var/log/kprep-dockerd.log}
wait_seconds=${KPREP_DOCKER_WAIT:-60}
wrapper=/usr/local/libexec/kprep/runc-capstrip
runtime_name=kprep-runc-capstrip

say() { echo "docker-up: $*" >&2; }
die() { say "$*"; exit 1; }

docker_answers() { timeout 20 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

if command -v docker >/dev/null && docker_answers; then
  say "Docker answers (server $(docker info --format '{{.ServerVersion}}' 2>/dev/null)); changing nothing"
  exit 0
fi

sudo=""
if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null || die "Docker does not answer and this needs root: run as root, or install sudo"
  sudo="sudo"
fi

if ! command -v dockerd >/dev/null; then
  command -v apt-get >/dev/null || die "no dockerd and no apt-get: install Docker Engine (https://docs.docker.com/engine/install/)"
  say "no dockerd: installing Debian's docker.io (apt-get)"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io jq >&2 \
    || { $sudo apt-get update -q >&2 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io jq >&2; } \
    || die "apt-get could not install docker.io"
fi
command -v dockerd >/dev/null || die "dockerd is still missing after installing docker.io"

# A dockerd that runs but does not answer (socket permissions, a hung daemon) is the
# user's to fix: starting a second one would fight it.
if pgrep -x dockerd >/dev/null; then
  die "dockerd is running (pid $(pgrep -x dockerd | head -1)) but \`docker info\` does not answer: check its log, or that your user may use /var/run/docker.sock"
fi

capbnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
if (( ((0x$capbnd >> 24) & 1) == 0 )); then
  say "this machine's capability bounding set (CapBnd $capbnd) lacks CAP_SYS_RESOURCE:"
  say "privileged containers (every kind node) would fail with 'unable to apply caps'."
  say "registering $wrapper as dockerd's default runtime ($runtime_name) in /etc/docker/daemon.json;"
  say "it removes CAP_SYS_RESOURCE from each container's and exec's capability lists, then runs runc."
  command -v jq >/dev/null || $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq >&2 \
    || die "the runtime wrapper needs jq: apt-get install jq"
  $sudo install -D -m 0755 "$here/runc-capstrip" "$wrapper"
  $sudo mkdir -p /etc/docker
  current='{}'
  [[ -s /etc/docker/daemon.json ]] && current=$($sudo cat /etc/docker/daemon.json)
  merged=$(jq --arg name "$runtime_name" --arg path "$wrapper" \
    '.runtimes[$name] = {path: $path} | ."default-runtime" = $name' <<<"$current") \
    || die "/etc/docker/daemon.json is not valid JSON; fix or remove it"
  if [[ "$merged" != "$(jq . <<<"$current")" ]]; then
    $sudo tee /etc/docker/daemon.json >/dev/null <<<"$merged"
  fi
fi

say "starting dockerd in the background (log: $log)"
# setsid: dockerd outlives this script and the shell that ran it.
$sudo sh -c "setsid dockerd >>'$log' 2>&1 </dev/null &"

deadline=$(( $(date +%s) + wait_seconds ))
until docker_answers; do
  if (( $(date +%s) >= deadline )); then
    say "dockerd did not answer within ${wait_seconds}s; last lines of $log:"
    $sudo tail -n 20 "$log" >&2 || true
    exit 1
  fi
  if ! pgrep -x dockerd >/dev/null; then
    say "dockerd exited; last lines of $log:"
    $sudo tail -n 20 "$log" >&2 || true
    exit 1
  fi
  sleep 1
done
say "Docker answers (server $(docker info --format '{{.ServerVersion}}'), cgroup v$(docker info --format '{{.CgroupVersion}}'))"
