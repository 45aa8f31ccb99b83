// Recipes end to end on small packages built here with dpkg-deb, placed in the package cache and
// listed with their SHA-256 in an index of the test's own ($SEQLAB_PACKAGE_INDEX) so no download
// happens: the same code path as the real corpora, hash checks included, without the network.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "data/debian_packages.h"
#include "data/emoji_catalog.h"
#include "data/mo_catalog.h"
#include "data/parallel_corpus.h"
#include "data/recipe.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

const std::vector<std::string> kUiPackages = {"libreoffice-l10n-fr", "gimp-data",      "inkscape",
                                              "evolution-common",    "gnucash-common", "gramps"};

void build_deb(const std::string& package, const std::string& mo_bytes, const std::string& cache) {
  seqlab::testing::TempDir tree;
  seqlab::testing::write_text(tree.file("DEBIAN/control"),
                              fmt::format("Package: {}\nVersion: 1.0\nArchitecture: all\n"
                                          "Maintainer: seqlab tests <tests@localhost>\n"
                                          "Description: test catalog\n",
                                          package));
  std::string mo_dir = package.rfind("libreoffice", 0) == 0
                           ? "usr/lib/libreoffice/program/resource/fr/LC_MESSAGES"
                           : "usr/share/locale/fr/LC_MESSAGES";
  seqlab::testing::write_text(tree.file(mo_dir + "/" + package + ".mo"), mo_bytes);
  fs::create_directories(cache + "/packages");
  auto result = seqlab::run_command(fmt::format(
      "dpkg-deb --root-owner-group -b {} {}/packages/{}_1.0_all.deb", tree.path(), cache, package));
  REQUIRE(result.status == 0);
  // The test's package index, what apt's index would say of real packages: every .deb in the cache.
  std::string index;
  for (const auto& entry : fs::directory_iterator(cache + "/packages")) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".deb") continue;
    index += fmt::format("Package: {}\nFilename: pool/{}\nSHA256: {}\n\n",
                         name.substr(0, name.find('_')), name,
                         seqlab::sha256_file_hex(entry.path().string()));
  }
  seqlab::write_file_atomic(cache + "-Packages", index);
}

std::string catalog_for(const std::string& package, int messages) {
  std::vector<seqlab::MoMessage> entries = {
      {"", "", "", {"Content-Type: text/plain; charset=UTF-8"}}};
  for (int i = 0; i < messages; ++i)
    entries.push_back({"ctx",
                       fmt::format("Open document number {} of {}", i, package),
                       "",
                       {fmt::format("Ouvrir le document numéro {} de {}", i, package)}});
  entries.push_back({"", "Delete %s now please", "", {"Supprimer %s maintenant"}});  // dropped
  entries.push_back({"",
                     fmt::format("Open document number 0 of {}", package),
                     "",
                     {"Ouvrir le doublon numéro zéro"}});  // duplicate English: dropped
  return seqlab::write_mo(entries);
}

struct ScopedEnv {
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    const char* old = std::getenv(name);
    if (old) old_ = old;
    had_ = old != nullptr;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_)
      setenv(name_, old_.c_str(), 1);
    else
      unsetenv(name_);
  }
  const char* name_;
  std::string old_;
  bool had_;
};

size_t leftovers(const std::string& dir) {
  size_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST_CASE("the ui-fr recipe reads package catalogs, cleans, deduplicates and splits") {
  seqlab::testing::TempDir cache;
  ScopedEnv env("SEQLAB_DATA", cache.path());
  ScopedEnv index("SEQLAB_PACKAGE_INDEX", cache.path() + "-Packages");
  struct RemoveIndex {
    std::string path;
    ~RemoveIndex() { std::remove(path.c_str()); }
  } remove_index{cache.path() + "-Packages"};
  for (const auto& package : kUiPackages)
    build_deb(package, catalog_for(package, 100), cache.path());
  seqlab::PreparedCorpus corpus = seqlab::prepare_corpus("ui-fr");
  CHECK(corpus.directory == cache.path() + "/ui-fr");
  CHECK(corpus.counts.at("pairs") == 600);
  CHECK(corpus.counts.at("test") == 30);
  CHECK(corpus.counts.at("valid") == 30);
  CHECK(corpus.counts.at("train") == 540);
  CHECK(corpus.counts.at("catalogs") == 6);
  auto test = seqlab::load_corpus_split("ui-fr", "test");
  REQUIRE(test.size() == 30);
  CHECK(test[0].target.find("Ouvrir le document numéro") == 0);
  CHECK(corpus.meta["filter"]["placeholder"] == 6);
  CHECK(corpus.meta["filter"]["duplicates"] == 6);
  CHECK(leftovers(cache.path()) == 0);

  SECTION("the same packages give the same corpus") {
    auto before = seqlab::read_file(cache.path() + "/ui-fr/test.tsv");
    seqlab::prepare_corpus("ui-fr");
    CHECK(seqlab::read_file(cache.path() + "/ui-fr/test.tsv") == before);
  }

  SECTION("a truncated catalog is an error naming it, and the cached corpus stays intact") {
    auto before = seqlab::read_file(cache.path() + "/ui-fr/train.tsv");
    std::string truncated = catalog_for("gramps", 10);
    truncated.resize(truncated.size() / 2);
    fs::remove(cache.path() + "/packages/gramps_1.0_all.deb");
    build_deb("gramps", truncated, cache.path());
    CHECK_THROWS_WITH(seqlab::prepare_corpus("ui-fr"), Contains("gramps.mo: truncated .mo file"));
    CHECK(seqlab::read_file(cache.path() + "/ui-fr/train.tsv") == before);
    CHECK(leftovers(cache.path()) == 0);
  }
}

TEST_CASE("a package whose version has an epoch downloads (apt names the file with it)") {
  // wesnoth-music 1:1.16.9-1, a 1 kB transitional package: apt-get download writes
  // wesnoth-music_1%3a1.16.9-1_all.deb while the index's Filename has no epoch. So do
  // libreoffice-l10n-fr and others the ui-fr corpus is built from.
  seqlab::testing::TempDir cache;
  auto debs = seqlab::download_debs({"wesnoth-music"}, cache.path());
  REQUIRE(debs.size() == 1);
  CHECK(fs::file_size(debs[0]) > 0);
  CHECK(debs == seqlab::download_debs({"wesnoth-music"}, cache.path()));  // cached: the same file
  CHECK(leftovers(cache.path()) == 0);
}

TEST_CASE("a package apt does not know is an error naming it") {
  seqlab::testing::TempDir cache;
  CHECK_THROWS_WITH(seqlab::download_debs({"seqlab-no-such-package-xyz"}, cache.path()),
                    Contains("'seqlab-no-such-package-xyz' is not in apt's package index"));
  CHECK_THROWS_WITH(seqlab::download_debs({"Bad;Name"}, cache.path()),
                    Contains("invalid Debian package name"));
  CHECK(fs::is_empty(cache.path()));
}

TEST_CASE("an unprepared corpus tells the user which command prepares it") {
  seqlab::testing::TempDir cache;
  ScopedEnv env("SEQLAB_DATA", cache.path());
  CHECK_THROWS_WITH(seqlab::load_corpus_split("ui-de", "train"),
                    Contains("run `seqlab data prepare ui-de`"));
}

TEST_CASE(
    "an emoji catalog's image names must be plain .png names: none writes outside the corpus") {
  seqlab::testing::TempDir dir;
  seqlab::testing::write_text(
      dir.file("data.json"),
      R"([{"hexcode": "1F600", "label": "grinning face"}, {"hexcode": "1F601", "label": "beaming"}])");
  auto catalog = [&](const std::string& image) {
    seqlab::testing::write_text(
        dir.file("emoji.json"),
        fmt::format(R"([{{"unified": "1F600", "image": "1f600.png", "has_img_twitter": true}},
                        {{"unified": "1F601", "image": "{}", "has_img_twitter": true}}])",
                    image));
    return seqlab::read_emoji_catalog(dir.file("emoji.json"), dir.file("data.json"));
  };
  auto fine = catalog("1f601.png");
  REQUIRE(fine.size() == 2);
  CHECK(fine[1].caption == "beaming");
  for (const std::string bad :
       {"../../evil.png", "/tmp/evil.png", "sub/evil.png", ".hidden.png", "evil.sh"}) {
    INFO(bad);
    CHECK_THROWS_WITH(catalog(bad), Contains("emoji.json") && Contains("not a plain file name"));
  }
  seqlab::testing::write_text(dir.file("emoji.json"),
                              R"([{"unified": 5, "image": "x.png", "has_img_twitter": true}])");
  CHECK_THROWS_WITH(seqlab::read_emoji_catalog(dir.file("emoji.json"), dir.file("data.json")),
                    Contains("emoji.json") && Contains("string"));
  seqlab::testing::write_text(dir.file("data.json"), "{broken");
  CHECK_THROWS_WITH(seqlab::read_emoji_catalog(dir.file("emoji.json"), dir.file("data.json")),
                    Contains("data.json: not valid JSON"));
}

TEST_CASE("files are read from an unpacked package only through plain names and no symbolic link") {
  seqlab::testing::TempDir root, outside;
  seqlab::testing::write_text(root.file("package/img/a.png"), "png");
  seqlab::testing::write_text(outside.file("secret.png"), "secret");
  fs::create_symlink(outside.file("secret.png"), root.file("package/img/link.png"));
  fs::create_directory_symlink(outside.path(), root.file("package/dirlink"));
  CHECK(seqlab::package_file(root.path(), "package/img/a.png") == root.file("package/img/a.png"));
  CHECK(seqlab::package_file(root.path(), "package/img/link.png").empty());
  CHECK(seqlab::package_file(root.path(), "package/dirlink/secret.png").empty());
  CHECK(seqlab::package_file(root.path(), "package/img/../../../secret.png").empty());
  CHECK(seqlab::package_file(root.path(), "/etc/passwd").empty());
  CHECK(seqlab::package_file(root.path(), "package/img/missing.png").empty());
}

TEST_CASE(
    "a package file planted in the cache is not used: its hash is checked against the index") {
  seqlab::testing::TempDir cache;
  const std::string index = cache.path() + "-Packages";
  struct RemoveIndex {
    std::string path;
    ~RemoveIndex() { std::remove(path.c_str()); }
  } remove_index{index};
  ScopedEnv env("SEQLAB_PACKAGE_INDEX", index);
  // The index names the real file's hash; the cache holds another file under that name.
  seqlab::write_file_atomic(
      index, fmt::format("Package: seqlab-test-pkg\nFilename: pool/seqlab-test-pkg_1.0_all.deb\n"
                         "SHA256: {}\n\n",
                         std::string(64, 'a')));
  seqlab::testing::write_text(cache.file("seqlab-test-pkg_1.0_all.deb"), "planted");
  // It is removed and fetched again, which for this made-up package fails: an error, never the
  // plant.
  CHECK_THROWS_AS(seqlab::download_debs({"seqlab-test-pkg"}, cache.path()), seqlab::InputError);
  CHECK_FALSE(fs::exists(cache.file("seqlab-test-pkg_1.0_all.deb")));
  // The same for an npm tarball and its pinned integrity.
  seqlab::testing::write_text(cache.file("seqlab-no-such-npm-package-1.0.0.tgz"), "planted");
  CHECK_THROWS_AS(
      seqlab::download_npm("seqlab-no-such-npm-package@1.0.0", "sha512-AAAA", cache.path()),
      seqlab::InputError);
  CHECK_FALSE(fs::exists(cache.file("seqlab-no-such-npm-package-1.0.0.tgz")));
}
