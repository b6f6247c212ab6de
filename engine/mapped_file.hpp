#pragma once
// A read-only memory mapping of a whole file (RAII). Pages are read by the
// kernel only when touched, so parsing a header never reads tensor bytes.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>

namespace skingen::engine {

class MappedFile {
 public:
  // Throws FormatError naming the file when it cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::filesystem::path& path() const { return path_; }
  // Drops the pages of [offset, offset+len) from this process's resident set
  // (they stay in the page cache); used after a tensor has been converted.
  void release(std::size_t offset, std::size_t len) const;

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace skingen::engine
