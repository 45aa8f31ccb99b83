// Writes the fuzzers' seed corpora (fuzz/corpus/<harness>/): small, valid inputs of each format,
// made here (no third-party data), from which libFuzzer mutates. `make_seeds DIR`.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#include "core/base64.h"
#include "data/mo_catalog.h"

namespace fs = std::filesystem;

namespace {

std::string root;

void seed(const std::string& harness, const std::string& name, const std::string& bytes) {
  fs::create_directories(root + "/" + harness);
  std::FILE* file = std::fopen((root + "/" + harness + "/" + name).c_str(), "wb");
  std::fwrite(bytes.data(), 1, bytes.size(), file);
  std::fclose(file);
}

std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }
std::string le32(uint32_t v) { return {char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; }
std::string le64(uint64_t v) { return le32(uint32_t(v)) + le32(uint32_t(v >> 32)); }

std::string midi() {
  // Format 1, two tracks: a tempo track and a melody with a program change, running status,
  // a note-on of velocity 0, a text event and a system-exclusive message.
  std::string tempo = std::string("\x00\xFF\x51\x03\x07\xA1\x20", 7) +
                      std::string("\x00\xFF\x58\x04\x04\x02\x18\x08", 8) +
                      std::string("\x00\xFF\x2F\x00", 4);
  std::string melody =
      std::string("\x00\xC0\x28", 3) + std::string("\x00\x90\x3C\x50\x30\x40\x50", 7) +
      std::string("\x30\x3C\x00\x00\x80\x40\x40", 7) + std::string("\x00\xFF\x01\x02hi", 6) +
      std::string("\x00\xF0\x03\x7E\x7F\xF7", 6) + std::string("\x60\xFF\x2F\x00", 4);
  return std::string("MThd\0\0\0\x06\0\x01\0\x02\0\x60", 14) + "MTrk" +
         be32(uint32_t(tempo.size())) + tempo + "MTrk" + be32(uint32_t(melody.size())) + melody;
}

std::string wad(const std::string& lump) {
  const uint32_t directory = 12 + uint32_t(lump.size()) + 4;
  std::string out = "PWAD" + le32(2) + le32(directory) + lump + "MAP1";
  auto name8 = [](std::string n) {
    n.resize(8, '\0');
    return n;
  };
  out += le32(12) + le32(uint32_t(lump.size())) + name8("D_E1M1");
  out += le32(12 + uint32_t(lump.size())) + le32(4) + name8("E1M1");
  return out;
}

std::string safetensors(const std::string& header, const std::string& data) {
  std::string json = header;
  json.append((8 - json.size() % 8) % 8, ' ');
  return le64(json.size()) + json + data;
}

void write_image(int (*write)(stbi_write_func*, void*, int, int, int, const void*, int),
                 const std::string& name, int width, int height, int channels) {
  std::vector<unsigned char> pixels(size_t(width * height * channels));
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<unsigned char>(i * 37);
  std::string bytes;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<char*>(data), size_t(size));
  };
  write(append, &bytes, width, height, channels, pixels.data(), 0);
  seed("image_fuzzer", name, bytes);
}

int png(stbi_write_func* f, void* c, int w, int h, int n, const void* d, int) {
  return stbi_write_png_to_func(f, c, w, h, n, d, w * n);
}
int jpg(stbi_write_func* f, void* c, int w, int h, int n, const void* d, int) {
  return stbi_write_jpg_to_func(f, c, w, h, n, d, 80);
}

// A SentencePiece ModelProto in protobuf wire format: pieces, then a normalizer spec.
std::string spm_model(const std::string& rule) {
  auto field = [](int number, const std::string& bytes) {
    std::string out(1, char(number << 3 | 2));
    for (size_t n = bytes.size();; n >>= 7) {
      out += char((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      if (n <= 0x7f) break;
    }
    return out + bytes;
  };
  std::string model;
  for (const char* piece : {"<pad>", "<unk>", "<s>", "</s>",
                            "\xe2\x96\x81"
                            "a",
                            "b"})
    model += field(1, field(1, piece) + std::string("\x15\0\0\x80\xbf", 5));  // piece, score -1.0
  return model + field(3, field(1, rule) + std::string("\x18\x01", 2));
}

}  // namespace

int main(int argc, char** argv) {
  root = argc > 1 ? argv[1] : "fuzz/corpus";
  seed("base64_fuzzer", "text", "aGVsbG8sIHdvcmxkIQ==");
  seed("base64_fuzzer", "binary", seqlab::base64_encode(std::string("\0\x01\xfe\xff", 4)));
  seed("utf8_fuzzer", "accents",
       "Gr\xc3\xb6\xc3\x9f"
       "e \xc3\xa4ndern \xe2\x80\x94 \xf0\x9f\x98\x80 \xe2\x80\x9eok\xe2\x80\x9c");
  seed("utf8_fuzzer", "invalid", "caf\xe9 \xc0\xaf \xed\xa0\x80");
  seed("tsv_fuzzer", "pairs", "Open the file\tOuvrir le fichier\nSave\tEnregistrer\n");
  seed("tsv_fuzzer", "bad", "no tab here\n\tempty source\nfine\tline\r\n");
  seed("mo_fuzzer", "catalog",
       seqlab::write_mo({{"", "", "", {"Content-Type: text/plain; charset=UTF-8"}},
                         {"", "Open", "", {"Ouvrir"}},
                         {"menu", "Save", "", {"Enregistrer"}},
                         {"", "One file", "%d files", {"Un fichier", "%d fichiers"}}}));
  seed("midi_fuzzer", "two-tracks.mid", midi());
  seed("wad_fuzzer", "music.wad", wad(midi()));
  seed("idx_fuzzer", "images",
       std::string("\0\0\x08\x03", 4) + be32(2) + be32(2) + be32(2) + std::string(8, '\x80'));
  seed("idx_fuzzer", "labels",
       std::string("\0\0\x08\x01", 4) + be32(3) + std::string("\x01\x02\x03", 3));
  seed(
      "safetensors_fuzzer", "weights.safetensors",
      safetensors(
          R"({"__metadata__":{"format":"seqlab-weights"},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]},)"
          R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
          std::string(16, '\x01')));
  write_image(png, "rgba.png", 5, 3, 4);
  write_image(png, "grey.png", 4, 4, 1);
  write_image(jpg, "rgb.jpg", 8, 8, 3);
  write_image(jpg, "grey.jpg", 9, 7, 1);
  seed("captions_fuzzer", "captions_train.json",
       R"({"images": [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.jpg"}],
           "annotations": [{"image_id": 1, "caption": "a red square"}, {"image_id": 2, "caption": "a dog"},
                           {"image_id": 1, "caption": "red, top left"}]})");
  seed("captions_fuzzer", "train.token.txt",
       "a.png#0\ta red square\na.png#1\tred at top left\nb.jpg#0\ta dog\n");
  seed("captions_fuzzer", "train.tsv", "a.png\ta red square\nb.jpg\ta dog\n");
  seed("tokenizer_json_fuzzer", "char.json",
       R"({"format": "seqlab-tokenizer", "kind": "char", "vocab": ["a", "b", "\u00e9", " "]})");
  seed("tokenizer_json_fuzzer", "word.json",
       R"({"format": "seqlab-tokenizer", "kind": "word", "vocab": ["open", "the", "file", ","]})");
  seed("tokenizer_json_fuzzer", "unigram.json",
       R"({"format": "seqlab-tokenizer", "kind": "unigram", "model": ")" +
           seqlab::base64_encode(spm_model("identity")) + "\"}");
  seed("tokenizer_json_fuzzer", "model.proto", spm_model("nmt_nfkc"));
  seed(
      "config_fuzzer", "config.json",
      R"({"train": {"max_steps": 20, "lr": 0.001}, "model": {"encoder": "lstm"}, "data": {"lowercase": true},
           "eval": {"metrics": ["bleu"]}})"
      "\ntrain.lr=0.5");
  seed("config_fuzzer", "include.json",
       R"({"include": ["config.json"], "train": {"max_steps": 5}})");
  seed(
      "spec_fuzzer", "spec.json",
      R"({"name": "tiny", "title": "Tiny", "base": "base.json", "grid": {"model.decoder": ["rnn", "bahdanau"]},
           "zip": {"train.lr": [0.1, 0.2], "train.max_steps": [5, 6]}, "seeds": [1, 2],
           "sizes": {"quick": {"seeds": [1]}},
           "expect": {"text": "attention helps", "relations": ["bleu(model.decoder=bahdanau) > bleu(model.decoder=rnn) by 1"]}})");
  seed("spec_fuzzer", "bench.json",
       R"({"name": "cost", "title": "Cost", "kind": "bench", "bench": {"what": "train", "steps": 2},
           "grid": {"bench.model": ["gru", "transformer"], "bench.length": [8, 32]},
           "seeds": {"min": 2, "max": 3, "minutes": 1},
           "report": {"metric": "ms_per_step", "split": "bench"},
           "expect": {"relations": ["ms_per_step(bench.model=gru) < ms_per_step(bench.model=transformer) on length 32"]}})");
  seed(
      "spec_fuzzer", "reservoir.json",
      R"({"name": "mg", "title": "MG", "kind": "reservoir", "reservoir": {"units": 200, "trials": 2},
           "grid": {"reservoir.models": ["esn", "elm"]}, "seeds": [1, 2],
           "report": {"metric": "nrmse", "split": "series"},
           "expect": {"relations": ["nrmse(reservoir.models=esn) < nrmse(reservoir.models=elm) on esn"]}})");
  seed("spec_fuzzer", "relation",
       "bleu(model.heads=1) ~= bleu(model.heads=8) within 1.5 on source length 1-20");
  return 0;
}
