#pragma once
// Stable Diffusion families, told apart by key names and shapes (never by
// file names): the width of the cross-attention context (attn2.to_k input)
// is 768 for SD 1.x (CLIP ViT-L/14), 1024 for SD 2.x (OpenCLIP ViT-H), 2048
// for SDXL (CLIP-L + OpenCLIP bigG concatenated) — CompVis configs
// v1-inference.yaml / v2-inference.yaml, Stability-AI sd_xl_base.yaml.
#include <cstdint>
#include <string_view>

namespace skingen::engine {

enum class ModelFamily { Unknown, SD1, SD2, SDXL };

// "sd1", "sd2", "sdxl", "unknown": the JSON value.
std::string_view family_id(ModelFamily f);
// "SD 1.x", "SD 2.x", "SDXL", "unknown": for text output.
std::string_view family_name(ModelFamily f);
// From the cross-attention context width; Unknown for any other width.
ModelFamily family_from_context_dim(std::int64_t dim);
// From a text encoder's hidden width in HF CLIPTextModel form (768 CLIP-L, 1024 OpenCLIP-H).
ModelFamily family_from_text_width(std::int64_t width);

}  // namespace skingen::engine
