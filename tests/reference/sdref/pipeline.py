"""txt2img reference pipeline for the end-to-end goldens (tests/data/pipeline/).

A tiny SD 1.x model (UNet + VAE decoder) in the LDM single-file layout, a
kohya LoRA for it, and the whole generation as upstream does it:
- conditioning from stored embeddings (`cond`, `uncond` [1, 77, 64]), which
  replace tokenizer and text encoder (`skingen generate --embeddings`);
- the sampler and σ schedule of sampling_upstream.py (k-diffusion's samplers
  around CompVisDenoiser, float32 sampler arithmetic, torch.Generator noise);
- classifier-free guidance as diffusers' StableDiffusionPipeline: one doubled
  batch [uncond; cond], ε = ε_u + g·(ε_c − ε_u) in float32; g == 1 skips the
  unconditional pass;
- the UNet and VAE in float64 on the stored (F16-rounded) weights, with the
  timestep features rounded in float32 as upstream computes them (CompVis
  openaimodel.py timestep_embedding, diffusers get_timestep_embedding);
- LoRA merged into the weights before the run: W + m·(α/r)·up@down (kohya-ss
  sd-scripts networks/lora.py LoRAModule.merge_to; docs/FORMATS.md,
  "LoRA formulas");
- seamless tiling: padding_mode "circular" in every padded Conv2d of the UNet
  and the VAE (A1111 modules/sd_hijack.py apply_circular; docs/FORMATS.md,
  "Seamless tiling");
- VAE decode of latent / 0.18215, then diffusers' 8-bit rule
  (VaeImageProcessor.denormalize, numpy_to_pil): clamp(x / 2 + 0.5, 0, 1)·255,
  rounded half to even.
"""
import math

import numpy as np
import torch
import torch.nn as nn

import sampling_upstream as up

from . import safetensors_io as st
from .init import load_into, random_weights
from .unet import UNet, UNetConfig
from .unet_names import LDM_PREFIX, ldm_to_diffusers
from .vae import AutoencoderKL, VAEConfig

# SD 1.x-like, as small as keeps the data a few hundred KB and every block
# kind the pipeline composes: two UNet levels of 32 channels (GroupNorm's 32
# groups set the floor), one res block per level, so the stride-2 downsampler,
# the upsampler and the skip concatenation (64 -> 32 channels, conv shortcut)
# run; attention (8 heads, context 64, conv proj) in the mid block only.
UNET = UNetConfig(model_channels=32, channel_mult=(1, 1), num_res_blocks=1, attention_levels=(),
                  num_heads=8, head_dim=None, transformer_depth=1, context_dim=64,
                  use_linear_in_transformer=False)
# A two-level VAE decoder (2x upsampling, 32 channels, one res block per level
# plus the mid block with attention): the real key names, a quarter of the
# weights of an 8x decoder. The 8x geometry is covered by tests/data/vae.
VAE = VAEConfig(ch=32, ch_mult=(1, 1), num_res_blocks=1)
DOWNSCALE = 2 ** (len(VAE.ch_mult) - 1)
VAE_PREFIX = "first_stage_model."
WEIGHT_DTYPE = "F16"

LORA_RANK = 4
LORA_ALPHA = 2.0
# kohya's UNet targets (networks/lora.py: Transformer2DModel modules, plus
# ResnetBlock2D / Downsample2D / Upsample2D with conv_dim set, i.e. LoCon).
LORA_SUFFIXES = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0",
                 "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0",
                 "ff.net.0.proj", "ff.net.2", "proj_in", "proj_out",
                 "conv1", "conv2", "time_emb_proj", "conv_shortcut",
                 "downsamplers.0.conv", "upsamplers.0.conv")


def fp32_timestep_features(t, dim, max_period=10000.0):
    """Upstream's float32 rounding: exponent = fp32(-ln P)·i / half, freqs =
    exp(exponent), args = t·freqs, [cos | sin], each rounded to float32
    (exp / cos / sin correctly rounded: glibc in double, then float32)."""
    half = dim // 2
    t32 = t.to(torch.float32)
    exponent = torch.tensor(-math.log(max_period), dtype=torch.float32) * torch.arange(half, dtype=torch.float32)
    exponent = exponent / torch.tensor(float(half), dtype=torch.float32)
    freqs = torch.from_numpy(np.exp(exponent.numpy().astype(np.float64)).astype(np.float32))
    args = (t32[:, None] * freqs[None, :]).numpy().astype(np.float64)
    emb = np.concatenate([np.cos(args), np.sin(args)], axis=-1).astype(np.float32)
    assert dim % 2 == 0
    return torch.from_numpy(emb).to(t.dtype)


class PipelineUNet(UNet):
    time_features = staticmethod(fp32_timestep_features)


# ---------------------------------------------------------------- weights

def model_weights(seed):
    """(unet, vae) name -> float32 tensors holding the F16-rounded values. The
    VAE's conv_out is scaled by 0.5 so that most decoded values stay inside
    [-1, 1] (a random decoder saturates otherwise and the PNG check would see
    mostly 0 and 255)."""
    unet_names = [(k, v.shape) for k, v in PipelineUNet(UNET).state_dict().items()]
    vae_names = [(k, v.shape) for k, v in AutoencoderKL(VAE).state_dict().items()
                 if k.startswith(("decoder.", "post_quant_conv."))]
    uw = random_weights(unet_names, seed)
    vw = random_weights(vae_names, seed + 1)
    vw["decoder.conv_out.weight"] = vw["decoder.conv_out.weight"] * 0.5
    round_ = lambda d: {k: st.round_to(v, WEIGHT_DTYPE) for k, v in d.items()}  # noqa: E731
    return round_(uw), round_(vw)


def write_checkpoint(path, unet_w, vae_w):
    """LDM single file: model.diffusion_model.* and first_stage_model.{decoder, post_quant_conv}.*
    (no encoder, no text encoder: generation from embeddings needs neither)."""
    tensors = {LDM_PREFIX + k: v for k, v in unet_w.items()}
    tensors.update({VAE_PREFIX + k: v for k, v in vae_w.items()})
    st.write(path, dict(sorted(tensors.items())), default_dtype=WEIGHT_DTYPE)


def lora_modules(unet_w):
    """[(kohya module name, LDM weight name, weight shape)] for every LoRA target, sorted by module."""
    names = ldm_to_diffusers(PipelineUNet(UNET))
    out = []
    for ldm, dif in names.items():
        if not dif.endswith(".weight"):
            continue
        module = dif[:-len(".weight")]
        if module.endswith(LORA_SUFFIXES):
            out.append(("lora_unet_" + module.replace(".", "_"), ldm, tuple(unet_w[ldm].shape)))
    return sorted(out)


def lora_tensors(unet_w, seed):
    """kohya LoRA / LoCon tensors: down [r, in(, k, k)] ~ N(0, 1/fan_in), up
    [out, r(, 1, 1)] ~ N(0, 1/r), alpha a 0-d tensor; F16-rounded, drawn in
    sorted module order. ΔW then has the size of the weight itself."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for module, _, shape in lora_modules(unet_w):
        cout, cin = shape[0], shape[1]
        k = shape[2:]
        down = torch.randn((LORA_RANK, cin) + k, generator=g) / math.sqrt(cin * math.prod(k))
        up_ = torch.randn((cout, LORA_RANK) + (1,) * len(k), generator=g) / math.sqrt(LORA_RANK)
        out[module + ".alpha"] = torch.tensor(LORA_ALPHA)
        out[module + ".lora_down.weight"] = st.round_to(down, WEIGHT_DTYPE)
        out[module + ".lora_up.weight"] = st.round_to(up_, WEIGHT_DTYPE)
    return out


def write_lora(path, tensors, name):
    meta = {"ss_network_module": "networks.lora", "ss_network_dim": str(LORA_RANK),
            "ss_network_alpha": str(LORA_ALPHA), "ss_network_args": '{"conv_dim": "4", "conv_alpha": "2"}',
            "ss_base_model_version": "sd_v1", "ss_v2": "False", "ss_output_name": name}
    st.write(path, dict(sorted(tensors.items())), default_dtype=WEIGHT_DTYPE, metadata=meta)


def merge_lora(unet_w, lora, multiplier):
    """float64 weights with the LoRA merged: W + m·(α/r)·up.flatten(1) @ down.flatten(1)."""
    w = {k: v.double() for k, v in unet_w.items()}
    if multiplier == 0:
        return w
    for module, ldm, shape in lora_modules(unet_w):
        down = lora[module + ".lora_down.weight"].double()
        up_ = lora[module + ".lora_up.weight"].double()
        alpha = float(lora[module + ".alpha"])
        scale = multiplier * alpha / down.shape[0]
        w[ldm] = w[ldm] + scale * (up_.reshape(shape[0], -1) @ down.reshape(down.shape[0], -1)).reshape(shape)
    return w


# ---------------------------------------------------------------- models

def set_tiling(module, tile):
    """Circular padding in every Conv2d with padding (A1111 apply_circular); zeros otherwise."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and any(p > 0 for p in m.padding):
            m.padding_mode = "circular" if tile else "zeros"


def build_unet(weights, dtype):
    m = PipelineUNet(UNET).to(dtype)
    load_into(m, {k: v.to(dtype) for k, v in weights.items()})
    return m.eval()


def build_vae(vae_w, dtype):
    m = AutoencoderKL(VAE).to(dtype)
    full = {k: v.clone() for k, v in m.state_dict().items()}  # encoder weights: unused placeholders
    full.update({k: v.to(dtype) for k, v in vae_w.items()})
    load_into(m, full)
    return m.eval()


# ---------------------------------------------------------------- generation

def guided_eps(unet, cond, uncond, cfg, dtype):
    """The model as the sampler sees it: float32 in and out, the UNet in `dtype`."""
    ctx2 = torch.cat([uncond, cond]).to(dtype)
    ctx1 = cond.to(dtype)

    def eps(x, t):  # x [B, 4, h, w] float32 (already scaled by c_in), t [B] float32
        with torch.no_grad():
            if cfg == 1.0:
                return unet(x.to(dtype), t.to(dtype), ctx1.expand(x.shape[0], -1, -1)).float()
            b = x.shape[0]
            out = unet(torch.cat([x, x]).to(dtype), torch.cat([t, t]).to(dtype),
                       ctx2.repeat_interleave(b, dim=0)).float()
        u, c = out[:b], out[b:]
        return u + torch.tensor(cfg, dtype=torch.float32) * (c - u)
    return eps


def txt2img_latent(unet, cond, uncond, init_latent, seed, sampler, schedule, steps, cfg, dtype):
    """The sampler's final latent (float32 [1, 4, h, w]) from the stored unit-variance noise.
    torch.Generator(seed) first draws the initial noise that --init-latent replaces,
    so ancestral samplers continue the same stream (skingen's --init-latent contract)."""
    num = up.Numerics(native=False)
    den = up.CompVisDenoiser(guided_eps(unet, cond, uncond, cfg, dtype), up.ldm_alphas_cumprod(num), num, False)
    sigmas = up.k_sigmas(schedule, den, steps, num)
    g = torch.Generator().manual_seed(seed)
    shape = tuple(init_latent.shape[1:])

    def draw():
        return torch.randn(shape, generator=g)[None]

    draw()  # the seeded initial draw, replaced by init_latent
    x = init_latent.to(torch.float32) * sigmas[0]
    return up.K_SAMPLERS[sampler](den, x, sigmas, draw, num)


def decode(vae, latent, dtype):
    """latent → image [1, 3, H, W] in about [-1, 1], unclamped."""
    with torch.no_grad():
        return vae.decode_latent(latent.to(dtype))


def to_u8(image):
    """[1, 3, H, W] → uint8 [H, W, 3]: diffusers' clamp(x / 2 + 0.5, 0, 1)·255, round half to even."""
    y = (image[0].double() / 2 + 0.5).clamp(0, 1) * 255
    return np.round(y.permute(1, 2, 0).numpy()).astype(np.uint8)
