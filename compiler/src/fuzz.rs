//! The random-program differential fuzzer (issue 13).
//!
//! [`program`] writes a well-typed weft program from a seed, following the
//! contract: a size name and literal axes, inputs and params, elementwise
//! trees with broadcasting and weak literals, reductions, `@`, shape
//! operations (transpose, reshape, concat, indexing, slicing, expand_dims,
//! broadcast_to), `where`, casts, `nn` functions, `grad` of scalar losses,
//! and params updated over several steps. Types are tracked while
//! generating, so a program the compiler rejects is a finding.
//!
//! [`check`] runs one program through the graph interpreter (the oracle) and
//! the kernel interpreter on random data (specials mixed in) — within the
//! suite's tolerance, every step — and compares every compiled kernel with
//! the kernel interpreter byte for byte. weft-llvm's tests send a fraction
//! through LLVM. `cargo test` runs a bounded number; the long run is
//!
//! ```text
//! WEFT_FUZZ_PROGRAMS=100000 cargo test --release -p weft-compiler fuzz_long -- --ignored --nocapture
//! ```

use crate::jit::difftest::{compare_kernels, Counts};
use crate::kernel::schedule;
use crate::kernel::testing::{compare_case, lower_text, random_case, Lcg};

/// An axis: a literal length or the size name `B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ax {
    Lit(u64),
    B,
}

type Shape = Vec<Ax>;

struct Gen {
    rng: Lcg,
    /// Values in scope: name and shape (all `f32`).
    vars: Vec<(String, Shape)>,
    lines: Vec<String>,
    /// Expression nodes left to generate.
    budget: u32,
}

fn ty(s: &[Ax]) -> String {
    if s.is_empty() {
        return "f32".into();
    }
    format!("f32[{}]", dims(s))
}

fn dims(s: &[Ax]) -> String {
    let parts: Vec<String> = s
        .iter()
        .map(|a| match a {
            Ax::Lit(n) => n.to_string(),
            Ax::B => "B".into(),
        })
        .collect();
    parts.join(", ")
}

fn tuple(s: &[Ax]) -> String {
    match s.len() {
        0 => "()".into(),
        1 => format!("({},)", dims(s)),
        _ => format!("({})", dims(s)),
    }
}

impl Gen {
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.rng.next_u64() % n
        }
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn axis(&mut self) -> Ax {
        match self.below(6) {
            0 | 1 => Ax::B,
            k => Ax::Lit(k - 1), // 1..4
        }
    }

    fn shape(&mut self, max_rank: u64) -> Shape {
        let r = self.below(max_rank + 1);
        (0..r).map(|_| self.axis()).collect()
    }

    fn lit(&mut self) -> String {
        ["0.5", "2.0", "1.0", "-1.5", "3.0", "0.25"][self.below(6) as usize].into()
    }

    /// An expression of type `f32[s]`.
    fn expr(&mut self, depth: u32, s: &[Ax]) -> String {
        if depth == 0 || self.budget == 0 {
            return self.leaf(s);
        }
        self.budget -= 1;
        let d = depth - 1;
        match self.below(20) {
            0..=3 => {
                const F: [&str; 14] = [
                    "tanh", "sigmoid", "relu", "abs", "neg", "sin", "cos", "softplus", "floor",
                    "sign", "atan", "erf", "round", "expm1",
                ];
                let f = F[self.below(F.len() as u64) as usize];
                format!("{f}({})", self.expr(d, s))
            }
            4 => format!("exp(tanh({}))", self.expr(d, s)),
            5 => format!("sqrt(abs({}) + 1.0)", self.expr(d, s)),
            6 => format!("log(abs({}) + 1.0)", self.expr(d, s)),
            7..=9 => {
                let a = self.expr(d, s);
                // The right operand may have fewer axes, or be a literal: broadcasting.
                let k = self.below(s.len() as u64 + 2) as usize;
                let b = if k > s.len() {
                    // A weak literal, integer or float.
                    ["3", "-2", "0.5", "1e-3"][self.below(4) as usize].to_string()
                } else {
                    self.expr(d, &s[k..])
                };
                match self.below(10) {
                    0 => format!("({a} + {b})"),
                    // A positive divisor away from 0 (`abs(3)` of a lone literal would be i32).
                    7 | 8 => {
                        let lit = b.starts_with(|c: char| c.is_ascii_digit() || c == '-');
                        let div = if lit {
                            "2.5".to_string()
                        } else {
                            format!("(abs({b}) + 0.5)")
                        };
                        if self.chance(50) {
                            format!("({a} % {div})")
                        } else {
                            format!("floor_div({a}, {div})")
                        }
                    }
                    9 => format!("atan2({a}, {b})"),
                    1 => format!("({a} - {b})"),
                    2 => format!("({a} * {b})"),
                    3 => format!("maximum({a}, {b})"),
                    4 => format!("minimum({a}, {b})"),
                    // (`abs(3)` of a lone literal would be an i32 tensor.)
                    5 if b.starts_with(|c: char| c.is_ascii_digit() || c == '-') => {
                        format!("({a} / 2.5)")
                    }
                    5 => format!("({a} / (abs({b}) + 1.0))"),
                    _ => format!("({b} * {a})"),
                }
            }
            10 => {
                // A reduction over an extra axis.
                let at = self.below(s.len() as u64 + 1) as usize;
                let mut src = s.to_vec();
                let ax = self.axis();
                src.insert(at, ax);
                const R: [&str; 8] = [
                    "sum",
                    "mean",
                    "max",
                    "min",
                    "prod",
                    "var",
                    "std",
                    "logsumexp",
                ];
                let r = R[self.below(R.len() as u64) as usize];
                format!("{r}({}, axis={at})", self.expr(d, &src))
            }
            11 if !s.is_empty() => {
                // A matrix product: [.., M, N] = [.., M, K] @ [K, N], or [N] = [K] @ [K, N].
                let k = Ax::Lit(1 + self.below(4));
                let n = s[s.len() - 1];
                let mut a = s[..s.len() - 1].to_vec();
                a.push(k);
                if s.len() > 2 {
                    return self.leaf(s);
                }
                format!("({} @ {})", self.expr(d, &a), self.expr(d, &[k, n]))
            }
            12 if s.len() == 2 => match self.below(3) {
                0 => format!("transpose({})", self.expr(d, &[s[1], s[0]])),
                1 => format!("({}).T", self.expr(d, &[s[1], s[0]])),
                _ => format!("einsum(\"ij->ji\", {})", self.expr(d, &[s[1], s[0]])),
            },
            12 if !s.is_empty() => {
                // Shape-keeping section 11 operations along an axis.
                let k = self.below(s.len() as u64);
                let x = self.expr(d, s);
                match self.below(4) {
                    0 => format!("cumsum({x}, axis={k})"),
                    1 => format!("flip({x}, {k})"),
                    2 => format!("sort({x}, axis={k})"),
                    _ => format!("({x})[::-1]"),
                }
            }
            13 => {
                let (c1, c2, a, b) = (
                    self.expr(d, s),
                    self.expr(d, s),
                    self.expr(d, s),
                    self.expr(d, s),
                );
                format!("where({c1} > {c2}, {a}, {b})")
            }
            14 if !s.is_empty() => format!("nn.softmax({}, axis=-1)", self.expr(d, s)),
            15 if s.iter().all(|a| *a != Ax::B) && !s.is_empty() => {
                let n: u64 = s
                    .iter()
                    .map(|a| match a {
                        Ax::Lit(n) => *n,
                        Ax::B => 1,
                    })
                    .product();
                format!("reshape({}, {})", self.expr(d, &[Ax::Lit(n)]), tuple(s))
            }
            16 if matches!(s.first(), Some(Ax::Lit(n)) if *n >= 2) => {
                let Some(Ax::Lit(n)) = s.first().copied() else {
                    return self.leaf(s);
                };
                let a = 1 + self.below(n - 1);
                let mut l = s.to_vec();
                let mut r = s.to_vec();
                l[0] = Ax::Lit(a);
                r[0] = Ax::Lit(n - a);
                format!(
                    "concat(({}, {}), axis=0)",
                    self.expr(d, &l),
                    self.expr(d, &r)
                )
            }
            17 => {
                // An integer index drops a leading axis; a slice keeps one.
                let k = 2 + self.below(3);
                let mut src = vec![Ax::Lit(k)];
                src.extend_from_slice(s);
                let i = self.below(k);
                format!("({})[{i}]", self.expr(d, &src))
            }
            18 if matches!(s.first(), Some(Ax::Lit(_))) => {
                let Some(Ax::Lit(n)) = s.first().copied() else {
                    return self.leaf(s);
                };
                let mut src = s.to_vec();
                src[0] = Ax::Lit(n + 1);
                format!("({})[1:]", self.expr(d, &src))
            }
            // Size expressions: a concat along `B` has length `B + k` (or
            // `k + B`), and a bounded slice takes it back to `B`.
            18 if s.first() == Some(&Ax::B) => {
                let k = 1 + self.below(3);
                let mut extra = s.to_vec();
                extra[0] = Ax::Lit(k);
                let (x, e) = (self.expr(d, s), self.expr(d, &extra));
                if self.chance(50) {
                    format!("(concat(({e}, {x}), axis=0))[{k}:]")
                } else {
                    format!("(concat(({x}, {e}), axis=0))[:-{k}]")
                }
            }
            19 => match s.iter().position(|a| *a == Ax::Lit(1)) {
                Some(p) => {
                    let mut src = s.to_vec();
                    src.remove(p);
                    format!("expand_dims({}, {p})", self.expr(d, &src))
                }
                None if !s.is_empty() => {
                    let k = self.below(s.len() as u64) as usize;
                    format!("broadcast_to({}, {})", self.expr(d, &s[k..]), tuple(s))
                }
                None => format!("cast(cast({}, f64), f32)", self.expr(d, s)),
            },
            _ => self.leaf(s),
        }
    }

    /// A value of exactly `f32[s]`: a variable of that shape, or a fill.
    fn leaf(&mut self, s: &[Ax]) -> String {
        let matching: Vec<String> = self
            .vars
            .iter()
            .filter(|(_, vs)| vs.as_slice() == s)
            .map(|(n, _)| n.clone())
            .collect();
        if !matching.is_empty() && !self.chance(15) {
            return matching[self.below(matching.len() as u64) as usize].clone();
        }
        if s.is_empty() {
            return self.lit();
        }
        match self.below(3) {
            0 => format!("full({}, {})", tuple(s), self.lit()),
            1 => format!("uniform({}, -1.0, 1.0, seed={})", tuple(s), self.below(50)),
            _ => format!("(zeros({}) + {})", tuple(s), self.lit()),
        }
    }
}

/// A well-typed program of the contract, from `seed` (see the module header).
pub fn program(seed: u64) -> String {
    let mut g = Gen {
        rng: Lcg(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
        vars: Vec::new(),
        lines: vec!["use nn".into(), "dim B".into()],
        budget: 40,
    };
    // Inputs: the first has B, so that B is bound.
    let n_in = 1 + g.below(3);
    for i in 0..n_in {
        let mut s = g.shape(3);
        if i == 0 && !s.contains(&Ax::B) {
            s.insert(0, Ax::B);
        }
        g.lines.push(format!("input x{i}: {}", ty(&s)));
        g.vars.push((format!("x{i}"), s));
    }
    let n_params = g.below(3);
    let mut params = Vec::new();
    for i in 0..n_params {
        let s: Shape = g.shape(2).into_iter().filter(|a| *a != Ax::B).collect();
        let init = if g.chance(50) {
            format!("normal(0.0, 0.5, seed={i})")
        } else {
            "full(0.25)".into()
        };
        g.lines.push(format!("param w{i}: {} = {init}", ty(&s)));
        g.vars.push((format!("w{i}"), s.clone()));
        params.push((format!("w{i}"), s));
    }
    let n_lets = 1 + g.below(4);
    for i in 0..n_lets {
        let s = g.shape(3);
        let depth = 1 + g.below(4) as u32;
        let e = g.expr(depth, &s);
        g.lines.push(format!("let t{i} = {e}"));
        g.vars.push((format!("t{i}"), s));
    }
    let n_out = 1 + g.below(3);
    for i in 0..n_out {
        let s = g.shape(2);
        let e = g.expr(2, &s);
        g.lines.push(format!("output o{i} = {e}"));
    }
    // A scalar loss and its gradient with respect to an input.
    if g.chance(70) {
        let s = g.shape(2);
        let e = g.expr(3, &s);
        let red = if g.chance(50) { "sum" } else { "mean" };
        g.lines.push(format!("let loss = {red}(tanh({e}) ** 2.0)"));
        let k = g.below(n_in);
        g.lines.push(format!("output g{k} = grad(loss, x{k})"));
        g.lines.push("output loss".into());
    }
    // Params trained over the steps.
    for (name, s) in params {
        let e = g.expr(2, &s);
        let _ = e;
        let s2 = g.shape(2);
        let le = g.expr(2, &s2);
        g.lines.push(format!(
            "update {name} = {name} - 0.1 * grad(mean(tanh({le} * sum({name}))), {name})"
        ));
        g.lines.push(format!("output {name}"));
    }
    g.lines.join("\n") + "\n"
}

/// What one program gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every engine agreed.
    Agreed,
    /// Both interpreters failed on this data (an index out of range...).
    BothFailed,
}

/// Generates, compiles and runs program `seed` in every engine of `weft
/// run`; Err describes a disagreement (with the program).
pub fn check(seed: u64) -> Result<Outcome, String> {
    let text = program(seed);
    let with_text = |e: String| format!("seed {seed}: {e}\n--- program\n{text}");
    let g = lower_text(&format!("fuzz{seed}"), &text)
        .map_err(|e| with_text(format!("a generated program does not compile: {e}")))?;
    let mut rng = Lcg(seed ^ 0xD1B5_4A32_D192_ED03);
    let Some(case) = random_case(format!("fuzz{seed}"), g, &mut rng, 3) else {
        return Err(with_text("no random data for this program".into()));
    };
    let prog = schedule(&case.g).map_err(|e| with_text(format!("does not schedule: {e}")))?;
    match compare_case(&case, &prog) {
        Ok(true) => {}
        Ok(false) => return Ok(Outcome::BothFailed),
        Err(e) => {
            return Err(with_text(format!(
                "kernel interpreter against the graph: {e}"
            )))
        }
    }
    let mut counts = Counts {
        compiled: 0,
        vectorized: 0,
        failed: Vec::new(),
    };
    compare_kernels(&case, &prog, &mut counts)
        .map_err(|e| with_text(format!("JIT against the kernel interpreter: {e}")))?;
    if let Some(f) = counts.failed.first() {
        return Err(with_text(format!(
            "a kernel the JIT should compile does not: {f}"
        )));
    }
    Ok(Outcome::Agreed)
}

/// Runs programs `from..from + n`; the failures (at most `max_fail`), and
/// how many agreed and how many failed in both interpreters.
pub fn run(from: u64, n: u64, max_fail: usize) -> (Vec<String>, u64, u64) {
    let mut fails = Vec::new();
    let (mut agreed, mut both) = (0, 0);
    for seed in from..from + n {
        let r = std::panic::catch_unwind(|| check(seed));
        match r {
            Ok(Ok(Outcome::Agreed)) => agreed += 1,
            Ok(Ok(Outcome::BothFailed)) => both += 1,
            Ok(Err(e)) => fails.push(e),
            Err(_) => fails.push(format!("seed {seed}: panicked\n{}", program(seed))),
        }
        if fails.len() >= max_fail {
            break;
        }
    }
    (fails, agreed, both)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_programs_are_deterministic() {
        assert_eq!(program(7), program(7));
        assert_ne!(program(7), program(8));
    }

    /// The generator reaches size expressions (`B + k` sliced back to `B`).
    #[test]
    fn generated_programs_use_size_expressions() {
        let uses = (0..400u64)
            .map(program)
            .filter(|p| p.contains("axis=0))[:-"))
            .count();
        assert!(
            uses > 10,
            "{uses} of 400 programs slice a concatenation along B"
        );
    }

    /// The generator reaches section 11's operations.
    #[test]
    fn generated_programs_use_section_11_operations() {
        let text: String = (0..400).map(program).collect();
        for op in [
            " % ",
            "floor_div(",
            "atan2(",
            "prod(",
            "var(",
            "std(",
            "logsumexp(",
            "cumsum(",
            "flip(",
            "sort(",
            "[::-1]",
            ".T",
            "einsum(",
        ] {
            assert!(text.contains(op), "no `{op}` in 400 programs");
        }
    }

    /// The bounded run of `cargo test` (and CI).
    #[test]
    fn fuzz_random_programs_agree_in_every_engine() {
        let n = std::env::var("WEFT_FUZZ_PROGRAMS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300);
        let (fails, agreed, both) = run(0, n, 5);
        assert!(fails.is_empty(), "{}", fails.join("\n\n"));
        eprintln!("fuzz: {agreed} programs agreed, {both} failed in both interpreters");
        assert!(agreed > n * 9 / 10, "only {agreed} of {n} ran");
    }

    /// The long run: `WEFT_FUZZ_PROGRAMS=100000` (see the module header).
    #[test]
    #[ignore]
    fn fuzz_long() {
        let n = std::env::var("WEFT_FUZZ_PROGRAMS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        let from = 1_000_000;
        let (fails, agreed, both) = run(from, n, 20);
        eprintln!(
            "fuzz_long: {n} programs from seed {from}: {agreed} agreed, {both} failed in both interpreters, {} disagreements",
            fails.len()
        );
        assert!(fails.is_empty(), "{}", fails.join("\n\n"));
    }
}
