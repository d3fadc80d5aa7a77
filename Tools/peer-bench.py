#!/usr/bin/env python3
"""The peer for `rstore bench encoder`: the same image-tower shapes in PyTorch (transformers,
fp32, CPU, random weights), with torch's own sgemm roofline measured in the same run.

    python3 Tools/peer-bench.py --arch B/32 --batch 16 [--threads 2] [--seconds 5]
Prints one JSON object with the keys of `rstore bench encoder --json`.
Pinned: torch 2.5.1, transformers 4.46.3 (pip install torch==2.5.1 transformers==4.46.3).
"""
import argparse, json, time

import torch
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

ARCH = {"B/32": (768, 12, 32, 512), "B/16": (768, 12, 16, 512), "L/14": (1024, 24, 14, 768)}

def flops_per_image(width, layers, patch, embed, image=224):
    t = (image // patch) ** 2 + 1
    per_layer = 2 * t * width * 3 * width + 2 * 2 * t * t * width + 2 * t * width * width + 2 * 2 * t * width * 4 * width
    return 2 * (t - 1) * 3 * patch * patch * width + layers * per_layer + 2 * width * embed

def vision_model(arch):
    """CLIP's image tower with random weights, in eval mode (also used by peer-ingest.py)."""
    w, l, p, e = ARCH[arch]
    cfg = CLIPVisionConfig(hidden_size=w, intermediate_size=4 * w, num_hidden_layers=l, num_attention_heads=w // 64,
                           patch_size=p, image_size=224, projection_dim=e, hidden_act="quick_gelu")
    return CLIPVisionModelWithProjection(cfg).eval()

def sgemm_gflops(seconds=1.5):
    a, b = torch.randn(1024, 768), torch.randn(768, 3072)
    best, end = 0.0, time.time() + seconds
    while time.time() < end:
        t0 = time.perf_counter(); a @ b; dt = time.perf_counter() - t0
        best = max(best, 2 * 1024 * 3072 * 768 / dt / 1e9)
    return best

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="B/32", choices=ARCH)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    w, l, p, e = ARCH[a.arch]
    model = vision_model(a.arch)
    x = torch.randn(a.batch, 3, 224, 224)
    sg = sgemm_gflops()
    with torch.inference_mode():
        model(pixel_values=x)
        n, t0 = 0, time.perf_counter()
        while True:
            model(pixel_values=x); n += 1
            if time.perf_counter() - t0 >= a.seconds: break
        dt = time.perf_counter() - t0
    ips = n * a.batch / dt
    gf = ips * flops_per_image(w, l, p, e) / 1e9
    print(json.dumps({"arch": a.arch, "batch": a.batch, "images_per_s": ips, "gflops": gf, "sgemm_gflops": sg,
                      "roofline_ratio": gf / sg, "peer": f"torch {torch.__version__} ({a.threads} threads)"}, sort_keys=True))

if __name__ == "__main__":
    main()
