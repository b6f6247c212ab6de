#include "tools/cli/junit_report.hpp"

#include <cstdio>

#include "engine/atomic_file.hpp"

namespace skingen::cli {

std::string xml_escape(const std::string& s) {
  std::string r;
  r.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': r += "&amp;"; break;
      case '<': r += "&lt;"; break;
      case '>': r += "&gt;"; break;
      case '"': r += "&quot;"; break;
      case '\'': r += "&apos;"; break;
      default: r += (c < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') || c == 0x7f ? '?' : ch;
    }
  }
  return r;
}

namespace {

std::string seconds_str(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

}  // namespace

std::string junit_xml(const std::string& suite, const std::vector<JUnitCase>& cases, double seconds) {
  std::size_t failures = 0;
  for (const auto& c : cases) failures += c.failed ? 1 : 0;
  const std::string counts = " tests=\"" + std::to_string(cases.size()) + "\" failures=\"" + std::to_string(failures) +
                             "\" errors=\"0\" time=\"" + seconds_str(seconds) + "\"";
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<testsuites name=\"skingen regress\"" + counts + ">\n";
  x += "  <testsuite name=\"" + xml_escape(suite) + "\"" + counts + " skipped=\"0\">\n";
  for (const auto& c : cases) {
    x += "    <testcase classname=\"skingen.regress\" name=\"" + xml_escape(c.name) + "\" time=\"" +
         seconds_str(c.seconds) + "\">\n";
    if (c.failed)
      x += "      <failure type=\"" + xml_escape(c.failure_type) + "\" message=\"" + xml_escape(c.failure_message) +
           "\">" + xml_escape(c.failure_message) + "</failure>\n";
    if (!c.output.empty()) x += "      <system-out>" + xml_escape(c.output) + "</system-out>\n";
    x += "    </testcase>\n";
  }
  x += "  </testsuite>\n</testsuites>\n";
  return x;
}

void write_junit(const std::filesystem::path& path, const std::string& suite, const std::vector<JUnitCase>& cases,
                 double seconds) {
  engine::AtomicFile f(path);
  f.write(junit_xml(suite, cases, seconds));
  f.commit();
}

}  // namespace skingen::cli
