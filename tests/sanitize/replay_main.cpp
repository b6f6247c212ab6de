// Replays every file of a corpus folder through the fuzz entry point, plus
// every truncation of each file and a fixed, seeded set of byte mutations, so
// that the normal suite catches memory errors and undefined behaviour in the
// reader under ASan + UBSan (tests/sanitize/CMakeLists.txt).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(argv[1]))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "no files in %s\n", argv[1]);
    return 1;
  }
  std::mt19937 rng(12345);
  std::size_t runs = 0;
  for (const auto& p : files) {
    std::ifstream in(p, std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    ++runs;
    // Each truncation (a heap copy of exactly that length, so ASan sees overreads).
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      const std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
      LLVMFuzzerTestOneInput(cut.data(), cut.size());
      ++runs;
    }
    // Seeded single- and multi-byte mutations.
    static constexpr std::uint8_t kInteresting[] = {0, 1, 0x7f, 0x80, 0xff, '"', '{', '}', '[', ']', ',', ':', '-', '9'};
    for (int m = 0; m < 300 && !bytes.empty(); ++m) {
      std::vector<std::uint8_t> mut = bytes;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        const std::size_t at = rng() % mut.size();
        mut[at] = (rng() & 1) ? kInteresting[rng() % std::size(kInteresting)] : static_cast<std::uint8_t>(rng());
      }
      LLVMFuzzerTestOneInput(mut.data(), mut.size());
      ++runs;
    }
  }
  std::printf("replayed %zu files, %zu inputs without a sanitizer report\n", files.size(), runs);
  return 0;
}
