#pragma once
// Writes a file under a temporary name in the destination directory and
// renames it into place on commit(), so a failed or interrupted run never
// leaves a partial file under the final name. Destroying an uncommitted
// AtomicFile removes the temporary.
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>

namespace skingen::engine {

class AtomicFile {
 public:
  // Sync::Yes (the default) fsyncs before the rename, so that a crash never
  // leaves an empty file under the final name. Sync::No skips it for
  // throwaway files (test fixtures), where a 2 GB fsync on a slow disk
  // would dominate the run time; the rename is still atomic.
  enum class Sync { Yes, No };
  explicit AtomicFile(std::filesystem::path target, Sync sync = Sync::Yes);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t n);
  void write(std::span<const std::byte> bytes) { write(bytes.data(), bytes.size()); }
  void write(const std::string& s) { write(s.data(), s.size()); }
  // fsync (unless Sync::No), then rename over the target.
  void commit();

  const std::filesystem::path& temp_path() const { return temp_; }

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
  bool committed_ = false;
  Sync sync_ = Sync::Yes;
};

// Convenience: the whole content at once.
void write_file_atomically(const std::filesystem::path& target, std::span<const std::byte> bytes);

}  // namespace skingen::engine
