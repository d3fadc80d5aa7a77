#!/usr/bin/env bash
# Makes a RANDOM-weight ViT-B/32 with CLIP's real tokenizer in DIR unless DIR already holds a
# model: every path runs, but similarities mean nothing (import real weights, see README).
#     Tools/random-model.sh RSTORE_BINARY DIR
set -euo pipefail
cd "$(dirname "$0")/.."
RSTORE="$1"; MODEL="$2"
[ -f "$MODEL/model.safetensors" ] && exit 0
echo "no model at $MODEL: generating a random-weight ViT-B/32 (scores mean nothing; see README: real weights)" >&2
VOCAB="$(mktemp -d)"
trap 'rm -rf "$VOCAB"' EXIT
python3 Tools/make-vocab.py "$VOCAB"
"$RSTORE" model init-random "$MODEL" --arch B/32 --vocab "$VOCAB"
