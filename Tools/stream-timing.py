#!/usr/bin/env python3
"""Time to the first streamed line (coarse) and to the last (done) of GET /v1/search?stream=true,
as a client sees them, alternating between servers (e.g. the frame tier on and off) query by
query, so both meet the same load; give queries new to the servers (a repeated one finds its
P-features cached). Token-less loopback servers (`rstore serve` without --token-file).

Usage: Tools/stream-timing.py NAME=URL [NAME=URL...] -- QUERY...
  e.g. rstore serve --store S --model M --port 8801 &
       rstore serve --store S --model M --port 8802 --frame-tier-mb 0 &
       Tools/stream-timing.py on=http://127.0.0.1:8801 off=http://127.0.0.1:8802 -- "a dog" "a red car"
"""
import http.client, json, sys, time, urllib.parse, statistics

args = sys.argv[1:]
cut = args.index("--")
servers = [a.split("=", 1) for a in args[:cut]]
queries = args[cut + 1:]
rows = {name: [] for name, _ in servers}
for q in queries:
    for name, url in servers:
        u = urllib.parse.urlparse(url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
        t0 = time.perf_counter()
        c.request("GET", "/v1/search?" + urllib.parse.urlencode({"q": q, "k": 10, "stream": "true"}))
        r = c.getresponse()
        assert r.status == 200, (r.status, r.read()[:300])
        times, events, last = [], [], None
        while True:
            line = r.readline()
            if not line:
                break
            times.append(time.perf_counter() - t0)
            last = json.loads(line)
            events.append(last["event"])
        c.close()
        s = last["search"]
        rows[name].append((times[0], times[-1]))
        print(f"{name:8s} {q[:38]:38s} first {times[0]*1000:7.0f} ms  final {times[-1]*1000:7.0f} ms  "
              f"events {','.join(events)}  p_frames {s['p_frames']} decoded {s['decoded_frames']} tier {s['frame_cache_hits']} "
              f"stage1 {s['stage1_ms']:.0f} ms stage2 {s['stage2_ms']:.0f} ms", flush=True)
for name, r in rows.items():
    f = [a for a, _ in r]; l = [b for _, b in r]
    print(f"{name}: first line p50 {statistics.median(f)*1000:.0f} ms (max {max(f)*1000:.0f}); "
          f"final line p50 {statistics.median(l)*1000:.0f} ms (max {max(l)*1000:.0f}); n={len(r)}")
