#!/usr/bin/env python3
"""Write CLIP's real BPE vocabulary as vocab.json + merges.txt (the Hugging Face layout).

The vocabulary is OpenAI's bpe_simple_vocab_16e6.txt.gz, taken from the open_clip_torch
wheel on PyPI (pip download, no install). Standard library only; builds the vocab exactly
as CLIP's SimpleTokenizer does: 256 byte symbols, the same with </w>, the 48,894 merges,
then <|startoftext|> and <|endoftext|> (49,408 tokens).
    python3 Tools/make-vocab.py OUTDIR [--bpe PATH.gz]
"""
import argparse, glob, gzip, json, os, subprocess, sys, tempfile, zipfile

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, [chr(c) for c in cs]))

def fetch_bpe(tmp):
    subprocess.run([sys.executable, "-m", "pip", "download", "open_clip_torch==2.29.0", "--no-deps", "-q", "-d", tmp], check=True)
    wheel = glob.glob(os.path.join(tmp, "open_clip_torch-*.whl"))[0]
    with zipfile.ZipFile(wheel) as z:
        return z.read("open_clip/bpe_simple_vocab_16e6.txt.gz")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--bpe", help="bpe_simple_vocab_16e6.txt.gz (default: fetched from PyPI)")
    a = ap.parse_args()
    if a.bpe:
        raw = open(a.bpe, "rb").read()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            raw = fetch_bpe(tmp)
    merges = gzip.decompress(raw).decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    merges = [tuple(m.split()) for m in merges]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(a.out, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        f.write("\n".join(" ".join(m) for m in merges) + "\n")
    print(f"wrote {len(vocab)} tokens, {len(merges)} merges to {a.out}")

if __name__ == "__main__":
    main()
