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

ModelFamily family_from_text_width(std::int64_t width) {
  switch (width) {
    case 768: return ModelFamily::SD1;
    case 1024: return ModelFamily::SD2;
    default: return ModelFamily::Unknown;
  }
}

}  // namespace skingen::engine
