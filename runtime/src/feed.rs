//! Feeds: the values a run supplies to the program at each step (the
//! contract's section 10) — the step index, the process's rank and the
//! world size, the rows of a minibatch (`batch`), and random values whose
//! seed contains `step` or `rank`.
//!
//! The compiler turns each of them into an extra input of the step (after
//! the program's own inputs, in descriptor order); the driver of `weft run`
//! and of built programs, and the reference interpreter, compute them here
//! before each step, so every engine sees the same values.
//!
//! **Batch order.** With `N` rows, batch size `S`, `P = world`, `r = rank`:
//! `nb = floor(N / (S·P))` batches an epoch (none is a data error), epoch
//! `e = step div nb`, `j = step mod nb`, and the rows are
//! `perm_e[(j·P + r)·S + i]` for `i` in `0..S`. Without shuffle `perm_e` is
//! the identity; with `shuffle=K` it lists `0..N` sorted by the key
//! `mix(mix(mix(K) xor e) xor i)` of row `i` (ties: smaller `i` first), with
//! `mix` SplitMix64's finaliser on `x + 0x9E3779B97F4A7C15` ([`mix`]).
//!
//! **Seed tuples.** A seed `(k1, .., kn)` (each a literal, a const, `step` or
//! `rank`, as unsigned 64-bit integers) is the stream [`seed_of`]: `k1` alone
//! for one element (so `seed=(K,)` is `seed=K`), else
//! `mix(..mix(mix(k1) xor k2).. xor kn)`. The stream's values are then those
//! of [`crate::rng`] for that seed, exactly as for `seed=K`.

use crate::npy::{DType, Data, NpyArray};
use crate::rng::{fill_normal_f32, fill_normal_f64, fill_uniform_f32, fill_uniform_f64, GAMMA};
use crate::RunError;

/// A distribution of random values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dist {
    Normal { mean: f64, std: f64 },
    Uniform { lo: f64, hi: f64 },
}

/// One element of a seed tuple.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeedPart {
    Lit(u64),
    Step,
    Rank,
}

/// What a feed supplies; `D` is how the number of rows of a batch is known
/// (a size in the compiler, a descriptor dim in the runtime).
#[derive(Clone, Debug, PartialEq)]
pub enum Feed<D> {
    /// The step index, `i64[]`.
    Step,
    /// This process's index in a distributed job, `i64[]`.
    Rank,
    /// The number of processes, `i64[]`.
    World,
    /// The row indices of this step's minibatch, `i64[size]`.
    Batch {
        rows: D,
        size: u64,
        shuffle: Option<u64>,
    },
    /// Random values of the feed's type (float dtypes), per step.
    Random { dist: Dist, seed: Vec<SeedPart> },
}

impl<D> Feed<D> {
    /// Whether the value changes from step to step.
    pub fn per_step(&self) -> bool {
        match self {
            Feed::Step | Feed::Batch { .. } => true,
            Feed::Rank | Feed::World => false,
            Feed::Random { seed, .. } => seed.contains(&SeedPart::Step),
        }
    }

    /// The same feed with its rows known another way.
    pub fn map_rows<E>(&self, f: impl FnOnce(&D) -> E) -> Feed<E> {
        match self {
            Feed::Step => Feed::Step,
            Feed::Rank => Feed::Rank,
            Feed::World => Feed::World,
            Feed::Batch {
                rows,
                size,
                shuffle,
            } => Feed::Batch {
                rows: f(rows),
                size: *size,
                shuffle: *shuffle,
            },
            Feed::Random { dist, seed } => Feed::Random {
                dist: *dist,
                seed: seed.clone(),
            },
        }
    }
}

/// The contract's `mix`: SplitMix64 on `x` (wrapping arithmetic).
pub fn mix(x: u64) -> u64 {
    crate::rng::mix64(x.wrapping_add(GAMMA))
}

/// The stream of a seed tuple (see the module header).
pub fn seed_of(parts: &[u64]) -> u64 {
    match parts {
        [] => 0,
        [k] => *k,
        [first, rest @ ..] => rest.iter().fold(mix(*first), |h, k| mix(h ^ k)),
    }
}

/// Where the run is: the values `step`, `rank` and `world` take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepCtx {
    pub step: u64,
    pub rank: u64,
    pub world: u64,
}

impl Default for StepCtx {
    fn default() -> StepCtx {
        StepCtx {
            step: 0,
            rank: 0,
            world: 1,
        }
    }
}

/// The permutation of one epoch: `0..n` sorted by `mix(mix(mix(k) ^ e) ^ i)`.
pub fn shuffled(n: u64, k: u64, epoch: u64) -> Vec<u64> {
    let base = mix(mix(k) ^ epoch);
    let mut keyed: Vec<(u64, u64)> = (0..n).map(|i| (mix(base ^ i), i)).collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// The state a feed keeps across steps: the current epoch's permutation.
#[derive(Clone, Debug, Default)]
pub struct FeedState {
    perm: Option<(u64, Vec<u64>)>,
}

/// This step's rows of a batch of `size` over `n` rows.
pub fn batch_rows(
    n: u64,
    size: u64,
    shuffle: Option<u64>,
    ctx: StepCtx,
    state: &mut FeedState,
) -> Result<Vec<i64>, RunError> {
    let per = size.saturating_mul(ctx.world.max(1));
    let nb = n / per;
    if nb == 0 {
        let procs = if ctx.world > 1 {
            format!(" × {} processes", ctx.world)
        } else {
            String::new()
        };
        return Err(RunError::data(format!(
            "batch: the data has {n} rows, fewer than one batch of {size}{procs}; give more rows or a smaller batch size"
        )));
    }
    let epoch = ctx.step / nb;
    let j = ctx.step % nb;
    let start = (j * ctx.world.max(1) + ctx.rank) * size;
    let rows: Vec<i64> = match shuffle {
        None => (start..start + size).map(|r| r as i64).collect(),
        Some(k) => {
            if state.perm.as_ref().is_none_or(|(e, _)| *e != epoch) {
                state.perm = Some((epoch, shuffled(n, k, epoch)));
            }
            let perm = match &state.perm {
                Some((_, p)) => p,
                None => return Err(RunError::data("batch: no permutation")),
            };
            (start..start + size)
                .map(|r| perm[r as usize] as i64)
                .collect()
        }
    };
    Ok(rows)
}

/// The value of a feed at this step, of `dtype` and `shape` (the feed's
/// declared type, resolved), given the number of rows of a batch.
pub fn value(
    feed: &Feed<u64>,
    dtype: DType,
    shape: &[usize],
    ctx: StepCtx,
    state: &mut FeedState,
) -> Result<NpyArray, RunError> {
    let scalar = |v: u64| NpyArray::new(vec![], Data::I64(vec![v as i64]));
    let arr = match feed {
        Feed::Step => scalar(ctx.step),
        Feed::Rank => scalar(ctx.rank),
        Feed::World => scalar(ctx.world),
        Feed::Batch {
            rows,
            size,
            shuffle,
        } => {
            let r = batch_rows(*rows, *size, *shuffle, ctx, state)?;
            NpyArray::new(vec![r.len()], Data::I64(r))
        }
        Feed::Random { dist, seed } => {
            let parts: Vec<u64> = seed
                .iter()
                .map(|p| match p {
                    SeedPart::Lit(k) => *k,
                    SeedPart::Step => ctx.step,
                    SeedPart::Rank => ctx.rank,
                })
                .collect();
            let s = seed_of(&parts);
            let n: usize = shape.iter().product();
            let data = match (dtype, dist) {
                (DType::F32, Dist::Normal { mean, std }) => {
                    let mut v = vec![0f32; n];
                    fill_normal_f32(s, *mean, *std, &mut v);
                    Data::F32(v)
                }
                (DType::F32, Dist::Uniform { lo, hi }) => {
                    let mut v = vec![0f32; n];
                    fill_uniform_f32(s, *lo, *hi, &mut v);
                    Data::F32(v)
                }
                (DType::F64, Dist::Normal { mean, std }) => {
                    let mut v = vec![0f64; n];
                    fill_normal_f64(s, *mean, *std, &mut v);
                    Data::F64(v)
                }
                (DType::F64, Dist::Uniform { lo, hi }) => {
                    let mut v = vec![0f64; n];
                    fill_uniform_f64(s, *lo, *hi, &mut v);
                    Data::F64(v)
                }
                (d, _) => {
                    return Err(RunError::data(format!(
                        "random values of dtype {d} are not supported"
                    )))
                }
            };
            NpyArray::new(shape.to_vec(), data)
        }
    };
    arr.map_err(|e| RunError::data(format!("feed: {}", e.message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract's formula written out naively.
    fn naive_mix(x: u64) -> u64 {
        let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn mix_is_the_contracts_splitmix64() {
        for x in [0u64, 1, 2, 7, u64::MAX, 0x1234_5678_9abc_def0] {
            assert_eq!(mix(x), naive_mix(x));
        }
        // SplitMix64's first output for state 0.
        assert_eq!(mix(0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn shuffled_is_a_sorted_permutation() {
        let p = shuffled(50, 7, 3);
        let mut s = p.clone();
        s.sort_unstable();
        assert_eq!(s, (0..50).collect::<Vec<_>>());
        let key = |i: u64| naive_mix(naive_mix(naive_mix(7) ^ 3) ^ i);
        assert!(p.windows(2).all(|w| key(w[0]) < key(w[1])));
        assert_ne!(p, shuffled(50, 7, 4), "epochs differ");
    }

    #[test]
    fn batches_walk_the_epochs() {
        let mut st = FeedState::default();
        let ctx = |step| StepCtx {
            step,
            rank: 0,
            world: 1,
        };
        // 10 rows, batches of 3: 3 batches an epoch, the last row dropped.
        let b = |s, st: &mut FeedState| batch_rows(10, 3, None, ctx(s), st).unwrap();
        assert_eq!(b(0, &mut st), vec![0, 1, 2]);
        assert_eq!(b(2, &mut st), vec![6, 7, 8]);
        assert_eq!(b(3, &mut st), vec![0, 1, 2]);
        // Two processes: rank 1 takes the second block of each pair.
        let two = StepCtx {
            step: 1,
            rank: 1,
            world: 2,
        };
        assert_eq!(
            batch_rows(13, 3, None, two, &mut st).unwrap(),
            vec![9, 10, 11]
        );
        let e = batch_rows(2, 3, None, ctx(0), &mut st).unwrap_err();
        assert_eq!(e.exit_code, 3);
        // With shuffle, an epoch covers distinct rows.
        let mut rows: Vec<i64> = (0..3)
            .flat_map(|s| batch_rows(9, 3, Some(5), ctx(s), &mut st).unwrap())
            .collect();
        rows.sort_unstable();
        assert_eq!(rows, (0..9).collect::<Vec<_>>());
    }

    #[test]
    fn seeds_of_tuples() {
        assert_eq!(seed_of(&[42]), 42);
        assert_eq!(seed_of(&[3, 5]), mix(mix(3) ^ 5));
        assert_ne!(seed_of(&[3, 5]), seed_of(&[5, 3]));
        assert_ne!(seed_of(&[3, 0]), seed_of(&[3]));
    }
}
