#pragma once
// JUnit XML, the test report format CI systems display (GitLab, Jenkins,
// GitHub test reporters): one <testsuite> of <testcase>s, a <failure> in
// each case that did not pass. Element and attribute names follow the
// Ant/Jenkins JUnit schema (testsuites > testsuite > testcase > failure).
#include <filesystem>
#include <string>
#include <vector>

namespace skingen::cli {

struct JUnitCase {
  std::string name;
  double seconds = 0;
  bool failed = false;
  std::string failure_type;     // e.g. "pixels", "hash-mismatch"
  std::string failure_message;  // one line
  std::string output;           // <system-out>: metrics
};

// XML 1.0 text / attribute escaping; characters XML 1.0 cannot carry
// (control characters other than tab, LF, CR) become '?'.
std::string xml_escape(const std::string& s);

std::string junit_xml(const std::string& suite, const std::vector<JUnitCase>& cases, double seconds);
// Written atomically (temp + rename).
void write_junit(const std::filesystem::path& path, const std::string& suite, const std::vector<JUnitCase>& cases,
                 double seconds);

}  // namespace skingen::cli
