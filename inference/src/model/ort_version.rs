// The ONNX Runtime release Descant loads: the one place for the facts that `xtask` (which takes the
// library from its PyPI wheel and places it beside the plugin) and the engine (which looks for it
// there) share. `xtask/src/main.rs` `include!`s this file, so it holds plain constants only.

/// The ONNX Runtime release the `ort` crate in this workspace is built for (its `api-31` feature).
pub const ORT_VERSION: &str = "1.31.1";
/// The library's file name on Linux: in the wheel's `onnxruntime/capi/`, and beside the plugin.
pub const ORT_LIBRARY_LINUX: &str = "libonnxruntime.so.1.31.1";
/// The library's file name on macOS.
pub const ORT_LIBRARY_MACOS: &str = "libonnxruntime.1.31.1.dylib";
/// The library's file name on Windows.
pub const ORT_LIBRARY_WINDOWS: &str = "onnxruntime.dll";
