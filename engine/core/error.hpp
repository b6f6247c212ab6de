#pragma once
// Exception types. Every message is one line naming the file, tensor or flag
// concerned and what was expected; only tools/ catches them, so that one place
// decides messages and exit codes (docs/ARCHITECTURE.md, "Rules the code follows").
#include <stdexcept>
#include <string>

namespace skingen {

// The input (a file, a tensor, a configuration) is not what it must be.
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The user asked for something impossible (bad flag value, bad combination); exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The run was interrupted (Ctrl-C); nothing may be left half-written.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("interrupted") {}
};

}  // namespace skingen
