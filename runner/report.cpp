#include "runner/report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "core/base64.h"
#include "core/child_process.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "eval/metric.h"
#include "runner/cell_kind.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

std::string value_text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::optional<double> value_of(const ResultStore& store, const RunRow& run,
                               const std::string& metric, const std::string& split,
                               const std::string& bucket) {
  if (metric == "parameters") return double(run.parameters);
  if (metric == "train_seconds") return run.train_seconds;
  if (metric == "steps") return double(run.steps);
  if (metric == "max_rss_mib") return run.max_rss_mib;
  // The widest beam evaluated wins when several were. A run measured in one bucket only (a
  // benchmark cell at one length) has that value for its whole split too.
  std::optional<double> found, only;
  int buckets = 0;
  for (const auto& e : store.evaluations(run.id)) {
    if (e.metric != metric || e.split != split) continue;
    if (e.bucket == bucket) found = e.value;
    if (!e.bucket.empty()) ++buckets, only = e.value;
  }
  if (!found && bucket.empty() && buckets == 1) return only;
  return found;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Text from a spec or a results store in Markdown: a table cell's bar escaped, and no raw HTML
// (a Markdown viewer would render a <script> or an <img onerror> it found there).
std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '|':
        out += "\\|";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '[':
        out += "\\[";
        break;
      case ']':
        out += "\\]";
        break;
      default:
        out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;  // a newline would end a table row
    }
  }
  return out;
}

// Text that reaches gnuplot. Single-quoted strings are the only ones gnuplot takes literally:
// it runs backquoted text inside double quotes as a shell command and expands @macros outside
// quotes. A quote is doubled; control characters go, so no newline ends the command.
std::string gp_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) continue;
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// A string column of inline data (a datablock line): gnuplot reads those lines as data, never as
// commands, but a newline would end the line and a double quote the column.
std::string gp_data_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) continue;
    out += c == '"' ? '\'' : c;
  }
  return out + "\"";
}

// A name from the store as one file-name component (the store may come from anyone).
std::string file_slug(std::string name) {
  if (is_plain_name(name)) return name;
  for (char& c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
          c == '=' || c == ','))
      c = '_';
  if (name.empty() || name[0] == '.') name.insert(0, "_");
  return name.substr(0, 200);
}

std::string number(double v) {
  if (v == 0) return "0";
  if (std::abs(v) >= 1 && std::abs(v) < 1e9 && v == std::floor(v)) return fmt::format("{:.0f}", v);
  if (std::abs(v) >= 1e5 || std::abs(v) < 1e-2) return fmt::format("{:.3g}", v);
  if (std::abs(v) >= 100) return fmt::format("{:.1f}", v);
  return fmt::format("{:.2f}", v);
}

std::string stats_text(const Stats& s) {
  if (s.n == 0) return "–";
  if (s.n == 1 || s.sd == 0) return number(s.mean);
  return fmt::format("{} ± {} (n={})", number(s.mean), number(s.sd), s.n);
}

// Figures drawn by gnuplot into DIR/report/<name>.png, each from one script with inline data.
class Plotter {
 public:
  explicit Plotter(std::string dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }
  // Returns the PNG's path, or "" when gnuplot failed (its output is in <name>.log).
  std::string draw(const std::string& name, const std::string& data, const std::string& commands,
                   int width = 900, int height = 460) {
    const std::string png = dir_ + "/" + name + ".png", script = dir_ + "/" + name + ".gp";
    write_file_atomic(
        script,
        fmt::format("set terminal pngcairo size {},{} font \"DejaVu Sans,10\" noenhanced\n"
                    "set output {}\nset grid ytics lc rgb '#dddddd'\nset key outside right top\n"
                    "{}\n{}\n",
                    width, height, gp_quote(png), data, commands));
    fs::remove(png);
    int status = run_program({"gnuplot", script}, dir_ + "/" + name + ".log");
    if (status != 0 || !fs::exists(png) || fs::file_size(png) == 0) {
      if (!warned_)
        log_warning(fmt::format(
            "gnuplot could not draw {} (exit {}; see {}.log); is gnuplot-nox installed? "
            "(scripts/setup.sh installs it)",
            png, status, dir_ + "/" + name));
      warned_ = true;
      return "";
    }
    return png;
  }

 private:
  std::string dir_;
  bool warned_ = false;
};

struct Section {
  std::string md, html;
  void heading(int level, const std::string& text) {
    md += fmt::format("{} {}\n\n", std::string(static_cast<size_t>(level), '#'), md_escape(text));
    html += fmt::format("<h{0}>{1}</h{0}>\n", level, html_escape(text));
  }
  void paragraph(const std::string& text) {
    if (text.empty()) return;
    md += md_escape(text) + "\n\n";
    html += "<p>" + html_escape(text) + "</p>\n";
  }
  // `classes`, when given, is a CSS class per row for the cell in column `class_column` (the
  // verdict tables colour the verdict by its outcome).
  void table(const std::vector<std::string>& header,
             const std::vector<std::vector<std::string>>& rows,
             const std::vector<std::string>& classes = {}, size_t class_column = 0) {
    md += "|";
    for (const auto& h : header) md += " " + md_escape(h) + " |";
    md += "\n|";
    for (size_t i = 0; i < header.size(); ++i) md += "---|";
    md += "\n";
    html += "<table><thead><tr>";
    for (const auto& h : header) html += "<th>" + html_escape(h) + "</th>";
    html += "</tr></thead><tbody>\n";
    for (size_t r = 0; r < rows.size(); ++r) {
      md += "|";
      html += "<tr>";
      for (size_t c = 0; c < rows[r].size(); ++c) {
        const std::string& cell = rows[r][c];
        md += " " + md_escape(cell) + " |";
        const bool coloured = r < classes.size() && c == class_column && !classes[r].empty();
        html += "<td" + (coloured ? " class=\"" + classes[r] + "\"" : std::string()) + ">" +
                html_escape(cell) + "</td>";
      }
      md += "\n";
      html += "</tr>\n";
    }
    md += "\n";
    html += "</tbody></table>\n";
  }
  void figure(const std::string& png, const std::string& caption, const std::string& report_dir) {
    if (png.empty()) return;
    std::string relative = fs::relative(png, report_dir).string();
    md += fmt::format("![{}]({})\n\n", md_escape(caption), relative);
    html += fmt::format(
        "<figure><img alt=\"{}\" "
        "src=\"data:image/png;base64,{}\"><figcaption>{}</figcaption></figure>\n",
        html_escape(caption), base64_encode(read_file(png)), html_escape(caption));
  }
};

// The results store of an experiment directory; InputError when there is none.
std::string store_path(const std::string& dir) {
  if (!fs::exists(dir + "/results.sqlite"))
    throw InputError(
        fmt::format("{} has no results.sqlite: run `seqlab run SPEC --out {}` first", dir, dir));
  return dir + "/results.sqlite";
}

// The kind of the stored spec `name` (a store from elsewhere may name anything: an InputError
// naming the store and the spec then).
const CellKind& kind_of(const Json& spec, const std::string& name) {
  const Json kind = spec.value("kind", Json("train"));
  try {
    if (!kind.is_string()) throw InputError("kind: expected a string");
    return cell_kind(kind.get<std::string>());
  } catch (const InputError& e) {
    throw InputError(fmt::format("results.sqlite: spec '{}': {}", name, e.what()));
  }
}

// The metric and split the stored spec `name`'s tables lead with: its "report", else its kind's.
std::pair<std::string, std::string> headline_of(const Json& spec, const std::string& name) {
  const CellKindReport defaults = kind_of(spec, name).report();
  const Json report = spec.value("report", Json::object());
  return {report.value("metric", defaults.metric), report.value("split", defaults.split)};
}

struct CellRuns {
  std::string name;
  Json overrides;
  std::vector<const RunRow*> runs;  // finished
  int64_t total = 0;
};

}  // namespace

// A run matches a relation's side when every key=value of it is among the run's overrides; a
// "base" (a preset's path) matches by its file name without extension too.
bool matches(const Json& overrides, const Json& selector) {
  for (const auto& item : selector.items()) {
    if (!overrides.contains(item.key())) return false;
    std::string have = value_text(overrides[item.key()]), want = value_text(item.value());
    if (item.key() == "base") {
      have = fs::path(have).stem().string();
      want = fs::path(want).stem().string();
    }
    if (have != want) return false;
  }
  return true;
}

Stats stats_of(const std::vector<double>& values) {
  Stats s;
  s.n = static_cast<int64_t>(values.size());
  if (values.empty()) return s;
  for (double v : values) s.mean += v;
  s.mean /= double(values.size());
  if (values.size() > 1) {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(ss / double(values.size() - 1));
  }
  return s;
}

namespace {

// The metrics registry's name of a metric as the store names it: "bleu_beam5" is bleu (at beam
// 5), captioning's "bleu_4" is bleu-4.
std::string registry_metric_name(const std::string& stored) {
  static const std::regex kBeamSuffix("_beam[0-9]+$"), kCaptionBleu("bleu_[1-4]");
  std::string name = std::regex_replace(stored, kBeamSuffix, "");
  if (std::regex_match(name, kCaptionBleu)) name[4] = '-';
  return name;
}

// The beam of the evaluation a run's value of `metric` on `split` came from: the one its name
// carries ("bleu_beam5"), otherwise the widest evaluated, as value_of picks it.
std::optional<int64_t> evaluation_beam(const ResultStore& store, const RunRow& run,
                                       const std::string& metric, const std::string& split) {
  static const std::regex kBeamSuffix(R"(.+_beam([0-9]+))");
  std::smatch m;
  if (std::regex_match(metric, m, kBeamSuffix)) return std::stoll(m[1].str());
  std::optional<int64_t> beam;
  for (const auto& e : store.evaluations(run.id))
    if (e.metric == metric && e.split == split) beam = std::max(beam.value_or(e.beam), e.beam);
  return beam;
}

// Whether a source length of `words` falls in a bucket label ("21-40", "41+").
bool in_bucket(int64_t words, const std::string& bucket) {
  static const std::regex kRange(R"(([0-9]+)-([0-9]+))"), kOpen(R"(([0-9]+)\+)");
  std::smatch m;
  if (std::regex_match(bucket, m, kRange))
    return words >= std::stoll(m[1].str()) && words <= std::stoll(m[2].str());
  if (std::regex_match(bucket, m, kOpen)) return words >= std::stoll(m[1].str());
  return false;
}

// The item statistics behind a run's value (restricted to a length bucket), when the evaluation
// kept them inside the experiment folder and they describe `references`; nullopt otherwise.
std::optional<ItemStatistics> item_rows_of(const ResultStore& store, const RunRow& run,
                                           const std::string& metric, const std::string& split,
                                           const std::string& bucket,
                                           const std::string& experiment_dir,
                                           std::string& references) {
  if (experiment_dir.empty()) return std::nullopt;
  const auto beam = evaluation_beam(store, run, metric, split);
  if (!beam) return std::nullopt;
  const std::string path = item_statistics_path(run.dir, split, *beam);
  if (!lies_inside(path, experiment_dir) || !fs::exists(path)) return std::nullopt;
  ItemStatisticsFile file = read_item_statistics(path);
  auto it = file.metrics.find(registry_metric_name(metric));
  if (it == file.metrics.end()) return std::nullopt;
  if (!references.empty() && references != file.references_sha256)
    return std::nullopt;  // not one test set
  references = file.references_sha256;
  if (bucket.empty()) return it->second;
  if (file.source_words.empty()) return std::nullopt;
  ItemStatistics rows;
  for (size_t i = 0; i < it->second.size(); ++i)
    if (in_bucket(file.source_words[i], bucket)) rows.push_back(it->second[i]);
  return rows;
}

std::string interval_text(std::pair<double, double> interval) {
  return fmt::format("[{}, {}]", number(interval.first), number(interval.second));
}

}  // namespace

Verdict check_relation(const Relation& relation, const std::string& split, const ResultStore& store,
                       const std::string& spec, const std::string& experiment_dir) {
  Verdict v;
  v.relation = relation.text;
  RunGroup left, right;
  bool all_items = true;
  std::string references;
  for (const auto& run : store.runs(spec)) {
    if (run.status != "finished") continue;
    for (auto [selector, into] :
         {std::pair<const Json*, RunGroup*>{&relation.left, &left}, {&relation.right, &right}}) {
      if (!matches(run.overrides, *selector)) continue;
      auto value = value_of(store, run, relation.metric, split, relation.bucket);
      if (!value) continue;
      into->scores.push_back(*value);
      into->seeds.push_back(run.seed);
      if (!all_items) continue;
      auto rows = item_rows_of(store, run, relation.metric, split, relation.bucket, experiment_dir,
                               references);
      if (rows && !rows->empty())
        into->items.push_back(std::move(*rows));
      else
        all_items = false;
    }
  }
  v.left = stats_of(left.scores);
  v.right = stats_of(right.scores);
  if (left.scores.empty() || right.scores.empty()) {
    v.verdict = "inconclusive";
    v.outcome = Outcome::kInconclusive;
    v.explanation = fmt::format("no finished run has {} on {}{} for the {} side", relation.metric,
                                split, relation.bucket.empty() ? "" : " bucket " + relation.bucket,
                                left.scores.empty() ? "left" : "right");
    return v;
  }
  if (!all_items) left.items.clear(), right.items.clear();
  // Runs whose items files hold the metric have it in the registry (the file reader checks).
  std::unique_ptr<Metric> metric;
  if (all_items) metric = metric_registry().create(registry_metric_name(relation.metric));
  const GroupComparison c = compare_groups(metric.get(), left, right);
  v.comparison = c;
  const auto ci95 = c.interval(0.95), ci90 = c.interval(0.90);
  v.low = ci95.first;
  v.high = ci95.second;
  // What the interval rests on, in words.
  std::string basis = c.paired ? fmt::format("{} seeds paired", c.left_seeds)
                               : fmt::format("{} + {} seeds", c.left_seeds, c.right_seeds);
  if (c.unpaired_runs > 0)
    basis += fmt::format(" ({} run{} without a partner seed left out)", c.unpaired_runs,
                         c.unpaired_runs == 1 ? "" : "s");
  if (c.items > 0) basis += fmt::format(", {} test items", c.items);
  std::string noise;
  if (c.seeds_known() && c.items_known())
    noise = fmt::format("; noise mostly from {} (sd of the difference: seeds {}, test items {})",
                        c.dominant_noise(), number(std::sqrt(c.seed_variance)),
                        number(std::sqrt(c.item_variance)));
  else if (c.items_known())
    noise = fmt::format("; test items only (sd {}): the spread over seeds is unknown",
                        number(std::sqrt(c.item_variance)));
  else if (c.seeds_known())
    noise = split == "bench"
                ? "; the spread over repeated runs only (a measurement: no test items behind it)"
                : "; seeds only (no item statistics kept, so the test set's own error is left out)";
  const double diff = c.difference;
  const std::string p = std::isfinite(c.p_value) ? ", " + format_p_value(c.p_value) : "";
  if (!c.seeds_known()) {
    v.verdict = "inconclusive at this size";
    v.outcome = Outcome::kInconclusive;
    v.explanation = fmt::format(
        "difference {}{}; one seed on a side, so seed-to-seed variation cannot be "
        "judged: add seeds ({}{}{})",
        number(diff), c.items_known() ? ", test-set 95% interval " + interval_text(ci95) : "",
        basis, p, noise);
    return v;
  }
  if (relation.op == "~=") {
    // Equivalence by two one-sided tests at 5%: the 90% interval inside the tolerance.
    const double t = relation.tolerance;
    if (ci90.first >= -t && ci90.second <= t)
      v.verdict = "reproduced", v.outcome = Outcome::kReproduced;
    else if (ci95.first > t || ci95.second < -t)
      v.verdict = "not reproduced", v.outcome = Outcome::kRefuted;
    else
      v.verdict = "inconclusive at this size", v.outcome = Outcome::kInconclusive;
    v.explanation = fmt::format(
        "difference {}, 90% interval {} against tolerance +-{} (two one-sided tests), 95% "
        "interval {} ({}{}{})",
        number(diff), interval_text(ci90), number(t), interval_text(ci95), basis, p, noise);
    return v;
  }
  // > and <: the claim's direction made positive, the interval against the margin.
  const bool greater = relation.op == ">";
  const double low = greater ? ci95.first : -ci95.second,
               high = greater ? ci95.second : -ci95.first;
  if (low > relation.tolerance)
    v.verdict = "reproduced", v.outcome = Outcome::kReproduced;
  else if (high < relation.tolerance)
    v.verdict = "not reproduced", v.outcome = Outcome::kRefuted;
  else
    v.verdict = "inconclusive at this size", v.outcome = Outcome::kInconclusive;
  v.explanation =
      fmt::format("difference {}, 95% interval {} against margin {} ({}{}{})", number(diff),
                  interval_text(ci95), number(relation.tolerance), basis, p, noise);
  return v;
}

namespace {

// One spec's runs as the report's sections see them.
struct SpecRuns {
  std::string name, slug, title, metric, split;
  std::string dir;  // the experiment directory
  Json spec;
  CellKindReport layout;
  std::vector<RunRow> runs;
  std::map<std::string, CellRuns> cells;
  std::vector<std::string> order;  // cells in the order of their first run
  // Sequence-length buckets: the grid keys on the x axis (the kind's length key and the keys
  // zipped with it), left out of a run's line name.
  std::set<std::string> along_x;
};

SpecRuns spec_runs(const ResultStore& store, const std::string& dir, const std::string& name) {
  SpecRuns s;
  s.name = name;
  s.slug = file_slug(name);
  s.dir = dir;
  s.spec = *store.spec(name);
  s.title = s.spec.value("title", name);
  s.layout = kind_of(s.spec, name).report();
  std::tie(s.metric, s.split) = headline_of(s.spec, name);
  if (!s.layout.length_key.empty()) {
    s.along_x.insert(s.layout.length_key);
    if (s.spec.value("zip", Json::object()).contains(s.layout.length_key))
      for (const auto& item : s.spec["zip"].items()) s.along_x.insert(item.key());
  }
  s.runs = store.runs(name);
  for (const auto& run : s.runs) {
    if (!s.cells.count(run.cell)) s.order.push_back(run.cell);
    auto& c = s.cells[run.cell];
    c.name = run.cell;
    c.overrides = run.overrides;
    ++c.total;
    if (run.status == "finished") c.runs.push_back(&run);
  }
  return s;
}

const char* outcome_word(Outcome outcome) {
  return outcome == Outcome::kReproduced ? "reproduced"
         : outcome == Outcome::kRefuted  ? "refuted"
                                         : "inconclusive";
}

// The expected outcome and a verdict per relation.
void write_expectations(const SpecRuns& s, const ResultStore& store, Section& doc,
                        std::vector<Json>& verdicts) {
  const Json expect = s.spec.value("expect", Json::object());
  if (expect.empty()) return;
  doc.heading(3, "Expected outcome");
  doc.paragraph(expect.value("text", "") + (expect.value("source", "").empty()
                                                ? ""
                                                : " (" + expect.value("source", "") + ")"));
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> classes;
  for (const auto& text : expect.value("relations", Json::array())) {
    Relation relation = parse_relation(text.get<std::string>());
    Verdict v = check_relation(relation, s.split, store, s.name, s.dir);
    rows.push_back({v.relation, stats_text(v.left), stats_text(v.right), v.verdict, v.explanation});
    classes.push_back(v.outcome == Outcome::kReproduced ? "yes"
                      : v.outcome == Outcome::kRefuted  ? "no"
                                                        : "maybe");
    verdicts.push_back(
        {{"spec", s.name},
         {"relation", v.relation},
         {"verdict", v.verdict},
         {"outcome", outcome_word(v.outcome)},
         {"explanation", v.explanation},
         {"left", v.left.mean},
         {"right", v.right.mean},
         {"interval", std::isfinite(v.low) && std::isfinite(v.high) ? Json{v.low, v.high} : Json()},
         {"p_value", std::isfinite(v.comparison.p_value) ? Json(v.comparison.p_value) : Json()},
         {"seeds", {v.comparison.left_seeds, v.comparison.right_seeds}},
         {"paired", v.comparison.paired},
         {"items", v.comparison.items},
         {"dominant_noise", v.comparison.dominant_noise()}});
  }
  if (!rows.empty()) doc.table({"relation", "left", "right", "verdict", "why"}, rows, classes, 3);
}

// The table of cells (mean and sd over seeds) and the headline per cell as bars. Returns the
// buckets the headline metric was evaluated on.
std::set<std::string> write_cell_table(const SpecRuns& s, const ResultStore& store,
                                       Plotter& plotter, Section& doc) {
  doc.heading(3, "Results");
  std::set<std::string> buckets_seen;
  std::vector<std::vector<std::string>> rows;
  std::string bar_data = "$bars << EOD\n";
  bool any_bar = false, positive = true;
  for (const auto& name : s.order) {
    const auto& c = s.cells.at(name);
    std::vector<double> headline, params, seconds, steps, speed, rss;
    for (const auto* run : c.runs) {
      if (auto v = value_of(store, *run, s.metric, s.split, "")) headline.push_back(*v);
      if (auto v = value_of(store, *run, "sentences_per_s", s.split, ""))
        speed.push_back(*v);
      else if (auto i = value_of(store, *run, "images_per_s", s.split, ""))
        speed.push_back(*i);  // captioning
      params.push_back(double(run->parameters));
      seconds.push_back(run->train_seconds);
      steps.push_back(double(run->steps));
      rss.push_back(run->max_rss_mib);
      for (const auto& e : store.evaluations(run->id))
        if (e.metric == s.metric && e.split == s.split && !e.bucket.empty())
          buckets_seen.insert(e.bucket);
    }
    Stats h = stats_of(headline);
    std::vector<std::string> row = {name, fmt::format("{}/{}", c.runs.size(), c.total),
                                    stats_text(h)};
    if (s.layout.training)
      row.insert(row.end(), {stats_text(stats_of(params)), stats_text(stats_of(seconds)),
                             stats_text(stats_of(steps)), stats_text(stats_of(speed))});
    row.push_back(stats_text(stats_of(rss)));
    rows.push_back(row);
    if (h.n > 0) {
      bar_data += fmt::format("{} {} {}\n", gp_data_string(name), h.mean, h.sd);
      any_bar = true;
      positive = positive && h.mean > 0;
    }
  }
  std::vector<std::string> header = {"cell", "runs", fmt::format("{} ({})", s.metric, s.split)};
  if (s.layout.training)
    header.insert(header.end(),
                  {"parameters", "training s", "steps", "decode sentences (images)/s"});
  header.push_back("peak memory MiB");
  doc.table(header, rows);
  bar_data += "EOD\n";
  if (any_bar && s.layout.bars) {
    std::string png = plotter.draw(
        s.slug + "-bars", bar_data,
        fmt::format("set style data histogram\nset style histogram errorbars gap 1 lw 1\n"
                    "set style fill solid 0.5 border -1\nset xtics rotate by -25 scale 0\n{}set "
                    "ylabel {}\n"
                    "set title {}\nset key off\nplot $bars using 2:3:xtic(1) lc rgb '#3b6ea8'\n",
                    s.layout.log_bars && positive ? "set logscale y\n" : "set yrange [0:*]\n",
                    gp_quote(s.metric + " (" + s.split + "), mean and sd over seeds"),
                    gp_quote(s.title)));
    doc.figure(png, fmt::format("{}: {} per cell", s.name, s.metric), s.dir);
  }
  return buckets_seen;
}

// Validation loss by step, mean over seeds, a line per cell.
void write_learning_curves(const SpecRuns& s, const ResultStore& store, Plotter& plotter,
                           Section& doc) {
  std::string data, plot;
  int series = 0;
  for (const auto& name : s.order) {
    std::map<int64_t, std::vector<double>> by_step;
    for (const auto* run : s.cells.at(name).runs)
      for (const auto& m : store.metrics(run->id))
        if (m.split == "valid" && m.name == "loss") by_step[m.step].push_back(m.value);
    if (by_step.empty()) continue;
    data += fmt::format("$c{} << EOD\n", series);
    for (const auto& [step, values] : by_step)
      data += fmt::format("{} {}\n", step, stats_of(values).mean);
    data += "EOD\n";
    plot += fmt::format("{}$c{} using 1:2 with linespoints pt 7 ps 0.6 title {}",
                        plot.empty() ? "plot " : ", ", series++, gp_quote(name));
  }
  if (series == 0) return;
  std::string png = plotter.draw(s.slug + "-curves", data,
                                 "set xlabel 'update'\nset ylabel 'validation loss per token'\n"
                                 "set title 'Learning curves (mean over seeds)'\n" +
                                     plot + "\n");
  doc.figure(png, fmt::format("{}: validation loss by update", s.name), s.dir);
}

// "21-30" -> 21, "41+" -> 41, "256" -> 256.
double bucket_key(const std::string& bucket) { return std::atof(bucket.c_str()); }

// A run's line in the by-length figures: its cell, or for sequence-length buckets its cell
// without the length key (and the keys zipped with it), the length being the x axis.
std::string series_name(const SpecRuns& s, const RunRow& run) {
  if (s.layout.buckets != "sequence length") return run.cell;
  std::string name;
  for (const auto& item : run.overrides.items())
    if (!s.along_x.count(item.key()))
      name += (name.empty() ? "" : ",") + item.key().substr(item.key().rfind('.') + 1) + "=" +
              value_text(item.value());
  return name.empty() ? std::string("all") : name;
}

// Peak resident memory against sequence length, a line per series.
void write_memory_by_length(const SpecRuns& s, const ResultStore& store, Plotter& plotter,
                            Section& doc) {
  std::string data, plot;
  int n = 0;
  std::map<std::string, std::map<double, std::vector<double>>> rss;
  for (const auto& name : s.order)
    for (const auto* run : s.cells.at(name).runs)
      for (const auto& e : store.evaluations(run->id))
        if (e.metric == "peak_rss_mib")
          rss[series_name(s, *run)][bucket_key(e.bucket)].push_back(e.value);
  for (const auto& [series, points] : rss) {
    data += fmt::format("$m{} << EOD\n", n);
    for (const auto& [length, values] : points)
      data += fmt::format("{} {}\n", length, stats_of(values).mean);
    data += "EOD\n";
    plot += fmt::format("{}$m{} using 1:2 with linespoints pt 7 lw 2 title {}",
                        plot.empty() ? "plot " : ", ", n++, gp_quote(series));
  }
  if (n == 0) return;
  std::string png = plotter.draw(
      s.slug + "-memory", data,
      "set logscale x\nset xlabel 'sequence length (tokens)'\n"
      "set ylabel 'peak resident memory (MiB)'\nset title 'Peak memory of the process'\n" +
          plot + "\n");
  doc.figure(png, fmt::format("{}: peak memory by length", s.name), s.dir);
}

// The headline by bucket: source length (translation) or sequence length (benchmarks).
void write_buckets(const SpecRuns& s, const ResultStore& store,
                   const std::set<std::string>& buckets_seen, Plotter& plotter, Section& doc) {
  if (buckets_seen.empty() || s.layout.buckets.empty()) return;
  const bool lengths = s.layout.buckets == "sequence length";
  std::vector<std::string> buckets(buckets_seen.begin(), buckets_seen.end());
  std::sort(buckets.begin(), buckets.end(),
            [](const auto& a, const auto& b) { return bucket_key(a) < bucket_key(b); });
  std::map<std::string, std::map<std::string, std::vector<double>>> lines;  // series -> bucket
  std::vector<std::string> series_order;
  for (const auto& name : s.order)
    for (const auto* run : s.cells.at(name).runs) {
      std::string series = series_name(s, *run);
      if (!lines.count(series)) series_order.push_back(series);
      for (const auto& e : store.evaluations(run->id))
        if (e.metric == s.metric && e.split == s.split && !e.bucket.empty())
          lines[series][e.bucket].push_back(e.value);
    }
  std::string data, plot;
  std::vector<std::vector<std::string>> bucket_rows;
  int n = 0;
  for (const auto& series : series_order) {
    data += fmt::format("$b{} << EOD\n", n);
    std::vector<std::string> row = {series};
    for (size_t i = 0; i < buckets.size(); ++i) {
      auto it = lines[series].find(buckets[i]);
      if (it == lines[series].end()) {
        row.push_back("–");
        continue;
      }
      Stats st = stats_of(it->second);
      row.push_back(stats_text(st));
      if (lengths)
        data += fmt::format("{} {} {}\n", buckets[i], st.mean, st.sd);
      else
        data += fmt::format("{} {} {} {}\n", i, gp_data_string(buckets[i]), st.mean, st.sd);
    }
    bucket_rows.push_back(row);
    data += "EOD\n";
    plot += fmt::format("{}$b{} using {} with linespoints pt 7 lw 2 title {}",
                        plot.empty() ? "plot " : ", ", n++, lengths ? "1:2" : "1:3:xtic(2)",
                        gp_quote(series));
  }
  std::vector<std::string> header = {lengths ? "series \\ length" : "cell \\ source words"};
  header.insert(header.end(), buckets.begin(), buckets.end());
  doc.heading(3, fmt::format("{} by {}", s.metric, s.layout.buckets));
  doc.table(header, bucket_rows);
  std::string axes = lengths ? "set logscale xy\nset xlabel 'sequence length (tokens)'\n"
                             : "set xlabel 'source length (words)'\n";
  std::string png =
      plotter.draw(s.slug + "-buckets", data,
                   axes +
                       fmt::format("set ylabel {}\nset title {}\n",
                                   gp_quote(s.metric + " (" + s.split + ")"), gp_quote(s.title)) +
                       plot + "\n");
  doc.figure(png, fmt::format("{}: {} by length", s.name, s.metric), s.dir);
  if (lengths) write_memory_by_length(s, store, plotter, doc);
}

// The attention map of the best run of each cell.
void write_attention_maps(const SpecRuns& s, const ResultStore& store, Section& doc) {
  bool heading_done = false;
  for (const auto& name : s.order) {
    const RunRow* best = nullptr;
    double best_value = -std::numeric_limits<double>::infinity();
    for (const auto* run : s.cells.at(name).runs) {
      double v = value_of(store, *run, s.metric, s.split, "").value_or(-1e300);
      if (!best || v > best_value) best = run, best_value = v;
    }
    if (!best) continue;
    std::string map = best->dir + "/attention/" + file_slug(s.split) + "-001.png";
    if (!lies_inside(map, s.dir) || !fs::exists(map))
      continue;  // a store from elsewhere points anywhere
    if (!heading_done) doc.heading(3, "Attention maps (best run of each cell, first sentence)");
    heading_done = true;
    std::string copy = fmt::format("{}/report/{}-attention-{}.png", s.dir, s.slug, file_slug(name));
    fs::copy_file(map, copy, fs::copy_options::overwrite_existing);
    doc.figure(copy, fmt::format("{} seed {}", name, best->seed), s.dir);
  }
}

void write_failures(const SpecRuns& s, Section& doc) {
  std::vector<std::vector<std::string>> failures;
  for (const auto& r : s.runs)
    if (r.status == "failed") {
      std::string first = r.error.substr(0, r.error.find('\n', r.error.find('\n') + 1));
      failures.push_back({fmt::format("{}/seed-{}", r.cell, r.seed), first, r.dir + "/log.txt"});
    }
  if (failures.empty()) return;
  doc.heading(3, "Failed runs");
  doc.table({"run", "error", "log"}, failures);
}

std::string html_page(const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>seqlab "
         "report</title>\n<style>\n"
         "body{font-family:'DejaVu Sans',sans-serif;max-width:1100px;margin:2em auto;padding:0 "
         "1em;color:#222}\n"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px "
         "8px;text-align:left}\n"
         "th{background:#f0f0f0}td.yes{background:#d8f0d8}td.no{background:#f6d6d6}td.maybe{"
         "background:#f6efd0}\n"
         "figure{margin:1em "
         "0}img{max-width:100%}figcaption{color:#555;font-size:90%}\n</style></head>\n<body>\n" +
         body +
         // Marks the page with how many figures loaded, for a headless browser (and a reader) to
         // check.
         "<script>\nwindow.addEventListener('load', function () {\n"
         "  var images = Array.from(document.images);\n"
         "  var broken = images.filter(function (i) { return !i.complete || i.naturalWidth === 0; "
         "});\n"
         "  document.body.setAttribute('data-figures', images.length + ' shown, ' + broken.length "
         "+ ' broken');\n"
         "});\n</script>\n</body></html>\n";
}

}  // namespace

ReportPaths write_report(const std::string& dir) {
  ResultStore store(store_path(dir));
  Plotter plotter(dir + "/report");
  ReportPaths paths;
  Section doc;
  doc.heading(1, "seqlab report");
  doc.paragraph(fmt::format("Results store: {}/results.sqlite (any SQLite client reads it).", dir));
  for (const auto& spec_name : store.spec_names()) {
    const SpecRuns s = spec_runs(store, dir, spec_name);
    doc.heading(2, s.title);
    int64_t finished = 0, failed = 0;
    for (const auto& r : s.runs) finished += r.status == "finished", failed += r.status == "failed";
    doc.paragraph(s.spec.value("description", ""));
    const std::string size = s.spec.value("size", "");
    doc.paragraph(fmt::format("Spec `{}`, size {}: {} cells, {} runs ({} finished, {} failed).",
                              spec_name, size.empty() ? "default" : size, s.cells.size(),
                              s.runs.size(), finished, failed));
    write_expectations(s, store, doc, paths.verdicts);
    const auto buckets = write_cell_table(s, store, plotter, doc);
    if (s.layout.training) write_learning_curves(s, store, plotter, doc);
    write_buckets(s, store, buckets, plotter, doc);
    write_attention_maps(s, store, doc);
    write_failures(s, doc);
  }
  paths.markdown = dir + "/report.md";
  paths.html = dir + "/report.html";
  write_file_atomic(paths.markdown, doc.md);
  const std::string html = html_page(doc.html);
  write_file_atomic(paths.html, html);
  paths.figures = 0;
  for (size_t at = html.find("<img"); at != std::string::npos; at = html.find("<img", at + 1))
    ++paths.figures;
  return paths;
}

Json cell_summary(const std::string& dir, const std::string& spec_name) {
  ResultStore store(store_path(dir));
  auto spec = store.spec(spec_name);
  if (!spec) throw InputError(fmt::format("{} holds no spec '{}'", dir, spec_name));
  const std::string split = headline_of(*spec, spec_name).second;
  std::vector<std::string> order;
  std::map<std::string, std::map<std::string, std::vector<double>>> values;
  for (const auto& run : store.runs(spec_name)) {
    if (std::find(order.begin(), order.end(), run.cell) == order.end()) order.push_back(run.cell);
    if (run.status != "finished") continue;
    auto& v = values[run.cell];
    for (const char* metric : {"bleu", "chrf", "exact_match", "sentences_per_s"})
      if (auto x = value_of(store, run, metric, split, "")) v[metric].push_back(*x);
    v["parameters"].push_back(double(run.parameters));
    v["train_seconds"].push_back(run.train_seconds);
    v["steps"].push_back(double(run.steps));
  }
  Json out = Json::array();
  for (const auto& cell : order) {
    Json row = {{"cell", cell}, {"runs", values[cell]["steps"].size()}};
    for (const auto& [metric, xs] : values[cell]) row[metric] = stats_of(xs).mean;
    out.push_back(row);
  }
  return out;
}

std::string cell_summary_table(const Json& summary) {
  std::string out = fmt::format("{:<28} {:>7} {:>7} {:>11} {:>9} {:>8} {:>12}\n", "cell", "BLEU",
                                "chrF2", "parameters", "updates", "train s", "decode sent/s");
  for (const auto& row : summary) {
    auto get = [&](const char* key) {
      return row.contains(key) ? row[key].get<double>() : std::nan("");
    };
    out += fmt::format("{:<28} {:>7.2f} {:>7.2f} {:>11.0f} {:>9.0f} {:>8.0f} {:>12.1f}\n",
                       row["cell"].get<std::string>(), get("bleu"), get("chrf"), get("parameters"),
                       get("steps"), get("train_seconds"), get("sentences_per_s"));
  }
  return out;
}

Json results_json(const std::string& dir) {
  ResultStore store(store_path(dir));
  Json runs = Json::array();
  for (const auto& spec_name : store.spec_names()) {
    Json spec = *store.spec(spec_name);
    const auto [metric, split] = headline_of(spec, spec_name);
    for (const auto& r : store.runs(spec_name)) {
      Json evaluations = Json::array();
      for (const auto& e : store.evaluations(r.id))
        evaluations.push_back({{"split", e.split},
                               {"beam", e.beam},
                               {"metric", e.metric},
                               {"bucket", e.bucket},
                               {"value", e.value},
                               {"signature", e.signature}});
      auto headline = value_of(store, r, metric, split, "");
      runs.push_back({{"id", r.id},
                      {"spec", r.spec},
                      {"cell", r.cell},
                      {"seed", r.seed},
                      {"kind", r.kind},
                      {"status", r.status},
                      {"overrides", r.overrides},
                      {"host", r.host},
                      {"parameters", r.parameters},
                      {"train_seconds", r.train_seconds},
                      {"steps", r.steps},
                      {"max_rss_mib", r.max_rss_mib},
                      {"dir", r.dir},
                      {"error", r.error},
                      {"metric", metric},
                      {"split", split},
                      {"value", headline ? Json(*headline) : Json()},
                      {"evaluations", evaluations}});
    }
  }
  return {{"store", dir + "/results.sqlite"}, {"runs", runs}};
}

std::string results_table(const Json& results) {
  std::string out = fmt::format("{:<22} {:<36} {:>5} {:<9} {:>16} {:>10} {:>8}\n", "spec", "cell",
                                "seed", "status", "metric", "value", "train s");
  for (const auto& r : results["runs"]) {
    std::string value = r["value"].is_null() ? "–" : number(r["value"].get<double>());
    out += fmt::format("{:<22} {:<36} {:>5} {:<9} {:>16} {:>10} {:>8.0f}\n",
                       r["spec"].get<std::string>(), r["cell"].get<std::string>(),
                       r["seed"].get<uint64_t>(), r["status"].get<std::string>(),
                       r["metric"].get<std::string>() + "/" + r["split"].get<std::string>(), value,
                       r["train_seconds"].get<double>());
  }
  out +=
      fmt::format("{} runs in {}\n", results["runs"].size(), results["store"].get<std::string>());
  return out;
}

}  // namespace seqlab
