//! ONNX Runtime for each platform Descant ships on, taken from the `onnxruntime` wheel on PyPI
//! (pip is the only network access; a wheel is a zip, read with the `zip` crate).
//!
//! Guarantees: [`fetch`] returns a library that came whole out of the platform's own wheel (it is
//! written beside its place and renamed into it, so an interrupted run leaves nothing
//! half-written under the final name); a wheel without the library is an error that names the
//! member it looked for. Every file name comes from `inference/src/model/ort_version.rs`, the one
//! source the engine also reads, so xtask places the file the plugin looks for.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::ort_version::{ORT_LIBRARY_LINUX, ORT_LIBRARY_MACOS, ORT_LIBRARY_WINDOWS, ORT_VERSION};
use crate::run;

/// One platform's ONNX Runtime: which wheel has it and what the library is called there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    /// pip's `--platform` tag of the wheel, or `None` for this machine's own (Linux x86_64).
    pub pip_platform: Option<&'static str>,
    /// What a wheel's file name holds for this platform (`manylinux` wheels name their arch).
    pub wheel_tag: &'static str,
    /// The library's file name, in the wheel's `onnxruntime/capi/` and beside the plugin.
    pub library: &'static str,
    /// The folder under `target/ort/` it is kept in (empty: `target/ort/` itself, as before).
    pub dir: &'static str,
}

/// Linux x86_64: the build machine's own wheel.
pub const LINUX: Platform = Platform {
    pip_platform: None,
    wheel_tag: "x86_64",
    library: ORT_LIBRARY_LINUX,
    dir: "",
};
/// Windows x86_64 (`x86_64-pc-windows-gnu` builds load it).
pub const WINDOWS: Platform = Platform {
    pip_platform: Some("win_amd64"),
    wheel_tag: "win_amd64",
    library: ORT_LIBRARY_WINDOWS,
    dir: "win_amd64",
};
/// macOS on Apple silicon, macOS 14 or later: the only macOS wheel there is (`docs/PLATFORMS.md`).
pub const MACOS: Platform = Platform {
    pip_platform: Some("macosx_14_0_arm64"),
    wheel_tag: "macosx_14_0_arm64",
    library: ORT_LIBRARY_MACOS,
    dir: "macosx_14_0_arm64",
};

impl Platform {
    /// `linux`, `windows` or `macos` (`cargo xtask fetch-ort NAME`).
    pub fn by_name(name: &str) -> Option<Platform> {
        match name {
            "linux" => Some(LINUX),
            "windows" => Some(WINDOWS),
            "macos" => Some(MACOS),
            _ => None,
        }
    }

    /// The library's path inside the wheel.
    pub fn member(self) -> String {
        format!("onnxruntime/capi/{}", self.library)
    }

    /// Where [`fetch`] keeps the library.
    pub fn library_path(self) -> PathBuf {
        Path::new("target/ort").join(self.dir).join(self.library)
    }
}

/// The platform's ONNX Runtime library, downloaded from its wheel if it is not there yet.
pub fn fetch(platform: Platform) -> Result<PathBuf> {
    let lib = platform.library_path();
    if lib.is_file() {
        return Ok(lib);
    }
    let wheels = Path::new("target/ort").join(format!(
        "wheel{}",
        platform
            .pip_platform
            .map_or(String::new(), |p| format!("-{p}"))
    ));
    std::fs::create_dir_all(&wheels)?;
    let mut pip = Command::new("python3");
    pip.args([
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
    ]);
    if let Some(p) = platform.pip_platform {
        // A wheel for another platform: pip needs the Python version the wheel is for too.
        pip.args(["--platform", p, "--python-version", "3.11"]);
    }
    run(pip
        .arg(format!("onnxruntime=={ORT_VERSION}"))
        .arg("-d")
        .arg(&wheels))?;
    let wheel = find_wheel(&wheels, platform)?;
    extract(&wheel, &platform.member(), &lib)?;
    eprintln!("ONNX Runtime {ORT_VERSION} at {}", lib.display());
    Ok(lib)
}

/// The platform's `onnxruntime` wheel in `dir`.
pub fn find_wheel(dir: &Path, platform: Platform) -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(&format!("onnxruntime-{ORT_VERSION}-"))
                    && n.ends_with(".whl")
                    && n.contains(platform.wheel_tag)
            })
        })
        .collect();
    found.sort();
    found.pop().with_context(|| {
        format!(
            "no onnxruntime {ORT_VERSION} wheel for {} in {}",
            platform.wheel_tag,
            dir.display()
        )
    })
}

/// Copies `member` out of the zip `wheel` to `to`, through a temporary file beside it.
pub fn extract(wheel: &Path, member: &str, to: &Path) -> Result<()> {
    let file =
        std::fs::File::open(wheel).with_context(|| format!("opening {}", wheel.display()))?;
    let mut zip =
        zip::ZipArchive::new(file).with_context(|| format!("{} is not a zip", wheel.display()))?;
    let mut entry = match zip.by_name(member) {
        Ok(e) => e,
        Err(zip::result::ZipError::FileNotFound) => {
            bail!("{} has no {member}", wheel.display())
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", wheel.display())),
    };
    let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
    entry.read_to_end(&mut bytes)?;
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = to.with_extension("partial");
    std::fs::write(&partial, &bytes)?;
    std::fs::rename(&partial, to)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A wheel-shaped zip: every platform's library (each with its own bytes), and a Python
    /// extension module that a careless pick might take for the library.
    fn fake_wheel(dir: &Path, name: &str, members: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.join(name);
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        for (member, bytes) in members {
            zip.start_file(*member, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    #[test]
    fn each_platform_takes_its_own_library_out_of_a_wheel() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = fake_wheel(
            dir.path(),
            "any.whl",
            &[
                (
                    "onnxruntime/capi/onnxruntime_pybind11_state.so",
                    b"python module",
                ),
                (&LINUX.member(), b"linux library"),
                (&WINDOWS.member(), b"windows library"),
                (&MACOS.member(), b"macos library"),
            ],
        );
        for (platform, want) in [
            (LINUX, &b"linux library"[..]),
            (WINDOWS, b"windows library"),
            (MACOS, b"macos library"),
        ] {
            let to = dir.path().join("out").join(platform.library);
            extract(&wheel, &platform.member(), &to).unwrap();
            assert_eq!(std::fs::read(&to).unwrap(), want, "{}", platform.library);
            assert!(
                !to.with_extension("partial").exists(),
                "no partial file left"
            );
        }
    }

    #[test]
    fn a_wheel_without_the_library_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = fake_wheel(dir.path(), "linux.whl", &[(&LINUX.member(), b"linux")]);
        let to = dir.path().join(WINDOWS.library);
        let err = extract(&wheel, &WINDOWS.member(), &to).unwrap_err();
        assert!(
            err.to_string().contains("onnxruntime/capi/onnxruntime.dll"),
            "{err}"
        );
        assert!(!to.exists());
        let not_zip = dir.path().join("broken.whl");
        std::fs::write(&not_zip, b"not a zip").unwrap();
        assert!(extract(&not_zip, &LINUX.member(), &to).is_err());
    }

    #[test]
    fn each_platform_finds_its_own_wheel_among_others() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            format!("onnxruntime-{ORT_VERSION}-cp311-cp311-win_amd64.whl"),
            format!("onnxruntime-{ORT_VERSION}-cp311-cp311-macosx_14_0_arm64.whl"),
            format!(
                "onnxruntime-{ORT_VERSION}-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"
            ),
            // Another release's wheel is never taken.
            "onnxruntime-1.20.0-cp311-cp311-win_amd64.whl".to_string(),
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let name = |p: Platform| {
            find_wheel(dir.path(), p)
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        };
        assert!(name(WINDOWS).ends_with("win_amd64.whl") && name(WINDOWS).contains(ORT_VERSION));
        assert!(name(MACOS).ends_with("macosx_14_0_arm64.whl"));
        assert!(name(LINUX).contains("manylinux"));
        let empty = tempfile::tempdir().unwrap();
        assert!(find_wheel(empty.path(), WINDOWS).is_err());
    }

    #[test]
    fn the_libraries_are_the_ones_the_engine_looks_for() {
        assert_eq!(Platform::by_name("windows"), Some(WINDOWS));
        assert_eq!(Platform::by_name("macos"), Some(MACOS));
        assert_eq!(Platform::by_name("linux"), Some(LINUX));
        assert_eq!(Platform::by_name("beos"), None);
        assert_eq!(WINDOWS.library, "onnxruntime.dll");
        assert_eq!(MACOS.library, format!("libonnxruntime.{ORT_VERSION}.dylib"));
        assert_eq!(LINUX.library, format!("libonnxruntime.so.{ORT_VERSION}"));
        assert_eq!(
            LINUX.library_path(),
            Path::new("target/ort").join(LINUX.library),
            "Linux keeps its old place"
        );
    }
}
