#include "data/music.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "core/error.h"

namespace seqlab {
namespace {

// "on60" -> (kind 'n', 60); "off60" -> ('f', 60); "wait3" -> ('w', 3); anything else -> ('?', 0).
std::pair<char, int> parse_event(const std::string& word) {
  auto number = [&](size_t from) -> int {
    if (from >= word.size() || word.size() - from > 3) return -1;
    int value = 0;
    for (size_t i = from; i < word.size(); ++i) {
      if (word[i] < '0' || word[i] > '9') return -1;
      value = value * 10 + (word[i] - '0');
    }
    return value;
  };
  if (word.rfind("on", 0) == 0) {
    int p = number(2);
    if (p >= 0 && p <= 127) return {'n', p};
  } else if (word.rfind("off", 0) == 0) {
    int p = number(3);
    if (p >= 0 && p <= 127) return {'f', p};
  } else if (word.rfind("wait", 0) == 0) {
    int k = number(4);
    if (k >= 1) return {'w', k};
  }
  return {'?', 0};
}

}  // namespace

std::vector<std::string> notes_to_events(const std::vector<MidiNote>& notes, int ppqn,
                                         const MusicOptions& options) {
  if (ppqn <= 0 || options.steps_per_beat <= 0 || options.max_wait <= 0)
    throw Error("notes_to_events: bad grid");
  const double step = double(ppqn) / options.steps_per_beat;
  struct Quantized {
    int64_t start, end;
    int pitch;
  };
  std::vector<Quantized> q;
  for (const auto& n : notes) {
    int64_t s = std::llround(double(n.start) / step), e = std::llround(double(n.end) / step);
    q.push_back({s, std::max(e, s + 1), n.pitch});
  }
  std::sort(q.begin(), q.end(), [](const Quantized& a, const Quantized& b) {
    return std::tie(a.start, a.pitch, a.end) < std::tie(b.start, b.pitch, b.end);
  });
  // A pitch that starts again ends its previous note there; duplicates at one start collapse.
  std::map<int, size_t> last_of_pitch;
  std::vector<Quantized> kept;
  for (const auto& n : q) {
    auto it = last_of_pitch.find(n.pitch);
    if (it != last_of_pitch.end()) {
      Quantized& previous = kept[it->second];
      if (previous.start == n.start) {
        previous.end = std::max(previous.end, n.end);
        continue;
      }
      previous.end = std::min(previous.end, n.start);
    }
    last_of_pitch[n.pitch] = kept.size();
    kept.push_back(n);
  }
  std::vector<std::tuple<int64_t, int, int>> timeline;  // step, 0 = off / 1 = on, pitch
  for (const auto& n : kept) {
    timeline.emplace_back(n.start, 1, n.pitch);
    timeline.emplace_back(n.end, 0, n.pitch);
  }
  std::sort(timeline.begin(), timeline.end());
  std::vector<std::string> events;
  int64_t now = timeline.empty() ? 0 : std::get<0>(timeline.front());
  for (const auto& [t, on, pitch] : timeline) {
    for (int64_t gap = t - now; gap > 0; gap -= options.max_wait)
      events.push_back(fmt::format("wait{}", std::min<int64_t>(gap, options.max_wait)));
    now = t;
    events.push_back(fmt::format("{}{}", on ? "on" : "off", pitch));
  }
  return events;
}

std::vector<MidiNote> events_to_notes(const std::vector<std::string>& events, int ppqn,
                                      const MusicOptions& options, int channel, int velocity,
                                      int64_t* skipped) {
  const double step = double(ppqn) / options.steps_per_beat;
  auto pulses = [&](int64_t steps) { return std::llround(double(steps) * step); };
  std::map<int, int64_t> open;  // pitch -> start step
  std::vector<MidiNote> notes;
  int64_t now = 0, ignored = 0;
  for (const auto& word : events) {
    auto [kind, value] = parse_event(word);
    if (kind == 'w') {
      now += value;
    } else if (kind == 'n') {
      auto it = open.find(value);
      if (it != open.end()) {  // a restart ends the sounding note
        if (now > it->second)
          notes.push_back({value, velocity, pulses(it->second), pulses(now), channel});
        open.erase(it);
      }
      open[value] = now;
    } else if (kind == 'f') {
      auto it = open.find(value);
      if (it == open.end()) {
        ++ignored;
        continue;
      }
      const int64_t end = std::max(now, it->second + 1);
      notes.push_back({value, velocity, pulses(it->second), pulses(end), channel});
      open.erase(it);
    } else {
      ++ignored;
    }
  }
  for (const auto& [pitch, start] : open)
    notes.push_back({pitch, velocity, pulses(start), pulses(std::max(now, start + 1)), channel});
  std::sort(notes.begin(), notes.end(), [](const MidiNote& a, const MidiNote& b) {
    return std::tie(a.start, a.channel, a.pitch, a.end) <
           std::tie(b.start, b.channel, b.pitch, b.end);
  });
  if (skipped) *skipped = ignored;
  return notes;
}

bool transpose_events(const std::vector<std::string>& events, int semitones,
                      std::vector<std::string>& out) {
  std::vector<std::string> shifted;
  shifted.reserve(events.size());
  for (const auto& word : events) {
    auto [kind, value] = parse_event(word);
    if (kind != 'n' && kind != 'f') {
      shifted.push_back(word);
      continue;
    }
    const int pitch = value + semitones;
    if (pitch < 0 || pitch > 127) return false;
    shifted.push_back(fmt::format("{}{}", kind == 'n' ? "on" : "off", pitch));
  }
  out = std::move(shifted);
  return true;
}

}  // namespace seqlab
