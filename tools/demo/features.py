"""Hand-made texture features for the demo classifier (numpy only).

Every feature is defined per pixel or in cycles per pixel, so images of any
size give comparable vectors (the generator's feature sizes are in pixels).
Groups:
- colour: channel means/stds, opponent-colour means, 8-bin histograms of
  R, G, B and luminance percentiles;
- spectrum: fraction of luminance power in 8 log-spaced radial frequency
  bands (log), plus orientation energy (sorted sector fractions, and the
  vertical/horizontal ratio: bark runs vertically);
- local statistics: gradient and Laplacian magnitudes relative to the
  luminance spread, skewness and kurtosis, dark/bright outlier fractions,
  and how much variance survives 4x4 block averaging.
"""
import numpy as np

BANDS = np.geomspace(1.0 / 64.0, 0.5, 9)          # cycles per pixel, band edges
HIST_BINS = 8


def _radial(img_l):
    """Power spectrum of a zero-mean luminance image and its frequency grid."""
    S0, S1 = img_l.shape
    p = np.abs(np.fft.fft2(img_l)) ** 2
    fy = np.fft.fftfreq(S0)[:, None]
    fx = np.fft.fftfreq(S1)[None, :]
    return p, np.hypot(fx, fy), np.arctan2(fy, fx)


def features(img):
    """Feature vector of a uint8 [H, W, 3] image."""
    x = img.astype(np.float64) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    lum = 0.299 * r + 0.587 * g + 0.114 * b
    f = []
    # Colour.
    f += [r.mean(), g.mean(), b.mean(), r.std(), g.std(), b.std()]
    f += [(r - g).mean(), ((r + g) / 2 - b).mean(), (x.max(2) - x.min(2)).mean()]
    for ch in (r, g, b):
        h, _ = np.histogram(ch, bins=HIST_BINS, range=(0.0, 1.0))
        f += list(h / ch.size)
    f += list(np.percentile(lum, [5, 25, 50, 75, 95]))
    # Spectrum of the normalised luminance.
    sd = lum.std()
    ln = (lum - lum.mean()) / (sd if sd > 1e-6 else 1.0)
    p, fr, ang = _radial(ln)
    tot = p.sum() + 1e-12
    for lo, hi in zip(BANDS[:-1], BANDS[1:]):
        f.append(np.log(p[(fr >= lo) & (fr < hi)].sum() / tot + 1e-6))
    mid = (fr > 0.04) & (fr < 0.5)
    sect = []
    for k in range(4):                 # sectors centred on 0, 45, 90, 135 degrees
        a0 = -np.pi / 8 + k * np.pi / 4
        d = np.mod(ang - a0, np.pi)
        sect.append(p[mid & (d < np.pi / 4)].sum())
    sect = np.asarray(sect) / (sum(sect) + 1e-12)
    f += list(np.sort(sect))
    # Sector 0 holds energy at horizontal frequencies = vertical structures.
    f.append(np.log((sect[0] + 1e-6) / (sect[2] + 1e-6)))
    # Local statistics.
    gx = np.roll(ln, -1, 1) - ln
    gy = np.roll(ln, -1, 0) - ln
    gm = np.hypot(gx, gy)
    lap = 4 * ln - np.roll(ln, 1, 0) - np.roll(ln, -1, 0) - np.roll(ln, 1, 1) - np.roll(ln, -1, 1)
    f += [gm.mean(), gm.std(), np.abs(lap).mean(), sd]
    f += [(ln ** 3).mean(), np.log((ln ** 4).mean() + 1e-6)]
    f += [(ln < -2).mean(), (ln > 2).mean(), (ln < -1).mean(), (ln > 1).mean()]
    H, W = ln.shape
    blocks = ln[:H // 4 * 4, :W // 4 * 4].reshape(H // 4, 4, W // 4, 4).mean((1, 3))
    f.append(blocks.var())
    # Chroma texture: how much colour varies locally (cells, rust, granite).
    ch = (r - g)
    f.append(np.abs(np.roll(ch, -1, 1) - ch).mean() + np.abs(np.roll(ch, -1, 0) - ch).mean())
    return np.asarray(f, dtype=np.float64)


def feature_names():
    names = ["mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b", "rg", "yb", "sat"]
    names += ["hist_%s%d" % (c, k) for c in "rgb" for k in range(HIST_BINS)]
    names += ["lum_p%d" % q for q in (5, 25, 50, 75, 95)]
    names += ["band%d" % k for k in range(len(BANDS) - 1)]
    names += ["orient_sorted%d" % k for k in range(4)] + ["orient_vh"]
    names += ["grad_mean", "grad_std", "lap_mean", "lum_std", "skew", "log_kurt",
              "dark2", "bright2", "dark1", "bright1", "block4_var", "chroma_grad"]
    return names


def degrade(rng, img):
    """Random degradations like a VAE/diffusion model's output: blur, 2x
    resampling, noise, small colour gain.  Keeps the image periodic."""
    from noise import Grid, blur
    x = img.astype(np.float64) / 255.0
    g = Grid(x.shape[0])
    kind = rng.integers(3)
    if kind == 0:
        x = blur(x, g, rng.uniform(0.4, 1.2))
    elif kind == 1:                           # box down 2x, nearest up 2x, light blur
        H, W = x.shape[:2]
        d = x.reshape(H // 2, 2, W // 2, 2, 3).mean((1, 3))
        x = blur(d.repeat(2, 0).repeat(2, 1), g, 0.6)
    x = x * (1 + 0.05 * rng.standard_normal(3))[None, None, :]
    x = x + rng.uniform(0, 0.015) * rng.standard_normal(x.shape)
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)
