"""Building blocks shared by the UNet and the VAE: attention math, GEGLU,
sinusoidal timestep features. Plain PyTorch, dtype-agnostic (the goldens
run everything in float64)."""
import math

import torch
import torch.nn.functional as F


def multi_head_attention(q, k, v, heads, causal=False):
    """q [B, Nq, H*d], k/v [B, Nk, H*d] -> [B, Nq, H*d].
    softmax(q k^T / sqrt(d)) v per head; heads are contiguous slices of the
    channel axis (rearrange 'b n (h d) -> b h n d' in CompVis attention.py)."""
    b, nq, c = q.shape
    nk = k.shape[1]
    d = c // heads
    q = q.reshape(b, nq, heads, d).permute(0, 2, 1, 3)
    k = k.reshape(b, nk, heads, d).permute(0, 2, 1, 3)
    v = v.reshape(b, nk, heads, d).permute(0, 2, 1, 3)
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d))
    if causal:
        mask = torch.ones(nq, nk, dtype=torch.bool).triu(1)
        scores = scores.masked_fill(mask, float("-inf"))
    w = torch.softmax(scores, dim=-1)
    o = torch.matmul(w, v)  # [B, H, Nq, d]
    return o.permute(0, 2, 1, 3).reshape(b, nq, c)


def timestep_features(t, dim, max_period=10000.0):
    """Sinusoidal timestep features as SD uses them: frequencies
    exp(-ln(max_period) * i / half), i < half, output [cos | sin]
    (CompVis util.py timestep_embedding; diffusers get_timestep_embedding with
    flip_sin_to_cos=True, downscale_freq_shift=0). Computed in t's dtype."""
    half = dim // 2
    i = torch.arange(half, dtype=t.dtype)
    freqs = torch.exp(-math.log(max_period) * i / half)
    args = t[:, None] * freqs[None, :]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def geglu(x, proj):
    """GEGLU: proj -> [value | gate] halves, value * gelu(gate), exact erf gelu."""
    h = proj(x)
    value, gate = h.chunk(2, dim=-1)
    return value * F.gelu(gate)
