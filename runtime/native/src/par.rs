//! `weft_rt_parallel_for` (docs/abi.md): the program object's parallel
//! kernels split their outer loop across `--threads` threads.
//!
//! The work runs on rayon's global pool, which [`crate::rt::set_threads`]
//! sizes to `--threads` and the `gemm` crate's `Parallelism::Rayon` uses
//! too, so kernels and GEMM never oversubscribe the cores. `0..n` is cut
//! into at most `--threads` contiguous ranges of about equal size; a loop
//! whose total cost (`n * unit_cost`) is below [`MIN_PARALLEL_WORK`] runs on
//! the calling thread, since waking workers costs more than such a loop.

use std::ffi::c_void;

use weft_runtime::profile;

/// The smallest `n * unit_cost` worth splitting (about 20-50 µs of work).
pub const MIN_PARALLEL_WORK: i64 = 1 << 17;

/// The task type of `weft_rt_parallel_for`.
pub type Task = unsafe extern "C" fn(ctx: *mut c_void, lo: i64, hi: i64);

/// How many ranges `0..n` is cut into.
pub fn parts(n: i64, unit_cost: i64, threads: usize) -> i64 {
    let work = n.saturating_mul(unit_cost.max(1));
    if threads <= 1 || n < 2 || work < MIN_PARALLEL_WORK {
        return 1;
    }
    let by_work = (work / MIN_PARALLEL_WORK).max(1);
    i64::try_from(threads)
        .unwrap_or(i64::MAX)
        .min(n)
        .min(by_work)
}

/// Runs `task(ctx, lo, hi)` over a partition of `[0, n)` into contiguous
/// ranges and returns when all are done.
///
/// # Safety
/// `task(ctx, lo, hi)` may be called concurrently for disjoint ranges
/// covering `0..n` (the program object's parallel kernels guarantee this).
#[no_mangle]
pub unsafe extern "C" fn weft_rt_parallel_for(
    n: i64,
    unit_cost: i64,
    task: Option<Task>,
    ctx: *mut c_void,
) {
    let Some(task) = task else { return };
    if n <= 0 {
        return;
    }
    let p = parts(n, unit_cost, crate::rt::threads());
    if p <= 1 {
        task(ctx, 0, n);
        return;
    }
    if profile::on() {
        return profiled(n, p, task, ctx);
    }
    // The pointer crosses threads as an integer: the caller allows it.
    let ctx = ctx as usize;
    // n * i / p without overflow.
    let bound = move |i: i64| (i128::from(n) * i128::from(i) / i128::from(p)) as i64;
    rayon::scope(|s| {
        for i in 1..p {
            s.spawn(move |_| {
                // SAFETY: disjoint ranges, as the caller allows.
                unsafe { task(ctx as *mut c_void, bound(i), bound(i + 1)) }
            });
        }
        // SAFETY: as above.
        unsafe { task(ctx as *mut c_void, 0, bound(1)) }
    });
}

/// [`weft_rt_parallel_for`] recording each range as a part of the kernel
/// running now, on the lane of the thread that ran it.
unsafe fn profiled(n: i64, p: i64, task: Task, ctx: *mut c_void) {
    let kernel = profile::current().unwrap_or(u32::MAX - 1);
    let ctx = ctx as usize;
    let bound = move |i: i64| (i128::from(n) * i128::from(i) / i128::from(p)) as i64;
    let part = move |i: i64| {
        let t0 = profile::now();
        // SAFETY: disjoint ranges, as the caller allows.
        unsafe { task(ctx as *mut c_void, bound(i), bound(i + 1)) };
        let lane = rayon::current_thread_index().map_or(profile::LANE_STEP, |w| {
            profile::LANE_WORKER + u32::try_from(w).unwrap_or(0)
        });
        profile::record(profile::Event {
            what: profile::What::Part(kernel),
            lane,
            start: t0,
            dur: profile::now().saturating_sub(t0),
        });
    };
    rayon::scope(|s| {
        for i in 1..p {
            s.spawn(move |_| part(i));
        }
        part(0);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    unsafe extern "C" fn mark(ctx: *mut c_void, lo: i64, hi: i64) {
        let hits = &*(ctx as *const Vec<AtomicI64>);
        for i in lo..hi {
            hits[i as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn every_index_runs_once() {
        for threads in [1, 2, 3, 8] {
            crate::rt::set_threads(threads);
            for n in [0i64, 1, 2, 3, 1000, 1 << 18] {
                for unit in [-1i64, 1, 1000] {
                    let hits: Vec<AtomicI64> = (0..n).map(|_| AtomicI64::new(0)).collect();
                    let ctx = &hits as *const _ as *mut c_void;
                    // SAFETY: `mark` touches each index of its range once, atomically.
                    unsafe { weft_rt_parallel_for(n, unit, Some(mark), ctx) };
                    assert!(
                        hits.iter().all(|h| h.load(Ordering::Relaxed) == 1),
                        "n={n} unit={unit} threads={threads}"
                    );
                }
            }
        }
        // SAFETY: no task: nothing runs.
        unsafe { weft_rt_parallel_for(10, 1, None, std::ptr::null_mut()) };
        crate::rt::set_threads(1);
    }

    #[test]
    fn small_loops_stay_on_one_thread() {
        assert_eq!(parts(1000, 1, 2), 1);
        assert_eq!(parts(1 << 20, 1, 1), 1);
        assert_eq!(parts(1 << 20, 1, 2), 2);
        assert_eq!(parts(1 << 20, 1, 64), 8);
        assert_eq!(parts(1, 1 << 30, 2), 1);
        assert_eq!(parts(i64::MAX, i64::MAX, 4), 4);
    }
}
