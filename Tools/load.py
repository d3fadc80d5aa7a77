#!/usr/bin/env python3
"""Load test for `rstore serve`: N concurrent clients for T seconds issuing a mix of search,
embeddings and thumbnail requests; reports requests/s, p50/p99 latency per kind, errors, and
the server's RSS (VmRSS from /proc/PID/status) at start and end plus its cache figures.

Starts its own server on a store of the sample videos (indexing them first if needed), or
attaches to a running one with --url and --pid.

  python3 Tools/load.py [--clients 50] [--seconds 30] [--model DIR] [--store FILE] [--port 8766]
  python3 Tools/load.py --url http://127.0.0.1:8080 --pid 1234 [--token T]
"""
import argparse, http.client, json, os, random, subprocess, sys, threading, time, urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUERIES = ["a rabbit in the grass", "people riding bikes", "a man talking on the phone", "a car",
           "a tree", "blue sky", "a close-up of a face", "a street at night", "animals", "a bicycle race"]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--url")
    ap.add_argument("--pid", type=int)
    ap.add_argument("--token", default=os.environ.get("RSTORE_TOKEN"))
    ap.add_argument("--model", default=os.environ.get("RSTORE_MODEL"))
    ap.add_argument("--store", default=os.path.join(ROOT, ".build/screenshot/samples.rstore"))
    ap.add_argument("--port", type=int, default=8766)
    ap.add_argument("--rstore", default=os.environ.get("RSTORE", os.path.join(ROOT, ".build/release/rstore")))
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    a = ap.parse_args()

    server = None
    if a.url:
        if not a.pid:
            sys.exit("--url needs --pid (to read the server's RSS)")
        url, pid = a.url, a.pid
    else:
        if not a.model:
            default = os.path.expanduser("~/.local/share/rstore/models/default")
            a.model = default if os.path.exists(os.path.join(default, "model.safetensors")) else os.path.join(ROOT, ".build/screenshot-model")
        samples = os.path.join(ROOT, "media/samples")
        os.makedirs(os.path.dirname(a.store), exist_ok=True)
        subprocess.run([a.rstore, "index", "--store", a.store, "--model", a.model, samples], check=True, stdout=subprocess.DEVNULL)
        server = subprocess.Popen([a.rstore, "serve", "--store", a.store, "--model", a.model, "--port", str(a.port),
                                   "--library-root", samples], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        url, pid = f"http://127.0.0.1:{a.port}", server.pid
    u = urllib.parse.urlparse(url)
    headers = {"Authorization": f"Bearer {a.token}"} if a.token else {}

    def get(conn, path):
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        body = r.read()
        return r.status, body

    # Wait for the server, then learn the library.
    deadline = time.time() + 60
    while True:
        try:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
            st, body = get(c, "/healthz")
            if st == 200:
                break
        except OSError:
            pass
        if time.time() > deadline:
            sys.exit("server did not come up")
        time.sleep(0.2)
    st, body = get(c, "/v1/videos?status=ready")
    videos = json.loads(body)["videos"]
    if not videos:
        sys.exit("no ready videos in the store")
    # Warm-up: one request of each kind (text encoder, first decode), not counted.
    get(c, "/v1/search?q=warm+up&k=10")
    c.close()

    rss_start = rss_kb(pid)
    stop = time.time() + a.seconds
    lock = threading.Lock()
    lat = {"search": [], "embeddings": [], "thumbnail": []}
    errors = {"search": 0, "embeddings": 0, "thumbnail": 0}
    error_samples = []
    rss_samples = [rss_start]

    def client(seed):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        while time.time() < stop:
            v = rng.choice(videos)
            r = rng.random()
            if r < 0.34:
                kind, path = "search", "/v1/search?q=" + urllib.parse.quote(rng.choice(QUERIES)) + f"&k={rng.choice([5, 10, 20])}"
            elif r < 0.67:
                t0 = rng.uniform(0, max(0.0, v["duration"] - 4))
                kind, path = "embeddings", f"/v1/videos/{v['id']}/embeddings?from={t0:.2f}&to={t0 + 4:.2f}"
            else:
                kind, path = "thumbnail", f"/v1/videos/{v['id']}/frames/{rng.randrange(max(1, v['frames']))}.jpg"
            t = time.perf_counter()
            try:
                st, body = get(conn, path)
                ok = st == 200
            except Exception as e:  # connection reset, timeout
                st, body, ok = str(e), b"", False
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            dt = time.perf_counter() - t
            with lock:
                if ok:
                    lat[kind].append(dt)
                else:
                    errors[kind] += 1
                    if len(error_samples) < 5:
                        error_samples.append(f"{path}: {st} {body[:200]!r}")
        conn.close()

    def sampler():
        while time.time() < stop:
            time.sleep(1)
            rss_samples.append(rss_kb(pid))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
    t0 = time.time()
    for t in threads + [threading.Thread(target=sampler, daemon=True)]:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    rss_end = rss_kb(pid)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    health = json.loads(get(c, "/healthz")[1])

    total = sum(len(x) for x in lat.values())
    all_lat = [x for xs in lat.values() for x in xs]
    out = {
        "clients": a.clients, "seconds": round(wall, 1), "requests": total + sum(errors.values()),
        "requests_per_s": round((total + sum(errors.values())) / wall, 1),
        "p50_ms": round(pct(all_lat, 50) * 1000, 1), "p99_ms": round(pct(all_lat, 99) * 1000, 1),
        "errors": sum(errors.values()),
        "by_kind": {k: {"ok": len(v), "errors": errors[k], "p50_ms": round(pct(v, 50) * 1000, 1), "p99_ms": round(pct(v, 99) * 1000, 1)} for k, v in lat.items()},
        "rss_start_mb": round(rss_start / 1024, 1), "rss_end_mb": round(rss_end / 1024, 1), "rss_max_mb": round(max(rss_samples + [rss_end]) / 1024, 1),
        "thumbnail_cache": health.get("thumbnail_cache"), "frame_cache": health.get("frame_cache"),
    }
    print(f"{a.clients} clients, {wall:.1f} s against {url} ({len(videos)} videos, model {health.get('model')})")
    print(f"requests: {out['requests']}  ({out['requests_per_s']} req/s)  errors: {out['errors']}")
    print(f"latency all: p50 {out['p50_ms']} ms  p99 {out['p99_ms']} ms")
    for k, v in out["by_kind"].items():
        print(f"  {k:10s} ok {v['ok']:6d}  errors {v['errors']:3d}  p50 {v['p50_ms']:8.1f} ms  p99 {v['p99_ms']:8.1f} ms")
    print(f"server RSS: start {out['rss_start_mb']} MB, end {out['rss_end_mb']} MB, max {out['rss_max_mb']} MB")
    tc, fc = health.get("thumbnail_cache", {}), health.get("frame_cache", {})
    print(f"thumbnail cache {tc.get('bytes')}/{tc.get('budget')} bytes ({tc.get('entries')} entries, {tc.get('hits')} hits); "
          f"frame cache {fc.get('bytes')}/{fc.get('budget')} bytes ({fc.get('entries')} entries)")
    for s in error_samples:
        print("  error:", s)
    if a.json:
        print(json.dumps(out))
    if server:
        server.terminate()
        server.wait(timeout=10)
    return 1 if out["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
