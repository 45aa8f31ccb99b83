#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "core/log.h"

namespace seqlab {

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::advance(int64_t n) {
  done_ += n;
  auto now = std::chrono::steady_clock::now();
  double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  if (since_draw >= (tty_ ? 0.1 : 10.0)) draw(false);
}

void Progress::set_status(const std::string& status) { status_ = status; }

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

std::string Progress::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

void Progress::resume_at(int64_t n) {
  done_ = n;
  resumed_at_ = n;
}

void Progress::set_deadline(double seconds) {
  has_deadline_ = true;
  deadline_ = std::chrono::steady_clock::now() +
              std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                  std::chrono::duration<double>(seconds));
}

double Progress::rate() const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return elapsed > 0 ? static_cast<double>(done_ - resumed_at_) / elapsed : 0.0;
}

std::string Progress::line(bool final, std::chrono::steady_clock::time_point now) const {
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double rate = elapsed > 0 ? static_cast<double>(done_ - resumed_at_) / elapsed : 0.0;
  std::string counts = total_ > 0 ? fmt::format("{}/{} {}", done_, total_, unit_)
                                  : fmt::format("{} {}", done_, unit_);
  std::string rate_text = fmt::format("{:.1f} {}/s", rate, unit_);
  std::string timing = final ? "in " + format_duration(elapsed)
                       : total_ > 0 && rate > 0
                           ? "ETA " + format_duration(static_cast<double>(total_ - done_) / rate)
                           : format_duration(elapsed);
  if (has_deadline_ && !final)
    timing += "  time left " + format_duration(std::max(
                                   0.0, std::chrono::duration<double>(deadline_ - now).count()));
  std::string status = status_.empty() ? "" : "  " + status_;
  return counts + "  " + rate_text + "  " + timing + status;
}

void Progress::draw(bool final) {
  if (console_rank() > 0) return;  // the console is rank 0's (core/log.h)
  auto now = std::chrono::steady_clock::now();
  last_draw_ = now;
  std::string bar;
  if (tty_ && total_ > 0) {
    const int width = 24;
    int filled = static_cast<int>(width * std::min<double>(1.0, double(done_) / double(total_)));
    bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
  }
  if (tty_)
    std::fprintf(stderr, "\r\033[2K%s %s%s%s", label_.c_str(), bar.c_str(),
                 line(final, now).c_str(), final ? "\n" : "");
  else
    std::fprintf(stderr, "%s: %s\n", label_.c_str(), line(final, now).c_str());
  std::fflush(stderr);
}

}  // namespace seqlab
