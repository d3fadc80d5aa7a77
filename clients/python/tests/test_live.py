"""The client against a live ``rstore serve`` (real requests).

Run by the Swift suite (ServerTests.PythonClientTests), which starts the server over a small
library and sets RSTORE_TEST_URL, RSTORE_TEST_TOKEN and RSTORE_TEST_ROOT (the library root:
a.mp4 and b.mp4 indexed, c.mp4 not). Standard library + numpy; nothing is installed.
"""

import json
import os
import struct
import unittest
import urllib.request

import numpy as np

import rstore_client
from rstore_client import (Client, BadRequestError, AuthenticationError, NotFoundError, ProtocolError,
                           decode_embeddings)

URL = os.environ.get("RSTORE_TEST_URL")
TOKEN = os.environ.get("RSTORE_TEST_TOKEN")


@unittest.skipUnless(URL and TOKEN, "needs a live rstore serve (RSTORE_TEST_URL, RSTORE_TEST_TOKEN)")
class LiveServerTests(unittest.TestCase):
    def setUp(self):
        self.c = Client(URL, TOKEN)

    def by_name(self, name):
        return next(v for v in self.c.videos() if v["name"] == name)

    def test_1_health_and_version(self):
        h = self.c.health()
        self.assertEqual(h["api_version"], rstore_client.API_VERSION)
        self.assertTrue(h["version"].startswith("2."))

    def test_2_videos_follow_the_cursor(self):
        all_at_once = self.c.videos()
        one_by_one = self.c.videos(page_size=1)   # one request per video, cursor followed
        self.assertGreaterEqual(len(all_at_once), 2)
        self.assertEqual([v["id"] for v in one_by_one], [v["id"] for v in all_at_once])
        self.assertEqual({v["status"] for v in self.c.videos(status="ready")}, {"ready"})

    def test_3_embeddings_as_numpy_match_the_json_answer(self):
        a = self.by_name("a.mp4")
        times, kinds, x = self.c.embeddings(a["id"], 0, 2)
        self.assertEqual(x.dtype, np.float32)
        self.assertEqual(times.dtype, np.float64)
        self.assertEqual(x.shape, (len(times), self.c.health()["embed_dim"]))
        self.assertEqual(list(times), [0.0, 0.5, 1.0, 1.5, 2.0])
        self.assertIn("I", list(kinds))
        self.assertIn("P", list(kinds))
        # The JSON form of the same request, decoded independently.
        req = urllib.request.Request(f"{URL.rstrip('/')}/v1/videos/{a['id']}/embeddings?from=0&to=2",
                                     headers={"Authorization": "Bearer " + TOKEN})
        frames = json.load(urllib.request.urlopen(req))["frames"]
        self.assertEqual([f["time"] for f in frames], list(times))
        self.assertEqual([f["kind"] for f in frames], list(kinds))
        np.testing.assert_array_equal(np.array([f["embedding"] for f in frames], dtype=np.float32), x)
        # The whole video by default; a moment dict names its video.
        t_all, _, x_all = self.c.embeddings(a)
        self.assertEqual(len(t_all), a["frames"])
        np.testing.assert_array_equal(x_all[:len(x)], x)

    def test_4_search_and_ground(self):
        res = self.c.search("a colourful test pattern", k=3)
        self.assertGreater(len(res["moments"]), 0)
        m = res["moments"][0]
        for field in ("video_id", "path", "start", "end", "score", "first_frame", "refined"):
            self.assertIn(field, m)
        self.assertIn("stage1_ms", res)
        coarse = self.c.search("a colourful test pattern", k=3, refine=False)
        self.assertEqual(coarse["p_frames"], 0)
        events = list(self.c.search_stream("a colourful test pattern", k=3))
        self.assertEqual(events[0]["event"], "coarse")
        self.assertEqual(events[0]["moments"], coarse["moments"])
        self.assertEqual(events[-1]["event"], "done")
        self.assertEqual(events[-1]["search"]["moments"], res["moments"])
        proposals = self.c.ground(m, "a colourful test pattern", k=2)
        self.assertTrue(1 <= len(proposals) <= 2)
        self.assertTrue(all(p["video_id"] == m["video_id"] for p in proposals))

    def test_5_typed_errors(self):
        with self.assertRaises(NotFoundError) as e:
            self.c.video(987654)
        self.assertEqual(e.exception.status, 404)
        with self.assertRaises(BadRequestError) as e:
            self.c.search("   ")
        self.assertEqual(e.exception.code, "bad_parameter")
        with self.assertRaises(AuthenticationError):
            Client(URL, "wrong-token-123456").videos()
        with self.assertRaises(BadRequestError) as e:
            self.c.embeddings(self.by_name("a.mp4"), 2, 1)
        self.assertIn("to", e.exception.message)
        with self.assertRaises(TypeError):
            self.c.video("a.mp4")

    def test_6_index_then_delete(self):
        job = self.c.index("c.mp4", wait=True, poll=0.1, timeout=120)
        self.assertEqual(job["state"], "succeeded", job)
        self.assertEqual(job["results"][0]["outcome"], "indexed")
        self.assertTrue(job["created_at"].endswith("Z"))   # ISO 8601
        c = self.by_name("c.mp4")
        self.assertEqual(c["status"], "ready")
        self.c.delete(c)
        self.assertNotIn("c.mp4", [v["name"] for v in self.c.videos()])
        with self.assertRaises(NotFoundError):
            self.c.delete(c["id"])


class DecodeTests(unittest.TestCase):
    """The RSE1 decoder alone: a message built by hand, then broken ones."""

    def message(self, times, kinds, rows):
        c, d = rows.shape
        head = b"RSE1" + struct.pack("<III", c, d, 0)
        pad = b"\0" * ((c + 3) // 4 * 4 - c)
        return (head + struct.pack(f"<{c}d", *times) + struct.pack(f"<{c}I", *range(c))
                + "".join(kinds).encode() + pad + rows.astype("<f4").tobytes())

    def test_round_trip(self):
        rows = np.arange(15, dtype=np.float32).reshape(5, 3)
        t, i, k, x = decode_embeddings(self.message([0, .5, 1, 1.5, 2], "IPPIP", rows))
        self.assertEqual(list(t), [0, .5, 1, 1.5, 2])
        self.assertEqual(list(i), [0, 1, 2, 3, 4])
        self.assertEqual(list(k), list("IPPIP"))
        np.testing.assert_array_equal(x, rows)

    def test_malformed_is_refused(self):
        good = self.message([0, 1], "IP", np.ones((2, 4), np.float32))
        for bad in [b"", b"RSE2" + good[4:], good[:-1], good + b"\0", good[:16],
                    good.replace(b"IP\0\0", b"IX\0\0"), b"RSE1" + struct.pack("<III", 2**31, 2**20, 0)]:
            with self.assertRaises(ProtocolError):
                decode_embeddings(bad)


if __name__ == "__main__":
    unittest.main()
