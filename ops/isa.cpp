#include "ops/isa.hpp"

#include <cctype>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace skingen::ops {

bool cpu_has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

Isa parse_max_isa(const char* value) {
  if (value == nullptr || *value == '\0') return Isa::Avx512;
  std::string v(value);
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "avx2") return Isa::Avx2;
  if (v == "avx512") return Isa::Avx512;
  throw std::invalid_argument("SKINGEN_MAX_ISA=" + std::string(value) + ": expected avx2 or avx512 (or unset)");
}

// Read on every dispatch rather than cached: no hidden state, and a lookup in
// the environment costs far less than any kernel call it selects for.
Isa max_isa() { return parse_max_isa(std::getenv("SKINGEN_MAX_ISA")); }

}  // namespace skingen::ops
