// SKINGEN_MAX_ISA, the switch that caps our own kernels (ops/isa.hpp): its
// values, that an unknown value is an error naming the variable, and which
// kernels Auto dispatch runs; the ctest tests "isa cap: …" (tests/CMakeLists.txt)
// rerun that last case and an AVX-512 case under SKINGEN_MAX_ISA=avx2.
#include <catch2/catch.hpp>

#include <string>

#include "ops/attention.hpp"
#include "ops/elementwise.hpp"
#include "ops/isa.hpp"
#include "ops/norm.hpp"
#include "test_util/kernel_isa.hpp"

using skingen::ops::Isa;
using skingen::ops::parse_max_isa;

TEST_CASE("SKINGEN_MAX_ISA takes avx2 or avx512 in any case and means no cap when unset", "[ops][isa]") {
  CHECK(parse_max_isa(nullptr) == Isa::Avx512);
  CHECK(parse_max_isa("") == Isa::Avx512);
  CHECK(parse_max_isa("avx2") == Isa::Avx2);
  CHECK(parse_max_isa("AVX2") == Isa::Avx2);
  CHECK(parse_max_isa("avx512") == Isa::Avx512);
  CHECK(parse_max_isa("Avx512") == Isa::Avx512);
  CHECK_THROWS_WITH(parse_max_isa("avx512_core"),
                    "SKINGEN_MAX_ISA=avx512_core: expected avx2 or avx512 (or unset)");
  CHECK_THROWS_WITH(parse_max_isa("sse4"), Catch::Contains("SKINGEN_MAX_ISA=sse4"));
}

TEST_CASE("Auto dispatch runs the widest kernel SKINGEN_MAX_ISA and the CPU allow", "[ops][isa]") {
  // In the normal suite: AVX-512 on a CPU that has it. Under SKINGEN_MAX_ISA=avx2 (the ctest test
  // "isa cap: Auto dispatch …"): AVX2 everywhere.
  const std::string widest =
      skingen::ops::max_isa() == Isa::Avx512 && skingen::ops::cpu_has_avx512() ? "avx512" : "avx2";
  require_kernel("attention", skingen::ops::attention_kernel_name(Isa::Auto), widest);
  require_kernel("group_norm", skingen::ops::group_norm_kernel_name(Isa::Auto), widest);
  require_kernel("gelu", skingen::ops::gelu_kernel_name(Isa::Auto), widest);
  // An explicit AVX2 request is never widened.
  CHECK(skingen::ops::attention_kernel_name(Isa::Avx2) == "avx2");
}
