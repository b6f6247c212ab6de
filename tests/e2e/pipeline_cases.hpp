#pragma once
// The end-to-end txt2img cases of tests/data/pipeline/cases.json (written by
// tests/reference/make_pipeline_goldens.py) and helpers to run them through
// the skingen binary.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/tensor.hpp"
#include "engine/image.hpp"
#include "engine/png_reader.hpp"
#include "engine/safetensors_reader.hpp"
#include "test_util/run_command.hpp"

namespace pipeline_test {

inline std::filesystem::path data_dir() { return std::filesystem::path(SKINGEN_TEST_DATA) / "pipeline"; }

inline nlohmann::json cases_json() {
  std::ifstream f(data_dir() / "cases.json");
  if (!f) throw std::runtime_error("cannot open " + (data_dir() / "cases.json").string());
  return nlohmann::json::parse(f);
}

// A case's arguments with {dir} replaced by the data folder.
inline std::vector<std::string> case_args(const nlohmann::json& c) {
  std::vector<std::string> r{"generate"};
  for (const auto& a : c.at("args")) {
    std::string s = a.get<std::string>();
    for (auto p = s.find("{dir}"); p != std::string::npos; p = s.find("{dir}")) s.replace(p, 5, data_dir().string());
    r.push_back(s);
  }
  return r;
}

inline const nlohmann::json& find_case(const nlohmann::json& cases, const std::string& name) {
  for (const auto& c : cases.at("cases"))
    if (c.at("name") == name) return c;
  throw std::runtime_error("no pipeline case " + name);
}

// `skingen ARGS… --quiet --threads 1`, output captured in `scratch`. One
// thread: on the tiny model a second OpenMP thread only adds synchronisation,
// and on a loaded machine (other processes on both cores) that costs up to 100x.
inline CommandResult run_skingen(std::vector<std::string> args, const std::filesystem::path& scratch) {
  args.insert(args.end(), {"--quiet", "--threads", "1"});
  return run_command(SKINGEN_BINARY, args, scratch);
}

inline skingen::engine::Tensor read_latent(const std::filesystem::path& p) {
  const auto f = skingen::engine::SafetensorsFile::open(p);
  const auto* info = f.find("latent");
  if (!info) throw std::runtime_error(p.string() + " has no tensor 'latent'");
  return f.read_f32(*info);
}

inline skingen::engine::Image8 read_pixels(const std::filesystem::path& p) { return skingen::engine::read_png(p).image; }

inline std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace pipeline_test
