// The safetensors reader and writer: a written file reads back, and every way a crafted header can
// lie (lengths, offsets, overlaps, holes, dtypes, shapes, metadata) is an input error naming the
// file.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "core/error.h"
#include "core/files.h"
#include "core/safetensors.h"
#include "core/tensor_file.h"
#include "tests/test_support.h"

using Catch::Matchers::Contains;

namespace {

std::string le64(uint64_t v) {
  std::string out(8, '\0');
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

// A file of `header` JSON and `data_bytes` zero bytes of data.
std::string file_of(const std::string& header, size_t data_bytes) {
  return le64(header.size()) + header + std::string(data_bytes, '\0');
}

void check_refused(const std::string& bytes, const std::string& why) {
  INFO(why);
  CHECK_THROWS_WITH(seqlab::parse_safetensors_header(bytes, bytes.size(), "crafted.safetensors"),
                    Contains("crafted.safetensors: not a valid safetensors file") && Contains(why));
}

}  // namespace

TEST_CASE("tensors and metadata written to a safetensors file read back exactly") {
  seqlab::testing::TempDir dir;
  auto a = torch::randn({3, 4});
  auto b = torch::arange(5, torch::kLong);
  auto c = torch::tensor({true, false, true});
  auto d = torch::randn({2, 3}, torch::kDouble).t();  // not contiguous
  seqlab::write_tensor_file(dir.file("t.safetensors"), {{"a", a}, {"b", b}, {"c", c}, {"d", d}},
                            {{"note", "hi"}});
  seqlab::TensorFile file(dir.file("t.safetensors"));
  CHECK(file.metadata("note") == "hi");
  CHECK(torch::equal(file.read("a"), a));
  CHECK(torch::equal(file.read("b"), b));
  CHECK(torch::equal(file.read("c"), c));
  CHECK(torch::equal(file.read("d"), d));
  CHECK(file.header().data_offset % 8 == 0);  // the data section is 8-byte aligned
  auto into = torch::zeros({3, 4});
  file.read_into("a", into);
  CHECK(torch::equal(into, a));
  auto wrong = torch::zeros({4, 3});
  CHECK_THROWS_WITH(file.read_into("a", wrong),
                    Contains("'a' is F32 [3, 4], the model expects F32 [4, 3]"));
  CHECK_THROWS_WITH(file.metadata("missing"), Contains("no 'missing' in its metadata"));
}

TEST_CASE("every lie a safetensors header can tell is refused before a byte of data is read") {
  const std::string tensor = R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})";
  CHECK(seqlab::parse_safetensors_header(file_of(tensor, 8), 8 + tensor.size() + 8, "ok")
            .tensors.size() == 1);
  check_refused("abc", "shorter than its 8-byte header length");
  check_refused(le64(uint64_t(1) << 40) + "{}", "header length");
  check_refused(le64(100) + "{}", "the header announces 100 bytes");
  check_refused(file_of("{not json", 0), "not valid JSON");
  check_refused(file_of("[1, 2]", 0), "not a JSON object");
  check_refused(file_of(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}})", 8),
                "not inside");
  check_refused(file_of(R"({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8),
                "12 expected");
  check_refused(file_of(R"({"t": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 8]}})", 8),
                "unknown dtype 'Q4'");
  check_refused(file_of(R"({"t": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", 8),
                "shape entry");
  check_refused(
      file_of(
          R"({"t": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})",
          8),
      "more elements than the file has bytes");
  check_refused(file_of(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", 8),
                "not inside");
  check_refused(file_of(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", 8),
                "data_offsets");
  check_refused(
      file_of(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "x": 1}})", 8),
      "unexpected keys");
  check_refused(file_of(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                            "u": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                        12),
                "share bytes");
  check_refused(file_of(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", 8),
                "hole");
  check_refused(file_of(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 8),
                "after the last tensor");
  check_refused(file_of(R"({"__metadata__": {"a": 1}})", 0), "__metadata__.a is not a string");
}

TEST_CASE("a bool tensor holding a byte other than 0 or 1 is refused") {
  seqlab::testing::TempDir dir;
  seqlab::write_tensor_file(dir.file("b.safetensors"), {{"b", torch::tensor({true, false})}});
  std::string bytes = seqlab::read_file(dir.file("b.safetensors"));
  bytes[bytes.size() - 1] = 7;
  seqlab::testing::write_text(dir.file("b.safetensors"), bytes);
  CHECK_THROWS_WITH(seqlab::TensorFile(dir.file("b.safetensors")).read("b"),
                    Contains("neither 0 nor 1"));
}
