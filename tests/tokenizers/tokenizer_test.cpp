#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "core/base64.h"
#include "core/error.h"
#include "core/files.h"
#include "tests/test_support.h"
#include "tokenizers/spm_module.h"
#include "tokenizers/spm_proto.h"
#include "tokenizers/tokenizer.h"

using seqlab::Tokenizer;
using seqlab::TokenizerOptions;

namespace {

// Real French and German UI-style sentences with accents, ligatures and typographic punctuation.
const std::vector<std::string> kCorpus = {
    "Impossible d'ouvrir le fichier « rapport.odt ».",
    "Voulez-vous enregistrer les modifications apportées au document ?",
    "Größe ändern und Bild drehen.",
    "Die Änderungen wurden nicht gespeichert.",
    "Sélectionnez une couleur d'arrière-plan pour la diapositive.",
    "Überprüfen Sie die Rechtschreibung im gesamten Dokument.",
    "Le mot de passe est incorrect. Veuillez réessayer.",
    "Schließen Sie alle geöffneten Fenster, bevor Sie fortfahren.",
    "Insérer un tableau à la position du curseur.",
    "Fußnote einfügen — am Ende der Seite.",
    "Où voulez-vous enregistrer l'œuvre ?",
    "Die Datei enthält ungültige Zeichen: „ä“, „ö“ und „ü“.",
};

std::vector<std::string> repeated_corpus(int times) {
  std::vector<std::string> out;
  for (int i = 0; i < times; ++i) out.insert(out.end(), kCorpus.begin(), kCorpus.end());
  return out;
}

}  // namespace

TEST_CASE("every tokenizer round-trips accented French and German text") {
  for (std::string kind : {"char", "word", "bpe", "unigram"}) {
    DYNAMIC_SECTION(kind) {
      TokenizerOptions options;
      options.vocab_size = kind == "char" || kind == "word" ? 0 : 180;
      auto tokenizer = seqlab::train_tokenizer(kind, repeated_corpus(20), options);
      for (const auto& sentence : kCorpus) {
        auto ids = tokenizer->encode(sentence);
        REQUIRE_FALSE(ids.empty());
        for (int64_t id : ids) {
          CHECK(id != Tokenizer::kUnk);
          CHECK(id >= Tokenizer::kNumSpecial);
          CHECK(id < tokenizer->vocab_size());
        }
        CHECK(tokenizer->decode(ids) == sentence);
      }
    }
  }
}

TEST_CASE("special ids are the same in every tokenizer and are skipped when decoding") {
  for (std::string kind : {"char", "word", "bpe", "unigram"}) {
    DYNAMIC_SECTION(kind) {
      TokenizerOptions options;
      options.vocab_size = kind == "char" || kind == "word" ? 0 : 150;
      auto tokenizer = seqlab::train_tokenizer(kind, repeated_corpus(10), options);
      CHECK(tokenizer->piece(Tokenizer::kPad).find("pad") != std::string::npos);
      CHECK(tokenizer->piece(Tokenizer::kUnk).find("unk") != std::string::npos);
      auto ids = tokenizer->encode("Größe ändern");
      std::vector<int64_t> wrapped = {Tokenizer::kBos};
      wrapped.insert(wrapped.end(), ids.begin(), ids.end());
      wrapped.push_back(Tokenizer::kEos);
      wrapped.push_back(Tokenizer::kPad);
      CHECK(tokenizer->decode(wrapped) == "Größe ändern");
    }
  }
}

TEST_CASE("a saved tokenizer loads back and encodes identically") {
  seqlab::testing::TempDir dir;
  for (std::string kind : {"char", "word", "bpe", "unigram"}) {
    DYNAMIC_SECTION(kind) {
      TokenizerOptions options;
      options.vocab_size = kind == "char" || kind == "word" ? 0 : 160;
      auto tokenizer = seqlab::train_tokenizer(kind, repeated_corpus(10), options);
      std::string path = dir.file(kind + ".tokenizer");
      tokenizer->save(path);
      auto loaded = Tokenizer::load(path);
      CHECK(loaded->kind() == kind);
      CHECK(loaded->vocab_size() == tokenizer->vocab_size());
      for (const auto& sentence : kCorpus)
        CHECK(loaded->encode(sentence) == tokenizer->encode(sentence));
    }
  }
}

TEST_CASE("the word tokenizer splits punctuation, keeps spacing and maps rare words to unk") {
  TokenizerOptions options;
  options.min_frequency = 2;
  auto tokenizer =
      seqlab::train_tokenizer("word", {"the cat sat.", "the cat ran!", "a dog sat."}, options);
  auto pieces = tokenizer->pieces("the cat sat.");
  REQUIRE(pieces.size() == 4);
  CHECK(pieces[3] == "\xEF\xBF\xAD.");  // glued to "sat": carries the joiner
  auto ids = tokenizer->encode("the dog sat.");
  CHECK(ids[1] == Tokenizer::kUnk);  // "dog" was seen once: below the cut-off
  CHECK(tokenizer->decode(ids) == "the <unk> sat.");
}

TEST_CASE("the char tokenizer vocabulary limit keeps the most frequent characters") {
  TokenizerOptions options;
  options.vocab_size = Tokenizer::kNumSpecial + 2;
  auto tokenizer = seqlab::train_tokenizer("char", {"aaaa bbb c"}, options);
  CHECK(tokenizer->vocab_size() == 6);
  auto ids = tokenizer->encode("abc");
  CHECK(ids[0] != Tokenizer::kUnk);
  CHECK(ids[2] == Tokenizer::kUnk);
}

TEST_CASE("SentencePiece runs isolated in its own link namespace beside libtorch") {
  auto& module = seqlab::SpmModule::get();
  CHECK(module.isolated());
  CHECK(module.path().find("libseqlab_spm.so") != std::string::npos);
  TokenizerOptions options;
  options.vocab_size = 120;
  auto bpe = seqlab::train_tokenizer("bpe", repeated_corpus(5), options);
  // libtorch (with its own libprotobuf) keeps working in the same process.
  auto ids = bpe->encode(kCorpus[0]);
  auto tensor = torch::tensor(ids);
  CHECK(tensor.sum().item<int64_t>() > 0);
  CHECK(bpe->decode(ids) == kCorpus[0]);
}

TEST_CASE("bad tokenizer input gives clear errors") {
  TokenizerOptions options;
  CHECK_THROWS_WITH(seqlab::train_tokenizer("morse", {"a"}, options),
                    Catch::Matchers::Contains("bpe, char, unigram, word"));
  CHECK_THROWS_WITH(seqlab::train_tokenizer("word", {"ok", "caf\xE9"}, options),
                    Catch::Matchers::Contains("sentence 2: invalid UTF-8"));
  options.vocab_size = 3;
  CHECK_THROWS_AS(seqlab::train_tokenizer("bpe", {"a b c"}, options), seqlab::InputError);
  seqlab::testing::TempDir dir;
  seqlab::testing::write_text(dir.file("bad.tokenizer"), "{\"kind\": \"word\"}");
  CHECK_THROWS_WITH(Tokenizer::load(dir.file("bad.tokenizer")),
                    Catch::Matchers::Contains("not a seqlab tokenizer file"));
  seqlab::testing::write_text(dir.file("corrupt.tokenizer"),
                              R"({"format": "seqlab-tokenizer", "kind": "bpe", "model": "AAAA"})");
  CHECK_THROWS_WITH(Tokenizer::load(dir.file("corrupt.tokenizer")),
                    Catch::Matchers::Contains("not a valid SentencePiece model"));
}

TEST_CASE("a SentencePiece model whose normalisation map was altered is refused, not followed") {
  TokenizerOptions options;
  options.vocab_size = 120;
  seqlab::testing::TempDir dir;
  for (std::string kind : {"bpe", "unigram"}) {
    DYNAMIC_SECTION(kind) {
      auto tokenizer = seqlab::train_tokenizer(kind, repeated_corpus(5), options);
      tokenizer->save(dir.file("good.json"));
      nlohmann::json file = nlohmann::json::parse(seqlab::read_file(dir.file("good.json")));
      std::string model = seqlab::base64_decode(file["model"].get<std::string>(), "test");
      const auto found = seqlab::read_spm_normalizers(model, "test");
      REQUIRE(found.normalizer.name == "nmt_nfkc");
      REQUIRE(found.normalizer.charsmap.size() > 1000);
      // The map is the built-in one, byte for byte.
      CHECK(seqlab::SpmModule::get().builtin_charsmap("nmt_nfkc") == found.normalizer.charsmap);
      // Corrupt the trie in the middle of the map (same length: the protobuf stays well formed),
      // the way a damaged or doctored tokenizer.json would; the library followed it out of bounds.
      const size_t at = model.find(found.normalizer.charsmap);
      REQUIRE(at != std::string::npos);
      for (size_t i = 4; i < 4096; i += 4) model[at + i] = static_cast<char>(0xFF);
      file["model"] = seqlab::base64_encode(model);
      seqlab::testing::write_text(dir.file("bad.json"), file.dump());
      CHECK_THROWS_AS(Tokenizer::load(dir.file("bad.json")), seqlab::InputError);
      CHECK_THROWS_WITH(
          Tokenizer::load(dir.file("bad.json")),
          Catch::Matchers::Contains("bad.json") && Catch::Matchers::Contains("normalisation map"));
      // An intact map under a rule SentencePiece does not have is refused too.
      std::string renamed = seqlab::base64_decode(
          nlohmann::json::parse(seqlab::read_file(dir.file("good.json")))["model"]
              .get<std::string>(),
          "test");
      for (size_t at; (at = renamed.find("nmt_nfkc")) != std::string::npos;)
        renamed.replace(at, 8, "my_rules");
      file["model"] = seqlab::base64_encode(renamed);
      seqlab::testing::write_text(dir.file("renamed.json"), file.dump());
      CHECK_THROWS_WITH(Tokenizer::load(dir.file("renamed.json")),
                        Catch::Matchers::Contains("'my_rules'"));
    }
  }
}

TEST_CASE("training sentences come from lines, and from each field of TSV lines") {
  seqlab::testing::TempDir dir;
  seqlab::testing::write_text(dir.file("corpus.tsv"),
                              "Open file\tOuvrir le fichier\n\nSave\tEnregistrer\n");
  auto sentences = seqlab::read_training_sentences(dir.file("corpus.tsv"));
  CHECK(sentences ==
        std::vector<std::string>{"Open file", "Ouvrir le fichier", "Save", "Enregistrer"});
  seqlab::testing::write_text(dir.file("bad.txt"), "fine\nbad \xFF byte\n");
  CHECK_THROWS_WITH(seqlab::read_training_sentences(dir.file("bad.txt")),
                    Catch::Matchers::Contains("bad.txt:2: invalid UTF-8"));
}
