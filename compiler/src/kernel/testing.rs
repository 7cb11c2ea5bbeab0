//! Helpers of the differential tests: every run case and every
//! `tests/check/ok` program with bound data ([`Case`]), one step of the
//! graph interpreter, and comparisons. Used by the kernel and JIT tests here
//! and, through the `testing` feature, by weft-llvm's tests.
//!
//! Tolerance: |a - b| <= 1e-5 + 1e-4 |b| for floats (matmul may accumulate
//! in another order), exact for integers and bools.
//!
//! Test code: a missing or malformed test case panics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use weft_runtime::npy::Data;
use weft_runtime::{InputArg, ScalarLit};

use super::interp as kinterp;
use super::{OutputSrc, Program};
use crate::front::{self, Loader};
use crate::interp::{self, DimEnv, Tensor};
use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::Op;
use crate::ir::types::DType;
use crate::pipeline;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct DirLoader(PathBuf);

impl Loader for DirLoader {
    fn load(&self, name: &str) -> Option<(String, String)> {
        let p = self.0.join(format!("{name}.weft"));
        Some((format!("{name}.weft"), std::fs::read_to_string(p).ok()?))
    }
}

/// A program through the pipeline façade up to the lowered graph; Err: the
/// diagnostics' messages, or the internal error.
fn lower_input(name: String, text: String, loader: &dyn Loader) -> Result<Graph, String> {
    let input = pipeline::Input {
        name,
        text,
        loader,
        sets: Vec::new(),
        deny_warnings: false,
    };
    let c = pipeline::compile(input, pipeline::Stage::Lowered, &mut |_, _| {});
    match (c.failure, c.graph) {
        (None, Some(g)) => Ok(g),
        (Some(pipeline::Failure::Internal(e)), _) => Err(e),
        _ => Err(c
            .diags
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

/// A program given as text (no sibling modules), lowered.
pub fn lower_text(name: &str, text: &str) -> Result<Graph, String> {
    lower_input(format!("{name}.weft"), text.to_string(), &front::NoFiles)
}

/// A program file, lowered; None when it does not compile.
pub fn lower(path: &Path) -> Option<Graph> {
    let text = std::fs::read_to_string(path).ok()?;
    if text.starts_with("// module") {
        return None;
    }
    let name = path.file_name()?.to_string_lossy().into_owned();
    let dir = path.parent()?.to_path_buf();
    lower_input(name, text, &DirLoader(dir)).ok()
}

pub fn tensor_bytes(t: &Tensor) -> Vec<u8> {
    match t.to_npy().data {
        Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::Bool(v) => v.iter().map(|&x| x as u8).collect(),
        Data::U8(v) => v,
        Data::F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

pub fn bytes_f64(b: &[u8], d: DType) -> Vec<f64> {
    match d {
        DType::F32 => b
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect(),
        DType::I32 => b
            .chunks(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect(),
        DType::F64 => b
            .chunks(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect(),
        DType::I64 => b
            .chunks(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64)
            .collect(),
        _ => b.iter().map(|&x| x as f64).collect(),
    }
}

pub fn close(a: &[f64], b: &[f64], rtol: f64, atol: f64) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} elements against {}", a.len(), b.len()));
    }
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let same = (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= atol + rtol * y.abs();
        if !same {
            return Err(format!("element {i}: {x} against {y}"));
        }
    }
    Ok(())
}

/// A program with bound data: dims, inputs and params as the ABI orders them.
pub struct Case {
    pub name: String,
    pub g: Graph,
    pub env: DimEnv,
    pub inputs: Vec<Tensor>,
    pub params: Vec<Tensor>,
    pub steps: u64,
}

impl Case {
    /// The step's inputs as the ABI orders them: the program's inputs, then
    /// its feeds' values at step `step` (computed afresh).
    pub fn inputs_at(&self, step: u64) -> Result<Vec<Tensor>, String> {
        let mut all = self.inputs.clone();
        if self.g.feeds.is_empty() {
            return Ok(all);
        }
        let mut feeds = interp::feeds::Feeds::new(&self.g, &self.env).map_err(|e| e.message)?;
        let ctx = weft_runtime::feed::StepCtx {
            step,
            ..Default::default()
        };
        let vals = feeds.values(&self.g, ctx, true).map_err(|e| e.message)?;
        all.extend(vals.into_iter().map(|(_, t)| t));
        Ok(all)
    }

    /// `prog`'s `dims`: the size names, then the derived sizes.
    pub fn dims(&self, prog: &Program) -> Vec<u64> {
        let base = prog.base_dims();
        let derived = prog.derived.iter().map(|p| {
            self.env
                .resolve_dim(&crate::ir::types::Dim::Expr(p.clone()))
                .unwrap_or(1) as u64
        });
        prog.dims[..base]
            .iter()
            .map(|d| self.env.get(d).unwrap_or(1) as u64)
            .chain(derived)
            .collect()
    }
}

/// Step `step` of the graph IR through the graph interpreter's kernels:
/// (outputs in declaration order, updates in order).
pub fn graph_step(
    c: &Case,
    step: u64,
    params: &[Tensor],
) -> Result<(Vec<Tensor>, Vec<Tensor>), String> {
    let g = &c.g;
    let inputs = c.inputs_at(step)?;
    let mut vals: Vec<Option<Tensor>> = vec![None; g.len()];
    let input_of: HashMap<NodeId, usize> = g
        .inputs
        .iter()
        .map(|(_, n)| *n)
        .chain(g.feeds.iter().map(|f| f.node))
        .enumerate()
        .map(|(i, n)| (n, i))
        .collect();
    let param_of: HashMap<NodeId, usize> = g
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| (p.node, i))
        .collect();
    for id in g.ids() {
        let n = g.node(id);
        let v = match n.op {
            Op::Input { .. } => inputs[input_of[&id]].clone(),
            Op::Param { .. } => params[param_of[&id]].clone(),
            _ => {
                let args: Vec<&Tensor> = n
                    .args
                    .iter()
                    .map(|a| vals[a.index()].as_ref().expect("topological"))
                    .collect();
                let ty = c.env.resolve(&n.ty).map_err(|e| e.message)?;
                interp::eval(&n.op, &args, &ty, &c.env).map_err(|e| e.message)?
            }
        };
        vals[id.index()] = Some(v);
    }
    let get = |id: &NodeId| vals[id.index()].clone().expect("computed");
    Ok((
        g.outputs.iter().map(|(_, id)| get(id)).collect(),
        g.updates.iter().map(|(_, id)| get(id)).collect(),
    ))
}

/// Runs `steps` steps of both interpreters and compares every step output
/// and update. Err: a disagreement. Ok(false): both failed (bad data).
pub fn compare_case(c: &Case, prog: &Program) -> Result<bool, String> {
    let dims = c.dims(prog);
    let mut gparams = c.params.clone();
    let mut kparams: Vec<Vec<u8>> = c.params.iter().map(tensor_bytes).collect();
    for step in 0..c.steps {
        let inputs: Vec<Vec<u8>> = match c.inputs_at(step) {
            Ok(i) => i.iter().map(tensor_bytes).collect(),
            Err(_) => return Ok(false),
        };
        let want = graph_step(c, step, &gparams);
        let got = kinterp::step(prog, &dims, &inputs, &kparams);
        let (want, got) = match (want, got) {
            (Ok(w), Ok(g)) => (w, g),
            (Err(_), Err(_)) => return Ok(false),
            (Err(e), Ok(_)) => {
                return Err(format!(
                    "step {step}: graph interpreter failed ({e}), kernels did not"
                ))
            }
            (Ok(_), Err(k)) => {
                return Err(format!(
                    "step {step}: kernels failed with error {k} ({:?})",
                    prog.errors.get(k as usize - 1)
                ))
            }
        };
        for (i, (name, ty, src)) in prog.outputs.iter().enumerate() {
            if let OutputSrc::Step(k) = src {
                close(
                    &bytes_f64(&got.outputs[*k], ty.dtype),
                    &want.0[i].to_f64_vec(),
                    1e-4,
                    1e-5,
                )
                .map_err(|e| format!("step {step}: output {name}: {e}"))?;
            }
        }
        for (i, &p) in prog.updates.iter().enumerate() {
            let d = prog.params[p].ty.dtype;
            close(
                &bytes_f64(&got.updates[i], d),
                &want.1[i].to_f64_vec(),
                1e-4,
                1e-5,
            )
            .map_err(|e| format!("step {step}: update {}: {e}", prog.params[p].name))?;
            gparams[p] = want.1[i].clone();
            kparams[p] = got.updates[i].clone();
        }
    }
    Ok(true)
}

/// Every run case (kind run/grad) with its data.
pub fn run_cases(max_steps: u64) -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("tests/run/cases"))
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.sort();
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(text) = std::fs::read_to_string(dir.join("meta.json")) else {
            continue;
        };
        let Ok(meta) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if !matches!(meta["kind"].as_str(), Some("run" | "grad")) {
            continue;
        }
        let prog = match meta["program"].as_str() {
            Some(p) => root().join(p),
            None => dir.join("prog.weft"),
        };
        let g = lower(&prog).unwrap_or_else(|| panic!("{}: does not compile", prog.display()));
        let strs = |k: &str| -> Vec<String> {
            meta[k]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut args: Vec<(String, InputArg)> = strs("inputs")
            .into_iter()
            .map(|k| {
                let p = dir.join("in").join(format!("{k}.npy"));
                (k, InputArg::File(p))
            })
            .collect();
        if let Some(sc) = meta["scalars"].as_object() {
            for (k, v) in sc {
                let s = v
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| v.to_string());
                let lit = match s.as_str() {
                    "true" => ScalarLit::Bool(true),
                    "false" => ScalarLit::Bool(false),
                    s => match s.parse::<i64>() {
                        Ok(i) => ScalarLit::Int(i),
                        Err(_) => ScalarLit::Float(s.parse().expect("a number")),
                    },
                };
                args.push((k.clone(), InputArg::Scalar(lit)));
            }
        }
        let params: Vec<(String, PathBuf)> = strs("params")
            .into_iter()
            .map(|k| {
                let p = dir.join("in").join(format!("param.{k}.npy"));
                (k, p)
            })
            .collect();
        let bound = interp::bind::bind(&g, &args, &params)
            .unwrap_or_else(|e| panic!("{}: {}", dir.display(), e.message));
        let mut inputs = vec![None; g.inputs.len()];
        for (id, t) in bound.inputs {
            let i = g
                .inputs
                .iter()
                .position(|(_, n)| *n == id)
                .expect("an input node");
            inputs[i] = Some(t);
        }
        let steps = meta["steps"].as_u64().unwrap_or(1).clamp(1, max_steps);
        let steps_matter = !g.updates.is_empty() || g.feeds.iter().any(|f| f.feed.per_step());
        let steps = if steps_matter { steps } else { 1 };
        out.push(Case {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            inputs: inputs.into_iter().map(|t| t.expect("bound")).collect(),
            params: bound.params,
            env: bound.env,
            g,
            steps,
        });
    }
    out
}

/// A small deterministic generator.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn unit(&mut self) -> f64 {
        self.next_u64() as f64 / (1u64 << 31) as f64
    }
}

/// Special values mixed into random float data (one element in 16): NaN,
/// ±0, ±inf and a subnormal — not the extremes, whose sums depend on the
/// order of addition that LLVM may change.
const DATA_SPECIALS: [f64; 6] = [f64::NAN, 0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, 1e-40];

fn random_float(rng: &mut Lcg) -> f64 {
    if rng.next_u64().is_multiple_of(16) {
        DATA_SPECIALS[(rng.next_u64() % DATA_SPECIALS.len() as u64) as usize]
    } else {
        rng.unit() * 4.0 - 2.0
    }
}

fn random_tensor(rng: &mut Lcg, dtype: DType, shape: &[usize]) -> Option<Tensor> {
    let n: usize = shape.iter().product();
    let sh = IxDyn(shape);
    Some(match dtype {
        DType::F32 => Tensor::F32(
            ArrayD::from_shape_vec(sh, (0..n).map(|_| random_float(rng) as f32).collect()).ok()?,
        ),
        DType::F64 => Tensor::F64(
            ArrayD::from_shape_vec(sh, (0..n).map(|_| random_float(rng)).collect()).ok()?,
        ),
        DType::I32 => Tensor::I32(
            ArrayD::from_shape_vec(sh, (0..n).map(|_| (rng.next_u64() % 3) as i32).collect())
                .ok()?,
        ),
        DType::I64 => Tensor::I64(
            ArrayD::from_shape_vec(sh, (0..n).map(|_| (rng.next_u64() % 3) as i64).collect())
                .ok()?,
        ),
        DType::U8 => Tensor::U8(
            ArrayD::from_shape_vec(sh, (0..n).map(|_| (rng.next_u64() % 256) as u8).collect())
                .ok()?,
        ),
        DType::Bool => Tensor::Bool(
            ArrayD::from_shape_vec(sh, (0..n).map(|_| rng.next_u64() % 2 == 1).collect()).ok()?,
        ),
        DType::F16 | DType::BF16 => return None,
    })
}

/// Every `tests/check/ok` program that lowers, with random data.
pub fn check_ok_cases(seed: u64) -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/check/ok"))
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "weft"));
    files.sort();
    let mut rng = Lcg(seed);
    let mut out = Vec::new();
    for f in files {
        let Some(g) = lower(&f) else { continue };
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.extend(random_case(name, g, &mut rng, 2));
    }
    out
}

/// A lowered program with random data: each size name bound to 1..4 (a
/// batch's rows to at least a batch), inputs and params random (floats in
/// [-2, 2] with NaN, ±0, ±inf and subnormals mixed in). None when a value
/// has a dtype without random data.
pub fn random_case(name: String, g: Graph, rng: &mut Lcg, steps: u64) -> Option<Case> {
    let mut env = DimEnv::new();
    // A size that is the rows of a batch has at least a batch of rows.
    for f in &g.feeds {
        if let crate::ir::graph::Feed::Batch {
            rows: crate::ir::types::Dim::Sym(d),
            size,
            ..
        } = &f.feed
        {
            let _ = env.bind(d, *size as usize + (rng.next_u64() % 4) as usize);
        }
    }
    for d in &g.dims {
        if env.get(d).is_none() {
            let _ = env.bind(d, 1 + (rng.next_u64() % 4) as usize);
        }
    }
    let mut mk = |ty: &crate::ir::types::TensorType| -> Option<Tensor> {
        let ct = env.resolve(ty).ok()?;
        random_tensor(rng, ct.dtype, &ct.shape)
    };
    let mut inputs = Vec::new();
    for (_, id) in &g.inputs {
        inputs.push(mk(g.ty(*id))?);
    }
    let mut params = Vec::new();
    for p in &g.params {
        params.push(mk(&p.ty)?);
    }
    Some(Case {
        name,
        g,
        env,
        inputs,
        params,
        steps,
    })
}

/// Whether two byte buffers hold the same bytes: the JIT against the kernel
/// interpreter, NaN signs and payloads included (`weft run` gives the same
/// bits whichever tier runs a kernel).
pub fn identical_bits(a: &[u8], b: &[u8]) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} bytes against {}", a.len(), b.len()));
    }
    match a.iter().zip(b).position(|(x, y)| x != y) {
        None => Ok(()),
        Some(i) => Err(format!("byte {i}: {:#04x} against {:#04x}", a[i], b[i])),
    }
}

/// Whether two byte buffers of dtype `d` hold the same values bit for bit
/// (any NaN equals any NaN: engines may differ in a NaN's sign or payload).
pub fn same_bits(a: &[u8], b: &[u8], d: DType) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} bytes against {}", a.len(), b.len()));
    }
    let es = super::elem_bytes(d) as usize;
    for (i, (x, y)) in a.chunks(es).zip(b.chunks(es)).enumerate() {
        if x == y {
            continue;
        }
        let nan = |c: &[u8]| match d {
            DType::F32 => f32::from_le_bytes(c.try_into().unwrap_or([0; 4])).is_nan(),
            DType::F64 => f64::from_le_bytes(c.try_into().unwrap_or([0; 8])).is_nan(),
            _ => false,
        };
        if !(nan(x) && nan(y)) {
            return Err(format!("element {i}: {x:?} against {y:?}"));
        }
    }
    Ok(())
}

/// One step of the kernel interpreter against the graph interpreter, every
/// output byte for byte, NaN signs and payloads included ([`identical_bits`]).
pub fn compare_case_bits(c: &Case, prog: &Program) -> Result<(), String> {
    let inputs: Vec<Vec<u8>> = c.inputs_at(0)?.iter().map(tensor_bytes).collect();
    let params: Vec<Vec<u8>> = c.params.iter().map(tensor_bytes).collect();
    let want = graph_step(c, 0, &c.params)?;
    let got = kinterp::step(prog, &c.dims(prog), &inputs, &params)
        .map_err(|k| format!("kernels failed with error {k}"))?;
    for (i, (name, _, src)) in prog.outputs.iter().enumerate() {
        if let OutputSrc::Step(k) = src {
            identical_bits(&got.outputs[*k], &tensor_bytes(&want.0[i]))
                .map_err(|e| format!("output {name}: {e}"))?;
        }
    }
    Ok(())
}
