//! A library's model (docs/embedding.md): one instance of a built program
//! that a caller drives through the C API (`weft-runtime-lib`) — params
//! owned and kept between runs, inputs and cotangents borrowed from the
//! caller's memory, outputs and gradients read in place from the step's own
//! buffers.
//!
//! Binding goes through [`bind::bind_shapes`] and steps through
//! [`Stepper`], so a library reports bad data with the executables'
//! messages and computes exactly what they compute. A call with the same
//! dtypes and shapes as the one before reuses its binding and its buffers:
//! a small program's call costs little more than its step.

use std::ffi::c_void;

use crate::bind;
use crate::buf::AlignedBuf;
use crate::driver::Program;
use crate::npy::DType;
use crate::program::{parse_descriptor, OutputSrc, ProgramDesc};
use crate::stepper::{alloc_for, copy_in, Stepper};
use crate::RunError;

/// The names the VJP program gives its extra inputs and its outputs
/// (`weft_compiler::passes::vjp`).
const COTANGENT: &str = "__cotangent.";
const GRAD_INPUT: &str = "__grad_input.";
const GRAD_PARAM: &str = "__grad_param.";

/// Memory the caller lends: C order, `shape` lengths of `dtype`.
#[derive(Clone, Debug)]
pub struct Lent {
    pub data: *const u8,
    pub dtype: DType,
    pub shape: Vec<usize>,
}

/// A value read in place: valid until the model changes it.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    pub data: *const u8,
    pub dtype: DType,
    pub shape: &'a [usize],
}

/// The dtypes and shapes a binding was made for.
type Key = Vec<(DType, Vec<usize>)>;

/// A binding and the buffers of its steps.
struct Bound {
    key: Key,
    dims: Vec<Option<usize>>,
    stepper: Stepper,
}

/// Where the VJP program's pieces are: for each of its extra inputs, the
/// output whose cotangent it is; for each of its outputs, the input or
/// param whose gradient it is.
#[derive(Default)]
struct VjpMap {
    cotangent_of: Vec<usize>,
    grad_input: Vec<Option<usize>>,
    grad_param: Vec<Option<usize>>,
}

pub struct Session {
    pub desc: ProgramDesc,
    /// The VJP program's descriptor, when the library has one.
    pub vjp: Option<ProgramDesc>,
    vmap: VjpMap,
    inputs: Vec<Option<Lent>>,
    cotangents: Vec<Option<Lent>>,
    /// Current param values, and their shapes (None: not initialised yet,
    /// its sizes unknown; its buffer is then empty).
    params: Vec<AlignedBuf>,
    param_shapes: Vec<Option<Vec<usize>>>,
    main: Option<Bound>,
    /// Whether `main`'s step outputs hold the last run's values.
    ran: bool,
    back: Option<Bound>,
    /// Zero cotangents of the outputs given none, for `back`.
    zeros: Vec<Option<AlignedBuf>>,
    /// Whether `back`'s outputs hold the last VJP's gradients.
    differentiated: bool,
    /// Sizes of the last binding.
    pub dims: Vec<Option<usize>>,
    /// Steps taken.
    pub step: u64,
}

fn byte_len(l: &Lent) -> Result<usize, RunError> {
    bind::byte_size(l.dtype, &l.shape).ok_or_else(|| {
        RunError::usage(format!(
            "an array of {} is too large",
            bind::concrete_text(l.dtype, &l.shape)
        ))
    })
}

fn internal(msg: String) -> RunError {
    RunError::new(crate::error::EXIT_INTERNAL, msg)
}

impl VjpMap {
    fn new(desc: &ProgramDesc, vjp: &ProgramDesc) -> Result<VjpMap, RunError> {
        let mut m = VjpMap::default();
        for d in vjp.inputs.iter().skip(desc.inputs.len()) {
            let out = d.name.strip_prefix(COTANGENT).unwrap_or(&d.name);
            let i = desc
                .outputs
                .iter()
                .position(|o| o.decl.name == out)
                .ok_or_else(|| internal(format!("the VJP's input `{}` is no output", d.name)))?;
            m.cotangent_of.push(i);
        }
        m.grad_input = vec![None; desc.inputs.len()];
        m.grad_param = vec![None; desc.params.len()];
        for (k, o) in vjp.outputs.iter().enumerate() {
            if let Some(name) = o.decl.name.strip_prefix(GRAD_INPUT) {
                if let Some(i) = desc.inputs.iter().position(|d| d.name == name) {
                    m.grad_input[i] = Some(k);
                }
            } else if let Some(name) = o.decl.name.strip_prefix(GRAD_PARAM) {
                if let Some(i) = desc.params.iter().position(|p| p.decl.name == name) {
                    m.grad_param[i] = Some(k);
                }
            }
        }
        Ok(m)
    }
}

impl Session {
    /// A model of the program described by `desc` (and `vjp`), its params
    /// initialised where their sizes are literals.
    pub fn new(desc: &[u8], vjp: Option<&[u8]>) -> Result<Session, RunError> {
        let damaged = |e: crate::program::DescError| {
            internal(format!(
                "the library is damaged or was built by another weft: {e}"
            ))
        };
        let desc = parse_descriptor(desc).map_err(damaged)?;
        let vjp = vjp.map(parse_descriptor).transpose().map_err(damaged)?;
        let vmap = match &vjp {
            Some(v) => VjpMap::new(&desc, v)?,
            None => VjpMap::default(),
        };
        let mut s = Session {
            inputs: vec![None; desc.inputs.len()],
            cotangents: vec![None; desc.outputs.len()],
            params: (0..desc.params.len())
                .map(|_| AlignedBuf::zeroed(0).ok_or_else(|| RunError::data("out of memory")))
                .collect::<Result<_, _>>()?,
            param_shapes: vec![None; desc.params.len()],
            main: None,
            ran: false,
            back: None,
            zeros: Vec::new(),
            differentiated: false,
            dims: vec![None; desc.n_dims()],
            step: 0,
            vmap,
            desc,
            vjp,
        };
        s.init_params(&vec![None; s.desc.n_dims()])?;
        Ok(s)
    }

    /// Initialises every param without a value whose sizes `dims` binds.
    fn init_params(&mut self, dims: &[Option<usize>]) -> Result<(), RunError> {
        for (i, p) in self.desc.params.iter().enumerate() {
            if self.param_shapes[i].is_some() {
                continue;
            }
            let Ok(shape) = bind::resolve_shape(&self.desc, dims, &p.decl) else {
                continue;
            };
            let who = format!("param `{}`", p.decl.name);
            let arr =
                bind::init_value(&p.init, p.decl.dtype, &shape).map_err(|e| e.context(&who))?;
            self.params[i] = copy_in(&arr)?;
            self.param_shapes[i] = Some(shape);
        }
        Ok(())
    }

    pub fn set_input(&mut self, i: usize, v: Lent) -> Result<(), RunError> {
        byte_len(&v)?;
        match self.inputs.get_mut(i) {
            Some(slot) => {
                *slot = Some(v);
                Ok(())
            }
            None => Err(RunError::usage(format!("there is no input {i}"))),
        }
    }

    pub fn set_cotangent(&mut self, i: usize, v: Lent) -> Result<(), RunError> {
        byte_len(&v)?;
        let o = self
            .desc
            .outputs
            .get(i)
            .ok_or_else(|| RunError::usage(format!("there is no output {i}")))?;
        if !o.decl.dtype.is_float() {
            return Err(RunError::usage(format!(
                "output `{}` is {}: only floating outputs have cotangents",
                o.decl.name,
                self.desc.type_text(&o.decl)
            )));
        }
        self.cotangents[i] = Some(v);
        Ok(())
    }

    /// Takes back output `i`'s cotangent (a zero one from now on).
    pub fn clear_cotangent(&mut self, i: usize) -> Result<(), RunError> {
        match self.cotangents.get_mut(i) {
            Some(c) => {
                *c = None;
                Ok(())
            }
            None => Err(RunError::usage(format!("there is no output {i}"))),
        }
    }

    /// Copies a param's new value in (its dtype, rank and literal lengths
    /// checked now, its sizes at the next run).
    pub fn set_param(&mut self, i: usize, v: &Lent) -> Result<(), RunError> {
        let p = self
            .desc
            .params
            .get(i)
            .ok_or_else(|| RunError::usage(format!("there is no param {i}")))?;
        let n = byte_len(v)?;
        let who = format!("param `{}`", p.decl.name);
        bind::check_value(&self.desc, &p.decl, &who, v.dtype, &v.shape)?;
        let mut buf = alloc_for(&self.desc, &p.decl, &v.shape)?;
        if n > 0 {
            // SAFETY: the caller lends `n` readable bytes at `data` (weft.h).
            let bytes = unsafe { std::slice::from_raw_parts(v.data, n) };
            buf.bytes_mut()[..n].copy_from_slice(bytes);
        }
        self.params[i] = buf;
        self.param_shapes[i] = Some(v.shape.clone());
        Ok(())
    }

    /// The dtypes and shapes of the inputs (then `extra`) and params now.
    fn key(&self, extra: &[Option<Lent>]) -> Key {
        let lent = self.inputs.iter().chain(extra).map(|l| {
            l.as_ref().map_or((DType::Bool, vec![usize::MAX]), |l| {
                (l.dtype, l.shape.clone())
            })
        });
        let params = self.param_shapes.iter().enumerate().map(|(i, p)| match p {
            Some(s) => (self.desc.params[i].decl.dtype, s.clone()),
            None => (DType::Bool, vec![usize::MAX]),
        });
        lent.chain(params).collect()
    }

    /// Whether `key` is [`Session::key`] now (without building it).
    fn key_is(&self, key: &Key, extra: &[Option<Lent>]) -> bool {
        let n = self.inputs.len() + extra.len();
        if key.len() != n + self.param_shapes.len() {
            return false;
        }
        let lent = self
            .inputs
            .iter()
            .chain(extra)
            .zip(&key[..n])
            .all(|(l, (d, s))| l.as_ref().is_some_and(|l| l.dtype == *d && l.shape == *s));
        lent && self
            .param_shapes
            .iter()
            .zip(&key[n..])
            .all(|(p, (_, s))| p.as_ref() == Some(s))
    }

    /// The sizes of the inputs (then `extra`) and params now.
    fn bind(
        &self,
        desc: &ProgramDesc,
        extra: &[Option<Lent>],
    ) -> Result<Vec<Option<usize>>, RunError> {
        let inputs: Vec<Option<(DType, &[usize])>> = self
            .inputs
            .iter()
            .chain(extra)
            .map(|l| l.as_ref().map(|l| (l.dtype, l.shape.as_slice())))
            .collect();
        let params: Vec<Option<(DType, &[usize])>> = self
            .param_shapes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                p.as_ref()
                    .map(|s| (self.desc.params[i].decl.dtype, s.as_slice()))
            })
            .collect();
        bind::bind_shapes(desc, &inputs, &params)
    }

    /// Every param has a value, or the error naming the first without one.
    fn params_ready(&self) -> Result<(), RunError> {
        match self.param_shapes.iter().position(Option::is_none) {
            None => Ok(()),
            Some(i) => {
                let d = &self.desc.params[i].decl;
                Err(RunError::data(format!(
                    "param `{}` has type {}, but its sizes are not bound; set it with weft_set_param",
                    d.name,
                    self.desc.type_text(d)
                )))
            }
        }
    }

    fn input_ptrs(&self, extra: &[Option<Lent>]) -> Vec<*const c_void> {
        self.inputs
            .iter()
            .chain(extra)
            .map(|l| l.as_ref().map_or(std::ptr::null(), |l| l.data.cast()))
            .collect()
    }

    /// Runs `steps` steps (one when the program's values do not change
    /// from step to step), as the executable does.
    pub fn run(&mut self, prog: &dyn Program, steps: u64) -> Result<(), RunError> {
        self.ran = false;
        let mut bound = match self.main.take() {
            Some(b) if self.key_is(&b.key, &[]) => b,
            _ => {
                let dims = self.bind(&self.desc, &[])?;
                self.init_params(&dims)?;
                let stepper = Stepper::new(prog, &self.desc, &dims)?;
                Bound {
                    key: self.key(&[]),
                    dims,
                    stepper,
                }
            }
        };
        let inputs = self.input_ptrs(&[]);
        if let Err(e) = self.params_ready() {
            self.main = Some(bound);
            return Err(e);
        }
        let steps = if self.desc.steps_matter() {
            steps.max(1)
        } else {
            1
        };
        let mut result = Ok(());
        for _ in 0..steps {
            match bound
                .stepper
                .step(prog, &self.desc, &inputs, &mut self.params, self.step)
            {
                Ok(stop) => {
                    self.step += 1;
                    if stop {
                        break;
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.dims.clone_from(&bound.dims);
        self.ran = result.is_ok();
        self.main = Some(bound);
        result
    }

    /// [`Session::run`] with input `i` reading `inputs[i]` instead (same
    /// dtype and shape as when it was set; NULL keeps it), then output `j`
    /// copied into `outputs[j]` (when not NULL and there are as many; the
    /// caller's buffer holds the output's bytes).
    ///
    /// # Safety
    /// Each non-NULL pointer of `inputs` holds the bytes of the input as it
    /// was set, each of `outputs` room for the output after the run.
    pub unsafe fn run_with(
        &mut self,
        prog: &dyn Program,
        steps: u64,
        inputs: &[*const u8],
        outputs: &[*mut u8],
    ) -> Result<(), RunError> {
        for (i, &p) in inputs.iter().enumerate() {
            if p.is_null() {
                continue;
            }
            match self.inputs.get_mut(i) {
                Some(Some(l)) => l.data = p,
                Some(None) => {
                    return Err(RunError::usage(format!(
                        "input `{}` was not set: set it once with weft_set_input",
                        self.desc.inputs[i].name
                    )))
                }
                None => return Err(RunError::usage(format!("there is no input {i}"))),
            }
        }
        self.run(prog, steps)?;
        for (j, &out) in outputs.iter().enumerate() {
            if out.is_null() || j >= self.desc.outputs.len() {
                continue;
            }
            let v = self.output(j)?;
            let n = bind::byte_size(v.dtype, v.shape).unwrap_or(0);
            if n > 0 {
                std::ptr::copy_nonoverlapping(v.data, out, n);
            }
        }
        Ok(())
    }

    /// The vector-Jacobian product of one forward step at the current
    /// inputs, params and step (params do not change).
    pub fn vjp(&mut self, prog: &dyn Program) -> Result<(), RunError> {
        self.differentiated = false;
        let vdesc = self
            .vjp
            .take()
            .ok_or_else(|| RunError::usage("this library has no vector-Jacobian product"))?;
        let r = self.vjp_with(prog, &vdesc);
        self.vjp = Some(vdesc);
        self.differentiated = r.is_ok();
        r
    }

    fn vjp_with(&mut self, prog: &dyn Program, vdesc: &ProgramDesc) -> Result<(), RunError> {
        // The sizes first, from the program's own inputs: the zero
        // cotangents of outputs given none have the outputs' shapes.
        let dims0 = self.bind(&self.desc, &[])?;
        self.init_params(&dims0)?;
        self.zeros
            .resize_with(self.vmap.cotangent_of.len(), || None);
        let mut extra: Vec<Option<Lent>> = Vec::with_capacity(self.vmap.cotangent_of.len());
        for (j, &i) in self.vmap.cotangent_of.iter().enumerate() {
            if let Some(l) = &self.cotangents[i] {
                extra.push(Some(l.clone()));
                continue;
            }
            let decl = &self.desc.outputs[i].decl;
            let shape = bind::resolve_shape(&self.desc, &dims0, decl)?;
            let fits = self.zeros[j]
                .as_ref()
                .is_some_and(|z| Some(z.len()) == bind::byte_size(decl.dtype, &shape));
            if !fits {
                self.zeros[j] = Some(alloc_for(&self.desc, decl, &shape)?);
            }
            let data = self.zeros[j]
                .as_ref()
                .map_or(std::ptr::null(), |z| z.as_ptr());
            extra.push(Some(Lent {
                data,
                dtype: decl.dtype,
                shape,
            }));
        }
        let mut bound = match self.back.take() {
            Some(b) if self.key_is(&b.key, &extra) => b,
            _ => {
                let dims = self.bind(vdesc, &extra).map_err(|e| {
                    // Name the output, not the VJP's internal input.
                    RunError::new(
                        e.exit_code,
                        e.message
                            .replace("input `__cotangent.", "the cotangent of output `"),
                    )
                })?;
                Bound {
                    key: self.key(&extra),
                    stepper: Stepper::new(prog, vdesc, &dims)?,
                    dims,
                }
            }
        };
        let inputs = self.input_ptrs(&extra);
        if let Err(e) = self.params_ready() {
            self.back = Some(bound);
            return Err(e);
        }
        let result = bound
            .stepper
            .step(prog, vdesc, &inputs, &mut self.params, self.step);
        self.dims = dims0;
        self.back = Some(bound);
        result.map(|_| ())
    }

    pub fn param(&self, i: usize) -> Result<View<'_>, RunError> {
        let p = self
            .desc
            .params
            .get(i)
            .ok_or_else(|| RunError::usage(format!("there is no param {i}")))?;
        let shape = self.param_shapes[i].as_ref().ok_or_else(|| {
            RunError::usage(format!(
                "param `{}` has no value yet: its type {} uses sizes that no run has bound",
                p.decl.name,
                self.desc.type_text(&p.decl)
            ))
        })?;
        Ok(View {
            data: self.params[i].as_ptr(),
            dtype: p.decl.dtype,
            shape,
        })
    }

    pub fn output(&self, i: usize) -> Result<View<'_>, RunError> {
        let o = self
            .desc
            .outputs
            .get(i)
            .ok_or_else(|| RunError::usage(format!("there is no output {i}")))?;
        let none = || {
            RunError::usage(format!(
                "output `{}` has no value: run the model first",
                o.decl.name
            ))
        };
        match (o.src, &self.main) {
            (OutputSrc::Step(k), Some(b)) if self.ran => Ok(View {
                data: b.stepper.outputs[k].as_ptr(),
                dtype: o.decl.dtype,
                shape: &b.stepper.step_shapes[k],
            }),
            (OutputSrc::Param(p), _) if self.ran => self.param(p),
            _ => Err(none()),
        }
    }

    fn gradient(&self, k: Option<usize>, what: &str) -> Result<View<'_>, RunError> {
        match (k, &self.back, &self.vjp) {
            (Some(k), Some(b), Some(v)) if self.differentiated => Ok(View {
                data: b.stepper.outputs[k].as_ptr(),
                dtype: v.outputs[k].decl.dtype,
                shape: &b.stepper.step_shapes[k],
            }),
            _ => Err(RunError::usage(format!(
                "{what} has no gradient: call weft_vjp first"
            ))),
        }
    }

    pub fn grad_input(&self, i: usize) -> Result<View<'_>, RunError> {
        let d = self
            .desc
            .inputs
            .get(i)
            .ok_or_else(|| RunError::usage(format!("there is no input {i}")))?;
        if !d.dtype.is_float() {
            return Err(RunError::usage(format!(
                "input `{}` is not floating: it has no gradient",
                d.name
            )));
        }
        self.gradient(self.vmap.grad_input[i], &format!("input `{}`", d.name))
    }

    pub fn grad_param(&self, i: usize) -> Result<View<'_>, RunError> {
        let d = &self
            .desc
            .params
            .get(i)
            .ok_or_else(|| RunError::usage(format!("there is no param {i}")))?
            .decl;
        if !d.dtype.is_float() {
            return Err(RunError::usage(format!(
                "param `{}` is not floating: it has no gradient",
                d.name
            )));
        }
        self.gradient(self.vmap.grad_param[i], &format!("param `{}`", d.name))
    }
}

#[cfg(test)]
mod tests;
