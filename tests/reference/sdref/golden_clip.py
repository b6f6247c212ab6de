"""Text-encoder goldens: tests/data/clip/<case>/ (see tests/reference/README.md)."""
import os
import shutil
from dataclasses import dataclass

import torch

from . import safetensors_io as st
from .clip_text import CLIPTextConfig, CLIPTextModel, openclip_state_dict
from .golden_common import GOLDEN_PRECISION, dir_size, engine_check, rel_l2, write_json
from .init import load_into, random_weights, scale_non_norm

LDM_CLIP_PREFIX = "cond_stage_model.transformer."   # + text_model.*
LDM_OPENCLIP_PREFIX = "cond_stage_model.model."

TINY_L = CLIPTextConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=4, num_attention_heads=4,
                        intermediate_size=256, hidden_act="quick_gelu")
TINY_H = CLIPTextConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=4, num_attention_heads=4,
                        intermediate_size=256, hidden_act="gelu")
SMALL_L = CLIPTextConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=256, hidden_act="quick_gelu")
BOS, EOS = 998, 999   # the tiny vocabulary's stand-ins for 49406 / 49407


@dataclass
class ClipCase:
    name: str
    description: str
    cfg: CLIPTextConfig
    layout: str        # "ldm" (SD 1.x CLIP-L) | "diffusers_folder" | "ldm_openclip" (SD 2.x)
    weight_dtype: str
    lengths: tuple     # prompt token counts (without BOS/EOS), one per batch item
    seed: int
    weight_scale: float = 1.0  # init.scale_non_norm: small activations, so that every norm's eps shows


_ARCH = ("tiny text transformer: vocab 1000, width 64, 4 layers, 4 heads (head dim 16), MLP 256, "
         "77 positions, LayerNorm eps 1e-5, causal self-attention")

CASES = [
    ClipCase("clip_l_tiny_ldm_f32",
             "SD 1.x CLIP-L-style text encoder inside a single-file checkpoint "
             "(cond_stage_model.transformer.text_model.*, plus the embeddings.position_ids I64 [1, 77] buffer "
             "real SD 1.x files carry, to be ignored), F32, quick_gelu, batch 2. " + _ARCH,
             TINY_L, "ldm", "F32", lengths=(7, 40), seed=8008),
    ClipCase("clip_l_tiny_diffusers_f16",
             "diffusers folder text_encoder/config.json + text_encoder/model.safetensors (text_model.*), F16, "
             "quick_gelu, batch 1. " + _ARCH,
             TINY_L, "diffusers_folder", "F16", lengths=(75,), seed=9009),
    ClipCase("openclip_h_tiny_ldm_f16",
             "SD 2.x OpenCLIP-style text encoder in a single-file checkpoint (cond_stage_model.model.*: "
             "token_embedding, positional_embedding, transformer.resblocks.N.{ln_1, attn.in_proj_weight/bias "
             "(q|k|v fused along dim 0), attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}, ln_final, text_projection, "
             "logit_scale (the last two unused)), F16, exact-erf GELU, batch 1, pad id 0 as open_clip pads. "
             "`hidden` is SD 2.x's conditioning: penultimate layer then ln_final. " + _ARCH,
             TINY_H, "ldm_openclip", "F16", lengths=(12,), seed=10010),
    ClipCase("clip_l_small_activations_f16",
             "Every weight, bias and embedding except the LayerNorm scales and shifts multiplied by 0.01 "
             "(weight_scale), so each LayerNorm sees a variance of about 1e-4: a LayerNorm eps of 1e-6 instead of "
             "1e-5 changes the output by percents (the other cases see it only at the level of fp32 rounding). "
             "Single-file LDM layout (cond_stage_model.transformer.text_model.*), F16, quick_gelu, batch 1, "
             "2 layers. " + _ARCH.replace("4 layers", "2 layers"),
             SMALL_L, "ldm", "F16", lengths=(30,), seed=11011, weight_scale=0.01),
]


def _ids(case, g):
    rows = []
    pad = 0 if case.layout == "ldm_openclip" else EOS   # SD 1.x pads with EOS, open_clip with 0
    for n in case.lengths:
        toks = torch.randint(1, BOS, (n,), generator=g).tolist()
        row = [BOS] + toks + [EOS]
        row += [pad] * (77 - len(row))
        rows.append(row[:77])
    return torch.tensor(rows, dtype=torch.int64)


def write_case(case: ClipCase, out_root, log=print):
    cdir = os.path.join(out_root, "clip", case.name)
    if os.path.isdir(cdir):
        shutil.rmtree(cdir)
    os.makedirs(cdir)
    cfg = case.cfg
    model = CLIPTextModel(cfg)
    names = [(k, v.shape) for k, v in model.state_dict().items()]
    weights = scale_non_norm(random_weights(names, case.seed, embedding_std=1.0), case.weight_scale)
    stored = {k: st.round_to(v, case.weight_dtype) for k, v in weights.items()}

    if case.layout == "ldm":
        tensors = {LDM_CLIP_PREFIX + k: v for k, v in stored.items()}
        tensors[LDM_CLIP_PREFIX + "text_model.embeddings.position_ids"] = torch.arange(77)[None, :]
        model_rel = "model.safetensors"
        st.write(os.path.join(cdir, model_rel), dict(sorted(tensors.items())), default_dtype=case.weight_dtype)
    elif case.layout == "diffusers_folder":
        model_rel = "model"
        root = os.path.join(cdir, model_rel, "text_encoder")
        st.write(os.path.join(root, "model.safetensors"), dict(sorted(stored.items())),
                 default_dtype=case.weight_dtype)
        write_json(os.path.join(root, "config.json"), {
            "architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": BOS, "dropout": 0.0,
            "eos_token_id": EOS, "hidden_act": cfg.hidden_act, "hidden_size": cfg.hidden_size,
            "initializer_factor": 1.0, "initializer_range": 0.02, "intermediate_size": cfg.intermediate_size,
            "layer_norm_eps": cfg.layer_norm_eps, "max_position_embeddings": cfg.max_position_embeddings,
            "model_type": "clip_text_model", "num_attention_heads": cfg.num_attention_heads,
            "num_hidden_layers": cfg.num_hidden_layers, "pad_token_id": EOS, "projection_dim": cfg.hidden_size,
            "torch_dtype": {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[case.weight_dtype],
            "transformers_version": "4.33.0", "vocab_size": cfg.vocab_size})
    else:
        oc = openclip_state_dict(stored)
        g2 = torch.Generator().manual_seed(case.seed + 1)
        oc["text_projection"] = st.round_to(torch.randn(cfg.hidden_size, cfg.hidden_size, generator=g2)
                                            / cfg.hidden_size ** 0.5, case.weight_dtype)
        oc["logit_scale"] = st.round_to(torch.tensor(4.6052), case.weight_dtype)
        model_rel = "model.safetensors"
        st.write(os.path.join(cdir, model_rel), {LDM_OPENCLIP_PREFIX + k: v for k, v in sorted(oc.items())},
                 default_dtype=case.weight_dtype)

    g = torch.Generator().manual_seed(case.seed + 7)
    ids = _ids(case, g)
    model = model.double()
    load_into(model, {k: v.double() for k, v in stored.items()})
    with torch.no_grad():
        states = model.hidden_states(ids)
        ln = model.text_model.final_layer_norm
        skip1 = ln(states[-1])
        skip2 = ln(states[-2])
    m32 = CLIPTextModel(cfg)
    load_into(m32, stored)
    with torch.no_grad():
        err = rel_l2(m32.encode(ids, 1), skip1)

    io = {"ids": ids}
    if case.layout == "ldm_openclip":
        io["hidden"] = skip2.float()              # SD 2.x: layer "penultimate" + ln_final
        io["hidden.last_layer"] = skip1.float()
        outputs = {"hidden": "final LayerNorm (ln_final) of the penultimate layer's output (SD 2.x "
                             "FrozenOpenCLIPEmbedder layer='penultimate'; = clip skip 2)",
                   "hidden.last_layer": "ln_final of the last layer's output (= clip skip 1)"}
    else:
        io["hidden"] = skip1.float()
        io["hidden.clip_skip_2"] = skip2.float()
        outputs = {"hidden": "clip skip 1: final_layer_norm(last layer output) = HF last_hidden_state",
                   "hidden.clip_skip_2": "clip skip 2: final_layer_norm(output of layer L-1) (A1111 rule: "
                                         "hidden_states[-N] then final_layer_norm)"}
    io["dump.embeddings"] = states[0].float()
    for i, s in enumerate(states[1:]):
        io[f"dump.layers.{i}"] = s.float()
    st.write(os.path.join(cdir, "io.safetensors"), io)

    meta = {
        "name": case.name,
        "kind": "text_encoder",
        "description": case.description,
        "model": model_rel,
        "layout": case.layout,
        "weight_dtype": case.weight_dtype,
        "seed": case.seed,
        **({"weight_scale": case.weight_scale} if case.weight_scale != 1.0 else {}),
        "config": cfg.to_json(),
        "num_tensors": len(stored),
        "num_parameters": sum(v.numel() for v in stored.values()),
        "ids": {"shape": list(ids.shape), "dtype": "I64", "bos": BOS, "eos": EOS,
                "pad": 0 if case.layout == "ldm_openclip" else EOS, "lengths_without_bos_eos": list(case.lengths),
                "note": "ids index the tiny vocabulary; the encoder gives special ids no special treatment"},
        "outputs": outputs,
        "dumps": {"dump.embeddings": "token + position embedding [B, 77, D]",
                  "dump.layers.{i}": "raw output of encoder layer i (before any final LayerNorm) [B, 77, D]"},
        "golden_precision": GOLDEN_PRECISION,
        "check": engine_check(case.name, {"metric": "relative L2 over the whole tensor"}),
        "fp32_pytorch_rel_l2": err,
    }
    write_json(os.path.join(cdir, "case.json"), meta)
    log(f"clip/{case.name}: {len(stored)} tensors, fp32 torch rel L2 {err:.2e}, {dir_size(cdir) / 1e6:.2f} MB")
    return meta
