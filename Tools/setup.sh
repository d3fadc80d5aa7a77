#!/usr/bin/env bash
# Fresh machine -> main job. Installs the system libraries (when missing), fetches the
# sample videos, builds rstore (release), prepares a model, and runs the main job.
#
# Model: $RSTORE_MODEL or ~/.local/share/rstore/models/default when it exists (import real
# weights with `rstore model import DIR`); otherwise a RANDOM-weight ViT-B/32 with CLIP's real
# tokenizer is generated there, so every path runs, but similarities are meaningless.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libopenblas-dev libfaiss-dev libgomp1 liblz4-dev libsqlite3-dev pkg-config ffmpeg; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${need[@]}"
fi

Tools/fetch-sample-videos.sh
swift build -c release   # every product: rstore, and rstore-bench (which `rstore bench ...` runs)
RSTORE=.build/release/rstore

MODEL="${RSTORE_MODEL:-${XDG_DATA_HOME:-$HOME/.local/share}/rstore/models/default}"
Tools/random-model.sh "$RSTORE" "$MODEL"
export RSTORE_MODEL="$MODEL"

Tools/main-job.sh
