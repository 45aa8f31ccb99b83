// Software UI catalogs: gettext .mo files of LibreOffice, GIMP, Inkscape, Evolution, GnuCash and
// Gramps hold English message ids with their human translations. Short, formulaic sentence pairs
// (menu items, dialog text, tooltips): the default translation corpus (recipes ui-fr, ui-de).
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/utf8.h"
#include "data/debian_packages.h"
#include "data/mo_catalog.h"
#include "data/recipe.h"
#include "data/ui_message_filter.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

const std::vector<std::string> kSharedPackages = {"gimp-data", "inkscape", "evolution-common",
                                                  "gnucash-common", "gramps"};

// Catalogs for `lang` in an unpacked package tree, sorted so the corpus is deterministic.
std::vector<fs::path> find_catalogs(const fs::path& root, const std::string& lang) {
  std::vector<fs::path> out;
  for (const fs::path& dir : {root / "usr/share/locale" / lang / "LC_MESSAGES",
                              root / "usr/lib/libreoffice/program/resource" / lang / "LC_MESSAGES"}) {
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().extension() == ".mo") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class UiCatalogRecipe : public Recipe {
 public:
  explicit UiCatalogRecipe(std::string lang) : lang_(std::move(lang)) {}

  PreparedCorpus prepare(const std::string& name, const std::string& out_dir) const override {
    std::vector<std::string> packages = {"libreoffice-l10n-" + lang_};
    packages.insert(packages.end(), kSharedPackages.begin(), kSharedPackages.end());
    auto debs = download_debs(packages, (fs::path(data_cache_dir()) / "packages").string());

    StagingDirectory staging(out_dir);
    fs::path unpacked = fs::path(staging.path()) / "unpacked";
    std::vector<SentencePair> pairs;
    std::set<std::string> seen;  // lowercased English: one translation per message
    UiFilterStats stats;
    int64_t catalogs = 0;
    Progress progress("reading catalogs (" + name + ")", static_cast<int64_t>(debs.size()),
                      "packages");
    for (size_t p = 0; p < debs.size(); ++p) {
      fs::path root = unpacked / packages[p];
      unpack_deb(debs[p], root.string());
      for (const auto& catalog : find_catalogs(root, lang_)) {
        ++catalogs;
        for (const MoMessage& message : read_mo(catalog.string())) {
          auto pair = filter_ui_message(message, stats);
          if (!pair) continue;
          if (!seen.insert(lowercase_ascii(pair->source)).second) {
            ++stats.duplicates;
            --stats.kept;
            continue;
          }
          pairs.push_back(std::move(*pair));
        }
      }
      fs::remove_all(root);
      progress.advance();
    }
    progress.finish();
    fs::remove_all(unpacked);
    if (pairs.empty())
      throw Error(fmt::format("no en-{} message pairs found in {}", lang_, join_names(packages)));
    size_t held_out = std::min<size_t>(1000, pairs.size() / 20);
    Splits splits = split_by_hash(pairs, held_out, held_out, /*seed=*/20240101);
    Json meta = {{"recipe", name},
                 {"source_lang", "en"},
                 {"target_lang", lang_},
                 {"packages", packages},
                 {"catalogs", catalogs},
                 {"filter", stats.to_json()}};
    PreparedCorpus corpus = write_splits(staging.path(), splits, meta);
    staging.commit();
    corpus.directory = out_dir;
    corpus.counts["catalogs"] = catalogs;
    corpus.counts["pairs"] = static_cast<int64_t>(pairs.size());
    return corpus;
  }

 private:
  std::string lang_;
};

const bool registered_fr = DatasetRegistry().add(
    "ui-fr", [] { return std::unique_ptr<Recipe>(new UiCatalogRecipe("fr")); },
    "en-fr software UI messages from gettext catalogs of 6 Debian packages (~28k pairs)");
const bool registered_de = DatasetRegistry().add(
    "ui-de", [] { return std::unique_ptr<Recipe>(new UiCatalogRecipe("de")); },
    "en-de software UI messages from gettext catalogs of 6 Debian packages (~25k pairs)");

}  // namespace
}  // namespace seqlab
