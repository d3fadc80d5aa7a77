#!/usr/bin/env python3
"""The peer for `rstore index` / `rstore bench ingest`: what a plain script does to index video
with CLIP. ffmpeg decodes at 2 fps, resized (short side 224, bicubic) and centre-cropped to
224x224 RGB; transformers' CLIP image tower (fp32, random weights, `--threads`) encodes every
sampled frame in batches. Prints one JSON object: wall seconds per file and in total.

    python3 Tools/peer-ingest.py FILE... [--arch B/32] [--batch 16] [--threads 2] [--fps 2]
Pinned as Tools/peer-bench.py: torch 2.5.1, transformers 4.46.3.
"""
import argparse, importlib.util, json, os, subprocess, time

import numpy as np
import torch

# The model is peer-bench.py's (one definition of the peer's shapes).
_spec = importlib.util.spec_from_file_location("peer_bench", os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer-bench.py"))
peer_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peer_bench)
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32).reshape(1, 3, 1, 1)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32).reshape(1, 3, 1, 1)


def frames(path, fps, size=224):
    """Yields 224x224x3 uint8 frames sampled at `fps` by ffmpeg."""
    vf = f"fps={fps},scale='if(lt(iw,ih),{size},-2)':'if(lt(iw,ih),-2,{size})':flags=bicubic,crop={size}:{size}"
    p = subprocess.Popen(["ffmpeg", "-v", "error", "-i", path, "-vf", vf, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         stdout=subprocess.PIPE)
    n = size * size * 3
    while True:
        buf = p.stdout.read(n)
        if len(buf) < n:
            break
        yield np.frombuffer(buf, dtype=np.uint8).reshape(size, size, 3)
    p.wait()
    if p.returncode != 0:
        raise SystemExit(f"ffmpeg failed on {path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--arch", default="B/32", choices=peer_bench.ARCH)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fps", type=float, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = peer_bench.vision_model(a.arch)

    def encode(batch):
        x = (np.stack(batch).astype(np.float32).transpose(0, 3, 1, 2) / 255.0 - MEAN) / STD
        with torch.inference_mode():
            out = model(pixel_values=torch.from_numpy(x)).image_embeds
        return torch.nn.functional.normalize(out, dim=-1)

    results, t_all = [], time.perf_counter()
    for path in a.files:
        t0, count, batch = time.perf_counter(), 0, []
        for f in frames(path, a.fps):
            batch.append(f)
            if len(batch) == a.batch:
                encode(batch); count += len(batch); batch = []
        if batch:
            encode(batch); count += len(batch)
        results.append({"path": path, "frames": count, "seconds": time.perf_counter() - t0})
    print(json.dumps({"arch": a.arch, "threads": a.threads, "files": results, "seconds": time.perf_counter() - t_all,
                      "peer": f"ffmpeg + torch {torch.__version__}"}, sort_keys=True))


if __name__ == "__main__":
    main()
