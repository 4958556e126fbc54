//! Renders at once: runs a list of jobs (each an offline render and its measure) on a few
//! threads. Used by the held-out and idiom benchmarks.
//!
//! Guarantees: every job runs at most once; the results come back in the order of the jobs,
//! whatever the number of threads; the first job that fails stops the others from starting and is
//! the error returned; `progress` is told each job done and how many there are.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{anyhow, Result};

/// Runs `work` on each of `jobs`, `at_once` at a time, and returns the results in the jobs' order.
pub fn run<J: Sync, T: Send>(
    jobs: &[J],
    at_once: usize,
    work: impl Fn(&J) -> Result<T> + Sync,
    progress: impl Fn(usize, usize) + Sync,
) -> Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, T)>> = Mutex::new(Vec::with_capacity(jobs.len()));
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..at_once.max(1) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(k) else { break };
                if failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                    break;
                }
                match work(job) {
                    Ok(result) => {
                        if let Ok(mut all) = results.lock() {
                            all.push((k, result));
                        }
                    }
                    Err(e) => {
                        if let Ok(mut f) = failure.lock() {
                            f.get_or_insert(e);
                        }
                    }
                }
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, jobs.len());
            });
        }
    });
    if let Some(e) = failure
        .into_inner()
        .map_err(|_| anyhow!("a job panicked"))?
    {
        return Err(e);
    }
    let mut results = results
        .into_inner()
        .map_err(|_| anyhow!("a job panicked"))?;
    results.sort_by_key(|(k, _)| *k);
    Ok(results.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_the_jobs_order_and_the_first_failure_stops_the_run() {
        let jobs: Vec<u32> = (0..50).collect();
        let out = run(&jobs, 3, |&j| Ok(j * 2), |_, _| {}).unwrap();
        assert_eq!(out, jobs.iter().map(|j| j * 2).collect::<Vec<_>>());
        let err = run(
            &jobs,
            2,
            |&j| {
                if j == 7 {
                    anyhow::bail!("job 7")
                } else {
                    Ok(j)
                }
            },
            |_, _| {},
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "job 7");
    }
}
