#!/usr/bin/env python3
"""Check Tools/convert_checkpoint.py: the tiny HF fixture model mapped to the OpenAI state-dict layout and converted back must be bit-identical. Run from the repo root: python3 Tools/check_converter.py (needs torch 2.5.1, transformers 4.46.3)."""
# Round trip: HF tiny model -> OpenAI-style state dict (inverse mapping) -> converter -> compare outputs.
import sys, torch, json
sys.path.insert(0, "Tools")
from convert_checkpoint import convert_state_dict
from transformers import CLIPModel, CLIPConfig
m = CLIPModel.from_pretrained("Tests/CLIPTests/Fixtures/tiny-clip").eval()
sd = m.state_dict()
o = {}
def blocks(src, dst, n):
    for i in range(n):
        s, d = f"{src}.{i}", f"{dst}.{i}"
        o[f"{d}.attn.in_proj_weight"] = torch.cat([sd[f"{s}.self_attn.{p}_proj.weight"] for p in "qkv"])
        o[f"{d}.attn.in_proj_bias"] = torch.cat([sd[f"{s}.self_attn.{p}_proj.bias"] for p in "qkv"])
        for a, c in (("attn.out_proj", "self_attn.out_proj"), ("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"), ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")):
            o[f"{d}.{a}.weight"], o[f"{d}.{a}.bias"] = sd[f"{s}.{c}.weight"], sd[f"{s}.{c}.bias"]
blocks("vision_model.encoder.layers", "visual.transformer.resblocks", 2)
blocks("text_model.encoder.layers", "transformer.resblocks", 2)
o["visual.class_embedding"] = sd["vision_model.embeddings.class_embedding"]
o["visual.conv1.weight"] = sd["vision_model.embeddings.patch_embedding.weight"]
o["visual.positional_embedding"] = sd["vision_model.embeddings.position_embedding.weight"]
for a, c in (("visual.ln_pre", "vision_model.pre_layrnorm"), ("visual.ln_post", "vision_model.post_layernorm"), ("ln_final", "text_model.final_layer_norm")):
    o[f"{a}.weight"], o[f"{a}.bias"] = sd[f"{c}.weight"], sd[f"{c}.bias"]
o["visual.proj"] = sd["visual_projection.weight"].t()
o["text_projection"] = sd["text_projection.weight"].t()
o["token_embedding.weight"] = sd["text_model.embeddings.token_embedding.weight"]
o["positional_embedding"] = sd["text_model.embeddings.position_embedding.weight"]
o["logit_scale"] = sd["logit_scale"]
back, cfg = convert_state_dict(o, heads_vision=4, heads_text=4)
missing = [k for k in sd if k not in back and "position_ids" not in k]
assert not missing, missing
for k, v in back.items():
    assert torch.equal(v, sd[k].float()), k
print("converter round trip exact:", len(back), "tensors; config", json.dumps(cfg["vision_config"]))
