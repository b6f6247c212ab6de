// A1111 infotext: formatting and parsing. Expected values are what A1111's own
// parse_generation_parameters (modules/infotext_utils.py) returns for these
// strings, worked out with its regular expression in Python.
#include <catch2/catch.hpp>

#include "engine/infotext.hpp"

using namespace skingen::engine;

namespace {
using Params = std::vector<std::pair<std::string, std::string>>;
}

TEST_CASE("infotext quoting follows A1111's quote()", "[infotext]") {
  REQUIRE(a1111_quote("Euler a") == "Euler a");
  REQUIRE(a1111_quote("skin_4-000015: 0123456789ab") == "\"skin_4-000015: 0123456789ab\"");
  REQUIRE(a1111_quote("a, b") == "\"a, b\"");
  // json.dumps(ensure_ascii=False): quotes, backslashes and control characters escaped, UTF-8 kept.
  REQUIRE(a1111_quote("say \"hi\", \\ ok\nnext\x01 é") == R"("say \"hi\", \\ ok\nnext\u0001 é")");
  REQUIRE(a1111_quote("tab\tonly") == "tab\tonly");  // no ',', ':' or newline: unchanged
  REQUIRE(a1111_unquote(R"("say \"hi\", \\ ok\nnext\u0001 \u00e9")") == "say \"hi\", \\ ok\nnext\x01 é");
  REQUIRE(a1111_unquote("\"not json\\q\"") == "\"not json\\q\"");  // invalid JSON stays as it is
  REQUIRE(a1111_unquote("plain") == "plain");
  REQUIRE(format_number(7.0) == "7");
  REQUIRE(format_number(7.5) == "7.5");
  REQUIRE(format_number(0.7) == "0.7");
  REQUIRE(format_number(-2.0) == "-2");
}

TEST_CASE("infotext format matches A1111's layout", "[infotext]") {
  Infotext info;
  info.prompt = "stone wall, seamless";
  info.negative = "blurry";
  info.params = {{"Steps", "20"}, {"Sampler", "Euler a"}, {"Schedule type", "Karras"}, {"CFG scale", "7"},
                 {"Seed", "42"}, {"Size", "512x512"}, {"Model hash", "6ce0161689"}, {"Model", "sd15"},
                 {"Lora hashes", "skin_4-000015: 0123456789ab"}};
  REQUIRE(format_infotext(info) ==
          "stone wall, seamless\nNegative prompt: blurry\n"
          "Steps: 20, Sampler: Euler a, Schedule type: Karras, CFG scale: 7, Seed: 42, Size: 512x512, "
          "Model hash: 6ce0161689, Model: sd15, Lora hashes: \"skin_4-000015: 0123456789ab\"");
  info.negative.clear();  // the negative line is omitted when empty
  REQUIRE(format_infotext(info).starts_with("stone wall, seamless\nSteps: 20, "));
  info.params.emplace_back("Hires fix", "Hires fix");  // value == key is written bare
  REQUIRE(format_infotext(info).ends_with(", Hires fix"));
}

TEST_CASE("infotext parses real A1111 strings", "[infotext]") {
  // The example in A1111's parse_generation_parameters docstring.
  const auto old = parse_infotext(
      "girl with an artist's beret, determined, blue eyes, ((eyeshadow)), (coquettish), detailed, intricate\n"
      "Negative prompt: ugly, (((deformed))), [blurry], bad anatomy, (poorly drawn hands), messy drawing\n"
      "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 965400086, Size: 512x512, Model hash: 45dee52b");
  REQUIRE(old.prompt == "girl with an artist's beret, determined, blue eyes, ((eyeshadow)), (coquettish), detailed, intricate");
  REQUIRE(old.negative == "ugly, (((deformed))), [blurry], bad anatomy, (poorly drawn hands), messy drawing");
  REQUIRE(old.params == Params{{"Steps", "20"}, {"Sampler", "Euler a"}, {"CFG scale", "7"}, {"Seed", "965400086"},
                               {"Size", "512x512"}, {"Model hash", "45dee52b"}});

  // A v1.10-style string: multi-line prompt and negative, quoted values with escapes and commas.
  const auto v110 = parse_infotext(
      "masterpiece, (stone wall:1.2), <lora:skin_4-000015:0.8>\nmulti-line second line\n"
      "Negative prompt: lowres, \"bad\" anatomy\ntext\n"
      "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, Seed: 1234567890, Size: 512x768, "
      "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.55, Clip skip: 2, "
      "ADetailer prompt: \"a \\\"quoted\\\" face, smile\", "
      "Lora hashes: \"skin_4-000015: 0123456789ab, other: 111122223333\", "
      "TI hashes: \"easynegative: c74b4e810b03\", Hires upscale: 2, Version: v1.10.1");
  REQUIRE(v110.prompt == "masterpiece, (stone wall:1.2), <lora:skin_4-000015:0.8>\nmulti-line second line");
  REQUIRE(v110.negative == "lowres, \"bad\" anatomy\ntext");
  REQUIRE(v110.params ==
          Params{{"Steps", "28"}, {"Sampler", "DPM++ 2M"}, {"Schedule type", "Karras"}, {"CFG scale", "7.5"},
                 {"Seed", "1234567890"}, {"Size", "512x768"}, {"Model hash", "6ce0161689"},
                 {"Model", "v1-5-pruned-emaonly"}, {"Denoising strength", "0.55"}, {"Clip skip", "2"},
                 {"ADetailer prompt", "a \"quoted\" face, smile"},
                 {"Lora hashes", "skin_4-000015: 0123456789ab, other: 111122223333"},
                 {"TI hashes", "easynegative: c74b4e810b03"}, {"Hires upscale", "2"}, {"Version", "v1.10.1"}});
  REQUIRE(*v110.find("Lora hashes") == "skin_4-000015: 0123456789ab, other: 111122223333");
  REQUIRE(v110.find("Tiling") == nullptr);
}

TEST_CASE("infotext parsing keeps A1111's corner cases", "[infotext]") {
  // Fewer than three parameters on the last line: it is prompt text.
  REQUIRE(parse_infotext("just a prompt, with commas").prompt == "just a prompt, with commas");
  const auto two = parse_infotext("a\nSteps: 20, Seed: 5");
  REQUIRE(two.prompt == "a\nSteps: 20, Seed: 5");
  REQUIRE(two.params.empty());
  // Keys need two characters; a quoted value must be followed by ',' or the end,
  // else the plain alternative takes it; "" unquotes to empty.
  const auto odd = parse_infotext("p\nAb: 1, Bb: \"x\"y, Cc: \"unterminated, Dd: 4, E: 5, Ff: \"\", Gg: \"ok\"");
  REQUIRE(odd.params == Params{{"Ab", "1"}, {"Bb", "\"x\"y"}, {"Cc", "\"unterminated"}, {"Dd", "4"}, {"Ff", ""},
                               {"Gg", "ok"}});
  // Keys keep trailing spaces; spaces after ',' and ':' are optional; key characters include '-' and '/'.
  const auto loose = parse_infotext("p\nSteps : 3,Sampler:Euler,  weird key-name/x: \"va\\\\l\", 9x: z");
  REQUIRE(loose.params == Params{{"Steps ", "3"}, {"Sampler", "Euler"}, {"weird key-name/x", "va\\l"}, {"9x", "z"}});
  // A trailing newline after a quoted value ($ before a final newline): stripped first anyway.
  REQUIRE(parse_infotext("p\nAb: 1, Bb: 2, Cc: \"tail\"\n").params.back() == std::pair<std::string, std::string>{"Cc", "tail"});
  REQUIRE(parse_infotext("").prompt.empty());
}

TEST_CASE("infotext round-trips through format and parse", "[infotext]") {
  Infotext info;
  info.prompt = "rusted metal plate, <lora:skin_4-000015:0.7>\nsecond line: with colon";
  info.negative = "text, \"logo\"\nwatermark";
  info.params = {{"Steps", "30"},           {"Sampler", "Euler"},
                 {"CFG scale", "6.5"},      {"Seed", "4294967295"},
                 {"Model", "my:model, v2"}, {"Lora hashes", "a: 111111111111, b: 222222222222"},
                 {"Odd", "quote \" and \\ backslash, and\nnewline"}, {"Unicode", "石の壁, é"}};
  const auto back = parse_infotext(format_infotext(info));
  REQUIRE(back.prompt == info.prompt);
  REQUIRE(back.negative == info.negative);
  REQUIRE(back.params == info.params);
}
