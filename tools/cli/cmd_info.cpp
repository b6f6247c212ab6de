// skingen info IMAGE.png: the generation parameters stored in a PNG.
#include <cstdio>
#include <memory>
#include <string>

#include "engine/core/error.hpp"
#include "engine/png_reader.hpp"
#include "engine/recipe.hpp"
#include "tools/cli/commands.hpp"

namespace skingen::cli {

void register_info(CLI::App& app) {
  struct Options {
    std::string path;
    bool json = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("info", "Print the generation parameters stored in a PNG (A1111 format)");
  cmd->add_option("image", opt->path, "A PNG written by skingen (or by A1111, ComfyUI, …)")->required();
  cmd->add_flag("--json", opt->json, "Print skingen's exact recipe (the 'skingen' chunk) as JSON instead");
  cmd->callback([opt] {
    const auto meta = engine::read_png_metadata(opt->path);
    if (opt->json) {
      const auto recipe = engine::recipe_from_png_texts(meta.texts, opt->path);
      if (!recipe)
        throw FormatError(opt->path + ": no skingen recipe (text chunk 'skingen'); the image was not written by skingen");
      std::printf("%s\n", engine::recipe_to_json(*recipe).dump(2).c_str());
      return;
    }
    const auto* params = engine::find_png_text(meta.texts, engine::kParametersKeyword);
    if (!params) {
      std::string keys;
      for (const auto& t : meta.texts) keys += (keys.empty() ? "" : ", ") + t.keyword;
      throw FormatError(opt->path + ": no 'parameters' text chunk" +
                        (keys.empty() ? std::string(" (the image has no text chunks)") : " (text chunks: " + keys + ")"));
    }
    std::printf("%s\n", params->text.c_str());
  });
}

}  // namespace skingen::cli
