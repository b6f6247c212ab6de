#pragma once
// Progress on stderr: an updating bar (step k/N, s/step, ETA) when stderr is a
// terminal, one plain line per step otherwise, nothing with --quiet.
#include <chrono>
#include <string>

namespace skingen::cli {

class Progress {
 public:
  Progress(std::string label, bool quiet);
  void update(int done, int total);
  void finish();

 private:
  std::string label_;
  bool quiet_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  bool open_line_ = false;
};

}  // namespace skingen::cli
