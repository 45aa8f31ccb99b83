// Progress for long work: on a terminal, one redrawn line with a bar, rate and ETA; when stderr
// is not a terminal (CI, logs), plain lines at most every few seconds, so logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace seqlab {

class Progress {
 public:
  // `total` 0 means unknown (no bar, no ETA). `unit` names what is counted ("pairs", "tok").
  Progress(std::string label, int64_t total, std::string unit = "it");
  ~Progress();

  void advance(int64_t n = 1);
  // Starts the count at `n` (work done before a resume): shown in the count and the bar, but not
  // as progress of this session, so the rate and the ETA stay right.
  void resume_at(int64_t n);
  // Units per second in this session (0 before any).
  double rate() const;
  void set_status(const std::string& status);  // shown after the numbers, e.g. "loss 2.31"
  // Work under a time budget: every line shows the time left until `seconds` from now, computed
  // when the line is drawn (a status text would go stale between updates).
  void set_deadline(double seconds);
  void finish();

  int64_t done() const { return done_; }
  // Formats seconds as "1:02:03" / "2:03".
  static std::string format_duration(double seconds);
  // The counts, rate and timing as drawn at `now` (without the terminal's bar).
  std::string line(bool final, std::chrono::steady_clock::time_point now) const;

 private:
  void draw(bool final);
  std::string label_;
  std::string unit_;
  std::string status_;
  int64_t total_;
  int64_t done_ = 0;
  int64_t resumed_at_ = 0;
  bool tty_;
  bool finished_ = false;
  bool has_deadline_ = false;
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace seqlab
