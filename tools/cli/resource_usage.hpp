#pragma once
// Process resource figures for benchmark reports.
namespace skingen::cli {

struct ResourceUsage {
  double peak_rss_mb = 0;  // VmHWM: the resident-set high-water mark
  double rss_mb = 0;       // VmRSS now
};

ResourceUsage resource_usage();

}  // namespace skingen::cli
