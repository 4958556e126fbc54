//! Standard MIDI files in and out (through `midly`): the track `descant render` plays along with,
//! and the takes the editor and the renderer write. Main thread, GUI thread or tools only.
//!
//! Guarantees: [`read`] never panics on untrusted bytes: it refuses files over [`MAX_FILE_BYTES`],
//! with SMPTE timing, or with more than [`MAX_EVENTS`] events, with a message that says which; a
//! note-on without its note-off ends at the end of the file. [`write`] produces a format-1 file
//! that says in its text events that Descant generated it and with which model.

use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use thiserror::Error;

/// Largest MIDI file [`read`] accepts.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// Most events [`read`] accepts (all tracks together).
pub const MAX_EVENTS: usize = 1_000_000;
/// Ticks per quarter note of the files [`write`] makes.
pub const WRITE_PPQ: u16 = 480;

/// Why a MIDI file cannot be used.
#[derive(Debug, Error)]
pub enum MidiFileError {
    /// Too large to be a track a person would play along with.
    #[error("the MIDI file is {0} bytes; at most {MAX_FILE_BYTES} are accepted")]
    TooLarge(usize),
    /// Not a standard MIDI file, or a broken one.
    #[error("not a valid standard MIDI file: {0}")]
    Parse(String),
    /// Timed in SMPTE frames rather than beats.
    #[error("the MIDI file uses SMPTE (frame) timing; only beat (metrical) timing is supported")]
    Smpte,
    /// More events than [`MAX_EVENTS`].
    #[error("the MIDI file has more than {MAX_EVENTS} events")]
    TooManyEvents,
}

/// A note in beat time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeatNote {
    /// Onset in quarter-note beats from the start of the file.
    pub beat: f64,
    /// Length in beats.
    pub length: f64,
    /// MIDI key.
    pub key: u8,
    /// MIDI channel, 0..=15.
    pub channel: u8,
    /// Velocity, 0..=1.
    pub velocity: f32,
}

/// What [`read`] takes from a file: its notes, tempo map and meter.
#[derive(Debug, Clone, PartialEq)]
pub struct Song {
    /// Every note of every track, by onset.
    pub notes: Vec<BeatNote>,
    /// Tempo changes `(beat, BPM)`, by beat; starts at beat 0 (120 BPM when the file sets none).
    pub tempos: Vec<(f64, f64)>,
    /// The first time signature (4/4 when the file sets none).
    pub meter: (u8, u8),
    /// Beat of the file's last event.
    pub end_beat: f64,
}

impl Song {
    /// The tempo in BPM at `beat`.
    pub fn tempo_at(&self, beat: f64) -> f64 {
        self.tempos
            .iter()
            .take_while(|(b, _)| *b <= beat)
            .last()
            .map_or(120.0, |&(_, t)| t)
    }
}

/// Reads a standard MIDI file.
pub fn read(bytes: &[u8]) -> Result<Song, MidiFileError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(MidiFileError::TooLarge(bytes.len()));
    }
    // SMPTE timing is refused before `midly` reads it: its reader overflows on a frame rate
    // byte of 0x80 (a panic in debug builds; found by the property tests).
    if bytes.len() >= 14 && bytes.starts_with(b"MThd") && bytes[12] & 0x80 != 0 {
        return Err(MidiFileError::Smpte);
    }
    // And should the parser panic on some other damage, that is a refusal too, not a crash.
    let parsed = std::panic::catch_unwind(|| Smf::parse(bytes))
        .map_err(|_| MidiFileError::Parse("the MIDI reader failed on this file".into()))?;
    let smf = parsed.map_err(|e| MidiFileError::Parse(e.to_string()))?;
    let ppq = match smf.header.timing {
        Timing::Metrical(t) if t.as_int() > 0 => f64::from(t.as_int()),
        Timing::Metrical(_) => return Err(MidiFileError::Parse("zero ticks per beat".into())),
        Timing::Timecode(..) => return Err(MidiFileError::Smpte),
    };
    if smf.tracks.iter().map(Vec::len).sum::<usize>() > MAX_EVENTS {
        return Err(MidiFileError::TooManyEvents);
    }
    let mut notes = Vec::new();
    let mut tempos = Vec::new();
    let mut meter = None;
    let mut end_tick = 0u64;
    for track in &smf.tracks {
        let mut tick = 0u64;
        let mut open: Vec<(u8, u8, u64, u8)> = Vec::new();
        for ev in track {
            tick += u64::from(ev.delta.as_int());
            end_tick = end_tick.max(tick);
            match ev.kind {
                TrackEventKind::Midi { channel, message } => {
                    let ch = channel.as_int();
                    let (key, on_vel) = match message {
                        MidiMessage::NoteOn { key, vel } => (key.as_int(), vel.as_int()),
                        MidiMessage::NoteOff { key, .. } => (key.as_int(), 0),
                        _ => continue,
                    };
                    if let Some(i) = open.iter().position(|o| o.0 == key && o.1 == ch) {
                        let (k, c, start, v) = open.remove(i);
                        notes.push(note(k, c, start, tick, v, ppq));
                    }
                    if on_vel > 0 {
                        open.push((key, ch, tick, on_vel));
                    }
                }
                TrackEventKind::Meta(MetaMessage::Tempo(us)) if us.as_int() > 0 => {
                    tempos.push((tick as f64 / ppq, 60e6 / f64::from(us.as_int())));
                }
                TrackEventKind::Meta(MetaMessage::TimeSignature(n, d, ..)) if meter.is_none() => {
                    meter = Some((n.max(1), 1u8 << d.min(5)));
                }
                _ => {}
            }
        }
        for (k, c, start, v) in open {
            notes.push(note(k, c, start, end_tick.max(start + 1), v, ppq));
        }
    }
    notes.sort_by(|a, b| a.beat.total_cmp(&b.beat).then(a.key.cmp(&b.key)));
    tempos.sort_by(|a, b| a.0.total_cmp(&b.0));
    if tempos.first().is_none_or(|t| t.0 > 0.0) {
        tempos.insert(0, (0.0, 120.0));
    }
    Ok(Song {
        notes,
        tempos,
        meter: meter.unwrap_or((4, 4)),
        end_beat: end_tick as f64 / ppq,
    })
}

fn note(key: u8, channel: u8, start: u64, end: u64, velocity: u8, ppq: f64) -> BeatNote {
    BeatNote {
        beat: start as f64 / ppq,
        length: (end - start) as f64 / ppq,
        key,
        channel,
        velocity: f32::from(velocity) / 127.0,
    }
}

/// Writes `notes` as a format-1 MIDI file: a conductor track (`tempos`, `meter`, and `text`, which
/// should say what generated the file) and one track named `name` with the notes.
pub fn write(
    notes: &[BeatNote],
    tempos: &[(f64, f64)],
    meter: (u8, u8),
    name: &str,
    text: &str,
) -> Vec<u8> {
    let ppq = f64::from(WRITE_PPQ);
    let to_tick = |beat: f64| (beat.max(0.0) * ppq).round() as u64;
    let mut conductor: Vec<(u64, TrackEventKind)> = vec![
        (0, TrackEventKind::Meta(MetaMessage::TrackName(b"Descant"))),
        (0, TrackEventKind::Meta(MetaMessage::Text(text.as_bytes()))),
        (
            0,
            TrackEventKind::Meta(MetaMessage::TimeSignature(
                meter.0,
                meter.1.max(1).trailing_zeros() as u8,
                24,
                8,
            )),
        ),
    ];
    for &(beat, bpm) in tempos {
        let us = (60e6 / bpm.clamp(1.0, 1000.0)).round() as u32;
        conductor.push((
            to_tick(beat),
            TrackEventKind::Meta(MetaMessage::Tempo(u24::new(us))),
        ));
    }
    let mut track: Vec<(u64, TrackEventKind)> = vec![(
        0,
        TrackEventKind::Meta(MetaMessage::TrackName(name.as_bytes())),
    )];
    for n in notes {
        let on = to_tick(n.beat);
        let off = to_tick(n.beat + n.length).max(on + 1);
        let (channel, key) = (u4::new(n.channel & 15), u7::new(n.key & 127));
        let vel = u7::new(((n.velocity.clamp(0.0, 1.0) * 127.0).round() as u8).max(1));
        track.push((
            on,
            TrackEventKind::Midi {
                channel,
                message: MidiMessage::NoteOn { key, vel },
            },
        ));
        track.push((
            off,
            TrackEventKind::Midi {
                channel,
                message: MidiMessage::NoteOff {
                    key,
                    vel: u7::new(0),
                },
            },
        ));
    }
    let smf = Smf {
        header: Header::new(Format::Parallel, Timing::Metrical(u15::new(WRITE_PPQ))),
        tracks: vec![delta_encode(conductor), delta_encode(track)],
    };
    let mut out = Vec::new();
    smf.write(&mut out)
        .expect("writing a MIDI file into memory cannot fail");
    out
}

/// Sorts `(tick, event)` pairs (note-offs before note-ons at the same tick) into a track.
fn delta_encode(mut events: Vec<(u64, TrackEventKind)>) -> Vec<TrackEvent> {
    let rank = |k: &TrackEventKind| match k {
        TrackEventKind::Meta(_) => 0,
        TrackEventKind::Midi {
            message: MidiMessage::NoteOff { .. },
            ..
        } => 1,
        _ => 2,
    };
    events.sort_by_key(|(t, k)| (*t, rank(k)));
    let mut last = 0;
    let mut track: Vec<TrackEvent> = events
        .into_iter()
        .map(|(t, kind)| {
            let delta = u28::new((t - last).min(0x0FFF_FFFF) as u32);
            last = t;
            TrackEvent { delta, kind }
        })
        .collect();
    track.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    track
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_files_read_back_with_their_notes_tempo_and_meter() {
        let notes = [
            BeatNote {
                beat: 0.0,
                length: 0.5,
                key: 60,
                channel: 0,
                velocity: 0.8,
            },
            BeatNote {
                beat: 1.25,
                length: 1.0,
                key: 67,
                channel: 3,
                velocity: 0.5,
            },
        ];
        let bytes = write(
            &notes,
            &[(0.0, 90.0), (2.0, 140.0)],
            (3, 4),
            "take",
            "by test",
        );
        let song = read(&bytes).unwrap();
        assert_eq!(song.meter, (3, 4));
        assert_eq!(song.notes.len(), 2);
        for (a, b) in song.notes.iter().zip(&notes) {
            assert_eq!((a.key, a.channel), (b.key, b.channel));
            assert!((a.beat - b.beat).abs() < 1e-9 && (a.length - b.length).abs() < 1e-9);
            assert!((a.velocity - b.velocity).abs() < 0.01);
        }
        assert!((song.tempo_at(1.0) - 90.0).abs() < 0.01);
        assert!((song.tempo_at(3.0) - 140.0).abs() < 0.01);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("by test"));
    }

    #[test]
    fn garbage_and_oversized_files_are_refused_with_a_reason() {
        assert!(matches!(read(b"not midi"), Err(MidiFileError::Parse(_))));
        let big = vec![0u8; MAX_FILE_BYTES + 1];
        assert!(matches!(read(&big), Err(MidiFileError::TooLarge(_))));
        let mut smpte = write(&[], &[], (4, 4), "t", "x");
        // Division field (bytes 12..14) with the top bit set: SMPTE timing.
        smpte[12] = 0xE7;
        smpte[13] = 0x28;
        assert!(matches!(read(&smpte), Err(MidiFileError::Smpte)));
        // A frame-rate byte of 0x80 overflows `midly`'s reader (found by the property tests).
        smpte[12] = 0x80;
        smpte[13] = 0x00;
        assert!(matches!(read(&smpte), Err(MidiFileError::Smpte)));
    }
}
