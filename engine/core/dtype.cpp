#include "engine/core/dtype.hpp"

#include <immintrin.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace skingen::engine {
namespace {

struct DTypeInfo {
  DType type;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<DTypeInfo, 15> kInfo{{
    {DType::Bool, "BOOL", 1}, {DType::U8, "U8", 1},     {DType::I8, "I8", 1},
    {DType::I16, "I16", 2},   {DType::U16, "U16", 2},   {DType::I32, "I32", 4},
    {DType::U32, "U32", 4},   {DType::I64, "I64", 8},   {DType::U64, "U64", 8},
    {DType::F16, "F16", 2},   {DType::BF16, "BF16", 2}, {DType::F32, "F32", 4},
    {DType::F64, "F64", 8},   {DType::F8_E4M3, "F8_E4M3", 1},
    {DType::F8_E5M2, "F8_E5M2", 1},
}};

const DTypeInfo& info(DType t) { return kInfo[static_cast<std::size_t>(t)]; }

template <class T>
T load(const void* p, std::size_t i) {
  T v;
  std::memcpy(&v, static_cast<const char*>(p) + i * sizeof(T), sizeof(T));
  return v;
}

// float8 e4m3fn (no infinities, 0x7f / 0xff are NaN), bias 7.
float e4m3_to_float(std::uint8_t v) {
  const bool neg = v & 0x80;
  const int exp = (v >> 3) & 0xf;
  const int man = v & 0x7;
  float r;
  if (exp == 0xf && man == 0x7) {
    r = std::numeric_limits<float>::quiet_NaN();
  } else if (exp == 0) {
    r = std::ldexp(static_cast<float>(man), -9);  // subnormal: man/8 * 2^-6
  } else {
    r = std::ldexp(1.0f + man / 8.0f, exp - 7);
  }
  return neg ? -r : r;
}

// float8 e5m2 is the upper byte of an IEEE half.
float e5m2_to_float(std::uint8_t v) { return half_to_float(static_cast<std::uint16_t>(v) << 8); }

void f16_to_f32(const void* in, float* out, std::size_t n) {
  const auto* src = static_cast<const std::uint16_t*>(in);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) out[i] = half_to_float(load<std::uint16_t>(in, i));
}

void f32_to_f16(const float* in, void* out, std::size_t n) {
  auto* dst = static_cast<std::uint16_t*>(out);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
  for (; i < n; ++i) {
    const std::uint16_t h = float_to_half(in[i]);
    std::memcpy(dst + i, &h, 2);
  }
}

}  // namespace

std::size_t dtype_size(DType t) { return info(t).size; }
std::string_view dtype_name(DType t) { return info(t).name; }

std::optional<DType> parse_dtype(std::string_view s) {
  for (const auto& i : kInfo)
    if (i.name == s) return i.type;
  return std::nullopt;
}

bool is_float_dtype(DType t) {
  switch (t) {
    case DType::F16: case DType::BF16: case DType::F32: case DType::F64:
    case DType::F8_E4M3: case DType::F8_E5M2:
      return true;
    default:
      return false;
  }
}

float half_to_float(std::uint16_t h) {
  return _cvtsh_ss(h);
}

std::uint16_t float_to_half(float f) {
  return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}

float bf16_to_float(std::uint16_t b) {
  const std::uint32_t u = static_cast<std::uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::uint16_t float_to_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40);  // quiet NaN
  const std::uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>((u + rounding) >> 16);
}

void convert_to_f32(DType src, const void* in, float* out, std::size_t n) {
  switch (src) {
    case DType::F32:
      std::memcpy(out, in, n * 4);
      return;
    case DType::F16:
      f16_to_f32(in, out, n);
      return;
    case DType::BF16:
      for (std::size_t i = 0; i < n; ++i) out[i] = bf16_to_float(load<std::uint16_t>(in, i));
      return;
    case DType::F64:
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load<double>(in, i));
      return;
    case DType::F8_E4M3:
      for (std::size_t i = 0; i < n; ++i) out[i] = e4m3_to_float(load<std::uint8_t>(in, i));
      return;
    case DType::F8_E5M2:
      for (std::size_t i = 0; i < n; ++i) out[i] = e5m2_to_float(load<std::uint8_t>(in, i));
      return;
    case DType::Bool: case DType::U8:
      for (std::size_t i = 0; i < n; ++i) out[i] = load<std::uint8_t>(in, i);
      return;
    case DType::I8:
      for (std::size_t i = 0; i < n; ++i) out[i] = load<std::int8_t>(in, i);
      return;
    case DType::I16:
      for (std::size_t i = 0; i < n; ++i) out[i] = load<std::int16_t>(in, i);
      return;
    case DType::U16:
      for (std::size_t i = 0; i < n; ++i) out[i] = load<std::uint16_t>(in, i);
      return;
    case DType::I32:
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load<std::int32_t>(in, i));
      return;
    case DType::U32:
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load<std::uint32_t>(in, i));
      return;
    case DType::I64:
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load<std::int64_t>(in, i));
      return;
    case DType::U64:
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load<std::uint64_t>(in, i));
      return;
  }
}

void convert_from_f32(DType dst, const float* in, void* out, std::size_t n) {
  switch (dst) {
    case DType::F32:
      std::memcpy(out, in, n * 4);
      return;
    case DType::F16:
      f32_to_f16(in, out, n);
      return;
    case DType::BF16:
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint16_t b = float_to_bf16(in[i]);
        std::memcpy(static_cast<char*>(out) + 2 * i, &b, 2);
      }
      return;
    case DType::F64:
      for (std::size_t i = 0; i < n; ++i) {
        const double d = in[i];
        std::memcpy(static_cast<char*>(out) + 8 * i, &d, 8);
      }
      return;
    default:
      throw std::invalid_argument("convert_from_f32: cannot convert fp32 to " +
                                  std::string(dtype_name(dst)));
  }
}

}  // namespace skingen::engine
