#include "data/sentiment.h"

#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/random.h"
#include "core/utf8.h"
#include "data/debian_packages.h"

namespace fs = std::filesystem;

namespace seqlab {

namespace {
const char* const kDomains[] = {"imdb", "amazon", "yelp"};
}

std::vector<LabelledSentence> read_sentiment_fixture(const std::string& path,
                                                     const std::string& domain) {
  Json json;
  try {
    json = Json::parse(read_file(path));
  } catch (const Json::exception& e) {
    throw InputError(fmt::format("{}: not valid JSON ({})", path, e.what()));
  }
  if (!json.is_array())
    throw InputError(path + ": expected a JSON array of {\"text\", \"class\"} objects");
  std::vector<LabelledSentence> out;
  for (size_t i = 0; i < json.size(); ++i) {
    const Json& entry = json[i];
    const std::string where = fmt::format("{}: entry {}", path, i + 1);
    // The fixtures end with {"text": "", "class": null} (the source file's trailing empty line).
    if (entry.is_object() && entry.value("text", Json()).is_string() &&
        entry["text"].get<std::string>().empty() && entry.value("class", Json()).is_null())
      continue;
    if (!entry.is_object() || !entry.contains("text") || !entry["text"].is_string() ||
        !entry.contains("class") || !entry["class"].is_number_integer())
      throw InputError(where + ": expected {\"text\": string, \"class\": 0 or 1}");
    const int64_t label = entry["class"].get<int64_t>();
    if (label != 0 && label != 1)
      throw InputError(fmt::format("{}: class {} (expected 0 or 1)", where, label));
    std::string text;
    for (char c : entry["text"].get<std::string>()) {
      const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
      if (space && (text.empty() || text.back() == ' ')) continue;
      text += space ? ' ' : c;
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    require_utf8(text, where);
    if (text.empty()) continue;
    out.push_back({text, label ? "positive" : "negative", domain});
  }
  return out;
}

Splits sentiment_splits(const std::vector<LabelledSentence>& sentences,
                        const std::string& held_out) {
  std::set<std::string> seen;
  std::vector<SentencePair> pool, test;
  for (const auto& s : sentences) {
    if (!seen.insert(lowercase_ascii(s.text)).second) continue;
    (s.domain == held_out ? test : pool).push_back({s.text, s.label});
  }
  if (held_out.empty()) return split_by_hash(pool, 300, 600, 21);
  if (test.empty())
    throw InputError("sentiment: no sentence from the held-out source '" + held_out + "'");
  Splits splits = split_by_hash(pool, pool.size() / 10, 0, 21);
  splits.test = std::move(test);
  return splits;
}

namespace {

class SentimentRecipe : public Recipe {
 public:
  explicit SentimentRecipe(std::string held_out) : held_out_(std::move(held_out)) {}
  PreparedCorpus prepare(const std::string& name, const std::string& out_dir) const override {
    const std::string downloads = (fs::path(data_cache_dir()) / "packages").string();
    auto tgz = download_npm(
        "sentiment@5.0.2",  // its published integrity (npm view sentiment@5.0.2 dist.integrity)
        "sha512-ZeC3y0JsOYTdwujt5uOd7ILJNilbgFzUtg/"
        "LEG4wUv43LayFNLZ28ec8+Su+h3saHlJmIwYxBzfDHHZuiMA15g==",
        downloads);
    StagingDirectory staging(out_dir);
    const fs::path root = fs::path(staging.path()) / "unpacked";
    unpack_tgz(tgz, root.string());
    std::vector<LabelledSentence> sentences;
    Json sources = Json::object();
    for (const char* domain : kDomains) {
      auto read = read_sentiment_fixture(
          (root / "package/test/fixtures" / (std::string(domain) + ".json")).string(), domain);
      sources[domain] = read.size();
      sentences.insert(sentences.end(), read.begin(), read.end());
    }
    fs::remove_all(root);
    Splits splits = sentiment_splits(sentences, held_out_);
    PreparedCorpus corpus = write_splits(
        staging.path(), splits,
        {{"recipe", name},
         {"task", "classification"},
         {"labels", {"negative", "positive"}},
         {"sources", sources},
         {"split",
          held_out_.empty()
              ? "in-domain: the three sources mixed, split by hash"
              : "cross-domain: train and valid from the other two sources, test on " + held_out_},
         {"credit",
          "review sentences from Kotzias et al. 2015 (UCI Sentiment Labelled Sentences), as "
          "shipped in "
          "the npm package sentiment@5.0.2 (MIT)"}});
    staging.commit();
    corpus.directory = out_dir;
    return corpus;
  }

 private:
  std::string held_out_;
};

const bool registered =
    dataset_registry().add(
        "sentiment", [] { return std::unique_ptr<Recipe>(new SentimentRecipe("")); },
        "classification: 3,000 review sentences (IMDB, Amazon, Yelp) mixed, negative/positive "
        "(npm)") &&
    dataset_registry().add(
        "sentiment-to-imdb", [] { return std::unique_ptr<Recipe>(new SentimentRecipe("imdb")); },
        "classification, cross-domain: train on Amazon + Yelp reviews, test on IMDB (npm)") &&
    dataset_registry().add(
        "sentiment-to-amazon",
        [] { return std::unique_ptr<Recipe>(new SentimentRecipe("amazon")); },
        "classification, cross-domain: train on IMDB + Yelp reviews, test on Amazon (npm)") &&
    dataset_registry().add(
        "sentiment-to-yelp", [] { return std::unique_ptr<Recipe>(new SentimentRecipe("yelp")); },
        "classification, cross-domain: train on IMDB + Amazon reviews, test on Yelp (npm)");

}  // namespace
}  // namespace seqlab
