#!/bin/bash
# Thumbnail latency from a fresh `rstore serve` (empty thumbnail cache): tier on (stills) vs --frame-tier-mb 0 (decode the original, the old path).
# usage: Tools/bench-thumbnails.sh STORE MODEL [extra serve args, e.g. --frame-tier-mb 0]; RSTORE: the binary
R=${RSTORE:-.build/release/rstore}
OUT=$(mktemp -d)
STORE=$1; MODEL=$2; shift 2
$R serve --model $MODEL --store $STORE --port 0 "$@" > $OUT/serve.out 2>/dev/null &
PID=$!
for i in $(seq 1 100); do grep -q "http://127.0.0.1:" $OUT/serve.out && break; sleep 0.2; done
PORT=$(grep -o "http://127.0.0.1:[0-9]*" $OUT/serve.out | head -1 | cut -d: -f3)
curl -s "http://127.0.0.1:$PORT/v1/videos" > $OUT/videos.json
python3 - "$PORT" "$OUT/videos.json" <<'PY'
import json,sys,subprocess
port=sys.argv[1]
vs=json.load(open(sys.argv[2]))['videos']
times=[];srcs={}
for v in vs:
    n=v['frames']
    for k in range(3, n, 12):
        out=subprocess.run(['curl','-s','-o','/dev/null','-D','-','-w','%{time_total}',f'http://127.0.0.1:{port}/v1/videos/{v["id"]}/frames/{k}.jpg'],capture_output=True,text=True).stdout
        t=float(out.strip().split('\n')[-1]); times.append(t)
        src=[l.split(':',1)[1].strip() for l in out.split('\n') if l.lower().startswith('x-rstore-thumbnail')]
        s=src[0] if src else '?'; srcs[s]=srcs.get(s,0)+1
times.sort()
p=lambda q: times[min(len(times)-1,int(q*len(times)))]
print(f"n={len(times)} sources={srcs} p50={p(0.5)*1000:.1f}ms p95={p(0.95)*1000:.1f}ms max={times[-1]*1000:.1f}ms sum={sum(times):.2f}s")
PY
kill $PID; wait $PID 2>/dev/null
rm -rf "$OUT"
