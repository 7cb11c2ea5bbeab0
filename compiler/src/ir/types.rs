//! Dtypes, dimensions, shapes and tensor types, shared by the checker and
//! every IR.
//!
//! A dimension is either a literal size or a *size name* (a `dim` of the
//! program). Size names are rigid: `B` equals only `B`. After checking, every
//! shape is made of these two kinds only; function size parameters have been
//! substituted away.

use std::fmt;
use std::sync::Arc;

pub use super::size::Poly;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    F16,
    BF16,
    F32,
    F64,
    I32,
    I64,
    /// Unsigned bytes (images): arithmetic wraps like NumPy's `uint8`.
    U8,
    Bool,
}

impl DType {
    pub const ALL: [DType; 8] = [
        DType::F16,
        DType::BF16,
        DType::F32,
        DType::F64,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::Bool,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::U8 => "u8",
            DType::Bool => "bool",
        }
    }

    pub fn parse(s: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == s)
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    pub fn is_int(self) -> bool {
        matches!(self, DType::I32 | DType::I64 | DType::U8)
    }

    /// Floats and integers: the dtypes arithmetic is defined on.
    pub fn is_numeric(self) -> bool {
        self.is_float() || self.is_int()
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One axis length: a literal, a size name, or a size expression
/// (`N + M`, `(H - 3) div 2 + 1`; see [`super::size`]).
///
/// `Expr` never holds a constant or a lone size name ([`Dim::from_poly`]
/// makes those `Lit` and `Sym`), so the derived equality is the equality of
/// sizes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    Lit(u64),
    Sym(Arc<str>),
    Expr(Arc<Poly>),
}

impl Dim {
    pub fn sym(name: &str) -> Dim {
        Dim::Sym(Arc::from(name))
    }
    pub fn as_lit(&self) -> Option<u64> {
        match self {
            Dim::Lit(n) => Some(*n),
            Dim::Sym(_) | Dim::Expr(_) => None,
        }
    }
    pub fn is_one(&self) -> bool {
        *self == Dim::Lit(1)
    }

    /// The size as a polynomial.
    pub fn poly(&self) -> Poly {
        match self {
            Dim::Lit(n) => Poly::constant(i64::try_from(*n).unwrap_or(i64::MAX)),
            Dim::Sym(s) => Poly::name(s),
            Dim::Expr(p) => (**p).clone(),
        }
    }

    /// The dimension of a polynomial; None for a negative constant.
    pub fn from_poly(p: Poly) -> Option<Dim> {
        if let Some(c) = p.as_constant() {
            return u64::try_from(c).ok().map(Dim::Lit);
        }
        if let Some(n) = p.as_name() {
            return Some(Dim::Sym(n.clone()));
        }
        Some(Dim::Expr(Arc::new(p)))
    }

    /// The name under which the ABI's `dims` array holds this size (the
    /// size name, or the expression's text); None for a literal.
    pub fn slot_name(&self) -> Option<String> {
        match self {
            Dim::Lit(_) => None,
            Dim::Sym(s) => Some(s.to_string()),
            Dim::Expr(p) => Some(p.to_string()),
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Lit(n) => write!(f, "{n}"),
            Dim::Sym(s) => f.write_str(s),
            Dim::Expr(p) => write!(f, "{p}"),
        }
    }
}

pub type Shape = Vec<Dim>;

/// Writes `[B, 128]`.
pub fn shape_str(shape: &[Dim]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// The number of elements of a shape as a polynomial of its sizes. Two
/// shapes hold the same number of elements for every binding of the size
/// names exactly when these are equal. None on overflow.
pub fn element_count(dims: &[Dim]) -> Option<Poly> {
    let polys: Vec<Poly> = dims.iter().map(Dim::poly).collect();
    Poly::product(&polys)
}

/// The product of `dims` as one dimension (a flattening's length).
pub fn product_dim(dims: &[Dim]) -> Option<Dim> {
    Dim::from_poly(element_count(dims)?)
}

/// A tensor's dtype and shape. A scalar has an empty shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorType {
    pub dtype: DType,
    pub shape: Shape,
}

impl TensorType {
    pub fn new(dtype: DType, shape: Shape) -> TensorType {
        TensorType { dtype, shape }
    }
    pub fn scalar(dtype: DType) -> TensorType {
        TensorType {
            dtype,
            shape: Vec::new(),
        }
    }
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
    pub fn with_dtype(&self, dtype: DType) -> TensorType {
        TensorType {
            dtype,
            shape: self.shape.clone(),
        }
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.shape.is_empty() {
            write!(f, "{}", self.dtype)
        } else {
            write!(f, "{}{}", self.dtype, shape_str(&self.shape))
        }
    }
}

/// A compile-time scalar value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    Float(f64),
    Int(i64),
    Bool(bool),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Float(v) => {
                if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e16 {
                    write!(f, "{v:.1}")
                } else {
                    write!(f, "{v}")
                }
            }
            Scalar::Int(v) => write!(f, "{v}"),
            Scalar::Bool(v) => write!(f, "{v}"),
        }
    }
}

/// NumPy broadcasting of two shapes: trailing axes aligned; equal axes or a
/// literal 1 on one side. On failure, gives the axis (counted from the end,
/// 1-based) that disagrees.
pub fn broadcast_shapes(a: &[Dim], b: &[Dim]) -> Result<Shape, usize> {
    let n = a.len().max(b.len());
    let mut out = vec![Dim::Lit(1); n];
    for i in 0..n {
        let da = if i < a.len() {
            Some(&a[a.len() - 1 - i])
        } else {
            None
        };
        let db = if i < b.len() {
            Some(&b[b.len() - 1 - i])
        } else {
            None
        };
        out[n - 1 - i] = match (da, db) {
            (Some(x), None) | (None, Some(x)) => x.clone(),
            (Some(x), Some(y)) if x == y => x.clone(),
            (Some(x), Some(y)) if x.is_one() => y.clone(),
            (Some(x), Some(y)) if y.is_one() => x.clone(),
            _ => return Err(i + 1),
        };
    }
    Ok(out)
}

/// Whether `from` broadcasts to exactly `to`.
pub fn broadcasts_to(from: &[Dim], to: &[Dim]) -> bool {
    from.len() <= to.len()
        && from
            .iter()
            .rev()
            .zip(to.iter().rev())
            .all(|(f, t)| f == t || f.is_one())
}
