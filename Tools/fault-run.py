#!/usr/bin/env python3
"""Fault run: faults injected into real rstore processes, then what survived is checked.

    python3 Tools/fault-run.py [--rounds 6] [--seed 1] [--rstore PATH] [--model DIR] [--json]

Phases (each on its own fresh store, generated clips, loopback only):
  ingest   `rstore index` killed with SIGKILL at random points, restarted until it finishes
  serve    `rstore serve` killed with SIGKILL at random points while a client keeps asking
           (search, videos, healthz), restarted each time
  disk     the store on a small tmpfs filled mid-ingest, then space freed (root only)
  postgres two `rstore worker`s on a throwaway cluster: one killed, PostgreSQL restarted
           mid-ingest (`pg_ctl restart -m fast`), workers restarted (needs PostgreSQL)
After each phase: `rstore verify` must be clean, every clip ready, and a fixed query must give
the same answer as on a store indexed without faults ("data lost" counts differences).
Prints a table of faults injected, requests served and failed, and data lost.
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def rstore_cmd(a, store, *args, tier=True):
    extra = [] if tier else ["--frame-tier-mb", "0"]
    return [a.rstore, args[0], "--model", a.model, "--store", store, *extra, *args[1:]]


def make_clips(folder, count):
    os.makedirs(folder, exist_ok=True)
    sources = ["testsrc2", "mandelbrot", "smptebars", "rgbtestsrc", "testsrc", "cellauto"]
    paths = []
    for i in range(count):
        p = os.path.join(folder, f"clip{i}.mp4")
        src = sources[i % len(sources)]
        r = run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{src}=size=160x120:rate=10", "-t", "12",
                 "-vf", f"hue=h={i * 40}", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "20", p])
        if r.returncode != 0:
            sys.exit(f"ffmpeg failed: {r.stderr}")
        paths.append(p)
    return paths


def stored(a, store, clip, extra=()):
    """What the store holds of one clip: every sampled frame's index, time and kind, and the
    stored I-features exactly (P-features are recomputed, so they are not what is "stored")."""
    r = run(rstore_cmd(a, store, "embed", *extra, clip, "--from", "0", "--to", "100000"))
    if r.returncode != 0:
        return None
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    return [(x["index"], x["time"], x["kind"], x["embedding"] if x["kind"] == "I" else None) for x in rows]


def check(a, store, clips, reference, extra=()):
    """verify clean, every clip ready, and each clip's stored frames equal to the reference
    store's (indexed once, without faults); a clip that differs or is missing is data lost."""
    v = run(rstore_cmd(a, store, "verify", *extra))
    ls = run(rstore_cmd(a, store, "ls", "--status", "ready", "--json", *extra))
    ready = len(json.loads(ls.stdout)) if ls.returncode == 0 else 0
    lost = sum(1 for c in clips if stored(a, store, c, extra) != reference[c])
    return {"verify_clean": v.returncode == 0, "verify_output": v.stdout.strip().splitlines()[-1:] if v.stdout else [],
            "ready": ready, "data_lost": lost}


def phase_ingest(a, work, clips, reference, rng):
    store = os.path.join(work, "ingest.rstore")
    kills = 0
    for _ in range(a.rounds):
        p = subprocess.Popen(rstore_cmd(a, store, "index", "--chunk-frames", "6", *clips),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 3.0))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait()
    final = run(rstore_cmd(a, store, "index", *clips))
    out = {"faults": kills, "requests_ok": 0, "requests_failed": 0, "final_index_rc": final.returncode}
    out.update(check(a, store, clips, reference))
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def phase_serve(a, work, clips, reference, rng):
    store = os.path.join(work, "serve.rstore")
    run(rstore_cmd(a, store, "index", *clips))
    port = free_port()
    ok = failed = down = kills = 0

    def start():
        p = subprocess.Popen(rstore_cmd(a, store, "serve", "--port", str(port)),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                return p
            except Exception:
                time.sleep(0.1)
        return p

    server = start()
    paths = ["/v1/search?q=a+test+pattern&k=3", "/v1/videos", "/healthz", "/v1/search?q=colour+bars&k=2"]
    for _ in range(a.rounds):
        until = time.time() + rng.uniform(1.0, 4.0)
        while time.time() < until:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{rng.choice(paths)}", timeout=30) as r:
                    r.read()
                    ok += 1
            except urllib.error.HTTPError:
                failed += 1
            except Exception:
                down += 1
        server.send_signal(signal.SIGKILL)
        server.wait()
        kills += 1
        server = start()
    server.send_signal(signal.SIGTERM)
    server.wait()
    out = {"faults": kills, "requests_ok": ok, "requests_failed": failed, "refused_while_down": down}
    out.update(check(a, store, clips, reference))
    return out


def phase_disk(a, work, clips, reference, rng):
    if os.geteuid() != 0:
        return {"skipped": "needs root for a tmpfs"}
    disk = os.path.join(work, "disk")
    os.makedirs(disk, exist_ok=True)
    if run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", disk]).returncode != 0:
        return {"skipped": "cannot mount a tmpfs"}
    try:
        store = os.path.join(disk, "s.rstore")
        run(rstore_cmd(a, store, "index", clips[0], tier=False))
        st = os.statvfs(disk)
        with open(os.path.join(disk, "filler"), "wb") as f:
            f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - 48 * 1024))
        full = run(rstore_cmd(a, store, "index", "--chunk-frames", "6", *clips[1:], tier=False))
        os.remove(os.path.join(disk, "filler"))
        final = run(rstore_cmd(a, store, "index", *clips, tier=False))
        out = {"faults": 1, "requests_ok": 0, "requests_failed": 0, "full_rc": full.returncode,
               "said": (full.stdout + full.stderr).count("disk is full") > 0, "final_index_rc": final.returncode}
        out.update(check(a, store, clips, reference))
        return out
    finally:
        run(["umount", disk])


def phase_postgres(a, work, clips, reference, rng):
    cluster = os.path.join(work, "pg")
    started = run([os.path.join(ROOT, "Tools/pg-cluster.sh"), "start", cluster])
    if started.returncode != 0:
        return {"skipped": f"no PostgreSQL cluster: {started.stderr.strip()[:200]}"}
    url = started.stdout.strip().splitlines()[-1]
    try:
        run([os.path.join(ROOT, "Tools/pg-cluster.sh"), "createdb", cluster, "fault"])
        store = url.rsplit("/", 1)[0] + "/fault"
        folder = os.path.dirname(clips[0])
        root = ["--root", f"clips={folder}"]
        r = run([a.rstore, "enqueue", "--store", store, *root, folder])
        if r.returncode != 0:
            return {"skipped": f"enqueue failed: {r.stderr.strip()[:300]}"}
        faults = 0

        def worker():
            return subprocess.Popen(rstore_cmd(a, store, "worker", *root, "--idle-exit", "5"),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        workers = [worker(), worker()]
        time.sleep(rng.uniform(1, 3))
        workers[0].send_signal(signal.SIGKILL)
        faults += 1
        pg_bin = [d for d in sorted(os.listdir("/usr/lib/postgresql"))][-1]
        ctl = f"/usr/lib/postgresql/{pg_bin}/bin/pg_ctl"
        restart = ["runuser", "-u", "postgres", "--", ctl] if os.geteuid() == 0 else [ctl]
        # The restarted server must not inherit a pipe of ours (it would hold it open for ever).
        subprocess.run(restart + ["-D", os.path.join(cluster, "data"), "-l", os.path.join(cluster, "server.log"),
                                  "restart", "-m", "fast", "-w"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        faults += 1
        deadline = time.time() + 600
        while time.time() < deadline:
            for i, w in enumerate(workers):
                if w.poll() is not None:
                    workers[i] = None
            workers = [w for w in workers if w is not None]
            q = run(rstore_cmd(a, store, "ls", "--status", "ready", "--json"))
            if q.returncode == 0 and len(json.loads(q.stdout)) == len(clips):
                break
            if not workers:
                workers = [worker()]   # a crashed or idle-exited worker is restarted, as a supervisor would
            time.sleep(1)
        for w in workers:
            w.send_signal(signal.SIGTERM)
            w.wait()
        out = {"faults": faults, "requests_ok": 0, "requests_failed": 0}
        out.update(check(a, store, clips, reference, extra=root))
        return out
    finally:
        run([os.path.join(ROOT, "Tools/pg-cluster.sh"), "stop", cluster])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=6, help="kills per phase")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--rstore", default=None, help="the binary (default: .build/release/rstore, else .build/debug/rstore)")
    ap.add_argument("--model", default=os.path.join(ROOT, "Tests/CLIPTests/Fixtures/tiny-clip"))
    ap.add_argument("--phases", default="ingest,serve,disk,postgres")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.rstore is None:
        for c in ("release", "debug"):
            p = os.path.join(ROOT, ".build", c, "rstore")
            if os.path.exists(p):
                a.rstore = p
                break
    if not a.rstore:
        sys.exit("no rstore binary: swift build -c release --product rstore")
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="rstore-fault-")
    os.chmod(work, 0o755)
    try:
        clips = make_clips(os.path.join(work, "clips"), a.clips)
        ref_store = os.path.join(work, "reference.rstore")
        run(rstore_cmd(a, ref_store, "index", *clips))
        reference = {c: stored(a, ref_store, c) for c in clips}
        results = {}
        for phase in a.phases.split(","):
            t0 = time.time()
            results[phase] = globals()[f"phase_{phase}"](a, work, clips, reference, rng)
            results[phase]["seconds"] = round(time.time() - t0, 1)
        if a.json:
            print(json.dumps(results, indent=2, sort_keys=True))
        else:
            print(f"{'phase':10} {'faults':>6} {'req ok':>7} {'req failed':>10} {'verify':>7} {'ready':>6} {'lost':>5} {'s':>6}")
            for phase, r in results.items():
                if "skipped" in r:
                    print(f"{phase:10} skipped: {r['skipped']}")
                    continue
                print(f"{phase:10} {r['faults']:>6} {r['requests_ok']:>7} {r['requests_failed']:>10} "
                      f"{'clean' if r['verify_clean'] else 'DIRTY':>7} {r['ready']:>6} {r['data_lost']:>5} {r['seconds']:>6}")
        bad = [p for p, r in results.items() if "skipped" not in r and (not r["verify_clean"] or r["data_lost"])]
        sys.exit(1 if bad else 0)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
