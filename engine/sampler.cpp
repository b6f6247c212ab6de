// Sampler front end: plan, buffers, txt2img / img2img set-up; the step loops
// live in sampler_kdiffusion.cpp and sampler_diffusers.cpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include "engine/sampler.hpp"

#include <algorithm>
#include <string>

#include "engine/core/error.hpp"
#include "engine/sampler_impl.hpp"

namespace skingen::engine {
namespace detail {

SamplerBuffers::SamplerBuffers(const Shape& shape)
    : x(Tensor::zeros(DType::F32, shape)),
      x_in(Tensor::zeros(DType::F32, shape)),
      out(Tensor::zeros(DType::F32, shape)),
      denoised(Tensor::zeros(DType::F32, shape)),
      deriv(Tensor::zeros(DType::F32, shape)),
      prev(Tensor::zeros(DType::F32, shape)),
      x2(Tensor::zeros(DType::F32, shape)),
      noise(Tensor::zeros(DType::F32, shape)) {}

void Run::begin_step() const {
  if (hooks.cancel && hooks.cancel->load(std::memory_order_relaxed)) throw Cancelled();
}

void Run::end_step(int done, int total) const {
  if (hooks.progress) hooks.progress(done, total);
}

void Run::draw_noise() const {
  if (!step_noise)
    throw UsageError(std::string("sampler ") + std::string(sampler_name(plan.sampler)) +
                     " adds noise at every step and needs a noise source");
  step_noise->fill(buf.noise);
}

void Run::call_model(float t) const { model(buf.x_in, t, buf.out); }

}  // namespace detail

struct Sampler::Impl {
  Impl(SamplingPlan p, Prediction pred, Shape s) : plan(std::move(p)), prediction(pred), shape(std::move(s)), buf(shape) {}
  SamplingPlan plan;
  Prediction prediction;
  Shape shape;
  detail::SamplerBuffers buf;

  void check_input(const Tensor& t, const char* what) const {
    if (t.dtype() != DType::F32 || t.shape() != shape)
      throw UsageError(std::string("sampler: ") + what + " must be F32 " + shape_str(shape) + ", got " +
                       std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape()));
  }
  // The σ index (σ schedules) or timestep index (spacings) img2img starts at.
  int img2img_start(double strength) const {
    if (!(strength >= 0.0 && strength <= 1.0))
      throw UsageError("--strength must be between 0 and 1, got " + std::to_string(strength));
    const int n = plan.requested_steps;
    if (!is_timestep_spacing(plan.schedule)) {
      const int t_enc = static_cast<int>(std::min(strength, 0.999) * n);  // A1111 setup_img2img_steps
      return n - t_enc - 1;
    }
    const int init = std::min(static_cast<int>(n * strength), n);  // diffusers get_timesteps
    if (init == 0)
      throw UsageError("--strength " + std::to_string(strength) + " with " + std::to_string(n) +
                       " steps leaves no step to run (diffusers runs floor(steps·strength) steps)");
    return std::max(n - init, 0);
  }
  detail::Run run(const ModelFn& model, const SamplerHooks& hooks, BatchNoise* step_noise) {
    return detail::Run{plan, prediction, model, hooks, step_noise, buf, static_cast<std::size_t>(buf.x.numel())};
  }
  Tensor finish() const { return buf.x.clone(); }
};

Sampler::Sampler(SamplerKind sampler, ScheduleKind schedule, int steps, Prediction prediction, Shape shape) {
  if (shape.size() != 4 || shape_numel(shape) == 0)
    throw UsageError("sampler: latent shape must be [B, C, H, W] and non-empty, got " + shape_str(shape));
  impl_ = std::make_unique<Impl>(make_plan(sampler, schedule, steps), prediction, std::move(shape));
}
Sampler::~Sampler() = default;
Sampler::Sampler(Sampler&&) noexcept = default;
Sampler& Sampler::operator=(Sampler&&) noexcept = default;

const SamplingPlan& Sampler::plan() const { return impl_->plan; }

Tensor Sampler::txt2img(const Tensor& noise, BatchNoise* step_noise, const ModelFn& model, const SamplerHooks& hooks) {
  impl_->check_input(noise, "initial noise");
  const auto r = impl_->run(model, hooks, step_noise);
  const float* z = noise.f32_data();
  float* x = impl_->buf.x.f32_mut();
  const float scale = impl_->plan.init_noise_sigma;  // k-diffusion: σ_0; diffusers: init_noise_sigma
  for (std::size_t i = 0; i < r.n; ++i) x[i] = z[i] * scale;
  if (is_timestep_spacing(impl_->plan.schedule)) detail::run_diffusers(r, 0);
  else detail::run_kdiffusion(r, 0);
  return impl_->finish();
}

Tensor Sampler::img2img(const Tensor& x0, const Tensor& noise, double strength, BatchNoise* step_noise,
                        const ModelFn& model, const SamplerHooks& hooks) {
  impl_->check_input(x0, "init latent");
  impl_->check_input(noise, "noise");
  const int start = impl_->img2img_start(strength);
  const auto r = impl_->run(model, hooks, step_noise);
  const float* z = noise.f32_data();
  const float* a = x0.f32_data();
  float* x = impl_->buf.x.f32_mut();
  std::copy(a, a + r.n, x);
  if (is_timestep_spacing(impl_->plan.schedule)) {
    detail::diffusers_add_noise(r, start, z);
    detail::run_diffusers(r, start);
  } else {
    const float sigma = impl_->plan.sigmas[static_cast<std::size_t>(start)];
    for (std::size_t i = 0; i < r.n; ++i) x[i] = x[i] + z[i] * sigma;  // A1111: x + noise * sigma_sched[0]
    detail::run_kdiffusion(r, start);
  }
  return impl_->finish();
}

int Sampler::img2img_steps(double strength) const { return impl_->plan.steps - impl_->img2img_start(strength); }

}  // namespace skingen::engine
