#include "eval/metric.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/utf8.h"

namespace seqlab {

SEQLAB_DEFINE_REGISTRY(metric_registry, "metrics");

void check_reference_lengths(const std::vector<std::string>& hypotheses,
                             const std::vector<std::vector<std::string>>& references) {
  if (references.empty()) throw InputError("no references given");
  for (size_t k = 0; k < references.size(); ++k)
    if (references[k].size() != hypotheses.size())
      throw InputError(fmt::format(
          "reference set {} has {} lines but there are {} hypotheses (one line each expected)",
          k + 1, references[k].size(), hypotheses.size()));
}

std::vector<double> sum_statistics(const std::vector<std::vector<double>>& rows, size_t width) {
  std::vector<double> sums(rows.empty() ? width : rows.front().size(), 0.0);
  for (const auto& row : rows) {
    if (row.size() != sums.size())
      throw InputError(
          fmt::format("item statistics of {} and {} values in one set", sums.size(), row.size()));
    for (size_t k = 0; k < row.size(); ++k) sums[k] += row[k];
  }
  return sums;
}

double mean_from_statistics(const std::vector<double>& sums, double scale, const char* metric) {
  if (sums.size() != 2)
    throw InputError(fmt::format("{} statistics have {} values, not 2", metric, sums.size()));
  return sums[1] > 0 ? scale * sums[0] / sums[1] : 0.0;
}

namespace {
// str.isspace() for the code points Python treats as whitespace.
bool python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}
}  // namespace

std::vector<std::string> split_whitespace(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  auto take = [&](char32_t c, const std::string& bytes) {
    if (python_space(c)) {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      current += bytes;
    }
  };
  bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return (c & 0x80) == 0; });
  if (ascii) {  // the common case, without decoding
    for (char c : text) take(static_cast<unsigned char>(c), std::string(1, c));
  } else {
    for (char32_t c : utf8_decode(text)) take(c, utf8_encode(c));
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The character class [\{-\~\[-\` -\&\(-\+\:-\@\/] of mteval-v13a's first rule.
bool v13a_symbol(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 0x7B && u <= 0x7E) || (u >= 0x5B && u <= 0x60) || (u >= 0x20 && u <= 0x26) ||
         (u >= 0x28 && u <= 0x2B) || (u >= 0x3A && u <= 0x40) || u == 0x2F;
}

}  // namespace

// The four regular expressions of mteval-v13a applied in order, each as a left-to-right
// non-overlapping substitution exactly like Python's re.sub:
//   1. ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 "
//   2. ([^0-9])([\.,])                -> "\1 \2 "
//   3. ([\.,])([^0-9])                -> " \1 \2"
//   4. ([0-9])(-)                     -> "\1 \2 "
std::string tokenize_13a(const std::string& input) {
  std::string line = input;
  replace_all(line, "<skipped>", "");
  replace_all(line, "-\n", "");
  replace_all(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    replace_all(line, "&quot;", "\"");
    replace_all(line, "&amp;", "&");
    replace_all(line, "&lt;", "<");
    replace_all(line, "&gt;", ">");
  }
  line = " " + line + " ";
  std::string step;
  for (char c : line) {
    if (v13a_symbol(c)) {
      step += ' ';
      step += c;
      step += ' ';
    } else {
      step += c;
    }
  }
  line.swap(step);
  step.clear();
  for (size_t i = 0; i < line.size();) {
    if (i + 1 < line.size() && !is_digit(line[i]) && (line[i + 1] == '.' || line[i + 1] == ',')) {
      step += line[i];
      step += ' ';
      step += line[i + 1];
      step += ' ';
      i += 2;
    } else {
      step += line[i++];
    }
  }
  line.swap(step);
  step.clear();
  for (size_t i = 0; i < line.size();) {
    if (i + 1 < line.size() && (line[i] == '.' || line[i] == ',') && !is_digit(line[i + 1])) {
      step += ' ';
      step += line[i];
      step += ' ';
      step += line[i + 1];
      i += 2;
    } else {
      step += line[i++];
    }
  }
  line.swap(step);
  step.clear();
  for (size_t i = 0; i < line.size();) {
    if (i + 1 < line.size() && is_digit(line[i]) && line[i + 1] == '-') {
      step += line[i];
      step += " - ";
      i += 2;
    } else {
      step += line[i++];
    }
  }
  std::string out;
  for (const auto& token : split_whitespace(step)) {
    if (!out.empty()) out += ' ';
    out += token;
  }
  return out;
}

namespace {

// The share of hypotheses equal to one of their references, character for character (what
// `seqlab eval` reports as exact_match for translation and the synthetic tasks).
class ExactMatch : public Metric {
 public:
  std::vector<std::vector<double>> item_statistics(
      const std::vector<std::string>& hypotheses,
      const std::vector<std::vector<std::string>>& references) const override {
    check_reference_lengths(hypotheses, references);
    std::vector<std::vector<double>> rows;
    for (size_t i = 0; i < hypotheses.size(); ++i) {
      bool equal = false;
      for (const auto& set : references)
        equal = equal || (!set[i].empty() && set[i] == hypotheses[i]);
      rows.push_back({equal ? 1.0 : 0.0, 1.0});
    }
    return rows;
  }
  double score_from_statistics(const std::vector<double>& sums) const override {
    return mean_from_statistics(sums, 100.0, "exact-match");
  }
  MetricScore corpus_score(const std::vector<std::string>& hypotheses,
                           const std::vector<std::vector<std::string>>& references) const override {
    MetricScore score;
    score.score = score_from_statistics(sum_statistics(item_statistics(hypotheses, references), 2));
    score.signature = "exact_match|string equality with any reference";
    score.summary =
        fmt::format("exact match = {:.2f}% ({} sentences)", score.score, hypotheses.size());
    return score;
  }
};

// Perplexity of a next-token model, exp(sum nll / sum tokens), from per-sequence [nll in nats,
// tokens] (eval/next_token.h); text alone cannot be scored with it.
class Perplexity : public Metric {
 public:
  std::vector<std::vector<double>> item_statistics(
      const std::vector<std::string>&,
      const std::vector<std::vector<std::string>>&) const override {
    throw InputError(refusal());
  }
  double score_from_statistics(const std::vector<double>& sums) const override {
    if (sums.size() != 2)
      throw InputError(fmt::format("perplexity statistics have {} values, not 2", sums.size()));
    return sums[1] > 0 ? std::exp(sums[0] / sums[1]) : 0.0;
  }
  MetricScore corpus_score(const std::vector<std::string>&,
                           const std::vector<std::vector<std::string>>&) const override {
    throw InputError(refusal());
  }
  bool scores_text() const override { return false; }

 private:
  static std::string refusal() {
    return "perplexity is a model's, not a text's: `seqlab eval` of a sequence-task run keeps its "
           "per-sequence statistics";
  }
};

const bool registered =
    metric_registry().add(
        "exact_match", [] { return std::unique_ptr<Metric>(new ExactMatch()); },
        "% of hypotheses equal to a reference, character for character") &&
    metric_registry().add(
        "perplexity", [] { return std::unique_ptr<Metric>(new Perplexity()); },
        "next-token perplexity of a sequence model (from `seqlab eval`; not a text metric)");

}  // namespace

}  // namespace seqlab
