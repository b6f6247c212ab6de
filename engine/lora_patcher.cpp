#include "engine/lora_patcher.hpp"

#include <chrono>
#include <cmath>

#include "engine/core/error.hpp"

namespace skingen::engine {
namespace {

std::string plan_key(const std::string& component, const std::string& weight) { return component + "/" + weight; }

std::string list(const std::vector<std::string>& items, std::size_t max) {
  std::string s;
  for (std::size_t i = 0; i < items.size() && i < max; ++i) s += (i ? "; " : "") + items[i];
  if (items.size() > max) s += "; … (" + std::to_string(items.size()) + " in all)";
  return s;
}

// Σ (a − b)², or Σ a² without b.
double sq_diff(const Tensor& a, const Tensor* b) {
  const float* x = a.f32_data();
  const float* y = b ? b->f32_data() : nullptr;
  const std::int64_t n = a.numel();
  double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static) if (n >= (std::int64_t{1} << 20))
  for (std::int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - (y ? y[i] : 0.0f);
    s += d * d;
  }
  return s;
}

const Tensor& bias_delta(const LoraModule& m) {
  return m.get(m.has(LoraRole::DiffB) ? LoraRole::DiffB : LoraRole::UpBias);
}

}  // namespace

LoraPatcher::LoraPatcher(ops::Context& ctx, LoraModelTargets model, std::vector<LoraRequest> requests,
                         const LoraOptions& options)
    : model_(std::move(model)), index_(model_), options_(options), gemm_(ctx) {
  for (auto& r : requests) {
    Lora l;
    l.file = LoraFile::open(r.path);
    l.request = std::move(r);
    resolve(l);
    loras_.push_back(std::move(l));
  }
  for (std::size_t li = 0; li < loras_.size(); ++li) {
    const auto& l = loras_[li];
    for (std::size_t mi = 0; mi < l.modules.size(); ++mi) {
      const auto& res = l.modules[mi].resolution;
      if (res.match != LoraMatch::Matched) continue;
      const auto& comp = model_.components[static_cast<std::size_t>(res.component)];
      const auto& target = comp.targets[static_cast<std::size_t>(res.target)];
      const auto& m = l.file.modules[mi];
      const int lora = static_cast<int>(li), module = static_cast<int>(mi);
      if (m.has_weight_delta()) plan_[plan_key(comp.name, target.canonical + ".weight")].push_back({lora, module, false});
      if (m.has_bias_delta()) plan_[plan_key(comp.name, target.canonical + ".bias")].push_back({lora, module, true});
    }
  }
}

void LoraPatcher::resolve(Lora& l) {
  const std::string where = l.file.path.string();
  const auto& comps = model_.components;
  l.modules.resize(l.file.modules.size());
  std::vector<std::string> foreign, mismatched, unmatched;
  std::size_t matched = 0, not_loaded = 0;
  for (std::size_t i = 0; i < l.file.modules.size(); ++i) {
    const LoraModule& m = l.file.modules[i];
    Module& st = l.modules[i];
    st.resolution = index_.resolve(m.key);
    const auto& res = st.resolution;
    if (res.match == LoraMatch::Foreign) {
      foreign.push_back(m.key + " (" + res.reason + ")");
      continue;
    }
    if (res.match == LoraMatch::Unmatched) {
      unmatched.push_back(m.key);
      continue;
    }
    if (res.target < 0) {  // a component the checkpoint does not hold: classified by prefix only
      ++not_loaded;
      continue;
    }
    const auto& comp = comps[static_cast<std::size_t>(res.component)];
    const auto& target = comp.targets[static_cast<std::size_t>(res.target)];
    std::string problem;
    if (m.has_weight_delta() && !lora_delta_fits(m, target.shape)) {
      problem = std::string(lora_kind_name(m.kind)) + " ΔW " + shape_str(m.delta_shape) + " does not fit " +
                comp.display + " weight " + target.canonical + " " + shape_str(target.shape);
      if (comp.explain_mismatch) {
        const std::string why = comp.explain_mismatch(target, m.delta_shape);
        if (!why.empty()) problem += ": " + why;
      }
    } else if (m.has_bias_delta() && (!target.has_bias || bias_delta(m).numel() != target.shape[0])) {
      problem = "bias delta does not fit " + comp.display + " " + target.canonical +
                (target.has_bias ? " (output size " + std::to_string(target.shape[0]) + ")" : " (it has no bias)");
    } else if (m.dora() && !dora_axis(m, target.shape)) {
      problem = "dora_scale " + shape_str(m.get(LoraRole::DoraScale).shape()) + " fits neither axis of " +
                target.canonical + " " + shape_str(target.shape);
    }
    if (!problem.empty()) {
      mismatched.push_back(m.key + ": " + problem);
      continue;
    }
    st.parts = int(m.has_weight_delta()) + int(m.has_bias_delta());
    if (m.dora()) st.dora_axis = *dora_axis(m, target.shape) == DoraAxis::Output ? "output" : "input";
    if (res.match == LoraMatch::Matched) ++matched;
    else ++not_loaded;
  }
  // Modules that will not be merged keep no fp32 copies.
  for (std::size_t i = 0; i < l.file.modules.size(); ++i)
    if (l.modules[i].resolution.match != LoraMatch::Matched || l.modules[i].parts == 0) l.file.modules[i].release();
  for (const auto& t : l.file.unrecognized) {
    l.unrecognized.push_back({t, "not a tensor of any supported LoRA format"});
    unmatched.push_back(t + " (not a tensor of any supported LoRA format)");
  }

  // The closest real key for the unmatched keys that get listed (in the error or the report).
  const std::size_t listed = options_.verbose || options_.strict ? unmatched.size() : kLoraUnmatchedListed;
  for (std::size_t i = 0, shown = 0; i < l.modules.size() && shown < listed; ++i) {
    if (l.modules[i].resolution.match != LoraMatch::Unmatched) continue;
    l.modules[i].hint = index_.closest(l.file.modules[i].key);
    if (!l.modules[i].hint.empty()) unmatched[shown] += " (closest: " + l.modules[i].hint + ")";
    ++shown;
  }
  const std::string base = l.file.base_model().empty() ? "" : " (its metadata says ss_base_model_version=" +
                                                                   l.file.base_model() + ")";
  if (!foreign.empty())
    throw FormatError(where + ": this LoRA is for another model family" + base + ", not " + model_.model + ": " +
                      std::to_string(foreign.size()) + " module(s) such as " + list(foreign, 2));
  if (!mismatched.empty())
    throw FormatError(where + ": " + std::to_string(mismatched.size()) + " module(s) do not fit this " +
                      model_.model + " model" + base + ": " + list(mismatched, 3));
  if (matched == 0) {
    std::string why = std::to_string(l.file.modules.size()) + " module(s)";
    if (not_loaded) why += ", " + std::to_string(not_loaded) + " of them for a model part that is not loaded";
    throw FormatError(where + ": no LoRA module applies to this " + model_.model + " model (" + why + ")" + base +
                      (unmatched.empty() ? "" : "; unmatched: " + list(unmatched, kLoraUnmatchedListed)));
  }
  if (options_.strict && !unmatched.empty())
    throw FormatError(where + ": " + std::to_string(unmatched.size()) +
                      " key(s) match nothing in the model (--lora-strict): " +
                      list(unmatched, options_.verbose ? unmatched.size() : kLoraUnmatchedListed));
}

void LoraPatcher::apply(const Entry& e, const std::string& component, const Tensor& w0, double w0_norm,
                        Tensor& weight) {
  Lora& l = loras_[static_cast<std::size_t>(e.lora)];
  LoraModule& m = l.file.modules[static_cast<std::size_t>(e.module)];
  Module& st = l.modules[static_cast<std::size_t>(e.module)];
  const Tensor before = options_.record_norms ? weight.clone() : Tensor();  // not part of the merge timing
  const auto t0 = std::chrono::steady_clock::now();
  const double f0 = gemm_.flops();
  const double mult = l.request.multiplier(component);
  const auto s = static_cast<float>(mult * m.base_scale());
  if (e.bias) {
    if (weight.numel() != bias_delta(m).numel())
      throw FormatError(l.file.path.string() + ": LoRA module '" + m.key + "': bias delta does not fit " +
                        shape_str(weight.shape()));
    add_lora_bias_delta(m, s, weight);
  } else {
    if (shape_numel(weight.shape()) != shape_numel(m.delta_shape))
      throw FormatError(l.file.path.string() + ": LoRA module '" + m.key + "': ΔW " + shape_str(m.delta_shape) +
                        " does not fit the weight " + shape_str(weight.shape()));
    if (mult != 0.0) {
      if (m.dora()) add_dora_delta(gemm_, m, static_cast<float>(mult), w0, weight);
      else add_lora_delta(gemm_, m, s, weight);
    }
  }
  st.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  st.flops += gemm_.flops() - f0;
  if (options_.record_norms) {
    if (!e.bias) st.weight_norm = w0_norm;
    const double d = st.delta_norm.value_or(0);
    st.delta_norm = std::sqrt(d * d + sq_diff(weight, &before));
  }
  if (++st.parts_done == st.parts) m.release();  // merged for good: drop the fp32 copies
}

void LoraPatcher::patch(const std::string& component, const std::string& canonical_name, Tensor& weight) {
  const auto it = plan_.find(plan_key(component, canonical_name));
  if (it == plan_.end()) return;
  if (weight.dtype() != DType::F32 || !weight.writable())
    throw FormatError("LoRA merge into " + component + " " + canonical_name + " needs a writable fp32 weight");
  // DoRA normalises the weight before any LoRA (order independence); keep it when needed.
  Tensor w0;
  for (const auto& e : it->second)
    if (!e.bias && loras_[static_cast<std::size_t>(e.lora)].file.modules[static_cast<std::size_t>(e.module)].dora())
      w0 = weight.clone();
  const double w0_norm = options_.record_norms ? std::sqrt(sq_diff(weight, nullptr)) : 0;
  for (const auto& e : it->second) apply(e, component, w0, w0_norm, weight);
  plan_.erase(it);  // a weight is patched once
}

std::vector<LoraPatcher::Planned> LoraPatcher::planned() const {
  std::vector<Planned> r;
  for (const auto& [key, entries] : plan_) {
    const auto& e = entries.front();
    const auto& res = loras_[static_cast<std::size_t>(e.lora)].modules[static_cast<std::size_t>(e.module)].resolution;
    r.push_back({res.component, res.target, key.substr(key.find('/') + 1)});
  }
  return r;
}

}  // namespace skingen::engine
