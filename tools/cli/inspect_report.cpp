#include "tools/cli/inspect_report.hpp"

#include <cmath>
#include <cstdio>

namespace skingen::cli {
namespace {

using json = nlohmann::ordered_json;
using namespace skingen::engine;

struct DtypeCount {
  std::size_t tensors = 0;
  std::uint64_t parameters = 0;
};

std::map<std::string, DtypeCount> by_dtype(const std::vector<KeyInfo>& keys) {
  std::map<std::string, DtypeCount> m;
  for (const auto& k : keys) {
    auto& c = m[std::string(dtype_name(k.dtype))];
    ++c.tensors;
    c.parameters += static_cast<std::uint64_t>(shape_numel(k.shape));
  }
  return m;
}

std::uint64_t total_parameters(const std::vector<KeyInfo>& keys) {
  std::uint64_t n = 0;
  for (const auto& k : keys) n += static_cast<std::uint64_t>(shape_numel(k.shape));
  return n;
}

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json component(const ComponentSummary& c) {
  return {{"present", c.present}, {"prefix", c.prefix}, {"tensors", c.tensors}, {"parameters", c.parameters}};
}

json stats(const std::optional<ValueStats>& s) {
  if (!s) return nullptr;
  return {{"min", s->min}, {"max", s->max}, {"most_common", s->most_common}, {"modules", s->count}};
}

// The name a LoRA is shown under: ss_output_name, else the file stem parsed
// as kohya's NAME-000015 (display only; detection never looks at file names).
json display_name(const InspectInput& in) {
  json d;
  std::optional<long long> epoch = in.stem.epoch;
  if (in.training.epoch) {
    try {
      epoch = std::stoll(*in.training.epoch);
    } catch (const std::exception&) {
    }
  }
  if (in.training.output_name) {
    d = {{"name", *in.training.output_name}, {"epoch", opt(epoch)}, {"source", "ss_output_name"}};
  } else {
    d = {{"name", in.stem.name}, {"epoch", opt(epoch)}, {"source", "file name"}};
  }
  return d;
}

json checkpoint_json(const CheckpointInfo& c) {
  return {{"layout", layout_id(c.layout)},
          {"components",
           {{"unet", component(c.unet)},
            {"vae", component(c.vae)},
            {"text_encoder", component(c.text_encoder)},
            {"text_encoder_2", component(c.text_encoder_2)},
            {"ema", component(c.ema)},
            {"other", component(c.other)}}},
          {"unet",
           {{"in_channels", opt(c.unet_in_channels)},
            {"model_channels", opt(c.unet_model_channels)},
            {"context_dim", opt(c.context_dim)},
            {"linear_proj", opt(c.linear_proj)}}},
          {"text_encoder",
           {{"type", c.text_encoder_type.empty() ? json(nullptr) : json(c.text_encoder_type)},
            {"width", opt(c.text_width)},
            {"layers", opt(c.text_layers)}}},
          {"unet_config", nullptr},
          {"text_encoder_config", nullptr}};
}

json lora_json(const LoraInfo& l) {
  json algos = json::array();
  for (auto a : l.algos) algos.push_back(lora_algo_id(a));
  json alpha = stats(l.alphas);
  if (alpha.is_null()) alpha = json::object();
  alpha["without_alpha"] = l.modules_without_alpha;
  return {{"format", lora_format_id(l.format)},
          {"kind", l.kind},
          {"algorithms", algos},
          {"dora", l.dora},
          {"unet_naming", l.unet_naming.empty() ? json(nullptr) : json(l.unet_naming)},
          {"modules",
           {{"total", l.modules},
            {"unet", l.unet_modules},
            {"text_encoder", l.text_encoder_modules},
            {"text_encoder_2", l.text_encoder_2_modules},
            {"unknown", l.unknown_target_modules}}},
          {"convolutions_patched", l.conv3x3_modules > 0},
          {"conv_modules", l.conv_modules},
          {"conv3x3_modules", l.conv3x3_modules},
          {"rank", stats(l.ranks)},
          {"alpha", alpha},
          {"scale", stats(l.scales)},
          {"unrecognised_tensors", l.unrecognised_tensors},
          {"unrecognised_examples", l.unrecognised_examples}};
}

json training_json(const KohyaTraining& t) {
  if (!t.any()) return nullptr;
  return {{"output_name", opt(t.output_name)},   {"epoch", opt(t.epoch)},
          {"steps", opt(t.steps)},               {"base_model", opt(t.base_model)},
          {"sd_model_name", opt(t.sd_model_name)}, {"network_module", opt(t.network_module)},
          {"network_dim", opt(t.network_dim)},   {"network_alpha", opt(t.network_alpha)},
          {"network_args", opt(t.network_args)}, {"clip_skip", opt(t.clip_skip)},
          {"resolution", opt(t.resolution)}};
}

}  // namespace

json inspect_json(const InspectInput& in) {
  json j;
  j["path"] = in.path;
  j["format"] = in.folder ? "diffusers-folder" : "safetensors";
  json files = json::array();
  std::uint64_t size = 0;
  for (const auto& f : in.files) {
    files.push_back({{"path", f.path}, {"bytes", f.bytes}, {"tensors", f.tensors}});
    size += f.bytes;
  }
  j["files"] = files;
  j["file_size"] = size;
  j["tensor_count"] = in.keys.size();
  j["parameter_count"] = total_parameters(in.keys);
  json dtypes = json::object();
  for (const auto& [name, c] : by_dtype(in.keys)) dtypes[name] = {{"tensors", c.tensors}, {"parameters", c.parameters}};
  j["dtypes"] = dtypes;
  j["metadata"] = in.metadata;
  std::vector<std::string> notes;
  if (in.lora) {
    j["kind"] = "lora";
    j["family"] = family_id(in.lora->family);
    j["family_name"] = family_name(in.lora->family);
    j["family_evidence"] = in.lora->family_evidence;
    j["lora"] = lora_json(*in.lora);
    j["training"] = training_json(in.training);
    j["display_name"] = display_name(in);
    notes = in.lora->notes;
  } else if (in.checkpoint) {
    j["kind"] = kind_id(in.checkpoint->kind);
    j["family"] = family_id(in.checkpoint->family);
    j["family_name"] = family_name(in.checkpoint->family);
    j["family_evidence"] = in.checkpoint->family_evidence;
    j["checkpoint"] = checkpoint_json(*in.checkpoint);
    j["checkpoint"]["unet_config"] = in.unet_config;
    j["checkpoint"]["text_encoder_config"] = in.text_encoder_config;
    notes = in.checkpoint->notes;
  }
  j["notes"] = notes;
  if (in.list_tensors) {
    json t = json::array();
    for (const auto& k : in.keys) t.push_back({{"name", k.name}, {"dtype", dtype_name(k.dtype)}, {"shape", k.shape}});
    j["tensors"] = t;
  }
  return j;
}

}  // namespace skingen::cli
