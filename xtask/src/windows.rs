//! `cargo xtask windows [--debug]`: Descant for Windows, built on Linux.
//!
//! Cross-builds the plugin (CLAP and VST3) and the `descant` program for `x86_64-pc-windows-gnu`
//! with Debian's MinGW-w64 linker, places `onnxruntime.dll` from the `win_amd64` wheel beside each
//! binary, and writes to `target/windows/` (release) or `target/windows-debug/` (debug, with the
//! allocation check, which the wine tests load):
//!
//! - `Descant.clap`, `Descant.vst3/` (`Contents/x86_64-win/`), `descant.exe`, `onnxruntime.dll`,
//!   `LICENCE.txt`, `MODEL_CARD.md`, `MODEL_CARD-open.md`, `DATA.md`: what the installer installs;
//! - `Descant-VERSION-windows-x86_64.zip`: the same, laid out as the folders they go in, with
//!   `INSTALL.txt` (installing by hand);
//! - `Descant-VERSION-setup.exe`: the installer (NSIS, `installer/windows/descant.nsi`);
//! - with `--debug` also `descant-standalone.exe`, for the wine test that opens the editor (it is
//!   neither zipped nor installed).
//!
//! The bundle is laid out here rather than by nice-plug's bundler, which writes to
//! `target/bundled/` and would replace the Linux bundle there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::{apt_install, ort, run, BUNDLE_NAME};

/// The Rust target triple of the Windows build.
pub const TARGET: &str = "x86_64-pc-windows-gnu";
/// Debian packages the Windows build needs: the MinGW-w64 linker and NSIS.
pub const BUILD_PACKAGES: [&str; 2] = ["gcc-mingw-w64-x86-64", "nsis"];
/// The release version, in file names and the installer.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where `cargo xtask windows` writes, for a debug or a release build.
pub fn out_dir(debug: bool) -> PathBuf {
    PathBuf::from(if debug {
        "target/windows-debug"
    } else {
        "target/windows"
    })
}

/// `cargo xtask windows [--debug]`.
pub fn windows(args: &[String]) -> Result<()> {
    let debug = args.iter().any(|a| a == "--debug");
    let started = std::time::Instant::now();
    apt_install(&BUILD_PACKAGES, false)?;
    add_rust_target()?;
    let dll = ort::fetch(ort::WINDOWS)?;
    // A debug build is for the wine tests, which also open the standalone's editor: the plugin
    // and the standalone come from one cargo run with the standalone feature (it adds the
    // standalone's wrapper and changes nothing in the plugin), so that the plugin's dependencies
    // are built once, not once per feature set (about five minutes of CI each). A release build
    // is what ships: the plugin without that feature, and no standalone.
    let plugin: &[&str] = if debug {
        &[
            "--features",
            "standalone",
            "--lib",
            "--bin",
            "descant-standalone",
        ]
    } else {
        &["--lib"]
    };
    for (package, what) in [("descant", plugin), ("descant-cli", &["--bin", "descant"])] {
        let mut cargo = Command::new("cargo");
        cargo
            .args(["build", "-j2", "--target", TARGET, "-p", package])
            .args(what);
        if !debug {
            cargo.arg("--release");
        }
        run(&mut cargo)?;
    }
    let built = Path::new("target")
        .join(TARGET)
        .join(if debug { "debug" } else { "release" });
    let out = out_dir(debug);
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)?;
    stage(&built, &dll, &out)?;
    if debug {
        std::fs::copy(
            built.join("descant-standalone.exe"),
            out.join("descant-standalone.exe"),
        )?;
        // A debug build carries ~300 MB of debug info, which the installer would spend minutes
        // compressing; the code (with its allocation check) stays as built.
        for binary in [
            out.join(format!("{BUNDLE_NAME}.clap")),
            out.join(format!(
                "{BUNDLE_NAME}.vst3/Contents/x86_64-win/{BUNDLE_NAME}.vst3"
            )),
            out.join("descant.exe"),
            out.join("descant-standalone.exe"),
        ] {
            run(Command::new("x86_64-w64-mingw32-strip")
                .arg("--strip-debug")
                .arg(binary))?;
        }
    }
    let zip = out.join(format!("{BUNDLE_NAME}-{VERSION}-windows-x86_64.zip"));
    write_zip(&out, &zip)?;
    let setup = out.join(format!("{BUNDLE_NAME}-{VERSION}-setup.exe"));
    run(Command::new("makensis")
        .args(["-V2", "-NOCD"])
        .arg(format!("-DVERSION={VERSION}"))
        .arg(format!("-DSTAGE={}", out.display()))
        .arg(format!("-DOUTFILE={}", setup.display()))
        .arg("installer/windows/descant.nsi"))?;
    eprintln!(
        "Windows {} build in {} ({:.0} s):",
        if debug { "debug" } else { "release" },
        out.display(),
        started.elapsed().as_secs_f64()
    );
    for f in ["Descant.clap", "descant.exe", "onnxruntime.dll"] {
        print_size(&out.join(f))?;
    }
    print_size(&zip)?;
    print_size(&setup)
}

fn print_size(path: &Path) -> Result<()> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("{} was not written", path.display()))?
        .len();
    eprintln!("  {:>8.1} MB  {}", len as f64 / 1e6, path.display());
    Ok(())
}

/// `rustup target add` for [`TARGET`] unless it is installed (the standard library for Windows;
/// rustup fetches it from the Rust project's servers).
pub fn add_rust_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to add the Windows target")?;
    if !String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        run(Command::new("rustup").args(["target", "add", TARGET]))?;
    }
    Ok(())
}

/// Lays out what the installer installs in `out`.
fn stage(built: &Path, dll: &Path, out: &Path) -> Result<()> {
    let copy = |from: &Path, to: &Path| -> Result<()> {
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::copy(from, to)
            .map(|_| ())
            .with_context(|| format!("copying {} to {}", from.display(), to.display()))
    };
    let plugin = built.join("descant.dll");
    copy(&plugin, &out.join(format!("{BUNDLE_NAME}.clap")))?;
    let vst3 = out.join(format!("{BUNDLE_NAME}.vst3/Contents/x86_64-win"));
    copy(&plugin, &vst3.join(format!("{BUNDLE_NAME}.vst3")))?;
    copy(dll, &vst3.join(ort::WINDOWS.library))?;
    copy(&built.join("descant.exe"), &out.join("descant.exe"))?;
    copy(dll, &out.join(ort::WINDOWS.library))?;
    copy(
        Path::new("installer/windows/LICENCE.txt"),
        &out.join("LICENCE.txt"),
    )?;
    for (from, name) in [
        ("assets/MODEL_CARD.md", "MODEL_CARD.md"),
        ("assets/MODEL_CARD-open.md", "MODEL_CARD-open.md"),
        ("docs/DATA.md", "DATA.md"),
    ] {
        copy(Path::new(from), &out.join(name))?;
    }
    Ok(())
}

/// How to install the zip by hand (its `INSTALL.txt`).
const INSTALL_TXT: &str = "\
Descant for Windows (x86_64), installed by hand
================================================

The installer (Descant-VERSION-setup.exe) does all of this for you. By hand:

1. CLAP: copy the folder CLAP\\Descant into %COMMONPROGRAMFILES%\\CLAP
   (usually C:\\Program Files\\Common Files\\CLAP), so that Descant.clap and onnxruntime.dll
   sit side by side in ...\\CLAP\\Descant.
2. VST3: copy the folder VST3\\Descant.vst3 into %COMMONPROGRAMFILES%\\VST3.
3. The descant program: copy the folder Descant anywhere (descant.exe needs the
   onnxruntime.dll beside it) and run descant --help from a command prompt there.

Descant loads ONNX Runtime from beside its own binary: keep each onnxruntime.dll where it is.
Descant's default model, descant-open, plays what you may use in released music; the second
built-in model is for non-commercial use only: see LICENCE.txt.
";

/// Writes the zip of `out`'s staged files, laid out as the folders they are installed in.
fn write_zip(out: &Path, zip_path: &Path) -> Result<()> {
    let mut files: Vec<(String, PathBuf)> = vec![
        (
            format!("CLAP/Descant/{BUNDLE_NAME}.clap"),
            out.join(format!("{BUNDLE_NAME}.clap")),
        ),
        (
            format!("CLAP/Descant/{}", ort::WINDOWS.library),
            out.join(ort::WINDOWS.library),
        ),
        ("Descant/descant.exe".into(), out.join("descant.exe")),
        (
            format!("Descant/{}", ort::WINDOWS.library),
            out.join(ort::WINDOWS.library),
        ),
        ("LICENCE.txt".into(), out.join("LICENCE.txt")),
        ("MODEL_CARD.md".into(), out.join("MODEL_CARD.md")),
        ("MODEL_CARD-open.md".into(), out.join("MODEL_CARD-open.md")),
        ("DATA.md".into(), out.join("DATA.md")),
    ];
    let vst3 = out.join(format!("{BUNDLE_NAME}.vst3"));
    for f in walk(&vst3)? {
        let rel = f.strip_prefix(out)?.to_string_lossy().replace('\\', "/");
        files.push((format!("VST3/{rel}"), f));
    }
    let partial = zip_path.with_extension("partial");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&partial)?);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("INSTALL.txt", options)?;
    zip.write_all(INSTALL_TXT.replace("VERSION", VERSION).as_bytes())?;
    for (name, path) in files {
        zip.start_file(name, options)?;
        zip.write_all(&std::fs::read(&path).with_context(|| path.display().to_string())?)?;
    }
    zip.finish()?;
    std::fs::rename(&partial, zip_path)?;
    Ok(())
}

/// Every file under `dir`, sorted.
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(walk(&path)?);
        } else {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
