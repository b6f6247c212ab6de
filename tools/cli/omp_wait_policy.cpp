#include "tools/cli/omp_wait_policy.hpp"

#include <unistd.h>

#include <cstdlib>

namespace skingen::cli {

void ensure_passive_omp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // exec failed (no /proc?): carry on with the default policy.
}

}  // namespace skingen::cli
