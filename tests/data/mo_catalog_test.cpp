#include <catch2/catch.hpp>

#include <cstring>

#include "core/error.h"
#include "data/mo_catalog.h"

using Catch::Matchers::Contains;
using seqlab::MoMessage;

namespace {

std::vector<MoMessage> sample_messages() {
  return {
      {"", "", "", {"Content-Type: text/plain; charset=UTF-8\n"}},
      {"", "Open the file", "", {"Ouvrir le fichier"}},
      {"menu", "Save", "", {"Enregistrer"}},
      {"", "%d file", "%d files", {"%d fichier", "%d fichiers"}},
  };
}

std::string swap_words(std::string bytes, size_t header_words_and_tables) {
  // Rewrites every 32-bit word of the header and tables in big-endian order.
  for (size_t offset = 0; offset < header_words_and_tables; offset += 4)
    std::swap(bytes[offset], bytes[offset + 3]), std::swap(bytes[offset + 1], bytes[offset + 2]);
  return bytes;
}

}  // namespace

TEST_CASE(".mo catalogs parse with contexts and plural forms") {
  auto messages = seqlab::parse_mo(seqlab::write_mo(sample_messages()), "test.mo");
  REQUIRE(messages.size() == 4);
  CHECK(messages[1].id == "Open the file");
  CHECK(messages[1].translations == std::vector<std::string>{"Ouvrir le fichier"});
  CHECK(messages[2].context == "menu");
  CHECK(messages[2].id == "Save");
  CHECK(messages[3].plural_id == "%d files");
  CHECK(messages[3].translations.size() == 2);
}

TEST_CASE("big-endian .mo files parse too") {
  std::string bytes = seqlab::write_mo(sample_messages());
  const size_t n = sample_messages().size();
  auto messages = seqlab::parse_mo(swap_words(bytes, 28 + 16 * n), "be.mo");
  REQUIRE(messages.size() == n);
  CHECK(messages[1].translations[0] == "Ouvrir le fichier");
}

TEST_CASE("a truncated .mo file is an error naming the file, never a crash") {
  std::string bytes = seqlab::write_mo(sample_messages());
  CHECK_THROWS_WITH(seqlab::parse_mo(bytes.substr(0, 20), "short.mo"),
                    Contains("short.mo: truncated .mo file"));
  CHECK_THROWS_WITH(seqlab::parse_mo(bytes.substr(0, 40), "tables.mo"),
                    Contains("tables.mo: truncated .mo file"));
  CHECK_THROWS_WITH(seqlab::parse_mo(bytes.substr(0, bytes.size() - 5), "strings.mo"),
                    Contains("strings.mo: truncated .mo file"));
  // Every prefix either parses or throws InputError.
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    try {
      seqlab::parse_mo(bytes.substr(0, cut), "cut.mo");
    } catch (const seqlab::InputError&) {
    }
  }
}

TEST_CASE("a foreign file is rejected by its magic number") {
  std::string png = "\x89PNG\r\n\x1a\n" + std::string(40, '\0');
  CHECK_THROWS_WITH(seqlab::parse_mo(png, "image.mo"),
                    Contains("image.mo: not a gettext .mo file"));
}

TEST_CASE("corrupt string offsets are caught") {
  std::string bytes = seqlab::write_mo(sample_messages());
  uint32_t huge = 0x7fffffff;
  std::memcpy(&bytes[28 + 8 + 4], &huge, 4);  // offset of original string 1
  CHECK_THROWS_WITH(seqlab::parse_mo(bytes, "corrupt.mo"), Contains("corrupt.mo"));
}
