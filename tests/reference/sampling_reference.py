#!/usr/bin/python3
"""Goldens for engine/sampling_plan and engine/sampler (tests/engine/test_sampling.cpp).

Uses the upstream transcription in sampling_upstream.py with a deterministic
toy "model" made of float32 +, *, / and rolls only (so it rounds the same in
C++), seeded noise from torch.Generator per image (seed + i, A1111 / diffusers
with one generator per image) and, for one run, A1111's Philox.

Writes
  tests/data/sampling/schedules.safetensors  σ / timestep tables per sampler,
      schedule and step count, and the 1000-step training tables;
  tests/data/sampling/runs.safetensors  final latents of every sampler x
      schedule x prediction (txt2img, [1,4,8,8]), batch-2 runs with CFG, and
      img2img runs.
The metadata holds the case lists (JSON) and, under "native_deviation", how
far plain PyTorch 1.13 numerics (its own linspace, SLEEF log/exp) land from
the reference policy (see sampling_upstream.Numerics).

Run:  /usr/bin/python3 tests/reference/sampling_reference.py
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io  # noqa: E402
import sampling_upstream as up  # noqa: E402
from rng_reference import Philox  # noqa: E402

OUT_DIR = os.path.join(HERE, "..", "data", "sampling")
SAMPLERS = ["euler", "euler_a", "heun", "dpmpp_2m", "ddim", "lcm"]
K_SCHEDULES = ["normal", "karras", "exponential"]
D_SCHEDULES = ["leading", "linspace", "trailing"]
TABLE_STEPS = list(range(1, 31)) + [32, 48, 50, 61, 64, 121, 250]


# ---------------------------------------------------------------- toy model

def toy(x, t):
    """Elementwise-rational with neighbours along W and C; t is the timestep."""
    t = torch.as_tensor(t).reshape(-1)[0]
    a = x * 0.5
    nb = torch.roll(x, 1, dims=3) * 0.25
    ch = torch.roll(x, 1, dims=1) * 0.125
    num = a + nb + ch + t * 0.001
    den = x * x * 0.0625 + 1.0
    return num / den


def cond_toy(x, t):
    return toy(x, t) * 1.25 + 0.01


def guided(scale, num, interval=None):
    """CFG over the toy pair; with interval = (lo, hi) only for calls whose
    sigma(t) (k-diffusion's t_to_sigma on the LDM table) is in (lo, hi], the
    conditional branch alone elsewhere (Kynkaanniemi et al. 2024)."""
    den = up.CompVisDenoiser(toy, up.ldm_alphas_cumprod(num), num, False)

    def inner(x2, t):  # [uncond; cond]
        b = x2.shape[0] // 2
        return torch.cat([toy(x2[:b], t), cond_toy(x2[b:], t)])

    def model(x, t):
        if interval is not None:
            sigma = float(den.t_to_sigma(torch.as_tensor(t, dtype=torch.float32).reshape(-1))[0])
            if not interval[0] < sigma <= interval[1]:
                return cond_toy(x, t)
        o = inner(torch.cat([x, x]), t)
        u, c = o.chunk(2)
        return u + scale * (c - u)
    return model


def noise_source(rng, seed, shape):
    if rng == "philox":
        gens = [Philox(seed + i) for i in range(shape[0])]
        return lambda: torch.stack([torch.from_numpy(g.randn(shape[1:])) for g in gens])
    gens = [torch.Generator().manual_seed(seed + i) for i in range(shape[0])]
    return lambda: torch.stack([torch.randn(shape[1:], generator=g) for g in gens])


# ---------------------------------------------------------------- runs

def run(case, num, x0):
    model = guided(case["cfg"], num, case.get("cfg_interval")) if case["cfg"] else toy
    shape = case["shape"]
    draw = noise_source(case["rng"], case["seed"], shape)
    n, v = case["steps"], case["prediction"] == "v"
    strength = case.get("strength")
    if case["schedule"] in K_SCHEDULES:
        den = up.CompVisDenoiser(model, up.ldm_alphas_cumprod(num), num, v)
        sigmas = up.k_sigmas(case["schedule"], den, n, num)
        noise = draw()
        if strength is not None:  # A1111 img2img
            t_enc = int(min(strength, 0.999) * n)
            sigmas = sigmas[n - t_enc - 1:]
            x = x0 + noise * sigmas[0]
        else:
            x = noise * sigmas[0]
        return up.K_SAMPLERS[case["sampler"]](den, x, sigmas, draw, num)
    sch = up.DiffusersScheduler(case["sampler"], case["schedule"], num, v)
    sch.set_timesteps(n)
    noise = draw()
    if strength is not None:  # diffusers img2img get_timesteps
        init_timestep = min(int(n * strength), n)
        t_start = max(n - init_timestep, 0)
        timesteps = sch.timesteps[t_start * sch.order:]
        sch.set_begin_index(t_start * sch.order)
        latents = sch.add_noise(x0, noise, timesteps[0])
    else:
        timesteps = sch.timesteps
        latents = noise * sch.init_noise_sigma
    for t in timesteps:
        inp = sch.scale_model_input(latents)
        out = model(inp, t)
        latents = sch.step(out, t, latents, draw)
    return latents


def cases():
    out = []
    for sampler in SAMPLERS:
        for schedule in K_SCHEDULES + D_SCHEDULES:
            for pred in ["eps", "v"]:
                out.append(dict(name=f"{sampler}/{schedule}/{pred}", sampler=sampler, schedule=schedule,
                                prediction=pred, steps=6, shape=[1, 4, 8, 8], seed=7, rng="cpu", cfg=0))
        for schedule in ["karras", "leading"]:
            out.append(dict(name=f"{sampler}/{schedule}/cfg_batch2", sampler=sampler, schedule=schedule,
                            prediction="eps", steps=5, shape=[2, 4, 8, 8], seed=100, rng="cpu", cfg=7.5))
        # 5 karras steps: sigma 14.6, 4.80, 1.27, 0.25, 0.03, so only 1.27 is guided; 5 leading steps:
        # t 801 ... 1 = sigma 5.13, 2.29, 1.17, 0.57, 0.04, the first three guided.
        out.append(dict(name=f"{sampler}/karras/cfg_interval", sampler=sampler, schedule="karras",
                        prediction="eps", steps=5, shape=[2, 4, 8, 8], seed=100, rng="cpu", cfg=7.5,
                        cfg_interval=[0.5, 3.3]))
        out.append(dict(name=f"{sampler}/leading/cfg_interval", sampler=sampler, schedule="leading",
                        prediction="eps", steps=5, shape=[2, 4, 8, 8], seed=100, rng="cpu", cfg=7.5,
                        cfg_interval=[1.0, 1e30]))
        for schedule in ["normal", "trailing"]:
            out.append(dict(name=f"{sampler}/{schedule}/img2img", sampler=sampler, schedule=schedule,
                            prediction="eps", steps=8, shape=[2, 4, 8, 8], seed=3, rng="cpu", cfg=0,
                            strength=0.6))
    out.append(dict(name="euler_a/normal/philox", sampler="euler_a", schedule="normal", prediction="eps", steps=6,
                    shape=[1, 4, 8, 8], seed=11, rng="philox", cfg=0))
    out.append(dict(name="lcm/leading/steps4_v", sampler="lcm", schedule="leading", prediction="v", steps=4,
                    shape=[1, 4, 8, 8], seed=5, rng="cpu", cfg=0))
    return out


# ---------------------------------------------------------------- tables

def tables(num):
    t = []
    ldm_ac = up.ldm_alphas_cumprod(num)
    den = up.CompVisDenoiser(toy, ldm_ac, num, False)
    t += [("ldm/alphas_cumprod", ldm_ac), ("ldm/sigmas", den.sigmas), ("ldm/log_sigmas", den.log_sigmas)]
    dif_ac = up.diffusers_alphas_cumprod(num)
    t += [("diffusers/alphas_cumprod", dif_ac), ("diffusers/sigmas", ((1 - dif_ac) / dif_ac) ** 0.5)]
    for n in TABLE_STEPS:
        for schedule in K_SCHEDULES:
            sig = up.k_sigmas(schedule, den, n, num)
            t += [(f"k/{schedule}/{n}/sigmas", sig), (f"k/{schedule}/{n}/timesteps", den.sigma_to_t(sig[:-1]))]
        for sampler in ["euler", "dpmpp_2m", "ddim", "lcm"]:
            if sampler == "lcm" and n > 50:
                continue
            for spacing in D_SCHEDULES:
                if sampler == "lcm" and spacing != "leading":
                    continue  # LCMScheduler ignores the spacing
                sch = up.DiffusersScheduler(sampler, spacing, num, False)
                sch.set_timesteps(n)
                key = f"d/{sampler}/{spacing}/{n}"
                t.append((key + "/timesteps", sch.plain_timesteps.to(torch.float32)))
                if sch.plain_sigmas is not None:
                    t.append((key + "/sigmas", sch.plain_sigmas))
                    t.append((key + "/init_noise_sigma", torch.as_tensor(sch.init_noise_sigma, dtype=torch.float32).reshape(1)))
    return [(k, v.detach().to(torch.float32).numpy()) for k, v in t]


def ulps(a, b):
    a = np.asarray(a, dtype=np.float32).view(np.int32).astype(np.int64)
    b = np.asarray(b, dtype=np.float32).view(np.int32).astype(np.int64)
    return np.abs(a - b)


def main():
    ref, nat = up.Numerics(native=False), up.Numerics(native=True)
    check = up.DiffusersScheduler("euler", "leading", ref, False)
    check.set_timesteps(8)
    assert check.timesteps.tolist() == [876, 751, 626, 501, 376, 251, 126, 1], check.timesteps

    tab = tables(ref)
    tab_native = dict(tables(nat))
    table_dev = {"entries": 0, "differ": 0, "max_ulps": 0}
    for k, v in tab:
        d = ulps(v, tab_native[k])
        table_dev["entries"] += int(d.size)
        table_dev["differ"] += int((d > 0).sum())
        table_dev["max_ulps"] = max(table_dev["max_ulps"], int(d.max()) if d.size else 0)

    g = torch.Generator().manual_seed(1234)
    x0 = {1: torch.randn([1, 4, 8, 8], generator=g), 2: torch.randn([2, 4, 8, 8], generator=g)}
    runs, run_dev = [], 0.0
    cs = cases()
    for c in cs:
        x = x0[c["shape"][0]]
        a = run(c, ref, x)
        b = run(c, nat, x)
        run_dev = max(run_dev, float(((a - b).abs().max() / a.abs().max()).item()))
        runs.append((c["name"] + "/latent", a.numpy()))
    runs += [("x0/1", x0[1].numpy()), ("x0/2", x0[2].numpy())]

    meta = {"torch": torch.__version__, "numpy": np.__version__, "table_steps": json.dumps(TABLE_STEPS),
            "native_deviation": json.dumps({"tables": table_dev, "final_latents_max_rel": run_dev})}
    safetensors_io.write(os.path.join(OUT_DIR, "schedules.safetensors"), tab, meta)
    safetensors_io.write(os.path.join(OUT_DIR, "runs.safetensors"), runs, {**meta, "cases": json.dumps(cs)})
    print(f"{len(tab)} tables, {len(cs)} runs; native PyTorch 1.13 deviation: {meta['native_deviation']}")


if __name__ == "__main__":
    main()
