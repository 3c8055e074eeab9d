#!/bin/sh
# Runs in the build stage of deploy/Dockerfile (a Debian rootfs with python3.11):
# copies into OUT the interpreter, the part of the standard library a gRPC server can
# use, and every shared library the interpreter and the extension modules under OUT
# load (found with ldd), then byte-compiles everything so the plugin starts fast on a
# read-only root filesystem. OUT already holds /opt/kprep/{site,app}.
set -eu
out=$1
py=/usr/bin/python3.11
stdlib=/usr/lib/python3.11

# Debian's merged /usr: /lib, /lib64, /bin are symlinks into /usr.
mkdir -p "$out/usr/bin" "$out/usr/lib" "$out/usr/lib64" "$out/tmp"
chmod 1777 "$out/tmp"
ln -s usr/lib "$out/lib"
ln -s usr/lib64 "$out/lib64"
ln -s usr/bin "$out/bin"
cp -a "$py" "$out/usr/bin/"
ln -s python3.11 "$out/usr/bin/python3"
ln -s python3 "$out/usr/bin/python"

# The standard library without what a headless gRPC server never imports.
cp -a "$stdlib" "$out/usr/lib/"
cd "$out$stdlib"
rm -rf idlelib tkinter turtledemo turtle.py ensurepip lib2to3 pydoc_data distutils \
  config-3.11-x86_64-linux-gnu site-packages dist-packages \
  lib-dynload/_tkinter* lib-dynload/_sqlite3* lib-dynload/_dbm* lib-dynload/_gdbm* \
  lib-dynload/_curses* lib-dynload/readline* lib-dynload/_lzma* lib-dynload/_bz2* \
  lib-dynload/_test* lib-dynload/xxlimited* sqlite3 curses dbm
find . -name __pycache__ -prune -exec rm -rf {} +

# copy_path ABSOLUTE: copy a file (or symlink) to the same path under OUT. From /
# with a relative path: cp --parents looks the source's folders up relative to the
# current folder.
copy_path() { (cd / && cp -a --parents "${1#/}" "$out"); }

# Shared libraries: each one ldd resolves, as the name asked for (often a symlink)
# and as the file it points to, at their real /usr paths.
find "$out" -type f \( -name '*.so' -o -name '*.so.*' -o -path "$out$py" \) |
  while read -r elf; do ldd "$elf" 2>/dev/null || true; done |
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u |
  while read -r lib; do
    named="$(readlink -f "$(dirname "$lib")")/$(basename "$lib")"
    copy_path "$named"
    copy_path "$(readlink -f "$lib")"
  done
# The loader the interpreter names (PT_INTERP) must exist under its own path.
copy_path /usr/lib64/ld-linux-x86-64.so.2

# Byte-compile, recording the paths the files will have in the image; unchecked-hash:
# the image never changes, so the interpreter need not stat each source file.
"$py" -m compileall -q -j 0 --invalidation-mode unchecked-hash -s "$out" -p / "$out$stdlib" "$out/opt/kprep" >/dev/null
