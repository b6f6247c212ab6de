// The text building blocks against Python itself (tests/data/clip/text_cases.json,
// written by tests/reference/text_ref.py): character classes and case mapping
// over every code point (as CRC-32s), final sigma, html.unescape, float(), int().
#include <catch2/catch.hpp>

#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/html_unescape.hpp"
#include "engine/py_number.hpp"
#include "engine/text_unicode.hpp"
#include "engine/utf8.hpp"

using namespace skingen::engine;
namespace fs = std::filesystem;

namespace {

nlohmann::json text_cases() {
  std::ifstream in(fs::path(SKINGEN_TEST_DATA) / "clip" / "text_cases.json");
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

std::u32string u32(const nlohmann::json& j) { return utf8_decode(j.get<std::string>(), "test"); }

template <typename F>
void for_each_code_point(F&& f) {
  for (char32_t c = 0; c < 0x110000; ++c)
    if (c < 0xD800 || c > 0xDFFF) f(c);
}

}  // namespace

TEST_CASE("character classes and str.lower agree with Python on every code point", "[text]") {
  const auto doc = text_cases();
  std::vector<unsigned char> classes, decimals;
  std::vector<unsigned char> lower_bytes;
  for_each_code_point([&](char32_t c) {
    classes.push_back(static_cast<unsigned char>(
        (text::is_clip_letter(c) ? 1 : 0) | (text::is_clip_number(c) ? 2 : 0) | (text::is_clip_other(c) ? 4 : 0) |
        (text::is_regex_space(c) ? 8 : 0) | (text::is_py_space(c) ? 16 : 0) | (text::is_py_word(c) ? 32 : 0)));
    decimals.push_back(static_cast<unsigned char>(text::py_decimal_value(c) + 1));
    const std::u32string l = text::py_lower(std::u32string(1, c));
    const auto put32 = [&](std::uint32_t v) {
      for (int k = 0; k < 4; ++k) lower_bytes.push_back(static_cast<unsigned char>(v >> (8 * k)));
    };
    put32(static_cast<std::uint32_t>(l.size()));
    for (char32_t x : l) put32(x);
  });
  const auto crc = [](const std::vector<unsigned char>& v) {
    return crc32(0L, v.data(), static_cast<uInt>(v.size()));
  };
  CHECK(crc(classes) == doc["crc"]["classes"].get<std::uint32_t>());
  CHECK(crc(decimals) == doc["crc"]["decimals"].get<std::uint32_t>());
  CHECK(crc(lower_bytes) == doc["crc"]["lower"].get<std::uint32_t>());
  // CLIP's literal alternatives under IGNORECASE: U+017F LATIN SMALL LETTER LONG S is an 's'.
  CHECK(text::clip_matches_letter(0x17F, 's'));
  CHECK_FALSE(text::clip_matches_letter(0x17F, 't'));
}

TEST_CASE("str.lower applies the final-sigma rule as CPython", "[text]") {
  for (const auto& c : text_cases()["lower"]) {
    INFO("in: " << c["in"].get<std::string>());
    CHECK(utf8_encode(text::py_lower(u32(c["in"]))) == c["out"].get<std::string>());
  }
}

TEST_CASE("html.unescape: every HTML5 entity and the numeric edge cases", "[text]") {
  const auto doc = text_cases();
  REQUIRE(doc["unescape"].size() > 2231);
  for (const auto& c : doc["unescape"]) {
    INFO("in: " << c["in"].get<std::string>());
    CHECK(utf8_encode(text::html_unescape(u32(c["in"]))) == c["out"].get<std::string>());
  }
}

TEST_CASE("float() and int() of prompt numbers as Python parses them", "[text]") {
  const auto doc = text_cases();
  for (const auto& c : doc["float"]) {
    INFO("float(" << c["s"].get<std::string>() << ")");
    const auto v = text::parse_py_float(u32(c["s"]));
    if (c.contains("error")) {
      CHECK_FALSE(v.has_value());
    } else if (c["v"].is_string()) {
      REQUIRE(v.has_value());
      const std::string s = c["v"];
      if (s == "nan") CHECK(std::isnan(*v));
      else CHECK(*v == (s == "inf" ? HUGE_VAL : -HUGE_VAL));
    } else {
      REQUIRE(v.has_value());
      CHECK(*v == c["v"].get<double>());
    }
  }
  for (const auto& c : doc["int"]) {
    INFO("int(" << c["s"].get<std::string>() << ")");
    const auto v = text::parse_py_int(u32(c["s"]));
    if (c.contains("error")) CHECK_FALSE(v.has_value());
    else CHECK(v == c["v"].get<long long>());
  }
}
