//! Run-time sizes: [`DimEnv`] maps each size name (`dim B`) to the length it
//! was bound to, and [`ConcreteType`] is a node's type with every dimension
//! resolved to a number.
//!
//! Resolving a type checks its element count and byte size with checked
//! arithmetic, so that a huge declared size becomes a [`RunError`] before
//! anything is allocated, never an overflow or a panic.

use std::collections::BTreeMap;
use std::fmt;

use weft_runtime::RunError;

use crate::ir::types::{DType, Dim, TensorType};

/// Sizes bound at run time: size name → length.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DimEnv {
    sizes: BTreeMap<String, usize>,
}

impl DimEnv {
    pub fn new() -> DimEnv {
        DimEnv::default()
    }

    /// The length bound to `name`, if any.
    pub fn get(&self, name: &str) -> Option<usize> {
        self.sizes.get(name).copied()
    }

    /// Binds `name` to `n`. When it is already bound to another length,
    /// nothing changes and the earlier length is returned as the error.
    pub fn bind(&mut self, name: &str, n: usize) -> Result<(), usize> {
        match self.sizes.get(name) {
            Some(&old) if old != n => Err(old),
            Some(_) => Ok(()),
            None => {
                self.sizes.insert(name.to_string(), n);
                Ok(())
            }
        }
    }

    /// Every binding, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, usize)> {
        self.sizes.iter().map(|(k, &v)| (k.as_str(), v))
    }

    /// The length of one dimension.
    pub fn resolve_dim(&self, d: &Dim) -> Result<usize, RunError> {
        match d {
            Dim::Lit(n) => usize::try_from(*n)
                .map_err(|_| RunError::data(format!("size {n} is too large for this machine"))),
            Dim::Sym(s) => self.get(s).ok_or_else(|| {
                RunError::data(format!(
                    "size {s} is not bound: no input (or --param file) has it in its type"
                ))
            }),
            Dim::Expr(p) => {
                let unbound = p.names().into_iter().find(|n| self.get(n).is_none());
                if let Some(s) = unbound {
                    return Err(RunError::data(format!(
                        "size {s} is not bound: no input (or --param file) has it in its type"
                    )));
                }
                let v = p
                    .eval(&|n| self.get(n).and_then(|v| i64::try_from(v).ok()))
                    .ok_or_else(|| RunError::data(format!("size {p} overflows")))?;
                usize::try_from(v).ok().filter(|&v| v > 0).ok_or_else(|| {
                    RunError::data(format!("size {p} is {v}: every length must be positive"))
                })
            }
        }
    }

    pub fn resolve_dims(&self, dims: &[Dim]) -> Result<Vec<usize>, RunError> {
        dims.iter().map(|d| self.resolve_dim(d)).collect()
    }

    /// The concrete type of `ty`; fails when a size name is unbound or the
    /// tensor could not be addressed on this machine.
    pub fn resolve(&self, ty: &TensorType) -> Result<ConcreteType, RunError> {
        let shape = self.resolve_dims(&ty.shape)?;
        let ct = ConcreteType {
            dtype: ty.dtype,
            shape,
        };
        ct.byte_size().ok_or_else(|| {
            RunError::data(format!(
                "a value of type {ty} would be {ct}, too large to hold in memory"
            ))
        })?;
        Ok(ct)
    }
}

/// A dtype and a shape of actual lengths.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConcreteType {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl ConcreteType {
    pub fn new(dtype: DType, shape: Vec<usize>) -> ConcreteType {
        ConcreteType { dtype, shape }
    }

    pub fn scalar(dtype: DType) -> ConcreteType {
        ConcreteType {
            dtype,
            shape: Vec::new(),
        }
    }

    /// The number of elements, or None on overflow.
    pub fn numel(&self) -> Option<usize> {
        checked_numel(&self.shape)
    }

    /// The number of bytes, or None when it exceeds `isize::MAX` (the most a
    /// Rust allocation may hold).
    pub fn byte_size(&self) -> Option<usize> {
        let n = self.numel()?.checked_mul(itemsize(self.dtype))?;
        (n <= isize::MAX as usize).then_some(n)
    }
}

impl fmt::Display for ConcreteType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dtype)?;
        if !self.shape.is_empty() {
            write!(f, "{}", shape_text(&self.shape))?;
        }
        Ok(())
    }
}

/// `[6, 4]`.
pub fn shape_text(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// The product of `shape`, or None on overflow.
pub fn checked_numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Bytes per element as the interpreter stores it.
pub fn itemsize(d: DType) -> usize {
    match d {
        DType::F16 | DType::BF16 => 2,
        DType::F32 | DType::I32 => 4,
        DType::F64 | DType::I64 => 8,
        DType::Bool | DType::U8 => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_and_resolve() {
        let mut env = DimEnv::new();
        assert_eq!(env.bind("B", 6), Ok(()));
        assert_eq!(env.bind("B", 6), Ok(()));
        assert_eq!(env.bind("B", 5), Err(6));
        let ty = TensorType::new(DType::F32, vec![Dim::sym("B"), Dim::Lit(4)]);
        let ct = env.resolve(&ty).expect("bound");
        assert_eq!(ct.to_string(), "f32[6, 4]");
        let unbound = TensorType::new(DType::F32, vec![Dim::sym("H")]);
        let e = env.resolve(&unbound).expect_err("unbound");
        assert_eq!(e.exit_code, 3);
        assert!(e.message.contains("size H is not bound"), "{}", e.message);
    }

    #[test]
    fn huge_sizes_are_errors() {
        let mut env = DimEnv::new();
        env.bind("N", usize::MAX / 2).expect("fresh");
        let ty = TensorType::new(DType::F64, vec![Dim::sym("N"), Dim::Lit(4)]);
        let e = env.resolve(&ty).expect_err("too large");
        assert!(e.message.contains("too large"), "{}", e.message);
        let ty = TensorType::new(DType::F64, vec![Dim::Lit(1 << 62)]);
        assert!(env.resolve(&ty).is_err());
        assert_eq!(ConcreteType::scalar(DType::I32).numel(), Some(1));
        assert_eq!(
            ConcreteType::new(DType::I32, vec![3, 0]).byte_size(),
            Some(0)
        );
    }
}
