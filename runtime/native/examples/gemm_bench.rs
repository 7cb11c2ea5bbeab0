//! GEMM shapes of the W-suite, timed for weft's GEMM and its peers:
//! `cargo run --release -p weft-runtime-native --example gemm_bench [THREADS]`.
//! Prints the best of several runs (the machine is shared: the minimum is
//! the least disturbed) in GFLOP/s. NumPy (OpenBLAS) runs the same shapes
//! in `bench/gemm/numpy_shapes.py`.

use std::time::Instant;

use weft_runtime_native::gemm::{self, View};

/// (name, m, k, n, A transposed, B transposed)
const SHAPES: &[(&str, usize, usize, usize, bool, bool)] = &[
    ("w9 x@w1", 10000, 64, 256, false, false),
    ("w9 x.T@dh", 64, 10000, 256, true, false),
    ("w9 h@w2", 10000, 256, 10, false, false),
    ("w9 h.T@dl", 256, 10000, 10, true, false),
    ("w9 dl@w2.T", 10000, 10, 256, false, true),
    ("w3 x@w1", 256, 784, 512, false, false),
    ("w3 x.T@d1", 784, 256, 512, true, false),
    ("w3 d2@w2.T", 256, 512, 512, false, true),
    ("w2 1024^3", 1024, 1024, 1024, false, false),
];

fn data(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919 % 1000) as f32) / 1000.0 - 0.5)
        .collect()
}

/// The best time of each function over `reps` rounds, the functions
/// taking turns within a round (so a busy moment of the machine hits all).
fn best<const N: usize>(reps: usize, fs: &mut [&mut dyn FnMut(); N]) -> [f64; N] {
    let mut out = [f64::INFINITY; N];
    for f in fs.iter_mut() {
        f();
    }
    for _ in 0..reps {
        for (f, o) in fs.iter_mut().zip(&mut out) {
            let t = Instant::now();
            f();
            *o = o.min(t.elapsed().as_secs_f64());
        }
    }
    out
}

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .ok();
    println!("threads {threads}; GFLOP/s, best of 30, taking turns");
    println!("{:<12} {:>8} {:>8} {:>8}", "shape", "weft", "gemm", "mm-rs");
    for &(name, m, k, n, ta, tb) in SHAPES {
        let (a, b) = (data(m * k), data(k * n));
        // One output for all (three would not fit the L3 cache together).
        let mut c = vec![0.0f32; m * n];
        let cp = c.as_mut_ptr();
        // Strides (row, column) of A [m, k] and B [k, n] as stored.
        let (ars, acs) = if ta { (1, m as isize) } else { (k as isize, 1) };
        let (brs, bcs) = if tb { (1, k as isize) } else { (n as isize, 1) };
        let flop = 2.0 * (m * k * n) as f64;
        let mut weft = || {
            let av = View {
                ptr: a.as_ptr(),
                rs: ars,
                cs: acs,
            };
            let bv = View {
                ptr: b.as_ptr(),
                rs: brs,
                cs: bcs,
            };
            // SAFETY: the views describe `a` and `b`; `c1` is m × n.
            unsafe { gemm::gemm(m, k, n, av, bv, cp, n, false, threads) }
        };
        let mut crate_gemm = || {
            let par = if threads > 1 {
                ::gemm::Parallelism::Rayon(threads)
            } else {
                ::gemm::Parallelism::None
            };
            // SAFETY: as above.
            unsafe {
                ::gemm::gemm(
                    m,
                    n,
                    k,
                    cp,
                    1,
                    n as isize,
                    false,
                    a.as_ptr(),
                    acs,
                    ars,
                    b.as_ptr(),
                    bcs,
                    brs,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    par,
                )
            }
        };
        let mut mm = || {
            // SAFETY: as above (matrixmultiply runs on one thread here).
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    ars,
                    acs,
                    b.as_ptr(),
                    brs,
                    bcs,
                    0.0,
                    cp,
                    n as isize,
                    1,
                )
            }
        };
        let [weft, crate_gemm, mm] = best(30, &mut [&mut weft, &mut crate_gemm, &mut mm]);
        let g = |t: f64| flop / t / 1e9;
        println!(
            "{name:<12} {:>8.1} {:>8.1} {:>8.1}",
            g(weft),
            g(crate_gemm),
            g(mm)
        );
    }
}
