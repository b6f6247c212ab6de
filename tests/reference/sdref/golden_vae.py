"""VAE goldens: tests/data/vae/<case>/ (see tests/reference/README.md)."""
import os
import shutil
from dataclasses import dataclass
from typing import Tuple

import torch

from . import safetensors_io as st
from .golden_common import GOLDEN_PRECISION, dir_size, engine_check, rel_l2, write_json
from .init import load_into, random_weights, scale_non_norm
from .vae import SCALE_FACTOR, AutoencoderKL, VAEConfig
from .vae_names import CKPT_PREFIX, diffusers_config, ldm_to_diffusers_name

TINY = VAEConfig(ch=32, ch_mult=(1, 2, 1, 1), num_res_blocks=2)


@dataclass
class VAECase:
    name: str
    description: str
    cfg: VAEConfig
    layout: str          # "ldm_checkpoint" | "ldm_standalone" | "diffusers_folder" | "diffusers_legacy_folder"
    weight_dtype: str
    batch: int
    latent_hw: Tuple[int, int]
    seed: int
    dumps: bool = False
    weight_scale: float = 1.0  # init.scale_non_norm: small activations, so that every norm's eps shows


_ARCH = ("ch 32, ch_mult (1, 2, 1, 1) -> block channels 32, 64, 32, 32 (both channel changes get a "
         "nin_shortcut / conv_shortcut, so the key set is exactly the 248 keys of the real SD VAE), "
         "2 res blocks per encoder level, 3 per decoder level, mid block with single-head attention, "
         "z 4, embed 4, 8x down/up-sampling")

CASES = [
    VAECase("vae_ckpt_f16",
            "AutoencoderKL inside a single-file checkpoint (first_stage_model.*), F16. LDM mid attention "
            "q/k/v/proj_out are 1x1 convs ([C, C, 1, 1]). " + _ARCH + ". Decoder and encoder dumps included.",
            TINY, "ldm_checkpoint", "F16", batch=1, latent_hw=(4, 6), seed=4004, dumps=True),
    VAECase("vae_standalone_f16_b2",
            "Standalone LDM VAE file as passed with --vae (names encoder.* / decoder.* / quant_conv / "
            "post_quant_conv without prefix, like vae-ft-mse-840000-ema-pruned.safetensors), F16, batch 2. " + _ARCH,
            TINY, "ldm_standalone", "F16", batch=2, latent_hw=(6, 10), seed=5005),
    VAECase("vae_diffusers_folder_f16",
            "diffusers folder vae/config.json + vae/diffusion_pytorch_model.safetensors, F16, current attention "
            "names mid_block.attentions.0.{group_norm,to_q,to_k,to_v,to_out.0} with [C, C] linear weights. " + _ARCH,
            TINY, "diffusers_folder", "F16", batch=1, latent_hw=(6, 4), seed=6006),
    VAECase("vae_diffusers_legacy_f16",
            "diffusers folder with the legacy attention names mid_block.attentions.0.{group_norm,query,key,value,"
            "proj_attn} ([C, C] weights) that older diffusers VAE files carry, F16. " + _ARCH,
            TINY, "diffusers_legacy_folder", "F16", batch=1, latent_hw=(4, 4), seed=7007),
    VAECase("vae_small_activations_f16",
            "Every weight and bias except the GroupNorm scales and shifts multiplied by 0.01 (weight_scale), so "
            "activations are about 0.01 and each GroupNorm sees a variance of about 1e-4: a GroupNorm eps of "
            "1e-5 instead of 1e-6 changes the outputs by percents (the other cases see it only at the level of "
            "fp32 rounding). Standalone LDM layout, F16. " + _ARCH,
            TINY, "ldm_standalone", "F16", batch=1, latent_hw=(2, 2), seed=7107, weight_scale=0.01),
]


def write_case(case: VAECase, out_root, log=print):
    cdir = os.path.join(out_root, "vae", case.name)
    if os.path.isdir(cdir):
        shutil.rmtree(cdir)
    os.makedirs(cdir)
    cfg = case.cfg
    L = len(cfg.ch_mult)
    model = AutoencoderKL(cfg)
    names = [(k, v.shape) for k, v in model.state_dict().items()]
    stored = {k: st.round_to(v, case.weight_dtype)
              for k, v in scale_non_norm(random_weights(names, case.seed), case.weight_scale).items()}

    if case.layout in ("ldm_checkpoint", "ldm_standalone"):
        prefix = CKPT_PREFIX if case.layout == "ldm_checkpoint" else ""
        model_rel = "model.safetensors"
        st.write(os.path.join(cdir, model_rel), {prefix + k: v for k, v in sorted(stored.items())},
                 default_dtype=case.weight_dtype)
    else:
        legacy = case.layout == "diffusers_legacy_folder"
        tensors = {}
        for k, v in stored.items():
            dn, squeeze = ldm_to_diffusers_name(k, L, legacy)
            tensors[dn] = v[:, :, 0, 0] if squeeze else v
        model_rel = "model"
        root = os.path.join(cdir, model_rel, "vae")
        st.write(os.path.join(root, "diffusion_pytorch_model.safetensors"), dict(sorted(tensors.items())),
                 default_dtype=case.weight_dtype)
        write_json(os.path.join(root, "config.json"), diffusers_config(cfg, 8 * case.latent_hw[0]))

    g = torch.Generator().manual_seed(case.seed + 7)
    B = case.batch
    h, w = case.latent_hw
    # latents as a sampler leaves them: roughly N(0, 1) / scale_factor-scaled SD latents have std ~1
    latent = torch.randn((B, cfg.z_channels, h, w), generator=g, dtype=torch.float32)
    image_in = torch.rand((B, cfg.in_channels, 8 * h, 8 * w), generator=g, dtype=torch.float32) * 2 - 1

    model = model.double()
    load_into(model, {k: v.double() for k, v in stored.items()})
    ddump = {} if case.dumps else None
    edump = {} if case.dumps else None
    with torch.no_grad():
        image = model.decode_latent(latent.double(), ddump)
        moments = model.encode_moments(image_in.double(), edump)
    mean, logvar = moments.chunk(2, dim=1)
    logvar = logvar.clamp(-30.0, 20.0)  # DiagonalGaussianDistribution
    m32 = AutoencoderKL(cfg)
    load_into(m32, stored)
    with torch.no_grad():
        err_dec = rel_l2(m32.decode_latent(latent), image)
        err_enc = rel_l2(m32.encode_moments(image_in), moments)

    dec = {"latent": latent, "image": image.float()}
    for k, v in (ddump or {}).items():
        dec["dump." + k] = v.float()
    enc = {"image": image_in, "moments": moments.float(), "mean": mean.float(), "logvar": logvar.float()}
    for k, v in (edump or {}).items():
        enc["dump." + k] = v.float()
    st.write(os.path.join(cdir, "decode.safetensors"), dec)
    st.write(os.path.join(cdir, "encode.safetensors"), enc)

    meta = {
        "name": case.name,
        "kind": "vae",
        "description": case.description,
        "model": model_rel,
        "layout": case.layout,
        "weight_dtype": case.weight_dtype,
        "seed": case.seed,
        **({"weight_scale": case.weight_scale} if case.weight_scale != 1.0 else {}),
        "config": dict(cfg.to_json(), block_channels=[cfg.ch * m for m in cfg.ch_mult],
                       groupnorm_eps=1e-6, scale_factor=SCALE_FACTOR,
                       attention="mid block only, 1 head of width C, scale 1/sqrt(C)",
                       downsample="zero pad (left 0, right 1, top 0, bottom 1), 3x3 conv stride 2 pad 0",
                       upsample="nearest 2x, 3x3 conv pad 1"),
        "diffusers_config": diffusers_config(cfg, 8 * case.latent_hw[0]),
        "num_tensors": len(stored),
        "num_parameters": sum(v.numel() for v in stored.values()),
        "decode": {
            "file": "decode.safetensors",
            "input": {"latent": list(latent.shape)},
            "output": {"image": list(image.shape)},
            "semantics": "image = decoder(post_quant_conv(latent / 0.18215)), in [-1, 1] scale, NOT clamped "
                         "(what `skingen eval vae` returns)",
            "dumps": {k: list(v.shape) for k, v in dec.items() if k.startswith("dump.")},
        },
        "encode": {
            "file": "encode.safetensors",
            "input": {"image": list(image_in.shape)},
            "output": {"moments": list(moments.shape), "mean": list(mean.shape), "logvar": list(logvar.shape)},
            "semantics": "moments = quant_conv(encoder(image)); mean, logvar = moments split in two along "
                         "channels; logvar clamped to [-30, 20] (LDM DiagonalGaussianDistribution); "
                         "no 0.18215 scaling applied",
            "dumps": {k: list(v.shape) for k, v in enc.items() if k.startswith("dump.")},
        },
        "dump_layout": "NCHW F32; names are diffusers module paths (decoder.up_blocks.0 = deepest level)",
        "golden_precision": GOLDEN_PRECISION,
        "check": engine_check(case.name, {"metric": "relative L2 over the whole tensor"}),
        "fp32_pytorch_rel_l2": {"decode": err_dec, "encode": err_enc},
        "image_rms": float(image.pow(2).mean().sqrt()),
    }
    write_json(os.path.join(cdir, "case.json"), meta)
    log(f"vae/{case.name}: {len(stored)} tensors, image rms {meta['image_rms']:.3f}, "
        f"fp32 torch rel L2 dec {err_dec:.2e} enc {err_enc:.2e}, {dir_size(cdir) / 1e6:.2f} MB")
    return meta
