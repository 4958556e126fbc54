//! Descant for Windows under wine: the debug Windows build that `cargo xtask windows
//! --debug` writes to `target/windows-debug/` (plugin with the allocation check, `descant.exe`,
//! `onnxruntime.dll`, the installer), run by Debian's wine 8.0 in a 64-bit prefix of its own
//! (`target/wine-prefix/`, made on first use). `cargo xtask test` builds it first.
//!
//! Wine 8.0 lacks `bcryptprimitives.dll`, whose `ProcessPrng` every Rust program for Windows
//! imports; the prefix gets a test-only stand-in, built here from `tests/wine/bcryptprimitives.c`
//! with MinGW-w64 (real Windows 10 and 11 have the real DLL; nothing ships it).
//!
//! The cases share the one prefix and run one at a time (wine's server is per prefix).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use descant_inference::files::midi_file;

/// The workspace root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace root")
}

/// The debug Windows build.
fn build() -> PathBuf {
    let dir = root().join("target/windows-debug");
    assert!(
        dir.join("descant.exe").is_file() && dir.join("Descant.clap").is_file(),
        "no Windows build in {}: run `cargo xtask windows --debug` (cargo xtask test does)",
        dir.display()
    );
    dir
}

/// The installer in `build()`.
fn installer() -> PathBuf {
    std::fs::read_dir(build())
        .expect("Windows build")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with("-setup.exe"))
        .expect("the installer was built")
}

/// A Linux path as the Windows program sees it (wine maps `/` to drive Z:).
fn win(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

/// The prefix, made once; the lock keeps the cases from running wine at the same time.
struct Wine {
    prefix: PathBuf,
}

fn wine() -> MutexGuard<'static, Wine> {
    static WINE: OnceLock<Mutex<Wine>> = OnceLock::new();
    WINE.get_or_init(|| Mutex::new(Wine::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

impl Wine {
    fn new() -> Wine {
        let prefix = root().join("target/wine-prefix");
        let wine = Wine { prefix };
        if !wine.prefix.join("system.reg").is_file() {
            std::fs::create_dir_all(&wine.prefix).expect("prefix folder");
            let out = wine.run(&["wineboot", "--init"], Duration::from_secs(300));
            assert!(out.status.success(), "wineboot: {}", text(&out));
        }
        let shim = wine
            .prefix
            .join("drive_c/windows/system32/bcryptprimitives.dll");
        if !shim.is_file() {
            let out = Command::new("x86_64-w64-mingw32-gcc")
                .args(["-shared", "-O2", "-o"])
                .arg(&shim)
                .arg(root().join("tests/wine/bcryptprimitives.c"))
                .arg("-ladvapi32")
                .output()
                .expect("MinGW-w64 (gcc-mingw-w64-x86-64) builds the test-only ProcessPrng shim");
            assert!(out.status.success(), "shim: {}", text(&out));
        }
        wine
    }

    /// Runs `args` (a Windows program and its arguments) under wine, then waits for every
    /// process in the prefix to end; kills them past `limit`.
    fn run(&self, args: &[&str], limit: Duration) -> Output {
        let mut cmd = Command::new("wine");
        cmd.args(args);
        self.env(&mut cmd);
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wine runs (Debian's wine and wine64 packages)");
        let out = wait(child, limit, args);
        self.wait_server();
        out
    }

    /// `wine` with this prefix's environment, for a program the caller waits for.
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new("wine");
        cmd.arg(program);
        self.env(&mut cmd);
        cmd
    }

    fn env(&self, cmd: &mut Command) {
        cmd.env("WINEPREFIX", &self.prefix)
            .env("WINEARCH", "win64")
            .env("WINEDEBUG", "-all")
            // No Mono or Gecko: nothing here needs them, and wine would offer to download them.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env_remove("DISPLAY")
            .env_remove("DESCANT_CLAP")
            .env_remove("DESCANT_ORT_LIB");
    }

    /// Waits for wine's server to end, which is when every process in the prefix has ended
    /// and the registry is written to `system.reg`.
    fn wait_server(&self) {
        let mut cmd = Command::new("wineserver");
        cmd.arg("-w");
        self.env(&mut cmd);
        let _ = cmd.status();
    }

    /// `drive_c/…` in the prefix.
    fn c(&self, path: &str) -> PathBuf {
        self.prefix.join("drive_c").join(path)
    }

    /// Every file and folder under `drive_c`, relative, except wine's own temporary and
    /// Windows folders (which wine itself changes as it runs).
    fn listing(&self) -> Vec<String> {
        fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let path = e.path();
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if rel.starts_with("windows") || rel.contains("/Temp") {
                    continue;
                }
                out.push(rel);
                if path.is_dir() && !path.is_symlink() {
                    walk(&path, base, out);
                }
            }
        }
        let mut out = Vec::new();
        let base = self.prefix.join("drive_c");
        walk(&base, &base, &mut out);
        out.sort();
        out
    }
}

/// Waits for `child`, killing it past `limit`.
fn wait(mut child: std::process::Child, limit: Duration, what: &[&str]) -> Output {
    let start = Instant::now();
    loop {
        match child.try_wait().expect("waiting for wine") {
            Some(_) => return child.wait_with_output().expect("wine's output"),
            None if start.elapsed() > limit => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("wine's output");
                panic!("{what:?} ran past {limit:?}: {}", text(&out));
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_windows_plugin_answers_a_phrase_under_wine_and_releases_every_note() {
    let dir = build();
    let wine = wine();
    let out = wine.run(
        &[
            &win(&dir.join("descant.exe")),
            "selfcheck",
            "--plugin",
            &win(&dir.join("Descant.clap")),
        ],
        Duration::from_secs(180),
    );
    let said = text(&out);
    assert!(out.status.success(), "selfcheck under wine: {said}");
    assert!(said.contains("self-check passed"), "{said}");
    assert!(said.contains("Descant: key"), "Descant answered: {said}");
}

#[test]
fn the_debug_windows_plugin_keeps_the_allocation_check() {
    // nice-plug's `assert_process_allocs` (a default feature of the plugin) puts an allocator in
    // debug builds that logs "Memory allocation of N bytes failed" and aborts on any allocation
    // inside `process()`; the selfcheck case above runs under it. A release build has no such
    // message (Rust's own out-of-memory message starts with a small "memory").
    let plugin = std::fs::read(build().join("Descant.clap")).expect("plugin");
    let message = b"Memory allocation of ";
    assert!(
        plugin.windows(message.len()).any(|w| w == message),
        "the debug Windows plugin has no allocation check"
    );
}

#[test]
fn a_windows_render_is_byte_for_byte_the_linux_render() {
    let dir = build();
    let tmp = tempfile::tempdir().expect("scratch folder");
    let track = common::fixture(tmp.path());
    let linux = tmp.path().join("linux.mid");
    let windows = tmp.path().join("windows.mid");
    let args = ["--mode", "answer", "--seed", "11"];
    let out = Command::new(env!("CARGO_BIN_EXE_descant"))
        .arg("render")
        .arg(&track)
        .arg(&linux)
        .args(args)
        .arg("--plugin")
        .arg(descant_host::test_plugin_path())
        .output()
        .expect("descant runs");
    assert!(out.status.success(), "Linux render: {}", text(&out));
    let wine = wine();
    let mut cmd: Vec<String> = vec![
        win(&dir.join("descant.exe")),
        "render".into(),
        win(&track),
        win(&windows),
    ];
    cmd.extend(args.iter().map(|s| s.to_string()));
    cmd.extend(["--plugin".into(), win(&dir.join("Descant.clap"))]);
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let out = wine.run(&cmd, Duration::from_secs(180));
    assert!(out.status.success(), "Windows render: {}", text(&out));
    let (a, b) = (
        std::fs::read(&linux).expect("Linux output"),
        std::fs::read(&windows).expect("Windows output"),
    );
    let notes = midi_file::read(&a).expect("MIDI").notes.len();
    assert!(notes > 0, "Descant played nothing");
    assert!(a == b, "the two renders differ ({notes} notes on Linux)");
}

#[test]
fn the_installer_installs_silently_and_the_uninstaller_leaves_nothing() {
    let setup = installer();
    let wine = wine();
    let before = wine.listing();
    let out = wine.run(&[&win(&setup), "/S"], Duration::from_secs(180));
    assert!(out.status.success(), "installer: {}", text(&out));
    let common = "Program Files/Common Files";
    for file in [
        format!("{common}/CLAP/Descant/Descant.clap"),
        format!("{common}/CLAP/Descant/onnxruntime.dll"),
        format!("{common}/VST3/Descant.vst3/Contents/x86_64-win/Descant.vst3"),
        format!("{common}/VST3/Descant.vst3/Contents/x86_64-win/onnxruntime.dll"),
        "Program Files/Descant/descant.exe".into(),
        "Program Files/Descant/onnxruntime.dll".into(),
        "Program Files/Descant/uninstall.exe".into(),
        "ProgramData/Microsoft/Windows/Start Menu/Programs/Descant/Descant command prompt.lnk"
            .into(),
    ] {
        assert!(wine.c(&file).is_file(), "installed: {file}");
    }
    let registry = |wine: &Wine| std::fs::read_to_string(wine.prefix.join("system.reg")).unwrap();
    assert!(registry(&wine).contains("CurrentVersion\\\\Uninstall\\\\Descant]"));

    // The installed program finds the installed plugin in the standard folder by itself.
    let out = wine.run(
        &["C:\\Program Files\\Descant\\descant.exe", "selfcheck"],
        Duration::from_secs(180),
    );
    let said = text(&out);
    assert!(out.status.success(), "installed selfcheck: {said}");
    assert!(
        said.contains("loaded C:\\Program Files\\Common Files\\CLAP\\Descant\\Descant.clap"),
        "{said}"
    );

    let out = wine.run(
        &["C:\\Program Files\\Descant\\uninstall.exe", "/S"],
        Duration::from_secs(180),
    );
    assert!(out.status.success(), "uninstaller: {}", text(&out));
    let after = wine.listing();
    let left: Vec<_> = after.iter().filter(|p| !before.contains(p)).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let reg = registry(&wine);
    assert!(
        !reg.contains("Uninstall\\\\Descant]"),
        "uninstall entry left"
    );
    assert!(
        !reg.contains("App Paths\\\\descant.exe]"),
        "App Paths entry left"
    );
}

#[test]
fn the_windows_editor_draws_under_wine_on_xvfb() {
    // The debug Windows standalone opens the editor (egui, OpenGL through wine's WGL on Mesa's
    // software renderer) in a virtual X server; a screenshot of the whole screen must hold the
    // piano roll's background colour (`editor::ROLL_BACKGROUND`) over a large area.
    let standalone = build().join("descant-standalone.exe");
    let wine = wine();
    let tmp = tempfile::tempdir().expect("scratch folder");
    let display = format!(":{}", 300 + std::process::id() % 200);
    let mut xvfb = Command::new("Xvfb")
        .args([&display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb runs");
    let mut editor = wine
        .command(&standalone)
        .args(["--backend", "dummy"])
        .env("DISPLAY", &display)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(tmp.path().join("standalone.txt")).expect("log file"))
        .spawn()
        .expect("wine runs the standalone");
    let shot = tmp.path().join("editor.rgb");
    let start = Instant::now();
    let mut seen = 0;
    while start.elapsed() < Duration::from_secs(90) && seen < 50_000 {
        std::thread::sleep(Duration::from_secs(2));
        let taken = Command::new("import")
            .args(["-display", &display, "-window", "root", "-depth", "8"])
            .arg(format!("rgb:{}", shot.display()))
            .status()
            .is_ok_and(|s| s.success());
        if let (true, Ok(rgb)) = (taken, std::fs::read(&shot)) {
            seen = rgb.chunks_exact(3).filter(|p| p == &[22, 27, 38]).count();
        }
    }
    if seen >= 50_000 {
        // Kept for reading by eye: target/windows-debug/editor-under-wine.png.
        let _ = Command::new("import")
            .args(["-display", &display, "-window", "root"])
            .arg(build().join("editor-under-wine.png"))
            .status();
    }
    let _ = editor.kill();
    let _ = editor.wait();
    let mut kill = Command::new("wineserver");
    kill.arg("-k");
    wine.env(&mut kill);
    let _ = kill.status();
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    assert!(
        seen >= 50_000,
        "the editor never drew its roll: {seen} pixels of its background\n{}",
        std::fs::read_to_string(tmp.path().join("standalone.txt")).unwrap_or_default()
    );
}
