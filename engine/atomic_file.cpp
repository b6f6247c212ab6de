#include "engine/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "engine/core/error.hpp"

namespace skingen::engine {

AtomicFile::AtomicFile(std::filesystem::path target, Sync sync) : target_(std::move(target)), sync_(sync) {
  const auto dir = target_.has_parent_path() ? target_.parent_path() : std::filesystem::path(".");
  // Hidden, per-process name: concurrent writers of the same target never collide.
  // (Appended piecewise: GCC 12 warns falsely on `"." + std::string` chains, bug 105329.)
  std::string name(".");
  name += target_.filename().string();
  name += ".tmp-";
  name += std::to_string(::getpid());
  temp_ = dir / name;
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw FormatError(target_.string() + ": cannot create output: " + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw FormatError(target_.string() + ": write failed: " + std::strerror(errno));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void AtomicFile::commit() {
  if (sync_ == Sync::Yes && ::fsync(fd_) != 0) throw FormatError(target_.string() + ": fsync failed: " + std::strerror(errno));
  ::close(fd_);
  fd_ = -1;
  if (::rename(temp_.c_str(), target_.c_str()) != 0)
    throw FormatError(target_.string() + ": cannot rename into place: " + std::strerror(errno));
  committed_ = true;
}

void write_file_atomically(const std::filesystem::path& target, std::span<const std::byte> bytes) {
  AtomicFile f(target);
  f.write(bytes);
  f.commit();
}

}  // namespace skingen::engine
