"""Stage 1 of train.py: the AutoencoderKL.

Loss (no GAN, no LPIPS: nothing pretrained is available here):
  L1 + 0.5 L2 on pixels                      colours and layout;
  spectral L1 on |FFT| (orthonormal), global and on 16x16 tiles,
  after averaging magnitudes over 3x3 neighbouring bins      texture energy:
      an L1-only decoder returns the conditional mean, i.e. a blur, because
      sub-latent detail (pores, grain) cannot be placed exactly from an 8x8
      latent; matching magnitudes but not phases makes it synthesise detail
      of the right scale and strength, which is what textures need;
  KL to N(0, 1), weight 1e-5 per latent element (SD: 1e-6 on sums; this is
      stronger, for a smoother latent the small UNet can model).
Augmentation: random circular shifts and flips (the data is periodic), and
half of the batches with circular padding in every padded conv.
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

import torch_env
from demo_models import make_vae, set_tiling

LOGVAR_INIT = -6.0


def augment(x, g):
    """x float [B, 3, S, S]: random circular shift and flips per batch."""
    S = x.shape[-1]
    dy, dx = (int(v) for v in torch.randint(0, S, (2,), generator=g))
    x = torch.roll(x, (dy, dx), dims=(2, 3))
    if torch.rand((), generator=g) < 0.5:
        x = x.flip(3)
    if torch.rand((), generator=g) < 0.5:
        x = x.flip(2)
    return x


def to_float(imgs_u8):
    """uint8 [B, S, S, 3] -> float [B, 3, S, S] in [-1, 1]."""
    return torch.from_numpy(imgs_u8).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def _mag(x):
    m = torch.fft.rfft2(x, norm="ortho").abs()
    b, c, h, w = m.shape
    return F.avg_pool2d(m.reshape(b * c, 1, h, w), 3, 1, 1, count_include_pad=False).reshape(b, c, h, w)


def spectral_loss(rec, x, tile=16):
    glob = (_mag(rec) - _mag(x)).abs().mean()
    B, C, H, W = x.shape
    def tiles(t):
        return t.reshape(B, C, H // tile, tile, W // tile, tile).permute(0, 2, 4, 1, 3, 5).reshape(-1, C, tile, tile)
    loc = (_mag(tiles(rec)) - _mag(tiles(x))).abs().mean()
    return glob + loc


def grad_loss(rec, x):
    """L1 on horizontal and vertical finite differences: a cheap high-pass term
    that penalises the blur an L1/L2-only decoder settles into."""
    def d(t):
        return t[..., :, 1:] - t[..., :, :-1], t[..., 1:, :] - t[..., :-1, :]
    (rx, ry), (xx, xy) = d(rec), d(x)
    return (rx - xx).abs().mean() + (ry - xy).abs().mean()


def colour_loss(rec, x):
    """L1 between per-image, per-channel mean and std. The last GroupNorm(32)
    before conv_out keeps only scale-free per-group statistics, so a decoder
    learns absolute colour slowly; this term (what the classifier's colour
    moments see) makes it a direct target."""
    return ((rec.mean((2, 3)) - x.mean((2, 3))).abs().mean() +
            (rec.std((2, 3)) - x.std((2, 3))).abs().mean())


COLOUR_FROM_STEP = 0
COLOUR_W = 5.0


def vae_loss(vae, x, g, kl_w=1e-6, spec_w=0.0, grad_w=1.0, colour_w=0.0):
    moments = vae.quant_conv(vae.encoder(x))
    mean, logvar = moments.chunk(2, dim=1)
    logvar = logvar.clamp(-30.0, 20.0)
    z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=g)
    rec = vae.decoder(vae.post_quant_conv(z))
    l1 = (rec - x).abs().mean()
    l2 = (rec - x).square().mean()
    spec = spectral_loss(rec, x) if spec_w else torch.zeros(())
    gl = grad_loss(rec, x)
    kl = 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).mean()
    cl = colour_loss(rec, x) if colour_w else torch.zeros(())
    loss = l1 + l2 + spec_w * spec + grad_w * gl + kl_w * kl + colour_w * cl
    return loss, {"l1": l1.item(), "spec": gl.item(), "kl": kl.item(), "std": mean.std().item()}


def lr_at(step, steps, lr, warmup):
    if step < warmup:
        return lr * (step + 1) / warmup
    p = (step - warmup) / max(1, steps - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def train(imgs, out_dir, steps=1000, batch=16, lr=1e-3, warmup=50, seed=1, log=print, ckpt_every=100, crop=32,
          stop=None):
    """steps: length of the lr schedule; stop: end training there (the shipped VAE: 1000, not stopped early)."""
    """Trains (or resumes) the VAE; returns the model. Checkpoint: out_dir/vae_ckpt.pt."""
    torch.manual_seed(seed)
    vae = make_vae()
    with torch.no_grad():  # start with a small posterior variance
        vae.quant_conv.bias[vae.cfg.embed_dim:].fill_(LOGVAR_INIT)
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=0.0)
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    start, used_cpu = 0, 0.0
    path = os.path.join(out_dir, "vae_ckpt.pt")
    ck = torch_env.load_checkpoint(path, opt, g, rng)
    if ck:
        vae.load_state_dict(ck["model"])
        start, used_cpu = ck["step"], ck["cpu"]
        log("vae: resumed at step %d" % start)
    clock = torch_env.Clock()
    vae.train()
    avg = {}
    for step in range(start, stop or steps):
        for pg in opt.param_groups:
            pg["lr"] = lr_at(step, steps, lr, warmup)
        idx = rng.integers(0, len(imgs), batch)
        x = augment(to_float(imgs[idx]), g)[:, :, :crop, :crop]  # random crop (periodic data, shifted)
        set_tiling(vae, circular=bool(step % 2))
        loss, parts = vae_loss(vae, x, g, colour_w=COLOUR_W if step >= COLOUR_FROM_STEP else 0.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        for k, v in parts.items():
            avg[k] = avg.get(k, 0.0) * 0.98 + v * 0.02 if k in avg else v
        if (step + 1) % 25 == 0:
            log("vae %5d/%d  l1 %.4f grad %.4f kl %.1f std %.3f  lr %.2e  %s" %
                (step + 1, steps, avg["l1"], avg["spec"], avg["kl"], avg["std"], opt.param_groups[0]["lr"], clock))
        if (step + 1) % ckpt_every == 0 or step + 1 == (stop or steps):
            torch_env.save_checkpoint(path, opt, g, rng, model=vae.state_dict(), step=step + 1,
                                      cpu=used_cpu + clock.cpu())
    set_tiling(vae, False)
    vae.eval()
    return vae


@torch.no_grad()
def reconstruct(vae, imgs_u8, batch=50):
    """Deterministic round trip (posterior mean) -> uint8 images."""
    out = []
    for i in range(0, len(imgs_u8), batch):
        x = to_float(imgs_u8[i:i + batch])
        mean = vae.quant_conv(vae.encoder(x)).chunk(2, dim=1)[0]
        rec = vae.decoder(vae.post_quant_conv(mean))
        out.append(((rec / 2 + 0.5).clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy())
    return np.concatenate(out)


def gate(vae, per_class=20, seed=2002, log=print):
    """Classifier accuracy on reconstructions of held-out generator textures."""
    import classify
    from classes import NAMES
    from features import features
    from textures import batch as tex_batch
    imgs, labels, _ = tex_batch(seed, 0, per_class * len(NAMES))
    rec = reconstruct(vae, imgs)
    m = classify.Model.load(classify.DEFAULT_MODEL)
    pred = m.predict(np.asarray([features(r) for r in rec]))
    cm = classify.confusion(labels, pred, len(NAMES))
    acc = float(np.trace(cm)) / cm.sum()
    rms = float(np.sqrt(((rec.astype(np.float64) - imgs) ** 2).mean()))
    log("vae gate: classifier on reconstructions %.1f%% (RMS error %.1f grey levels)" % (100 * acc, rms))
    return acc, cm, imgs, rec
