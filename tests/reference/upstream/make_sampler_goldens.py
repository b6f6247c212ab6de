#!/usr/bin/python3
"""Sampler goldens from upstream code on plain PyTorch 1.13 numerics:
k-diffusion itself (k_diffusion/sampling.py and external.py, v0.1.1.post1)
for the σ schedules, and diffusers 0.27.2's schedulers for the timestep
spacings.

k-diffusion:
The same runs as the hand-transcribed reference (tests/reference/
sampling_reference.py, tests/data/sampling/runs.safetensors) for every
k-diffusion sampler skingen has (sample_euler, sample_euler_ancestral,
sample_heun, sample_dpmpp_2m) × σ schedule (CompVisDenoiser.get_sigmas
"normal", get_sigmas_karras, get_sigmas_exponential) × prediction
(CompVisDenoiser, CompVisVDenoiser): 6 steps, [1, 4, 8, 8], seed 7, the
toy model of sampling_reference.py as the "UNet", initial noise and the
ancestral noise from one torch.Generator seeded 7 (the reference's
noise_source; k-diffusion takes it as noise_sampler).

The training table is CompVis's: make_beta_schedule("linear", 1000, 0.00085,
0.012) from Stability-AI's ldm/modules/diffusionmodules/util.py, then
register_schedule's float64 cumprod stored as float32 (ldm/models/diffusion/
ddpm.py).

What differs from runs.safetensors is only the numerics: here torch 1.13's
own linspace and log/exp/expm1/pow, there the pinned policy of
sampling_upstream.Numerics. Each golden records its distance to the policy
run (max |Δ| / max |x|).

diffusers: EulerDiscreteScheduler, EulerAncestralDiscreteScheduler,
HeunDiscreteScheduler, DPMSolverMultistepScheduler (DPM-Solver++ 2M),
DDIMScheduler and LCMScheduler, each from SD 1.5's scheduler config
(scaled_linear betas 0.00085 … 0.012, steps_offset 1, set_alpha_to_one
false) with the case's timestep_spacing and prediction_type, driven by the
txt2img loop of StableDiffusionPipeline (latents = noise ·
init_noise_sigma; scale_model_input; step(…, generator=per-image
generators)): the runs `<sampler>/<leading|linspace|trailing>/<eps|v>` (6
steps, seed 7) and `<sampler>/leading/cfg_batch2` (5 steps, batch 2, seeds
100 and 101, guidance 7.5 over the toy pair of sampling_reference.guided,
noise_pred = uncond + g · (cond − uncond) as the pipeline computes it).

Writes tests/data/upstream/sampling/upstream_runs.safetensors.
Run: /usr/bin/python3 tests/reference/upstream/make_sampler_goldens.py
"""
import inspect
import os
import sys

import numpy as np
import torch

import common
import sources

SOURCE = sources.load("k-diffusion", "stablediffusion", "diffusers")
from diffusers.schedulers.scheduling_ddim import DDIMScheduler  # noqa: E402
from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler  # noqa: E402
from diffusers.schedulers.scheduling_euler_ancestral_discrete import EulerAncestralDiscreteScheduler  # noqa: E402
from diffusers.schedulers.scheduling_euler_discrete import EulerDiscreteScheduler  # noqa: E402
from diffusers.schedulers.scheduling_heun_discrete import HeunDiscreteScheduler  # noqa: E402
from diffusers.schedulers.scheduling_lcm import LCMScheduler  # noqa: E402
from k_diffusion import external, sampling  # noqa: E402
from ldm.modules.diffusionmodules.util import make_beta_schedule  # noqa: E402

sys.path.insert(0, os.path.join(common.HERE, ".."))
import sampling_reference as ref  # noqa: E402  (the toy model and the seeded noise, shared with the policy goldens)

SAMPLERS = {"euler": sampling.sample_euler, "euler_a": sampling.sample_euler_ancestral,
            "heun": sampling.sample_heun, "dpmpp_2m": sampling.sample_dpmpp_2m}
SCHEDULES = ["normal", "karras", "exponential"]
STEPS, SHAPE, SEED = 6, [1, 4, 8, 8], 7


class ToyCompVisModel(torch.nn.Module):
    """What CompVisDenoiser wraps: `alphas_cumprod` and `apply_model(x, t)`."""

    def __init__(self, alphas_cumprod):
        super().__init__()
        self.register_buffer("alphas_cumprod", alphas_cumprod)

    def apply_model(self, x, t, cond):
        return ref.toy(x, t)  # unconditional: `cond` (CompVisVDenoiser requires the argument) is None


def alphas_cumprod():
    betas = make_beta_schedule("linear", 1000, linear_start=0.00085, linear_end=0.012)
    return torch.tensor(np.cumprod(1. - betas, axis=0), dtype=torch.float32)


def sigmas_for(schedule, den):
    if schedule == "normal":
        return den.get_sigmas(STEPS)
    smin, smax = den.sigmas[0].item(), den.sigmas[-1].item()
    if schedule == "karras":
        return sampling.get_sigmas_karras(STEPS, smin, smax)
    return sampling.get_sigmas_exponential(STEPS, smin, smax)


def run(sampler, schedule, prediction, model):
    den = (external.CompVisVDenoiser if prediction == "v" else external.CompVisDenoiser)(model)
    sigmas = sigmas_for(schedule, den)
    draw = ref.noise_source("cpu", SEED, SHAPE)
    x = draw() * sigmas[0]
    kwargs = {"extra_args": {"cond": None}}
    if sampler == "euler_a":
        kwargs["noise_sampler"] = lambda sigma, sigma_next: draw()
    with torch.no_grad():
        return SAMPLERS[sampler](den, x, sigmas, disable=True, **kwargs)


D_SCHEDULERS = {"euler": EulerDiscreteScheduler, "euler_a": EulerAncestralDiscreteScheduler,
                "heun": HeunDiscreteScheduler, "dpmpp_2m": DPMSolverMultistepScheduler, "ddim": DDIMScheduler,
                "lcm": LCMScheduler}
SPACINGS = ["leading", "linspace", "trailing"]
# runwayml/stable-diffusion-v1-5 scheduler/scheduler_config.json (the PNDM entries dropped).
SD15_SCHEDULER = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
                  "beta_schedule": "scaled_linear", "trained_betas": None, "clip_sample": False,
                  "set_alpha_to_one": False, "steps_offset": 1}


def diffusers_run(sampler, spacing, prediction, steps, shape, seed, cfg):
    # from_config drops the entries a scheduler does not take, as a pipeline's scheduler swap does.
    sch = D_SCHEDULERS[sampler].from_config(SD15_SCHEDULER, timestep_spacing=spacing,
                                            prediction_type="v_prediction" if prediction == "v" else "epsilon")
    sch.set_timesteps(steps)
    gens = [torch.Generator().manual_seed(seed + i) for i in range(shape[0])]
    # StableDiffusionPipeline.prepare_latents: randn_tensor with one generator per image.
    latents = torch.cat([torch.randn([1] + shape[1:], generator=g) for g in gens]) * sch.init_noise_sigma
    # CFG over the toy pair; the Numerics argument only matters for a guidance interval (none here).
    model = ref.guided(cfg, ref.up.Numerics(native=True)) if cfg else ref.toy
    # StableDiffusionPipeline.prepare_extra_step_kwargs: the generators go to step() where it takes them.
    extra = {"generator": gens} if "generator" in inspect.signature(sch.step).parameters else {}
    with torch.no_grad():
        for t in sch.timesteps:
            inp = sch.scale_model_input(latents, t)
            latents = sch.step(model(inp, t), t, latents, **extra).prev_sample
    return latents


def main():
    common.setup_torch()
    model = ToyCompVisModel(alphas_cumprod())
    policy = common.load_file(os.path.join(common.DATA, "sampling", "runs.safetensors"))
    out, cases, dist = {}, [], {}
    for sampler in SAMPLERS:
        for schedule in SCHEDULES:
            for pred in ["eps", "v"]:
                name = f"{sampler}/{schedule}/{pred}"
                lat = run(sampler, schedule, pred, model)
                out[name + "/latent"] = lat
                p = policy[name + "/latent"]
                dist[name] = float((lat - p).abs().max() / p.abs().max())
                cases.append(dict(name=name, sampler=sampler, schedule=schedule, prediction=pred, steps=STEPS,
                                  shape=SHAPE, seed=SEED, rng="cpu", cfg=0))
    d_cases = [dict(name=f"{s}/{sp}/{p}", sampler=s, schedule=sp, prediction=p, steps=STEPS, shape=SHAPE,
                    seed=SEED, rng="cpu", cfg=0) for s in D_SCHEDULERS for sp in SPACINGS for p in ["eps", "v"]]
    d_cases += [dict(name=f"{s}/leading/cfg_batch2", sampler=s, schedule="leading", prediction="eps", steps=5,
                     shape=[2, 4, 8, 8], seed=100, rng="cpu", cfg=7.5) for s in D_SCHEDULERS]
    for c in d_cases:
        lat = diffusers_run(c["sampler"], c["schedule"], c["prediction"], c["steps"], c["shape"], c["seed"], c["cfg"])
        out[c["name"] + "/latent"] = lat
        p = policy[c["name"] + "/latent"]
        dist[c["name"]] = float((lat - p).abs().max() / p.abs().max())
        cases.append(c)
    meta = {"source": SOURCE["k-diffusion"] + "; beta schedule: " + SOURCE["stablediffusion"]
            + "; schedulers: " + SOURCE["diffusers"],
            "torch": torch.__version__, "cases": cases,
            "model": "sampling_reference.toy via CompVisDenoiser / CompVisVDenoiser (quantize=False)",
            "noise": "one torch.Generator seeded `seed`: x = randn · σ_0, then ancestral draws (noise_sampler)",
            "policy_max_rel": dist}
    common.write_golden(os.path.join(common.OUT, "sampling", "upstream_runs.safetensors"), out, meta)
    worst = max(dist, key=dist.get)
    print(f"plain torch {torch.__version__} k-diffusion and diffusers vs the numerics policy: worst {dist[worst]:.3g} ({worst}), "
          f"{sum(v == 0 for v in dist.values())} of {len(dist)} identical")


if __name__ == "__main__":
    main()
