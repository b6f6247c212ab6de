#include "tools/cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace skingen::cli {

Progress::Progress(std::string label, bool quiet)
    : label_(std::move(label)), quiet_(quiet), tty_(::isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()) {}

void Progress::update(int done, int total) {
  if (quiet_ || total <= 0) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double per_step = done > 0 ? elapsed / done : 0.0;
  const double eta = per_step * (total - done);
  if (tty_) {
    constexpr int kWidth = 30;
    const int filled = total ? done * kWidth / total : 0;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(kWidth - filled), '.');
    std::fprintf(stderr, "\r%s [%s] %d/%d  %.2f s/step  ETA %.0f s ", label_.c_str(), bar.c_str(), done, total,
                 per_step, eta);
    open_line_ = true;
  } else {
    std::fprintf(stderr, "%s: step %d/%d, %.2f s/step, ETA %.0f s\n", label_.c_str(), done, total, per_step, eta);
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (open_line_) std::fputc('\n', stderr);
  open_line_ = false;
}

}  // namespace skingen::cli
