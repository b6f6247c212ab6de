#include "engine/image.hpp"

#include <cmath>

#include "engine/core/error.hpp"

namespace skingen::engine {

std::uint8_t unit_range_to_u8(float x) {
  // x / 2 is exact in fp32 (a power of two), so this is the same whether or
  // not the compiler fuses the multiply and add.
  float y = x / 2.0f + 0.5f;
  if (!(y >= 0.0f)) y = 0.0f;  // also NaN
  if (y > 1.0f) y = 1.0f;
  const float scaled = y * 255.0f;  // fp32, as numpy computes float32 * int
  return static_cast<std::uint8_t>(std::nearbyint(scaled));  // default rounding mode: half to even
}

Image8 image_from_tensor(const Tensor& images, std::int64_t index) {
  if (images.dtype() != DType::F32 || (images.ndim() != 4 && images.ndim() != 3))
    throw FormatError("image tensor: expected fp32 [N, H, W, C] or [H, W, C], got " + shape_str(images.shape()));
  const bool batched = images.ndim() == 4;
  const std::int64_t n = batched ? images.dim(0) : 1;
  const std::int64_t h = images.dim(-3), w = images.dim(-2), c = images.dim(-1);
  if (index < 0 || index >= n)
    throw FormatError("image tensor: index " + std::to_string(index) + " out of a batch of " + std::to_string(n));
  if (c != 1 && c != 3 && c != 4)
    throw FormatError("image tensor: expected 1, 3 or 4 channels (NHWC), got shape " + shape_str(images.shape()));
  if (h < 1 || w < 1 || h > kMaxImageSide || w > kMaxImageSide || h * w > kMaxImagePixels)
    throw FormatError("image tensor: size " + std::to_string(w) + "x" + std::to_string(h) + " is outside 1..65535 per side and 2^26 pixels");
  Image8 out(static_cast<int>(w), static_cast<int>(h), static_cast<int>(c));
  const float* src = images.f32_data() + index * h * w * c;
  for (std::size_t i = 0; i < out.pixels.size(); ++i) out.pixels[i] = unit_range_to_u8(src[i]);
  return out;
}

}  // namespace skingen::engine
