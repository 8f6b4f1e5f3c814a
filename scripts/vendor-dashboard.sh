#!/usr/bin/env bash
# Vendors the dashboard's one third-party library, uPlot (MIT), into
# src/porteiro/api/dashboard/vendor/, so the hub serves every asset itself (no CDN, no
# build step at run time). Run it only to change the version; the files it writes are
# committed.
#
#   scripts/vendor-dashboard.sh            # the pinned version below
#
# To upgrade: set VERSION, set INTEGRITY to the new `npm view uplot@<v> dist.integrity`,
# run this script, check the dashboard (pytest tests/test_dashboard_browser.py) and
# commit the vendor/ folder with the script.
#
# What it does: `npm pack uplot@VERSION` downloads the package tarball from the npm
# registry (the registry's own integrity check applies), then this script checks the
# tarball's sha512 against the INTEGRITY pinned here (so a changed tarball fails
# even when the registry agrees with itself), and copies the minified IIFE build, its
# CSS and the LICENSE into vendor/, with a VERSION file recording where they came from.
# Needs: npm (and its node), tar, sha256sum.
set -euo pipefail

PACKAGE="uplot"
VERSION="1.6.32"
INTEGRITY="sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw=="
FILES=("dist/uPlot.iife.min.js" "dist/uPlot.min.css" "LICENSE")

cd "$(dirname "$0")/.."
DEST="src/porteiro/api/dashboard/vendor"

command -v npm >/dev/null 2>&1 || { echo "npm is needed (apt-get install npm)" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "Fetching ${PACKAGE}@${VERSION} from the npm registry ..."
TARBALL="$(cd "$WORK" && npm pack --silent "${PACKAGE}@${VERSION}" | tail -n 1)"
TARBALL="$WORK/$TARBALL"
[ -f "$TARBALL" ] || { echo "npm pack did not produce a tarball" >&2; exit 1; }

# The tarball's sha512 in npm's Subresource Integrity form (node comes with npm).
ACTUAL="$(node -e 'const c = require("crypto"), f = require("fs");
process.stdout.write("sha512-" + c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"));' "$TARBALL")"
if [ "$ACTUAL" != "$INTEGRITY" ]; then
  echo "Integrity mismatch for ${PACKAGE}@${VERSION}:" >&2
  echo "  expected $INTEGRITY" >&2
  echo "  got      $ACTUAL" >&2
  exit 1
fi
echo "Integrity OK ($INTEGRITY)"

tar -xzf "$TARBALL" -C "$WORK"
mkdir -p "$DEST"
for file in "${FILES[@]}"; do
  src="$WORK/package/$file"
  [ -f "$src" ] || { echo "missing $file in the package" >&2; exit 1; }
  name="$(basename "$file")"
  [ "$name" = "LICENSE" ] && name="uPlot.LICENSE"
  cp "$src" "$DEST/$name"
done
{
  echo "${PACKAGE} ${VERSION}"
  echo "source: npm registry, npm pack ${PACKAGE}@${VERSION}"
  echo "integrity: ${INTEGRITY}"
  echo "license: MIT (uPlot.LICENSE)"
  echo "files: uPlot.iife.min.js uPlot.min.css (from dist/), uPlot.LICENSE"
  echo "written by scripts/vendor-dashboard.sh"
} > "$DEST/VERSION"
(cd "$DEST" && sha256sum uPlot.iife.min.js uPlot.min.css uPlot.LICENSE >> VERSION)
echo "Wrote:"
ls -l "$DEST"
