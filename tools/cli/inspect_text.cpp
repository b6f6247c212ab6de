// Text form of the inspect report, rendered from the same JSON object that
// --json prints, so that both always say the same.
#include <cstdio>
#include <sstream>

#include "tools/cli/inspect_report.hpp"

namespace skingen::cli {
namespace {

using json = nlohmann::ordered_json;

// 1066235307 → "1,066,235,307".
std::string grouped(std::uint64_t v) {
  const std::string digits = std::to_string(v);
  std::string s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
    s += digits[i];
  }
  return s;
}

std::string num(const json& v) {
  if (v.is_null()) return "?";
  if (v.is_number_unsigned() || v.is_number_integer()) return std::to_string(v.get<long long>());
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v.get<double>());
  return buf;
}

std::string str(const json& v) { return v.is_string() ? v.get<std::string>() : v.is_null() ? "-" : v.dump(); }

// "8" when min == max, else "8 (min 4, max 16)".
std::string spread(const json& s) {
  if (s.is_null() || !s.contains("min")) return "-";
  if (s["min"] == s["max"]) return num(s["most_common"]);
  return num(s["most_common"]) + " most common (min " + num(s["min"]) + ", max " + num(s["max"]) + ")";
}

std::string shorten(std::string s, std::size_t n) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() > n) s = s.substr(0, n) + "…";
  return s;
}

void line(std::ostringstream& o, const char* label, const std::string& text) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "  %-14s", label);
  o << buf << text << "\n";
}

void checkpoint_lines(std::ostringstream& o, const json& j) {
  const json& c = j["checkpoint"];
  static const std::pair<const char*, const char*> kComponents[] = {
      {"unet", "UNet"}, {"vae", "VAE"}, {"text_encoder", "text encoder"}, {"text_encoder_2", "text encoder 2"},
      {"ema", "EMA UNet"}, {"other", "other"}};
  bool first = true;
  for (const auto& [id, label] : kComponents) {
    const json& p = c["components"][id];
    if (!p["present"].get<bool>()) continue;
    std::string t = std::string(label) + ": " + grouped(p["tensors"].get<std::uint64_t>()) + " tensors, " +
                    grouped(p["parameters"].get<std::uint64_t>()) + " parameters";
    if (!p["prefix"].get<std::string>().empty()) t += " (" + p["prefix"].get<std::string>() + ")";
    line(o, first ? "components" : "", t);
    first = false;
  }
  const json& u = c["unet"];
  if (!u["model_channels"].is_null() || !u["context_dim"].is_null())
    line(o, "unet", "in_channels " + num(u["in_channels"]) + ", model_channels " + num(u["model_channels"]) +
                        ", context " + num(u["context_dim"]) + ", proj_in " +
                        (u["linear_proj"].is_null() ? "?" : u["linear_proj"].get<bool>() ? "linear" : "1x1 conv"));
  const json& uc = c["unet_config"];
  if (uc.is_object() && uc.contains("summary"))
    line(o, "unet config", str(uc["summary"]) + " (prediction: " + str(uc["prediction_source"]) + ")");
  else if (uc.is_object() && uc.contains("error"))
    line(o, "unet config", "not derivable: " + str(uc["error"]));
  if (uc.is_object() && uc.contains("heads_rule")) {
    std::string heads;
    for (const auto& h : uc["num_attention_heads"]) heads += (heads.empty() ? "" : ", ") + num(h);
    line(o, "unet heads", heads + " per level, mid " + num(uc["mid_block_heads"]) + ": " + str(uc["heads_rule"]));
  }
  const json& t = c["text_encoder"];
  if (!t["type"].is_null())
    line(o, "text encoder", str(t["type"]) + ", width " + num(t["width"]) + ", " + num(t["layers"]) + " layers");
  const json& tc = c["text_encoder_config"];
  if (tc.is_object() && tc.contains("heads"))
    line(o, "text heads", num(tc["heads"]) + ": " + str(tc["heads_rule"]));
  else if (tc.is_object() && tc.contains("error"))
    line(o, "text heads", "not derivable: " + str(tc["error"]));
}

void lora_lines(std::ostringstream& o, const json& j) {
  const json& l = j["lora"];
  const json& d = j["display_name"];
  std::string name = str(d["name"]);
  if (!d["epoch"].is_null()) name += ", epoch " + num(d["epoch"]);
  line(o, "name", name + " (from " + str(d["source"]) + ")");
  const json& m = l["modules"];
  std::string mods = num(m["total"]) + ": UNet " + num(m["unet"]) + ", text encoder " + num(m["text_encoder"]);
  if (m["text_encoder_2"].get<std::size_t>()) mods += ", text encoder 2 " + num(m["text_encoder_2"]);
  if (m["unknown"].get<std::size_t>()) mods += ", unknown target " + num(m["unknown"]);
  line(o, "modules", mods);
  line(o, "convolutions", l["convolutions_patched"].get<bool>()
                              ? "patched (" + num(l["conv3x3_modules"]) + " 3x3 conv modules)"
                              : "not patched (no 3x3 conv modules)");
  line(o, "rank", spread(l["rank"]));
  std::string alpha = spread(l["alpha"]);
  if (l["alpha"]["without_alpha"].get<std::size_t>())
    alpha += "; " + num(l["alpha"]["without_alpha"]) + " modules without alpha (alpha = rank)";
  line(o, "alpha", alpha);
  line(o, "scale", spread(l["scale"]) + " (effective alpha / rank)");
  if (l["unrecognised_tensors"].get<std::size_t>())
    line(o, "unrecognised", num(l["unrecognised_tensors"]) + " tensors, e.g. " + l["unrecognised_examples"][0].dump());
  const json& t = j["training"];
  if (!t.is_null()) {
    line(o, "training", "module " + str(t["network_module"]) + ", dim " + str(t["network_dim"]) + ", alpha " +
                            str(t["network_alpha"]) + ", base model " + str(t["base_model"]) + ", clip skip " +
                            str(t["clip_skip"]) + ", epoch " + str(t["epoch"]) + ", steps " + str(t["steps"]));
    if (!t["network_args"].is_null()) line(o, "", "network args " + str(t["network_args"]));
  }
}

}  // namespace

std::string inspect_text(const InspectInput& in) {
  const json j = inspect_json(in);
  std::ostringstream o;
  o << j["path"].get<std::string>() << "\n";
  line(o, "format", std::string(in.folder ? "diffusers folder" : "safetensors") + ", " + std::to_string(in.files.size()) +
                        (in.files.size() == 1 ? " file, " : " files, ") + grouped(j["file_size"]) + " bytes");
  line(o, "tensors", grouped(j["tensor_count"]) + " tensors, " + grouped(j["parameter_count"]) + " parameters");
  bool first = true;
  for (const auto& [dt, c] : j["dtypes"].items()) {
    line(o, first ? "dtypes" : "", dt + ": " + grouped(c["tensors"]) + " tensors, " + grouped(c["parameters"]) +
                                       " parameters");
    first = false;
  }
  std::string kind = j.value("kind", "unknown");
  if (j.contains("lora")) kind = j["lora"]["kind"].get<std::string>() + " (" + str(j["lora"]["format"]) + ")";
  else if (j.contains("checkpoint")) kind += " (" + str(j["checkpoint"]["layout"]) + " layout)";
  line(o, "kind", kind);
  std::string family = j.value("family_name", "unknown");
  if (!j.value("family_evidence", "").empty()) family += ": " + j["family_evidence"].get<std::string>();
  line(o, "family", family);
  if (j.contains("checkpoint")) checkpoint_lines(o, j);
  if (j.contains("lora")) lora_lines(o, j);
  first = true;
  for (const auto& [k, v] : j["metadata"].items()) {
    line(o, first ? "metadata" : "", shorten(k + " = " + v.get<std::string>(), 110));
    first = false;
  }
  first = true;
  for (const auto& n : j["notes"]) {
    line(o, first ? "notes" : "", n.get<std::string>());
    first = false;
  }
  if (in.list_tensors) {
    o << "  tensors:\n";
    for (const auto& t : j["tensors"])
      o << "    " << t["name"].get<std::string>() << "  " << t["dtype"].get<std::string>() << " "
        << t["shape"].dump() << "\n";
  }
  return o.str();
}

}  // namespace skingen::cli
