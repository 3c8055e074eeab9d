#!/usr/bin/env bash
# Builds the fake GPU device plugin image (deploy/Dockerfile) that kprep loads into
# kind nodes with `kind load`, offline and small:
#
# - the wheels for grpcio, protobuf and typing_extensions (the versions the committed
#   stubs in app/deviceplugin/v1beta1 require) are fetched on the host with
#   `pip download` into $cache_root/kprep/wheels once, and unpacked for the image's
#   Python (cp311, manylinux) with `pip install --target`; nothing inside the
#   container build reaches a registry (it runs with --network none);
# - the build stage is the local Debian rootfs (hack/build-debian-rootfs.sh), the
#   final stage is scratch plus the interpreter, its libraries and a trimmed stdlib;
# - the build context is a temporary folder holding only those files, not the
#   checkout (the legacy builder ignores Dockerfile.dockerignore).
#
# The image carries the label dev.kprep.plugin-recipe, a hash of everything that goes
# into it; a second run with an image of the same recipe prints it and exits. The tag
# is set by `docker build` only when the build succeeds.
# Usage: hack/build-plugin-image.sh [IMAGE]   (default kprep/fake-gpu-plugin:<kprep
#   version>; prints the image reference; needs docker, and root for a first rootfs)
set -euo pipefail

GRPCIO_VERSION=1.85.3
PROTOBUF_VERSION=7.36.2
TYPING_EXTENSIONS_VERSION=4.16.0
PYTHON_TAG=311  # bookworm's python3.11

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}
wheel_dir=$cache_root/kprep/wheels
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$repo/app/__init__.py")
image=${1:-kprep/fake-gpu-plugin:$version}
arch=$(uname -m)
pins=("grpcio==$GRPCIO_VERSION" "protobuf==$PROTOBUF_VERSION" "typing_extensions==$TYPING_EXTENSIONS_VERSION")
platforms=(--platform "manylinux2014_$arch" --platform "manylinux_2_28_$arch")

say() { echo "build-plugin-image: $*" >&2; }

start=$(date +%s)
rootfs=$("$here/build-debian-rootfs.sh")

sources=("$repo/deploy/Dockerfile" "$repo/deploy/assemble-python.sh" "$repo/app/__init__.py")
while IFS= read -r f; do sources+=("$f"); done < <(cd "$repo" && find app/deviceplugin -name '*.py' -not -path '*/__pycache__/*' | sort | sed "s|^|$repo/|")
recipe=$( { echo "$rootfs ${pins[*]} $arch"; cat "${sources[@]}"; } | sha256sum | cut -c1-16)

current=$(docker image inspect --format '{{index .Config.Labels "dev.kprep.plugin-recipe"}}' "$image" 2>/dev/null || true)
if [[ "$current" == "$recipe" ]]; then
  echo "$image"
  exit 0
fi

python=python3
[[ -x "$repo/.venv/bin/python" ]] && python=$repo/.venv/bin/python
have_wheels() {
  local pin name ver
  for pin in "${pins[@]}"; do
    name=${pin%%==*}
    ver=${pin##*==}
    compgen -G "$wheel_dir/${name}-${ver}-*.whl" >/dev/null || return 1
  done
}
if ! have_wheels; then
  say "fetching wheels (${pins[*]}) for cp$PYTHON_TAG $arch into $wheel_dir"
  mkdir -p "$wheel_dir"
  "$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    "${platforms[@]}" --python-version "$PYTHON_TAG" --implementation cp --abi "cp$PYTHON_TAG" \
    -d "$wheel_dir" "${pins[@]}" >&2
fi

ctx=$(mktemp -d "${TMPDIR:-/tmp}/kprep-plugin-ctx.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
"$python" -m pip install --quiet --disable-pip-version-check --no-deps --no-index \
  --find-links "$wheel_dir" --only-binary=:all: "${platforms[@]}" \
  --python-version "$PYTHON_TAG" --implementation cp --abi "cp$PYTHON_TAG" \
  --target "$ctx/site" "${pins[@]}" >&2
# Metadata scripts and caches are not needed at run time.
rm -rf "$ctx/site/bin"
find "$ctx/site" -name __pycache__ -prune -exec rm -rf {} +
mkdir -p "$ctx/app"
cp "$repo/app/__init__.py" "$ctx/app/"
(cd "$repo" && find app/deviceplugin -name '*.py' -not -path '*/__pycache__/*' -exec cp --parents {} "$ctx/" \;)
cp "$repo/deploy/Dockerfile" "$repo/deploy/assemble-python.sh" "$ctx/"

previous=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
say "building $image from $rootfs (context $(du -sh "$ctx" | cut -f1))"
log=$ctx/build.log
if ! docker build --force-rm --network none --build-arg "ROOTFS=$rootfs" \
  --label "dev.kprep.plugin-recipe=$recipe" -t "$image" "$ctx" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  say "docker build failed"
  exit 1
fi
docker image prune --force --filter label=dev.kprep.build-stage=plugin >/dev/null
# The image this one replaces, unless a container still uses it.
[[ -n "$previous" ]] && docker rmi "$previous" >/dev/null 2>&1 || true
say "done in $(( $(date +%s) - start ))s: $(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%.1f MB", $1/1e6}')"
echo "$image"
