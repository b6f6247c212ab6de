#!/usr/bin/env python3
"""Size and speed of candidate demo models (planning only; PLAN.md quotes it).

Plain PyTorch stand-ins with the SD 1.x block structure and parameter
layout (CompVis ldm: openaimodel.py UNetModel with SpatialTransformer,
diffusionmodules/model.py Encoder/Decoder, HF CLIPTextModel), written here
only to count parameters and time one training step (forward + backward +
AdamW) per candidate on this machine.  The real modules, with the real key
names, are the reference package's job (tests/reference/sdref/).

Usage: bench_sizes.py [--threads 2] [--reps 5] [--only vae,te,unet]
"""
import argparse
import math
import os
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def gn(c):
    return nn.GroupNorm(32, c)     # 32 groups as SD (eps does not matter for timing)


class ResBlock(nn.Module):           # UNet ResBlock (time embedding) or VAE ResnetBlock (temb=None)
    def __init__(self, cin, cout, temb=None):
        super().__init__()
        self.norm1, self.conv1 = gn(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(temb, cout) if temb else None
        self.norm2, self.conv2 = gn(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, emb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.emb is not None:
            h = h + self.emb(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (self.skip(x) if self.skip is not None else x)


class Attention(nn.Module):
    def __init__(self, dim, ctx, heads, bias=False):
        super().__init__()
        self.h = heads
        self.q = nn.Linear(dim, dim, bias=bias)
        self.k = nn.Linear(ctx, dim, bias=bias)
        self.v = nn.Linear(ctx, dim, bias=bias)
        self.o = nn.Linear(dim, dim)

    def forward(self, x, ctx=None, causal=False):
        ctx = x if ctx is None else ctx
        B, T, C = x.shape
        q, k, v = (t.reshape(B, -1, self.h, C // self.h).transpose(1, 2) for t in (self.q(x), self.k(ctx), self.v(ctx)))
        a = (q @ k.transpose(-1, -2)) / math.sqrt(C // self.h)
        if causal:
            a = a.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        return self.o((a.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C))


class Transformer(nn.Module):        # SD 1.x SpatialTransformer, depth 1, conv proj_in/out
    def __init__(self, c, ctx, heads=8):
        super().__init__()
        self.norm, self.proj_in, self.proj_out = gn(c), nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1)
        self.n1, self.n2, self.n3 = nn.LayerNorm(c), nn.LayerNorm(c), nn.LayerNorm(c)
        self.attn1, self.attn2 = Attention(c, c, heads), Attention(c, ctx, heads)
        self.ff1, self.ff2 = nn.Linear(c, 8 * c), nn.Linear(4 * c, c)     # GEGLU, mult 4

    def forward(self, x, ctx):
        B, C, H, W = x.shape
        h = self.proj_in(self.norm(x)).flatten(2).transpose(1, 2)
        h = h + self.attn1(self.n1(h))
        h = h + self.attn2(self.n2(h), ctx)
        a, g = self.ff1(self.n3(h)).chunk(2, -1)
        h = h + self.ff2(a * F.gelu(g))
        return x + self.proj_out(h.transpose(1, 2).reshape(B, C, H, W))


class UNet(nn.Module):
    def __init__(self, mc, mult, nres, attn_levels, ctx, cin=4):
        super().__init__()
        te = 4 * mc
        self.mc = mc
        self.time = nn.Sequential(nn.Linear(mc, te), nn.SiLU(), nn.Linear(te, te))
        self.conv_in = nn.Conv2d(cin, mc, 3, padding=1)
        self.down, chans, ch = nn.ModuleList(), [mc], mc
        for lv, m in enumerate(mult):
            for _ in range(nres):
                self.down.append(nn.ModuleList([ResBlock(ch, m * mc, te)] + ([Transformer(m * mc, ctx)] if lv in attn_levels else [])))
                ch = m * mc
                chans.append(ch)
            if lv != len(mult) - 1:
                self.down.append(nn.ModuleList([nn.Conv2d(ch, ch, 3, stride=2, padding=1)]))
                chans.append(ch)
        self.mid = nn.ModuleList([ResBlock(ch, ch, te), Transformer(ch, ctx), ResBlock(ch, ch, te)])
        self.up = nn.ModuleList()
        for lv in reversed(range(len(mult))):
            for i in range(nres + 1):
                blk = [ResBlock(ch + chans.pop(), mult[lv] * mc, te)]
                ch = mult[lv] * mc
                if lv in attn_levels:
                    blk.append(Transformer(ch, ctx))
                if lv and i == nres:
                    blk.append(nn.Conv2d(ch, ch, 3, padding=1))     # after nearest 2x
                self.up.append(nn.ModuleList(blk))
        self.out = nn.Sequential(gn(mc), nn.SiLU(), nn.Conv2d(mc, cin, 3, padding=1))

    def run(self, blk, h, emb, ctx):
        for m in blk:
            if isinstance(m, ResBlock):
                h = m(h, emb)
            elif isinstance(m, Transformer):
                h = m(h, ctx)
            elif m.stride == (2, 2):
                h = m(h)
            else:
                h = m(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return h

    def forward(self, x, t, ctx):
        half = self.mc // 2
        f = torch.exp(-math.log(10000) * torch.arange(half) / half)
        a = t[:, None].float() * f[None]
        emb = self.time(torch.cat([torch.cos(a), torch.sin(a)], 1))
        h = self.conv_in(x)
        skips = [h]
        for blk in self.down:
            h = self.run(blk, h, emb, ctx)
            skips.append(h)
        h = self.run(self.mid, h, emb, ctx)
        for blk in self.up:
            h = self.run(blk, torch.cat([h, skips.pop()], 1), emb, ctx)
        return self.out(h)


class VAEAttn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = gn(c)
        self.q, self.k, self.v, self.o = (nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x):
        B, C, H, W = x.shape
        h = self.norm(x)
        q, k, v = (m(h).flatten(2) for m in (self.q, self.k, self.v))
        a = (q.transpose(1, 2) @ k / math.sqrt(C)).softmax(-1)
        return x + self.o((v @ a.transpose(1, 2)).reshape(B, C, H, W))


class VAE(nn.Module):
    def __init__(self, ch, mult, nres, z=4):
        super().__init__()
        enc = [nn.Conv2d(3, ch, 3, padding=1)]
        cin = ch
        for lv, m in enumerate(mult):
            for _ in range(nres):
                enc.append(ResBlock(cin, ch * m))
                cin = ch * m
            if lv != len(mult) - 1:
                enc.append(nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(cin, cin, 3, stride=2)))
        enc += [ResBlock(cin, cin), VAEAttn(cin), ResBlock(cin, cin), gn(cin), nn.SiLU(),
                nn.Conv2d(cin, 2 * z, 3, padding=1), nn.Conv2d(2 * z, 2 * z, 1)]
        self.enc = nn.Sequential(*enc)
        dec = [nn.Conv2d(z, z, 1), nn.Conv2d(z, cin, 3, padding=1), ResBlock(cin, cin), VAEAttn(cin), ResBlock(cin, cin)]
        for lv in reversed(range(len(mult))):
            for _ in range(nres + 1):
                dec.append(ResBlock(cin, ch * mult[lv]))
                cin = ch * mult[lv]
            if lv:
                dec += [nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(cin, cin, 3, padding=1)]
        dec += [gn(cin), nn.SiLU(), nn.Conv2d(cin, 3, 3, padding=1)]
        self.dec = nn.Sequential(*dec)

    def forward(self, x):
        mean, logvar = self.enc(x).chunk(2, 1)
        zs = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar.clamp(-30, 20))
        return self.dec(zs), mean, logvar


class TextEncoder(nn.Module):        # CLIPTextModel: pre-LN, causal, quick-GELU, head dim 64
    def __init__(self, vocab, d, layers, ctx_len=77):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Parameter(torch.zeros(ctx_len, d))
        self.layers = nn.ModuleList(nn.ModuleList([nn.LayerNorm(d), Attention(d, d, max(1, d // 64), bias=True),
                                                   nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.Linear(4 * d, d)])
                                    for _ in range(layers))
        self.final = nn.LayerNorm(d)

    def forward(self, ids):
        h = self.tok(ids) + self.pos[: ids.shape[1]]
        for n1, at, n2, f1, f2 in self.layers:
            h = h + at(n1(h), causal=True)
            u = f1(n2(h))
            h = h + f2(u * torch.sigmoid(1.702 * u))
        return self.final(h)


def blas_in_use():
    """Which libblas the process mapped (Debian's torch uses BLAS_INFO=generic:
    whatever libblas.so.3 resolves to; the reference netlib one is ~30x slower)."""
    with open("/proc/self/maps") as f:
        libs = {ln.split()[-1] for ln in f if "blas" in ln}
    return ", ".join(sorted(libs)) or "none"


def nparams(m):
    return sum(p.numel() for p in m.parameters())


def time_step(fn, params, reps):
    """Median wall time of forward+backward+AdamW over the steps that got the
    cores (CPU time / (wall x threads) >= 0.85: the machine is shared), and
    the share of steps kept.  Falls back to all steps if none qualifies."""
    opt = torch.optim.AdamW(params, lr=1e-4)
    steps = []
    for r in range(reps + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad()
        fn().backward()
        opt.step()
        t1, c1 = time.perf_counter(), time.process_time()
        if r:
            steps.append((t1 - t0, (c1 - c0) / ((t1 - t0) * torch.get_num_threads())))
    kept = sorted(t for t, s in steps if s >= 0.85) or sorted(t for t, _ in steps)
    return kept[len(kept) // 2], sum(s >= 0.85 for _, s in steps) / len(steps)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--only", default="vae,te,unet")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print("torch %s, threads %d (default was %s)" % (torch.__version__, torch.get_num_threads(),
                                                    os.environ.get("OMP_NUM_THREADS", "1 unless set")))
    torch.randn(4, 4) @ torch.randn(4, 4)
    print("BLAS:", blas_in_use())
    rows = []
    if "vae" in a.only:
        for name, ch, mult, nres, px, B in [("vae32x4", 32, (1, 2, 2, 2), 1, 64, 16),
                                            ("vae32x4", 32, (1, 2, 2, 2), 1, 128, 4),
                                            ("vae32x4r2", 32, (1, 2, 2, 2), 2, 64, 16),
                                            ("vae64x4", 64, (1, 1, 2, 2), 1, 64, 16),
                                            ("vae32x3", 32, (1, 2, 2), 1, 64, 16)]:
            m = VAE(ch, mult, nres)
            x = torch.rand(B, 3, px, px) * 2 - 1

            def f():
                r, mu, lv = m(x)
                return (r - x).abs().mean() + 1e-6 * (mu ** 2 + lv.exp() - lv).mean()
            t, s = time_step(f, m.parameters(), a.reps)
            rows.append((name, "ch %d mult %s res %d" % (ch, mult, nres), nparams(m), "%dpx b%d" % (px, B), t, s, B))
    if "te" in a.only:
        for d, L in [(128, 4), (128, 3), (128, 2), (256, 4)]:
            m = TextEncoder(800, d, L)
            ids = torch.randint(0, 800, (32, 77))
            t, s = time_step(lambda: m(ids).square().mean(), m.parameters(), a.reps)
            rows.append(("te%dx%d" % (d, L), "width %d layers %d heads %d" % (d, L, max(1, d // 64)), nparams(m), "77 tok b32", t, s, 32))
    if "unet" in a.only:
        for name, mc, mult, nres, attn, lat, B in [
                ("unet32", 32, (1, 2, 4), 1, (0, 1), 8, 32),
                ("unet32r2", 32, (1, 2, 4), 2, (0, 1), 8, 32),
                ("unet64", 64, (1, 2, 2), 1, (0, 1), 8, 32),
                ("unet64r2", 64, (1, 2, 2), 2, (0, 1), 8, 32),
                ("unet64", 64, (1, 2, 2), 1, (0, 1), 16, 16),
                ("unet96", 96, (1, 2, 2), 1, (0, 1), 8, 32),
                ("unet64x4", 64, (1, 2, 2, 2), 1, (0, 1, 2), 16, 16),
                ("unet128", 128, (1, 2, 2), 1, (0, 1), 8, 32)]:
            m = UNet(mc, mult, nres, attn, 128)
            x = torch.randn(B, 4, lat, lat)
            tt = torch.randint(0, 1000, (B,))
            ctx = torch.randn(B, 77, 128)
            t, s = time_step(lambda: (m(x, tt, ctx) - x).square().mean(), m.parameters(), a.reps)
            rows.append((name, "mc %d mult %s res %d attn %s" % (mc, mult, nres, attn), nparams(m),
                         "lat %d b%d" % (lat, B), t, s, B))
    print("%-10s %-38s %10s %12s %9s %9s %6s" % ("model", "config", "params", "batch", "s/step", "ms/sample", "kept"))
    for name, cfg, n, b, t, s, B in rows:
        print("%-10s %-38s %10d %12s %9.3f %9.1f %5.0f%%" % (name, cfg, n, b, t, 1000 * t / B, 100 * s))
    print("peak RSS %.0f MB" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


if __name__ == "__main__":
    main()
