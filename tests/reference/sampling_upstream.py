"""Upstream sampling semantics, transcribed in PyTorch / NumPy for the golden
generator (sampling_reference.py). Written from reading crowsonkb/k-diffusion
(k_diffusion/sampling.py, k_diffusion/external.py), CompVis LDM
(ldm/models/diffusion/ddpm.py register_schedule), ComfyUI's sample_lcm and
diffusers' schedulers (scheduling_euler_discrete.py,
scheduling_euler_ancestral_discrete.py, scheduling_heun_discrete.py,
scheduling_dpmsolver_multistep.py, scheduling_ddim.py, scheduling_lcm.py),
keeping each tensor operation and its float32 rounding.

Two deliberate, documented substitutions, both switchable (Numerics):
- torch.linspace: PyTorch >= 2.0's scalar CPU kernel (pytorch#89048) compiled with FMA
  (start + step*i as one fused operation for i < n/2, end - step*(n-1-i)
  after), emulated exactly; PyTorch 1.13 (installed here) vectorised it.
- float32 log / exp / expm1 / pow: the correctly rounded value (glibc double
  then float32); PyTorch's depends on the build (MKL, SLEEF, libm).
Numerics(native=True) uses plain PyTorch 1.13 instead, to measure how much
those choices matter.
"""
import math
from fractions import Fraction

import numpy as np
import torch

f32 = np.float32


def _round_f32(fr):
    """Exact rational -> nearest float32, ties to even."""
    y = f32(float(fr))
    best = None
    for c in (np.nextafter(y, f32(-np.inf)), y, np.nextafter(y, f32(np.inf))):
        err = abs(Fraction(float(c)) - fr)
        key = (err, int(np.array(c, dtype=f32).view(np.uint32)) & 1)
        if best is None or key < best[0]:
            best = (key, c)
    return f32(best[1])


def _fma_linspace(start, end, n, single):
    """torch.linspace as PyTorch >= 2.0 computes it on x86-64 (one FMA per element)."""
    if single:
        s, e = f32(start), f32(end)
        step = (e - s) / f32(n - 1) if n > 1 else f32(0)  # float32 operations
        rnd = _round_f32
    else:
        s, e = float(start), float(end)
        step = (e - s) / (n - 1) if n > 1 else 0.0
        rnd = float  # Fraction -> nearest double
    if n == 1:
        return [s]
    out = []
    for i in range(n):
        if i < n // 2:
            out.append(rnd(Fraction(float(step)) * i + Fraction(float(s))))
        else:
            out.append(rnd(Fraction(float(e)) - Fraction(float(step)) * (n - 1 - i)))
    return out


class Numerics:
    def __init__(self, native=False):
        self.native = native

    def linspace32(self, a, b, n):
        if self.native:
            return torch.linspace(a, b, n)
        return torch.tensor(np.array(_fma_linspace(a, b, n, True), dtype=f32))

    def linspace64(self, a, b, n):
        if self.native:
            return torch.linspace(a, b, n, dtype=torch.float64)
        return torch.tensor(np.array(_fma_linspace(a, b, n, False), dtype=np.float64))

    def _cr(self, fn, x):
        x = torch.as_tensor(x, dtype=torch.float32)
        flat = [fn(float(v)) for v in x.reshape(-1)]
        return torch.tensor(np.array(flat, dtype=np.float64).astype(f32)).reshape(x.shape)

    def log(self, x):
        if self.native:
            return torch.log(x)
        return self._cr(lambda v: math.log(v) if v > 0 else (float("-inf") if v == 0 else float("nan")), x)

    def exp(self, x):
        if self.native:
            return torch.exp(x)
        return self._cr(lambda v: math.exp(v) if v != float("-inf") else 0.0, x)

    def expm1(self, x):
        if self.native:
            return torch.expm1(x)
        return self._cr(lambda v: math.expm1(v) if v != float("-inf") else -1.0, x)

    def pow(self, x, e):
        if self.native:
            return x ** e
        return self._cr(lambda v: math.pow(v, e), x)


N_TRAIN = 1000
BETA_START, BETA_END = 0.00085, 0.012


# ---------------------------------------------------------------- tables

def ldm_alphas_cumprod(num):
    """ldm register_schedule: float64 betas and cumprod, float32 buffer."""
    betas = (num.linspace64(BETA_START ** 0.5, BETA_END ** 0.5, N_TRAIN) ** 2).numpy()
    alphas = 1. - betas
    return torch.tensor(np.cumprod(alphas, axis=0), dtype=torch.float32)


def diffusers_alphas_cumprod(num):
    betas = num.linspace32(BETA_START ** 0.5, BETA_END ** 0.5, N_TRAIN) ** 2
    return torch.cumprod(1.0 - betas, dim=0)


# ---------------------------------------------------------------- k-diffusion

def append_zero(x):
    return torch.cat([x, x.new_zeros([1])])


class CompVisDenoiser:
    """external.py DiscreteSchedule + DiscreteEpsDDPMDenoiser / DiscreteVDDPMDenoiser."""

    def __init__(self, model, alphas_cumprod, num, v_prediction):
        self.model, self.num, self.v = model, num, v_prediction
        self.sigmas = ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5
        self.log_sigmas = num.log(self.sigmas)
        self.sigma_data = 1.

    @property
    def sigma_min(self):
        return self.sigmas[0]

    @property
    def sigma_max(self):
        return self.sigmas[-1]

    def get_sigmas(self, n):
        t_max = len(self.sigmas) - 1
        t = self.num.linspace32(t_max, 0, n)
        return append_zero(self.t_to_sigma(t))

    def sigma_to_t(self, sigma):
        log_sigma = self.num.log(sigma)
        dists = log_sigma - self.log_sigmas[:, None]
        low_idx = dists.ge(0).cumsum(dim=0).argmax(dim=0).clamp(max=self.log_sigmas.shape[0] - 2)
        high_idx = low_idx + 1
        low, high = self.log_sigmas[low_idx], self.log_sigmas[high_idx]
        w = (low - log_sigma) / (low - high)
        w = w.clamp(0, 1)
        t = (1 - w) * low_idx + w * high_idx
        return t.view(sigma.shape)

    def t_to_sigma(self, t):
        t = t.float()
        low_idx, high_idx, w = t.floor().long(), t.ceil().long(), t.frac()
        log_sigma = (1 - w) * self.log_sigmas[low_idx] + w * self.log_sigmas[high_idx]
        return self.num.exp(log_sigma)

    def __call__(self, x, sigma):
        if self.v:
            c_skip = self.sigma_data ** 2 / (sigma ** 2 + self.sigma_data ** 2)
            c_out = -sigma * self.sigma_data / (sigma ** 2 + self.sigma_data ** 2) ** 0.5
            c_in = 1 / (sigma ** 2 + self.sigma_data ** 2) ** 0.5
            c_skip, c_out, c_in = (v[:, None, None, None] for v in (c_skip, c_out, c_in))
            return self.model(x * c_in, self.sigma_to_t(sigma)) * c_out + x * c_skip
        c_out = -sigma
        c_in = 1 / (sigma ** 2 + self.sigma_data ** 2) ** 0.5
        c_out, c_in = c_out[:, None, None, None], c_in[:, None, None, None]
        eps = self.model(x * c_in, self.sigma_to_t(sigma))
        return x + eps * c_out


def get_sigmas_karras(n, sigma_min, sigma_max, num, rho=7.):
    ramp = num.linspace32(0, 1, n)
    min_inv_rho = sigma_min ** (1 / rho)
    max_inv_rho = sigma_max ** (1 / rho)
    sigmas = num.pow(max_inv_rho + ramp * (min_inv_rho - max_inv_rho), rho)
    return append_zero(sigmas)


def get_sigmas_exponential(n, sigma_min, sigma_max, num):
    sigmas = num.exp(num.linspace32(math.log(sigma_max), math.log(sigma_min), n))
    return append_zero(sigmas)


def to_d(x, sigma, denoised):
    return (x - denoised) / sigma


def get_ancestral_step(sigma_from, sigma_to, eta=1.):
    sigma_up = min(sigma_to, eta * (sigma_to ** 2 * (sigma_from ** 2 - sigma_to ** 2) / sigma_from ** 2) ** 0.5)
    sigma_down = (sigma_to ** 2 - sigma_up ** 2) ** 0.5
    return sigma_down, sigma_up


def sample_euler(model, x, sigmas, noise_sampler, num):
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        gamma = 0.
        sigma_hat = sigmas[i] * (gamma + 1)
        denoised = model(x, sigma_hat * s_in)
        d = to_d(x, sigma_hat, denoised)
        dt = sigmas[i + 1] - sigma_hat
        x = x + d * dt
    return x


def sample_euler_ancestral(model, x, sigmas, noise_sampler, num, eta=1., s_noise=1.):
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in)
        sigma_down, sigma_up = get_ancestral_step(sigmas[i], sigmas[i + 1], eta=eta)
        d = to_d(x, sigmas[i], denoised)
        dt = sigma_down - sigmas[i]
        x = x + d * dt
        if sigmas[i + 1] > 0:
            x = x + noise_sampler() * s_noise * sigma_up
    return x


def sample_heun(model, x, sigmas, noise_sampler, num):
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        sigma_hat = sigmas[i] * (0. + 1)
        denoised = model(x, sigma_hat * s_in)
        d = to_d(x, sigma_hat, denoised)
        dt = sigmas[i + 1] - sigma_hat
        if sigmas[i + 1] == 0:
            x = x + d * dt
        else:
            x_2 = x + d * dt
            denoised_2 = model(x_2, sigmas[i + 1] * s_in)
            d_2 = to_d(x_2, sigmas[i + 1], denoised_2)
            d_prime = (d + d_2) / 2
            x = x + d_prime * dt
    return x


def sample_dpmpp_2m(model, x, sigmas, noise_sampler, num):
    s_in = x.new_ones([x.shape[0]])
    sigma_fn = lambda t: num.exp(t.neg())  # noqa: E731
    t_fn = lambda sigma: num.log(sigma).neg()  # noqa: E731
    old_denoised = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in)
        t, t_next = t_fn(sigmas[i]), t_fn(sigmas[i + 1])
        h = t_next - t
        if old_denoised is None or sigmas[i + 1] == 0:
            x = (sigma_fn(t_next) / sigma_fn(t)) * x - num.expm1(-h) * denoised
        else:
            h_last = t - t_fn(sigmas[i - 1])
            r = h_last / h
            denoised_d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old_denoised
            x = (sigma_fn(t_next) / sigma_fn(t)) * x - num.expm1(-h) * denoised_d
        old_denoised = denoised
    return x


def sample_lcm(model, x, sigmas, noise_sampler, num):
    """ComfyUI comfy/k_diffusion/sampling.py sample_lcm with EPS noise_scaling."""
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in)
        x = denoised
        if sigmas[i + 1] > 0:
            noise = noise_sampler() * sigmas[i + 1]
            noise += x
            x = noise
    return x


K_SAMPLERS = {"euler": sample_euler, "euler_a": sample_euler_ancestral, "heun": sample_heun,
              "dpmpp_2m": sample_dpmpp_2m, "ddim": sample_euler, "lcm": sample_lcm}


def k_sigmas(schedule, denoiser, n, num):
    if schedule == "normal":
        return denoiser.get_sigmas(n)
    smin, smax = denoiser.sigma_min.item(), denoiser.sigma_max.item()
    if schedule == "karras":
        return get_sigmas_karras(n, smin, smax, num)
    return get_sigmas_exponential(n, smin, smax, num)


# ---------------------------------------------------------------- diffusers

class DiffusersScheduler:
    """The parts of diffusers' schedulers a txt2img / img2img pipeline uses, SD 1.5 config."""

    def __init__(self, kind, spacing, num, v_prediction):
        self.kind, self.spacing, self.num, self.v = kind, spacing, num, v_prediction
        self.alphas_cumprod = diffusers_alphas_cumprod(num)
        self.final_alpha_cumprod = self.alphas_cumprod[0]  # set_alpha_to_one False
        self.steps_offset = 1
        self.order = 2 if kind == "heun" else 1
        self.begin_index = None

    # -- set_timesteps
    def _euler_timesteps(self, n):
        if self.spacing == "linspace":
            return np.linspace(0, N_TRAIN - 1, n, dtype=np.float32)[::-1].copy()
        if self.spacing == "leading":
            step_ratio = N_TRAIN // n
            ts = (np.arange(0, n) * step_ratio).round()[::-1].copy().astype(np.float32)
            ts += self.steps_offset
            return ts
        step_ratio = N_TRAIN / n
        ts = (np.arange(N_TRAIN, 0, -step_ratio)).round().copy().astype(np.float32)
        ts -= 1
        return ts

    def set_timesteps(self, n):
        self.num_inference_steps = n
        table = np.array(((1 - self.alphas_cumprod) / self.alphas_cumprod) ** 0.5)
        if self.kind in ("euler", "euler_a", "heun"):
            ts = self._euler_timesteps(n)
            sigmas = np.interp(ts, np.arange(0, len(table)), table)
            sigmas = np.concatenate([sigmas, [0.0]]).astype(np.float32)
            sigmas = torch.from_numpy(sigmas)
            ts = torch.from_numpy(ts)
            if self.kind == "heun":
                self.sigmas = torch.cat([sigmas[:1], sigmas[1:-1].repeat_interleave(2), sigmas[-1:]])
                self.timesteps = torch.cat([ts[:1], ts[1:].repeat_interleave(2)])
                self.prev_derivative = self.dt = self.sample = None
            else:
                self.sigmas, self.timesteps = sigmas, ts
            max_sigma = self.sigmas.max()
            self.init_noise_sigma = max_sigma if self.spacing in ("linspace", "trailing") else (max_sigma ** 2 + 1) ** 0.5
            self.plain_sigmas, self.plain_timesteps = sigmas, ts
        elif self.kind == "dpmpp_2m":
            last_timestep = N_TRAIN
            if self.spacing == "linspace":
                ts = np.linspace(0, last_timestep - 1, n + 1).round()[::-1][:-1].copy().astype(np.int64)
            elif self.spacing == "leading":
                step_ratio = last_timestep // (n + 1)
                ts = (np.arange(0, n + 1) * step_ratio).round()[::-1][:-1].copy().astype(np.int64)
                ts += self.steps_offset
            else:
                step_ratio = N_TRAIN / n
                ts = np.arange(last_timestep, 0, -step_ratio).round().copy().astype(np.int64)
                ts -= 1
            sigmas = np.interp(ts, np.arange(0, len(table)), table)
            sigmas = np.concatenate([sigmas, [0]]).astype(np.float32)
            self.sigmas = torch.from_numpy(sigmas)
            self.timesteps = torch.from_numpy(ts)
            self.model_outputs = [None, None]
            self.lower_order_nums = 0
            self.init_noise_sigma = 1.0
            self.plain_sigmas, self.plain_timesteps = self.sigmas, self.timesteps
        elif self.kind == "ddim":
            if self.spacing == "linspace":
                ts = np.linspace(0, N_TRAIN - 1, n).round()[::-1].copy().astype(np.int64)
            elif self.spacing == "leading":
                step_ratio = N_TRAIN // n
                ts = (np.arange(0, n) * step_ratio).round()[::-1].copy().astype(np.int64)
                ts += self.steps_offset
            else:
                step_ratio = N_TRAIN / n
                ts = np.round(np.arange(N_TRAIN, 0, -step_ratio)).astype(np.int64)
                ts -= 1
            self.timesteps = torch.from_numpy(ts)
            self.init_noise_sigma = 1.0
            self.plain_sigmas, self.plain_timesteps = None, self.timesteps
        else:  # lcm
            original_steps = 50
            k = N_TRAIN // original_steps
            origin = np.asarray(list(range(1, original_steps + 1))) * k - 1
            origin = origin[::-1].copy()
            idx = np.floor(np.linspace(0, len(origin), num=n, endpoint=False)).astype(np.int64)
            self.timesteps = torch.from_numpy(origin[idx]).to(dtype=torch.long)
            self.init_noise_sigma = 1.0
            self.plain_sigmas, self.plain_timesteps = None, self.timesteps
        self.step_index = None

    def set_begin_index(self, i):
        self.begin_index = i

    def _start(self):
        if self.step_index is None:
            self.step_index = self.begin_index if self.begin_index is not None else 0

    # -- scale_model_input
    def scale_model_input(self, sample):
        self._start()
        if self.kind in ("euler", "euler_a", "heun"):
            sigma = self.sigmas[self.step_index]
            return sample / ((sigma ** 2 + 1) ** 0.5)
        return sample

    def _x0_euler(self, model_output, sample, sigma):
        if self.v:
            return model_output * (-sigma / (sigma ** 2 + 1) ** 0.5) + (sample / (sigma ** 2 + 1))
        return sample - sigma * model_output

    @staticmethod
    def _alpha_sigma(sigma):
        alpha_t = 1 / ((sigma ** 2 + 1) ** 0.5)
        return alpha_t, sigma * alpha_t

    # -- step
    def step(self, model_output, timestep, sample, noise_fn):
        self._start()
        i = self.step_index
        num = self.num
        if self.kind == "euler":
            sigma = self.sigmas[i]
            sigma_hat = sigma * (0.0 + 1)
            x0 = self._x0_euler(model_output, sample, sigma_hat if not self.v else sigma)
            derivative = (sample - x0) / sigma_hat
            dt = self.sigmas[i + 1] - sigma_hat
            prev = sample + derivative * dt
        elif self.kind == "euler_a":
            sigma = self.sigmas[i]
            x0 = self._x0_euler(model_output, sample, sigma)
            sigma_from, sigma_to = self.sigmas[i], self.sigmas[i + 1]
            sigma_up = (sigma_to ** 2 * (sigma_from ** 2 - sigma_to ** 2) / sigma_from ** 2) ** 0.5
            sigma_down = (sigma_to ** 2 - sigma_up ** 2) ** 0.5
            derivative = (sample - x0) / sigma
            dt = sigma_down - sigma
            prev = sample + derivative * dt
            prev = prev + noise_fn() * sigma_up
        elif self.kind == "heun":
            first = self.dt is None
            if first:
                sigma, sigma_next = self.sigmas[i], self.sigmas[i + 1]
            else:
                sigma, sigma_next = self.sigmas[i - 1], self.sigmas[i]
            sigma_hat = sigma * (0 + 1)
            sigma_input = sigma_hat if first else sigma_next
            x0 = self._x0_euler(model_output, sample, sigma_input)
            if first:
                derivative = (sample - x0) / sigma_hat
                dt = sigma_next - sigma_hat
                self.prev_derivative, self.dt, self.sample = derivative, dt, sample
            else:
                derivative = (sample - x0) / sigma_next
                derivative = (self.prev_derivative + derivative) / 2
                dt, sample = self.dt, self.sample
                self.prev_derivative = self.dt = self.sample = None
            prev = sample + derivative * dt
        elif self.kind == "dpmpp_2m":
            lower_order_final = i == len(self.timesteps) - 1
            sigma = self.sigmas[i]
            alpha_t, sigma_t = self._alpha_sigma(sigma)
            if self.v:
                x0 = alpha_t * sample - sigma_t * model_output
            else:
                x0 = (sample - sigma_t * model_output) / alpha_t
            self.model_outputs[0] = self.model_outputs[1]
            self.model_outputs[1] = x0
            if self.lower_order_nums < 1 or lower_order_final:
                alpha_t, sigma_t = self._alpha_sigma(self.sigmas[i + 1])
                alpha_s, sigma_s = self._alpha_sigma(self.sigmas[i])
                lambda_t = num.log(alpha_t) - num.log(sigma_t)
                lambda_s = num.log(alpha_s) - num.log(sigma_s)
                h = lambda_t - lambda_s
                prev = (sigma_t / sigma_s) * sample - (alpha_t * (num.exp(-h) - 1.0)) * x0
            else:
                alpha_t, sigma_t = self._alpha_sigma(self.sigmas[i + 1])
                alpha_s0, sigma_s0 = self._alpha_sigma(self.sigmas[i])
                alpha_s1, sigma_s1 = self._alpha_sigma(self.sigmas[i - 1])
                lambda_t = num.log(alpha_t) - num.log(sigma_t)
                lambda_s0 = num.log(alpha_s0) - num.log(sigma_s0)
                lambda_s1 = num.log(alpha_s1) - num.log(sigma_s1)
                m0, m1 = self.model_outputs[-1], self.model_outputs[-2]
                h, h_0 = lambda_t - lambda_s0, lambda_s0 - lambda_s1
                r0 = h_0 / h
                D0, D1 = m0, (1.0 / r0) * (m0 - m1)
                prev = ((sigma_t / sigma_s0) * sample - (alpha_t * (num.exp(-h) - 1.0)) * D0
                        - 0.5 * (alpha_t * (num.exp(-h) - 1.0)) * D1)
            if self.lower_order_nums < 2:
                self.lower_order_nums += 1
        elif self.kind == "ddim":
            prev_timestep = timestep - N_TRAIN // self.num_inference_steps
            a_t = self.alphas_cumprod[timestep]
            a_prev = self.alphas_cumprod[prev_timestep] if prev_timestep >= 0 else self.final_alpha_cumprod
            b_t = 1 - a_t
            if self.v:
                x0 = (a_t ** 0.5) * sample - (b_t ** 0.5) * model_output
                eps = (a_t ** 0.5) * model_output + (b_t ** 0.5) * sample
            else:
                x0 = (sample - b_t ** 0.5 * model_output) / a_t ** 0.5
                eps = model_output
            b_prev = 1 - a_prev
            variance = (b_prev / b_t) * (1 - a_t / a_prev)
            std_dev_t = 0.0 * variance ** 0.5
            direction = (1 - a_prev - std_dev_t ** 2) ** 0.5 * eps
            prev = a_prev ** 0.5 * x0 + direction
        else:  # lcm
            prev_i = i + 1
            prev_timestep = self.timesteps[prev_i] if prev_i < len(self.timesteps) else timestep
            a_t = self.alphas_cumprod[timestep]
            a_prev = self.alphas_cumprod[prev_timestep] if prev_timestep >= 0 else self.final_alpha_cumprod
            b_t, b_prev = 1 - a_t, 1 - a_prev
            scaled = timestep * 10.0
            c_skip = 0.5 ** 2 / (scaled ** 2 + 0.5 ** 2)
            c_out = scaled / (scaled ** 2 + 0.5 ** 2) ** 0.5
            if self.v:
                x0 = a_t.sqrt() * sample - b_t.sqrt() * model_output
            else:
                x0 = (sample - b_t.sqrt() * model_output) / a_t.sqrt()
            denoised = c_out * x0 + c_skip * sample
            if i != self.num_inference_steps - 1:
                prev = a_prev.sqrt() * denoised + b_prev.sqrt() * noise_fn()
            else:
                prev = denoised
        self.step_index += 1
        return prev

    # -- add_noise (img2img)
    def add_noise(self, x0, noise, timestep):
        i = self.begin_index
        if self.kind in ("euler", "euler_a", "heun"):
            return x0 + noise * self.sigmas[i]
        if self.kind == "dpmpp_2m":
            alpha_t, sigma_t = self._alpha_sigma(self.sigmas[i])
            return alpha_t * x0 + sigma_t * noise
        a = self.alphas_cumprod[timestep]
        return a ** 0.5 * x0 + (1 - a) ** 0.5 * noise
