#!/usr/bin/env bash
# The main job on the sample videos: sample every video at 2 fps, encode the frames with
# CLIP, and answer a text query with the best-matching moments.
set -euo pipefail
cd "$(dirname "$0")/.."
RSTORE=.build/release/rstore
"$RSTORE" model info
"$RSTORE" scan media/samples/*.mp4 --text "${1:-a person riding a bike}" -k 5
