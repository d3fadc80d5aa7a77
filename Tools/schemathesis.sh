#!/usr/bin/env bash
# Checks the HTTP API against its own OpenAPI document with schemathesis (PyPI): starts
# `rstore serve` on a free loopback port over a small temporary store (tiny-clip fixture model,
# one short generated video), runs schemathesis against /openapi.json with the checks
# not_a_server_error and response_schema_conformance and a bounded number of examples per
# operation, then stops the server. Exit status: schemathesis's.
#
#   Tools/schemathesis.sh                  # builds rstore if needed
#   RSTORE=.build/debug/rstore ST_EXAMPLES=25 Tools/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

command -v schemathesis >/dev/null || { echo "schemathesis is not installed (pip install schemathesis)" >&2; exit 2; }
command -v ffmpeg >/dev/null || { echo "ffmpeg is not installed" >&2; exit 2; }
RSTORE="${RSTORE:-.build/debug/rstore}"
[ -x "$RSTORE" ] || swift build --product rstore
EXAMPLES="${ST_EXAMPLES:-20}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/rstore-st.XXXXXX")"
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/lib"
ffmpeg -v error -y -f lavfi -i testsrc2=size=160x120:rate=10 -t 4 -c:v libx264 -g 10 -pix_fmt yuv420p "$tmp/lib/a.mp4"
model="Tests/CLIPTests/Fixtures/tiny-clip"
"$RSTORE" index --model "$model" --store "$tmp/store.rstore" "$tmp/lib/a.mp4" >/dev/null
token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$token" > "$tmp/token"
chmod 600 "$tmp/token"   # rstore serve refuses a token file others may read

"$RSTORE" serve --model "$model" --store "$tmp/store.rstore" --port 0 --token-file "$tmp/token" \
    --library-root "$tmp/lib" --max-p-frames 64 --max-decoded-frames 64 > "$tmp/serve.log" 2>&1 &
server=$!
url=""
for _ in $(seq 1 300); do
    url="$(sed -n 's|^rstore serving .* on \(http://[^ ]*/\) .*|\1|p' "$tmp/serve.log" | head -1)"
    [ -n "$url" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$url" ] || { echo "rstore serve did not start" >&2; cat "$tmp/serve.log" >&2; exit 1; }

status=0
# From the temporary folder: schemathesis keeps a .schemathesis/ cache in its working folder.
(cd "$tmp" && schemathesis run "${url}openapi.json" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$EXAMPLES" --generation-deterministic --request-timeout 30 \
    --header "Authorization: Bearer $token" "$@") || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- rstore serve log" >&2
    tail -n 50 "$tmp/serve.log" >&2
fi
exit "$status"
