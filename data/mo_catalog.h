// GNU gettext message catalogs (.mo), read directly. Format: a 28-byte header (magic 0x950412de in
// the file's byte order, revision, message count N, offset of the original-strings table, offset
// of the translations table, hash-table size and offset) followed by two tables of N (length,
// offset) pairs pointing at NUL-terminated strings. A msgid "ctx\x04id" carries a context; a
// plural entry is "singular\0plural" with translations separated by NULs.
#pragma once

#include <string>
#include <vector>

namespace seqlab {

struct MoMessage {
  std::string context;                    // msgctxt, empty when none
  std::string id;                         // msgid (singular)
  std::string plural_id;                  // msgid_plural, empty when not a plural entry
  std::vector<std::string> translations;  // msgstr, or msgstr[0..n] for plurals
};

// Parses a catalog; InputError naming `origin` and what is wrong for a foreign or truncated file.
std::vector<MoMessage> parse_mo(const std::string& bytes, const std::string& origin);
std::vector<MoMessage> read_mo(const std::string& path);

// Serialises messages as a little-endian .mo (used by tests and to write small catalogs).
std::string write_mo(const std::vector<MoMessage>& messages);

}  // namespace seqlab
