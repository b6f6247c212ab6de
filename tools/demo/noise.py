"""Periodic building blocks for the procedural textures (numpy only).

Every field here is a function on the discrete torus Z_S x Z_S, so any
texture assembled from them (pointwise maps, sums, products, domain warps
by periodic displacements) tiles without a seam by construction:
- FFT-filtered noise: white noise filtered on the DFT grid of size S is
  periodic with period S whatever the filter;
- Worley cells: one jittered feature point per grid cell, looked up with
  wrapped cell indices but unwrapped positions, so distances wrap around;
- sines: integer numbers of cycles per period;
- derivatives and blurs: np.roll differences / FFT filters, both circular.
"""
import numpy as np


class Grid:
    """Frequency and pixel coordinates for an S x S torus (built once per size)."""

    def __init__(self, size):
        self.S = size
        self.fy = np.fft.fftfreq(size)[:, None]       # cycles per pixel, [S, 1]
        self.fx = np.fft.rfftfreq(size)[None, :]      # [1, S/2+1]
        self.fr = np.hypot(self.fx, self.fy)          # radial frequency
        c = np.arange(size, dtype=np.float64) + 0.5
        self.x = np.broadcast_to(c[None, :], (size, size))
        self.y = np.broadcast_to(c[:, None], (size, size))


def normalize(a):
    """Zero mean, unit standard deviation."""
    a = a - a.mean()
    s = a.std()
    return a / s if s > 1e-12 else a


def unit(a):
    """Affine map to [0, 1]."""
    lo, hi = a.min(), a.max()
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def filtered(rng, g, filt):
    """White noise shaped by a filter on the rfft grid; unit variance."""
    w = rng.standard_normal((g.S, g.S))
    return normalize(np.fft.irfft2(np.fft.rfft2(w) * filt, s=(g.S, g.S)))


def lowpass(rng, g, size_px):
    """Smooth Gaussian-filtered noise with features of about size_px pixels."""
    return filtered(rng, g, np.exp(-2.0 * (g.fr * size_px) ** 2))


def aniso(rng, g, along_px, across_px, angle):
    """Noise stretched along direction `angle` (radians): streaks, fibres."""
    c, s = np.cos(angle), np.sin(angle)
    fu = g.fx * c + g.fy * s            # frequency along the streak direction
    fv = -g.fx * s + g.fy * c
    return filtered(rng, g, np.exp(-2.0 * ((fu * along_px) ** 2 + (fv * across_px) ** 2)))


def fractal(rng, g, beta, smallest_px=1.0):
    """1/f^beta noise (fBm-like), DC removed, cut below smallest_px."""
    f = np.maximum(g.fr, 1.0 / g.S)
    filt = f ** (-beta) * np.exp(-2.0 * (g.fr * smallest_px) ** 2)
    filt[0, 0] = 0.0
    return filtered(rng, g, filt)


def blur(a, g, size_px):
    """Circular Gaussian blur of a [S, S] or [S, S, C] field."""
    filt = np.exp(-2.0 * (g.fr * size_px) ** 2)
    if a.ndim == 3:
        return np.stack([blur(a[..., k], g, size_px) for k in range(a.shape[2])], axis=2)
    return np.fft.irfft2(np.fft.rfft2(a) * filt, s=a.shape)


def grad(h):
    """Central differences with wrap-around: (d/dx, d/dy)."""
    return (np.roll(h, -1, 1) - np.roll(h, 1, 1)) * 0.5, (np.roll(h, -1, 0) - np.roll(h, 1, 0)) * 0.5


def relief(h, strength, angle=0.8):
    """Lambert-like shading factor of a height field lit from `angle`."""
    gx, gy = grad(h)
    s = (gx * np.cos(angle) + gy * np.sin(angle))
    sd = s.std()
    return 1.0 + strength * (s / sd if sd > 1e-12 else s)


def sample(field, x, y):
    """Bilinear lookup of a periodic field at real coordinates, wrapping."""
    S = field.shape[0]
    x0 = np.floor(x - 0.5)
    y0 = np.floor(y - 0.5)
    fx, fy = x - 0.5 - x0, y - 0.5 - y0
    x0 = x0.astype(np.int64) % S
    y0 = y0.astype(np.int64) % S
    x1, y1 = (x0 + 1) % S, (y0 + 1) % S
    return ((field[y0, x0] * (1 - fx) + field[y0, x1] * fx) * (1 - fy)
            + (field[y1, x0] * (1 - fx) + field[y1, x1] * fx) * fy)


def warp_coords(rng, g, amount_px, size_px):
    """Pixel coordinates displaced by smooth periodic noise."""
    return (g.x + amount_px * lowpass(rng, g, size_px),
            g.y + amount_px * lowpass(rng, g, size_px))


def worley(rng, g, gx, gy, jitter=1.0, hexagonal=False, x=None, y=None,
           metric="l2", stretch=1.0):
    """Periodic cellular noise from one jittered feature point per grid cell.

    Returns F1, F2 (distances in pixels to the nearest and second-nearest
    point, wrapping around the torus) and a random value in [0, 1) per
    nearest cell.  Positions use unwrapped cell indices and per-cell
    jitters use wrapped ones, so the result has period S exactly.
    hexagonal shifts odd rows by half a cell (needs gy even).
    stretch > 1 compresses the vertical axis of the metric (elongated cells).
    """
    S = g.S
    if hexagonal and gy % 2:
        gy += 1
    cw, ch = S / gx, S / gy
    jit = (rng.random((gy, gx, 2)) - 0.5) * jitter
    cellval = rng.random((gy, gx))
    x = g.x if x is None else x
    y = g.y if y is None else y
    ci = np.floor(x / cw).astype(np.int64)
    cj = np.floor(y / ch).astype(np.int64)
    d = np.empty((25,) + x.shape)
    ids = np.empty((25,) + x.shape, dtype=np.int64)
    k = 0
    for dj in range(-2, 3):
        for di in range(-2, 3):
            ui, uj = ci + di, cj + dj            # unwrapped cell indices
            wi, wj = ui % gx, uj % gy            # wrapped: which jitter
            off = 0.5 * (wj % 2) if hexagonal else 0.0
            px = (ui + 0.5 + off + jit[wj, wi, 0]) * cw
            py = (uj + 0.5 + jit[wj, wi, 1]) * ch
            dx, dy = x - px, (y - py) * stretch
            if metric == "l1":
                d[k] = np.abs(dx) + np.abs(dy)
            else:
                d[k] = np.sqrt(dx * dx + dy * dy)
            ids[k] = wj * gx + wi
            k += 1
    order = np.argpartition(d, 1, axis=0)[:2]
    f1 = np.take_along_axis(d, order[:1], 0)[0]
    f2 = np.take_along_axis(d, order[1:2], 0)[0]
    nearest = np.take_along_axis(ids, order[:1], 0)[0]
    return f1, f2, cellval.reshape(-1)[nearest]


def smoothstep(e0, e1, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def ramp(t, c0, c1):
    """Colour [S, S, 3] interpolated from c0 (t=0) to c1 (t=1)."""
    t = np.clip(t, 0.0, 1.0)[..., None]
    return np.asarray(c0)[None, None, :] * (1 - t) + np.asarray(c1)[None, None, :] * t


def tint(shade, colour):
    """Scalar shade field times an RGB colour."""
    return shade[..., None] * np.asarray(colour)[None, None, :]
