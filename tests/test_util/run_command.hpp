#pragma once
// Runs a command through /bin/sh and captures its exit code, stdout and
// stderr (for end-to-end tests of the skingen binary).
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Single-quotes one argument for /bin/sh.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (const char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// `args` are quoted one by one; `scratch` is a directory for the captured output.
inline CommandResult run_command(const std::string& program, const std::vector<std::string>& args,
                                 const std::filesystem::path& scratch) {
  std::string cmd = shell_quote(program);
  for (const auto& a : args) {
    cmd += ' ';
    cmd += shell_quote(a);
  }
  const auto out = scratch / "cmd.out", err = scratch / "cmd.err";
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string&&.
  cmd += " >";
  cmd += shell_quote(out.string());
  cmd += " 2>";
  cmd += shell_quote(err.string());
  const int status = std::system(cmd.c_str());
  const auto slurp = [](const std::filesystem::path& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

inline CommandResult run_command(const std::string& program, std::initializer_list<std::string> args,
                                 const std::filesystem::path& scratch) {
  return run_command(program, std::vector<std::string>(args), scratch);
}
