#!/usr/bin/env python3
"""Slow clients against a running `rstore serve` (loopback only): opens N connections that
send half a request head and stop, then times M normal requests while they are open, then
waits for the server to close the slow ones (its --idle-timeout). Prints one JSON line.

    Tools/slow-clients.py http://127.0.0.1:8080/ --slow 400 --normal 50 [--path /healthz] [--token-file F]
"""
import argparse, json, os, select, socket, statistics, sys, time, urllib.parse

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--slow", type=int, default=400)
    ap.add_argument("--normal", type=int, default=50)
    ap.add_argument("--path", default="/healthz")
    ap.add_argument("--token-file")
    ap.add_argument("--wait", type=float, default=120, help="seconds to wait for the slow ones to be closed")
    a = ap.parse_args()
    u = urllib.parse.urlparse(a.url)
    host, port = u.hostname, u.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("loopback only")
    auth = ""
    if a.token_file:
        auth = "Authorization: Bearer " + open(a.token_file).read().strip() + "\r\n"
    slow = []
    t0 = time.monotonic()
    for _ in range(a.slow):
        s = socket.create_connection((host, port))
        s.sendall(b"GET /v1/videos HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        slow.append(s)
    opened = time.monotonic() - t0
    lat, fails = [], 0
    for _ in range(a.normal):
        t = time.monotonic()
        try:
            c = socket.create_connection((host, port), timeout=30)
            c.sendall(f"GET {a.path} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}Connection: close\r\n\r\n".encode())
            data = b""
            while True:
                b = c.recv(65536)
                if not b:
                    break
                data += b
            c.close()
            if not data.startswith(b"HTTP/1.1 200"):
                fails += 1
        except OSError:
            fails += 1
        lat.append((time.monotonic() - t) * 1000)
    # How long until the server has closed every slow connection.
    open_ = set(slow)
    deadline = time.monotonic() + a.wait
    while open_ and time.monotonic() < deadline:
        r, _, _ = select.select(list(open_), [], [], 0.5)
        for s in r:
            try:
                if not s.recv(4096):
                    open_.discard(s)
            except OSError:
                open_.discard(s)
    closed_after = time.monotonic() - t0
    for s in slow:
        s.close()
    lat.sort()
    print(json.dumps({"slow_clients": a.slow, "opened_s": round(opened, 2), "normal_requests": a.normal, "normal_failed": fails,
                      "normal_p50_ms": round(statistics.median(lat), 1), "normal_p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1), "normal_max_ms": round(lat[-1], 1),
                      "slow_still_open": len(open_), "slow_all_closed_after_s": round(closed_after, 1) if not open_ else None}))

if __name__ == "__main__":
    main()
