//! The musical clock: where each audio block lies in beats, from the host transport or from
//! Descant's own free-running clock. Audio thread only; no allocation, no locks.
//!
//! Guarantees: [`Clock::advance`] is O(1); it reports a jump whenever the block does not start
//! where the previous one ended (seek, host restart) or time starts or stops, so the caller can
//! release every sounding note before anything else happens in that block. A wrap of the host's
//! loop range is not a jump: Descant's timeline runs on (the loop's length is added to the host's
//! positions after each wrap), so a line and a loop take continue across it; the block is flagged
//! `wrapped` so the caller still ends the notes sounding at the wrap.

use descant_inference::model::tokenizer::{Meter, TICKS_PER_BEAT};

/// Largest host position taken at its word, in beats (about 15 years at 120 BPM).
const MAX_HOST_BEATS: f64 = 1e9;

/// What the clock knows about the host's transport in one block (copied out of nice-plug's
/// `Transport`, so this module has no framework dependency and is testable).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostTime {
    /// Whether the host transport is playing.
    pub playing: bool,
    /// Host tempo in BPM, if it reports one.
    pub tempo: Option<f64>,
    /// Host position in quarter-note beats, if it reports one.
    pub pos_beats: Option<f64>,
    /// Start of the current bar in beats, if known.
    pub bar_start_beats: Option<f64>,
    /// Time signature, if known.
    pub time_sig: Option<(i32, i32)>,
    /// The host's loop range in beats, while it loops.
    pub loop_beats: Option<(f64, f64)>,
}

/// One block's place in musical time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockTime {
    /// Whether time runs in this block (Descant may play).
    pub running: bool,
    /// Beat position of the block's first sample.
    pub start_beat: f64,
    /// Samples per beat at this block's tempo.
    pub samples_per_beat: f64,
    /// Start of the bar the block starts in, in beats.
    pub bar_start_beat: f64,
    /// The meter (nearest one the vocabulary knows).
    pub meter: Meter,
    /// Whether this block is discontinuous with the previous one (seek, loop wrap, start, stop).
    pub jumped: bool,
    /// Whether the meter changed since the previous block.
    pub meter_changed: bool,
    /// Whether the host wrapped its loop range before this block (time runs on; see the module
    /// docs).
    pub wrapped: bool,
    /// The host's loop range on Descant's timeline while it loops: `(start beat, length)`.
    pub loop_range: Option<(f64, f64)>,
}

impl BlockTime {
    /// Sample offset into the block of `beat`, as a real number: blocks tile time, so a beat
    /// belongs to the block where this lies in `-0.5..frames-0.5`.
    pub fn offset_of(&self, beat: f64) -> f64 {
        (beat - self.start_beat) * self.samples_per_beat
    }

    /// Beat position of sample `offset` in the block.
    pub fn beat_at(&self, offset: u32) -> f64 {
        self.start_beat + f64::from(offset) / self.samples_per_beat
    }

    /// Whether `beat` falls on the meter's pulse (a beat a player counts: a dotted quarter in
    /// 6/8), counted from the bar line the block starts after, within a 64th of a quarter note.
    pub fn on_pulse(&self, beat: f64) -> bool {
        let pulse = self.pulse_beats();
        let pulses = (beat - self.bar_start_beat) / pulse;
        (pulses - pulses.round()).abs() * pulse < 1.0 / 64.0
    }

    /// The meter's pulse in beats (quarter notes): 1.5 in 6/8, 2 in 2/2.
    fn pulse_beats(&self) -> f64 {
        self.meter.pulse_ticks() as f64 / TICKS_PER_BEAT as f64
    }

    /// The pulses that fall in a block of `frames` samples, as `(beat, sample offset)`: those
    /// whose offset ([`BlockTime::offset_of`]) lies in `-0.5..frames-0.5`, as a note's onset
    /// would.
    pub fn pulses(&self, frames: u32) -> impl Iterator<Item = (f64, u32)> + '_ {
        let pulse = self.pulse_beats();
        let first = ((self.start_beat - self.bar_start_beat) / pulse - 1.0 / 64.0).ceil();
        (0..)
            .map(move |i| self.bar_start_beat + (first + f64::from(i)) * pulse)
            .map(move |beat| (beat, self.offset_of(beat)))
            .skip_while(|&(_, at)| at < -0.5)
            .take_while(move |&(_, at)| at < f64::from(frames) - 0.5)
            .map(|(beat, at)| (beat, at.round().max(0.0) as u32))
    }
}

impl HostTime {
    /// The host's numbers are untrusted: a position that is not a number, or beyond any
    /// project, counts as absent.
    fn sane(self) -> HostTime {
        let sane = |b: f64| b.is_finite() && b.abs() <= MAX_HOST_BEATS;
        HostTime {
            pos_beats: self.pos_beats.filter(|&b| sane(b)),
            bar_start_beats: self.bar_start_beats.filter(|&b| sane(b)),
            loop_beats: self.loop_beats.filter(|&(s, e)| sane(s) && sane(e)),
            ..self
        }
    }
}

/// The clock's memory between blocks. Lives in the plugin struct; touched by the audio thread.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Where the next block should start if time runs on, in beats (`None` before the first block).
    expected_next: Option<f64>,
    /// Whether time ran in the previous block.
    was_running: bool,
    /// Beat position of Descant's own clock.
    own_beat: f64,
    /// Meter of the previous block.
    meter: Meter,
    /// Beats added to the host's positions: the loop lengths of the wraps since the last jump.
    offset: f64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            expected_next: None,
            was_running: false,
            own_beat: 0.0,
            meter: Meter::FOUR_FOUR,
            offset: 0.0,
        }
    }
}

impl Clock {
    /// Forget continuity: the next block counts as a jump (after activation or reset).
    pub fn reset(&mut self) {
        *self = Clock::default();
    }

    /// Places a block of `frames` samples at `sample_rate` in musical time.
    pub fn advance(
        &mut self,
        host: HostTime,
        frames: u32,
        sample_rate: f32,
        free_run: bool,
        own_tempo: f64,
    ) -> BlockTime {
        let host = host.sane();
        // Following the host's transport: it plays and says where.
        let following = host.playing && host.pos_beats.is_some();
        let (running, tempo, start_beat) = self.time_source(&host, free_run, own_tempo);
        let samples_per_beat = f64::from(sample_rate.max(1.0)) * 60.0 / tempo;
        let meter = host
            .time_sig
            .map_or(Meter::FOUR_FOUR, |(n, d)| Meter::nearest(n, d));
        let bar_len = meter.bar_beats();
        let bar_start_beat = match host.bar_start_beats {
            Some(b) if following => b,
            _ => (start_beat / bar_len).floor() * bar_len,
        };
        let tolerance = 1.0 / samples_per_beat;
        let host_loop = host
            .loop_beats
            .filter(|(s, e)| following && e > s && s.is_finite());
        let (mut start_beat, discontinuous, wrapped) =
            self.continuity(start_beat, following, host_loop, tolerance);
        let bar_start_beat = if following {
            bar_start_beat + self.offset
        } else {
            bar_start_beat
        };
        let jumped = running != self.was_running || (running && discontinuous);
        if jumped && following && self.offset != 0.0 {
            // A real jump: back to the host's own positions.
            start_beat -= self.offset;
            self.offset = 0.0;
        }
        let bar_start_beat = if jumped && following {
            host.bar_start_beats.unwrap_or(bar_start_beat)
        } else {
            bar_start_beat
        };
        let meter_changed = meter != self.meter;
        let end_beat = start_beat + f64::from(frames) / samples_per_beat;
        self.expected_next = running.then_some(end_beat);
        self.was_running = running;
        self.meter = meter;
        self.own_beat = if running { end_beat } else { start_beat };
        BlockTime {
            running,
            start_beat,
            samples_per_beat,
            bar_start_beat,
            meter,
            jumped,
            meter_changed,
            wrapped,
            loop_range: host_loop.map(|(ls, le)| (ls + self.offset, le - ls)),
        }
    }

    /// Where this block's time comes from: `(running, tempo, start beat)` from the host while it
    /// plays with a position, else from the own clock (at `own_tempo`) when the host has no
    /// position or `free_run` is on, else the stopped host's place. The tempo is a number in
    /// 1–1000 BPM whatever the host said.
    fn time_source(&self, host: &HostTime, free_run: bool, own_tempo: f64) -> (bool, f64, f64) {
        let own_tempo = if own_tempo.is_finite() {
            own_tempo
        } else {
            120.0
        };
        let host_has_time = host.pos_beats.is_some();
        let (running, tempo, start_beat) = if host.playing && host_has_time {
            let tempo = host.tempo.unwrap_or(own_tempo);
            // Keep the own clock where the host is, so free run continues from there on stop.
            (true, tempo, host.pos_beats.unwrap_or(0.0))
        } else if !host_has_time || free_run {
            (true, own_tempo, self.own_beat)
        } else {
            (
                false,
                host.tempo.unwrap_or(own_tempo),
                host.pos_beats.unwrap_or(0.0),
            )
        };
        let tempo = if tempo.is_finite() {
            tempo.clamp(1.0, 1000.0)
        } else {
            120.0
        };
        (running, tempo, start_beat)
    }

    /// Whether the block starting at `start_beat` (the host's position, or the own clock's)
    /// follows on from the previous one. While `following` the host's transport, a wrap of its
    /// loop range `host_loop` is not a jump: Descant's timeline runs on by a loop length. Returns
    /// the start on Descant's timeline, whether it is discontinuous, and whether the loop wrapped.
    fn continuity(
        &mut self,
        mut start_beat: f64,
        following: bool,
        host_loop: Option<(f64, f64)>,
        tolerance: f64,
    ) -> (f64, bool, bool) {
        let mut wrapped = false;
        let discontinuous = match self.expected_next {
            Some(expected) if following => {
                // `expected` is on Descant's timeline; the host's own position is `- offset`.
                let host_expected = expected - self.offset;
                if let Some((ls, le)) = host_loop {
                    let wrap_to = ls + (host_expected - le);
                    if host_expected >= le - tolerance
                        && (start_beat - wrap_to).abs() <= 2.0 * tolerance
                        && (start_beat - host_expected).abs() > tolerance
                    {
                        self.offset += le - ls;
                        wrapped = true;
                    }
                }
                start_beat += self.offset;
                (start_beat - expected).abs() > tolerance
            }
            Some(expected) => (start_beat - expected).abs() > tolerance,
            None => true,
        };
        (start_beat, discontinuous, wrapped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Any number a host might send, the absurd ones included.
    fn host_number() -> impl Strategy<Value = f64> {
        prop_oneof![
            -1e4..1e4f64,
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(0.0),
            Just(-0.0),
            Just(f64::MAX),
            Just(f64::MIN_POSITIVE),
            any::<f64>(),
        ]
    }

    fn host_time() -> impl Strategy<Value = HostTime> {
        (
            any::<bool>(),
            proptest::option::of(host_number()),
            proptest::option::of(host_number()),
            proptest::option::of(host_number()),
            proptest::option::of((any::<i32>(), any::<i32>())),
            proptest::option::of((host_number(), host_number())),
        )
            .prop_map(
                |(playing, tempo, pos, bar, time_sig, loop_beats)| HostTime {
                    playing,
                    tempo,
                    pos_beats: pos,
                    bar_start_beats: bar,
                    time_sig,
                    loop_beats,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the host reports, every block has a finite place in time, so no note can be
        /// scheduled at an offset that is not a number.
        #[test]
        fn any_host_transport_gives_finite_block_times(
            blocks in proptest::collection::vec(
                (host_time(), 1u32..=8192, prop_oneof![Just(1.0f32), 8000.0f32..400_000.0],
                 any::<bool>(), host_number()),
                1..40,
            )
        ) {
            let mut clock = Clock::default();
            for (host, frames, rate, free_run, own_tempo) in blocks {
                let b = clock.advance(host, frames, rate, free_run, own_tempo);
                prop_assert!(b.start_beat.is_finite(), "{b:?} from {host:?}");
                prop_assert!(b.samples_per_beat.is_finite() && b.samples_per_beat > 0.0, "{b:?}");
                prop_assert!(b.bar_start_beat.is_finite(), "{b:?} from {host:?}");
                prop_assert!(b.beat_at(frames - 1).is_finite(), "{b:?}");
                if let Some((start, len)) = b.loop_range {
                    prop_assert!(start.is_finite() && len.is_finite() && len > 0.0, "{b:?}");
                }
            }
        }
    }

    fn playing_at(beat: f64, tempo: f64) -> HostTime {
        HostTime {
            playing: true,
            tempo: Some(tempo),
            pos_beats: Some(beat),
            bar_start_beats: Some((beat / 4.0).floor() * 4.0),
            time_sig: Some((4, 4)),
            loop_beats: None,
        }
    }

    #[test]
    fn contiguous_blocks_do_not_jump() {
        let mut c = Clock::default();
        let first = c.advance(playing_at(0.0, 120.0), 512, 48_000.0, false, 100.0);
        assert!(first.jumped, "the first block starts time");
        let spb = first.samples_per_beat;
        assert_eq!(spb, 24_000.0);
        let second = c.advance(playing_at(512.0 / spb, 120.0), 512, 48_000.0, false, 100.0);
        assert!(!second.jumped);
    }

    #[test]
    fn a_loop_wrap_and_a_seek_jump() {
        let mut c = Clock::default();
        c.advance(playing_at(7.9, 120.0), 4800, 48_000.0, false, 120.0);
        assert!(
            c.advance(playing_at(0.0, 120.0), 64, 48_000.0, false, 120.0)
                .jumped
        );
        assert!(
            c.advance(playing_at(40.0, 120.0), 64, 48_000.0, false, 120.0)
                .jumped
        );
    }

    #[test]
    fn a_wrap_of_the_host_loop_runs_on_and_a_seek_inside_it_jumps() {
        let mut c = Clock::default();
        let looping = |beat: f64| HostTime {
            loop_beats: Some((4.0, 8.0)),
            ..playing_at(beat, 120.0)
        };
        // 7.9 + 0.2 beats (4,800 samples at 24,000 per beat) ends at 8.1: the host wraps to 4.1.
        c.advance(looping(7.9), 4800, 48_000.0, false, 120.0);
        let b = c.advance(looping(4.1), 4800, 48_000.0, false, 120.0);
        assert!(b.wrapped && !b.jumped);
        assert!((b.start_beat - 8.1).abs() < 1e-9, "{}", b.start_beat);
        assert!((b.bar_start_beat - 8.0).abs() < 1e-9);
        assert_eq!(b.loop_range, Some((8.0, 4.0)));
        let c2 = c.advance(looping(4.3), 64, 48_000.0, false, 120.0);
        assert!(!c2.jumped && !c2.wrapped && (c2.start_beat - 8.3).abs() < 1e-9);
        let seek = c.advance(looping(5.0), 64, 48_000.0, false, 120.0);
        assert!(seek.jumped && (seek.start_beat - 5.0).abs() < 1e-9);
    }

    #[test]
    fn stopping_is_a_jump_and_stops_time_without_free_run() {
        let mut c = Clock::default();
        c.advance(playing_at(1.0, 120.0), 64, 48_000.0, false, 120.0);
        let stopped = HostTime {
            playing: false,
            ..playing_at(1.0, 120.0)
        };
        let b = c.advance(stopped, 64, 48_000.0, false, 120.0);
        assert!(b.jumped && !b.running);
        assert!(!c.advance(stopped, 64, 48_000.0, false, 120.0).jumped);
    }

    #[test]
    fn free_run_keeps_time_at_the_tempo_parameter() {
        let mut c = Clock::default();
        let stopped = HostTime {
            playing: false,
            tempo: Some(90.0),
            pos_beats: Some(0.0),
            bar_start_beats: None,
            time_sig: None,
            loop_beats: None,
        };
        let a = c.advance(stopped, 48_000, 48_000.0, true, 60.0);
        assert!(a.running);
        let b = c.advance(stopped, 48_000, 48_000.0, true, 60.0);
        assert!(!b.jumped);
        assert_eq!(b.start_beat, 1.0, "one second at 60 BPM is one beat");
    }

    #[test]
    fn no_transport_at_all_runs_the_own_clock() {
        let mut c = Clock::default();
        let none = HostTime {
            playing: false,
            tempo: None,
            pos_beats: None,
            bar_start_beats: None,
            time_sig: None,
            loop_beats: None,
        };
        let a = c.advance(none, 100, 1000.0, false, 120.0);
        assert!(a.running);
        assert_eq!(a.meter, Meter::FOUR_FOUR);
        let b = c.advance(none, 100, 1000.0, false, 120.0);
        assert!((b.start_beat - 0.2).abs() < 1e-12);
    }

    #[test]
    fn offsets_tile_blocks() {
        let b = BlockTime {
            running: true,
            start_beat: 2.0,
            samples_per_beat: 22_050.0,
            bar_start_beat: 0.0,
            meter: Meter::FOUR_FOUR,
            jumped: false,
            meter_changed: false,
            wrapped: false,
            loop_range: None,
        };
        assert_eq!(b.offset_of(2.5), 11_025.0);
        assert_eq!(b.beat_at(11_025), 2.5);
    }

    #[test]
    fn the_pulse_is_the_meters_counted_from_the_bar_line() {
        let at = |meter: Meter, bar_start_beat: f64| BlockTime {
            running: true,
            start_beat: bar_start_beat,
            samples_per_beat: 22_050.0,
            bar_start_beat,
            meter,
            jumped: false,
            meter_changed: false,
            wrapped: false,
            loop_range: None,
        };
        let four = at(Meter::FOUR_FOUR, 8.0);
        assert!(four.on_pulse(9.0) && four.on_pulse(13.00001) && !four.on_pulse(9.5));
        // 6/8: two dotted quarters a bar; the bar began at beat 1.5 (an upbeat of three eighths).
        let six = at(Meter::new(6, 8).unwrap(), 1.5);
        assert!(six.on_pulse(3.0) && six.on_pulse(4.5) && !six.on_pulse(4.0) && !six.on_pulse(5.0));
        // A block of 2 beats from the bar line holds the pulses at 1.5 and 3.0, not 4.5.
        let pulses: Vec<(f64, u32)> = six.pulses(44_100).collect();
        assert_eq!(pulses, [(1.5, 0), (3.0, 33_075)]);
        let mid_bar = BlockTime {
            start_beat: 2.0,
            ..six
        };
        assert_eq!(mid_bar.pulses(1_000).count(), 0);
    }
}
