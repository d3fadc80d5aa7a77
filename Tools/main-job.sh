#!/usr/bin/env bash
# The main job on the sample videos: index them into a store (I-features only), then answer
# a text search over the library and a range query (dense embeddings, P-frames reconstructed).
set -euo pipefail
cd "$(dirname "$0")/.."
RSTORE=.build/release/rstore
STORE="${RSTORE_STORE:-media/demo.rstore}"
QUERY="${1:-a person riding a bike}"
"$RSTORE" model info
"$RSTORE" index --store "$STORE" media/samples
"$RSTORE" stats --store "$STORE"
echo "== search: \"$QUERY\""
"$RSTORE" search --store "$STORE" "$QUERY" -k 5
echo "== range query: media/samples/bikes.mp4 from 1 s to 4 s (first 8 numbers of each embedding)"
"$RSTORE" embed --store "$STORE" media/samples/bikes.mp4 --from 1 --to 4 |
    python3 -c 'import json,sys
for l in sys.stdin:
    r = json.loads(l); print("t=%6.2fs frame %3d %s (anchor %3d)  [%s ...]" % (r["time"], r["index"], r["kind"], r["anchor"], " ".join("%.3f" % x for x in r["embedding"][:8])))'
