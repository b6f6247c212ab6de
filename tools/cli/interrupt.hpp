#pragma once
// Ctrl-C handling for long runs. A signal handler can only set a flag, so
// this one lock-free atomic is the CLI's single piece of process-wide state;
// the engine only ever sees a pointer to it (SamplerHooks::cancel), checks it
// between steps and unwinds with skingen::Cancelled, and every output is an
// AtomicFile, so an interrupted run leaves no partial file.
#include <atomic>

namespace skingen::cli {

// Installs SIGINT/SIGTERM handlers (once) and returns the flag they set.
const std::atomic<bool>* install_interrupt_handler();

}  // namespace skingen::cli
