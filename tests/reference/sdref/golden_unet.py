"""UNet goldens: tests/data/unet/<case>/ (see tests/reference/README.md)."""
import os
import shutil
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import torch

from . import safetensors_io as st
from .clip_text import CLIPTextConfig, CLIPTextModel, openclip_state_dict
from .golden_common import GOLDEN_PRECISION, dir_size, engine_check, rel_l2, shapes, write_json
from .init import load_into, random_weights, scale_non_norm
from .unet import UNet, UNetConfig
from .unet_names import LDM_PREFIX, diffusers_config, ldm_to_diffusers


@dataclass
class UNetCase:
    name: str
    description: str
    cfg: UNetConfig
    layout: str            # "ldm" | "diffusers" | "diffusers_folder"
    weight_dtype: str      # "F32" | "F16" | "BF16"
    batch: int
    latent_hw: Tuple[int, int]
    t: Tuple[float, ...]
    seed: int
    prediction_type: str = "epsilon"
    fine_dumps: bool = False
    extra_keys: bool = False   # add non-UNet tensors a full LDM checkpoint carries
    # An SD 2.x-style OpenCLIP text tower stored next to the UNet (cond_stage_model.model.*),
    # so that the file is told apart by its text encoder's names, as a real SD 2.x checkpoint.
    openclip_text: Optional[CLIPTextConfig] = None
    weight_scale: float = 1.0  # init.scale_non_norm: small activations, so that every norm's eps shows


CASES = [
    UNetCase(
        name="sd1_tiny_ldm_f16",
        description=("SD 1.x-like tiny UNet, single-file LDM layout (model.diffusion_model.*), F16 weights. "
                     "3 levels (32, 32, 64 channels), 2 res blocks per level, attention on levels 0 and 1 "
                     "(not the last, as SD 1.5), 8 heads, context 768, conv proj_in/proj_out, depth 1. "
                     "The file also carries non-UNet tensors of a full checkpoint (alphas_cumprod, "
                     "model_ema.*, a cond_stage_model position_ids) that a UNet loader must skip. "
                     "Fine-grained per-resnet/attention dumps included."),
        cfg=UNetConfig(model_channels=32, channel_mult=(1, 1, 2), num_res_blocks=2, attention_levels=(0, 1),
                       num_heads=8, head_dim=None, transformer_depth=1, context_dim=768,
                       use_linear_in_transformer=False),
        layout="ldm", weight_dtype="F16", batch=1, latent_hw=(16, 24), t=(937.5,), seed=1001,
        fine_dumps=True, extra_keys=True),
    UNetCase(
        name="sd2_tiny_folder_bf16",
        description=("SD 2.x-like tiny UNet as a diffusers folder (unet/config.json + "
                     "unet/diffusion_pytorch_model.safetensors, scheduler/scheduler_config.json with "
                     "v_prediction), BF16 weights. 3 levels (32, 32, 64), 1 res block per level, attention "
                     "on levels 0 and 1, head width 16 (heads = channels / 16: 2, 2, 4; config.json "
                     "attention_head_dim = [2, 2, 4], diffusers' name for the head count), context 1024, "
                     "linear proj_in/proj_out."),
        cfg=UNetConfig(model_channels=32, channel_mult=(1, 1, 2), num_res_blocks=1, attention_levels=(0, 1),
                       num_heads=None, head_dim=16, transformer_depth=1, context_dim=1024,
                       use_linear_in_transformer=True),
        layout="diffusers_folder", weight_dtype="BF16", batch=1, latent_hw=(24, 16), t=(500.0,), seed=2002,
        prediction_type="v_prediction"),
    UNetCase(
        name="sd2_openclip_ctx128_ldm_f16",
        description=("SD 2.x-architecture tiny UNet in a single-file LDM checkpoint with no config: linear "
                     "proj_in/proj_out, heads of width 64 (num_head_channels 64: 1 head at 64 channels), and a "
                     "cross-attention context of 128, not SD 2.x's 1024. The file also holds a tiny OpenCLIP text "
                     "tower of width 128 under cond_stage_model.model.* (SD 2.x's FrozenOpenCLIPEmbedder names), "
                     "which is what says SD 2.x here: a loader that decides from the context width alone takes it "
                     "for SD 1.x and uses 8 heads. F16 weights. 2 levels (64, 64 channels), 1 res block per "
                     "level, attention on level 1 and in the mid block, depth 1."),
        cfg=UNetConfig(model_channels=64, channel_mult=(1, 1), num_res_blocks=1, attention_levels=(1,),
                       num_heads=None, head_dim=64, transformer_depth=1, context_dim=128,
                       use_linear_in_transformer=True),
        layout="ldm", weight_dtype="F16", batch=1, latent_hw=(8, 12), t=(400.0,), seed=4004,
        openclip_text=CLIPTextConfig(vocab_size=256, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=512, hidden_act="gelu")),
    UNetCase(
        name="depth2_diffusers_f32_b2",
        description=("Transformer depth 2, batch 2 with different timesteps, odd latent 24x40, diffusers "
                     "single-file layout (down_blocks.*), F32 weights. 2 levels (32, 32), 1 res block per "
                     "level, attention on level 0 only (plus the mid block), 8 heads, conv proj, context width 128 "
                     "(not 768, only to keep the file small: the cross-attention code is the same)."),
        cfg=UNetConfig(model_channels=32, channel_mult=(1, 1), num_res_blocks=1, attention_levels=(0,),
                       num_heads=8, head_dim=None, transformer_depth=2, context_dim=128,
                       use_linear_in_transformer=False),
        layout="diffusers", weight_dtype="F32", batch=2, latent_hw=(24, 40), t=(999.0, 20.25), seed=3003),
    UNetCase(
        name="small_activations_ldm_f16",
        description=("Every weight and bias except the norms' scales and shifts multiplied by 0.01 "
                     "(weight_scale), so activations are about 0.01 and each norm sees a variance of about "
                     "1e-4: a resnet GroupNorm eps (1e-5), transformer GroupNorm eps (1e-6) or LayerNorm eps "
                     "(1e-5) off by a factor of 10 changes eps by percents (the other cases see it only at the "
                     "level of fp32 rounding). Single-file LDM layout, F16 weights, 2 levels (32, 32), "
                     "1 res block per level, attention on level 0, 8 heads, conv proj, context width 64, "
                     "latent 8x8. Fine-grained dumps included."),
        cfg=UNetConfig(model_channels=32, channel_mult=(1, 1), num_res_blocks=1, attention_levels=(0,),
                       num_heads=8, head_dim=None, transformer_depth=1, context_dim=64,
                       use_linear_in_transformer=False),
        layout="ldm", weight_dtype="F16", batch=1, latent_hw=(8, 8), t=(420.0,), seed=3103,
        fine_dumps=True, weight_scale=0.01),
]


def _extra_ldm_tensors():
    """Small non-UNet tensors found in real single-file SD 1.x checkpoints."""
    betas = (torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2)
    alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
    return {
        "alphas_cumprod": (alphas_cumprod.float(), "F32"),
        "betas": (betas.float(), "F32"),
        "model_ema.decay": (torch.tensor(0.9999), "F32"),
        "model_ema.num_updates": (torch.tensor(0, dtype=torch.int32), "I32"),
        "cond_stage_model.transformer.text_model.embeddings.position_ids": (
            torch.arange(77, dtype=torch.int64)[None, :], "I64"),
    }


def _openclip_tensors(cfg: CLIPTextConfig, seed, dtype):
    """Random OpenCLIP text-tower weights in SD 2.x single-file names (cond_stage_model.model.*)."""
    names = [(k, v.shape) for k, v in CLIPTextModel(cfg).state_dict().items()]
    hf = {k: st.round_to(v, dtype) for k, v in random_weights(names, seed, embedding_std=1.0).items()}
    return {"cond_stage_model.model." + k: v for k, v in sorted(openclip_state_dict(hf).items())}


def config_summary(cfg: UNetConfig):
    L = len(cfg.channel_mult)
    chans = [cfg.channels(l) for l in range(L)]
    heads = [cfg.heads_at(c) for c in chans]
    d = cfg.to_json()
    d.update({
        "block_channels": chans,
        "time_embed_dim": 4 * cfg.model_channels,
        "heads_per_level": [h for h, _ in heads],
        "head_dim_per_level": [dh for _, dh in heads],
        "mid_heads": cfg.heads_at(chans[-1])[0],
        "groupnorm_groups": cfg.groups,
        "resnet_groupnorm_eps": 1e-5,
        "transformer_groupnorm_eps": 1e-6,
        "layernorm_eps": 1e-5,
        "conv_norm_out_eps": 1e-5,
        "ff_inner_dim": "4 * channels (GEGLU proj to 8 * channels: first half value, second half gate, exact erf GELU)",
        "time_features": "sinusoidal, dim = model_channels, freqs exp(-ln(10000) i / half), [cos | sin] (flip_sin_to_cos, shift 0)",
    })
    return d


def write_case(case: UNetCase, out_root, log=print):
    cdir = os.path.join(out_root, "unet", case.name)
    if os.path.isdir(cdir):
        shutil.rmtree(cdir)
    os.makedirs(cdir)
    cfg = case.cfg

    model = UNet(cfg)
    names = [(k, v.shape) for k, v in model.state_dict().items()]
    w32 = scale_non_norm(random_weights(names, case.seed), case.weight_scale)
    stored = {k: st.round_to(v, case.weight_dtype) for k, v in w32.items()}
    name_map = ldm_to_diffusers(model)

    # ---- model file(s)
    if case.layout == "ldm":
        tensors = {LDM_PREFIX + k: v for k, v in sorted(stored.items())}
        dtypes = {k: case.weight_dtype for k in tensors}
        if case.extra_keys:
            for k, (v, dt) in _extra_ldm_tensors().items():
                tensors[k] = v
                dtypes[k] = dt
        if case.openclip_text is not None:
            for k, v in _openclip_tensors(case.openclip_text, case.seed + 11, case.weight_dtype).items():
                tensors[k] = v
                dtypes[k] = case.weight_dtype
        model_rel = "model.safetensors"
        st.write(os.path.join(cdir, model_rel), dict(sorted(tensors.items())), dtypes)
    else:
        tensors = {name_map[k]: v for k, v in stored.items()}
        tensors = dict(sorted(tensors.items()))
        if case.layout == "diffusers":
            model_rel = "model.safetensors"
            st.write(os.path.join(cdir, model_rel), tensors, default_dtype=case.weight_dtype)
        else:
            model_rel = "model"
            root = os.path.join(cdir, model_rel)
            st.write(os.path.join(root, "unet", "diffusion_pytorch_model.safetensors"), tensors,
                     default_dtype=case.weight_dtype)
            write_json(os.path.join(root, "unet", "config.json"), diffusers_config(cfg, case.latent_hw[0]))
            write_json(os.path.join(root, "scheduler", "scheduler_config.json"), {
                "_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.21.4",
                "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
                "num_train_timesteps": 1000, "prediction_type": case.prediction_type,
                "steps_offset": 1, "timestep_spacing": "leading"})
            write_json(os.path.join(root, "model_index.json"), {
                "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.21.4",
                "scheduler": ["diffusers", "EulerDiscreteScheduler"],
                "unet": ["diffusers", "UNet2DConditionModel"]})

    # ---- inputs
    g = torch.Generator().manual_seed(case.seed + 7)
    B = case.batch
    h, w = case.latent_hw
    x = torch.randn((B, cfg.in_channels, h, w), generator=g, dtype=torch.float32)
    ctx = torch.randn((B, 77, cfg.context_dim), generator=g, dtype=torch.float32)
    t = torch.tensor(case.t, dtype=torch.float32)
    assert t.shape == (B,)

    # ---- reference in float64
    model = model.double()
    load_into(model, {k: v.double() for k, v in stored.items()})
    dumps = {}
    with torch.no_grad():
        eps = model(x.double(), t.double(), ctx.double(), dumps=dumps, fine=case.fine_dumps)
    # informative: the same model in float32 (what a good fp32 engine can reach)
    m32 = UNet(cfg)
    load_into(m32, stored)
    with torch.no_grad():
        eps32 = m32(x, t, ctx)
    fp32_err = rel_l2(eps32, eps)

    io = {"x": x, "t": t, "context": ctx, "eps": eps.float()}
    for k, v in dumps.items():   # execution order
        io["dump." + k] = v.float()
    st.write(os.path.join(cdir, "io.safetensors"), io)

    dump_names = [k for k in io if k.startswith("dump.")]
    meta = {
        "name": case.name,
        "kind": "unet",
        "description": case.description,
        "model": model_rel,
        "layout": case.layout,
        "weight_dtype": case.weight_dtype,
        "prediction_type": case.prediction_type,
        "seed": case.seed,
        **({"weight_scale": case.weight_scale} if case.weight_scale != 1.0 else {}),
        "config": config_summary(cfg),
        "diffusers_config": diffusers_config(cfg, case.latent_hw[0]),
        "num_unet_tensors": len(stored),
        "num_parameters": sum(v.numel() for v in stored.values()),
        "extra_non_unet_keys": sorted((list(_extra_ldm_tensors()) if case.extra_keys else []) +
                                      (list(_openclip_tensors(case.openclip_text, case.seed + 11, case.weight_dtype))
                                       if case.openclip_text is not None else [])),
        "inputs": {"x": list(x.shape), "t": [float(v) for v in case.t], "context": list(ctx.shape)},
        "output": {"eps": list(eps.shape)},
        "dumps": {k: list(io[k].shape) for k in dump_names},
        "dump_layout": "NCHW F32, except dump.time_emb [B, 4*model_channels]",
        "golden_precision": GOLDEN_PRECISION,
        "check": engine_check(case.name, {
            "what": "load `model`, run eps = unet(x, t, context), compare with io `eps` (and any dump.* the engine can produce)",
            "metric": "relative L2: ||out - golden||_2 / ||golden||_2 over the whole tensor",
            "note": ("the golden is exact for the stored (rounded) weights, so F16/BF16 files are held to an "
                     "fp32-level bound when weights are widened to fp32 exactly"),
        }),
        "fp32_pytorch_rel_l2": fp32_err,
        "eps_rms": float(eps.pow(2).mean().sqrt()),
    }
    if case.openclip_text is not None:
        meta["openclip_text"] = case.openclip_text.to_json()
    write_json(os.path.join(cdir, "case.json"), meta)
    log(f"unet/{case.name}: {len(stored)} tensors, {meta['num_parameters']} params, "
        f"eps rms {meta['eps_rms']:.3f}, fp32 torch rel L2 {fp32_err:.2e}, {dir_size(cdir) / 1e6:.2f} MB")
    return meta

