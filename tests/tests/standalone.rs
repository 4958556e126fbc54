//! The standalone binary end to end: live through a JACK server (`jackd -d dummy`), with
//! `jack_midiseq` playing a looping phrase into it and `jack_midi_dump` recording what comes out;
//! and its editor rendered under a virtual X server (Xvfb) and checked in a screenshot. The
//! servers are started and stopped by the tests. `cargo xtask test` installs Debian's `jackd2`,
//! `xvfb` and `imagemagick` and builds `target/debug/descant-standalone` first.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

/// Held by each test for its whole run: the JACK test is live, so it must not share the two
/// cores with the editor test's software OpenGL.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The standalone binary `cargo xtask test` builds.
fn standalone() -> Result<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/descant-standalone");
    ensure!(
        path.is_file(),
        "{} not found: run `cargo xtask test` (it builds the standalone first)",
        path.display()
    );
    Ok(path)
}

/// The ONNX Runtime library beside the test plugin.
fn ort_library() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-plugin/libonnxruntime.so.1.31.1")
}

/// Child processes killed when the test ends, however it ends.
#[derive(Default)]
struct Processes(Vec<Child>);

impl Processes {
    fn spawn(&mut self, cmd: &mut Command) -> Result<()> {
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {cmd:?}"))?;
        self.0.push(child);
        Ok(())
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        // Newest first: clients before their server. SIGTERM first, so jackd cleans up its shared
        // memory registry (it holds few servers; killed ones would use them up).
        for c in self.0.iter_mut().rev() {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && c.try_wait().ok().flatten().is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls `ready` every 100 ms until it holds or `limit` passes.
fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while !ready() {
        if start.elapsed() > limit {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// A `jack_*` tool talking to the test's server.
fn jack(server: &str, tool: &str) -> Command {
    let mut c = Command::new(tool);
    c.env("JACK_DEFAULT_SERVER", server);
    c
}

fn jack_ports(server: &str) -> String {
    jack(server, "jack_lsp")
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Sends `command` (`play` or `stop`) to the JACK transport.
fn transport(server: &str, command: &str) -> Result<()> {
    use std::io::Write;
    let mut child = jack(server, "jack_transport")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(format!("{command}\nquit\n").as_bytes())?;
    child.wait()?;
    Ok(())
}

/// Note events in `jack_midi_dump` output: `(on, key, velocity)`.
fn dumped_notes(dump: &str) -> Vec<(bool, u8, u8)> {
    dump.lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once(": ")?;
            let mut bytes = rest.split_whitespace().take(3);
            let mut next = || u8::from_str_radix(bytes.next()?, 16).ok();
            let (status, key, velocity) = (next()?, next()?, next()?);
            match status & 0xF0 {
                0x90 if velocity > 0 => Some((true, key, velocity)),
                0x80 | 0x90 => Some((false, key, velocity)),
                _ => None,
            }
        })
        .collect()
}

/// Starts a JACK server `server` (dummy driver, 48 kHz) with `jack_midiseq` looping a phrase
/// into `seq:out`, and `jack_midi_dump` recording `midi-monitor:input` to `dump` if given; then
/// starts the transport. The phrase: a 4-second loop (8 beats at 120 BPM) of four notes (keys 60,
/// 62, 64, 67) at velocity 64 in its first 1.5 s, then silence for Descant to answer in.
fn start_jack_with_phrase(
    procs: &mut Processes,
    server: &str,
    dir: &Path,
    dump: Option<&Path>,
) -> Result<()> {
    procs.spawn(
        Command::new("jackd")
            .args([
                "--no-realtime",
                "-n",
                server,
                "-d",
                "dummy",
                "-r",
                "48000",
                "-p",
                "1024",
            ])
            .env("JACK_NO_START_SERVER", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("jackd.txt"))?),
    )?;
    wait_until(Duration::from_secs(30), "jackd", || {
        jack_ports(server).contains("system:")
    })
    .with_context(|| std::fs::read_to_string(dir.join("jackd.txt")).unwrap_or_default())?;
    if let Some(dump) = dump {
        procs.spawn(
            jack(server, "jack_midi_dump")
                .stdout(std::fs::File::create(dump)?)
                .stderr(Stdio::null()),
        )?;
    }
    procs.spawn(
        jack(server, "jack_midiseq")
            .args(["seq", "192000"])
            .args(["0", "60", "12000", "24000", "62", "12000"])
            .args(["48000", "64", "12000", "72000", "67", "12000"])
            .stdout(Stdio::null()),
    )?;
    wait_until(Duration::from_secs(10), "the MIDI clients", || {
        let ports = jack_ports(server);
        ports.contains("seq:out") && (dump.is_none() || ports.contains("midi-monitor:input"))
    })?;
    transport(server, "play")
}

#[test]
fn the_standalone_answers_a_jack_midi_phrase_live() -> Result<()> {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let binary = standalone()?;
    let server = format!("descant-test-{}", std::process::id());
    let tmp = tempfile::Builder::new().prefix("descant-jack-").tempdir()?;
    let dir = tmp.path();
    let dump_path = dir.join("dump.txt");
    let mut procs = Processes::default();
    start_jack_with_phrase(&mut procs, &server, dir, Some(&dump_path))?;
    procs.spawn(
        jack(&server, binary.to_str().context("path")?)
            .args(["--backend", "jack"])
            .args(["--connect-jack-midi-input", "seq:out"])
            .args(["--connect-jack-midi-output", "midi-monitor:input"])
            .env("DESCANT_ORT_LIB", ort_library())
            .env_remove("DISPLAY")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("standalone.txt"))?),
    )?;
    // Five loops of the phrase, then stop the transport: Descant must end its notes.
    std::thread::sleep(Duration::from_secs(20));
    transport(&server, "stop")?;
    std::thread::sleep(Duration::from_secs(1));
    drop(procs);
    let dump = std::fs::read_to_string(&dump_path)?;
    let log = std::fs::read_to_string(dir.join("standalone.txt")).unwrap_or_default();
    let notes = dumped_notes(&dump);
    let player = notes.iter().filter(|n| n.0 && n.2 == 64).count();
    let descant: Vec<_> = notes.iter().filter(|n| n.0 && n.2 != 64).collect();
    assert!(player >= 8, "the phrase passed through: {dump}\n{log}");
    assert!(descant.len() >= 2, "Descant answered: {dump}\n{log}");
    // Every note Descant started has its note-off (the player's, at velocity 64, are the
    // sequencer's business: it loops on after the transport stops).
    let mut sounding: Vec<u8> = Vec::new();
    for &(on, key, _) in notes.iter().filter(|n| n.2 != 64) {
        if on {
            sounding.push(key);
        } else if let Some(i) = sounding.iter().position(|&k| k == key) {
            sounding.remove(i);
        }
    }
    assert!(sounding.is_empty(), "hanging notes {sounding:?}: {dump}");
    Ok(())
}

/// A binary PPM (P6) image: width, height and RGB bytes.
fn read_ppm(path: &Path) -> Result<(usize, usize, Vec<u8>)> {
    let bytes = std::fs::read(path)?;
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if bytes.get(i) == Some(&b'#') {
            while bytes.get(i).is_some_and(|&b| b != b'\n') {
                i += 1;
            }
            continue;
        }
        let start = i;
        while bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace()) {
            i += 1;
        }
        ensure!(i > start, "truncated PPM header");
        fields.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
    }
    ensure!(
        fields[0] == "P6" && fields[3] == "255",
        "not an 8-bit P6 PPM: {fields:?}"
    );
    let (w, h): (usize, usize) = (fields[1].parse()?, fields[2].parse()?);
    let pixels = bytes[i + 1..].to_vec();
    ensure!(pixels.len() >= w * h * 3, "PPM shorter than {w}x{h}");
    Ok((w, h, pixels))
}

/// Pixels of `pixels` (RGB, `w` wide) inside `area` (x0, y0, x1, y1) for which `is` holds, as
/// `(x, y)`.
fn pixels_where(
    pixels: &[u8],
    w: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
    is: impl Fn(u8, u8, u8) -> bool,
) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for y in y0..y1 {
        for x in x0..x1 {
            let p = &pixels[(y * w + x) * 3..][..3];
            if is(p[0], p[1], p[2]) {
                found.push((x, y));
            }
        }
    }
    found
}

/// Runs of consecutive rows among `rows` (sorted, deduplicated): each run's middle row.
fn row_bands(mut rows: Vec<usize>) -> Vec<f64> {
    rows.sort_unstable();
    rows.dedup();
    let mut bands: Vec<(usize, usize)> = Vec::new();
    for r in rows {
        match bands.last_mut() {
            Some((_, end)) if r <= *end + 1 => *end = r,
            _ => bands.push((r, r)),
        }
    }
    bands
        .into_iter()
        .map(|(a, b)| (a + b) as f64 / 2.0)
        .collect()
}

/// Clicks an outlined (planned) note right of the playhead in the roll's notes area `notes` of
/// the screen `display` (screenshots in `shot`) until the roll crosses a vetoed note out; says
/// how many clicks it took. A click that lands as the note starts is a veto that came too late:
/// crossed out too, and said so under the roll.
fn veto_a_planned_note(
    display: &str,
    shot: &Path,
    notes: (usize, usize, usize, usize),
) -> Result<String> {
    let (x0, y0, x1, y1) = notes;
    let start = Instant::now();
    let mut clicks = 0;
    while start.elapsed() < Duration::from_secs(40) {
        let ok = Command::new("import")
            .args(["-display", display, "-window", "root", "-depth", "8"])
            .arg(format!("ppm:{}", shot.display()))
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            continue;
        }
        let (w, _, pixels) = read_ppm(shot)?;
        // The cross of a vetoed note (the editor's VETO_COLOR).
        let red = pixels_where(&pixels, w, notes, |r, g, b| (r, g, b) == (230, 80, 70));
        if red.len() > 12 {
            return Ok(format!(
                "a vetoed note crossed out ({} px) after {clicks} click(s)",
                red.len()
            ));
        }
        // The playhead: the column of the notes area with the most white.
        let white = pixels_where(&pixels, w, notes, |r, g, b| (r, g, b) == (255, 255, 255));
        let mut columns = vec![0usize; x1];
        for &(x, _) in &white {
            columns[x] += 1;
        }
        let Some(playhead) = (x0..x1).max_by_key(|&x| columns[x]) else {
            continue;
        };
        if columns[playhead] < (y1 - y0) / 2 {
            continue;
        }
        // A planned note's outline, right of it.
        let planned = pixels_where(&pixels, w, (playhead + 3, y0, x1, y1), |r, g, b| {
            r > 120 && i32::from(r) > i32::from(b) + 80 && g > b
        });
        if let Some(&(x, y)) = planned.first() {
            let clicked = Command::new("xdotool")
                .args(["mousemove", &x.to_string(), &y.to_string(), "click", "1"])
                .env("DISPLAY", display)
                .status()
                .context("xdotool (`cargo xtask setup` installs it)")?;
            ensure!(clicked.success(), "xdotool failed");
            clicks += 1;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    bail!("no vetoed note was crossed out after {clicks} click(s) on planned notes")
}

#[test]
fn the_editor_roll_shows_the_notes_it_was_fed() -> Result<()> {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let binary = standalone()?;
    let tmp = tempfile::Builder::new()
        .prefix("descant-editor-")
        .tempdir()?;
    let dir = tmp.path();
    let server = format!("descant-editor-{}", std::process::id());
    let display = format!(":{}", 50 + std::process::id() % 200);
    let shot = dir.join("editor.ppm");
    let mut procs = Processes::default();
    start_jack_with_phrase(&mut procs, &server, dir, None)?;
    procs.spawn(
        Command::new("Xvfb")
            .args([&display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )?;
    wait_until(Duration::from_secs(10), "Xvfb", || {
        Path::new(&format!("/tmp/.X11-unix/X{}", &display[1..])).exists()
    })?;
    procs.spawn(
        jack(&server, binary.to_str().context("path")?)
            .args(["--backend", "jack"])
            .args(["--connect-jack-midi-input", "seq:out"])
            .env("DISPLAY", &display)
            .env("DESCANT_ORT_LIB", ort_library())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("standalone.txt"))?),
    )?;
    // Software OpenGL under Xvfb needs a few seconds for the first frames; the phrase loops every
    // 4 s. Look until the roll shows the player's four keys and Descant's answer.
    let mut seen = String::from("no screenshot");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_secs(2));
        let ok = Command::new("import")
            .args(["-display", &display, "-window", "root", "-depth", "8"])
            .arg(format!("ppm:{}", shot.display()))
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            continue;
        }
        let (w, h, pixels) = read_ppm(&shot)?;
        assert_eq!((w, h), (1024, 768));
        // The roll: the box of its background colour (editor::ROLL_BACKGROUND).
        let background = pixels_where(&pixels, w, (0, 0, w, h), |r, g, b| {
            (r, g, b) == (22, 27, 38)
        });
        if background.len() < 50_000 {
            seen = format!("{} pixels of the roll's background", background.len());
            continue;
        }
        let x0 = background.iter().map(|p| p.0).min().unwrap_or(0);
        let x1 = background.iter().map(|p| p.0).max().unwrap_or(0);
        let y0 = background.iter().map(|p| p.1).min().unwrap_or(0);
        let y1 = background.iter().map(|p| p.1).max().unwrap_or(0);
        // Below the legend line ("you", "Descant played", ...) at the roll's top.
        let notes = (x0, y0 + 24, x1, y1);
        let blue = pixels_where(&pixels, w, notes, |r, g, b| {
            b > 120 && i32::from(b) > i32::from(r) + 60 && g > r
        });
        let orange = pixels_where(&pixels, w, notes, |r, g, b| {
            r > 120 && i32::from(r) > i32::from(b) + 80 && g > b
        });
        let bands = row_bands(blue.iter().map(|p| p.1).collect());
        seen = format!(
            "roll {x0}..{x1} x {y0}..{y1}; player rows {bands:?} ({} px); Descant {} px",
            blue.len(),
            orange.len()
        );
        if bands.len() != 4 || orange.len() < 20 {
            continue;
        }
        // Keys 60, 62, 64 and 67, lowest at the bottom: 2, 2 and 3 key rows apart.
        let (d1, d2, d3) = (
            bands[3] - bands[2],
            bands[2] - bands[1],
            bands[1] - bands[0],
        );
        let row = d1 / 2.0;
        assert!(
            row > 1.0 && (d2 - 2.0 * row).abs() <= 2.0 && (d3 - 3.0 * row).abs() <= 3.0,
            "the player's rows are not keys 60, 62, 64, 67: {seen}"
        );
        // The keyboard strip at the roll's left: white keys (grey 215) in its first 34 pixels.
        let white_keys = pixels_where(&pixels, w, (x0, y0, x0 + 34, y1), |r, g, b| {
            (r, g, b) == (215, 215, 215)
        });
        assert!(
            white_keys.len() > 300,
            "no keyboard strip at the roll's left ({} white-key pixels): {seen}",
            white_keys.len()
        );
        eprintln!("{seen}");
        let vetoed = veto_a_planned_note(&display, &shot, (x0, y0 + 24, x1, y1))?;
        eprintln!("{vetoed}");
        if let Some(keep) = std::env::var_os("DESCANT_EDITOR_SHOT") {
            // How `docs/editor.png` is made: the screenshot this test checked (a vetoed note
            // crossed out in it), taken again with the pointer out of the way (no tooltip).
            let _ = Command::new("xdotool")
                .args(["mousemove", "1020", "760"])
                .env("DISPLAY", &display)
                .status();
            std::thread::sleep(Duration::from_secs(2));
            let _ = Command::new("import")
                .args(["-display", &display, "-window", "root", "-depth", "8"])
                .arg(format!("ppm:{}", shot.display()))
                .status();
            std::fs::copy(&shot, keep)?;
        }
        return Ok(());
    }
    let log = std::fs::read_to_string(dir.join("standalone.txt")).unwrap_or_default();
    bail!("the roll never showed the phrase and an answer: {seen}\n{log}")
}
