// Standard MIDI files as notes, read by our own checked reader (data/midi_reader.cpp) and written
// with Debian's libsmf: what the music recipe and
// `seqlab generate` need (pitch, velocity, start and end in pulses, channel and program). Tempo
// changes are kept as a map from pulses to microseconds per quarter note so a written file plays at
// the speed it was read at.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace seqlab {

struct MidiNote {
  int pitch = 60;     // 0-127
  int velocity = 80;  // 1-127
  int64_t start = 0;  // pulses
  int64_t end = 0;    // pulses, > start
  int channel = 0;    // 0-15 (9 is General MIDI percussion)
  bool operator==(const MidiNote& o) const {
    return pitch == o.pitch && velocity == o.velocity && start == o.start && end == o.end &&
           channel == o.channel;
  }
};

// "pitch 60 velocity 80 channel 0 pulses 0-480" (test messages, logs).
std::ostream& operator<<(std::ostream& out, const MidiNote& note);

struct MidiTempo {
  int64_t pulse = 0;
  int64_t microseconds_per_quarter = 500000;  // 120 beats per minute
};

struct MidiPiece {
  int ppqn = 480;                 // pulses per quarter note
  std::vector<MidiTempo> tempos;  // sorted by pulse; empty = 120 bpm throughout
  std::vector<int> programs =
      std::vector<int>(16, 0);  // General MIDI program per channel (first seen)
  std::vector<MidiNote> notes;  // sorted by (start, channel, pitch)
  double seconds = 0;           // length as read
};

// Reads a standard MIDI file (format 0, 1 or 2, PPQN timing). InputError naming the file (and the
// track and byte) when it is not one, is truncated, announces chunks or events longer than their
// chunk, has an event that cannot be read (a variable-length number over 4 bytes, a tempo event
// that is not 3 bytes, a data byte without a status, a track without End-of-Track, an empty
// track), uses SMPTE timing, or is absurdly long (over `max_pulses` of music or 2 million events).
// No event is skipped silently.
MidiPiece read_midi(const std::string& path, int64_t max_pulses = int64_t(1) << 31);
// The same on bytes in memory; `origin` names them in errors.
MidiPiece parse_midi(const std::string& bytes, const std::string& origin,
                     int64_t max_pulses = int64_t(1) << 31);

// Writes a format-1 file (a tempo track and one track per channel used), atomically.
void write_midi(const std::string& path, const MidiPiece& piece);

}  // namespace seqlab
