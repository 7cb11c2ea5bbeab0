//! A library's model (docs/embedding.md): one instance of a built program
//! that a caller drives through the C API (`weft-runtime-lib`) — params
//! owned and kept between runs, inputs and cotangents borrowed from the
//! caller's memory, outputs and gradients readable in place.
//!
//! Binding goes through [`bind::bind_shapes`] and steps through
//! [`Stepper`], so a library reports bad data with the executables'
//! messages and computes exactly what they compute.

use std::ffi::c_void;

use crate::bind;
use crate::buf::AlignedBuf;
use crate::driver::Program;
use crate::npy::DType;
use crate::program::{parse_descriptor, ProgramDesc, TensorDecl};
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

/// A value the model owns.
pub struct Owned {
    pub buf: AlignedBuf,
    pub dtype: DType,
    pub shape: Vec<usize>,
}

pub struct Session {
    pub desc: ProgramDesc,
    /// The VJP program's descriptor, when the library has one.
    pub vjp: Option<ProgramDesc>,
    inputs: Vec<Option<Lent>>,
    cotangents: Vec<Option<Lent>>,
    /// Current param values (None: not initialised yet, its sizes unknown).
    params: Vec<Option<Owned>>,
    /// Outputs of the last run, by output index.
    outputs: Vec<Option<Owned>>,
    /// Gradients of the last VJP, by input and by param index.
    grad_inputs: Vec<Option<Owned>>,
    grad_params: Vec<Option<Owned>>,
    /// Sizes of the last binding.
    pub dims: Vec<Option<usize>>,
    /// Steps taken.
    pub step: u64,
}

fn owned_copy(
    desc: &ProgramDesc,
    d: &TensorDecl,
    shape: &[usize],
    bytes: &[u8],
) -> Result<Owned, RunError> {
    let mut buf = alloc_for(desc, d, shape)?;
    let n = buf.len().min(bytes.len());
    buf.bytes_mut()[..n].copy_from_slice(&bytes[..n]);
    Ok(Owned {
        buf,
        dtype: d.dtype,
        shape: shape.to_vec(),
    })
}

fn byte_len(l: &Lent) -> Result<usize, RunError> {
    bind::byte_size(l.dtype, &l.shape).ok_or_else(|| {
        RunError::usage(format!(
            "an array of {} is too large",
            bind::concrete_text(l.dtype, &l.shape)
        ))
    })
}

impl Session {
    /// A model of the program described by `desc` (and `vjp`), its params
    /// initialised where their sizes are literals.
    pub fn new(desc: &[u8], vjp: Option<&[u8]>) -> Result<Session, RunError> {
        let damaged = |e: crate::program::DescError| {
            RunError::new(
                crate::error::EXIT_INTERNAL,
                format!("the library is damaged or was built by another weft: {e}"),
            )
        };
        let desc = parse_descriptor(desc).map_err(damaged)?;
        let vjp = vjp.map(parse_descriptor).transpose().map_err(damaged)?;
        let mut s = Session {
            inputs: vec![None; desc.inputs.len()],
            cotangents: vec![None; desc.outputs.len()],
            params: (0..desc.params.len()).map(|_| None).collect(),
            outputs: (0..desc.outputs.len()).map(|_| None).collect(),
            grad_inputs: (0..desc.inputs.len()).map(|_| None).collect(),
            grad_params: (0..desc.params.len()).map(|_| None).collect(),
            dims: vec![None; desc.n_dims()],
            step: 0,
            desc,
            vjp,
        };
        s.init_params(&vec![None; s.desc.n_dims()])?;
        Ok(s)
    }

    /// Initialises every param without a value whose sizes `dims` binds.
    fn init_params(&mut self, dims: &[Option<usize>]) -> Result<(), RunError> {
        for (i, p) in self.desc.params.iter().enumerate() {
            if self.params[i].is_some() {
                continue;
            }
            let Ok(shape) = bind::resolve_shape(&self.desc, dims, &p.decl) else {
                continue;
            };
            let who = format!("param `{}`", p.decl.name);
            let arr =
                bind::init_value(&p.init, p.decl.dtype, &shape).map_err(|e| e.context(&who))?;
            self.params[i] = Some(Owned {
                buf: copy_in(&arr)?,
                dtype: p.decl.dtype,
                shape,
            });
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

    /// Copies a param's new value in (checked against its type with the
    /// sizes bound so far).
    pub fn set_param(&mut self, i: usize, v: &Lent) -> Result<(), RunError> {
        let p = self
            .desc
            .params
            .get(i)
            .ok_or_else(|| RunError::usage(format!("there is no param {i}")))?;
        let n = byte_len(v)?;
        bind::check_value(
            &self.desc,
            &p.decl,
            &format!("param `{}`", p.decl.name),
            v.dtype,
            &v.shape,
        )?;
        // SAFETY: the caller lends `n` readable bytes at `data` (docs/embedding.md).
        let bytes = unsafe { std::slice::from_raw_parts(v.data, n) };
        self.params[i] = Some(owned_copy(&self.desc, &p.decl, &v.shape, bytes)?);
        Ok(())
    }

    /// The sizes of the inputs and params now.
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
            .params
            .iter()
            .map(|p| p.as_ref().map(|p| (p.dtype, p.shape.as_slice())))
            .collect();
        bind::bind_shapes(desc, &inputs, &params)
    }

    fn take_params(&mut self) -> Result<Vec<AlignedBuf>, RunError> {
        let mut out = Vec::with_capacity(self.params.len());
        for (i, p) in self.params.iter_mut().enumerate() {
            match p.take() {
                Some(o) => out.push(o.buf),
                None => {
                    return Err(RunError::data(format!(
                        "param `{}` has type {}, but its sizes are not bound; set it with weft_set_param",
                        self.desc.params[i].decl.name,
                        self.desc.type_text(&self.desc.params[i].decl)
                    )))
                }
            }
        }
        Ok(out)
    }

    fn give_params(&mut self, bufs: Vec<AlignedBuf>, shapes: &[Vec<usize>]) {
        for (i, b) in bufs.into_iter().enumerate() {
            self.params[i] = Some(Owned {
                buf: b,
                dtype: self.desc.params[i].decl.dtype,
                shape: shapes[i].clone(),
            });
        }
    }

    /// Runs `steps` steps (one when the program's values do not change
    /// from step to step), as the executable does.
    pub fn run(&mut self, prog: &dyn Program, steps: u64) -> Result<(), RunError> {
        let dims = self.bind(&self.desc, &[])?;
        self.init_params(&dims)?;
        let desc = self.desc.clone();
        let mut stepper = Stepper::new(prog, &desc, &dims)?;
        let inputs = self.input_ptrs()?;
        let mut params = self.take_params()?;
        let steps = if desc.steps_matter() { steps.max(1) } else { 1 };
        let mut result = Ok(());
        for _ in 0..steps {
            match stepper.step(prog, &desc, &inputs, &mut params, self.step) {
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
        if result.is_ok() {
            for i in 0..desc.outputs.len() {
                let arr = stepper.output_value(&desc, i, &params);
                self.outputs[i] = Some(Owned {
                    buf: copy_in(&arr)?,
                    dtype: arr.dtype(),
                    shape: arr.shape.clone(),
                });
            }
        }
        self.give_params(params, &stepper.param_shapes);
        self.dims = dims;
        result
    }

    fn input_ptrs(&self) -> Result<Vec<*const c_void>, RunError> {
        Ok(self
            .inputs
            .iter()
            .map(|l| l.as_ref().map_or(std::ptr::null(), |l| l.data.cast()))
            .collect())
    }

    /// The vector-Jacobian product of one forward step at the current
    /// inputs, params and step (params do not change).
    pub fn vjp(&mut self, prog: &dyn Program) -> Result<(), RunError> {
        let vdesc = self.vjp.clone().ok_or_else(|| {
            RunError::usage("this library has no vector-Jacobian product".to_string())
        })?;
        let dims0 = self.bind(&self.desc, &[])?;
        self.init_params(&dims0)?;
        // The cotangents are the VJP program's inputs after the program's own,
        // one per floating output, zero when not given.
        let mut extra: Vec<Option<Lent>> = Vec::new();
        let mut zeros: Vec<AlignedBuf> = Vec::new();
        for d in &vdesc.inputs[self.desc.inputs.len()..] {
            let out_name = d.name.strip_prefix(COTANGENT).unwrap_or(&d.name);
            let i = self
                .desc
                .outputs
                .iter()
                .position(|o| o.decl.name == out_name)
                .ok_or_else(|| {
                    RunError::new(
                        crate::error::EXIT_INTERNAL,
                        format!("the VJP's input `{}` is no output", d.name),
                    )
                })?;
            match &self.cotangents[i] {
                Some(l) => extra.push(Some(Lent {
                    data: l.data,
                    dtype: l.dtype,
                    shape: l.shape.clone(),
                })),
                None => {
                    let shape =
                        bind::resolve_shape(&self.desc, &dims0, &self.desc.outputs[i].decl)?;
                    let z = alloc_for(&vdesc, d, &shape)?;
                    extra.push(Some(Lent {
                        data: z.as_ptr(),
                        dtype: d.dtype,
                        shape,
                    }));
                    zeros.push(z);
                }
            }
        }
        let dims = self.bind(&vdesc, &extra).map_err(|e| {
            // Name the output, not the VJP's internal input.
            RunError::new(
                e.exit_code,
                e.message
                    .replace("input `__cotangent.", "the cotangent of output `"),
            )
        })?;
        let mut stepper = Stepper::new(prog, &vdesc, &dims)?;
        let mut inputs = self.input_ptrs()?;
        inputs.extend(
            extra
                .iter()
                .map(|l| l.as_ref().map_or(std::ptr::null(), |l| l.data.cast())),
        );
        let mut params = self.take_params()?;
        let result = stepper.step(prog, &vdesc, &inputs, &mut params, self.step);
        let shapes: Vec<Vec<usize>> = self
            .desc
            .params
            .iter()
            .map(|p| bind::resolve_shape(&self.desc, &dims0, &p.decl))
            .collect::<Result<_, _>>()?;
        self.give_params(params, &shapes);
        drop(zeros);
        result?;
        let no_params: Vec<AlignedBuf> = Vec::new();
        for g in self
            .grad_inputs
            .iter_mut()
            .chain(self.grad_params.iter_mut())
        {
            *g = None;
        }
        for (k, o) in vdesc.outputs.iter().enumerate() {
            let arr = stepper.output_value(&vdesc, k, &no_params);
            let owned = Owned {
                buf: copy_in(&arr)?,
                dtype: arr.dtype(),
                shape: arr.shape.clone(),
            };
            if let Some(name) = o.decl.name.strip_prefix(GRAD_INPUT) {
                if let Some(i) = self.desc.inputs.iter().position(|d| d.name == name) {
                    self.grad_inputs[i] = Some(owned);
                }
            } else if let Some(name) = o.decl.name.strip_prefix(GRAD_PARAM) {
                if let Some(i) = self.desc.params.iter().position(|p| p.decl.name == name) {
                    self.grad_params[i] = Some(owned);
                }
            }
        }
        self.dims = dims0;
        Ok(())
    }

    pub fn param(&self, i: usize) -> Result<&Owned, RunError> {
        let p = self
            .desc
            .params
            .get(i)
            .ok_or_else(|| RunError::usage(format!("there is no param {i}")))?;
        self.params[i].as_ref().ok_or_else(|| {
            RunError::usage(format!(
                "param `{}` has no value yet: its type {} uses sizes that no run has bound",
                p.decl.name,
                self.desc.type_text(&p.decl)
            ))
        })
    }

    pub fn output(&self, i: usize) -> Result<&Owned, RunError> {
        let o = self
            .desc
            .outputs
            .get(i)
            .ok_or_else(|| RunError::usage(format!("there is no output {i}")))?;
        self.outputs[i].as_ref().ok_or_else(|| {
            RunError::usage(format!(
                "output `{}` has no value: run the model first",
                o.decl.name
            ))
        })
    }

    pub fn grad_input(&self, i: usize) -> Result<&Owned, RunError> {
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
        self.grad_inputs[i].as_ref().ok_or_else(|| {
            RunError::usage(format!(
                "input `{}` has no gradient: call weft_vjp first",
                d.name
            ))
        })
    }

    pub fn grad_param(&self, i: usize) -> Result<&Owned, RunError> {
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
        self.grad_params[i].as_ref().ok_or_else(|| {
            RunError::usage(format!(
                "param `{}` has no gradient: call weft_vjp first",
                d.name
            ))
        })
    }
}
