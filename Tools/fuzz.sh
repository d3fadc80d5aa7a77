#!/usr/bin/env bash
# Long fuzz campaign over every decoder of untrusted bytes (safetensors files, vocab.json,
# merges.txt, frame-offset blobs, feature blobs): N seeded, mutated inputs per decoder
# (default 100000), in a debug build, where every bounds and overflow check traps.
# Usage: Tools/fuzz.sh [N] [SEED]
# A failing or hanging input is saved as $TMPDIR/rstore-fuzz-<target>-<seed>-<case>.bin.
set -euo pipefail
N="${1:-100000}"
SEED="${2:-1}"
cd "$(dirname "$0")/.."
swift build --build-tests >/dev/null
log="$(mktemp)"
start=$(date +%s)
rc=0
RSTORE_FUZZ_COUNT="$N" RSTORE_FUZZ_SEED="$SEED" swift test --skip-build --filter DecoderFuzzTests >"$log" 2>&1 || rc=$?
grep -E '^fuzz |error:|failed|passed|Executed|saved to' "$log" || true
echo "fuzz: $N inputs per decoder, seed $SEED, $(( $(date +%s) - start )) s in all, exit $rc (full log: $log)"
exit "$rc"
