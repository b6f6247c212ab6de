#pragma once
// Element types of safetensors files (huggingface/safetensors `Dtype`) and
// conversions between the floating-point ones and fp32, the compute type.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace skingen::engine {

enum class DType : std::uint8_t {
  Bool, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64, F8_E4M3, F8_E5M2
};

std::size_t dtype_size(DType t);
std::string_view dtype_name(DType t);                 // "F16", as written in headers
std::optional<DType> parse_dtype(std::string_view s);  // inverse of dtype_name
bool is_float_dtype(DType t);                          // F16, BF16, F32, F64, F8_*

// Converts n elements of type `src` (F16, BF16, F32, F64, or any integer type)
// to fp32. `in` may be unaligned (a view into a mapped file). F16 goes through
// F16C, eight values per instruction.
void convert_to_f32(DType src, const void* in, float* out, std::size_t n);

// Converts n fp32 values to `dst` (F16, BF16, F32, F64) with round-to-nearest-even.
void convert_from_f32(DType dst, const float* in, void* out, std::size_t n);

float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);     // round to nearest even, as torch's .half()
float bf16_to_float(std::uint16_t b);
std::uint16_t float_to_bf16(float f);     // round to nearest even, as torch's .bfloat16()

}  // namespace skingen::engine
