// libFuzzer entry point for the safetensors reader (tools/fuzz.sh builds it
// with clang; tests/sanitize replays the seed corpus through it under GCC's
// ASan + UBSan). A file is either rejected with FormatError or accepted, and
// an accepted file must satisfy the invariants every later stage relies on:
// each tensor's bytes lie inside the input, and its byte span equals
// element count × dtype size. Any other exception or a broken invariant aborts.
// Accepted headers then go through model detection (what `skingen inspect`
// runs on untrusted names, shapes and metadata).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/checkpoint_kind.hpp"
#include "engine/kohya_metadata.hpp"
#include "engine/lora_kind.hpp"
#include "engine/safetensors_reader.hpp"

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "accepted file breaks an invariant: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace skingen::engine;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  SafetensorsHeader h;
  try {
    h = parse_safetensors(bytes, "fuzz-input");
  } catch (const skingen::FormatError&) {
    return 0;
  }
  std::uint64_t covered = 0;
  std::vector<float> scratch;
  for (const auto& t : h.tensors) {
    check(t.begin == covered && t.end >= t.begin, "tensors tile the buffer in order");
    check(h.data_offset() + t.end <= size, "tensor bytes inside the file");
    const std::int64_t n = shape_numel(t.shape);
    check(static_cast<std::uint64_t>(n) * dtype_size(t.dtype) == t.nbytes(), "byte span = elements x dtype size");
    covered = t.end;
    // Touch the bytes through the conversion every loader uses.
    if (n <= 4096) {
      scratch.resize(static_cast<std::size_t>(n));
      convert_to_f32(t.dtype, data + h.data_offset() + t.begin, scratch.data(), scratch.size());
    }
  }
  check(h.data_offset() + covered == size, "tensors cover the whole buffer");

  std::vector<KeyInfo> keys;
  for (const auto& t : h.tensors) {
    KeyInfo k{t.name, t.dtype, t.shape, std::nullopt};
    if (shape_numel(t.shape) == 1) {
      float v = 0;
      convert_to_f32(t.dtype, data + h.data_offset() + t.begin, &v, 1);
      k.value = v;
    }
    keys.push_back(std::move(k));
  }
  if (looks_like_lora(keys)) {
    const LoraInfo l = detect_lora(keys, h.metadata);
    check(l.modules == l.unet_modules + l.text_encoder_modules + l.text_encoder_2_modules + l.unknown_target_modules,
          "module counts add up");
  } else {
    detect_checkpoint(keys);
  }
  kohya_training(h.metadata);
  if (!keys.empty()) parse_training_stem(keys.front().name);
  return 0;
}
