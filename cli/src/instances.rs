//! `descant bench`'s table 5, many instances: N inference workers (the plugin's own worker code)
//! in one process at 240 BPM sixteenths for a simulated stretch of minutes, each fed as the audio
//! thread feeds it, counting the notes that reached the audio side too late to play (deadline
//! misses).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use descant_inference::bridge::BlockSnapshot;
use descant_inference::decode::sampler::SamplingSettings;
use descant_inference::decode::steering::Steering;
use descant_inference::events::{ContextEvent, GeneratedNote, Plan};
use descant_inference::worker::{
    AnswerLength, InferenceWorker, ModelSource, WorkerConfig, WorkerSettings, WorkerShared,
};

/// One simulated instance: a worker and the audio side's ends of its queues.
struct Instance {
    worker: InferenceWorker,
    events: rtrb::Producer<ContextEvent>,
    notes: rtrb::Consumer<Plan>,
    shared: Arc<WorkerShared>,
    played: u64,
    late: u64,
}

pub fn many_instances(ort: &Path, n: usize, minutes: f64, speed: f64) -> Result<()> {
    println!(
        "\n## 5. {n} instances, 240 BPM sixteenths, {minutes} simulated minutes at {speed}× real time\n"
    );
    const BLOCK: f64 = 512.0;
    const RATE: f64 = 48_000.0;
    let steering = Steering {
        density: Some(4.0),
        ..Steering::default()
    };
    let mut instances = Vec::new();
    for i in 0..n {
        instances.push(spawn_instance(ort, i, steering)?);
    }
    // Let every worker load its model before time starts (a host activates before it plays).
    let loading = Instant::now();
    while instances.iter().any(|i| {
        matches!(
            *i.shared.status.lock(),
            descant_inference::worker::ModelStatus::Loading
        )
    }) && loading.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let beats_per_block = BLOCK / RATE * MANY_TEMPO / 60.0;
    let blocks = (minutes * 60.0 * RATE / BLOCK) as u64;
    let started = Instant::now();
    let mut pending: Vec<Vec<GeneratedNote>> = vec![Vec::new(); n];
    for b in 0..blocks {
        let start = b as f64 * beats_per_block;
        let end = start + beats_per_block;
        for (inst, queue) in instances.iter_mut().zip(pending.iter_mut()) {
            inst.play_block(queue, start, end);
        }
        let due = Duration::from_secs_f64((b + 1) as f64 * BLOCK / RATE / speed);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let played: u64 = instances.iter().map(|i| i.played).sum();
    let late: u64 = instances.iter().map(|i| i.late).sum();
    let per_token: Vec<u32> = instances
        .iter()
        .map(|i| i.shared.telemetry.step_micros.load(Ordering::Relaxed))
        .collect();
    println!("| instances | simulated | wall | notes played | deadline misses | last per-token µs (min–max) |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {n} | {minutes} min | {wall:.0} s | {played} | {late} | {}–{} |",
        per_token.iter().min().unwrap_or(&0),
        per_token.iter().max().unwrap_or(&0)
    );
    for mut inst in instances {
        let _ = inst.events.push(ContextEvent::Reset { epoch: 2 });
        inst.worker.stop();
    }
    Ok(())
}

/// Tempo of the many-instance table, BPM.
const MANY_TEMPO: f64 = 240.0;

/// Starts instance `i` of the many-instance table: a worker on the shipped model with `steering`,
/// its transport running from beat 0, and a four-note phrase heard.
fn spawn_instance(ort: &Path, i: usize, steering: Steering) -> Result<Instance> {
    let (mut ev_tx, ev_rx) = rtrb::RingBuffer::new(1024);
    let (notes_tx, notes_rx) = rtrb::RingBuffer::new(256);
    let shared = Arc::new(WorkerShared::default());
    let config = WorkerConfig {
        ort_library: ort.to_path_buf(),
        model: ModelSource::builtin(descant_inference::NON_COMMERCIAL),
        kept_take: Default::default(),
        taste: Default::default(),
        chosen: Default::default(),
        style_names: Default::default(),
    };
    let seed = i as u64 + 1;
    let settings = WorkerSettings {
        enabled: true,
        sampling: SamplingSettings::default(),
        answer_after_beats: 0.5,
        steering,
        seed,
        // Streamed answers, comparable with earlier runs (a chosen answer to a phrase that
        // never pauses for a bar would rarely sound).
        answer_length: AnswerLength::UntilYouPlay,
        ..WorkerSettings::default()
    };
    let worker = InferenceWorker::spawn(config, settings, ev_rx, notes_tx, shared.clone())?;
    shared.block.publish(BlockSnapshot {
        playing: true,
        tempo: MANY_TEMPO,
        ..BlockSnapshot::default()
    });
    let _ = ev_tx.push(ContextEvent::Transport {
        playing: true,
        jumped: true,
        beat: 0.0,
        bar_start_beat: 0.0,
        numerator: 4,
        denominator: 4,
        epoch: 1,
    });
    for (j, key) in [60u8, 62, 64, 67].into_iter().enumerate() {
        let beat = j as f64 * 0.25;
        let _ = ev_tx.push(ContextEvent::PlayerNoteOn {
            key: key + i as u8 % 5,
            velocity: 0.8,
            beat,
            epoch: 1,
        });
        let _ = ev_tx.push(ContextEvent::PlayerNoteOff {
            key: key + i as u8 % 5,
            beat: beat + 0.2,
            epoch: 1,
        });
    }
    Ok(Instance {
        worker,
        events: ev_tx,
        notes: notes_rx,
        shared,
        played: 0,
        late: 0,
    })
}

impl Instance {
    /// One block `start..end` (beats) of the many-instance table, as the plugin's scheduler
    /// plays it: `queue` takes the worker's new plans, a note whose onset has passed is late.
    fn play_block(&mut self, queue: &mut Vec<GeneratedNote>, start: f64, end: f64) {
        self.shared.block.publish(BlockSnapshot {
            playhead_beat: start,
            playing: true,
            tempo: MANY_TEMPO,
            ..BlockSnapshot::default()
        });
        while let Ok(plan) = self.notes.pop() {
            match plan {
                Plan::Note(note) => queue.push(note),
                Plan::Retract { from_beat, .. } => {
                    queue.retain(|n| n.onset_beat < from_beat - 1e-9)
                }
            }
        }
        // As the plugin's scheduler: a note whose onset has passed when it arrives is late.
        queue.retain(|note| {
            if note.onset_beat < start {
                self.late += 1;
                // The plugin tells the worker, which then plans further ahead.
                self.shared
                    .telemetry
                    .late_notes
                    .fetch_add(1, Ordering::Relaxed);
                false
            } else if note.onset_beat < end {
                self.played += 1;
                false
            } else {
                true
            }
        });
    }
}
