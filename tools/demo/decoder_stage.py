"""Stage 2b of train.py: decoder-only fine-tuning of the (scale-folded) VAE.

The encoder is frozen, so the latents the UNet trains on stay valid and this
stage can run at the same time as the UNet stage. Inputs are the stored
posteriors of latents.pt (no encoder cost): z = mean + std * noise, decoded
and compared with the image; random crops of 8x8 latents <-> 32x32 pixels at
the same (f = 4) offset after a common circular shift; half of the batches
with circular padding. Loss as the VAE stage (L1 + L2 + image-gradient L1 +
colour moments), plus, from step SPEC_FROM_STEP on, the spectral term of
vae_stage.spectral_loss (|FFT| magnitudes, global and per 16x16 tile): the
L1/L2 decoder settled into a blur (the highest frequency band of the
classifier's features 14x too weak, pores and marble veins gone); matching
magnitudes but not phases makes it draw detail of the right scale and
strength where its exact position cannot be known from the latent.
"""
import math
import os

import numpy as np
import torch

import torch_env
from demo_models import VAE_FACTOR, set_tiling
from vae_stage import COLOUR_W, colour_loss, grad_loss, spectral_loss, to_float

SPEC_FROM_STEP = 1200   # the shipped run: 1200 steps without it, then the gate was still 77 %
SPEC_W = 3.0


def train(vae, imgs, lat_mean, lat_std, out_dir, steps=2000, batch=16, lr=3e-4, crop=32, seed=4, log=print,
          ckpt_every=100):
    torch.manual_seed(seed)
    for p in vae.parameters():
        p.requires_grad_(False)
    params = list(vae.post_quant_conv.parameters()) + list(vae.decoder.parameters())
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.99), weight_decay=0.0)
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    path = os.path.join(out_dir, "decoder_ckpt.pt")
    start = 0
    ck = torch_env.load_checkpoint(path, opt, g, rng)
    if ck:
        vae.load_state_dict(ck["model"])
        start = ck["step"]
        log("decoder: resumed at step %d" % start)
    clock = torch_env.Clock()
    f, lc = VAE_FACTOR, crop // VAE_FACTOR
    h = lat_mean.shape[-1]
    vae.train()
    avg = None
    for step in range(start, steps):
        for pg in opt.param_groups:
            pg["lr"] = lr * min(1.0, (step + 1) / 20) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        idx = rng.integers(0, len(lat_mean), batch)
        dy, dx = (int(v) for v in torch.randint(0, h, (2,), generator=g))
        z = lat_mean[idx] + lat_std[idx] * torch.randn(lat_mean[idx].shape, generator=g)
        z = torch.roll(z, (dy, dx), dims=(2, 3))[:, :, :lc, :lc]
        x = torch.roll(to_float(imgs[idx]), (dy * f, dx * f), dims=(2, 3))[:, :, :crop, :crop]
        set_tiling(vae, circular=bool(step % 2))
        rec = vae.decoder(vae.post_quant_conv(z))
        l1 = (rec - x).abs().mean()
        loss = l1 + (rec - x).square().mean() + grad_loss(rec, x) + COLOUR_W * colour_loss(rec, x)
        if step >= SPEC_FROM_STEP:
            loss = loss + SPEC_W * spectral_loss(rec, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        avg = l1.item() if avg is None else 0.95 * avg + 0.05 * l1.item()
        if (step + 1) % 25 == 0:
            log("decoder %4d/%d  l1 %.4f  %s" % (step + 1, steps, avg, clock))
        if (step + 1) % ckpt_every == 0 or step + 1 == steps:
            torch_env.save_checkpoint(path, opt, g, rng, model=vae.state_dict(), step=step + 1)
    set_tiling(vae, False)
    vae.eval()
    for p in vae.parameters():
        p.requires_grad_(False)
    return vae
