// skingen fixture checkpoint|lora: random-weight files in the real key layouts
// (tools/fixtures/), for tests and benchmarks.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tools/cli/commands.hpp"
#include "tools/fixtures/checkpoint_config.hpp"
#include "tools/fixtures/fixture_writer.hpp"
#include "tools/fixtures/lora_fixture.hpp"

namespace skingen::cli {
namespace {

using namespace skingen::fixtures;

// Architecture overrides on top of a preset; 0 / empty keeps the preset's value.
struct ConfigOverrides {
  int model_channels = 0, res_blocks = 0, heads = 0, head_channels = 0, depth = 0, context_dim = 0;
  int in_channels = 0;
  std::vector<int> channel_mult, attention_levels;
  bool linear_proj = false;
  int vae_channels = 0, vae_res_blocks = 0;
  std::vector<int> vae_mult;
  int clip_width = 0, clip_layers = 0, clip_heads = 0, clip_ff = 0, clip_vocab = 0, clip_positions = 0;
};

void add_overrides(CLI::App* cmd, ConfigOverrides& o) {
  const char* g = "Architecture (0 or empty: the preset's value)";
  cmd->add_option("--model-channels", o.model_channels, "UNet model_channels")->group(g);
  cmd->add_option("--channel-mult", o.channel_mult, "UNet channel_mult, e.g. 1,2,4,4")->delimiter(',')->group(g);
  cmd->add_option("--res-blocks", o.res_blocks, "UNet num_res_blocks")->group(g);
  cmd->add_option("--attention-levels", o.attention_levels, "UNet levels with attention, e.g. 0,1,2")
      ->delimiter(',')->group(g);
  cmd->add_option("--heads", o.heads, "UNet num_heads (SD 1.x style)")->group(g);
  cmd->add_option("--head-channels", o.head_channels, "UNet num_head_channels (SD 2.x style, overrides --heads)")
      ->group(g);
  cmd->add_option("--depth", o.depth, "UNet transformer_depth")->group(g);
  cmd->add_option("--context-dim", o.context_dim, "UNet context_dim (cross-attention input width)")->group(g);
  cmd->add_option("--in-channels", o.in_channels, "UNet in_channels (9 for inpainting)")->group(g);
  cmd->add_flag("--linear-proj", o.linear_proj, "Linear proj_in/proj_out (SD 2.x) instead of 1x1 convs")->group(g);
  cmd->add_option("--vae-channels", o.vae_channels, "VAE ch")->group(g);
  cmd->add_option("--vae-mult", o.vae_mult, "VAE ch_mult, e.g. 1,2,4,4")->delimiter(',')->group(g);
  cmd->add_option("--vae-res-blocks", o.vae_res_blocks, "VAE num_res_blocks")->group(g);
  cmd->add_option("--clip-width", o.clip_width, "CLIP hidden size")->group(g);
  cmd->add_option("--clip-layers", o.clip_layers, "CLIP layers")->group(g);
  cmd->add_option("--clip-heads", o.clip_heads, "CLIP attention heads")->group(g);
  cmd->add_option("--clip-ff", o.clip_ff, "CLIP intermediate (MLP) size")->group(g);
  cmd->add_option("--clip-vocab", o.clip_vocab, "CLIP vocabulary size")->group(g);
  cmd->add_option("--clip-positions", o.clip_positions, "CLIP max positions")->group(g);
}

CheckpointConfig make_config(const std::string& preset, const ConfigOverrides& o) {
  CheckpointConfig c = checkpoint_preset(preset);
  auto set = [](int& field, int v) {
    if (v) field = v;
  };
  set(c.unet.model_channels, o.model_channels);
  set(c.unet.num_res_blocks, o.res_blocks);
  set(c.unet.num_heads, o.heads);
  if (o.head_channels) c.unet.num_head_channels = o.head_channels;
  set(c.unet.transformer_depth, o.depth);
  set(c.unet.context_dim, o.context_dim);
  set(c.unet.in_channels, o.in_channels);
  if (!o.channel_mult.empty()) c.unet.channel_mult = o.channel_mult;
  if (!o.attention_levels.empty()) c.unet.attention_levels = o.attention_levels;
  if (o.linear_proj) c.unet.use_linear_in_transformer = true;
  set(c.vae.ch, o.vae_channels);
  set(c.vae.num_res_blocks, o.vae_res_blocks);
  if (!o.vae_mult.empty()) c.vae.ch_mult = o.vae_mult;
  set(c.clip.hidden_size, o.clip_width);
  set(c.clip.num_layers, o.clip_layers);
  set(c.clip.num_heads, o.clip_heads);
  set(c.clip.intermediate_size, o.clip_ff);
  set(c.clip.vocab_size, o.clip_vocab);
  set(c.clip.max_positions, o.clip_positions);
  validate(c);
  return c;
}

std::string join(const std::vector<std::string>& v) {
  std::string r;
  for (const auto& s : v) r += (r.empty() ? "" : "|") + s;
  return r;
}

void report(const std::string& out, const FixtureWriteStats& s, std::chrono::steady_clock::time_point t0) {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("wrote %s: %zu tensors, %llu parameters, %llu bytes in %.1f s\n", out.c_str(), s.tensors,
              static_cast<unsigned long long>(s.parameters), static_cast<unsigned long long>(s.file_bytes), secs);
}

}  // namespace

void register_fixture(CLI::App& app) {
  auto* fixture = app.add_subcommand("fixture", "Write random-weight test files in the real key layouts");
  fixture->require_subcommand(1);

  struct CheckpointOptions {
    std::string preset = "tiny", dtype = "f16", out;
    std::uint64_t seed = 0;
    bool ema = false;
    int threads = 1;
    ConfigOverrides overrides;
  };
  auto co = std::make_shared<CheckpointOptions>();
  auto* ckpt = fixture->add_subcommand(
      "checkpoint", "SD 1.x checkpoint in the CompVis single-file layout (UNet, VAE, CLIP text model, buffers)");
  ckpt->add_option("--preset", co->preset, "Architecture preset: " + join(checkpoint_preset_names()));
  ckpt->add_option("--dtype", co->dtype, "Float dtype: f16|f32|bf16");
  ckpt->add_option("--seed", co->seed, "Seed of the random weights");
  ckpt->add_flag("--ema", co->ema, "Also write the EMA copy of the UNet (model_ema.*)");
  ckpt->add_option("--threads", co->threads, "Threads generating values (0: all cores)");
  ckpt->add_option("--out", co->out, "Output .safetensors file")->required();
  add_overrides(ckpt, co->overrides);
  ckpt->callback([co] {
    const auto t0 = std::chrono::steady_clock::now();
    const CheckpointConfig config = make_config(co->preset, co->overrides);
    const FixtureWriteOptions w{parse_float_dtype(co->dtype), co->seed, co->threads};
    const auto stats = write_fixture(co->out, checkpoint_keys(config, co->ema), w, {{"format", "pt"}});
    report(co->out, stats, t0);
  });

  struct LoraOptions {
    LoraFixtureOptions lora;
    std::string for_preset = "sd15", dtype = "f16", out;
    std::uint64_t seed = 0;
    bool no_text_encoder = false;
  };
  auto lo = std::make_shared<LoraOptions>();
  auto* lora = fixture->add_subcommand("lora", "kohya-ss sd-scripts LoRA for a fixture checkpoint preset");
  lora->add_option("--preset", lo->lora.preset, "LoRA kind: " + join(lora_preset_names()));
  lora->add_option("--rank", lo->lora.rank, "network_dim");
  lora->add_option("--alpha", lo->lora.alpha, "network_alpha (0 means alpha = rank, as kohya)");
  lora->add_option("--conv-rank", lo->lora.conv_rank, "conv_dim for 3x3 convolutions (kohya-locon; 0: --rank)");
  lora->add_option("--conv-alpha", lo->lora.conv_alpha, "conv_alpha (kohya-locon; negative: --alpha)");
  lora->add_option("--for", lo->for_preset, "Checkpoint preset the LoRA fits: " + join(checkpoint_preset_names()));
  lora->add_option("--dtype", lo->dtype, "Float dtype: f16|f32|bf16");
  lora->add_option("--seed", lo->seed, "Seed of the random weights");
  lora->add_flag("--no-text-encoder", lo->no_text_encoder, "UNet modules only (no lora_te_*)");
  lora->add_option("--output-name", lo->lora.output_name, "ss_output_name");
  lora->add_option("--epoch", lo->lora.epoch, "ss_epoch");
  lora->add_option("--clip-skip", lo->lora.clip_skip, "ss_clip_skip (0: None)");
  lora->add_option("--out", lo->out, "Output .safetensors file")->required();
  lora->callback([lo] {
    const auto t0 = std::chrono::steady_clock::now();
    LoraFixtureOptions o = lo->lora;
    o.text_encoder = !lo->no_text_encoder;
    const CheckpointConfig config = checkpoint_preset(lo->for_preset);
    const auto modules = kohya_modules(config, o);
    const FixtureWriteOptions w{parse_float_dtype(lo->dtype), lo->seed, 1};
    const auto stats = write_fixture(lo->out, kohya_lora_keys(modules), w, kohya_lora_metadata(config, o));
    report(lo->out, stats, t0);
  });
}

}  // namespace skingen::cli
