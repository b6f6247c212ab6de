// A corpus of malformed safetensors files, generated here: every file is
// rejected with one FormatError whose message names the file, the tensor when
// there is one, and the rule broken (docs/FORMATS.md, "safetensors";
// huggingface/safetensors safetensors/src/tensor.rs `read_metadata` and
// `Metadata::validate`).
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/safetensors_reader.hpp"
#include "test_util/temp_dir.hpp"

using namespace skingen;
using namespace skingen::engine;

namespace {

std::string le64(std::uint64_t v) {
  std::string b(8, '\0');
  for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  return b;
}

// A file image: the 8-byte length of `header`, the header, then `buffer` bytes.
std::string image(const std::string& header, std::size_t buffer) {
  return le64(header.size()) + header + std::string(buffer, '\x11');
}

struct Case {
  std::string name;   // also the file name
  std::string bytes;  // the whole file
  std::string expect;  // a fragment of the message
  std::optional<std::string> tensor;  // the tensor the message must name
};

std::string entry(const std::string& dtype, const std::string& shape, const std::string& offsets) {
  return R"({"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
}

std::vector<Case> malformed_corpus() {
  const std::string w = R"({"w":)";
  std::string deep_shape;
  for (int i = 0; i < 20000; ++i) deep_shape += '[';
  for (int i = 0; i < 20000; ++i) deep_shape += ']';
  std::vector<Case> c = {
      {"empty", "", "0 bytes, too small for the 8-byte header length", {}},
      {"seven_bytes", std::string(7, '\x01'), "7 bytes, too small", {}},
      {"header_past_end", le64(100) + "{}", "header length 100 runs past the end of the file (10 bytes)", {}},
      {"huge_header_length", le64(0xffffffffffffff00ull) + "{}", "exceeds the limit of 100000000 bytes", {}},
      {"header_just_over_limit", le64(100'000'001) + "{}", "header length 100000001 exceeds the limit", {}},
      {"zero_header_length", le64(0), "header does not start with '{'", {}},
      {"not_json", image("{this is not json}", 0), "header is not valid JSON", {}},
      {"truncated_json", image(R"({"w":{"dtype":)", 0), "header is not valid JSON", {}},
      {"json_array", image("[1, 2, 3]", 0), "header does not start with '{'", {}},
      {"leading_space", image(" {}", 0), "header does not start with '{'", {}},
      {"trailing_garbage", image("{} x", 0), "header is not valid JSON", {}},
      {"nul_padding", image(std::string("{}") + '\0' + '\0', 0), "header is not valid JSON (NUL byte at byte 10", {}},
      {"nul_hides_bytes", image(std::string("{}") + '\0' + "hidden payload", 0), "NUL byte", {}},
      {"unknown_dtype", image(w + entry("F17", "[2]", "[0,4]") + "}", 4), "unknown dtype 'F17'", "w"},
      {"unsupported_dtype", image(w + entry("C64", "[1]", "[0,8]") + "}", 8),
       "dtype 'C64' is not supported by skingen", "w"},
      {"dtype_not_string", image(R"({"w":{"dtype":5,"shape":[1],"data_offsets":[0,1]}})", 1),
       "'dtype' is not a string", "w"},
      {"negative_dim", image(w + entry("F32", "[-1,4]", "[0,16]") + "}", 16),
       "shape [-1, 4] has a dimension that is not a non-negative integer", "w"},
      {"string_dim", image(w + entry("F32", R"(["4"])", "[0,16]") + "}", 16),
       "has a dimension that is not a non-negative integer", "w"},
      {"float_dim", image(w + entry("F32", "[4.0]", "[0,16]") + "}", 16),
       "has a dimension that is not a non-negative integer", "w"},
      {"fractional_dim", image(w + entry("F32", "[2.5]", "[0,10]") + "}", 10),
       "has a dimension that is not a non-negative integer", "w"},
      {"dim_past_u64", image(w + entry("F32", "[18446744073709551616]", "[0,4]") + "}", 4),
       "has a dimension that is not a non-negative integer", "w"},
      {"nested_shape", image(w + entry("F32", deep_shape, "[0,4]") + "}", 4),
       "has a dimension that is not a non-negative integer", "w"},
      {"shape_not_array", image(w + entry("F32", "4", "[0,16]") + "}", 16), "'shape' is not an array", "w"},
      {"size_mismatch", image(w + entry("F32", "[4]", "[0,8]") + "}", 8),
       "shape [4] of F32 needs 16 bytes but data_offsets span 8", "w"},
      {"shape_product_overflow", image(w + entry("F32", "[4294967296,4294967296,4]", "[0,0]") + "}", 0),
       "overflows the byte count", "w"},
      {"overflow_hidden_by_zero", image(w + entry("U8", "[0,4611686018427387904,4611686018427387904]", "[0,0]") + "}", 0),
       "overflows the byte count", "w"},
      {"offsets_past_end", image(w + entry("F32", "[4]", "[0,16]") + "}", 8),
       "data_offsets end 16 is past the data buffer (8 bytes)", "w"},
      {"end_before_begin", image(w + entry("F32", "[1]", "[8,4]") + "}", 8), "end before begin", "w"},
      {"overlap",
       image(R"({"a":)" + entry("F32", "[2]", "[0,8]") + R"(,"b":)" + entry("F32", "[2]", "[4,12]") + "}", 12),
       "data_offsets begin 4 overlaps the previous tensor (ends at 8)", "b"},
      {"hole",
       image(R"({"a":)" + entry("F32", "[2]", "[0,8]") + R"(,"b":)" + entry("F32", "[2]", "[12,20]") + "}", 20),
       "data_offsets begin 12 leaves a hole after byte 8", "b"},
      {"hole_at_start", image(w + entry("F32", "[1]", "[4,8]") + "}", 8), "leaves a hole after byte 0", "w"},
      {"trailing_bytes", image(w + entry("F32", "[2]", "[0,8]") + "}", 16),
       "the data buffer has 16 bytes but the tensors cover 8", {}},
      {"bytes_without_tensors", image("{}", 4), "the data buffer has 4 bytes but the tensors cover 0", {}},
      {"duplicate_key",
       image(w + entry("F32", "[1]", "[0,4]") + R"(,"w":)" + entry("F32", "[1]", "[4,8]") + "}", 8),
       "duplicate key 'w' in the JSON header", {}},
      {"duplicate_field", image(R"({"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})", 4),
       "duplicate key 'dtype'", {}},
      {"duplicate_metadata_key", image(R"({"__metadata__":{"a":"1","a":"2"}})", 0), "duplicate key 'a'", {}},
      {"metadata_not_string", image(R"({"__metadata__":{"ss_epoch":15}})", 0),
       "'__metadata__' value of 'ss_epoch' is not a string", {}},
      {"metadata_nested", image(R"({"__metadata__":{"x":{"y":"z"}}})", 0),
       "'__metadata__' value of 'x' is not a string", {}},
      {"metadata_array", image(R"({"__metadata__":["a","b"]})", 0), "'__metadata__' is not a JSON object", {}},
      {"metadata_string", image(R"({"__metadata__":"abc"})", 0), "'__metadata__' is not a JSON object", {}},
      {"entry_not_object", image(R"({"w":5})", 0), "entry is not a JSON object", "w"},
      {"entry_array", image(R"({"w":["F32",[1],[0,4]]})", 4), "entry is not a JSON object", "w"},
      {"missing_dtype", image(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4), "missing field 'dtype'", "w"},
      {"missing_shape", image(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", 4), "missing field 'shape'", "w"},
      {"missing_offsets", image(R"({"w":{"dtype":"F32","shape":[1]}})", 4), "missing field 'data_offsets'", "w"},
      {"offsets_one_value", image(w + entry("F32", "[1]", "[4]") + "}", 4),
       "'data_offsets' must be two non-negative integers, got [4]", "w"},
      {"offsets_three_values", image(w + entry("F32", "[1]", "[0,4,8]") + "}", 4),
       "'data_offsets' must be two non-negative integers", "w"},
      {"offsets_negative", image(w + entry("F32", "[1]", "[-4,0]") + "}", 4),
       "'data_offsets' must be two non-negative integers", "w"},
      {"offsets_not_array", image(w + entry("F32", "[1]", R"("0-4")") + "}", 4),
       "'data_offsets' must be two non-negative integers", "w"},
      {"invalid_utf8_in_key", image("{\"w\xff\":" + entry("F32", "[1]", "[0,4]") + "}", 4),
       "header is not valid UTF-8 (byte 11 of the file)", {}},
      {"overlong_utf8", image("{\"__metadata__\":{\"a\":\"\xc0\xaf\"}}", 0), "header is not valid UTF-8", {}},
      {"utf8_surrogate", image("{\"__metadata__\":{\"a\":\"\xed\xa0\x80\"}}", 0), "header is not valid UTF-8", {}},
      {"truncated_utf8", image("{\"__metadata__\":{\"a\":\"\xe2\x82\"}}", 0), "header is not valid UTF-8", {}},
      {"lone_surrogate_escape", image(R"({"__metadata__":{"a":"\ud800"}})", 0), "header is not valid JSON", {}},
  };
  return c;
}

std::filesystem::path write(const TempDir& dir, const std::string& name, const std::string& bytes) {
  const auto p = dir.path() / (name + ".safetensors");
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return p;
}

}  // namespace

TEST_CASE("malformed safetensors files are rejected with a message naming file, tensor and rule", "[safetensors]") {
  TempDir dir;
  const auto corpus = malformed_corpus();
  REQUIRE(corpus.size() >= 25);
  for (const auto& c : corpus) {
    INFO("case " << c.name);
    const auto path = write(dir, c.name, c.bytes);
    std::string msg;
    try {
      SafetensorsFile::open(path);
    } catch (const FormatError& e) {
      msg = e.what();
    }
    INFO("message: " << msg);
    REQUIRE(!msg.empty());
    CHECK(msg.rfind(path.string() + ": ", 0) == 0);  // starts with the file
    CHECK(msg.find(c.expect) != std::string::npos);
    if (c.tensor) CHECK(msg.find("tensor '" + *c.tensor + "': ") != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
    CHECK(msg.size() < 600);
  }
}

TEST_CASE("messages about hostile names stay on one short line", "[safetensors]") {
  TempDir dir;
  const std::string name = "line\\nbreak" + std::string(5000, 'x');  // JSON escape: the key holds a newline
  const auto path = write(dir, "hostile", image(R"({")" + name + R"(":)" + entry("F99", "[1]", "[0,4]") + "}", 4));
  try {
    SafetensorsFile::open(path);
    FAIL("accepted");
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    REQUIRE(msg.find("tensor 'line\\x0abreakxxx") != std::string::npos);
    REQUIRE(msg.find('\n') == std::string::npos);
    REQUIRE(msg.size() < 400);
  }
}

TEST_CASE("edge cases the reference parser accepts are accepted", "[safetensors]") {
  TempDir dir;
  SECTION("no tensors at all") {
    const auto f = SafetensorsFile::open(write(dir, "empty_header", image("{}", 0)));
    REQUIRE(f.tensors().empty());
  }
  SECTION("null metadata, space padding, unknown extra fields, tensors out of offset order") {
    const std::string h = R"({"__metadata__":null,"b":{"dtype":"F16","shape":[2],"data_offsets":[4,8],"extra":[1]},)"
                          R"("a":{"dtype":"U8","shape":[2,2],"data_offsets":[0,4]}}   )";
    const auto f = SafetensorsFile::open(write(dir, "ok", image(h, 8)));
    REQUIRE(f.metadata().empty());
    REQUIRE(f.tensors().size() == 2);
    REQUIRE(f.tensors()[0].name == "a");  // in offset order
    REQUIRE(f.find("b")->shape == Shape{2});
  }
  SECTION("zero-size tensors and scalars") {
    const std::string h = R"({"z":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},)"
                          R"("s":{"dtype":"F64","shape":[],"data_offsets":[0,8]},)"
                          R"("z2":{"dtype":"F16","shape":[5,0],"data_offsets":[8,8]}})";
    const auto f = SafetensorsFile::open(write(dir, "zero", image(h, 8)));
    REQUIRE(f.find("s")->shape.empty());
    REQUIRE(f.find("z")->nbytes() == 0);
    REQUIRE(f.find("z2")->nbytes() == 0);
  }
  SECTION("valid UTF-8 in names and metadata") {
    const std::string h = "{\"__metadata__\":{\"t\":\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"},"
                          "\"\xe7\x9a\xae\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    const auto f = SafetensorsFile::open(write(dir, "utf8", image(h, 1)));
    REQUIRE(f.metadata().at("t") == "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    REQUIRE(f.find("\xe7\x9a\xae") != nullptr);
  }
}
