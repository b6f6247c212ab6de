#include "engine/kohya_metadata.hpp"

#include <cctype>

namespace skingen::engine {
namespace {

std::optional<std::string> get(const std::map<std::string, std::string>& m, const char* key) {
  const auto it = m.find(key);
  if (it == m.end() || it->second == "None" || it->second.empty()) return std::nullopt;
  return it->second;
}

// Digits at the end of `s` after `marker`, at least `min_digits` of them.
std::optional<long long> trailing_number(std::string_view& s, std::string_view marker, std::size_t min_digits) {
  std::size_t d = 0;
  while (d < s.size() && std::isdigit(static_cast<unsigned char>(s[s.size() - 1 - d]))) ++d;
  if (d < min_digits || d > 12 || s.size() < d + marker.size() + 1) return std::nullopt;
  if (s.substr(s.size() - d - marker.size(), marker.size()) != marker) return std::nullopt;
  const long long v = std::stoll(std::string(s.substr(s.size() - d)));
  s = s.substr(0, s.size() - d - marker.size());
  return v;
}

}  // namespace

bool KohyaTraining::any() const {
  return output_name || epoch || steps || base_model || sd_model_name || network_module || network_dim ||
         network_alpha || network_args || clip_skip || resolution;
}

KohyaTraining kohya_training(const std::map<std::string, std::string>& m) {
  KohyaTraining t;
  t.output_name = get(m, "ss_output_name");
  t.epoch = get(m, "ss_epoch");
  t.steps = get(m, "ss_steps");
  t.base_model = get(m, "ss_base_model_version");
  t.sd_model_name = get(m, "ss_sd_model_name");
  t.network_module = get(m, "ss_network_module");
  t.network_dim = get(m, "ss_network_dim");
  t.network_alpha = get(m, "ss_network_alpha");
  t.network_args = get(m, "ss_network_args");
  t.clip_skip = get(m, "ss_clip_skip");
  t.resolution = get(m, "ss_resolution");
  return t;
}

StemName parse_training_stem(std::string_view stem) {
  StemName r;
  std::string_view s = stem;
  if (auto step = trailing_number(s, "-step", 8)) r.step = step;
  else if (auto epoch = trailing_number(s, "-", 6)) r.epoch = epoch;
  r.name = std::string(s);
  return r;
}

}  // namespace skingen::engine
