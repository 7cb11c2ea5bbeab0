//! [`Tensor`]: the interpreter's run-time value, one `ndarray` array per
//! supported dtype, with conversions to and from the runtime's `.npy` arrays.
//!
//! `f16`/`bf16` are not supported by the interpreter yet: a program that uses
//! them is refused with a clear [`RunError`] before it runs. No conversion
//! between dtypes happens here: a `.npy` file of the wrong dtype is an error
//! raised by the driver, which knows the declared type.

use ndarray::{ArrayD, IxDyn};
use weft_runtime::npy::{Data, NpyArray};
use weft_runtime::RunError;

use super::dims::{shape_text, ConcreteType};
use crate::ir::types::DType;

/// A dense tensor value.
#[derive(Clone, Debug, PartialEq)]
pub enum Tensor {
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
    I32(ArrayD<i32>),
    I64(ArrayD<i64>),
    U8(ArrayD<u8>),
    Bool(ArrayD<bool>),
}

/// Applies one expression to the array inside a tensor, whatever its dtype.
macro_rules! each {
    ($t:expr, $a:ident => $e:expr) => {
        match $t {
            Tensor::F32($a) => $e,
            Tensor::F64($a) => $e,
            Tensor::I32($a) => $e,
            Tensor::I64($a) => $e,
            Tensor::U8($a) => $e,
            Tensor::Bool($a) => $e,
        }
    };
}

/// Like [`each`], wrapping the resulting array back in the same variant.
macro_rules! map_same {
    ($t:expr, $a:ident => $e:expr) => {
        match $t {
            Tensor::F32($a) => Tensor::F32($e),
            Tensor::F64($a) => Tensor::F64($e),
            Tensor::I32($a) => Tensor::I32($e),
            Tensor::I64($a) => Tensor::I64($e),
            Tensor::U8($a) => Tensor::U8($e),
            Tensor::Bool($a) => Tensor::Bool($e),
        }
    };
}
pub(crate) use map_same;

/// The message for programs that use half-precision dtypes.
pub fn f16_unsupported(d: DType) -> RunError {
    RunError {
        exit_code: super::EXIT_UNSUPPORTED,
        message: format!("{d} is not supported by the interpreter yet"),
    }
}

/// Array from a shape and C-order elements; the caller guarantees the count.
pub(crate) fn array<T>(shape: &[usize], v: Vec<T>) -> Result<ArrayD<T>, RunError> {
    ArrayD::from_shape_vec(IxDyn(shape), v)
        .map_err(|e| super::internal(format!("building an array of shape {shape:?}: {e}")))
}

impl Tensor {
    /// The value of a bool scalar (None for anything else).
    pub fn as_bool_scalar(&self) -> Option<bool> {
        match self {
            Tensor::Bool(a) if a.len() == 1 => a.iter().next().copied(),
            _ => None,
        }
    }

    pub fn dtype(&self) -> DType {
        match self {
            Tensor::F32(_) => DType::F32,
            Tensor::F64(_) => DType::F64,
            Tensor::I32(_) => DType::I32,
            Tensor::I64(_) => DType::I64,
            Tensor::U8(_) => DType::U8,
            Tensor::Bool(_) => DType::Bool,
        }
    }

    pub fn shape(&self) -> &[usize] {
        each!(self, a => a.shape())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        each!(self, a => a.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The dtype and shape.
    pub fn concrete_type(&self) -> ConcreteType {
        ConcreteType::new(self.dtype(), self.shape().to_vec())
    }

    /// A scalar (rank-0) tensor.
    pub fn scalar_f32(v: f32) -> Tensor {
        Tensor::F32(ArrayD::from_elem(IxDyn(&[]), v))
    }

    /// A tensor of type `ty` filled with zeros (`false` for bool).
    pub fn zeros(ty: &ConcreteType) -> Result<Tensor, RunError> {
        let sh = IxDyn(&ty.shape);
        Ok(match ty.dtype {
            DType::F32 => Tensor::F32(ArrayD::zeros(sh)),
            DType::F64 => Tensor::F64(ArrayD::zeros(sh)),
            DType::I32 => Tensor::I32(ArrayD::zeros(sh)),
            DType::I64 => Tensor::I64(ArrayD::zeros(sh)),
            DType::U8 => Tensor::U8(ArrayD::zeros(sh)),
            DType::Bool => Tensor::Bool(ArrayD::from_elem(sh, false)),
            d @ (DType::F16 | DType::BF16) => return Err(f16_unsupported(d)),
        })
    }

    /// The elements in C order, as f64 (bool: 0/1; i64 beyond 2^53 rounds).
    /// For tests and messages.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self {
            Tensor::F32(a) => a.iter().map(|&x| f64::from(x)).collect(),
            Tensor::F64(a) => a.iter().copied().collect(),
            Tensor::I32(a) => a.iter().map(|&x| f64::from(x)).collect(),
            Tensor::I64(a) => a.iter().map(|&x| x as f64).collect(),
            Tensor::U8(a) => a.iter().map(|&x| f64::from(x)).collect(),
            Tensor::Bool(a) => a.iter().map(|&x| f64::from(u8::from(x))).collect(),
        }
    }

    /// Converts a `.npy` array. `f16` and `u8` data have no interpreter
    /// tensor: the error names the dtype and shape found.
    pub fn from_npy(arr: NpyArray) -> Result<Tensor, RunError> {
        let NpyArray { shape, data } = arr;
        Ok(match data {
            Data::F32(v) => Tensor::F32(array(&shape, v)?),
            Data::F64(v) => Tensor::F64(array(&shape, v)?),
            Data::I32(v) => Tensor::I32(array(&shape, v)?),
            Data::I64(v) => Tensor::I64(array(&shape, v)?),
            Data::U8(v) => Tensor::U8(array(&shape, v)?),
            Data::Bool(v) => Tensor::Bool(array(&shape, v)?),
            other => {
                return Err(RunError::data(format!(
                    "{}{} data cannot be used by the interpreter",
                    other.dtype(),
                    shape_text(&shape)
                )))
            }
        })
    }

    /// The `.npy` form: shape and elements in C order.
    pub fn to_npy(&self) -> NpyArray {
        fn elems<T: Clone>(a: &ArrayD<T>) -> Vec<T> {
            a.iter().cloned().collect()
        }
        let data = match self {
            Tensor::F32(a) => Data::F32(elems(a)),
            Tensor::F64(a) => Data::F64(elems(a)),
            Tensor::I32(a) => Data::I32(elems(a)),
            Tensor::I64(a) => Data::I64(elems(a)),
            Tensor::U8(a) => Data::U8(elems(a)),
            Tensor::Bool(a) => Data::Bool(elems(a)),
        };
        NpyArray {
            shape: self.shape().to_vec(),
            data,
        }
    }
}

/// The weft dtype of a `.npy` dtype (`u8` has none).
pub fn npy_dtype(d: weft_runtime::npy::DType) -> Option<DType> {
    use weft_runtime::npy::DType as N;
    Some(match d {
        N::F16 => DType::F16,
        N::F32 => DType::F32,
        N::F64 => DType::F64,
        N::I32 => DType::I32,
        N::I64 => DType::I64,
        N::Bool => DType::Bool,
        N::U8 => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip() {
        let arr = NpyArray {
            shape: vec![2, 3],
            data: Data::I64(vec![1, 2, 3, 4, 5, 6]),
        };
        let t = Tensor::from_npy(arr.clone()).expect("i64 is supported");
        assert_eq!(t.dtype(), DType::I64);
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.to_npy(), arr);
        let scalar = NpyArray {
            shape: vec![],
            data: Data::Bool(vec![true]),
        };
        let t = Tensor::from_npy(scalar.clone()).expect("bool is supported");
        assert_eq!(t.shape(), &[] as &[usize]);
        assert_eq!(t.to_npy(), scalar);
    }

    #[test]
    fn transposed_tensor_writes_c_order() {
        let a = array(&[2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).expect("count");
        let t = Tensor::F32(a.reversed_axes());
        assert_eq!(
            t.to_npy().data,
            Data::F32(vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0])
        );
    }

    #[test]
    fn half_data_is_refused() {
        let arr = NpyArray {
            shape: vec![2],
            data: Data::F16(vec![0, 0]),
        };
        let e = Tensor::from_npy(arr).expect_err("f16 refused");
        assert_eq!(e.exit_code, 3);
        assert!(e.message.contains("f16[2]"), "{}", e.message);
        let e = Tensor::zeros(&ConcreteType::scalar(DType::BF16)).expect_err("bf16");
        assert!(e
            .message
            .contains("bf16 is not supported by the interpreter yet"));
    }
}
