// SHA-256 against FIPS 180-2 example vectors and Python hashlib digests, on
// both block functions; A1111/kohya file hash conventions on a hand-built file.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/file_hash.hpp"
#include "engine/sha256.hpp"
#include "test_util/temp_dir.hpp"

using namespace skingen;
using namespace skingen::engine;

namespace {

std::vector<Sha256::Impl> impls() {
  std::vector<Sha256::Impl> v{Sha256::Impl::scalar};
  if (Sha256::cpu_has_sha_extensions()) v.push_back(Sha256::Impl::shani);
  return v;
}

std::string hash_str(Sha256::Impl impl, const std::string& s) {
  Sha256 h(impl);
  h.update(s.data(), s.size());
  return to_hex(h.finish());
}

std::vector<std::uint8_t> pattern(std::size_t n) {  // bytes((i*7+3) % 256 for i in range(n))
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 7 + 3) % 256);
  return v;
}

void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("sha256 matches the FIPS 180-2 examples", "[sha256]") {
  for (const auto impl : impls()) {
    CAPTURE(static_cast<int>(impl));
    REQUIRE(hash_str(impl, "") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    REQUIRE(hash_str(impl, "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    REQUIRE(hash_str(impl, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    REQUIRE(hash_str(impl, std::string(1000000, 'a')) ==
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }
}

TEST_CASE("sha256 matches hashlib around the padding boundaries, in any chunking", "[sha256]") {
  // /usr/bin/python3 -c "import hashlib; print(hashlib.sha256(bytes((i*7+3)%256 for i in range(n))).hexdigest())"
  const std::vector<std::pair<std::size_t, std::string>> cases = {
      {0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {1, "084fed08b978af4d7d196a7446a86b58009e636b611db16211b65a9aadff29c5"},
      {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
      {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
      {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
      {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
      {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
      {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
      {120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
      {127, "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07"},
      {128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
      {1000, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371"},
      {4099, "68950b5dc8001f651c3884f0201a276dd63eb870c6f2d153ed52719ddbce3101"},
  };
  for (const auto impl : impls()) {
    for (const auto& [n, hex] : cases) {
      CAPTURE(static_cast<int>(impl), n);
      const auto bytes = pattern(n);
      Sha256 one(impl);
      one.update(bytes.data(), n);
      REQUIRE(to_hex(one.finish()) == hex);
      for (const std::size_t step : {1, 3, 63, 64, 65, 200}) {
        Sha256 h(impl);
        for (std::size_t i = 0; i < n; i += step) h.update(bytes.data() + i, std::min(step, n - i));
        REQUIRE(to_hex(h.finish()) == hex);
      }
    }
  }
}

TEST_CASE("file hashes follow the A1111 checkpoint and kohya LoRA conventions", "[sha256]") {
  TempDir dir;
  // A hand-built safetensors file: 8-byte length 56, the padded JSON header, two floats.
  // Digests from Python hashlib: of the whole file, and of the bytes after the header.
  std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  header.append(2, ' ');
  REQUIRE(header.size() == 56);
  std::string file(8, '\0');
  file[0] = 56;
  file += header;
  const float values[2] = {1.0f, 2.0f};
  file.append(reinterpret_cast<const char*>(values), 8);
  const auto path = dir.path() / "skin_4-000015.safetensors";
  write_bytes(path, file);

  const auto h = hash_safetensors_file(path);
  REQUIRE(h.file_sha256 == "dfd92c4ba718bb628e136b1bd5ee54816041331903a0071b0155fa119061ccec");
  REQUIRE(h.data_sha256 == "b9c80b5adeca450753a16950c3cc655d271f7bef7a485bc83f112b72fef21d37");
  REQUIRE(sha256_file_hex(path) == h.file_sha256);
  REQUIRE(sha256_file_hex(path, 64) == h.data_sha256);
  REQUIRE(a1111_model_hash(h.file_sha256) == "dfd92c4ba7");
  REQUIRE(a1111_lora_hash(h.data_sha256) == "b9c80b5adeca");

  // A length field pointing past the end is a FormatError naming the file.
  std::string bad = file;
  bad[0] = 100;
  write_bytes(dir.path() / "bad.safetensors", bad);
  REQUIRE_THROWS_WITH(hash_safetensors_file(dir.path() / "bad.safetensors"),
                      Catch::Contains("bad.safetensors") && Catch::Contains("past the end"));
  write_bytes(dir.path() / "tiny.safetensors", "abc");
  REQUIRE_THROWS_AS(hash_safetensors_file(dir.path() / "tiny.safetensors"), FormatError);
  REQUIRE_THROWS_WITH(sha256_file(dir.path() / "missing.safetensors"), Catch::Contains("missing.safetensors"));
}
