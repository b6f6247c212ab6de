#include "tools/cli/batch_jobs.hpp"

#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"

namespace fs = std::filesystem;

namespace skingen::cli {
namespace {

// A range larger than this is a typo, not a plan.
constexpr std::uint64_t kMaxSeedsPerLine = 100000;

bool parse_u64(std::string_view s, std::uint64_t& v) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

std::vector<std::uint64_t> parse_seeds(const nlohmann::json& v) {
  std::vector<std::uint64_t> seeds;
  if (v.is_array()) {
    for (const auto& s : v) {
      if (!s.is_number_unsigned()) throw UsageError("\"seeds\": expected non-negative integers");
      seeds.push_back(s.get<std::uint64_t>());
    }
  } else if (v.is_string()) {
    const auto text = v.get<std::string>();
    const auto dash = text.find('-');
    std::uint64_t a = 0, b = 0;
    if (dash == std::string::npos || !parse_u64(std::string_view(text).substr(0, dash), a) ||
        !parse_u64(std::string_view(text).substr(dash + 1), b) || b < a)
      throw UsageError("\"seeds\": expected \"FIRST-LAST\" (inclusive, FIRST <= LAST), got \"" + text + "\"");
    if (b - a >= kMaxSeedsPerLine)
      throw UsageError("\"seeds\": " + text + " is more than " + std::to_string(kMaxSeedsPerLine) + " seeds");
    for (std::uint64_t s = a; s <= b; ++s) seeds.push_back(s);
  } else {
    throw UsageError("\"seeds\": expected a list of integers or \"FIRST-LAST\"");
  }
  if (seeds.empty()) throw UsageError("\"seeds\": empty");
  return seeds;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

}  // namespace

ShardSpec parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  std::uint64_t i = 0, n = 0;
  if (slash == std::string::npos || !parse_u64(std::string_view(text).substr(0, slash), i) ||
      !parse_u64(std::string_view(text).substr(slash + 1), n) || n == 0 || n > 1'000'000 || i >= n)
    throw UsageError("--shard: expected I/N with 0 <= I < N (I counts from 0, e.g. 0/4 … 3/4), got '" + text + "'");
  return {static_cast<int>(i), static_cast<int>(n)};
}

std::vector<JobLine> read_job_lines(const fs::path& jobs) {
  std::ifstream in(jobs);
  if (!in) throw UsageError(jobs.string() + ": cannot read the jobs file");
  std::vector<JobLine> lines;
  std::string text;
  int number = 0;
  while (std::getline(in, text)) {
    ++number;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    lines.push_back({number, lines.size(), text});
  }
  return lines;
}

BatchJob parse_job_line(const JobLine& line, const fs::path& out_dir) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line.text);
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw UsageError("expected a JSON object");
  BatchJob b;
  if (j.contains("seeds")) {
    if (j.contains("seed")) throw UsageError("give \"seed\" or \"seeds\", not both");
    b.seeds = parse_seeds(j["seeds"]);
    j.erase("seeds");
  }
  apply_job_json(b.job, j, "job");
  if (b.seeds.empty()) b.seeds.push_back(b.job.seed ? *b.job.seed : line.job);
  std::string out = b.job.out.empty() ? "job{job}-{seed}.png" : b.job.out;
  out = replace_all(out, "{job}", std::to_string(line.job));
  if (b.seeds.size() > 1 && out.find("{seed}") == std::string::npos) {
    const fs::path p(out);
    out = (p.parent_path() / (p.stem().string() + "-{seed}" + p.extension().string())).string();
  }
  b.job.out = fs::path(out).is_absolute() ? out : (out_dir / out).string();
  return b;
}

}  // namespace skingen::cli
