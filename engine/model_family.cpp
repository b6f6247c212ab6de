#include "engine/model_family.hpp"

namespace skingen::engine {

std::string_view family_id(ModelFamily f) {
  switch (f) {
    case ModelFamily::SD1: return "sd1";
    case ModelFamily::SD2: return "sd2";
    case ModelFamily::SDXL: return "sdxl";
    case ModelFamily::Unknown: break;
  }
  return "unknown";
}

std::string_view family_name(ModelFamily f) {
  switch (f) {
    case ModelFamily::SD1: return "SD 1.x";
    case ModelFamily::SD2: return "SD 2.x";
    case ModelFamily::SDXL: return "SDXL";
    case ModelFamily::Unknown: break;
  }
  return "unknown";
}

ModelFamily family_from_context_dim(std::int64_t dim) {
  switch (dim) {
    case 768: return ModelFamily::SD1;
    case 1024: return ModelFamily::SD2;
    case 2048: return ModelFamily::SDXL;
    default: return ModelFamily::Unknown;
  }
}

FamilyRule sd_family(const FamilyFacts& f) {
  const std::string ctx = f.context_dim ? std::to_string(*f.context_dim) : std::string("?");
  if (f.context_dim == 2048) return {ModelFamily::SDXL, true, "UNet cross-attention context width 2048 (attn2.to_k)"};
  if (f.openclip_text)
    return {ModelFamily::SD2, true, "OpenCLIP text encoder (cond_stage_model.model.*), UNet context width " + ctx};
  if (f.context_dim == 1024) return {ModelFamily::SD2, true, "UNet cross-attention context width 1024 (attn2.to_k)"};
  if (f.linear_proj == true)
    return {ModelFamily::SD2, true, "linear UNet proj_in (SD 2.x architecture), context width " + ctx};
  if (f.context_dim == 768) return {ModelFamily::SD1, false, "UNet cross-attention context width 768 (attn2.to_k)"};
  return {ModelFamily::Unknown, false,
          "UNet cross-attention context width " + ctx + " (attn2.to_k)" +
              (f.linear_proj == false ? ", 1x1-conv proj_in (SD 1.x architecture)" : "")};
}

ModelFamily family_from_text_width(std::int64_t width) {
  switch (width) {
    case 768: return ModelFamily::SD1;
    case 1024: return ModelFamily::SD2;
    default: return ModelFamily::Unknown;
  }
}

}  // namespace skingen::engine
