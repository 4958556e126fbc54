//! `cargo xtask`: nice-plug's bundler plus Descant's own steps.
//!
//! - `cargo xtask bundle descant [--release]`: nice-plug's bundler, then the ONNX Runtime library
//!   is placed beside the bundled CLAP and inside the VST3 bundle.
//! - `cargo xtask fetch-ort`: takes `libonnxruntime` from the `onnxruntime` wheel on PyPI (pip is
//!   the only network access) into `target/ort/`; `fetch-ort windows` and `fetch-ort macos` take
//!   those platforms' libraries from their own wheels (see `ort.rs`).
//! - `cargo xtask windows [--debug]`: the Windows build, zip and installer, made on Linux, in
//!   `target/windows/` (see `windows.rs`).
//! - `cargo xtask install`: release bundle, copied to `~/.clap` and `~/.vst3`, and the `descant`
//!   program to `~/.local/bin`; then `descant selfcheck` loads the installed CLAP in a real host
//!   and plays a phrase through it.
//! - `cargo xtask setup`: what the tests need beyond Rust: Debian packages (Ardour 7 for the VST3
//!   test, ALSA/JACK headers for the standalone, MinGW-w64, NSIS and wine for the Windows build
//!   and its tests), Rust's `x86_64-pc-windows-gnu` target, `pytest` and `numpy`, and ONNX
//!   Runtime.
//! - `cargo xtask test`: `setup`, then a debug bundle into `target/test-plugin/`, the debug
//!   Windows build (`windows --debug`, which the wine tests load), then `cargo test --workspace`
//!   and the Python tests (`python3 -m pytest training`).
//! - `cargo xtask heldout [ARGS]`: the release plugin, then `descant heldout` (the held-out
//!   benchmark's tables; ARGS go to it, e.g. `--modes continue --seeds 1`).
//! - `cargo xtask train [--data all|open] [--minutes N]`: the offline training pipeline (never in CI): a venv in
//!   `training/.venv` with `training/requirements.txt`, corpus extraction (cached), training,
//!   ONNX export and check, evaluation, sidecar and model card, written to `assets/`.
//! - `cargo xtask learn DIR --name NAME [--minutes N]`: learns a musician's own melodies (never in
//!   CI): the training venv, `descant lines DIR`, then `training/learn.py` fine-tunes the shipped
//!   model with the style "yours" into `~/Descant/models/NAME/`.
//! - `cargo xtask placeholder-model`: writes the random-weight contract fixture to `target/placeholder/`.
//! - `cargo xtask deps`: fails when a crate declares a dependency its code never names (`deps.rs`).
//! - `cargo xtask layout`: fails when `docs/ARCHITECTURE.md` does not name a source file (`layout.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

mod deps;
mod layout;
mod ort;
/// The ONNX Runtime release and file names, from the engine's one source.
mod ort_version {
    include!("../../inference/src/model/ort_version.rs");
}
mod windows;

use ort_version::ORT_LIBRARY_LINUX as ORT_LIBRARY_FILE;
/// The plugin's bundle name (from bundler.toml).
const BUNDLE_NAME: &str = "Descant";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    nice_plug_xtask::chdir_workspace_root()?;
    match args.first().map(String::as_str) {
        Some("fetch-ort") => match args.get(1) {
            None => fetch_ort().map(|_| ()),
            Some(name) => {
                let platform = ort::Platform::by_name(name).with_context(|| {
                    format!("fetch-ort takes linux, windows or macos, not {name}")
                })?;
                ort::fetch(platform).map(|_| ())
            }
        },
        Some("windows") => windows::windows(&args[1..]),
        Some("bundle") => {
            nice_plug_xtask::main_with_args("cargo xtask", args)?;
            place_ort_beside_bundles()
        }
        Some("install") => install(),
        Some("setup") => setup(),
        Some("train") => train(&args[1..]),
        Some("learn") => learn(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("heldout") => heldout(&args[1..]),
        Some("deps") => deps::check(),
        Some("layout") => layout::check(),
        Some("placeholder-model") => run(Command::new("python3")
            .arg("training/make_placeholder_model.py")
            .args(&args[1..])),
        _ => nice_plug_xtask::main_with_args("cargo xtask", args),
    }
}

/// Runs `cmd`, saying what it runs and, when it ends, how long it took (CI's log times each step
/// of `cargo xtask test` by these lines).
fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("+ {cmd:?}");
    let started = std::time::Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    eprintln!(
        "+ ({:.0} s) {:?}",
        started.elapsed().as_secs_f64(),
        cmd.get_program()
    );
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// `target/ort/libonnxruntime.so.1.31.1`, fetched from the PyPI wheel if it is not there yet.
fn fetch_ort() -> Result<PathBuf> {
    ort::fetch(ort::LINUX)
}

fn copy_into(lib: &Path, dir: &Path) -> Result<()> {
    if dir.is_dir() {
        let dst = dir.join(ORT_LIBRARY_FILE);
        std::fs::copy(lib, &dst).with_context(|| format!("copying to {}", dst.display()))?;
    }
    Ok(())
}

/// Puts the ONNX Runtime library beside `Descant.clap` and inside `Descant.vst3`.
fn place_ort_beside_bundles() -> Result<()> {
    let lib = fetch_ort()?;
    let bundled = Path::new("target/bundled");
    copy_into(&lib, bundled)?;
    copy_into(
        &lib,
        &bundled.join(format!("{BUNDLE_NAME}.vst3/Contents/x86_64-linux")),
    )?;
    Ok(())
}

fn home() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .context("HOME is not set")
}

fn copy_dir(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let to = dst.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

/// Release bundle, installed per user, then checked in a real CLAP host.
fn install() -> Result<()> {
    nice_plug_xtask::main_with_args(
        "cargo xtask",
        ["bundle", "descant", "--release"].map(String::from),
    )?;
    place_ort_beside_bundles()?;
    let bundled = Path::new("target/bundled");
    let clap_dir = home()?.join(".clap");
    std::fs::create_dir_all(&clap_dir)?;
    let clap = clap_dir.join(format!("{BUNDLE_NAME}.clap"));
    std::fs::copy(bundled.join(format!("{BUNDLE_NAME}.clap")), &clap)?;
    copy_into(&bundled.join(ORT_LIBRARY_FILE), &clap_dir)?;
    let vst3 = home()?.join(".vst3").join(format!("{BUNDLE_NAME}.vst3"));
    copy_dir(&bundled.join(format!("{BUNDLE_NAME}.vst3")), &vst3)?;
    eprintln!("installed {} and {}", clap.display(), vst3.display());
    let program = install_program()?;
    run(Command::new(&program)
        .args(["selfcheck", "--plugin"])
        .arg(&clap))
}

/// Builds the `descant` program (release); returns where it is.
fn build_release_program() -> Result<PathBuf> {
    run(Command::new("cargo").args([
        "build",
        "-j2",
        "--release",
        "-p",
        "descant-cli",
        "--bin",
        "descant",
    ]))?;
    Ok(PathBuf::from("target/release/descant"))
}

/// Builds the `descant` program (release) and copies it to `~/.local/bin`; returns its path.
fn install_program() -> Result<PathBuf> {
    let built = build_release_program()?;
    let bin = home()?.join(".local/bin");
    std::fs::create_dir_all(&bin)?;
    let program = bin.join("descant");
    std::fs::copy(&built, &program)
        .with_context(|| format!("copying the descant program to {}", program.display()))?;
    let on_path =
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d == bin));
    if on_path {
        eprintln!("installed the descant program: {}", program.display());
    } else {
        eprintln!(
            "installed the descant program: {} (that folder is not on your PATH: add it, or run \
             the program by its full path)",
            program.display()
        );
    }
    Ok(program)
}

/// Debian packages the tests and the standalone build need.
const DEBIAN_PACKAGES: [&str; 10] = [
    "ardour",
    // The fault tests build a stand-in for an old ONNX Runtime library from C.
    "gcc",
    "libasound2-dev",
    "libjack-jackd2-dev",
    "pkg-config",
    // The standalone tests: a JACK server with its MIDI tools, and a virtual X server with
    // software OpenGL, a screenshot tool and a pointer to click with (a veto in the roll).
    "jackd2",
    "xvfb",
    "libgl1-mesa-dri",
    "imagemagick",
    "xdotool",
];

/// Debian packages of the Windows tests: wine, 64-bit only (installed with their recommended
/// packages, as on the machine where the tests were written: fonts and the libraries wine's
/// DLLs open).
const WINE_PACKAGES: [&str; 2] = ["wine", "wine64"];

/// Installs the Debian packages of `packages` that are missing, with apt-get, as root or through
/// sudo; with their recommended packages if `recommends`.
fn apt_install(packages: &[&str], recommends: bool) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg")
                .args(["-s", p])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let apt = |args: &[&str]| {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut apt(&["update", "-qq"]))?;
    let mut install = apt(&["install", "-y", "-qq"]);
    if !recommends {
        install.arg("--no-install-recommends");
    }
    run(install.args(&missing))
}

/// Installs what the tests need beyond the Rust toolchain (Debian packages; Rust's Windows target;
/// pytest and numpy with pip; ONNX Runtime from its wheel).
fn setup() -> Result<()> {
    apt_install(&DEBIAN_PACKAGES, false)?;
    apt_install(&windows::BUILD_PACKAGES, false)?;
    apt_install(&WINE_PACKAGES, true)?;
    windows::add_rust_target()?;
    // The Python tests: pytest, and numpy for the modules evaluation shares with training.
    let has_python_deps = Command::new("python3")
        .args(["-c", "import pytest, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_python_deps {
        run(Command::new("python3").args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "pytest",
            "numpy",
        ]))?;
    }
    fetch_ort().map(|_| ())
}

/// The property tests' seed in `cargo xtask test`.
const PROPTEST_SEED: &str = "20261125";

/// `setup`, a debug bundle (with the allocation check) in `target/test-plugin/`, the debug
/// standalone, then the tests.
fn test(extra: &[String]) -> Result<()> {
    setup()?;
    let bundling = std::time::Instant::now();
    nice_plug_xtask::main_with_args("cargo xtask", ["bundle", "descant"].map(String::from))?;
    eprintln!(
        "+ ({:.0} s) the debug bundle",
        bundling.elapsed().as_secs_f64()
    );
    place_ort_beside_bundles()?;
    let bundled = Path::new("target/bundled");
    let dir = Path::new("target/test-plugin");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let clap = format!("{BUNDLE_NAME}.clap");
    std::fs::copy(bundled.join(&clap), dir.join(&clap))?;
    copy_into(&bundled.join(ORT_LIBRARY_FILE), dir)?;
    let vst3 = format!("{BUNDLE_NAME}.vst3");
    copy_dir(&bundled.join(&vst3), &dir.join(&vst3))?;
    // The standalone tests run the debug standalone (with the allocation check too).
    run(Command::new("cargo").args([
        "build",
        "-j2",
        "-p",
        "descant",
        "--features",
        "standalone",
        "--bin",
        "descant-standalone",
    ]))?;
    // The wine tests (`tests/tests/windows.rs`) load the debug Windows build.
    windows::windows(&["--debug".to_string()])?;
    if extra.is_empty() {
        // The Python side of the token grammar, against the same golden vectors.
        run(Command::new("python3").args(["-m", "pytest", "-q", "training"]))?;
    }
    // xtask is tested apart: its cargo_metadata asks serde_json for `unbounded_depth`, and in one
    // `cargo test --workspace` that feature would reach the plugin's dependencies, which the
    // bundle and the standalone built without it, so they would all be built once more (see
    // `hack/Cargo.toml`). The property tests draw the same cases on every machine (a red CI
    // reproduces); set PROPTEST_RNG_SEED yourself to explore others.
    let mut cargo_test = Command::new("cargo");
    cargo_test
        .args(["test", "--workspace", "--exclude", "xtask"])
        .args(extra);
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        cargo_test.env("PROPTEST_RNG_SEED", PROPTEST_SEED);
    }
    run(&mut cargo_test)?;
    if extra.is_empty() {
        // In release, as `cargo xtask` itself is built: its dependencies are built already.
        run(Command::new("cargo").args(["test", "--release", "-p", "xtask"]))?;
    }
    Ok(())
}

/// The speed tables (`descant bench`, release): the release plugin is bundled first; with the
/// training environment present (`cargo xtask train` makes it) the Python loop and the int8 model
/// are measured too. Extra arguments go to `descant bench` (`--minutes 1` for a short run).
fn bench(extra: &[String]) -> Result<()> {
    release_bundle()?;
    let out = Path::new("target/bench");
    std::fs::create_dir_all(out)?;
    let mut args: Vec<String> = vec![
        "--plugin".into(),
        format!("target/bundled/{BUNDLE_NAME}.clap"),
    ];
    let python = Path::new("training/.venv/bin/python");
    if python.is_file() {
        run(Command::new(python)
            .args([
                "training/bench_ort.py",
                "--model",
                "assets/descant.onnx",
                "--out",
            ])
            .arg(out))?;
        args.extend(["--python".into(), "target/bench/python.json".into()]);
        args.extend(["--int8".into(), "target/bench/descant.int8.onnx".into()]);
    } else {
        eprintln!("no training/.venv: the Python loop and int8 rows are skipped (`cargo xtask train` makes it)");
    }
    run(descant_release().arg("bench").args(&args).args(extra))
}

/// The release bundle, with ONNX Runtime beside it.
fn release_bundle() -> Result<()> {
    fetch_ort()?;
    nice_plug_xtask::main_with_args(
        "cargo xtask",
        ["bundle", "descant", "--release"].map(String::from),
    )?;
    place_ort_beside_bundles()
}

/// `cargo run` of the release `descant` program, its arguments to follow.
fn descant_release() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.args([
        "run",
        "--release",
        "-p",
        "descant-cli",
        "--bin",
        "descant",
        "--",
    ]);
    cmd
}

/// The held-out benchmark on the release plugin: `descant heldout` (release) with `extra`.
fn heldout(extra: &[String]) -> Result<()> {
    release_bundle()?;
    // The plugin's log lines would bury the tables: they go to a file.
    run(descant_release()
        .args(["heldout", "--plugin"])
        .arg(format!("target/bundled/{BUNDLE_NAME}.clap"))
        .args(extra)
        .env("NICE_LOG", "target/heldout.log"))
}

/// The training environment: `training/.venv` with `training/requirements.txt` (torch on CPU,
/// onnx, onnxruntime, music21); returns its Python.
fn training_venv() -> Result<PathBuf> {
    let venv = Path::new("training/.venv");
    let python = venv.join("bin/python");
    if !python.is_file() {
        eprintln!(
            "setting up the training environment in training/.venv (torch, onnx, onnxruntime, \
             music21, numpy: about 6 GB, a few minutes)"
        );
        run(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
    }
    run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        "-r",
        "training/requirements.txt",
    ]))?;
    Ok(python)
}

/// `cargo xtask learn DIR --name NAME [--minutes N]`: the lines of DIR (`descant lines`, which
/// refuses a folder with too little), then `training/learn.py` into `~/Descant/models/NAME/`
/// (written beside and renamed: the previous model stays until the new one is whole).
fn learn(args: &[String]) -> Result<()> {
    let mut dir = None;
    let mut name = None;
    let mut minutes = "5".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--name" => name = it.next().cloned(),
            "--minutes" => minutes = it.next().cloned().context("--minutes takes a number")?,
            _ if dir.is_none() => dir = Some(PathBuf::from(a)),
            other => bail!("learn: unknown argument {other}"),
        }
    }
    let usage = "usage: cargo xtask learn DIR --name NAME [--minutes N]";
    let dir = dir.context(usage)?;
    let name = name.context(usage)?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        bail!("--name takes letters, digits, - and _ only, not '{name}'");
    }
    let python = training_venv()?;
    let descant = build_release_program()?;
    std::fs::create_dir_all("target/learn")?;
    let lines = Path::new("target/learn").join(format!("{name}.lines.jsonl"));
    run(Command::new(&descant)
        .arg("lines")
        .arg(&dir)
        .arg("--out")
        .arg(&lines))?;
    let out = home()?.join("Descant/models").join(&name);
    std::fs::create_dir_all(out.parent().context("models folder")?)?;
    let mut learn = Command::new(&python);
    learn
        .arg("training/learn.py")
        .arg("--lines")
        .arg(&lines)
        .arg("--out")
        .arg(&out)
        .args(["--name", &name, "--minutes", &minutes]);
    let cache = Path::new("training/cache");
    if cache.join("tunes.jsonl.gz").is_file() {
        learn.arg("--cache").arg(cache);
    } else {
        eprintln!(
            "no corpus extraction in training/cache (cargo xtask train makes it): learning without \
             replaying the corpus, so the built-in styles may drift"
        );
    }
    run(&mut learn)?;
    eprintln!(
        "play with it: pick it in the editor's Model list (or DESCANT_MODEL={}/descant.onnx), then \
         Style = Yours",
        out.display()
    );
    Ok(())
}

/// The training pipeline, end to end, into `assets/` (offline; minutes to tens of minutes on 2 cores).
/// `--data open` trains `descant-open` from the open sources only (docs/DATA.md); the default,
/// `--data all`, the non-commercial `descant`. Every script of the run reads the choice from
/// `DESCANT_DATA`, so they agree on the lines, the styles and the file names.
fn train(extra: &[String]) -> Result<()> {
    let mut data = "all".to_string();
    let mut rest = Vec::new();
    let mut it = extra.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--data" => data = it.next().cloned().context("--data takes all or open")?,
            _ => rest.push(a.clone()),
        }
    }
    if !["all", "open"].contains(&data.as_str()) {
        bail!("--data takes all or open, not '{data}'");
    }
    let python = training_venv()?;
    if !Path::new("training/cache/tunes.jsonl.gz").is_file() {
        run(Command::new(&python).arg("training/extract.py"))?;
    }
    let step = |script: &str, args: &[String]| {
        run(Command::new(&python)
            .arg(script)
            .args(args)
            .env("DESCANT_DATA", &data))
    };
    step("training/train.py", &rest)?;
    step("training/ngram_index.py", &[])?;
    // The open model is scored beside the non-commercial one on the same notes.
    let compare = ["--compare".to_string(), "assets/descant.onnx".to_string()];
    step(
        "training/evaluate.py",
        if data == "open" { &compare } else { &[] },
    )?;
    step("training/model_card.py", &[])
}
