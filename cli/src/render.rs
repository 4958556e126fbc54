//! `descant render`: plays a MIDI file (the track) to the *built* Descant `.clap` through the
//! CLAP host of `descant-host`, block by block, in offline render mode (the plugin waits for its
//! inference thread, so the result does not depend on the machine), and writes what Descant played
//! with it as a MIDI file. The same seed gives the same file.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use descant_host::render::{paired, render_offline, Track, TrackNote};
use descant_inference::files::midi_file::{self, BeatNote, Song};
use indicatif::{ProgressBar, ProgressStyle};

/// How Descant plays with the track.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Mode {
    /// Call and response: Descant answers each phrase.
    Answer,
    /// One line alongside the track.
    Continue,
    /// A phrase per loop cycle.
    Loop,
}

/// `descant render`'s arguments.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "NAME is a parameter's name as the plugin shows it, VALUE its text \
(e.g. --set \"Style=Chorale\" --set \"Humanize=30%\"). The plugin: --plugin, else $DESCANT_CLAP, \
else the installed one (~/.clap/Descant.clap from `cargo xtask install`; on Windows the \
installer's %COMMONPROGRAMFILES%\\CLAP\\Descant\\Descant.clap). A file that is not a standard MIDI file, uses SMPTE time or is over 16 MB \
is refused with the reason."
)]
pub struct RenderArgs {
    /// The track: a standard MIDI file; every note of every channel is played to Descant, with
    /// its tempo map and time signature.
    track: PathBuf,
    /// Where to write Descant's part (a MIDI file, the track's tempo map kept).
    out: PathBuf,
    /// How Descant plays with the track.
    #[arg(long, value_enum)]
    mode: Option<Mode>,
    /// The take's seed (1-9999): the same seed and track give the same file.
    #[arg(long)]
    seed: Option<u32>,
    /// Bars rendered after the track ends.
    #[arg(long, default_value_t = 4.0, value_name = "BARS")]
    tail_bars: f64,
    /// Sets a parameter by its name and text, as the plugin shows them; repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Starts from a preset (`descant presets` lists them); --mode, --seed and --set change it.
    #[arg(long, value_name = "NAME")]
    preset: Option<String>,
    /// The `.clap` to render with.
    #[arg(long, value_name = "PATH")]
    plugin: Option<PathBuf>,
}

impl RenderArgs {
    /// The job these arguments describe.
    fn job(self) -> Result<Job> {
        let mut settings = vec![("Pass through".to_owned(), "Off".to_owned())];
        if let Some(name) = &self.preset {
            settings.extend(crate::presets::settings(name)?);
        }
        if let Some(mode) = self.mode {
            settings.push(("Mode".into(), capitalized(&format!("{mode:?}"))));
        }
        if let Some(seed) = self.seed {
            settings.push(("Seed".into(), seed.to_string()));
        }
        for s in &self.set {
            let (name, text) = s
                .split_once('=')
                .with_context(|| format!("--set takes NAME=VALUE, not '{s}'"))?;
            settings.push((name.trim().to_owned(), text.trim().to_owned()));
        }
        if !self.tail_bars.is_finite() || self.tail_bars < 0.0 {
            bail!("--tail-bars takes a number of bars, 0 or more");
        }
        let plugin = self.plugin.unwrap_or_else(default_plugin);
        Ok(Job {
            input: self.track,
            output: self.out,
            plugin,
            settings,
            tail_bars: self.tail_bars,
        })
    }
}

/// Runs `descant render`.
pub fn run(args: RenderArgs) -> Result<()> {
    let job = args.job()?;
    let (notes, beats) = render(&job)?;
    println!(
        "wrote {} notes over {beats} beats to {}",
        notes,
        job.output.display()
    );
    Ok(())
}

/// What to render.
pub struct Job {
    input: PathBuf,
    output: PathBuf,
    plugin: PathBuf,
    settings: Vec<(String, String)>,
    tail_bars: f64,
}

/// The plugin to render with when none is named: `DESCANT_CLAP`, else the installed plugin (the
/// path where it would be, if it is not there: the error then says where it looked).
pub fn default_plugin() -> PathBuf {
    std::env::var_os("DESCANT_CLAP")
        .map(PathBuf::from)
        .or_else(descant_host::installed_plugin_path)
        .unwrap_or_else(|| PathBuf::from("Descant.clap"))
}

/// The settings of a measurement run: pass-through off, `mode`, the seed, then each `NAME=VALUE`
/// of `set` (later ones win).
pub fn measurement_settings(
    mode: &str,
    seed: u32,
    set: &[String],
) -> Result<Vec<(String, String)>> {
    let mut settings = vec![
        ("Pass through".to_owned(), "Off".to_owned()),
        ("Mode".to_owned(), capitalized(mode)),
        ("Seed".to_owned(), seed.to_string()),
    ];
    for s in set {
        let (name, text) = s
            .split_once('=')
            .with_context(|| format!("--set takes NAME=VALUE, not '{s}'"))?;
        settings.push((name.trim().to_owned(), text.trim().to_owned()));
    }
    Ok(settings)
}

/// `s` with its first letter upper case and the rest lower case.
pub fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| {
            f.to_uppercase()
                .chain(c.flat_map(char::to_lowercase))
                .collect()
        })
        .unwrap_or_default()
}

fn render(job: &Job) -> Result<(usize, f64)> {
    let bytes = std::fs::read(&job.input)
        .with_context(|| format!("cannot read {}", job.input.display()))?;
    let song = midi_file::read(&bytes).with_context(|| format!("{}", job.input.display()))?;
    let (notes, end_beat) = render_song(&job.plugin, &song, &job.settings, job.tail_bars)?;
    let text = format!(
        "Generated by Descant {} (the model {}) with {}; settings: {}",
        env!("CARGO_PKG_VERSION"),
        model_name(&job.settings),
        job.input
            .file_name()
            .map_or("a track".into(), |f| f.to_string_lossy()),
        job.settings
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let out = midi_file::write(&notes, &song.tempos, song.meter, "Descant", &text);
    std::fs::write(&job.output, out)
        .with_context(|| format!("cannot write {}", job.output.display()))?;
    Ok((notes.len(), end_beat))
}

/// Plays `song` to the plugin at `plugin` (offline render) with parameter `settings` (name,
/// text), `tail_bars` bars past its end, with a progress bar; returns what Descant played and the
/// last beat rendered.
pub fn render_song(
    plugin: &std::path::Path,
    song: &Song,
    settings: &[(String, String)],
    tail_bars: f64,
) -> Result<(Vec<BeatNote>, f64)> {
    let notes: Vec<TrackNote> = song
        .notes
        .iter()
        .map(|n| TrackNote {
            beat: n.beat,
            length: n.length,
            key: n.key,
            channel: n.channel,
            velocity: f64::from(n.velocity),
        })
        .collect();
    let track = Track {
        notes: &notes,
        tempos: &song.tempos,
        meter: song.meter,
        end_beat: song.end_beat,
    };
    let bar_beats = f64::from(song.meter.0) * 4.0 / f64::from(song.meter.1);
    let total = (song.end_beat / bar_beats).ceil() * bar_beats + tail_bars * bar_beats;
    let progress = ProgressBar::new(total.ceil() as u64);
    progress.set_style(
        ProgressStyle::with_template("rendering {bar:40} {pos}/{len} beats ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (sent, end_beat) = render_offline(plugin, &track, settings, tail_bars, |beat| {
        progress.set_position(beat as u64)
    })?;
    progress.finish_and_clear();
    let notes = paired(&sent)
        .into_iter()
        .map(|(beat, length, key, channel, velocity)| BeatNote {
            beat,
            length,
            key,
            channel,
            velocity: velocity as f32,
        })
        .collect();
    Ok((notes, end_beat))
}

/// The name of the model the plugin plays: the built-in one `Model=ID` among `settings` chooses,
/// else `DESCANT_MODEL`'s sidecar, else the default built-in model's (a rendered project is a
/// new one: it plays the default).
fn model_name(settings: &[(String, String)]) -> String {
    let chosen = settings
        .iter()
        .rev()
        .find(|(n, _)| n == descant_host::render::MODEL_SETTING)
        .and_then(|(_, id)| descant_inference::builtin_model(id));
    let sidecar = match (
        chosen,
        std::env::var_os("DESCANT_MODEL").filter(|p| !p.is_empty()),
    ) {
        (Some(model), _) => Some(model.sidecar.to_owned()),
        (None, Some(p)) => std::fs::read_to_string(PathBuf::from(p).with_extension("json")).ok(),
        (None, None) => Some(descant_inference::DEFAULT_BUILTIN.sidecar.to_owned()),
    };
    sidecar
        .and_then(|s| descant_inference::model::contract::ModelContract::parse(&s).ok())
        .map_or_else(|| "unknown".to_owned(), |c| c.name)
}
