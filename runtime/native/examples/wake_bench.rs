//! The cost of one `weft_rt_parallel_for` on the pool, against the same
//! work on one thread: `cargo run --release -p weft-runtime-native --example
//! wake_bench`. A step of many kernels pays it once per parallel kernel.

use std::ffi::c_void;
use std::time::Instant;

use weft_runtime_native::{par, rt};

unsafe extern "C" fn work(ctx: *mut c_void, lo: i64, hi: i64) {
    let v = &mut *(ctx as *mut Vec<f32>);
    let p = v.as_mut_ptr();
    for i in lo..hi {
        let x = p.add(i as usize);
        *x = *x * 1.000_001 + 0.5;
    }
}

fn main() {
    rt::set_threads(2);
    for n in [1i64 << 17, 1 << 18, 1 << 20] {
        let mut v = vec![1.0f32; n as usize];
        let ctx = &mut v as *mut Vec<f32> as *mut c_void;
        let reps = 2000;
        let mut best = [f64::INFINITY; 2];
        for _ in 0..5 {
            for (which, b) in best.iter_mut().enumerate() {
                let t = Instant::now();
                for _ in 0..reps {
                    // SAFETY: `work` writes disjoint indices of `v`.
                    unsafe {
                        if which == 0 {
                            par::weft_rt_parallel_for(n, 1, Some(work), ctx);
                        } else {
                            work(ctx, 0, n);
                        }
                    }
                }
                *b = b.min(t.elapsed().as_secs_f64() / reps as f64);
            }
        }
        println!(
            "n = {n:>8}: 2 threads {:>7.2} µs, 1 thread {:>7.2} µs, speed-up {:.2}",
            best[0] * 1e6,
            best[1] * 1e6,
            best[1] / best[0]
        );
    }
}
