#!/usr/bin/env python3
"""Convert an OpenAI CLIP or OpenCLIP checkpoint to the Hugging Face CLIP layout rstore reads.

    python3 Tools/convert_checkpoint.py CHECKPOINT OUTDIR [--vocab DIR] [--heads-vision N --heads-text N]

CHECKPOINT: an OpenAI `ViT-B-32.pt` (TorchScript archive or state dict), an OpenCLIP
`open_clip_pytorch_model.bin` / `.safetensors`, or any state dict with the keys
`visual.conv1.weight`, `visual.transformer.resblocks.N...`, `transformer.resblocks.N...`.
Writes OUTDIR/model.safetensors (float32), config.json and, from --vocab (a folder with
vocab.json + merges.txt, e.g. from Tools/make-vocab.py), the tokenizer files.
Activation: OpenAI checkpoints use QuickGELU; OpenCLIP's LAION models use GELU — pass
--act gelu for those (it cannot be read from the weights).
Needs torch (pinned in the fixture scripts: 2.5.1); safetensors input needs `safetensors`.
Also importable: `convert_state_dict(sd)` returns the HF state dict and config.
"""
import argparse, json, os, re, shutil, sys


def _load(path):
    import torch
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        return load_file(path)
    try:
        return torch.jit.load(path, map_location="cpu").state_dict()
    except Exception:
        sd = torch.load(path, map_location="cpu", weights_only=True)
        return sd.get("state_dict", sd)


def convert_state_dict(sd, heads_vision=None, heads_text=None, act="quick_gelu"):
    sd = {re.sub(r"^module\.", "", k): v for k, v in sd.items()}
    out = {}

    def blocks(src, dst):
        n = 0
        while f"{src}.{n}.attn.in_proj_weight" in sd:
            s, d = f"{src}.{n}", f"{dst}.{n}"
            w, b = sd[f"{s}.attn.in_proj_weight"], sd[f"{s}.attn.in_proj_bias"]
            width = w.shape[1]
            for i, name in enumerate(("q_proj", "k_proj", "v_proj")):
                out[f"{d}.self_attn.{name}.weight"] = w[i * width:(i + 1) * width]
                out[f"{d}.self_attn.{name}.bias"] = b[i * width:(i + 1) * width]
            for a, c in (("attn.out_proj", "self_attn.out_proj"), ("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"),
                         ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")):
                out[f"{d}.{c}.weight"] = sd[f"{s}.{a}.weight"]
                out[f"{d}.{c}.bias"] = sd[f"{s}.{a}.bias"]
            n += 1
        return n

    v = "vision_model"
    out[f"{v}.embeddings.class_embedding"] = sd["visual.class_embedding"]
    out[f"{v}.embeddings.patch_embedding.weight"] = sd["visual.conv1.weight"]
    out[f"{v}.embeddings.position_embedding.weight"] = sd["visual.positional_embedding"]
    for a, c in (("visual.ln_pre", f"{v}.pre_layrnorm"), ("visual.ln_post", f"{v}.post_layernorm"),
                 ("ln_final", "text_model.final_layer_norm")):
        out[f"{c}.weight"], out[f"{c}.bias"] = sd[f"{a}.weight"], sd[f"{a}.bias"]
    vl = blocks("visual.transformer.resblocks", f"{v}.encoder.layers")
    tl = blocks("transformer.resblocks", "text_model.encoder.layers")
    out["visual_projection.weight"] = sd["visual.proj"].t().contiguous()
    out["text_projection.weight"] = sd["text_projection"].t().contiguous()
    out["text_model.embeddings.token_embedding.weight"] = sd["token_embedding.weight"]
    out["text_model.embeddings.position_embedding.weight"] = sd["positional_embedding"]
    out["logit_scale"] = sd["logit_scale"].reshape(())

    vw, tw = sd["visual.conv1.weight"].shape[0], sd["token_embedding.weight"].shape[1]
    patch = sd["visual.conv1.weight"].shape[-1]
    grid = int(round((sd["visual.positional_embedding"].shape[0] - 1) ** 0.5))
    config = {
        "model_type": "clip", "architectures": ["CLIPModel"], "projection_dim": sd["visual.proj"].shape[1],
        "vision_config": {"hidden_size": vw, "intermediate_size": sd["visual.transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
                          "num_hidden_layers": vl, "num_attention_heads": heads_vision or vw // 64,
                          "image_size": grid * patch, "patch_size": patch, "hidden_act": act},
        "text_config": {"hidden_size": tw, "intermediate_size": sd["transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
                        "num_hidden_layers": tl, "num_attention_heads": heads_text or tw // 64,
                        "vocab_size": sd["token_embedding.weight"].shape[0],
                        "max_position_embeddings": sd["positional_embedding"].shape[0], "hidden_act": act},
    }
    return {k: t.float().contiguous() for k, t in out.items()}, config


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--vocab", help="folder with vocab.json and merges.txt to copy in")
    ap.add_argument("--heads-vision", type=int)
    ap.add_argument("--heads-text", type=int)
    ap.add_argument("--act", default="quick_gelu", choices=["quick_gelu", "gelu"])
    a = ap.parse_args()
    from safetensors.torch import save_file
    sd, config = convert_state_dict(_load(a.checkpoint), a.heads_vision, a.heads_text, a.act)
    os.makedirs(a.out, exist_ok=True)
    save_file(sd, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    json.dump(config, open(os.path.join(a.out, "config.json"), "w"), indent=2)
    if a.vocab:
        for f in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(a.vocab, f), os.path.join(a.out, f))
    print(f"wrote {len(sd)} tensors to {a.out}; check with: rstore model info --model {a.out}")


if __name__ == "__main__":
    sys.exit(main())
