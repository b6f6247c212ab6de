#!/usr/bin/python3
"""Text-encoder goldens from upstream code, on the fixtures and token ids of
the hand-port goldens (tests/data/clip/<case>/):

- CLIP-L (SD 1.x) cases: transformers' CLIPTextModel (4.19.0.dev0; SD 2.x's
  reference repository pins 4.19.2), built from the case's config
  (`config.json` for the diffusers folder) and loaded with
  load_state_dict(strict=True) from the file's `text_model.*` names (the LDM
  file's `cond_stage_model.transformer.` prefix removed, as the CompVis
  FrozenCLIPEmbedder holds the model under `transformer`).
  `hidden` = last_hidden_state (clip skip 1); `hidden.clip_skip_2` =
  final_layer_norm(hidden_states[-2]), diffusers 0.27.2's rule
  (StableDiffusionPipeline.encode_prompt with its clip_skip = 1, which is
  A1111's clip skip 2); dumps `dump.embeddings` = hidden_states[0] and
  `dump.layers.{i}` = hidden_states[i + 1].
- OpenCLIP-H (SD 2.x) case: open_clip 2.7.0's CLIP text tower (exact GELU)
  loaded strictly from `cond_stage_model.model.*` (the vision tower deleted,
  as FrozenOpenCLIPEmbedder does), run through Stability-AI's
  FrozenOpenCLIPEmbedder.encode_with_transformer with layer "penultimate"
  (`hidden`, SD 2.x conditioning) and "last" (`hidden.last_layer`).

All runs in float64 on the stored weights. Writes
tests/data/upstream/clip/<case>.safetensors.

Run: /usr/bin/python3 tests/reference/upstream/make_text_goldens.py
"""
import copy
import json
import os

import torch
from torch import nn

import common
import sources

SOURCE = sources.load("transformers", "open_clip", "stablediffusion")
import open_clip  # noqa: E402
from ldm.modules.encoders.modules import FrozenOpenCLIPEmbedder  # noqa: E402
from transformers.models.clip.configuration_clip import CLIPTextConfig  # noqa: E402
from transformers.models.clip.modeling_clip import CLIPTextModel  # noqa: E402

CLIP_L_CASES = ["clip_l_tiny_ldm_f32", "clip_l_tiny_diffusers_f16"]
OPENCLIP_CASES = ["openclip_h_tiny_ldm_f16"]


def read_case(name):
    d = os.path.join(common.DATA, "clip", name)
    with open(os.path.join(d, "case.json")) as f:
        return d, json.load(f)


def strip(sd, prefix):
    assert all(k.startswith(prefix) for k in sd), f"not every key starts with {prefix}"
    return {k[len(prefix):]: v for k, v in sd.items()}


def clip_l_model(d, case):
    model = os.path.join(d, case["model"])
    if os.path.isdir(model):
        with open(os.path.join(model, "text_encoder", "config.json")) as f:
            config = CLIPTextConfig(**json.load(f))
        sd = common.load_file(os.path.join(model, "text_encoder", "model.safetensors"))
    else:
        config = CLIPTextConfig(**case["config"])
        sd = strip(common.load_file(model), "cond_stage_model.transformer.")
    m = CLIPTextModel(config)
    missing, unexpected = m.load_state_dict(sd, strict=False)
    # transformers 4.19 registers position_ids as a buffer that newer files omit
    # (CLIPPreTrainedModel._keys_to_ignore_on_load_missing = ["position_ids"]).
    assert not unexpected and set(missing) <= {"text_model.embeddings.position_ids"}, (missing, unexpected)
    return m


def clip_l_outputs(m, ids, dtype):
    m = copy.deepcopy(m).to(dtype).eval()
    with torch.no_grad():
        out = m(input_ids=ids, output_hidden_states=True)
        hs = out.hidden_states
        r = {"hidden": out.last_hidden_state,
             "hidden.clip_skip_2": m.text_model.final_layer_norm(hs[-2]),
             "dump.embeddings": hs[0]}
        r.update({f"dump.layers.{i}": h for i, h in enumerate(hs[1:])})
    return r


def openclip_embedder(d, case):
    cfg = case["config"]
    text_cfg = open_clip.CLIPTextCfg(context_length=cfg["max_position_embeddings"], vocab_size=cfg["vocab_size"],
                                     width=cfg["hidden_size"], heads=cfg["num_attention_heads"],
                                     layers=cfg["num_hidden_layers"])
    sd = strip(common.load_file(os.path.join(d, case["model"])), "cond_stage_model.model.")
    vision_cfg = open_clip.CLIPVisionCfg(layers=1, width=64, patch_size=16, image_size=32)  # deleted below
    model = open_clip.CLIP(embed_dim=sd["text_projection"].shape[1], vision_cfg=vision_cfg, text_cfg=text_cfg)
    del model.visual
    model.load_state_dict(sd, strict=True)
    # FrozenOpenCLIPEmbedder.__init__ would download ViT-H-14 weights; set up what it sets instead.
    emb = FrozenOpenCLIPEmbedder.__new__(FrozenOpenCLIPEmbedder)
    nn.Module.__init__(emb)
    emb.model = model.eval()
    return emb


def openclip_outputs(emb, ids, dtype):
    emb = copy.deepcopy(emb).to(dtype)
    r = {}
    with torch.no_grad():
        for key, layer_idx in (("hidden", 1), ("hidden.last_layer", 0)):  # LAYERS "penultimate", "last"
            emb.layer_idx = layer_idx
            r[key] = emb.encode_with_transformer(ids)
    return r


def main():
    common.setup_torch()
    for name in CLIP_L_CASES + OPENCLIP_CASES:
        d, case = read_case(name)
        io = common.load_file(os.path.join(d, "io.safetensors"))
        ids = io["ids"]
        if name in CLIP_L_CASES:
            m, run, src = clip_l_model(d, case), clip_l_outputs, SOURCE["transformers"]
            how = "transformers CLIPTextModel, load_state_dict(strict=True apart from the position_ids buffer)"
        else:
            m, run, src = openclip_embedder(d, case), openclip_outputs, (
                SOURCE["open_clip"] + "; " + SOURCE["stablediffusion"])
            how = "open_clip CLIP text tower (strict), FrozenOpenCLIPEmbedder.encode_with_transformer"
        out64, out32 = run(m, ids, torch.float64), run(m, ids, torch.float32)
        meta = {"source": src, "built_by": how, "fixture": f"clip/{name}/{case['model']}",
                "inputs": f"clip/{name}/io.safetensors ids",
                "precision": "float64 on the stored weights, saved as F32",
                "fp32_rel_l2": {k: common.rel_l2(out32[k], v) for k, v in out64.items() if not k.startswith("dump.")},
                "hand_port_rel_l2": {k: common.rel_l2(io[k], v) for k, v in out64.items() if k in io}}
        common.write_golden(os.path.join(common.OUT, "clip", name + ".safetensors"), out64, meta)
        print(f"  fp32 {meta['fp32_rel_l2']}\n  hand port {meta['hand_port_rel_l2']}")


if __name__ == "__main__":
    main()
