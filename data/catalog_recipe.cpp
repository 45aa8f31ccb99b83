// Corpora from gettext catalogs (.mo) of Debian packages: English message ids with their human
// translations. Two sources share the machinery:
//
//   ui-fr, ui-de: software UI messages of LibreOffice, GIMP, Inkscape, Evolution, GnuCash and
//     Gramps. Short and formulaic (menu items, dialog text); split by a hash of the source.
//   wesnoth-fr, wesnoth-de, wesnoth-es: dialogue and story text of The Battle for Wesnoth and its
//     campaigns. Long literary sentences; whole campaigns are held out for valid and test, so the
//     test set is new text rather than near-duplicates of training lines.
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/progress.h"
#include "data/debian_packages.h"
#include "data/mo_catalog.h"
#include "data/recipe.h"
#include "data/ui_message_filter.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

struct CatalogSpec {
  std::string lang;
  std::vector<std::string> packages;
  std::vector<std::string> catalog_dirs;  // relative to the unpacked root; {lang} is replaced
  size_t max_words = 40;
  // Catalog domains (the .mo file name without extension) held out whole; empty: hash split.
  std::vector<std::string> valid_domains, test_domains;
};

std::string replace_lang(std::string pattern, const std::string& lang) {
  auto at = pattern.find("{lang}");
  if (at != std::string::npos) pattern.replace(at, 6, lang);
  return pattern;
}

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

class CatalogRecipe : public Recipe {
 public:
  explicit CatalogRecipe(CatalogSpec spec) : spec_(std::move(spec)) {}

  PreparedCorpus prepare(const std::string& name, const std::string& out_dir) const override {
    auto debs = download_debs(spec_.packages, (fs::path(data_cache_dir()) / "packages").string());
    StagingDirectory staging(out_dir);
    fs::path unpacked = fs::path(staging.path()) / "unpacked";
    // (domain, pairs) per catalog, gathered before deduplication so held-out catalogs go first.
    std::vector<std::pair<std::string, std::vector<SentencePair>>> catalogs;
    UiFilterStats stats;
    Progress progress("reading catalogs (" + name + ")", static_cast<int64_t>(debs.size()),
                      "packages");
    for (size_t p = 0; p < debs.size(); ++p) {
      fs::path root = unpacked / spec_.packages[p];
      unpack_deb(debs[p], root.string());
      std::vector<fs::path> files;
      for (const auto& dir : spec_.catalog_dirs) {
        fs::path full = root / replace_lang(dir, spec_.lang);
        if (!fs::is_directory(full)) continue;
        for (const auto& entry : fs::directory_iterator(full))
          // A package's symbolic link may point anywhere: only files that stay inside it are read.
          if (entry.path().extension() == ".mo" && entry.is_regular_file() &&
              lies_inside(entry.path().string(), root.string()))
            files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& file : files) {
        std::vector<SentencePair> pairs;
        for (const MoMessage& message : read_mo(file.string()))
          if (auto pair = filter_ui_message(message, stats, 3, spec_.max_words))
            pairs.push_back(*pair);
        catalogs.emplace_back(file.stem().string(), std::move(pairs));
      }
      fs::remove_all(root);
      progress.advance();
    }
    progress.finish();
    fs::remove_all(unpacked);
    auto held_out_rank = [&](const std::string& domain) {
      return contains(spec_.test_domains, domain)    ? 0
             : contains(spec_.valid_domains, domain) ? 1
                                                     : 2;
    };
    std::stable_sort(catalogs.begin(), catalogs.end(), [&](const auto& a, const auto& b) {
      return held_out_rank(a.first) < held_out_rank(b.first);
    });
    std::set<std::string> seen;  // lowercased English: one translation per message
    Splits splits;
    std::vector<SentencePair> all;
    for (auto& [domain, pairs] : catalogs) {
      int rank = held_out_rank(domain);
      for (auto& pair : pairs) {
        if (!seen.insert(lowercase_ascii(pair.source)).second) {
          ++stats.duplicates;
          --stats.kept;
          continue;
        }
        if (spec_.test_domains.empty())
          all.push_back(std::move(pair));
        else
          (rank == 0   ? splits.test
           : rank == 1 ? splits.valid
                       : splits.train)
              .push_back(std::move(pair));
      }
    }
    if (spec_.test_domains.empty()) {
      size_t held_out = std::min<size_t>(1000, all.size() / 20);
      splits = split_by_hash(all, held_out, held_out, /*seed=*/20240101);
    }
    size_t total = splits.train.size() + splits.valid.size() + splits.test.size();
    if (splits.train.empty() || splits.test.empty())
      throw Error(fmt::format("no usable en-{} pairs (train {}, test {}) in {}", spec_.lang,
                              splits.train.size(), splits.test.size(), join_names(spec_.packages)));
    Json meta = {{"recipe", name},
                 {"source_lang", "en"},
                 {"target_lang", spec_.lang},
                 {"packages", spec_.packages},
                 {"catalogs", catalogs.size()},
                 {"held_out", {{"valid", spec_.valid_domains}, {"test", spec_.test_domains}}},
                 {"filter", stats.to_json()}};
    PreparedCorpus corpus = write_splits(staging.path(), splits, meta);
    staging.commit();
    corpus.directory = out_dir;
    corpus.counts["catalogs"] = static_cast<int64_t>(catalogs.size());
    corpus.counts["pairs"] = static_cast<int64_t>(total);
    return corpus;
  }

 private:
  CatalogSpec spec_;
};

CatalogSpec ui_spec(const std::string& lang) {
  return {lang,
          {"libreoffice-l10n-" + lang, "gimp-data", "inkscape", "evolution-common",
           "gnucash-common", "gramps"},
          {"usr/share/locale/{lang}/LC_MESSAGES",
           "usr/lib/libreoffice/program/resource/{lang}/LC_MESSAGES"},
          40,
          {},
          {}};
}

CatalogSpec wesnoth_spec(const std::string& lang) {
  std::vector<std::string> packages = {"wesnoth-1.16-data"};
  for (const char* campaign : {"did", "dm", "dw", "ei", "httt", "l", "low", "nr", "sof", "sota",
                               "sotbe", "thot", "trow", "tsg", "ttb", "utbs"})
    packages.push_back(std::string("wesnoth-1.16-") + campaign);
  // Held out whole: "Son of the Black-Eye" for validation, "Heir to the Throne" (the largest
  // campaign, ~1,000 usable lines) for test.
  return {lang, packages,          {"usr/share/games/wesnoth/1.16/locale/{lang}/LC_MESSAGES"},
          80,   {"wesnoth-sotbe"}, {"wesnoth-httt"}};
}

template <typename Spec>
bool add(const std::string& name, Spec spec, const std::string& help) {
  return dataset_registry().add(
      name, [spec] { return std::unique_ptr<Recipe>(new CatalogRecipe(spec)); }, help);
}

const bool registered =
    add("ui-fr", ui_spec("fr"),
        "en-fr software UI messages from gettext catalogs of 6 Debian packages (~25k pairs)") &&
    add("ui-de", ui_spec("de"),
        "en-de software UI messages from gettext catalogs of 6 Debian packages (~25k pairs)") &&
    add("wesnoth-fr", wesnoth_spec("fr"),
        "en-fr Battle for Wesnoth dialogue; campaigns held out for valid/test (long sentences)") &&
    add("wesnoth-de", wesnoth_spec("de"),
        "en-de Battle for Wesnoth dialogue; campaigns held out for valid/test (long sentences)") &&
    add("wesnoth-es", wesnoth_spec("es"),
        "en-es Battle for Wesnoth dialogue; campaigns held out for valid/test (long sentences)");

}  // namespace
}  // namespace seqlab
