#pragma once
// 8-bit images as written to and read from PNG files, and the conversion from
// the VAE decoder's float output.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/tensor.hpp"

namespace skingen::engine {

// Interleaved, row-major, top row first: pixels[(y * width + x) * channels + c].
struct Image8 {
  int width = 0;
  int height = 0;
  int channels = 0;  // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  std::vector<std::uint8_t> pixels;

  Image8() = default;
  Image8(int w, int h, int c) : width(w), height(h), channels(c), pixels(static_cast<std::size_t>(w) * h * c) {}
  std::size_t pixel_count() const { return static_cast<std::size_t>(width) * height; }
  std::uint8_t* at(int x, int y) { return pixels.data() + (static_cast<std::size_t>(y) * width + x) * channels; }
  const std::uint8_t* at(int x, int y) const {
    return pixels.data() + (static_cast<std::size_t>(y) * width + x) * channels;
  }
};

// Largest image skingen reads or writes: 2^26 pixels (8192 x 8192) and 65535
// on a side. A PNG header may claim any size up to 2^31 - 1; refusing larger
// ones before decoding keeps a 100-byte file from asking for gigabytes.
constexpr std::int64_t kMaxImagePixels = std::int64_t{1} << 26;
constexpr std::int64_t kMaxImageSide = 65535;

// One value of an image in [-1, 1] to 8 bits exactly as diffusers does
// (src/diffusers/image_processor.py, VaeImageProcessor.denormalize then
// numpy_to_pil): y = clamp(x / 2 + 0.5, 0, 1) in fp32, then
// (y * 255).round().astype("uint8") — fp32 product, round half to even
// (numpy.round). NaN, which numpy would cast to an undefined value, gives 0.
// (A1111 differs: `255. * x` then astype(np.uint8) truncates, modules/processing.py.)
std::uint8_t unit_range_to_u8(float x);

// Image `index` of a batch [N, H, W, C] fp32 in [-1, 1] (NHWC, the VAE
// decoder's output; C = 1, 3 or 4), converted with unit_range_to_u8.
// [H, W, C] is accepted as a batch of one.
Image8 image_from_tensor(const Tensor& images, std::int64_t index = 0);

}  // namespace skingen::engine
