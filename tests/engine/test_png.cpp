// PNG writing and reading: round trips, determinism, fixtures written by PIL
// (the writer A1111 uses), the diffusers float -> 8-bit rule against a torch
// golden, and malformed files (truncated, bad CRCs, bad headers, corrupt
// pixel data, decompression bombs) that must be FormatErrors, never crashes.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/image.hpp"
#include "engine/png_chunks.hpp"
#include "engine/png_reader.hpp"
#include "engine/png_writer.hpp"
#include "test_util/temp_dir.hpp"

using namespace skingen;
using namespace skingen::engine;

namespace {

const std::filesystem::path kData = std::filesystem::path(SKINGEN_TEST_DATA) / "image";

nlohmann::json load_json(const std::filesystem::path& p) {
  std::ifstream f(p);
  REQUIRE(f.good());
  return nlohmann::json::parse(f);
}

Image8 pattern_image(int w, int h, int c) {
  Image8 img(w, h, c);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>((i * 37 + i / 7) % 251);
  return img;
}

std::uint32_t be32(const std::byte* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}
void set_be32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (24 - 8 * i));
}
// Recomputes the CRC of the chunk whose length field is at `offset`, with zlib directly.
void fix_crc(std::vector<std::byte>& png, std::size_t offset) {
  const std::uint32_t len = be32(png.data() + offset);
  const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(png.data() + offset + 4), len + 4);
  set_be32(png.data() + offset + 8 + len, static_cast<std::uint32_t>(crc));
}

std::vector<std::string> chunk_types(std::span<const std::byte> png) {
  std::vector<std::string> out;
  for (const auto& c : parse_png_chunks(png, "test")) out.push_back(c.type);
  return out;
}

}  // namespace

TEST_CASE("PNG round trip: pixels, text chunks, chunk order, determinism", "[png]") {
  const Image8 img = pattern_image(13, 7, 3);
  const std::vector<PngText> texts = {{"parameters", "stone wall\nSteps: 20, Sampler: Euler"},
                                      {"skingen", "{\"seed\":1}"},
                                      {"Comment", "石の壁, café"}};
  const auto png = encode_png(img, texts);
  REQUIRE(png == encode_png(img, texts));  // deterministic bytes
  // Text chunks right after IHDR, before the pixels; non-ASCII text as iTXt.
  REQUIRE(chunk_types(png) == std::vector<std::string>{"IHDR", "tEXt", "tEXt", "iTXt", "IDAT", "IEND"});
  // IEND's CRC is the same in every PNG file.
  REQUIRE(be32(png.data() + png.size() - 4) == 0xAE426082u);

  const auto dec = decode_png_bytes(png, "mem.png");
  REQUIRE(dec.image.width == 13);
  REQUIRE(dec.image.height == 7);
  REQUIRE(dec.image.channels == 3);
  REQUIRE(dec.image.pixels == img.pixels);
  REQUIRE(dec.metadata.header.bit_depth == 8);
  REQUIRE(dec.metadata.header.color_type == 2);
  REQUIRE(dec.metadata.texts.size() == 3);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    REQUIRE(dec.metadata.texts[i].keyword == texts[i].keyword);
    REQUIRE(dec.metadata.texts[i].text == texts[i].text);
  }
  REQUIRE(find_png_text(dec.metadata.texts, "skingen")->text == "{\"seed\":1}");
  REQUIRE(find_png_text(dec.metadata.texts, "nothing") == nullptr);
}

TEST_CASE("PNG writer handles gray and RGBA and the reader returns RGB", "[png]") {
  const Image8 gray = pattern_image(5, 4, 1);
  const auto g = decode_png_bytes(encode_png(gray), "gray.png");
  REQUIRE(g.metadata.header.color_type == 0);
  for (std::size_t i = 0; i < gray.pixel_count(); ++i)
    for (int c = 0; c < 3; ++c) REQUIRE(g.image.pixels[i * 3 + c] == gray.pixels[i]);
  const Image8 rgba = pattern_image(5, 4, 4);
  const auto r = decode_png_bytes(encode_png(rgba), "rgba.png");
  REQUIRE(r.metadata.header.color_type == 6);
  for (std::size_t i = 0; i < rgba.pixel_count(); ++i)
    for (int c = 0; c < 3; ++c) REQUIRE(r.image.pixels[i * 3 + c] == rgba.pixels[i * 4 + c]);
}

TEST_CASE("PNG reader decodes PIL-written files and their tEXt, zTXt and iTXt chunks", "[png]") {
  const auto ref = load_json(kData / "png_fixtures.json");
  REQUIRE(ref["fixtures"].size() == 5);
  for (const auto& f : ref["fixtures"]) {
    const std::string file = f["file"];
    CAPTURE(file);
    const auto dec = read_png(kData / file);
    REQUIRE(dec.image.width == f["width"].get<int>());
    REQUIRE(dec.image.height == f["height"].get<int>());
    REQUIRE(dec.image.pixels == f["rgb"].get<std::vector<std::uint8_t>>());
    const auto& texts = f["texts"];
    REQUIRE(dec.metadata.texts.size() == texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      REQUIRE(dec.metadata.texts[i].keyword == texts[i][0].get<std::string>());
      REQUIRE(dec.metadata.texts[i].text == texts[i][1].get<std::string>());
    }
    REQUIRE(read_png_metadata(kData / file).texts.size() == texts.size());
  }
}

TEST_CASE("float to 8-bit conversion matches diffusers' postprocess bit for bit", "[png]") {
  const auto ref = load_json(kData / "png_fixtures.json");
  const auto& golden = ref["u8_golden"];
  REQUIRE(golden.size() > 1000);
  for (const auto& g : golden) {
    const std::uint32_t bits = g[0];
    float x;
    std::memcpy(&x, &bits, 4);
    CAPTURE(x);
    REQUIRE(int(unit_range_to_u8(x)) == g[1].get<int>());
  }
  REQUIRE(unit_range_to_u8(std::nanf("")) == 0);
  // image_from_tensor reads NHWC, picking one image of the batch.
  Tensor t = Tensor::f32({2, 2, 3, 3});
  for (int i = 0; i < 36; ++i) t.f32_mut()[i] = -1.0f + 2.0f * static_cast<float>(i) / 35.0f;
  const Image8 img = image_from_tensor(t, 1);
  REQUIRE(img.width == 3);
  REQUIRE(img.height == 2);
  REQUIRE(img.channels == 3);
  for (int i = 0; i < 18; ++i) REQUIRE(img.pixels[i] == unit_range_to_u8(t.f32_data()[18 + i]));
  REQUIRE_THROWS_AS(image_from_tensor(t, 2), FormatError);
  REQUIRE_THROWS_AS(image_from_tensor(Tensor::f32({1, 2, 2, 2})), FormatError);
}

TEST_CASE("write_png is atomic: the file appears whole or not at all", "[png]") {
  TempDir dir;
  const Image8 img = pattern_image(8, 8, 3);
  write_png(dir.path() / "out.png", img, std::vector<PngText>{{"parameters", "x"}});
  REQUIRE(read_png(dir.path() / "out.png").image.pixels == img.pixels);
  // The target is a directory: the rename fails, and the temporary is removed.
  std::filesystem::create_directory(dir.path() / "taken.png");
  std::filesystem::create_directory(dir.path() / "taken.png" / "inner");
  REQUIRE_THROWS_AS(write_png(dir.path() / "taken.png", img), FormatError);
  REQUIRE_THROWS_AS(write_png(dir.path() / "missing" / "out.png", img), FormatError);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  REQUIRE(entries == 2);  // out.png and taken.png only: no temporary left behind
  // Invalid input is refused before anything is written.
  REQUIRE_THROWS_AS(encode_png(Image8(0, 4, 3)), FormatError);
  REQUIRE_THROWS_AS(encode_png(img, std::vector<PngText>{{" bad keyword", "x"}}), FormatError);
  REQUIRE_THROWS_AS(encode_png(img, std::vector<PngText>{{"k", std::string("a\0b", 3)}}), FormatError);
}

TEST_CASE("malformed PNGs are FormatErrors naming the file", "[png][malformed]") {
  const auto good = encode_png(pattern_image(9, 6, 3), std::vector<PngText>{{"parameters", "p\nSteps: 1, Seed: 2, Size: 9x6"}});
  const auto err = [](const std::vector<std::byte>& bytes) {
    try {
      decode_png_bytes(bytes, "bad.png");
    } catch (const FormatError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };

  SECTION("every truncation") {
    for (std::size_t n = 0; n < good.size(); ++n) {
      CAPTURE(n);
      const std::vector<std::byte> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
      const auto msg = err(cut);
      REQUIRE(msg.starts_with("bad.png: "));
    }
    REQUIRE_THAT(err({good.begin(), good.end() - 1}), Catch::Contains("truncated"));
  }
  SECTION("bad CRC in every chunk") {
    for (const auto& c : parse_png_chunks(good, "good")) {
      auto bad = good;
      bad[c.offset + 4 + 4 + c.data.size()] ^= std::byte{1};  // first CRC byte
      REQUIRE_THAT(err(bad), Catch::Contains("CRC mismatch in chunk '" + c.type + "'"));
    }
  }
  SECTION("bad signature, lengths and headers") {
    auto sig = good;
    sig[1] = std::byte{'J'};
    REQUIRE_THAT(err(sig), Catch::Contains("not a PNG file"));
    auto len = good;
    set_be32(len.data() + 8, 0x7ffffff0u);  // IHDR claims a huge length
    REQUIRE_THAT(err(len), Catch::Contains("truncated"));
    auto huge_len = good;
    set_be32(huge_len.data() + 8, 0x80000000u);
    REQUIRE_THAT(err(huge_len), Catch::Contains("exceeds 2^31-1"));
    auto zero = good;
    set_be32(zero.data() + 16, 0);  // width 0
    fix_crc(zero, 8);
    REQUIRE_THAT(err(zero), Catch::Contains("invalid size"));
    auto big = good;
    set_be32(big.data() + 16, 100000);  // 100000 x 6: valid PNG, larger than skingen reads
    fix_crc(big, 8);
    REQUIRE_THAT(err(big), Catch::Contains("larger than skingen reads"));
    auto depth = good;
    depth[24] = std::byte{3};  // bit depth 3
    fix_crc(depth, 8);
    REQUIRE_THAT(err(depth), Catch::Contains("bit depth 3"));
    auto type = good;
    type[12] = std::byte{'i'};  // first chunk is no longer IHDR
    type[13] = std::byte{'H'};
    fix_crc(type, 8);
    REQUIRE_THAT(err(type), Catch::Contains("not IHDR"));
  }
  SECTION("missing IDAT, missing IEND") {
    std::vector<std::byte> no_idat(good.begin(), good.begin() + 33);
    append_png_chunk(no_idat, "IEND", {});
    REQUIRE_THAT(err(no_idat), Catch::Contains("no IDAT"));
    std::vector<std::byte> no_iend(good.begin(), good.end() - 12);
    REQUIRE_THAT(err(no_iend), Catch::Contains("without an IEND"));
  }
  SECTION("corrupt pixel data with a valid CRC is stb's error, reported cleanly") {
    const auto chunks = parse_png_chunks(good, "good");
    const auto idat = std::find_if(chunks.begin(), chunks.end(), [](const PngChunk& c) { return c.type == "IDAT"; });
    auto bad = good;
    for (std::size_t i = 0; i < idat->data.size(); ++i) bad[idat->offset + 8 + i] = std::byte{0xff};
    fix_crc(bad, idat->offset);
    REQUIRE_THAT(err(bad), Catch::Contains("bad.png: cannot decode PNG pixel data"));
  }
  SECTION("random corruption of the pixel data never crashes") {
    const auto chunks = parse_png_chunks(good, "good");
    const auto idat = *std::find_if(chunks.begin(), chunks.end(), [](const PngChunk& c) { return c.type == "IDAT"; });
    std::mt19937 rng(7);
    int decoded = 0, rejected = 0;
    for (int trial = 0; trial < 3000; ++trial) {
      auto bad = good;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f)
        bad[idat.offset + 8 + rng() % idat.data.size()] ^= static_cast<std::byte>(1 + rng() % 255);
      fix_crc(bad, idat.offset);
      try {
        const auto d = decode_png_bytes(bad, "fuzz.png");
        REQUIRE(d.image.pixels.size() == 9 * 6 * 3);
        ++decoded;
      } catch (const FormatError&) {
        ++rejected;
      }
    }
    REQUIRE(decoded + rejected == 3000);
    REQUIRE(rejected > 0);
  }
  SECTION("compressed text: corrupt streams and decompression bombs") {
    const auto with_chunk = [&](std::string_view type, const std::vector<std::byte>& data) {
      std::vector<std::byte> png(good.begin(), good.begin() + 33);
      append_png_chunk(png, type, data);
      png.insert(png.end(), good.begin() + 33, good.end());
      return png;
    };
    const auto bytes = [](std::string_view s) {
      std::vector<std::byte> v(s.size());
      std::memcpy(v.data(), s.data(), s.size());
      return v;
    };
    // zTXt holding 16 MiB of zeros (16 KiB compressed): refused past 8 MiB.
    std::vector<unsigned char> zeros(16u << 20, 0), packed(compressBound(zeros.size()));
    uLongf packed_len = packed.size();
    REQUIRE(compress(packed.data(), &packed_len, zeros.data(), zeros.size()) == Z_OK);
    auto bomb = bytes(std::string("bomb\0\0", 6));
    for (uLongf i = 0; i < packed_len; ++i) bomb.push_back(static_cast<std::byte>(packed[i]));
    REQUIRE_THAT(err(with_chunk("zTXt", bomb)), Catch::Contains("inflates to more than"));
    REQUIRE_THAT(err(with_chunk("zTXt", bytes(std::string("k\0\0garbage", 10)))), Catch::Contains("corrupt compressed text"));
    REQUIRE_THAT(err(with_chunk("tEXt", bytes("no separator"))), Catch::Contains("missing NUL"));
    REQUIRE_THAT(err(with_chunk("iTXt", bytes(std::string("k\0\2\0", 4)))), Catch::Contains("compression flag"));
    REQUIRE_THAT(err(with_chunk("tEXt", bytes(std::string("\0text", 5)))), Catch::Contains("keyword"));
  }
}

TEST_CASE("reading a missing or non-PNG file names it", "[png][malformed]") {
  TempDir dir;
  REQUIRE_THROWS_WITH(read_png(dir.path() / "nope.png"), Catch::Contains("nope.png"));
  std::ofstream(dir.path() / "empty.png").close();
  REQUIRE_THROWS_WITH(read_png(dir.path() / "empty.png"), Catch::Contains("empty.png: not a PNG file"));
  REQUIRE_THROWS_WITH(read_png(dir.path()), Catch::Contains("not a regular file"));
}
