#pragma once
// The jobs of `skingen batch`: one JSON object per line of a JSONL file, in
// the fields of apply_job_json (README "Batch generation") plus
//   "seeds": [7, 8, 9] or "7-9"   one generation per seed (inclusive range)
// Output names ("out", relative to --out-dir) may use {seed}, {i} (image of
// a --batch) and {job} (the job number); the default is "job{job}-{seed}.png".
// A line without seed or seeds uses its job number as the seed, so that a
// restart finds the same output names.
//
// Jobs are the non-blank lines, numbered from 0 in file order; with --shard
// I/N a process runs job j iff j mod N == I (I from 0), so N processes with
// I = 0..N-1 run every job exactly once and need no coordination.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tools/cli/job.hpp"

namespace skingen::cli {

struct ShardSpec {
  int index = 0;
  int count = 1;
  bool owns(std::size_t job) const { return job % static_cast<std::size_t>(count) == static_cast<std::size_t>(index); }
};

// "I/N" with 0 <= I < N; UsageError naming --shard otherwise.
ShardSpec parse_shard(const std::string& text);

struct JobLine {
  int line_number = 0;  // 1-based, as editors show it
  std::size_t job = 0;  // 0-based among the non-blank lines
  std::string text;
};

// Throws UsageError when the file cannot be read.
std::vector<JobLine> read_job_lines(const std::filesystem::path& jobs);

struct BatchJob {
  JobSpec job;  // out resolved against --out-dir, {job} replaced
  std::vector<std::uint64_t> seeds;
};

// Throws UsageError (bad JSON, unknown or mistyped field, bad seed range).
BatchJob parse_job_line(const JobLine& line, const std::filesystem::path& out_dir);

}  // namespace skingen::cli
