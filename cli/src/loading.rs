//! `descant bench`'s table 0: how long each built-in model takes to load, as the worker loads it
//! (contract, vetting, ONNX Runtime session), beside its size. Main thread; the runtime must be
//! loaded first (`bench::run` does).

use std::time::Instant;

use anyhow::Result;
use descant_inference::model::Model;

use crate::bench::median_p99;

/// Times each built-in model's load as the worker does it (contract, vetting, ONNX Runtime
/// session), median of 5, beside its size.
pub fn table() -> Result<()> {
    println!("\n## 0. Loading a built-in model (ms, median of 5)\n");
    println!("| model | .onnx size | load |");
    println!("|---|---|---|");
    for m in descant_inference::BUILTIN_MODELS {
        let mut times = Vec::with_capacity(5);
        for _ in 0..5 {
            let t0 = Instant::now();
            drop(Model::from_bytes(m.onnx, m.sidecar)?);
            times.push(t0.elapsed());
        }
        let (med, _) = median_p99(&mut times);
        println!(
            "| {} | {:.1} MB | {:.0} |",
            m.id,
            m.onnx.len() as f64 / 1e6,
            med / 1000.0
        );
    }
    Ok(())
}
