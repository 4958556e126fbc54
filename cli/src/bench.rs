//! `descant bench`: Descant's speed, measured, side by side in one run (`cargo xtask bench` runs
//! it in release with the release plugin and the Python numbers). Prints one table per question:
//!
//! 1. per-token step latency (median, p99) at several context lengths, fp32 and int8;
//! 2. generation throughput with the KV cache, against recomputing the whole sequence without it
//!    and against a Python ONNX Runtime loop (same model, prompt, sampler settings, one thread);
//! 3. candidate answers written one at a time against one batch of them;
//! 4. the plugin's audio-thread cost per 512-frame block while generating, against the same
//!    plugin passing MIDI through only;
//! 5. many instances: N inference workers (the plugin's own worker code) in one process at 240 BPM
//!    sixteenths for a simulated stretch of minutes, counting notes that reached the audio side too
//!    late to play (deadline misses).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use descant_host::{Input, Pacer, PluginHost};
use descant_inference::decode::sampler::{Sampler, SamplingSettings};
use descant_inference::model::runtime;
use descant_inference::model::tokenizer::{self, Meter, TickNote};
use descant_inference::model::{Model, State};
use descant_inference::{NON_COMMERCIAL_MODEL, NON_COMMERCIAL_SIDECAR};

/// Tokens generated per throughput run (the Python loop uses the same).
const TOKENS: usize = 200;
/// Throughput runs averaged.
const RUNS: usize = 5;

/// `descant bench`'s arguments.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// A release `.clap`, for the audio-thread table (skipped without it); the ONNX Runtime
    /// library beside it (or the installed plugin's, or `DESCANT_ORT_LIB`) is the one measured.
    #[arg(long, value_name = "PATH")]
    plugin: Option<PathBuf>,
    /// The int8 model (its sidecar is the shipped one with the hash replaced).
    #[arg(long, value_name = "PATH")]
    int8: Option<PathBuf>,
    /// The `python.json` of `training/bench_ort.py`, for the Python row.
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// Inference workers in the many-instance table.
    #[arg(long, default_value_t = 16)]
    instances: usize,
    /// Simulated minutes of the many-instance table.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// 1 = real time, as in a live host; above 1 the simulated time runs faster than the wall
    /// clock, which is harder.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
}

/// The ONNX Runtime library: `DESCANT_ORT_LIB`, else the one beside the plugin (`--plugin`, else
/// the installed one), as the plugin itself finds it.
fn ort_library(plugin: Option<&Path>) -> PathBuf {
    let plugin = plugin.map_or_else(crate::render::default_plugin, Path::to_path_buf);
    runtime::library_path(plugin.parent())
}

/// The tokens of the phrase both throughput loops start from (as `training/bench_ort.py`).
fn prompt() -> Vec<u32> {
    let notes: Vec<TickNote> = [60u8, 62, 64, 65, 67, 65, 64, 62]
        .iter()
        .enumerate()
        .map(|(i, &key)| TickNote {
            onset: i as i64 * 6,
            duration: 6,
            key,
        })
        .collect();
    tokenizer::encode(&notes, Meter::FOUR_FOUR, None)
}

/// Median and 99th percentile of `samples`, in microseconds.
pub(crate) fn median_p99(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5).as_secs_f64() * 1e6, at(0.99).as_secs_f64() * 1e6)
}

fn int8_model(path: &Path) -> Result<Model> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let hex: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let shipped = descant_inference::model::contract::ModelContract::parse(NON_COMMERCIAL_SIDECAR)?;
    let sidecar = NON_COMMERCIAL_SIDECAR.replace(&shipped.sha256, &hex);
    Ok(Model::from_bytes(&bytes, &sidecar)?)
}

/// A state holding `len` tokens of a plausible sequence (the prompt, repeated).
fn state_at(model: &mut Model, len: usize, control: &[f32]) -> Result<State> {
    let p = prompt();
    let mut s = model.new_state();
    for i in 0..len {
        let t = if i < p.len() {
            p[i]
        } else {
            p[3 + (i - 3) % (p.len() - 3)]
        };
        model.step(&mut s, t, control)?;
    }
    Ok(s)
}

fn latency(models: &mut [(&str, Model)]) -> Result<()> {
    println!("\n## 1. Step latency, one thread (µs per token)\n");
    println!("| model | context | median | p99 |");
    println!("|---|---|---|---|");
    for (name, model) in models.iter_mut() {
        let max = model.contract().max_context;
        let control = vec![0.0; model.contract().control.size];
        for ctx in [32usize, 128, 255, 512] {
            if ctx >= max {
                println!("| {name} | {ctx} | n/a (model context {max}) | |");
                continue;
            }
            let base = state_at(model, ctx, &control)?;
            let mut times = Vec::with_capacity(300);
            for _ in 0..300 {
                let mut s = base.try_clone()?;
                let t0 = Instant::now();
                model.step(&mut s, tokenizer::BAR, &control)?;
                times.push(t0.elapsed());
            }
            let (med, p99) = median_p99(&mut times);
            println!("| {name} | {ctx} | {med:.0} | {p99:.0} |");
        }
    }
    Ok(())
}

fn allowed(t: u32) -> bool {
    t != tokenizer::PAD && t != tokenizer::BOS && t != tokenizer::EOS
}

/// Tokens per second generating [`TOKENS`] after the prompt, with the KV cache.
fn with_cache(model: &mut Model, seed: u64) -> Result<f64> {
    let control = vec![0.0; model.contract().control.size];
    let mut sampler = Sampler::new(seed);
    let p = prompt();
    let mut s = model.new_state();
    for &t in &p {
        model.step(&mut s, t, &control)?;
    }
    let t0 = Instant::now();
    for _ in 0..TOKENS {
        let t = sampler
            .sample(s.logits(), SamplingSettings::default(), allowed)
            .context("no token")?;
        model.step(&mut s, t, &control)?;
    }
    Ok(TOKENS as f64 / t0.elapsed().as_secs_f64())
}

/// Tokens per second generating [`TOKENS`] after the prompt by re-feeding the whole sequence
/// for every token (no KV cache carried between tokens).
fn without_cache(model: &mut Model, seed: u64) -> Result<f64> {
    let control = vec![0.0; model.contract().control.size];
    let mut sampler = Sampler::new(seed);
    let mut seq = prompt();
    let t0 = Instant::now();
    for _ in 0..TOKENS {
        let mut s = model.new_state();
        for &t in &seq {
            model.step(&mut s, t, &control)?;
        }
        let t = sampler
            .sample(s.logits(), SamplingSettings::default(), allowed)
            .context("no token")?;
        seq.push(t);
    }
    Ok(TOKENS as f64 / t0.elapsed().as_secs_f64())
}

fn throughput(model: &mut Model, python: Option<&Path>) -> Result<()> {
    println!(
        "\n## 2. Generation throughput ({TOKENS} tokens after a {}-token prompt, mean of {RUNS} runs, one thread)\n",
        prompt().len()
    );
    with_cache(model, 0)?; // warm-up
    let cached: f64 = (0..RUNS)
        .map(|r| with_cache(model, r as u64 + 1))
        .sum::<Result<f64>>()?
        / RUNS as f64;
    let recompute = without_cache(model, 1)?;
    println!("| engine | tokens/s | Rust KV cache is … faster |");
    println!("|---|---|---|");
    println!("| Rust, KV cache (Descant) | {cached:.0} | 1.0× |");
    println!(
        "| Rust, recompute without KV cache | {recompute:.0} | {:.1}× |",
        cached / recompute
    );
    match python {
        Some(path) => {
            let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
            let py = json["tokens_per_s"].as_f64().context("python.json")?;
            println!(
                "| Python onnxruntime loop, KV cache | {py:.0} | {:.1}× |",
                cached / py
            );
        }
        None => println!("| Python onnxruntime loop | n/a (no --python) | |"),
    }
    Ok(())
}

/// Tokens each candidate answer runs to in the candidates table (a 4-bar answer of eighths and
/// quarters is about this many).
const CANDIDATE_TOKENS: usize = 48;
/// Runs averaged per row of the candidates table (each is short).
const CANDIDATE_RUNS: usize = 20;

/// Seconds to write `n` candidates of [`CANDIDATE_TOKENS`] tokens from the prefilled `base`: one
/// at a time (each a fork of `base` stepped alone, as the answer planner writes them), or all in
/// one [`Batch`](descant_inference::model::batch::Batch).
fn candidates(model: &mut Model, base: &State, n: usize, batched: bool, seed: u64) -> Result<f64> {
    let control = vec![0.0; model.contract().control.size];
    let mut sampler = Sampler::new(seed);
    let t0 = Instant::now();
    if batched {
        let mut batch = model.batch_of(base, n)?;
        let mut tokens = vec![0u32; n];
        for _ in 0..CANDIDATE_TOKENS {
            for (row, t) in tokens.iter_mut().enumerate() {
                *t = sampler
                    .sample(batch.logits(row), SamplingSettings::default(), allowed)
                    .context("no token")?;
            }
            model.step_batch(&mut batch, &tokens, &control)?;
        }
    } else {
        for _ in 0..n {
            let mut s = base.try_clone()?;
            for _ in 0..CANDIDATE_TOKENS {
                let t = sampler
                    .sample(s.logits(), SamplingSettings::default(), allowed)
                    .context("no token")?;
                model.step(&mut s, t, &control)?;
            }
        }
    }
    Ok(t0.elapsed().as_secs_f64())
}

fn candidates_table(model: &mut Model) -> Result<()> {
    println!(
        "\n## 3. Candidate answers of {CANDIDATE_TOKENS} tokens after a 64-token call: one at a time against one batch (mean of {CANDIDATE_RUNS} runs, one thread)\n"
    );
    if !model.batches() {
        println!("n/a: this model's graph has batch 1 only");
        return Ok(());
    }
    let control = vec![0.0; model.contract().control.size];
    let base = state_at(model, 64, &control)?;
    candidates(model, &base, 2, true, 0)?; // warm-up
    println!("| candidates | one at a time, candidates/s | one batch, candidates/s | the batch is … faster | the batch's time against one candidate's |");
    println!("|---|---|---|---|---|");
    let mut one = None;
    for n in [1usize, 2, 4, 8] {
        // The two ways alternate run by run, so a slower stretch of the machine falls on both.
        let (mut alone, mut batch) = (0.0, 0.0);
        for r in 0..CANDIDATE_RUNS {
            alone += candidates(model, &base, n, false, r as u64)? / CANDIDATE_RUNS as f64;
            batch += candidates(model, &base, n, true, r as u64)? / CANDIDATE_RUNS as f64;
        }
        let single = *one.get_or_insert(alone);
        println!(
            "| {n} | {:.0} | {:.0} | {:.2}× | {:.2}× |",
            n as f64 / alone,
            n as f64 / batch,
            alone / batch,
            batch / single
        );
    }
    Ok(())
}

fn param(name: &'static str, normalized: f64) -> Input {
    Input::Param {
        offset: 0,
        name,
        normalized,
    }
}

/// The phrase the audio-cost table starts with: four sixteenths from beat 1 (`spb` samples a
/// beat), as `(sample, input)`.
fn phrase_script(spb: f64) -> Vec<(u64, Input)> {
    let mut script = Vec::new();
    for (i, key) in [60u8, 64, 67, 72].into_iter().enumerate() {
        let on = ((i as f64 * 0.25 + 1.0) * spb) as u64;
        script.push((
            on,
            Input::NoteOn {
                offset: 0,
                key,
                channel: 0,
                velocity: 0.8,
            },
        ));
        script.push((
            on + (0.2 * spb) as u64,
            Input::NoteOff {
                offset: 0,
                key,
                channel: 0,
            },
        ));
    }
    script
}

fn audio_cost(plugin: &Path) -> Result<()> {
    println!("\n## 4. Audio-thread cost per 512-frame block (µs, the plugin's process() only)\n");
    const BLOCK: u32 = 512;
    let mut h = PluginHost::load(plugin, 48_000.0, BLOCK)?;
    h.transport.tempo = 240.0;
    // Sixteenths at 240 BPM: Descant's busiest.
    h.process(
        BLOCK,
        &[
            param("Density", 1.0),
            param("Answer after", 0.0),
            param("Pass through", 1.0),
            // A streamed answer, as before answers were chosen whole: the busiest audio side.
            // ("Until you play" is 0 in -1..=16.)
            param("Answer length", 1.0 / 17.0),
        ],
    )?;
    let mut pace = Pacer::new(1.0);
    let spb = h.samples_per_beat();
    let mut script = phrase_script(spb);
    h.run_script((4.0 * spb) as u64, BLOCK, &mut script, &mut pace)?;
    let mut measure = |h: &mut PluginHost, with_input: bool| -> Result<(Vec<Duration>, usize)> {
        let mut times = Vec::new();
        let mut notes = 0;
        for i in 0..1000u32 {
            // Pass-through case: one note on or off per block, as a busy player.
            let inputs = if with_input {
                vec![if i % 2 == 0 {
                    Input::NoteOn {
                        offset: 7,
                        key: 50,
                        channel: 3,
                        velocity: 0.5,
                    }
                } else {
                    Input::NoteOff {
                        offset: 7,
                        key: 50,
                        channel: 3,
                    }
                }]
            } else {
                Vec::new()
            };
            notes += h.process(BLOCK, &inputs)?.1.len();
            times.push(h.last_process);
            pace.wait(u64::from(BLOCK), 48_000.0);
        }
        Ok((times, notes))
    };
    let (mut generating, gen_notes) = measure(&mut h, false)?;
    h.process(BLOCK, &[param("Enabled", 0.0)])?;
    let (mut through, thru_notes) = measure(&mut h, true)?;
    let (g_med, g_p99) = median_p99(&mut generating);
    let (t_med, t_p99) = median_p99(&mut through);
    println!("| case | median | p99 | notes out over 1000 blocks |");
    println!("|---|---|---|---|");
    println!("| generating (240 BPM sixteenths) | {g_med:.1} | {g_p99:.1} | {gen_notes} |");
    println!("| pass-through only (Enabled off) | {t_med:.1} | {t_p99:.1} | {thru_notes} |");
    println!(
        "| ratio | {:.2}× | {:.2}× | |",
        g_med / t_med.max(1e-3),
        g_p99 / t_p99.max(1e-3)
    );
    let budget = f64::from(BLOCK) / 48_000.0 * 1e6;
    println!(
        "\nBlock budget at 48 kHz: {budget:.0} µs; generating uses {:.3} % of it (median).",
        g_med / budget * 100.0
    );
    Ok(())
}

/// Runs `descant bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    let ort = ort_library(args.plugin.as_deref());
    runtime::ensure_runtime(&ort)?;
    let mut models = vec![(
        "fp32",
        Model::from_bytes(NON_COMMERCIAL_MODEL, NON_COMMERCIAL_SIDECAR)?,
    )];
    if let Some(p) = &args.int8 {
        models.push(("int8", int8_model(p)?));
    }
    let name = models[0].1.contract().name.clone();
    println!(
        "# Descant bench: model {name}, ONNX Runtime {}",
        ort.display()
    );
    crate::loading::table()?;
    latency(&mut models)?;
    throughput(&mut models[0].1, args.python.as_deref())?;
    candidates_table(&mut models[0].1)?;
    match &args.plugin {
        Some(p) => audio_cost(p)?,
        None => println!("\n## 4. Audio-thread cost: n/a (no --plugin)"),
    }
    crate::instances::many_instances(&ort, args.instances, args.minutes, args.speed)?;
    Ok(())
}
