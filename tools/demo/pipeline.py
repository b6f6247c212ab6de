"""The PyTorch txt2img pipeline of the demo model, built to do what
`skingen generate` does, step for step:
- prompt -> ids: BOS + tokens + EOS, EOS-filled to 77 (engine/prompt_chunks.hpp;
  plain prompts: A1111 emphasis with all weights 1 is the identity), text
  encoder last hidden state -> final_layer_norm (clip skip 1);
- noise: torch.Generator seeded with `seed`; the first draw is the initial
  latent (or the stored --init-latent replaces it, the draw still happens),
  later draws are the ancestral samplers' noise (models/sd_pipeline.cpp);
- samplers and schedules: tests/reference/sampling_upstream.py (the exact
  transcription the C++ sampler is tested against), reference numerics;
- CFG: one doubled batch [uncond; cond], eps_u + g (eps_c - eps_u); with a
  guidance interval (lo, hi] (--cfg-interval) only for calls whose sigma(t)
  (k-diffusion's t_to_sigma on the LDM table) lies in it, the conditional
  batch alone elsewhere (engine/guidance.hpp);
- tiling: circular padding in every padded conv of UNet and VAE;
- image: VAE decode of latent / 0.18215, (x / 2 + 0.5).clamp(0, 1) * 255,
  round half to even (diffusers VaeImageProcessor).
"""
import numpy as np
import torch

import torch_env  # noqa: F401
import sampling_upstream as up
from data import PromptIds
from demo_models import SCALE_FACTOR, VAE_FACTOR, set_tiling

K_SCHEDULES = ("normal", "karras", "exponential")


class Pipeline:
    def __init__(self, unet, te, vae, dtype=torch.float32):
        self.unet, self.te, self.vae = unet.eval().to(dtype), te.eval().to(dtype), vae.eval().to(dtype)
        self.dtype = dtype
        self.ids = PromptIds()
        self.num = up.Numerics(native=False)

    @torch.no_grad()
    def encode(self, prompt):
        ids = torch.tensor([self.ids(prompt)], dtype=torch.int64)
        return self.te.encode(ids, clip_skip=1)          # [1, 77, D]

    @torch.no_grad()
    def sample(self, prompt="", negative="", seed=0, steps=20, cfg=5.0, sampler="euler_a", schedule="normal",
               size=(64, 64), tile=False, init_latent=None, cond=None, uncond=None, batch=1, cfg_interval=None):
        """Returns (final latents [B, 4, h, w] float32, images float [B, 3, H, W] before clamping).
        Image i is seeded with seed + i (one generator per image, as the engine's BatchNoise).
        cfg_interval: (lo, hi) in sigma, None for guidance on every call."""
        W, H = size
        shape = (batch, 4, H // VAE_FACTOR, W // VAE_FACTOR)
        set_tiling(self.unet, tile)
        set_tiling(self.vae, tile)
        cond = self.encode(prompt) if cond is None else cond
        uncond = self.encode(negative) if uncond is None else uncond
        cond, uncond = cond.to(self.dtype), uncond.to(self.dtype)
        ctx2 = torch.cat([uncond.expand(batch, -1, -1), cond.expand(batch, -1, -1)])
        gens = [torch.Generator().manual_seed(seed + i) for i in range(batch)]
        draw = lambda: torch.stack([torch.randn(shape[1:], generator=g) for g in gens])  # noqa: E731
        noise = draw()
        if init_latent is not None:
            noise = init_latent.float().reshape(1, *shape[1:]).expand(shape).clone()
        dt = self.dtype
        den = up.CompVisDenoiser(None, up.ldm_alphas_cumprod(self.num), self.num, False)

        def model(x, t):
            t = torch.as_tensor(t).reshape(-1)
            if cfg_interval is not None:
                sigma = float(den.t_to_sigma(t.float())[0])
                if not cfg_interval[0] < sigma <= cfg_interval[1]:
                    tb = t.to(dt).expand(batch) if t.numel() == 1 else t.to(dt)
                    return self.unet(x.to(dt), tb, cond.expand(batch, -1, -1)).to(x.dtype)
            t2 = t.to(dt).expand(2 * batch) if t.numel() == 1 else torch.cat([t, t]).to(dt)
            out = self.unet(torch.cat([x, x]).to(dt), t2, ctx2).to(x.dtype)
            u, c = out.chunk(2)
            return u + cfg * (c - u)

        latent = run_sampler(model, sampler, schedule, steps, noise, draw, self.num)
        image = torch.cat([self.vae.decode_latent(latent[i:i + 1].to(dt)) for i in range(batch)]).float()
        set_tiling(self.unet, False)
        set_tiling(self.vae, False)
        return latent.float(), image


def run_sampler(model, sampler, schedule, steps, noise, draw, num):
    """txt2img with the upstream transcription (tests/reference/sampling_reference.py run())."""
    if schedule in K_SCHEDULES:
        den = up.CompVisDenoiser(model, up.ldm_alphas_cumprod(num), num, False)
        sigmas = up.k_sigmas(schedule, den, steps, num)
        x = noise * sigmas[0]
        return up.K_SAMPLERS[sampler](den, x, sigmas, draw, num)
    sch = up.DiffusersScheduler(sampler, schedule, num, False)
    sch.set_timesteps(steps)
    latents = noise * sch.init_noise_sigma
    for t in sch.timesteps:
        inp = sch.scale_model_input(latents)
        out = model(inp, t)
        latents = sch.step(out, t, latents, draw)
    return latents


def to_uint8(image, i=0):
    """[B, 3, H, W] float -> uint8 [H, W, 3] of image i (diffusers: round half to even)."""
    x = (image[i].float() / 2 + 0.5).clamp(0, 1) * 255
    return torch.round(x).to(torch.uint8).permute(1, 2, 0).numpy()


def apply_lora_(unet, te, lora_tensors, multiplier):
    """Merge a kohya LoRA into the models in place: W += m * alpha / r * up @ down
    (kohya LoRAModule.merge_to). Names are resolved against the models' real
    modules (diffusers names for the UNet, HF names for the text encoder)."""
    from lora_stage import module_table
    table = module_table(unet, te)
    done = set()
    for key in lora_tensors:
        if not key.endswith(".lora_down.weight"):
            continue
        name = key[:-len(".lora_down.weight")]
        down = lora_tensors[key].double()
        upw = lora_tensors[name + ".lora_up.weight"].double()
        r = down.shape[0]
        alpha = float(lora_tensors[name + ".alpha"]) if name + ".alpha" in lora_tensors else r
        scale = multiplier * alpha / r
        mod = table[name]
        w = mod.weight
        if w.dim() == 2:
            delta = upw @ down
        else:
            delta = (upw.reshape(upw.shape[0], r) @ down.reshape(r, -1)).reshape(w.shape)
        with torch.no_grad():
            w.copy_((w.double() + scale * delta).to(w.dtype))
        done.add(name)
    return done


def seeds_noise(seed, shape):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g)


__all__ = ["Pipeline", "run_sampler", "to_uint8", "apply_lora_", "seeds_noise", "np", "SCALE_FACTOR"]
