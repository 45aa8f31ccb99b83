#include "data/midi.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <smf.h>

#include "core/error.h"
#include "core/files.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

struct SmfDeleter {
  void operator()(smf_t* smf) const { smf_delete(smf); }
};
using SmfPtr = std::unique_ptr<smf_t, SmfDeleter>;

uint32_t be32(const unsigned char* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

// libsmf trusts chunk headers (and logs to stderr through GLib when they lie); check the chunk
// structure first so a broken file is an error naming it, not a crash or a half-read piece.
void check_chunks(const std::string& path, const std::string& bytes) {
  auto fail = [&](const std::string& what) { throw InputError(fmt::format("{}: not a usable MIDI file: {}", path, what)); };
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 14 || bytes.compare(0, 4, "MThd") != 0) fail("no MThd header (expected a standard MIDI file)");
  const uint32_t header_length = be32(data + 4);
  if (header_length < 6 || 8 + size_t(header_length) > bytes.size()) fail("truncated header");
  const int format = data[8] << 8 | data[9];
  const int tracks = data[10] << 8 | data[11];
  const int division = data[12] << 8 | data[13];
  if (format > 2) fail(fmt::format("format {} (expected 0, 1 or 2)", format));
  if (division & 0x8000) fail("SMPTE time division (only pulses per quarter note are supported)");
  if (division == 0) fail("zero pulses per quarter note");
  size_t at = 8 + header_length;
  int found = 0;
  while (at + 8 <= bytes.size()) {
    const uint32_t length = be32(data + at + 4);
    if (at + 8 + size_t(length) > bytes.size())
      fail(fmt::format("chunk {} at byte {} announces {} bytes, but the file ends {} bytes later (truncated?)", found + 1,
                       at, length, bytes.size() - at - 8));
    if (bytes.compare(at, 4, "MTrk") == 0) ++found;
    at += 8 + length;
  }
  if (found < tracks) fail(fmt::format("the header announces {} tracks, the file holds {} (truncated?)", tracks, found));
  if (tracks == 0) fail("no tracks");
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const MidiNote& note) {
  return out << "pitch " << note.pitch << " velocity " << note.velocity << " channel " << note.channel << " pulses "
             << note.start << "-" << note.end;
}

MidiPiece read_midi(const std::string& path, int64_t max_pulses) {
  if (!fs::is_regular_file(path)) throw InputError(path + ": no such MIDI file");
  const std::string bytes = read_file(path);
  check_chunks(path, bytes);
  SmfPtr smf(smf_load_from_memory(bytes.data(), static_cast<int>(bytes.size())));
  if (!smf) throw InputError(path + ": libsmf could not parse it as a MIDI file (corrupt events?)");
  MidiPiece piece;
  piece.ppqn = smf->ppqn;
  std::array<bool, 16> program_seen{};
  // Open notes per (channel, pitch): a stack of (start, velocity), so overlapping repeats pair FIFO.
  std::map<std::pair<int, int>, std::vector<std::pair<int64_t, int>>> open;
  int64_t events = 0;
  for (smf_event_t* event = smf_get_next_event(smf.get()); event; event = smf_get_next_event(smf.get())) {
    if (++events > 2000000) throw InputError(path + ": more than 2 million events (absurd track length)");
    const int64_t t = event->time_pulses;
    if (t < 0 || t > max_pulses) throw InputError(fmt::format("{}: an event at pulse {} (absurd track length)", path, t));
    piece.seconds = std::max(piece.seconds, event->time_seconds);
    const unsigned char* m = event->midi_buffer;
    const int n = event->midi_buffer_length;
    if (n <= 0 || !m) continue;
    if (m[0] == 0xFF) {
      if (n >= 6 && m[1] == 0x51) piece.tempos.push_back({t, int64_t(m[3]) << 16 | int64_t(m[4]) << 8 | m[5]});
      continue;
    }
    const int status = m[0] & 0xF0, channel = m[0] & 0x0F;
    if (status == 0xC0 && n >= 2 && !program_seen[size_t(channel)]) {
      piece.programs[size_t(channel)] = m[1];
      program_seen[size_t(channel)] = true;
    }
    if ((status != 0x90 && status != 0x80) || n < 3) continue;
    const int pitch = m[1] & 0x7F, velocity = m[2] & 0x7F;
    auto& stack = open[{channel, pitch}];
    if (status == 0x90 && velocity > 0) {
      stack.emplace_back(t, velocity);
    } else if (!stack.empty()) {  // note off (or note on with velocity 0); a stray off is ignored
      auto [start, v] = stack.front();
      stack.erase(stack.begin());
      if (t > start) piece.notes.push_back({pitch, v, start, t, channel});
    }
  }
  std::sort(piece.notes.begin(), piece.notes.end(), [](const MidiNote& a, const MidiNote& b) {
    return std::tie(a.start, a.channel, a.pitch, a.end) < std::tie(b.start, b.channel, b.pitch, b.end);
  });
  std::stable_sort(piece.tempos.begin(), piece.tempos.end(),
                   [](const MidiTempo& a, const MidiTempo& b) { return a.pulse < b.pulse; });
  return piece;
}

void write_midi(const std::string& path, const MidiPiece& piece) {
  for (const auto& note : piece.notes)
    if (note.pitch < 0 || note.pitch > 127 || note.velocity < 1 || note.velocity > 127 || note.channel < 0 ||
        note.channel > 15 || note.start < 0 || note.end <= note.start)
      throw Error(fmt::format("write_midi: invalid note (pitch {}, velocity {}, channel {}, pulses {}-{})", note.pitch,
                              note.velocity, note.channel, note.start, note.end));
  SmfPtr smf(smf_new());
  if (!smf || smf_set_format(smf.get(), 1) != 0 || smf_set_ppqn(smf.get(), piece.ppqn) != 0)
    throw Error("write_midi: libsmf could not start a file");
  smf_track_t* tempo_track = smf_track_new();
  smf_add_track(smf.get(), tempo_track);
  for (const auto& tempo : piece.tempos) {
    const auto us = tempo.microseconds_per_quarter;
    smf_track_add_event_pulses(tempo_track, smf_event_new_from_pointer(
                                                std::array<unsigned char, 6>{0xFF, 0x51, 0x03, (unsigned char)(us >> 16),
                                                                             (unsigned char)(us >> 8), (unsigned char)us}
                                                    .data(),
                                                6),
                               static_cast<int>(tempo.pulse));
  }
  // One track per channel; note-offs before note-ons at the same pulse (a repeated pitch restarts).
  std::map<int, std::vector<std::tuple<int64_t, int, int, int>>> by_channel;  // pulse, on?, pitch, velocity
  for (const auto& note : piece.notes) {
    by_channel[note.channel].emplace_back(note.start, 1, note.pitch, note.velocity);
    by_channel[note.channel].emplace_back(note.end, 0, note.pitch, 0);
  }
  for (auto& [channel, events] : by_channel) {
    std::sort(events.begin(), events.end());
    smf_track_t* track = smf_track_new();
    smf_add_track(smf.get(), track);
    smf_track_add_event_pulses(track, smf_event_new_from_bytes(0xC0 | channel, piece.programs[size_t(channel)], -1), 0);
    for (const auto& [pulse, on, pitch, velocity] : events)
      smf_track_add_event_pulses(
          track, smf_event_new_from_bytes((on ? 0x90 : 0x80) | channel, pitch, on ? velocity : 0x40),
          static_cast<int>(pulse));
  }
  write_atomic_with(path, [&](const std::string& tmp) {
    if (smf_save(smf.get(), tmp.c_str()) != 0) throw Error("write_midi: libsmf could not write " + tmp);
  });
}

}  // namespace seqlab
