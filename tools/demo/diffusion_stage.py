"""Stage "unet" of train.py: the UNet, trained from scratch on VAE latents
with the pretrained, frozen text encoder of text_stage.py, as SD 1.x is
trained with a frozen CLIP:
- SD noise schedule (scaled_linear, beta 0.00085 -> 0.012, 1000 steps),
  t uniform in 0..999, epsilon prediction, MSE with min-SNR-5 weighting
  (Hang et al. 2023; kohya's --min_snr_gamma) to converge faster, and the
  noisiest steps weighted up (snr_weights);
- no channel means in the inputs of the noisiest steps (mean_free_inputs),
  so that an image's colour comes from the prompt, not from the seed; the
  model is then sampled with classifier-free guidance only below t 700
  (the engine's default --cfg-interval 0,3.3 for the demo model);
- caption dropout 10 % -> the empty prompt (BOS + 76 EOS, as the engine
  encodes an empty negative prompt), so classifier-free guidance works;
- latents: posterior samples of the (scale-folded) VAE times 0.18215,
  random circular shifts (the data is periodic);
- half of the batches with circular padding in every padded conv of the
  UNet (so both `--tile xy` and the default are in distribution);
- EMA of the UNet (what is shipped).
"""
import copy
import math
import os

import numpy as np
import torch

import torch_env
from demo_models import SCALE_FACTOR, alphas_cumprod, init_for_training, make_unet, set_tiling
from vae_stage import to_float

CAPTION_DROPOUT = 0.1
MIN_SNR_GAMMA = 5.0


# ------------------------------------------------------------------ VAE scale folding and latents

@torch.no_grad()
def encode_moments(vae, imgs_u8, batch=100, circular=True):
    """Posterior mean and std of every image (float32 [N, 4, h, w] each)."""
    set_tiling(vae, circular)
    means, stds = [], []
    for i in range(0, len(imgs_u8), batch):
        m = vae.quant_conv(vae.encoder(to_float(imgs_u8[i:i + batch])))
        mean, logvar = m.chunk(2, dim=1)
        means.append(mean)
        stds.append(torch.exp(0.5 * logvar.clamp(-30.0, 20.0)))
    set_tiling(vae, False)
    return torch.cat(means), torch.cat(stds)


@torch.no_grad()
def fold_scale(vae, sigma):
    """Fold c = 1 / (0.18215 sigma) into quant_conv / post_quant_conv so that
    latents x 0.18215 have unit variance while the decoder's function is
    unchanged (PLAN.md §2): mean rows x c, logvar bias + 2 ln c, post_quant_conv
    input side x 1/c."""
    c = 1.0 / (SCALE_FACTOR * sigma)
    e = vae.cfg.embed_dim
    vae.quant_conv.weight[:e] *= c
    vae.quant_conv.bias[:e] *= c
    vae.quant_conv.bias[e:] += 2.0 * math.log(c)
    vae.post_quant_conv.weight /= c
    return c


# ------------------------------------------------------------------ training

class Ema:
    def __init__(self, model, decay):
        self.model = copy.deepcopy(model).eval()
        self.decay = decay
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model, step):
        d = min(self.decay, (1 + step) / (10 + step))
        for pe, p in zip(self.model.parameters(), model.parameters()):
            pe.mul_(d).add_(p.detach(), alpha=1 - d)


def lr_at(step, steps, lr, warmup):
    if step < warmup:
        return lr * (step + 1) / warmup
    p = (step - warmup) / max(1, steps - warmup)
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))


# The noisiest steps weigh more: epsilon-MSE equals SNR x the MSE of the
# implied x0, so at t near 999 (SNR 0.005) getting the class right barely
# lowers the epsilon loss, and the prompt is what tells the classes apart
# there. The v2 model trained 2,250 steps with min-SNR alone: its outputs
# hardly depended on the prompt (epsilon changed by 2 % between two class
# prompts at t = 400). Weight max(min-SNR weight, HIGH_NOISE_SNR / SNR) = the
# x0-MSE weighted by HIGH_NOISE_SNR where SNR is below it: at most 21x, at t = 999.
HIGH_NOISE_SNR = 0.1


def snr_weights(ac, t):
    snr = ac[t] / (1 - ac[t])
    return torch.maximum(torch.clamp(snr, max=MIN_SNR_GAMMA) / snr, HIGH_NOISE_SNR / snr)


# The per-image mean of each latent channel (an image's average colour) must
# not leak through the first sampling steps. SD's schedule keeps
# sqrt(alpha_999) = 0.069 of the signal in x_999, and our latents' channel means
# spread 0.5-1.0 across images, so x_T's channel means told the UNet an image's
# colour with 1-2x the std of the pure noise's own means (1/32 over 32x32). At
# inference x_T is pure noise, so that colour came from the seed: in the v3
# model the seed explained 80 % of the variance of the output's mean colour
# and the prompt 10 %, and the per-image mean luminance spread half as wide as
# the data's. Offset noise 0.1 (kohya's --noise_offset) did not change the
# 80 % after 1,000 steps: it only dilutes the leak. So for t >= MEAN_FREE_T1
# the inputs carry no channel means (a zero terminal SNR for the means alone,
# Lin et al. 2024, ramped in from MEAN_FREE_T0, which a 15-step karras
# schedule passes between its fifth and sixth steps, t 745 and 655): x_t = sqrt(a) (x0 - lam mean(x0)) +
# sqrt(1-a) eps; the epsilon target is (x_t - sqrt(a) x0) / sqrt(1-a), so the
# sampler's usual x0 = (x_t - sqrt(1-a) eps) / sqrt(a) is still x0, and the
# means of that x0 must come from the prompt. The samplers are unchanged, but
# classifier-free guidance must not act where the colour is decided: there
# it multiplies the difference between the conditional and the
# unconditional colour by the CFG scale (colours far too extreme; 57.5 % of
# class prompts right at CFG 7 on seeds 200-207). Guided only below
# MEAN_FREE_T0 (sigma 3.33; `--cfg-interval 0,3.3`, Kynkaanniemi et al. 2024),
# where the inputs carry the means again, the same weights reach 80.8 %.
MEAN_FREE_T0, MEAN_FREE_T1 = 700, 850


def mean_free_inputs(z, noise, a, t):
    """(x_t, epsilon target) with lam(t) of the channel means withheld (see above).
    z, noise: [B, C, h, w]; a: alphas_cumprod[t] as [B, 1, 1, 1]; t: int64 [B]."""
    lam = ((t.float() - MEAN_FREE_T0) / (MEAN_FREE_T1 - MEAN_FREE_T0)).clamp(0.0, 1.0)[:, None, None, None]
    mean = z.mean(dim=(2, 3), keepdim=True)
    xt = a.sqrt() * (z - lam * mean) + (1 - a).sqrt() * noise
    target = noise - lam * (a / (1 - a)).sqrt() * mean
    return xt, target


def train(lat_mean, lat_std, ids, empty_ids, te, out_dir, steps=3000, batch=32, lr=5e-4, warmup=100, seed=2,
          ema_decay=0.995, log=print, ckpt_every=250):
    """lat_mean/lat_std: [N, 4, h, w] of the folded VAE; ids: int64 [N, 77];
    te: the text encoder of text_stage.py (kept frozen). Returns the EMA UNet."""
    torch.manual_seed(seed)
    unet = make_unet()
    init_for_training(unet)
    ema_u = Ema(unet, ema_decay)
    te.eval()
    for p in te.parameters():
        p.requires_grad_(False)
    params = list(unet.parameters())
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), weight_decay=0.01)
    ac = alphas_cumprod().float()
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    empty = torch.as_tensor(empty_ids, dtype=torch.int64)
    ids = torch.as_tensor(ids)
    start, used_cpu = 0, 0.0
    path = os.path.join(out_dir, "diffusion_ckpt.pt")
    ck = torch_env.load_checkpoint(path, opt, g, rng)
    if ck:
        unet.load_state_dict(ck["unet"])
        ema_u.model.load_state_dict(ck["ema_unet"])
        start, used_cpu = ck["step"], ck["cpu"]
        log("diffusion: resumed at step %d" % start)
    clock = torch_env.Clock()
    unet.train()
    avg = None
    h, w = lat_mean.shape[-2:]
    for step in range(start, steps):
        for pg in opt.param_groups:
            pg["lr"] = lr_at(step, steps, lr, warmup)
        idx = torch.from_numpy(rng.integers(0, len(lat_mean), batch))
        z = lat_mean[idx] + lat_std[idx] * torch.randn(lat_mean[idx].shape, generator=g)
        z = z * SCALE_FACTOR
        dy, dx = (int(v) for v in torch.randint(0, h, (2,), generator=g))
        z = torch.roll(z, (dy, dx), dims=(2, 3))
        tok = ids[idx].clone()
        drop = torch.rand(batch, generator=g) < CAPTION_DROPOUT
        tok[drop] = empty
        t = torch.randint(0, 1000, (batch,), generator=g)
        noise = torch.randn(z.shape, generator=g)
        a = ac[t][:, None, None, None]
        xt, target = mean_free_inputs(z, noise, a, t)
        set_tiling(unet, circular=bool(step % 2))
        with torch.no_grad():
            ctx = te.encode(tok)
        pred = unet(xt, t.float(), ctx)
        per = (pred - target).square().mean(dim=(1, 2, 3))
        loss = (per * snr_weights(ac, t)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema_u.update(unet, step)
        mse = per.mean().item()
        avg = mse if avg is None else 0.98 * avg + 0.02 * mse
        if (step + 1) % 50 == 0:
            log("diffusion %5d/%d  mse %.4f  lr %.2e  %s" % (step + 1, steps, avg, opt.param_groups[0]["lr"], clock))
        if (step + 1) % ckpt_every == 0 or step + 1 == steps:
            torch_env.save_checkpoint(path, opt, g, rng, unet=unet.state_dict(),
                                      ema_unet=ema_u.model.state_dict(),
                                      step=step + 1, cpu=used_cpu + clock.cpu())
    set_tiling(ema_u.model, False)
    return ema_u.model
