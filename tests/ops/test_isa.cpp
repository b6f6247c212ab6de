// SKINGEN_MAX_ISA, the switch that caps our own kernels (ops/isa.hpp): its
// values, and that an unknown value is an error naming the variable. That the
// cap reaches the kernels is the ctest test "isa cap: …" (tests/CMakeLists.txt).
#include <catch2/catch.hpp>

#include "ops/isa.hpp"

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
