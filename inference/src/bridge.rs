//! The one bridge between Descant's threads, beside the two SPSC queues in [`crate::events`]:
//! the audio thread's block snapshot, the worker's telemetry for the GUI, and the offline render
//! handshake with both of its halves.
//!
//! | what | written by | read by | how |
//! |---|---|---|---|
//! | [`BlockCell`] ([`BlockSnapshot`]) | audio, once per block | worker, GUI | seqlock over atomics |
//! | [`Telemetry`] | worker (audio: `late_notes`) | GUI, log, tests | relaxed atomics |
//! | [`RenderSync`] | audio asks, worker answers | each other | two counters |
//!
//! Guarantees: the audio thread's side never waits, allocates or locks: [`BlockCell::publish`] is
//! a fixed number of atomic stores (one writer), and [`RenderSync::wait_for_worker`] is called
//! only when the host renders offline, where waiting is allowed. A reader of a [`BlockCell`]
//! always gets one block's snapshot whole (never the loop start of one block with the loop length
//! of another); it retries while a publish is under way, which takes nanoseconds.
//!
//! Why no crate: `triple_buffer` is single-reader (the worker and the GUI both read), and
//! `crossbeam_utils::atomic::AtomicCell` of a struct this size falls back to a global lock that
//! a reader can hold against the writer. A seqlock whose fields are atomics needs no `unsafe`.

use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::events::AtomicF64;
use crate::music::time::Meter;

/// What the audio thread knows of time at the start of its latest block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockSnapshot {
    /// Beat position at the block's start, on Descant's timeline (see the plugin's clock).
    pub playhead_beat: f64,
    /// Whether time runs (host playing, or Descant's free-running clock).
    pub playing: bool,
    /// Tempo in BPM.
    pub tempo: f64,
    /// The host's loop range on Descant's timeline, `(start, length)` in beats, if it loops.
    pub loop_range: Option<(f64, f64)>,
    /// Start of the bar the block starts in, in beats.
    pub bar_start_beat: f64,
    /// The meter of the host's bars (as the grammar maps it).
    pub meter: Meter,
    /// The audio thread's plan epoch (the GUI hides planned notes of older epochs).
    pub epoch: u32,
}

impl Default for BlockSnapshot {
    fn default() -> Self {
        BlockSnapshot {
            playhead_beat: 0.0,
            playing: false,
            tempo: 120.0,
            loop_range: None,
            bar_start_beat: 0.0,
            meter: Meter::FOUR_FOUR,
            epoch: 0,
        }
    }
}

/// A [`BlockSnapshot`] published by one writer (the audio thread) to any number of readers.
#[derive(Debug)]
pub struct BlockCell {
    /// Even when the fields hold a whole snapshot, odd while the writer is storing one.
    seq: AtomicU64,
    /// `playhead_beat`.
    playhead_beat: AtomicF64,
    /// `playing`.
    playing: AtomicBool,
    /// `tempo`.
    tempo: AtomicF64,
    /// `loop_range`'s start (meaningless when `loop_len` is 0).
    loop_start: AtomicF64,
    /// `loop_range`'s length; 0 when the host does not loop.
    loop_len: AtomicF64,
    /// `bar_start_beat`.
    bar_start_beat: AtomicF64,
    /// `meter`, packed ([`Meter::pack`]).
    meter: AtomicU32,
    /// `epoch`.
    epoch: AtomicU32,
}

impl Default for BlockCell {
    fn default() -> Self {
        let s = BlockSnapshot::default();
        BlockCell {
            seq: AtomicU64::new(0),
            playhead_beat: AtomicF64::new(s.playhead_beat),
            playing: AtomicBool::new(s.playing),
            tempo: AtomicF64::new(s.tempo),
            loop_start: AtomicF64::new(0.0),
            loop_len: AtomicF64::new(0.0),
            bar_start_beat: AtomicF64::new(s.bar_start_beat),
            meter: AtomicU32::new(u32::from(s.meter.pack())),
            epoch: AtomicU32::new(s.epoch),
        }
    }
}

impl BlockCell {
    /// Publishes `s`. The audio thread only (one writer); wait-free.
    pub fn publish(&self, s: BlockSnapshot) {
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        // Readers that see any of the stores below also see the odd sequence number.
        fence(Ordering::Release);
        self.playhead_beat.store(s.playhead_beat);
        self.playing.store(s.playing, Ordering::Relaxed);
        self.tempo.store(s.tempo);
        let (start, len) = s.loop_range.unwrap_or((0.0, 0.0));
        self.loop_start.store(start);
        self.loop_len.store(len);
        self.bar_start_beat.store(s.bar_start_beat);
        self.meter
            .store(u32::from(s.meter.pack()), Ordering::Relaxed);
        self.epoch.store(s.epoch, Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// The latest snapshot, whole. Worker and GUI; retries while a publish is under way.
    pub fn read(&self) -> BlockSnapshot {
        loop {
            let before = self.seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let loop_len = self.loop_len.load();
            let s = BlockSnapshot {
                playhead_beat: self.playhead_beat.load(),
                playing: self.playing.load(Ordering::Relaxed),
                tempo: self.tempo.load(),
                loop_range: (loop_len > 0.0).then(|| (self.loop_start.load(), loop_len)),
                bar_start_beat: self.bar_start_beat.load(),
                meter: Meter::unpack(self.meter.load(Ordering::Relaxed) as u16),
                epoch: self.epoch.load(Ordering::Relaxed),
            };
            // The loads above happen before the second look at the sequence number.
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == before {
                return s;
            }
        }
    }
}

/// Figures for the GUI and the log. Each field says who writes it; the GUI, the log and tests
/// read them. Relaxed atomics: each figure is right on its own; no two are read as a pair.
#[derive(Debug)]
pub struct Telemetry {
    /// Notes that arrived too late to play, dropped. Written by audio.
    pub late_notes: AtomicU64,
    /// Notes the worker generated. Written by worker.
    pub generated_notes: AtomicU64,
    /// Notes played with an alternate key chosen at their onset (see [`crate::music::onset`]). Written
    /// by audio.
    pub onset_choices: AtomicU64,
    /// Notes dropped because the note queue was full. Written by worker.
    pub queue_full_drops: AtomicU64,
    /// Notes the originality guard resampled (they would have copied a training melody).
    /// Written by worker.
    pub originality_interventions: AtomicU64,
    /// Whether the model has an originality index (false: the guard cannot act). Written by
    /// worker.
    pub originality_available: AtomicBool,
    /// Recent per-token step time in microseconds. Written by worker.
    pub step_micros: AtomicU32,
    /// The key in use for the scale lock: 0 none, else 1 + its index in parameter order
    /// ([`crate::music::key::Key::from_index`]). Written by worker.
    pub key_in_use: AtomicU32,
    /// The look-ahead in use, in beats. Written by worker.
    pub lookahead_beats: AtomicF64,
    /// The cycle length of the kept loop take in beats, 0 when none. Written by worker.
    pub kept_take_beats: AtomicF64,
    /// Panics the worker caught and recovered from (or gave up after). Written by worker.
    pub worker_panics: AtomicU32,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            late_notes: AtomicU64::new(0),
            generated_notes: AtomicU64::new(0),
            onset_choices: AtomicU64::new(0),
            queue_full_drops: AtomicU64::new(0),
            originality_interventions: AtomicU64::new(0),
            originality_available: AtomicBool::new(false),
            step_micros: AtomicU32::new(0),
            key_in_use: AtomicU32::new(0),
            lookahead_beats: AtomicF64::new(0.0),
            kept_take_beats: AtomicF64::new(0.0),
            worker_panics: AtomicU32::new(0),
        }
    }
}

/// How an offline render keeps the worker in step with the audio thread: before taking a
/// block's notes the audio thread asks the worker to catch up (read every event sent so far and
/// plan its look-ahead) and waits for the answer; live, nobody waits.
#[derive(Debug, Default)]
pub struct RenderSync {
    /// Whether the host renders offline. Written on activation (main thread), read by audio and
    /// worker (the worker then uses a fixed look-ahead, so a render is the same on any machine).
    offline: AtomicBool,
    /// The audio thread's latest block number. Written by audio, read by worker.
    request: AtomicU64,
    /// The latest request the worker has caught up with. Written by worker, read by audio.
    done: AtomicU64,
}

impl RenderSync {
    /// Starts an activation: offline or live, no request outstanding. Main thread, before the
    /// worker starts.
    pub fn activate(&self, offline: bool) {
        self.offline.store(offline, Ordering::Relaxed);
        self.request.store(0, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
    }

    /// Whether the host renders offline. Any thread.
    pub fn offline(&self) -> bool {
        self.offline.load(Ordering::Relaxed)
    }

    /// Audio half, offline only: asks the worker to catch up with block `block` (numbered from 1
    /// in each activation), wakes it with `wake`, and waits until it has, or until `limit`
    /// passed. Returns false when it gave up.
    pub fn wait_for_worker(&self, block: u64, wake: impl Fn(), limit: Duration) -> bool {
        self.request.store(block, Ordering::Release);
        wake();
        let deadline = Instant::now() + limit;
        while self.done.load(Ordering::Acquire) < block {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_micros(20));
        }
        true
    }

    /// Worker half: the request to answer once idle. Read it before draining the event queue:
    /// every event sent before it is in the queue then.
    pub fn pending_request(&self) -> u64 {
        self.request.load(Ordering::Acquire)
    }

    /// Worker half: it has read every event sent before `request` and has nothing left to plan.
    pub fn caught_up(&self, request: u64) {
        self.done.store(request, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_reader_never_sees_two_blocks_mixed() {
        let cell = Arc::new(BlockCell::default());
        let snapshot = |i: u32| {
            let n = f64::from(i);
            BlockSnapshot {
                playhead_beat: n,
                playing: i.is_multiple_of(2),
                tempo: n + 1.0,
                loop_range: (!i.is_multiple_of(3)).then_some((n, 4.0)),
                bar_start_beat: n,
                meter: Meter::FOUR_FOUR,
                epoch: i,
            }
        };
        // The default snapshot does not follow the pattern below: publish one that does before
        // the reader can look.
        cell.publish(snapshot(0));
        let reads = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (cell, reads, stop) = (cell.clone(), reads.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let s = cell.read();
                    // Every published snapshot has all fields derived from one number.
                    let n = s.playhead_beat;
                    assert_eq!(s.tempo, n + 1.0, "{s:?}");
                    assert_eq!(s.loop_range.map_or(n, |(start, _)| start), n, "{s:?}");
                    assert_eq!(s.epoch, n as u32, "{s:?}");
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        // Publish until the reader has read often while the writer wrote (however the two
        // threads are scheduled), within a bound.
        let want = if cfg!(miri) { 10 } else { 20_000 };
        let mut i = 1u32;
        while (i < 1000 || reads.load(Ordering::Relaxed) < want) && i < 50_000_000 {
            cell.publish(snapshot(i));
            i += 1;
        }
        stop.store(true, Ordering::Relaxed);
        reader.join().unwrap();
        assert!(reads.load(Ordering::Relaxed) >= want);
        assert_eq!(cell.read().playhead_beat, f64::from(i - 1));
    }

    #[test]
    fn the_meter_crosses_whole() {
        let cell = BlockCell::default();
        let six_eight = Meter::new(6, 8).unwrap();
        cell.publish(BlockSnapshot {
            meter: six_eight,
            ..BlockSnapshot::default()
        });
        assert_eq!(cell.read().meter, six_eight);
    }

    #[test]
    fn an_offline_wait_ends_when_the_worker_catches_up_or_the_limit_passes() {
        let sync = Arc::new(RenderSync::default());
        sync.activate(true);
        assert!(sync.offline());
        assert!(!sync.wait_for_worker(1, || {}, Duration::from_millis(5)));
        let worker = {
            let sync = sync.clone();
            std::thread::spawn(move || loop {
                let r = sync.pending_request();
                if r >= 2 {
                    sync.caught_up(r);
                    return;
                }
                std::thread::yield_now();
            })
        };
        assert!(sync.wait_for_worker(2, || {}, Duration::from_secs(20)));
        worker.join().unwrap();
    }
}
