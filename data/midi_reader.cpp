// Our own reader of standard MIDI files. libsmf (which still writes them) trusts what a file says:
// lengths of meta and sysex events past the end of their chunk, a track without End-of-Track, an
// F7 escape with a huge length or an empty track abort it or corrupt memory, and a bad event can
// end a track silently. MIDI files come from packages and from users, so every byte is checked
// here, and any event that cannot be read is an InputError naming the file, the track and the
// byte offset. The reader is fuzzed (fuzz/midi_fuzzer.cpp).
#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "data/midi.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

uint32_t be32(const unsigned char* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

// One event of a track, in the order the tracks are merged.
struct TrackEvent {
  int64_t pulse = 0;
  size_t track = 0;
  size_t order = 0;  // position within its track
  unsigned char status = 0;
  std::array<unsigned char, 3> data{};  // channel data, or a tempo's three bytes
  bool tempo = false;
};

class MidiParser {
 public:
  MidiParser(const std::string& bytes, const std::string& origin, int64_t max_pulses)
      : data_(reinterpret_cast<const unsigned char*>(bytes.data())),
        size_(bytes.size()),
        origin_(origin),
        max_pulses_(max_pulses) {}

  MidiPiece parse() {
    read_header();
    size_t at = 8 + header_length_;
    size_t found = 0;
    while (at + 8 <= size_) {
      const uint32_t length = be32(data_ + at + 4);
      if (at + 8 + size_t(length) > size_)
        fail(fmt::format(
            "chunk {} at byte {} announces {} bytes, but the file ends {} bytes later (truncated?)",
            found + 1, at, length, size_ - at - 8));
      // Chunks of other types are allowed by the standard and skipped; tracks past the announced
      // number are ignored.
      if (std::equal(data_ + at, data_ + at + 4, "MTrk") && found < tracks_)
        read_track(found++, at + 8, length);
      at += 8 + length;
    }
    if (found < tracks_)
      fail(fmt::format("the header announces {} tracks, the file holds {} (truncated?)", tracks_,
                       found));
    return assemble();
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(fmt::format("{}: not a usable MIDI file: {}", origin_, what));
  }
  [[noreturn]] void fail_at(size_t track, size_t at, const std::string& what) const {
    fail(fmt::format("track {} at byte {}: {}", track + 1, at, what));
  }

  void read_header() {
    if (size_ < 14 || !std::equal(data_, data_ + 4, "MThd"))
      fail("no MThd header (expected a standard MIDI file)");
    header_length_ = be32(data_ + 4);
    if (header_length_ < 6 || 8 + size_t(header_length_) > size_) fail("truncated header");
    const int format = data_[8] << 8 | data_[9];
    tracks_ = size_t(data_[10] << 8 | data_[11]);
    division_ = data_[12] << 8 | data_[13];
    if (format > 2) fail(fmt::format("format {} (expected 0, 1 or 2)", format));
    if (division_ & 0x8000)
      fail("SMPTE time division (only pulses per quarter note are supported)");
    if (division_ == 0) fail("zero pulses per quarter note");
    if (tracks_ == 0) fail("no tracks");
  }

  // A variable-length quantity: at most four bytes, all inside the chunk.
  uint32_t read_vlq(size_t track, size_t& at, size_t end) const {
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      if (at >= end) fail_at(track, at, "a variable-length number runs past the end of the track");
      const unsigned char byte = data_[at++];
      value = value << 7 | (byte & 0x7F);
      if (!(byte & 0x80)) return value;
    }
    fail_at(track, at - 4, "a variable-length number longer than 4 bytes");
  }

  void read_track(size_t track, size_t begin, uint32_t length) {
    const size_t end = begin + length;
    if (length == 0) fail_at(track, begin, "an empty track (no End-of-Track event)");
    size_t at = begin, order = 0;
    int64_t pulse = 0;
    unsigned char running = 0;  // running status: the last channel message's status byte
    bool ended = false;
    while (at < end) {
      if (ended) fail_at(track, at, "bytes after the End-of-Track event");
      pulse += read_vlq(track, at, end);
      if (pulse > max_pulses_)
        fail(fmt::format("an event at pulse {} (absurd track length)", pulse));
      if (at >= end) fail_at(track, at, "a delta time without an event");
      if (++events_ > 2000000) fail("more than 2 million events (absurd track length)");
      const size_t event_at = at;
      unsigned char status = data_[at];
      if (status == 0xFF) {  // meta event: FF type length data
        if (at + 1 >= end) fail_at(track, event_at, "a meta event without its type");
        const unsigned char type = data_[at + 1];
        at += 2;
        const uint32_t size = read_vlq(track, at, end);
        if (size > end - at)
          fail_at(track, event_at,
                  fmt::format("meta event {:02X} announces {} bytes, the track has {} left", type,
                              size, end - at));
        if (type == 0x2F) {
          if (size != 0)
            fail_at(track, event_at,
                    fmt::format("End-of-Track with {} data bytes (expected FF 2F 00)", size));
          ended = true;
        } else if (type == 0x51) {
          if (size != 3)
            fail_at(track, event_at,
                    fmt::format("a tempo event with {} data bytes (expected 3)", size));
          TrackEvent e{pulse, track, order++, 0xFF, {data_[at], data_[at + 1], data_[at + 2]},
                       true};
          events_list_.push_back(e);
        }
        at += size;
        last_pulse_ = std::max(last_pulse_, pulse);
        // The standard says a meta event cancels running status; files that keep using it after
        // one are read as they were meant (no file that follows the standard can tell).
        continue;
      }
      if (status == 0xF0 || status == 0xF7) {  // system exclusive, or an escape: F0/F7 length data
        ++at;
        const uint32_t size = read_vlq(track, at, end);
        if (size > end - at)
          fail_at(track, event_at,
                  fmt::format("system-exclusive event announces {} bytes, the track has {} left",
                              size, end - at));
        at += size;
        running = 0;
        last_pulse_ = std::max(last_pulse_, pulse);
        continue;
      }
      if (status >= 0xF0)
        fail_at(track, event_at,
                fmt::format("status byte {:02X} is not allowed in a MIDI file", status));
      if (status & 0x80) {
        running = status;
        ++at;
      } else if (!running) {
        fail_at(track, event_at,
                fmt::format("data byte {:02X} without a status byte (no running status)", status));
      }
      status = running;
      const size_t needed = (status & 0xF0) == 0xC0 || (status & 0xF0) == 0xD0 ? 1 : 2;
      if (needed > end - at)
        fail_at(track, event_at, "a channel message cut off by the end of the track");
      TrackEvent e{pulse, track, order++, status, {}, false};
      for (size_t i = 0; i < needed; ++i) {
        if (data_[at + i] & 0x80)
          fail_at(track, at + i,
                  fmt::format("data byte {:02X} of a channel message has its top bit set",
                              data_[at + i]));
        e.data[i] = data_[at + i];
      }
      at += needed;
      events_list_.push_back(e);
      last_pulse_ = std::max(last_pulse_, pulse);
    }
    if (!ended) fail_at(track, end, "the track does not end with an End-of-Track event (FF 2F 00)");
  }

  MidiPiece assemble() {
    // Tracks merged by time, ties in track order (what libsmf's reader did, so the notes of the
    // shipped corpora are unchanged).
    std::stable_sort(
        events_list_.begin(), events_list_.end(), [](const TrackEvent& a, const TrackEvent& b) {
          return std::tie(a.pulse, a.track, a.order) < std::tie(b.pulse, b.track, b.order);
        });
    MidiPiece piece;
    piece.ppqn = division_;
    std::array<bool, 16> program_seen{};
    // Open notes per (channel, pitch): a queue of (start, velocity), so overlapping repeats pair
    // FIFO.
    std::map<std::pair<int, int>, std::vector<std::pair<int64_t, int>>> open;
    for (const auto& e : events_list_) {
      if (e.tempo) {
        piece.tempos.push_back(
            {e.pulse, int64_t(e.data[0]) << 16 | int64_t(e.data[1]) << 8 | e.data[2]});
        continue;
      }
      const int kind = e.status & 0xF0, channel = e.status & 0x0F;
      if (kind == 0xC0 && !program_seen[size_t(channel)]) {
        piece.programs[size_t(channel)] = e.data[0];
        program_seen[size_t(channel)] = true;
      }
      if (kind != 0x90 && kind != 0x80) continue;
      const int pitch = e.data[0], velocity = e.data[1];
      auto& queue = open[{channel, pitch}];
      if (kind == 0x90 && velocity > 0) {
        queue.emplace_back(e.pulse, velocity);
      } else if (!queue.empty()) {  // note off (or note on with velocity 0); a stray off is ignored
        auto [start, v] = queue.front();
        queue.erase(queue.begin());
        if (e.pulse > start) piece.notes.push_back({pitch, v, start, e.pulse, channel});
      }
    }
    std::sort(piece.notes.begin(), piece.notes.end(), [](const MidiNote& a, const MidiNote& b) {
      return std::tie(a.start, a.channel, a.pitch, a.end) <
             std::tie(b.start, b.channel, b.pitch, b.end);
    });
    // Length in seconds through the tempo map (120 bpm until the first tempo event).
    double seconds = 0;
    int64_t at = 0, microseconds = 500000;
    for (const auto& tempo : piece.tempos) {
      if (tempo.pulse >= last_pulse_) break;
      seconds += double(tempo.pulse - at) * double(microseconds) / 1e6 / piece.ppqn;
      at = tempo.pulse;
      microseconds = tempo.microseconds_per_quarter;
    }
    piece.seconds = seconds + double(last_pulse_ - at) * double(microseconds) / 1e6 / piece.ppqn;
    return piece;
  }

  const unsigned char* data_;
  size_t size_;
  const std::string& origin_;
  int64_t max_pulses_;
  uint32_t header_length_ = 0;
  size_t tracks_ = 0;
  int division_ = 0;
  int64_t events_ = 0, last_pulse_ = 0;
  std::vector<TrackEvent> events_list_;
};

}  // namespace

MidiPiece parse_midi(const std::string& bytes, const std::string& origin, int64_t max_pulses) {
  return MidiParser(bytes, origin, max_pulses).parse();
}

MidiPiece read_midi(const std::string& path, int64_t max_pulses) {
  if (!fs::is_regular_file(path)) throw InputError(path + ": no such MIDI file");
  return parse_midi(read_file(path), path, max_pulses);
}

}  // namespace seqlab
