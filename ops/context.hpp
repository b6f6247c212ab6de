#pragma once
// The oneDNN engine and stream every op runs on, plus the thread count our own
// kernels use. Created once by the caller and passed in; never global.
#include <dnnl.hpp>

namespace skingen::ops {

class Context {
 public:
  // threads <= 0: all cores (OpenMP's default).
  explicit Context(int threads = 0);

  const dnnl::engine& engine() const { return engine_; }
  dnnl::stream& stream() { return stream_; }
  int threads() const { return threads_; }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  int threads_;
};

}  // namespace skingen::ops
