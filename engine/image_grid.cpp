#include "engine/image_grid.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace skingen::engine {

namespace {

void blit(Image8& dst, const Image8& src, int x0, int y0) {
  const std::size_t row = static_cast<std::size_t>(src.width) * src.channels;
  for (int y = 0; y < src.height; ++y) std::memcpy(dst.at(x0, y0 + y), src.at(0, y), row);
}

}  // namespace

Image8 repeat_image(const Image8& image, int nx, int ny) {
  if (nx < 1 || ny < 1) throw std::invalid_argument("repeat_image: counts must be at least 1");
  Image8 out(image.width * nx, image.height * ny, image.channels);
  for (int j = 0; j < ny; ++j)
    for (int i = 0; i < nx; ++i) blit(out, image, i * image.width, j * image.height);
  return out;
}

Image8 image_grid(std::span<const Image8> cells, int columns, int gap, std::uint8_t background) {
  if (cells.empty() || columns < 1 || gap < 0) throw std::invalid_argument("image_grid: no cells, or bad layout");
  const Image8& first = cells.front();
  for (std::size_t k = 0; k < cells.size(); ++k)
    if (cells[k].width != first.width || cells[k].height != first.height || cells[k].channels != first.channels)
      throw std::invalid_argument("image_grid: cell " + std::to_string(k) + " is " + std::to_string(cells[k].width) +
                                  "x" + std::to_string(cells[k].height) + " with " +
                                  std::to_string(cells[k].channels) + " channels, expected " +
                                  std::to_string(first.width) + "x" + std::to_string(first.height) + " with " +
                                  std::to_string(first.channels));
  const int cols = std::min<int>(columns, static_cast<int>(cells.size()));
  const int rows = static_cast<int>((cells.size() + columns - 1) / columns);
  Image8 out(gap + cols * (first.width + gap), gap + rows * (first.height + gap), first.channels);
  std::fill(out.pixels.begin(), out.pixels.end(), background);
  for (std::size_t k = 0; k < cells.size(); ++k) {
    const int c = static_cast<int>(k % columns), r = static_cast<int>(k / columns);
    blit(out, cells[k], gap + c * (first.width + gap), gap + r * (first.height + gap));
  }
  return out;
}

}  // namespace skingen::engine
