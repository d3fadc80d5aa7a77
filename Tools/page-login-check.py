#!/usr/bin/env python3
"""The search page with a token, in a real headless Chromium (Debian's), driven over the
DevTools protocol: starts `rstore serve --token-file` on a tiny store (tiny-clip fixture, one
generated video), opens the page, types the token into its box, and checks that

  - the page then lists the library and runs a search (reads authenticated by the cookie),
  - a result thumbnail (<img>, which cannot send headers) loaded,
  - the session cookie is HttpOnly (invisible to the page's script) and the page kept no token,
  - a page on another name for the same server (DNS rebinding) gets 421.

Needs: chromium, ffmpeg, `pip install websocket-client`. Usage: Tools/page-login-check.py
[--rstore .build/debug/rstore]. Exit 0 when every check passes.
"""
import argparse, json, os, re, secrets, shutil, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class CDP:
    def __init__(self, ws_url):
        import websocket  # websocket-client
        self.ws = websocket.create_connection(ws_url, timeout=30)
        self.next = 0

    def call(self, method, **params):
        self.next += 1
        self.ws.send(json.dumps({"id": self.next, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=True)
        return r.get("result", {}).get("value")

    def wait(self, expr, what, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.eval(expr):
                return
            time.sleep(0.2)
        raise SystemExit(f"FAIL: timed out waiting for {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rstore", default=os.path.join(ROOT, ".build/debug/rstore"))
    a = ap.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("chromium is not installed")
    tmp = tempfile.mkdtemp(prefix="rstore-page-")
    procs = []
    try:
        lib = os.path.join(tmp, "lib")
        os.makedirs(lib)
        video = os.path.join(lib, "a.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "4",
                        "-c:v", "libx264", "-pix_fmt", "yuv420p", video], check=True)
        model = os.path.join(ROOT, "Tests/CLIPTests/Fixtures/tiny-clip")
        store = os.path.join(tmp, "s.rstore")
        subprocess.run([a.rstore, "index", "--model", model, "--store", store, video], check=True, stdout=subprocess.DEVNULL)
        token = secrets.token_hex(24)
        with open(os.path.join(tmp, "token"), "w") as f:
            f.write(token + "\n")
        os.chmod(os.path.join(tmp, "token"), 0o600)  # rstore serve refuses a token file others may read
        log = open(os.path.join(tmp, "serve.log"), "w+")
        server = subprocess.Popen([a.rstore, "serve", "--model", model, "--store", store, "--port", "0",
                                   "--token-file", os.path.join(tmp, "token"), "--library-root", lib], stdout=log, stderr=log)
        procs.append(server)
        url = None
        for _ in range(300):
            log.seek(0)
            m = re.search(r"on (http://\S+/) ", log.read())
            if m:
                url = m.group(1)
                break
            time.sleep(0.1)
        if not url:
            sys.exit("FAIL: rstore serve did not start")
        browser = subprocess.Popen([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
                                    f"--user-data-dir={tmp}/profile", "about:blank"], stderr=subprocess.PIPE, text=True)
        procs.append(browser)
        ws = None
        for line in browser.stderr:
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                ws = m.group(1)
                break
        port = re.search(r":(\d+)/", ws).group(1)
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
        page = next(t for t in targets if t["type"] == "page")
        cdp = CDP(page["webSocketDebuggerUrl"])
        cdp.call("Page.enable")
        cdp.call("Page.navigate", url=url + "?q=a+colour+test+pattern")
        cdp.wait("document.readyState === 'complete' && getComputedStyle(document.getElementById('auth')).display === 'flex'",
                 "the token box (the page's first reads get 401)")
        cdp.eval(f"document.getElementById('token').value = {json.dumps(token)};"
                 "document.getElementById('auth').requestSubmit(); true")
        cdp.wait("document.querySelectorAll('#library a').length > 0", "the library list")
        cdp.eval("search(document.getElementById('q').value).then(() => true)")
        cdp.wait("[...document.querySelectorAll('.card img')].some(i => i.complete && i.naturalWidth > 0)", "a result thumbnail")
        checks = {
            "library listed": cdp.eval("document.querySelectorAll('#library a').length") >= 1,
            "results shown": cdp.eval("document.querySelectorAll('.card').length") >= 1,
            "cookie invisible to script (HttpOnly)": "rstore_session_" not in (cdp.eval("document.cookie") or ""),
            "token not kept by the page": token not in (cdp.eval("JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.documentElement.outerHTML") or ""),
        }
        cookies = cdp.call("Network.getAllCookies").get("cookies", [])
        session = [c for c in cookies if c["name"].startswith("rstore_session_")]
        checks["session cookie HttpOnly + SameSite=Strict"] = bool(session) and session[0]["httpOnly"] and session[0].get("sameSite") == "Strict"
        rebound = url.replace("127.0.0.1", "rebound.localhost")  # *.localhost resolves to loopback in Chromium
        cdp.call("Page.navigate", url=rebound + "healthz")
        time.sleep(1.5)
        body = cdp.eval("document.body ? document.body.innerText : ''") or ""
        checks["rebound name refused (421 bad_host)"] = "bad_host" in body
        for k, ok in checks.items():
            print(("ok   " if ok else "FAIL ") + k)
        sys.exit(0 if all(checks.values()) else 1)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
