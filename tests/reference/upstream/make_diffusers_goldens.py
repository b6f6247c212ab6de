#!/usr/bin/python3
"""UNet and VAE goldens from diffusers 0.27.2 itself (UNet2DConditionModel,
AutoencoderKL), on the fixtures and inputs of the hand-port goldens
(tests/data/unet/<case>/, tests/data/vae/<case>/).

How each model is built is diffusers' own code path for its layout:
- a diffusers folder: `Model.from_pretrained(folder, subfolder=...)` (config.json,
  legacy VAE attention names converted by diffusers);
- an LDM single file (UNet `model.diffusion_model.*`, VAE `first_stage_model.*`
  or a bare VAE file): the config from an LDM-style original config through
  `create_unet_diffusers_config` / `create_vae_diffusers_config`, the weights
  through `convert_ldm_unet_checkpoint` / `convert_ldm_vae_checkpoint`
  (loaders/single_file_utils.py), then `load_state_dict(strict=True)`;
- a diffusers-named single file (no config): the same config path, the file's
  names as they are.
The LDM original config is written from each case's `config` (channel
multipliers, attention levels, heads, context width, projection kind), the
values an LDM yaml would hold.

Every model runs in float64 on the stored (rounded) weights; each golden file
also records the float32 run's error and the hand-port golden's distance.

Writes tests/data/upstream/unet/<case>.safetensors (`eps`, dumps `dump.*` of
the top-level blocks) and tests/data/upstream/vae/<case>.safetensors
(`image` from the case's decode latent, `moments` from its encode image).

Run: /usr/bin/python3 tests/reference/upstream/make_diffusers_goldens.py
(needs the diffusers mirror: see tests/reference/README.md).
"""
import copy
import json
import os

import torch

import common
import sources

SOURCE = sources.load("diffusers")
from diffusers.loaders import single_file_utils as sfu  # noqa: E402
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL  # noqa: E402
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel  # noqa: E402

UNET_CASES = ["sd1_tiny_ldm_f16", "sd2_tiny_folder_bf16", "depth2_diffusers_f32_b2"]
VAE_CASES = ["vae_ckpt_f16", "vae_standalone_f16_b2", "vae_diffusers_folder_f16", "vae_diffusers_legacy_f16"]


def ldm_original_config(unet=None, vae=None):
    """The parts of an LDM yaml (v1-inference.yaml structure) the diffusers converters read."""
    params = {"first_stage_config": {"params": {"ddconfig": {"ch_mult": [1, 2, 4, 4]}}}}
    if unet is not None:
        p = {"in_channels": unet["in_channels"], "out_channels": unet["out_channels"],
             "model_channels": unet["model_channels"], "channel_mult": unet["channel_mult"],
             "num_res_blocks": unet["num_res_blocks"],
             "attention_resolutions": [2 ** level for level in unet["attention_levels"]],
             "transformer_depth": unet["transformer_depth"], "context_dim": unet["context_dim"],
             "use_linear_in_transformer": unet["use_linear_in_transformer"]}
        if unet["num_heads"] is not None:
            p["num_heads"] = unet["num_heads"]
        else:
            p["num_head_channels"] = unet["head_dim"]
        params["unet_config"] = {"params": p}
    if vae is not None:
        params["first_stage_config"]["params"]["ddconfig"] = {
            "ch": vae["ch"], "ch_mult": vae["ch_mult"], "num_res_blocks": vae["num_res_blocks"],
            "in_channels": vae["in_channels"], "out_ch": vae["out_ch"], "z_channels": vae["z_channels"]}
        params["scale_factor"] = vae["scale_factor"]
    return {"model": {"params": params}}


def read_case(kind, name):
    d = os.path.join(common.DATA, kind, name)
    with open(os.path.join(d, "case.json")) as f:
        return d, json.load(f)


def strict_from_pretrained(cls, folder, subfolder):
    model, info = cls.from_pretrained(folder, subfolder=subfolder, output_loading_info=True)
    bad = {k: v for k, v in info.items() if v}
    if bad:
        raise SystemExit(f"{folder}/{subfolder}: diffusers did not load every weight: {bad}")
    return model


def build_unet(d, case):
    model = os.path.join(d, case["model"])
    if os.path.isdir(model):
        return strict_from_pretrained(UNet2DConditionModel, model, "unet"), "from_pretrained(folder)"
    config = sfu.create_unet_diffusers_config(ldm_original_config(unet=case["config"]), image_size=512)
    unet = UNet2DConditionModel(**config)
    sd = common.load_file(model)
    if case["layout"] == "ldm":
        sd = sfu.convert_ldm_unet_checkpoint(sd, config)
        how = "create_unet_diffusers_config + convert_ldm_unet_checkpoint"
    else:
        how = "create_unet_diffusers_config, diffusers names as stored"
    unet.load_state_dict(sd, strict=True)
    return unet, how


def build_vae(d, case):
    model = os.path.join(d, case["model"])
    if os.path.isdir(model):
        return strict_from_pretrained(AutoencoderKL, model, "vae"), "from_pretrained(folder)"
    config = sfu.create_vae_diffusers_config(ldm_original_config(vae=case["config"]), image_size=256)
    vae = AutoencoderKL(**config)
    sd = sfu.convert_ldm_vae_checkpoint(common.load_file(model), config)
    vae.load_state_dict(sd, strict=True)
    return vae, "create_vae_diffusers_config + convert_ldm_vae_checkpoint"


def public_config(model):
    """The model's config without diffusers' private entries (`_use_default_values` is a set's order)."""
    return {k: v for k, v in sorted(dict(model.config).items()) if not k.startswith("_")}


UNET_DUMPS = ["time_embedding", "conv_in", "mid_block"]


def run_unet(unet, io, dtype):
    unet = unet.to(dtype).eval()
    dumps = {}

    def hook(name):
        def f(module, args, out):
            dumps["dump." + name] = (out[0] if isinstance(out, tuple) else out).detach().clone()
        return f

    handles = [getattr(unet, n).register_forward_hook(hook("time_emb" if n == "time_embedding" else n))
               for n in UNET_DUMPS]
    handles += [b.register_forward_hook(hook(f"down_blocks.{i}")) for i, b in enumerate(unet.down_blocks)]
    handles += [b.register_forward_hook(hook(f"up_blocks.{i}")) for i, b in enumerate(unet.up_blocks)]
    with torch.no_grad():
        eps = unet(io["x"].to(dtype), io["t"].to(dtype), encoder_hidden_states=io["context"].to(dtype)).sample
    for h in handles:
        h.remove()
    return eps, dumps


def unet_golden(name):
    d, case = read_case("unet", name)
    unet, how = build_unet(d, case)
    io = common.load_file(os.path.join(d, "io.safetensors"))
    eps64, dumps = run_unet(copy.deepcopy(unet), io, torch.float64)
    eps32, _ = run_unet(unet, io, torch.float32)
    meta = {"source": SOURCE["diffusers"], "class": "UNet2DConditionModel", "built_by": how,
            "fixture": f"unet/{name}/{case['model']}", "inputs": f"unet/{name}/io.safetensors (x, t, context)",
            "precision": "float64 on the stored weights, saved as F32",
            "fp32_rel_l2": common.rel_l2(eps32, eps64),
            "hand_port_rel_l2": common.rel_l2(io["eps"], eps64),
            "config": public_config(unet)}
    common.write_golden(os.path.join(common.OUT, "unet", name + ".safetensors"), {"eps": eps64, **dumps}, meta)
    print(f"  fp32 {meta['fp32_rel_l2']:.2e}, hand port {meta['hand_port_rel_l2']:.2e}")


def vae_golden(name):
    d, case = read_case("vae", name)
    vae, how = build_vae(d, case)
    dec = common.load_file(os.path.join(d, "decode.safetensors"))
    enc = common.load_file(os.path.join(d, "encode.safetensors"))
    out = {}
    for dtype in (torch.float64, torch.float32):
        v = copy.deepcopy(vae).to(dtype).eval()
        with torch.no_grad():
            image = v.decode(dec["latent"].to(dtype) / v.config.scaling_factor).sample
            moments = v.encode(enc["image"].to(dtype)).latent_dist.parameters
        out[dtype] = (image, moments)
    (image, moments), (image32, moments32) = out[torch.float64], out[torch.float32]
    meta = {"source": SOURCE["diffusers"], "class": "AutoencoderKL", "built_by": how,
            "fixture": f"vae/{name}/{case['model']}",
            "inputs": f"vae/{name}/decode.safetensors latent, vae/{name}/encode.safetensors image",
            "contract": "image = decode(latent / scaling_factor).sample (unclamped); "
                        "moments = encode(image).latent_dist.parameters (quant_conv output, unclamped)",
            "scaling_factor": vae.config.scaling_factor,
            "precision": "float64 on the stored weights, saved as F32",
            "fp32_rel_l2": {"image": common.rel_l2(image32, image), "moments": common.rel_l2(moments32, moments)},
            "hand_port_rel_l2": {"image": common.rel_l2(dec["image"], image),
                                 "moments": common.rel_l2(enc["moments"], moments)},
            "config": public_config(vae)}
    common.write_golden(os.path.join(common.OUT, "vae", name + ".safetensors"),
                        {"image": image, "moments": moments}, meta)
    print(f"  fp32 {meta['fp32_rel_l2']}, hand port {meta['hand_port_rel_l2']}")


def main():
    common.setup_torch()
    for name in UNET_CASES:
        unet_golden(name)
    for name in VAE_CASES:
        vae_golden(name)


if __name__ == "__main__":
    main()
