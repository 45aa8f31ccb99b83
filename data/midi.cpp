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

}  // namespace

std::ostream& operator<<(std::ostream& out, const MidiNote& note) {
  return out << "pitch " << note.pitch << " velocity " << note.velocity << " channel "
             << note.channel << " pulses " << note.start << "-" << note.end;
}

void write_midi(const std::string& path, const MidiPiece& piece) {
  for (const auto& note : piece.notes)
    if (note.pitch < 0 || note.pitch > 127 || note.velocity < 1 || note.velocity > 127 ||
        note.channel < 0 || note.channel > 15 || note.start < 0 || note.end <= note.start)
      throw Error(
          fmt::format("write_midi: invalid note (pitch {}, velocity {}, channel {}, pulses {}-{})",
                      note.pitch, note.velocity, note.channel, note.start, note.end));
  SmfPtr smf(smf_new());
  if (!smf || smf_set_format(smf.get(), 1) != 0 || smf_set_ppqn(smf.get(), piece.ppqn) != 0)
    throw Error("write_midi: libsmf could not start a file");
  smf_track_t* tempo_track = smf_track_new();
  smf_add_track(smf.get(), tempo_track);
  for (const auto& tempo : piece.tempos) {
    const auto us = tempo.microseconds_per_quarter;
    smf_track_add_event_pulses(
        tempo_track,
        smf_event_new_from_pointer(
            std::array<unsigned char, 6>{0xFF, 0x51, 0x03, (unsigned char)(us >> 16),
                                         (unsigned char)(us >> 8), (unsigned char)us}
                .data(),
            6),
        static_cast<int>(tempo.pulse));
  }
  // One track per channel; note-offs before note-ons at the same pulse (a repeated pitch restarts).
  std::map<int, std::vector<std::tuple<int64_t, int, int, int>>>
      by_channel;  // pulse, on?, pitch, velocity
  for (const auto& note : piece.notes) {
    by_channel[note.channel].emplace_back(note.start, 1, note.pitch, note.velocity);
    by_channel[note.channel].emplace_back(note.end, 0, note.pitch, 0);
  }
  for (auto& [channel, events] : by_channel) {
    std::sort(events.begin(), events.end());
    smf_track_t* track = smf_track_new();
    smf_add_track(smf.get(), track);
    smf_track_add_event_pulses(
        track, smf_event_new_from_bytes(0xC0 | channel, piece.programs[size_t(channel)], -1), 0);
    for (const auto& [pulse, on, pitch, velocity] : events)
      smf_track_add_event_pulses(
          track,
          smf_event_new_from_bytes((on ? 0x90 : 0x80) | channel, pitch, on ? velocity : 0x40),
          static_cast<int>(pulse));
  }
  write_atomic_with(path, [&](const std::string& tmp) {
    if (smf_save(smf.get(), tmp.c_str()) != 0)
      throw Error("write_midi: libsmf could not write " + tmp);
  });
}

}  // namespace seqlab
