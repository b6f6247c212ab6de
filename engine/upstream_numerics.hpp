#pragma once
// The few PyTorch and NumPy numerics that noise schedules are built from,
// reproduced operation for operation so that schedules agree with upstream
// to the last bit where upstream's result is well defined.
//
// torch.linspace: PyTorch's CPU kernel since 2.0 (aten/src/ATen/native/cpu/
// RangeFactoriesKernel.cpp, scalar since pytorch/pytorch#89048): step = (end − start) / (n − 1) in the tensor's type;
// i < n/2 → start + step·i, else end − step·(n − 1 − i). x86-64 builds compile
// it for AVX2 with GCC's default contraction, so each element is one fused
// multiply-add (checked on PyTorch 1.13, whose scalar tail already behaves
// so). PyTorch 1.13 itself vectorised the first 16·⌊n/16⌋ elements; its
// tables differ from these in the last bit of some entries.
//
// Transcendental functions (log, exp, expm1, pow on float32): PyTorch's
// result depends on the build (MKL VML in official x86 wheels, SLEEF u10 in
// builds without MKL, libm in the scalar tail; SLEEF differs from the
// correctly rounded value in ~9 % of exp and ~1 % of log results). We use the
// correctly rounded float32 value (evaluated in double), the one answer that
// does not depend on the build.
//
// NumPy (linspace, arange, round, interp) computes in double without fused
// operations (its baseline x86-64 build has no FMA); those we reproduce
// exactly.
#include <cstdint>
#include <vector>

namespace skingen::engine::upstream {

std::vector<float> torch_linspace_f32(double start, double end, std::int64_t n);
std::vector<double> torch_linspace_f64(double start, double end, std::int64_t n);

// Correctly rounded float32 results.
float log_f32(float x);
float exp_f32(float x);
float expm1_f32(float x);
float pow_f32(float x, double e);

// numpy.linspace(start, stop, num, endpoint) in float64.
std::vector<double> np_linspace(double start, double stop, std::int64_t num, bool endpoint = true);
// numpy.arange(start, stop, step) in float64 (length ⌈(stop − start)/step⌉,
// element i = start + i·((start + step) − start)).
std::vector<double> np_arange(double start, double stop, double step);
// numpy.round / rint: half to even.
double np_round(double x);
// numpy.interp(x, arange(len(fp)), fp).
double np_interp_unit(double x, const std::vector<double>& fp);

}  // namespace skingen::engine::upstream
