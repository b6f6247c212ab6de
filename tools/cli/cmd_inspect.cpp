// skingen inspect PATH: what a checkpoint, LoRA or diffusers folder holds,
// from its headers only (plus the few bytes of scalar LoRA alphas). The
// detection lives in engine/ (checkpoint_kind, lora_kind, kohya_metadata).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "engine/tensor_store.hpp"
#include "models/text_encoder_loader.hpp"
#include "models/unet_loader.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/inspect_report.hpp"

namespace skingen::cli {

void register_inspect(CLI::App& app) {
  struct Options {
    std::string path;
    bool json = false;
    bool tensors = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("inspect", "Describe a checkpoint, LoRA or diffusers folder (reads headers only)");
  cmd->add_option("path", opt->path, "A .safetensors file or a diffusers folder")->required();
  cmd->add_flag("--json", opt->json, "Print one JSON object instead of text (fields: README.md)");
  cmd->add_flag("--tensors", opt->tensors, "List every tensor with dtype and shape");
  cmd->callback([opt] {
    const auto store = engine::TensorStore::open(opt->path);
    InspectInput in;
    in.path = opt->path;
    in.folder = store.is_folder();
    for (const auto& f : store.files()) in.files.push_back({f->path().string(), f->file_size(), f->tensors().size()});
    in.metadata = store.metadata();
    in.keys = engine::key_infos(store, false);
    in.list_tensors = opt->tensors;
    if (engine::looks_like_lora(in.keys)) {
      in.keys = engine::key_infos(store, true);  // alphas are scalar tensors
      in.lora = engine::detect_lora(in.keys, in.metadata);
      in.training = engine::kohya_training(in.metadata);
      in.stem = engine::parse_training_stem(std::filesystem::path(opt->path).stem().string());
    } else {
      in.checkpoint = engine::detect_checkpoint(in.keys);
      if (in.checkpoint->unet.present) {
        try {
          const auto d = models::detect_unet(store);
          in.unet_config = d.config.to_json();
          in.unet_config["summary"] = d.config.summary();
          in.unet_config["family"] = d.family;
          in.unet_config["layout"] = d.location.layout_name();
          in.unet_config["prediction_source"] = d.prediction_source;
          in.unet_config["mid_block_heads"] = d.config.heads(d.config.channels(d.config.levels() - 1));
          in.unet_config["heads_rule"] = d.heads_rule;
        } catch (const std::exception& e) {
          in.unet_config = {{"error", e.what()}};
        }
      }
      if (models::has_text_encoder(store)) {
        try {
          const auto d = models::detect_text_encoder(store);
          in.text_encoder_config = {{"layout", d.layout_name()},      {"width", d.config.width},
                                    {"layers", d.config.layers},      {"heads", d.config.heads},
                                    {"heads_rule", d.heads_rule},     {"summary", d.config.summary()}};
        } catch (const std::exception& e) {
          in.text_encoder_config = {{"error", e.what()}};
        }
      }
    }
    // Paths may hold bytes that are not UTF-8 (names inside files are validated by the reader).
    const std::string out =
        opt->json ? inspect_json(in).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"
                  : inspect_text(in);
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
}

}  // namespace skingen::cli
