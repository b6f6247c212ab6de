#include "tools/cli/resource_usage.hpp"

#include <fstream>
#include <string>

namespace skingen::cli {

ResourceUsage resource_usage() {
  ResourceUsage r;
  std::ifstream f("/proc/self/status");
  std::string key;
  double kb = 0;
  std::string unit;
  while (f >> key) {
    if (key == "VmHWM:" && f >> kb >> unit) r.peak_rss_mb = kb / 1024.0;
    else if (key == "VmRSS:" && f >> kb >> unit) r.rss_mb = kb / 1024.0;
  }
  return r;
}

}  // namespace skingen::cli
