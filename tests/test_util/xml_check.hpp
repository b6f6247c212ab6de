#pragma once
// A small XML 1.0 well-formedness check for reports the tests read (JUnit):
// one root element, properly nested and matching tags, quoted attributes
// without '<', and '&' only as the five predefined entities or a character
// reference. Not a validating parser: enough to catch broken escaping and
// nesting. Returns "" when well-formed, else what is wrong.
#include <cctype>
#include <cstddef>
#include <string>
#include <vector>

inline std::size_t count_occurrences(const std::string& s, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = s.find(needle); p != std::string::npos; p = s.find(needle, p + needle.size())) ++n;
  return n;
}

inline std::string xml_well_formed(const std::string& x) {
  const auto entity_ok = [&](std::size_t amp) {
    const auto semi = x.find(';', amp);
    if (semi == std::string::npos) return false;
    const auto e = x.substr(amp + 1, semi - amp - 1);
    if (e == "amp" || e == "lt" || e == "gt" || e == "quot" || e == "apos") return true;
    return e.size() > 1 && e[0] == '#' && e.find_first_not_of("0123456789", 1) == std::string::npos;
  };
  std::vector<std::string> stack;
  bool had_root = false;
  std::size_t i = 0;
  if (x.rfind("<?xml", 0) == 0) {
    i = x.find("?>");
    if (i == std::string::npos) return "unterminated XML declaration";
    i += 2;
  }
  while (i < x.size()) {
    const char c = x[i];
    if (c == '&') {
      if (!entity_ok(i)) return "bare '&' at " + std::to_string(i);
      ++i;
    } else if (c == '>') {
      return "bare '>' in text at " + std::to_string(i);
    } else if (c != '<') {
      if (stack.empty() && c != ' ' && c != '\n' && c != '\t' && c != '\r') return "text outside the root element";
      ++i;
    } else {
      const bool closing = i + 1 < x.size() && x[i + 1] == '/';
      std::size_t j = i + (closing ? 2 : 1);
      std::size_t name_end = j;
      while (name_end < x.size() && (std::isalnum(static_cast<unsigned char>(x[name_end])) || x[name_end] == '-' ||
                                     x[name_end] == '_' || x[name_end] == ':' || x[name_end] == '.'))
        ++name_end;
      const std::string name = x.substr(j, name_end - j);
      if (name.empty()) return "tag without a name at " + std::to_string(i);
      // Attributes: name="value" pairs up to '>' or '/>'.
      j = name_end;
      bool self_closing = false;
      for (;;) {
        while (j < x.size() && std::isspace(static_cast<unsigned char>(x[j]))) ++j;
        if (j >= x.size()) return "unterminated tag <" + name;
        if (x[j] == '>') break;
        if (x[j] == '/' && j + 1 < x.size() && x[j + 1] == '>') {
          self_closing = true;
          ++j;
          break;
        }
        if (closing) return "attributes in a closing tag </" + name;
        const auto eq = x.find('=', j);
        if (eq == std::string::npos || eq + 1 >= x.size() || (x[eq + 1] != '"' && x[eq + 1] != '\''))
          return "unquoted attribute in <" + name;
        const auto end = x.find(x[eq + 1], eq + 2);
        if (end == std::string::npos) return "unterminated attribute in <" + name;
        for (std::size_t k = eq + 2; k < end; ++k) {
          if (x[k] == '<') return "'<' in an attribute of <" + name;
          if (x[k] == '&' && !entity_ok(k)) return "bare '&' in an attribute of <" + name;
        }
        j = end + 1;
      }
      i = j + 1;
      if (closing) {
        if (stack.empty() || stack.back() != name) return "mismatched </" + name + ">";
        stack.pop_back();
      } else {
        if (stack.empty() && had_root) return "second root element <" + name + ">";
        had_root = true;
        if (!self_closing) stack.push_back(name);
      }
    }
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (!had_root) return "no root element";
  return "";
}
