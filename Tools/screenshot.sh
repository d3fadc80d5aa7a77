#!/usr/bin/env bash
# Screenshot of the search page after a search, in a real headless browser (Debian's Chromium).
#
# Indexes the sample videos (media/samples, fetched by Tools/fetch-sample-videos.sh) into a
# store, starts `rstore serve` on it, opens http://127.0.0.1:PORT/?q=QUERY (the page runs the
# search in `q` on load and opens the best moment in the player) and writes a PNG.
#
# Usage: Tools/screenshot.sh [--model DIR] [--query TEXT] [--out PNG] [--port N] [--store FILE]
#   model: --model, else $RSTORE_MODEL, else ~/.local/share/rstore/models/default, else a
#   random-weight ViT-B/32 generated once into .build/screenshot-model (scores then mean nothing).
#   rstore: $RSTORE, else .build/release/rstore (built when missing).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MODEL="${RSTORE_MODEL:-}"
QUERY="a rabbit in the grass"
OUT="$ROOT/media/serve-screenshot.png"
PORT=8765
STORE="$ROOT/.build/screenshot/samples.rstore"
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --query) QUERY="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --store) STORE="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

RSTORE="${RSTORE:-$ROOT/.build/release/rstore}"
if [ ! -x "$RSTORE" ]; then swift build -c release --product rstore; fi

if [ -z "$MODEL" ]; then
  MODEL="${XDG_DATA_HOME:-$HOME/.local/share}/rstore/models/default"
  if [ ! -f "$MODEL/model.safetensors" ]; then
    MODEL="$ROOT/.build/screenshot-model"
    Tools/random-model.sh "$RSTORE" "$MODEL"
  fi
fi

CHROME="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [ -z "$CHROME" ]; then
  echo "installing chromium (Debian package)" >&2
  apt-get install -y chromium >&2 || { apt-get update >&2 && apt-get install -y chromium >&2; }
  CHROME="$(command -v chromium)"
fi

Tools/fetch-sample-videos.sh >&2
SAMPLES="$ROOT/media/samples"
mkdir -p "$(dirname "$STORE")" "$(dirname "$OUT")"
"$RSTORE" index --store "$STORE" --model "$MODEL" "$SAMPLES" >&2

LOG="$(mktemp)"
"$RSTORE" serve --store "$STORE" --model "$MODEL" --port "$PORT" --library-root "$SAMPLES" >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER" 2>/dev/null; then cat "$LOG" >&2; exit 1; fi
  sleep 0.2
done
cat "$LOG" >&2

ENC="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$QUERY")"
URL="http://127.0.0.1:$PORT/?q=$ENC"
PROFILE="$(mktemp -d)"
# --virtual-time-budget lets the page's fetches, thumbnails and curves finish before the shot.
"$CHROME" --headless --no-sandbox --disable-gpu --hide-scrollbars --mute-audio \
  --user-data-dir="$PROFILE" --window-size=1280,900 --virtual-time-budget=20000 \
  --screenshot="$OUT" "$URL" >&2 2>/dev/null || true
rm -rf "$PROFILE"
if [ ! -s "$OUT" ]; then echo "no screenshot written" >&2; exit 1; fi
echo "$OUT"
