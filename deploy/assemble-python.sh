#!/bin/sh
# Runs in the build stage of deploy/Dockerfile (a Debian rootfs with python3.11):
# copies into OUT the interpreter, the part of the standard library the plugin's
# gRPC server imports (and its near relatives), and every shared library the
# interpreter and the extension modules under OUT load (found with ldd), then
# byte-compiles. OUT already holds /opt/kprep/{site,app}.
#
# Size is the point: `kind load` copies the image into every GPU node. So the
# standard library and the wheels ship as byte code only (legacy .pyc beside where
# the source was; a traceback from inside them shows no source lines), while the
# plugin's own package keeps its sources. What is removed was checked against
# sys.modules of a running plugin: ssl, hashlib's OpenSSL backend, codecs for Asian
# encodings, decimal, email/http/xml, sqlite, curses, tk, multiprocessing.
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

cp -a "$stdlib" "$out/usr/lib/"
cd "$out$stdlib"
rm -rf idlelib tkinter turtledemo turtle.py ensurepip lib2to3 pydoc_data pydoc.py distutils \
  config-3.11-x86_64-linux-gnu site-packages unittest test sqlite3 curses dbm email http \
  xmlrpc wsgiref xml html multiprocessing venv zoneinfo tomllib _pydecimal.py decimal.py \
  doctest.py mailbox.py imaplib.py smtplib.py nntplib.py ftplib.py poplib.py \
  lib-dynload/_tkinter* lib-dynload/_sqlite3* lib-dynload/_dbm* lib-dynload/_gdbm* \
  lib-dynload/_curses* lib-dynload/readline* lib-dynload/_lzma* lib-dynload/_bz2* \
  lib-dynload/_test* lib-dynload/xxlimited* lib-dynload/_xxtestfuzz* \
  lib-dynload/_codecs_* lib-dynload/_multibytecodec* lib-dynload/_decimal* \
  lib-dynload/_ssl* lib-dynload/_hashlib* lib-dynload/nis* lib-dynload/_crypt* \
  lib-dynload/_uuid* lib-dynload/_ctypes* lib-dynload/audioop* lib-dynload/ossaudiodev* \
  lib-dynload/_multiprocessing* lib-dynload/_posixshmem*
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

# Byte-compile with the paths the files will have in the image. The stdlib and the
# wheels: legacy .pyc beside each source (-b), then the sources go. The plugin: the
# usual __pycache__, sources kept. unchecked-hash: the image never changes, so the
# interpreter need not stat each source.
find "$out/opt/kprep/site" -name __pycache__ -prune -exec rm -rf {} +
"$py" -m compileall -q -j 0 -b --invalidation-mode unchecked-hash -s "$out" -p / \
  "$out$stdlib" "$out/opt/kprep/site" >/dev/null
find "$out$stdlib" "$out/opt/kprep/site" -name '*.py' -delete
"$py" -m compileall -q -j 0 --invalidation-mode unchecked-hash -s "$out" -p / "$out/opt/kprep/app" >/dev/null
