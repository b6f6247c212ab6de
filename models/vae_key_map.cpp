#include "models/vae_key_map.hpp"

#include <array>
#include <charconv>
#include <string_view>
#include <utility>

namespace skingen::models {
namespace {

using Pair = std::pair<std::string_view, std::string_view>;  // {diffusers, ldm}

// Renames of a path segment sequence; the first match wins.
constexpr std::array<Pair, 12> kLdmSegments{{
    {"mid_block.resnets.0.", "mid.block_1."},
    {"mid_block.resnets.1.", "mid.block_2."},
    {"mid_block.attentions.0.group_norm.", "mid.attn_1.norm."},
    {"mid_block.attentions.0.to_q.", "mid.attn_1.q."},
    {"mid_block.attentions.0.to_k.", "mid.attn_1.k."},
    {"mid_block.attentions.0.to_v.", "mid.attn_1.v."},
    {"mid_block.attentions.0.to_out.0.", "mid.attn_1.proj_out."},
    {"conv_norm_out.", "norm_out."},
    {"conv_shortcut.", "nin_shortcut."},
    {"downsamplers.0.", "downsample."},
    {"upsamplers.0.", "upsample."},
    {"resnets.", "block."},
}};

constexpr std::array<Pair, 4> kLegacyAttention{{
    {"to_q.", "query."},
    {"to_k.", "key."},
    {"to_v.", "value."},
    {"to_out.0.", "proj_attn."},
}};

void replace_once(std::string& s, std::string_view from, std::string_view to) {
  const auto p = s.find(from);
  if (p != std::string::npos) s.replace(p, from.size(), to);
}

}  // namespace

std::optional<std::string> vae_canonical_to(VaeNaming naming, const std::string& canonical, int levels) {
  if (naming == VaeNaming::Diffusers) return canonical;
  std::string s = canonical;
  if (naming == VaeNaming::DiffusersLegacyAttention) {
    if (s.find(".attentions.0.") != std::string::npos)
      for (const auto& [dif, legacy] : kLegacyAttention) replace_once(s, dif, legacy);
    return s;
  }
  // LDM: encoder.down_blocks.{i} → encoder.down.{i}; decoder.up_blocks.{i} → decoder.up.{levels-1-i}.
  struct BlockRename {
    std::string_view diffusers, ldm;
    bool reverse;
  };
  for (const BlockRename& r : {BlockRename{"down_blocks.", "down.", false}, BlockRename{"up_blocks.", "up.", true}}) {
    const std::string_view b = r.diffusers;
    const std::string_view ldm = r.ldm;
    const bool reverse = r.reverse;
    const auto p = s.find(b);
    if (p == std::string::npos) continue;
    const char* first = s.data() + p + b.size();
    int i = 0;
    auto [end, ec] = std::from_chars(first, s.data() + s.size(), i);
    if (ec != std::errc() || end == first) return std::nullopt;
    const int j = reverse ? levels - 1 - i : i;
    if (j < 0) return std::nullopt;
    s = s.substr(0, p) + std::string(ldm) + std::to_string(j) + std::string(end);
  }
  for (const auto& [dif, ldm] : kLdmSegments) replace_once(s, dif, ldm);
  return s;
}

}  // namespace skingen::models
