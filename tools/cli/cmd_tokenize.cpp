// skingen tokenize PROMPT: the CLIP token ids of a prompt as JSON.
#include <cstdio>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/prompt_chunks.hpp"
#include "engine/prompt_extra_networks.hpp"
#include "engine/tokenizer_resolve.hpp"
#include "tools/cli/commands.hpp"

namespace skingen::cli {

void register_tokenize(CLI::App& app) {
  struct Options {
    std::string prompt;
    std::string tokenizer;
    std::string model;
    bool chunks = false;
    int backtrack = 20;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "tokenize",
      "Print a prompt's CLIP token ids as a JSON array (BOS ... EOS, no padding, no weight parsing); "
      "--chunks: A1111's 77-token chunks with per-token weights and the <lora:...> tags");
  cmd->add_option("prompt", opt->prompt, "The prompt (UTF-8)")->required();
  cmd->add_option("--tokenizer", opt->tokenizer,
                  "A diffusers tokenizer/ folder (vocab.json + merges.txt) or bpe_simple_vocab_16e6.txt.gz");
  cmd->add_option("--model", opt->model, "Find the tokenizer next to this checkpoint or in this diffusers folder");
  cmd->add_flag("--chunks", opt->chunks,
                "A1111 prompt syntax: {\"loras\": [...], \"chunks\": [{\"ids\": [77], \"weights\": [77]}, ...]}");
  cmd->add_option("--comma-backtrack", opt->backtrack, "With --chunks: A1111's comma padding backtrack (0 = off)")
      ->check(CLI::Range(0, 74));
  cmd->callback([opt] {
    const auto path = [](const std::string& s) { return s.empty() ? std::nullopt : std::optional<std::filesystem::path>(s); };
    auto tok = engine::load_tokenizer(engine::resolve_tokenizer(path(opt->tokenizer), path(opt->model)));
    nlohmann::json out;
    if (!opt->chunks) {
      out = tok.encode_with_specials(opt->prompt);
    } else {
      const auto extracted = engine::extract_extra_networks(opt->prompt);
      engine::ChunkOptions co;
      co.comma_padding_backtrack = opt->backtrack;
      out["loras"] = nlohmann::json::array();
      for (const auto& l : extracted.loras) {
        nlohmann::json j{{"tag", l.tag}, {"name", l.name}, {"te", l.te_multiplier}, {"unet", l.unet_multiplier}};
        if (l.dyn_dim) j["dyn"] = *l.dyn_dim;
        out["loras"].push_back(j);
      }
      for (const auto& o : extracted.others) out["ignored_tags"].push_back(o.tag);
      out["chunks"] = nlohmann::json::array();
      for (const auto& c : engine::tokenize_prompt_chunks(tok, extracted.text, co))
        out["chunks"].push_back({{"ids", c.ids}, {"weights", c.weights}});
    }
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  });
}

}  // namespace skingen::cli
