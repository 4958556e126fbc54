//! `descant learn DIR --name NAME [--minutes N]`: teaches Descant a musician's own melodies from
//! the installed program, with no checkout of the project: the lines of DIR (as `descant lines`
//! finds them), then the fine-tune of `training/learn.py` into `~/Descant/models/NAME/`, where the
//! editor's model list finds it.
//!
//! The learning scripts and the built-in model are compiled into this program and written to
//! `~/Descant/tools/descant-VERSION/` before each run. Python with torch is set up once, in
//! `~/Descant/tools/venv` (the command says what it installs and how big it is), unless `--python`
//! names one that has it.
//!
//! Guarantees: bad input (a missing or empty folder, too little to learn from, a bad name) is
//! refused before anything is installed or written; the new model is written beside and renamed
//! at the end by `learn.py`, so an interrupted run leaves the previous model of that name in place,
//! and the list never offers a half-written one.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use descant_inference::files::catalog;
use descant_inference::files::melody_lines;

/// The scripts `learn.py` runs on, compiled in (one source: the project's `training/`).
const SCRIPTS: [(&str, &str); 7] = [
    ("learn.py", include_str!("../../training/learn.py")),
    ("train.py", include_str!("../../training/train.py")),
    ("extract.py", include_str!("../../training/extract.py")),
    ("corpus.py", include_str!("../../training/corpus.py")),
    ("model.py", include_str!("../../training/model.py")),
    (
        "ngram_index.py",
        include_str!("../../training/ngram_index.py"),
    ),
    (
        "descant_tokens.py",
        include_str!("../../training/descant_tokens.py"),
    ),
];
/// Data files the scripts read at import, compiled in (paths under `training/`).
const DATA: [(&str, &str); 1] = [(
    "golden/key_profiles.json",
    include_str!("../../training/golden/key_profiles.json"),
)];
/// What learning needs from PyPI (the training pins, without the corpus reader music21).
const REQUIREMENTS: [&str; 4] = [
    "torch==2.15.0",
    "onnx==1.20.0",
    "onnxruntime==1.31.1",
    "numpy",
];
/// Longest learning run `--minutes` allows.
const MAX_MINUTES: f64 = 120.0;

/// `descant learn`'s arguments.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The model is written to ~/Descant/models/NAME/ (or --models DIR); pick \
it in the editor's Model list, then set Style to Yours. The first run sets up Python with torch \
in ~/Descant/tools/venv: about 3 GB to download (PyPI's torch brings CUDA libraries it does not \
use here) and a few minutes. Learning runs on the CPU."
)]
pub struct LearnArgs {
    /// The folder of your MIDI files (.mid, .midi), read with its subfolders.
    dir: PathBuf,
    /// The model's name: letters, digits, - and _.
    #[arg(long)]
    name: String,
    /// How long to learn, in minutes (the best model seen in that time is kept).
    #[arg(long, default_value_t = 5.0)]
    minutes: f64,
    /// A Python that has torch, onnx and onnxruntime (skips setting one up).
    #[arg(long, value_name = "PYTHON")]
    python: Option<PathBuf>,
    /// Where models go (default: ~/Descant/models, or DESCANT_MODELS_DIR).
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,
    /// The built-in model to learn on top of; the learned model keeps its terms:
    /// `descant-open` (you may use what it plays in released music) or `descant`
    /// (non-commercial use only).
    #[arg(long, value_name = "ID", default_value = "descant-open")]
    base: String,
}

/// `DESCANT_DATA` for `learn.py` (which built-in model it starts from) for a `--base` id.
fn data_of_base(base: &str) -> Result<&'static str> {
    match base {
        "descant-open" => Ok("open"),
        "descant" => Ok("all"),
        other => bail!("--base takes descant-open or descant, not '{other}'"),
    }
}

/// Whether `name` can name a model folder.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
}

/// `~/Descant/tools`, where the scripts and the Python environment live.
fn tools_dir() -> Result<PathBuf> {
    let home = catalog::descant_home()
        .context("no home folder (HOME) to keep Descant's learning tools in")?;
    Ok(home.join("tools"))
}

/// Writes the compiled-in scripts and the built-in model into `root` (`training/`, `assets/`).
fn write_tools(root: &Path) -> Result<PathBuf> {
    let training = root.join("training");
    let assets = root.join("assets");
    for dir in [&training, &assets] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Both built-in models, as `training/` names them (`extract.STEM`): learning starts from one.
    let files: Vec<(PathBuf, &[u8])> = [
        ("descant", descant_inference::NON_COMMERCIAL),
        ("descant-open", descant_inference::OPEN),
    ]
    .into_iter()
    .flat_map(|(stem, m)| {
        [
            (assets.join(format!("{stem}.onnx")), m.onnx),
            (assets.join(format!("{stem}.json")), m.sidecar.as_bytes()),
            (assets.join(format!("{stem}.ngrams")), m.ngrams),
        ]
    })
    .collect();
    std::fs::create_dir_all(training.join("golden"))
        .with_context(|| format!("creating {}", training.display()))?;
    let scripts = SCRIPTS
        .iter()
        .chain(DATA.iter())
        .map(|(name, text)| (training.join(name), text.as_bytes()));
    for (path, bytes) in files.into_iter().chain(scripts) {
        if std::fs::read(&path).ok().as_deref() != Some(bytes) {
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(training)
}

/// The Python to learn with: `--python`, else the environment in `tools/venv`, set up (once) with
/// [`REQUIREMENTS`].
fn python(args: &LearnArgs, tools: &Path) -> Result<PathBuf> {
    if let Some(python) = &args.python {
        return Ok(python.clone());
    }
    let venv = tools.join("venv");
    let python = if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    };
    let marker = venv.join(format!("descant-{}.installed", REQUIREMENTS.join(" ")));
    if python.is_file() && marker.is_file() {
        return Ok(python);
    }
    eprintln!(
        "Setting up Python for learning in {} (once): {}. About 3 GB to download and a few \
         minutes.",
        venv.display(),
        REQUIREMENTS.join(", ")
    );
    if !python.is_file() {
        let base = if cfg!(windows) { "python" } else { "python3" };
        let status = Command::new(base)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .with_context(|| format!("running {base} (learning needs Python 3 with venv)"))?;
        if !status.success() {
            bail!("{base} -m venv {} failed", venv.display());
        }
    }
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check"])
        .args(REQUIREMENTS)
        .status()
        .context("running pip")?;
    if !status.success() {
        bail!("pip could not install {}", REQUIREMENTS.join(", "));
    }
    std::fs::write(&marker, b"").with_context(|| format!("writing {}", marker.display()))?;
    Ok(python)
}

/// Runs `learn.py`, turning its progress lines into a bar with the time left.
fn run_learning(mut cmd: Command, seconds: u64) -> Result<()> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .context("starting learn.py")?;
    let bar = indicatif::ProgressBar::new(seconds);
    bar.set_style(
        indicatif::ProgressStyle::with_template("learning [{bar:32}] {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    let stdout = child.stdout.take().context("learn.py's output")?;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading learn.py's output")?;
        // "step N: held-out B bits per own token; S s left"
        if let Some((head, left)) = line.split_once("; ") {
            if let Some(s) = left
                .strip_suffix(" s left")
                .and_then(|s| s.parse::<f64>().ok())
            {
                bar.set_position(seconds.saturating_sub(s as u64));
                bar.set_message(format!("{head}; {s:.0} s left"));
                continue;
            }
        }
        bar.suspend(|| println!("{line}"));
    }
    let status = child.wait().context("waiting for learn.py")?;
    bar.finish_and_clear();
    if !status.success() {
        bail!("learning stopped ({status}); the previous model of this name, if any, is unchanged");
    }
    Ok(())
}

/// Runs `descant learn`.
pub fn run(args: LearnArgs) -> Result<()> {
    if !valid_name(&args.name) {
        bail!(
            "--name takes up to 64 letters, digits, - and _, not '{}'",
            args.name
        );
    }
    if !(0.5..=MAX_MINUTES).contains(&args.minutes) {
        bail!("--minutes takes 0.5 to {MAX_MINUTES}, not {}", args.minutes);
    }
    data_of_base(&args.base)?;
    if !args.dir.is_dir() {
        bail!("{} is not a folder", args.dir.display());
    }
    let found = melody_lines::extract(&args.dir)
        .with_context(|| format!("reading {}", args.dir.display()))?;
    crate::lines::print_report(&found);
    if let Some(why) = found.too_little() {
        bail!("{} is not enough to learn from: {why}", args.dir.display());
    }
    let models = match &args.models {
        Some(dir) => dir.clone(),
        None => catalog::models_dir().context("no home folder for ~/Descant/models")?,
    };
    std::fs::create_dir_all(&models).with_context(|| format!("creating {}", models.display()))?;
    let tools = tools_dir()?;
    let training = write_tools(&tools.join(format!("descant-{}", env!("CARGO_PKG_VERSION"))))?;
    let work = tools.join("learn");
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let lines = work.join(format!("{}.lines.jsonl", args.name));
    crate::lines::write_lines(&found, &lines)?;
    let python = python(&args, &tools)?;
    let out = models.join(&args.name);
    eprintln!(
        "Learning '{}' for {} min from {} lines (the corpus is not replayed here, so the \
         built-in styles may drift a little in this model; the built-in model is unchanged).",
        args.name,
        args.minutes,
        found.lines.len()
    );
    let mut cmd = Command::new(&python);
    cmd.current_dir(&training)
        .env("DESCANT_DATA", data_of_base(&args.base)?)
        .arg(training.join("learn.py"))
        .arg("--lines")
        .arg(&lines)
        .arg("--out")
        .arg(&out)
        .arg("--name")
        .arg(&args.name)
        .arg("--minutes")
        .arg(args.minutes.to_string())
        .arg("--cache")
        .arg(work.join("no-corpus"));
    run_learning(cmd, (args.minutes * 60.0) as u64)?;
    let info = catalog::describe(&out.join("descant.onnx"));
    if let Some(problem) = info.problem {
        bail!("the learned model cannot be used: {problem}");
    }
    println!(
        "Learned '{}' into {}. In Descant's editor, pick it in the Model list, then set Style to \
         Yours.",
        info.name,
        out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_folder_names() {
        assert!(valid_name("my-reels_2"));
        for bad in ["", "a/b", "..", "a b", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_tools_hold_every_script_learning_imports_and_the_built_in_model() {
        let root = tempfile::tempdir().unwrap();
        let training = write_tools(root.path()).unwrap();
        for (name, _) in SCRIPTS {
            assert!(training.join(name).is_file(), "{name}");
        }
        // Every module a script imports from the training folder is written too.
        let local: Vec<&str> = SCRIPTS
            .iter()
            .map(|(n, _)| n.trim_end_matches(".py"))
            .collect();
        let own = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../training"))
            .unwrap()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".py").map(str::to_owned)
            })
            .collect::<Vec<_>>();
        for (name, text) in SCRIPTS {
            for line in text.lines().map(str::trim) {
                let module = line
                    .strip_prefix("import ")
                    .or_else(|| line.strip_prefix("from "))
                    .and_then(|r| r.split([' ', '.', ',']).next())
                    .unwrap_or("");
                if own.iter().any(|o| o == module) {
                    assert!(
                        local.contains(&module),
                        "{name} imports {module}, not written"
                    );
                }
            }
        }
        let assets = training.parent().unwrap().join("assets");
        for (stem, m) in [
            ("descant", descant_inference::NON_COMMERCIAL),
            ("descant-open", descant_inference::OPEN),
        ] {
            assert_eq!(
                std::fs::read(assets.join(format!("{stem}.onnx"))).unwrap(),
                m.onnx
            );
        }
        assert_eq!(data_of_base("descant-open").unwrap(), "open");
        assert_eq!(data_of_base("descant").unwrap(), "all");
        assert!(data_of_base("other").is_err());
    }
}
