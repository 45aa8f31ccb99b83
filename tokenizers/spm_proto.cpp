#include "tokenizers/spm_proto.h"

#include <fmt/format.h>

#include "core/error.h"

namespace seqlab {
namespace {

// A protobuf message's fields, in order; every length is checked against what is left.
class WireReader {
 public:
  WireReader(const std::string& bytes, size_t begin, size_t end, const std::string& origin)
      : bytes_(bytes), at_(begin), end_(end), origin_(origin) {}

  bool done() const { return at_ >= end_; }

  // The next field's number and wire type; skips nothing.
  void next(uint64_t& field, int& wire_type) {
    const uint64_t key = varint();
    field = key >> 3;
    wire_type = static_cast<int>(key & 7);
    if (field == 0) fail("field number 0");
  }
  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (at_ >= end_) fail("a varint runs past the end of its message");
      const auto byte = static_cast<unsigned char>(bytes_[at_++]);
      if (shift == 63 && byte > 1) fail("a varint longer than 64 bits");
      value |= uint64_t(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
    fail("a varint longer than 10 bytes");
  }
  // A length-delimited field's [begin, end) within the bytes.
  std::pair<size_t, size_t> span() {
    const uint64_t length = varint();
    if (length > end_ - at_)
      fail(fmt::format("a field of {} bytes with {} left in its message", length, end_ - at_));
    const size_t begin = at_;
    at_ += size_t(length);
    return {begin, at_};
  }
  void skip(int wire_type) {
    switch (wire_type) {
      case 0:
        varint();
        return;
      case 1:
        advance(8);
        return;
      case 2:
        span();
        return;
      case 5:
        advance(4);
        return;
      default:
        fail(fmt::format("wire type {} (groups are not used by SentencePiece)", wire_type));
    }
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(
        fmt::format("{}: not a valid SentencePiece model: {} (at byte {})", origin_, what, at_));
  }

 private:
  void advance(size_t n) {
    if (n > end_ - at_) fail("a fixed-size field runs past the end of its message");
    at_ += n;
  }
  const std::string& bytes_;
  size_t at_, end_;
  const std::string& origin_;
};

// A message field that occurs twice is merged, as protobuf does: each occurrence overrides only the
// fields it holds (so a map in the first occurrence survives a second that names only the rule).
void merge_normalizer(SpmNormalizer& out, const std::string& bytes, std::pair<size_t, size_t> span,
                      const std::string& origin) {
  out.present = true;
  WireReader reader(bytes, span.first, span.second, origin);
  while (!reader.done()) {
    uint64_t field;
    int wire_type;
    reader.next(field, wire_type);
    if ((field == 1 || field == 2) && wire_type == 2) {
      const auto [begin, end] = reader.span();
      (field == 1 ? out.name : out.charsmap) = bytes.substr(begin, end - begin);
    } else {
      reader.skip(wire_type);
    }
  }
}

}  // namespace

SpmNormalizers read_spm_normalizers(const std::string& serialized, const std::string& origin) {
  SpmNormalizers out;
  WireReader reader(serialized, 0, serialized.size(), origin);
  while (!reader.done()) {
    uint64_t field;
    int wire_type;
    reader.next(field, wire_type);
    if ((field == 3 || field == 5) && wire_type == 2) {
      merge_normalizer(field == 3 ? out.normalizer : out.denormalizer, serialized, reader.span(),
                       origin);
    } else if (field == 1 && wire_type == 2) {
      reader.span();
      ++out.pieces;
    } else {
      reader.skip(wire_type);
    }
  }
  return out;
}

const char* const* spm_builtin_rules() {
  static const char* const rules[] = {"nmt_nfkc", "nfkc",     "nmt_nfkc_cf",
                                      "nfkc_cf",  "identity", nullptr};
  return rules;
}

}  // namespace seqlab
