#pragma once
// Test cases for one kernel of an op (AVX2 or AVX-512). Each names the kernel
// that ran in its output and fails if another one ran; where the AVX-512
// kernels cannot run, the AVX-512 cases skip visibly instead of comparing AVX2
// with itself. Catch2 v2 has no skip: the case prints kSkipMarker with the
// reason (a WARN, which the console reporter always prints) and returns, and
// ctest reports a test whose output holds the marker as skipped
// (SKIP_REGULAR_EXPRESSION, tests/CMakeLists.txt), counted apart from passes.
// Print the marker only right before returning: ctest counts a test that
// prints it as skipped even when it failed.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "ops/isa.hpp"

inline constexpr const char* kSkipMarker = "SKINGEN-SKIPPED:";

// Why our AVX-512 kernels do not run here ("" where they do).
inline std::string why_no_avx512() {
  using namespace skingen::ops;
  if (max_isa() != Isa::Avx512) return std::string("SKINGEN_MAX_ISA=") + std::getenv("SKINGEN_MAX_ISA") + " caps our kernels";
  if (!cpu_has_avx512()) return "this CPU lacks AVX-512F/VL/DQ";
  return "";
}

// True, after printing the skip marker, when the AVX-512 kernels cannot run here.
inline bool skip_without_avx512() {
  const std::string why = why_no_avx512();
  if (why.empty()) return false;
  // The reason first: Catch wraps long messages, and "isa cap: …" matches marker and reason on one line.
  WARN(kSkipMarker << " " << why << ": the AVX-512 kernel cannot run (the test would compare AVX2 with itself)");
  return true;
}

// Says which kernel `op` runs (name from the op's *_kernel_name) and requires it to be `expected`.
inline void require_kernel(const char* op, const std::string& ran, const std::string& expected) {
  std::printf("%s kernel: %s\n", op, ran.c_str());
  INFO(op << " runs the " << ran << " kernel");
  REQUIRE(ran == expected);
}
