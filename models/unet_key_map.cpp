#include "models/unet_key_map.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <string_view>
#include <utility>

#include "engine/core/error.hpp"

namespace skingen::models {
namespace {

using Pair = std::pair<std::string_view, std::string_view>;  // {ldm, diffusers}

// Whole-module renames outside the block lists.
constexpr std::array<Pair, 5> kTopLevel{{
    {"time_embed.0.", "time_embedding.linear_1."},
    {"time_embed.2.", "time_embedding.linear_2."},
    {"input_blocks.0.0.", "conv_in."},
    {"out.0.", "conv_norm_out."},
    {"out.2.", "conv_out."},
}};

// Inside a ResBlock (unet_conversion_map_resnet).
constexpr std::array<Pair, 6> kResnetLeaves{{
    {"in_layers.0.", "norm1."},
    {"in_layers.2.", "conv1."},
    {"emb_layers.1.", "time_emb_proj."},
    {"out_layers.0.", "norm2."},
    {"out_layers.3.", "conv2."},
    {"skip_connection.", "conv_shortcut."},
}};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Parses "<int>." at the front of s; advances s past it.
std::optional<int> take_index(std::string_view& s) {
  int v = 0;
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p == s.data() || p == end || *p != '.') return std::nullopt;
  s.remove_prefix(static_cast<std::size_t>(p - s.data()) + 1);
  return v;
}

std::optional<std::string> rename_resnet_leaf(std::string_view rest, bool to_diffusers) {
  for (const auto& [ldm, dif] : kResnetLeaves) {
    const auto from = to_diffusers ? ldm : dif;
    const auto to = to_diffusers ? dif : ldm;
    if (starts_with(rest, from)) return std::string(to) + std::string(rest.substr(from.size()));
  }
  return std::nullopt;
}

std::string str(int i) { return std::to_string(i); }

}  // namespace

UNetBlockLayout detect_unet_block_layout(const std::vector<std::string>& names, bool ldm, const std::string& source) {
  UNetBlockLayout l;
  auto has_prefix = [&](const std::string& p) {
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return n.starts_with(p); });
  };
  if (!ldm) {
    while (has_prefix("down_blocks." + str(l.levels) + ".")) ++l.levels;
    while (has_prefix("down_blocks.0.resnets." + str(l.num_res_blocks) + ".")) ++l.num_res_blocks;
    for (int b = 0; b < l.levels; ++b) l.attention.push_back(has_prefix("down_blocks." + str(b) + ".attentions.0."));
    l.mid_attention = has_prefix("mid_block.attentions.0.");
  } else {
    int inputs = 0;
    while (has_prefix("input_blocks." + str(inputs) + ".")) ++inputs;
    int outputs = 0;
    while (has_prefix("output_blocks." + str(outputs) + ".")) ++outputs;
    // The first downsampler sits at input_blocks.(R+1).0.op; a one-level UNet has none.
    int first_op = 0;
    for (int k = 1; k < inputs && !first_op; ++k)
      if (has_prefix("input_blocks." + str(k) + ".0.op.")) first_op = k;
    l.num_res_blocks = first_op ? first_op - 1 : inputs - 1;
    if (l.num_res_blocks > 0 && outputs % (l.num_res_blocks + 1) == 0) l.levels = outputs / (l.num_res_blocks + 1);
    for (int b = 0; b < l.levels; ++b)
      l.attention.push_back(has_prefix("input_blocks." + str(1 + (l.num_res_blocks + 1) * b) + ".1."));
    l.mid_attention = has_prefix("middle_block.1.proj_in.") || has_prefix("middle_block.1.norm.");
  }
  if (l.levels == 0 || l.num_res_blocks == 0)
    throw FormatError(source + ": the tensor names do not form a UNet (no down blocks with resnets found)");
  return l;
}

std::optional<std::string> unet_diffusers_to_ldm(const std::string& name, const UNetBlockLayout& l) {
  for (const auto& [ldm, dif] : kTopLevel)
    if (name.starts_with(dif)) return std::string(ldm) + name.substr(dif.size());

  const int stride = l.num_res_blocks + 1;  // LDM blocks per level
  std::string_view s = name;
  auto module = [&](int block, int sub, std::string_view rest, bool resnet) -> std::optional<std::string> {
    std::string head = str(block) + "." + str(sub) + ".";
    if (!resnet) return head + std::string(rest);
    auto leaf = rename_resnet_leaf(rest, false);
    if (!leaf) return std::nullopt;
    return head + *leaf;
  };

  if (starts_with(s, "down_blocks.")) {
    s.remove_prefix(12);
    auto b = take_index(s);
    if (!b || *b >= l.levels) return std::nullopt;
    if (starts_with(s, "resnets.") || starts_with(s, "attentions.")) {
      const bool resnet = starts_with(s, "resnets.");
      s.remove_prefix(resnet ? 8 : 11);
      auto i = take_index(s);
      if (!i || *i >= l.num_res_blocks) return std::nullopt;
      auto m = module(1 + stride * *b + *i, resnet ? 0 : 1, s, resnet);
      return m ? "input_blocks." + *m : m;
    }
    if (starts_with(s, "downsamplers.0.conv.")) {
      s.remove_prefix(20);
      return "input_blocks." + str(stride * (*b + 1)) + ".0.op." + std::string(s);
    }
    return std::nullopt;
  }
  if (starts_with(s, "mid_block.")) {
    s.remove_prefix(10);
    if (starts_with(s, "attentions.0.")) return "middle_block.1." + std::string(s.substr(13));
    if (starts_with(s, "resnets.")) {
      s.remove_prefix(8);
      auto i = take_index(s);
      if (!i || *i > 1) return std::nullopt;
      auto leaf = rename_resnet_leaf(s, false);
      if (!leaf) return std::nullopt;
      const int block = l.mid_attention ? 2 * *i : *i;
      return "middle_block." + str(block) + "." + *leaf;
    }
    return std::nullopt;
  }
  if (starts_with(s, "up_blocks.")) {
    s.remove_prefix(10);
    auto b = take_index(s);
    if (!b || *b >= l.levels) return std::nullopt;
    const bool attn = l.attention[static_cast<std::size_t>(l.levels - 1 - *b)];
    if (starts_with(s, "resnets.") || starts_with(s, "attentions.")) {
      const bool resnet = starts_with(s, "resnets.");
      s.remove_prefix(resnet ? 8 : 11);
      auto i = take_index(s);
      if (!i || *i >= stride) return std::nullopt;
      auto m = module(stride * *b + *i, resnet ? 0 : 1, s, resnet);
      return m ? "output_blocks." + *m : m;
    }
    if (starts_with(s, "upsamplers.0.conv.")) {
      s.remove_prefix(18);
      return "output_blocks." + str(stride * *b + l.num_res_blocks) + "." + str(attn ? 2 : 1) + ".conv." +
             std::string(s);
    }
  }
  return std::nullopt;
}

std::optional<std::string> unet_ldm_to_diffusers(const std::string& name, const UNetBlockLayout& l) {
  for (const auto& [ldm, dif] : kTopLevel)
    if (name.starts_with(ldm)) return std::string(dif) + name.substr(ldm.size());

  const int stride = l.num_res_blocks + 1;
  std::string_view s = name;
  if (starts_with(s, "input_blocks.")) {
    s.remove_prefix(13);
    auto k = take_index(s);
    auto j = take_index(s);
    if (!k || !j || *k < 1) return std::nullopt;
    const int b = (*k - 1) / stride, i = (*k - 1) % stride;
    if (b >= l.levels) return std::nullopt;
    if (i == l.num_res_blocks) {  // the downsampler of level b
      if (*j != 0 || !starts_with(s, "op.")) return std::nullopt;
      return "down_blocks." + str(b) + ".downsamplers.0.conv." + std::string(s.substr(3));
    }
    if (*j == 0) {
      auto leaf = rename_resnet_leaf(s, true);
      if (!leaf) return std::nullopt;
      return "down_blocks." + str(b) + ".resnets." + str(i) + "." + *leaf;
    }
    if (*j == 1) return "down_blocks." + str(b) + ".attentions." + str(i) + "." + std::string(s);
    return std::nullopt;
  }
  if (starts_with(s, "middle_block.")) {
    s.remove_prefix(13);
    auto k = take_index(s);
    if (!k) return std::nullopt;
    if (l.mid_attention && *k == 1) return "mid_block.attentions.0." + std::string(s);
    const int i = l.mid_attention ? *k / 2 : *k;
    if (i > 1 || (l.mid_attention && *k % 2)) return std::nullopt;
    auto leaf = rename_resnet_leaf(s, true);
    if (!leaf) return std::nullopt;
    return "mid_block.resnets." + str(i) + "." + *leaf;
  }
  if (starts_with(s, "output_blocks.")) {
    s.remove_prefix(14);
    auto k = take_index(s);
    auto j = take_index(s);
    if (!k || !j) return std::nullopt;
    const int b = *k / stride, i = *k % stride;
    if (b >= l.levels) return std::nullopt;
    const bool attn = l.attention[static_cast<std::size_t>(l.levels - 1 - b)];
    if (*j == 0) {
      auto leaf = rename_resnet_leaf(s, true);
      if (!leaf) return std::nullopt;
      return "up_blocks." + str(b) + ".resnets." + str(i) + "." + *leaf;
    }
    if (*j == 1 && attn) return "up_blocks." + str(b) + ".attentions." + str(i) + "." + std::string(s);
    if (*j == (attn ? 2 : 1) && i == l.num_res_blocks && starts_with(s, "conv."))
      return "up_blocks." + str(b) + ".upsamplers.0.conv." + std::string(s.substr(5));
  }
  return std::nullopt;
}

}  // namespace skingen::models
