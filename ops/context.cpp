#include "ops/context.hpp"

#include <omp.h>

namespace skingen::ops {

Context::Context(int threads)
    : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_), threads_(threads > 0 ? threads : omp_get_num_procs()) {
  // oneDNN (Debian's build uses OpenMP) and our own loops share this setting.
  omp_set_num_threads(threads_);
}

}  // namespace skingen::ops
