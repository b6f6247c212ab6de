// The coverage report of LoraPatcher: one line per LoRA, e.g.
//   skin_4-000015: 192/192 modules applied (UNet 128, text encoder 64), rank 16, alpha 8 (scale 0.5 × 0.8); …
// then the keys that matched nothing, with the closest real key as a hint.
#include <cstdio>
#include <map>
#include <set>

#include "engine/lora_patcher.hpp"

namespace skingen::engine {
namespace {

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::string range(const std::set<double>& v) {
  if (v.empty()) return "";
  if (v.size() == 1) return num(*v.begin());
  return num(*v.begin()) + "–" + num(*v.rbegin());
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::string naming_word(LoraNaming n) {
  switch (n) {
    case LoraNaming::Kohya: return "kohya";
    case LoraNaming::Diffusers: return "diffusers";
    case LoraNaming::Peft: return "PEFT";
  }
  return "";
}

std::string kind_word(const LoraModule& m) {
  const std::string cp = m.tucker ? " CP" : "";
  if (m.kind != LoraKind::LoRA) return std::string(lora_kind_name(m.kind)) + cp;
  if (m.delta_shape.size() == 4 && (m.delta_shape[2] > 1 || m.delta_shape[3] > 1)) return "LoCon" + cp;
  return "LoRA";
}

}  // namespace

std::vector<std::string> LoraPatcher::report() const {
  std::vector<std::string> lines;
  const auto& comps = model_.components;
  for (const auto& l : loras_) {
    std::map<int, int> applied_by_comp, not_loaded_by_comp;
    int applied = 0, unused = 0, unmatched = 0;
    std::set<double> ranks, alphas, scales, multipliers;
    bool alpha_missing = false, alpha_zero = false, scale_tensor = false, alpha_from_metadata = false;
    std::set<std::string> kinds, namings, dora_axes;
    double seconds = 0, flops = 0;
    std::vector<std::string> unmatched_lines;
    std::map<int, double> mult_by_comp;
    for (std::size_t i = 0; i < l.modules.size(); ++i) {
      const Module& st = l.modules[i];
      const LoraModule& m = l.file.modules[i];
      const auto& res = st.resolution;
      seconds += st.seconds;
      flops += st.flops;
      if (res.match == LoraMatch::Unmatched) {
        ++unmatched;
        unmatched_lines.push_back(m.key + (st.hint.empty() ? "" : "  → closest real key: " + st.hint));
        continue;
      }
      if (res.match == LoraMatch::NotLoaded) {
        ++not_loaded_by_comp[res.component];
        continue;
      }
      if (!st.applied()) {
        ++unused;
        continue;
      }
      ++applied;
      ++applied_by_comp[res.component];
      const std::string& comp = comps[static_cast<std::size_t>(res.component)].name;
      mult_by_comp[res.component] = l.request.multiplier(comp);
      if (m.rank > 0) ranks.insert(m.rank);
      if (m.scale_tensor) scale_tensor = true;
      else if (m.rank > 0 && !m.alpha) alpha_missing = true;
      else if (m.rank > 0 && *m.alpha == 0) alpha_zero = true;
      else if (m.rank > 0) alphas.insert(*m.alpha);
      if (m.alpha_source == "lora_adapter_metadata") alpha_from_metadata = true;
      scales.insert(m.base_scale());
      kinds.insert(kind_word(m));
      namings.insert(naming_word(m.naming));
      if (!st.dora_axis.empty()) dora_axes.insert(st.dora_axis);
    }
    for (const auto& [t, why] : l.unrecognized) {
      unmatched_lines.push_back(t + "  (" + why + ")");
      ++unmatched;
    }

    std::string line = l.file.name + ": " + std::to_string(applied) + "/" + std::to_string(l.modules.size()) +
                       " modules applied (";
    std::vector<std::string> per;
    for (const auto& [c, n] : applied_by_comp) per.push_back(comps[static_cast<std::size_t>(c)].display + " " + std::to_string(n));
    line += join(per, ", ") + ")";
    for (const auto& [c, n] : not_loaded_by_comp)
      line += "; " + std::to_string(n) + " not applied (" +
              (c >= 0 ? comps[static_cast<std::size_t>(c)].display : std::string("model part")) + " not loaded)";
    if (unused) line += "; " + std::to_string(unused) + " not applied (weight not used by the model)";
    if (unmatched) line += "; " + std::to_string(unmatched) + " unmatched";

    if (!ranks.empty()) line += ", rank " + range(ranks);
    std::vector<std::string> alpha_parts;
    if (!alphas.empty()) alpha_parts.push_back("alpha " + range(alphas));
    if (alpha_zero) alpha_parts.push_back("alpha 0 (= rank)");
    if (alpha_missing) alpha_parts.push_back("no alpha (= rank)");
    if (scale_tensor) alpha_parts.push_back("scale tensors");
    if (!alpha_parts.empty()) line += ", " + join(alpha_parts, " / ") + (alpha_from_metadata ? " from metadata" : "");

    for (const auto& [c, v] : mult_by_comp) multipliers.insert(v);
    std::string mult;
    if (multipliers.size() <= 1) {
      mult = " × " + num(multipliers.empty() ? 1.0 : *multipliers.begin());
    } else {
      std::vector<std::string> mm;
      for (const auto& [c, v] : mult_by_comp) mm.push_back("× " + num(v) + " " + comps[static_cast<std::size_t>(c)].display);
      mult = " " + join(mm, ", ");
    }
    line += " (scale " + range(scales) + mult + ")";

    std::vector<std::string> what;
    what.push_back(join(std::vector<std::string>(namings.begin(), namings.end()), "/") + " " +
                   join(std::vector<std::string>(kinds.begin(), kinds.end()), " + "));
    if (!dora_axes.empty())
      what.push_back("DoRA on the " + join(std::vector<std::string>(dora_axes.begin(), dora_axes.end()), " and ") +
                     " axis, at multiplier m: " + kDoraConvention);
    line += "; " + join(what, "; ");
    char speed[128];
    std::snprintf(speed, sizeof speed, "; merged in %.3f s, %.3g GFLOP at %.3g GFLOP/s", seconds, flops / 1e9,
                  seconds > 0 ? flops / seconds / 1e9 : 0.0);
    line += speed;
    lines.push_back(line);

    const std::size_t shown = options_.verbose ? unmatched_lines.size() : std::min(unmatched_lines.size(), kLoraUnmatchedListed);
    for (std::size_t i = 0; i < shown; ++i) lines.push_back("  unmatched: " + unmatched_lines[i]);
    if (shown < unmatched_lines.size())
      lines.push_back("  … " + std::to_string(unmatched_lines.size() - shown) + " more unmatched (--verbose lists all)");
  }
  return lines;
}

}  // namespace skingen::engine
