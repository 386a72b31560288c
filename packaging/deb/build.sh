#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# build.sh - build exim4-moat_<version>_<arch>.deb into build/ (make deb).
#
# dpkg-buildpackage wants debian/ at the top of a source tree and writes
# its results next to it: build in a copy of the checkout (without build/
# and .git) under a temporary directory, with packaging/deb as debian/,
# offline and unsigned. The package's tests need root and real daemons, so
# they are skipped unless DEB_BUILD_OPTIONS says otherwise.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build"
work=$(mktemp -d "${TMPDIR:-/tmp}/moat-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

mkdir -p "$work/moat" "$out"
tar -C "$top" --exclude=./build --exclude=./.git --exclude=./run --exclude=./packaging \
    -cf - . | tar -C "$work/moat" -xf -
cp -a "$top/packaging/deb" "$work/moat/debian"
rm -f "$work/moat/debian/build.sh"

cd "$work/moat"
dpkg-checkbuilddeps
DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-nocheck}" dpkg-buildpackage -us -uc -b

for f in "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo; do
    [ -e "$f" ] && mv -f "$f" "$out/"
done
ls "$out"/exim4-moat_*.deb
