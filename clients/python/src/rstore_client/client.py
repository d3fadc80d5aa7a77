"""``Client``: the ResidualStore HTTP API (``rstore serve``) from Python, standard library + numpy."""

import json
import time
import urllib.error
import urllib.parse
import urllib.request

from .embeddings import decode_embeddings
from .errors import APIError, ProtocolError, error_for

#: The API version this client speaks (``api_version`` in ``/healthz``, ``x-api-version`` in ``/openapi.json``).
API_VERSION = 2


class Client:
    """A connection to one ``rstore serve``.

    ``url`` is the server's base URL (``http://127.0.0.1:8080``); ``token`` the bearer token it
    was started with (``--token-file``), or None for a token-less loopback server (reads only).
    Every method raises a subclass of ``APIError`` when the server answers with an error
    (``NotFoundError`` for an unknown video, ``BadRequestError`` for a bad parameter...).
    Videos are named by their integer id (``video_id`` of a moment, ``id`` of ``videos()``); a
    moment or video dict is accepted too.
    """

    def __init__(self, url, token=None, timeout=120.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    # -- plumbing ---------------------------------------------------------------------------

    def _request(self, method, path, query=None, body=None, accept="application/json"):
        """Sends one request; returns (status, headers, bytes) of a success, raises APIError otherwise."""
        with self._open(method, path, query, body, accept) as r:
            return r.status, r.headers, r.read()

    def _open(self, method, path, query=None, body=None, accept="application/json"):
        """Sends one request; returns the open response of a success (its body unread), raises APIError otherwise."""
        url = self.url + path
        if query:
            pairs = [(k, _param(v)) for k, v in query.items() if v is not None]
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        headers = {"Accept": accept}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                err = json.loads(raw)["error"]
                code, message = err["code"], err["message"]
            except (ValueError, KeyError, TypeError):
                code, message = "http_%d" % e.code, raw[:300].decode("utf-8", "replace")
            retry = e.headers.get("Retry-After")
            raise error_for(e.code, code, message, float(retry) if retry and retry.isdigit() else None) from None

    def _json(self, method, path, query=None, body=None):
        _, _, raw = self._request(method, path, query, body)
        try:
            return json.loads(raw)
        except ValueError as e:
            raise ProtocolError(f"{method} {path}: the answer is not JSON ({e})") from None

    # -- the API ------------------------------------------------------------------------------

    def health(self):
        """``GET /healthz``: status, version, api_version, video counts, cache figures (no token needed)."""
        return self._json("GET", "/healthz")

    def videos(self, status=None, page_size=None):
        """Every stored video (dicts: id, path, name, status, duration, frames, indexed_at...).

        Follows the API's cursor pagination (``next_cursor``) to the end; ``page_size`` sets
        how many videos each request asks for (the server's default and maximum is 1000).
        ``status``: only ``"ready"``, ``"indexing"`` or ``"failed"`` videos.
        """
        out, cursor = [], None
        while True:
            page = self._json("GET", "/v1/videos", {"status": status, "limit": page_size, "cursor": cursor})
            out.extend(page["videos"])
            cursor = page.get("next_cursor")
            if not cursor:
                return out

    def video(self, video):
        """One video's metadata and indexing status."""
        return self._json("GET", f"/v1/videos/{_video_id(video)}")

    def search(self, text, k=10, refine=True):
        """Text-to-moment search over the library.

        Returns the answer as a dict: ``moments`` (each with ``video_id``, ``path``, ``start``
        and ``end`` in seconds, ``score``, ``refined``...) and the server's figures
        (``stage1_ms``, ``stage2_ms``, ``p_frames``...). ``refine=False`` returns stage 1's
        coarse moments at once.
        """
        return self._json("GET", "/v1/search", {"q": text, "k": k, "refine": None if refine else "false"})

    def search_stream(self, text, k=10, refine=True):
        """The same search, streamed: yields each event dict as the server writes it.

        First ``{"event": "coarse", "moments": [...]}`` (stage 1's moments, before any frame is
        decoded), then ``{"event": "refined", "moments": [...], "videos": [...]}`` per batch of
        stage 2, last ``{"event": "done", "search": {...}}`` (what ``search`` returns). An error
        after the first line raises its ``APIError``, as ``search`` would.
        """
        query = {"q": text, "k": k, "refine": None if refine else "false", "stream": "true"}
        with self._open("GET", "/v1/search", query, accept="application/x-ndjson") as r:
            for raw in r:
                if not raw.strip():
                    continue
                try:
                    event = json.loads(raw)
                except ValueError as e:
                    raise ProtocolError(f"GET /v1/search: a streamed line is not JSON ({e})") from None
                if event.get("event") == "error":
                    err = event.get("error") or {}
                    raise error_for(event.get("status", 500), err.get("code", "internal"), err.get("message", ""), None)
                yield event
                if event.get("event") == "done":
                    return
        raise ProtocolError("GET /v1/search: the stream ended before its done line")

    def embeddings(self, video, start=0.0, end=None):
        """Dense embeddings of the frames of ``video`` with time in [start, end] seconds.

        Returns ``(times, kinds, x)``: ``times`` float64 [n] (seconds), ``kinds`` an array of
        ``"I"`` (stored) / ``"P"`` (reconstructed) [n], ``x`` float32 [n, dims], read from the
        binary RSE1 answer (no JSON floats). The server refuses ranges over its per-request
        frame budget (``BadRequestError`` with code ``over_limit``): ask for shorter spans.
        """
        _, _, raw = self._request("GET", f"/v1/videos/{_video_id(video)}/embeddings",
                                  {"from": start, "to": end}, accept="application/octet-stream")
        times, _, kinds, x = decode_embeddings(raw)
        return times, kinds, x

    def ground(self, video, text, k=5):
        """Zero-shot temporal grounding of ``text`` in one video: ranked proposals (dicts with
        ``start``, ``end``, ``score``); the last is the whole video."""
        return self._json("GET", f"/v1/videos/{_video_id(video)}/ground", {"q": text, "k": k})["proposals"]

    def delete(self, video):
        """Removes a video from the library (its features, offsets and cached frames; the file stays).

        Needs the token. ``NotFoundError`` when there is no such video, ``ConflictError`` while
        another process is still indexing it.
        """
        self._request("DELETE", f"/v1/videos/{_video_id(video)}")

    def index(self, paths, wait=False, poll=0.5, timeout=None):
        """Indexes files or folders inside the server's library roots (needs the token).

        ``paths``: a path or a list of paths, relative to a library root or absolute. Returns
        the job (dict: ``id``, ``state``, ``files_total``, ``results``...), or, on a shared
        PostgreSQL store, what went onto the workers' queue. ``wait=True`` polls the job every
        ``poll`` seconds until it has ``succeeded`` or ``failed`` (at most ``timeout`` seconds,
        then ``TimeoutError``) and returns its final state.
        """
        if isinstance(paths, str):
            paths = [paths]
        job = self._json("POST", "/v1/index", body={"paths": list(paths)})
        if not wait or "id" not in job:
            return job
        deadline = None if timeout is None else time.monotonic() + timeout
        while job["state"] in ("queued", "running"):
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"index job {job['id']} still {job['state']} after {timeout} s")
            time.sleep(poll)
            job = self.job(job["id"])
        return job

    def job(self, job_id):
        """``GET /v1/jobs/{id}``: an index job's progress."""
        return self._json("GET", f"/v1/jobs/{urllib.parse.quote(str(job_id), safe='')}")


def _video_id(video):
    if isinstance(video, dict):
        video = video.get("video_id", video.get("id"))
    if isinstance(video, bool) or not isinstance(video, int) or video < 0:
        raise TypeError(f"a video is named by its integer id (or a moment/video dict), got {video!r}")
    return video


def _param(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


__all__ = ["Client", "API_VERSION", "APIError"]
