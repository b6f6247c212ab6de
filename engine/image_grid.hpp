#pragma once
// Contact sheets of textures: a seamless texture is best judged repeated, so
// the demo grid shows every cell tiled (a seam shows up as a cross in the cell).
#include <cstdint>
#include <span>

#include "engine/image.hpp"

namespace skingen::engine {

// The image repeated nx times across and ny times down.
Image8 repeat_image(const Image8& image, int nx, int ny);

// Cells laid out row by row, `columns` per row, `gap` background pixels
// between cells and around the border. All cells must have the same size and
// channel count (throws std::invalid_argument otherwise).
Image8 image_grid(std::span<const Image8> cells, int columns, int gap, std::uint8_t background);

}  // namespace skingen::engine
