#include "engine/tokenizer_resolve.hpp"

#include <string>
#include <vector>

#include "engine/core/error.hpp"

namespace skingen::engine {
namespace {

namespace fs = std::filesystem;

constexpr const char* kOpenaiName = "bpe_simple_vocab_16e6.txt.gz";

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}
bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}
bool is_tokenizer_folder(const fs::path& d) { return is_file(d / "vocab.json") && is_file(d / "merges.txt"); }

// The candidates of a folder in order of preference.
std::optional<TokenizerSource> look_in(const fs::path& dir, std::vector<std::string>& tried) {
  const std::pair<fs::path, TokenizerSource::Kind> candidates[] = {
      {dir, TokenizerSource::Kind::Folder},
      {dir / "tokenizer", TokenizerSource::Kind::Folder},
      {dir / kOpenaiName, TokenizerSource::Kind::MergesFile},
  };
  for (const auto& [p, kind] : candidates) {
    if (kind == TokenizerSource::Kind::Folder) {
      tried.push_back((p / "vocab.json").string() + " + merges.txt");
      if (is_tokenizer_folder(p)) return TokenizerSource{kind, p};
    } else {
      tried.push_back(p.string());
      if (is_file(p)) return TokenizerSource{kind, p};
    }
  }
  return std::nullopt;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

TokenizerSource resolve_tokenizer(const std::optional<fs::path>& tokenizer, const std::optional<fs::path>& model) {
  if (tokenizer) {
    std::vector<std::string> tried;
    const fs::path& p = *tokenizer;
    if (is_dir(p)) {
      if (auto s = look_in(p, tried)) return *s;
      throw UsageError("--tokenizer " + p.string() + ": no CLIP tokenizer in this folder (looked for " + join(tried) + ")");
    }
    if (!is_file(p)) throw UsageError("--tokenizer " + p.string() + ": no such file or folder");
    const auto name = p.filename().string();
    if (name == "vocab.json" || name == "merges.txt") {
      if (is_tokenizer_folder(p.parent_path())) return {TokenizerSource::Kind::Folder, p.parent_path()};
      throw UsageError("--tokenizer " + p.string() + ": vocab.json and merges.txt must sit together in " +
                       p.parent_path().string());
    }
    return {TokenizerSource::Kind::MergesFile, p};
  }
  if (model) {
    const fs::path& m = *model;
    if (is_dir(m)) {
      const fs::path d = m / "tokenizer";
      if (is_tokenizer_folder(d)) return {TokenizerSource::Kind::Folder, d};
      throw UsageError("--model " + m.string() + ": this diffusers folder has no tokenizer/vocab.json + merges.txt; " +
                       "pass --tokenizer PATH");
    }
    if (!is_file(m)) throw UsageError("--model " + m.string() + ": no such file or folder");
    const fs::path dir = m.has_parent_path() ? m.parent_path() : fs::path(".");
    std::vector<std::string> looked;
    const fs::path d = dir / "tokenizer";
    looked.push_back((d / "vocab.json").string() + " + merges.txt");
    if (is_tokenizer_folder(d)) return {TokenizerSource::Kind::Folder, d};
    looked.push_back((dir / kOpenaiName).string());
    if (is_file(dir / kOpenaiName)) return {TokenizerSource::Kind::MergesFile, dir / kOpenaiName};
    throw UsageError("no CLIP tokenizer next to --model " + m.string() + " (looked for " + join(looked) +
                     "); pass --tokenizer PATH (a diffusers tokenizer/ folder or " + kOpenaiName + ")");
  }
  throw UsageError("no tokenizer: pass --tokenizer PATH (a diffusers tokenizer/ folder or " + std::string(kOpenaiName) +
                   ") or --model PATH");
}

ClipTokenizer load_tokenizer(const TokenizerSource& source) {
  return source.kind == TokenizerSource::Kind::Folder ? ClipTokenizer::from_folder(source.path)
                                                      : ClipTokenizer::from_merges_file(source.path);
}

}  // namespace skingen::engine
