// skingen inspect PATH: what a file holds, from its header only.
#include <cstdio>
#include <map>
#include <string>

#include "engine/tensor_store.hpp"
#include "tools/cli/commands.hpp"

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
  cmd->add_flag("--json", opt->json, "Print one JSON object instead of text");
  cmd->add_flag("--tensors", opt->tensors, "List every tensor with dtype and shape");
  cmd->callback([opt] {
    const auto store = engine::TensorStore::open(opt->path);
    std::map<std::string, std::pair<std::size_t, std::int64_t>> by_dtype;
    for (const auto& e : store.entries()) {
      auto& [count, params] = by_dtype[std::string(engine::dtype_name(e.info->dtype))];
      ++count;
      params += engine::shape_numel(e.info->shape);
    }
    std::printf("%s: %zu tensors\n", opt->path.c_str(), store.size());
    for (const auto& [dt, cp] : by_dtype)
      std::printf("  %-8s %8zu tensors %14lld parameters\n", dt.c_str(), cp.first,
                  static_cast<long long>(cp.second));
  });
}

}  // namespace skingen::cli
