"""Reference for what `skingen generate` does beyond txt2img from stored
embeddings (tests/data/pipeline_features/, make_feature_goldens.py), and the
sampling loop of the diffusers-style timestep spacings (also used by
make_pipeline_goldens.py for the leading / linspace / trailing cases).

Upstream facts, each from the source named:
- Prompt → conditioning (AUTOMATIC1111 modules/sd_hijack_clip.py
  FrozenCLIPEmbedderWithCustomWordsBase.process_tokens and
  modules/sd_emphasis.py EmphasisOriginal): the prompt is cut into chunks of
  BOS + 75 tokens + EOS with a weight per token (a1111_prompt_ref.chunks_of);
  each chunk goes through the text encoder on its own; then
  original_mean = z.mean(); z = z * w[token]; z = z * (original_mean / z.mean())
  over the chunk's [1, 77, C] output, w as float32 (torch.asarray of Python
  floats); the chunks are concatenated along the token axis.
- Clip skip N: final_layer_norm(hidden_states[-N]) (A1111 sd_hijack_clip.py
  encode_with_transformers). SD 2.x's OpenCLIP takes the penultimate layer,
  then ln_final (Stability-AI ldm/modules/encoders/modules.py
  FrozenOpenCLIPEmbedder layer="penultimate") and pads with id 0 (A1111
  sd_hijack_open_clip.py id_pad = 0).
- Conditionings of different lengths (prompt and negative with a different
  number of chunks) run through the UNet separately, equal lengths as one
  batch [uncond; cond] (A1111 sd_samplers_cfg_denoiser.py without
  pad_cond_uncond; the results are the same math either way).
- v-prediction: k-diffusion CompVisVDenoiser / diffusers prediction_type
  "v_prediction" (sampling_upstream.py).
- img2img (the σ schedules, A1111 sd_samplers_kdiffusion.py sample_img2img
  and sd_samplers_common.setup_img2img_steps with img2img_fix_steps off):
  t_enc = int(min(strength, 0.999)·steps), σ = get_sigmas(steps)[steps − t_enc − 1:],
  x = x0 + noise·σ[0], i.e. t_enc + 1 steps. The timestep spacings follow
  diffusers' StableDiffusionImg2ImgPipeline: init = min(int(steps·strength), steps)
  steps run, the first steps − init are skipped, scheduler.add_noise(x0, noise,
  first remaining timestep). x0 = the VAE posterior's mean × 0.18215, what
  diffusers' retrieve_latents(sample_mode="argmax") takes; A1111
  (get_first_stage_encoding) and diffusers' default draw a sample from the
  posterior instead, which no seed of another tool reproduces. The PNG becomes x / 127.5 − 1
  (diffusers VaeImageProcessor: 2·(x / 255) − 1).
- Seamless tiling on one axis: circular padding along that axis and zero
  padding along the other in every padded Conv2d of the UNet and the VAE
  (A1111 sd_hijack.py apply_circular does both axes; the one-axis form is the
  asymmetric-tiling convention, F.pad per axis then the convolution without
  padding, as stable-diffusion.cpp --circularx / --circulary). The VAE
  encoder's explicit (0, 1, 0, 1) zero pad never wraps.
- `--rng philox`: A1111's Philox generator (rng_reference.Philox) per image,
  for the initial noise and then every ancestral step; `--rng cpu`:
  torch.Generator(seed).
"""
import json
import types

import torch
import torch.nn as nn
import torch.nn.functional as F

import a1111_prompt_ref
import clip_tokenizer_ref
import sampling_upstream as up
from rng_reference import Philox

from . import pipeline as P

K_SCHEDULES = ("normal", "karras", "exponential")
SPACINGS = ("leading", "linspace", "trailing")


# ---------------------------------------------------------------- tokenizer

class FolderTokenizer(clip_tokenizer_ref.RefTokenizer):
    """clip_tokenizer_ref's BPE over a diffusers tokenizer folder: ids from
    vocab.json, merge ranks from merges.txt (HF CLIPTokenizer reads
    merges.txt .strip().split("\\n")[1:49152 - 256 - 2 + 1])."""

    def __init__(self, folder):  # noqa: super().__init__ reads openai's gz list instead
        with open(f"{folder}/vocab.json", encoding="utf-8") as f:
            self.ids = json.load(f)
        with open(f"{folder}/merges.txt", encoding="utf-8") as f:
            lines = f.read().strip().split("\n")
        assert lines[0].startswith("#version"), lines[0]
        pairs = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]
        _, self.symbol = clip_tokenizer_ref.byte_alphabet()
        self.rank = {p: i for i, p in enumerate(pairs)}
        self.memo = {}


# ---------------------------------------------------------------- prompts

def prompt_chunks(tok, prompt, pad_id=None):
    """A1111's chunks: [{"ids": [77], "weights": [77]}, ...]."""
    return a1111_prompt_ref.chunks_of(tok, prompt, pad_id=pad_id)


def encode_chunks(text_model, chunks, clip_skip, emphasis=True):
    """[1, 77·n, C] in the text model's dtype: each chunk encoded, then A1111's
    "Original" emphasis (mean restored), chunks concatenated."""
    zs = []
    with torch.no_grad():
        for c in chunks:
            ids = torch.tensor([c["ids"]], dtype=torch.int64)
            z = text_model.encode(ids, clip_skip)
            if emphasis:
                w = torch.tensor(c["weights"], dtype=torch.float32).to(z.dtype)
                original_mean = z.mean()
                z = z * w[None, :, None]
                z = z * (original_mean / z.mean())
            zs.append(z)
    return torch.cat(zs, dim=1)


# ---------------------------------------------------------------- tiling

def _axis_padded_conv(self, x):
    ph, pw = self.padding
    x = F.pad(x, (pw, pw, 0, 0), mode="circular" if "x" in self.tile_axes else "constant")
    x = F.pad(x, (0, 0, ph, ph), mode="circular" if "y" in self.tile_axes else "constant")
    return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def set_axis_tiling(module, tile):
    """tile: "none", "x" (wrap left-right), "y" (wrap top-bottom) or "xy", in
    every Conv2d that pads."""
    assert tile in ("none", "x", "y", "xy"), tile
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and any(p > 0 for p in m.padding):
            assert m.padding_mode == "zeros"
            m.tile_axes = "" if tile == "none" else tile
            m.forward = types.MethodType(_axis_padded_conv, m)


# ---------------------------------------------------------------- model and noise

def guided_eps(unet, cond, uncond, cfg, dtype):
    """The model as the sampler sees it: float32 x [B, 4, h, w] and t [B] in,
    float32 ε (or v) out; CFG ε_u + g·(ε_c − ε_u) in float32."""
    def eps(x, t):
        b = x.shape[0]
        with torch.no_grad():
            if cfg == 1.0:
                return unet(x.to(dtype), t.to(dtype), cond.to(dtype).expand(b, -1, -1)).float()
            if cond.shape[1] == uncond.shape[1]:
                out = unet(torch.cat([x, x]).to(dtype), torch.cat([t, t]).to(dtype),
                           torch.cat([uncond, cond]).to(dtype).repeat_interleave(b, dim=0)).float()
                u, c = out[:b], out[b:]
            else:
                u = unet(x.to(dtype), t.to(dtype), uncond.to(dtype).expand(b, -1, -1)).float()
                c = unet(x.to(dtype), t.to(dtype), cond.to(dtype).expand(b, -1, -1)).float()
        return u + torch.tensor(cfg, dtype=torch.float32) * (c - u)
    return eps


def noise_stream(rng, seed, shape):
    """One image's generator: each call draws the next [1, C, H, W] float32."""
    if rng == "philox":
        g = Philox(seed)
        return lambda: torch.from_numpy(g.randn(tuple(shape)))[None]
    g = torch.Generator().manual_seed(seed)
    return lambda: torch.randn(tuple(shape), generator=g)[None]


# ---------------------------------------------------------------- sampling

def sample(eps, sampler, schedule, steps, v_prediction, noise, draw, x0=None, strength=None,
           start_shift=0):
    """The sampler's final latent. `noise`: the unit-variance initial noise (the
    seeded first draw); `draw`: the same generator's next draws (ancestral
    samplers, LCM). With x0 (clean latent) and strength: img2img.
    start_shift moves the img2img start by that many steps (for measuring how
    much the start-step convention matters; 0 in every golden)."""
    num = up.Numerics(native=False)
    if schedule in K_SCHEDULES:
        den = up.CompVisDenoiser(eps, up.ldm_alphas_cumprod(num), num, v_prediction)
        sigmas = up.k_sigmas(schedule, den, steps, num)
        if strength is None:
            x = noise * sigmas[0]
        else:
            t_enc = int(min(strength, 0.999) * steps)
            sigmas = sigmas[steps - t_enc - 1 + start_shift:]
            x = x0 + noise * sigmas[0]
        return up.K_SAMPLERS[sampler](den, x, sigmas, draw, num)
    assert schedule in SPACINGS, schedule
    sch = up.DiffusersScheduler(sampler, schedule, num, v_prediction)
    sch.set_timesteps(steps)
    if strength is None:
        timesteps = sch.timesteps
        x = noise * sch.init_noise_sigma
    else:
        init_timestep = min(int(steps * strength), steps)
        t_start = max(steps - init_timestep, 0) + start_shift
        timesteps = sch.timesteps[t_start * sch.order:]
        sch.set_begin_index(t_start * sch.order)
        x = sch.add_noise(x0, noise, timesteps[0])
    for t in timesteps:
        inp = sch.scale_model_input(x)
        out = eps(inp, t.reshape(1).to(torch.float32).expand(x.shape[0]))
        x = sch.step(out, t, x, draw)
    return x


# ---------------------------------------------------------------- VAE

def image_to_unit(u8):
    """uint8 [H, W, 3] → [1, 3, H, W] float64 in [-1, 1]: x / 127.5 − 1."""
    return torch.from_numpy(u8).permute(2, 0, 1)[None].double() / 127.5 - 1.0


def encode_mean(vae, image, dtype):
    """The clean latent: the posterior mean × 0.18215 (first half of the moments)."""
    with torch.no_grad():
        moments = vae.encode_moments(image.to(dtype))
    return (moments[:, :moments.shape[1] // 2] * 0.18215).float()


def decode_u8(vae, latent, dtype):
    return P.to_u8(P.decode(vae, latent, dtype))
