// tests/test_util/compare.hpp, which every golden test relies on: an output
// of another shape fails instead of passing on the golden's prefix (longer)
// or reading past its own end (shorter).
#include <catch2/catch.hpp>

#include "test_util/compare.hpp"

using skingen::engine::Tensor;

TEST_CASE("golden comparisons check the shape before the values", "[test_util]") {
  const Tensor golden = Tensor::from_values({4}, {1.0f, 2.0f, 3.0f, 4.0f});
  const Tensor longer = Tensor::from_values({5}, {1.0f, 2.0f, 3.0f, 4.0f, 99.0f});
  const Tensor shorter = Tensor::from_values({3}, {1.0f, 2.0f, 3.0f});
  const Tensor square = Tensor::from_values({2, 2}, {1.0f, 2.0f, 3.0f, 4.0f});
  CHECK_THROWS_WITH(relative_l2(longer, golden), "compare: output shape [5] differs from the reference's [4]");
  CHECK_THROWS_WITH(max_relative(longer, golden), Catch::Contains("[5]"));
  CHECK_THROWS_WITH(relative_l2(shorter, golden), Catch::Contains("[3]"));
  CHECK_THROWS_WITH(max_relative(shorter, golden), Catch::Contains("[3]"));
  CHECK_THROWS_WITH(relative_l2(square, golden), Catch::Contains("[2, 2]"));  // same count, other shape
  CHECK(relative_l2(golden, golden) == 0.0);
  const Tensor off = Tensor::from_values({4}, {1.0f, 2.0f, 3.0f, 5.0f});
  CHECK(relative_l2(off, golden) == Approx(1.0 / std::sqrt(30.0)));
  CHECK(max_relative(off, golden) == Approx(0.25));
  const Tensor ids = Tensor::empty(skingen::engine::DType::I32, {4});
  CHECK_THROWS_WITH(relative_l2(ids, golden), Catch::Contains("F32"));
}
