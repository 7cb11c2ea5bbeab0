//! The `.npy` header: a small strict parser for the Python dict literal
//! NumPy writes (`{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`)
//! and its interpretation as a dtype, a byte order, an order flag and a shape.
//!
//! The parser accepts the literal subset NumPy headers use (dicts, tuples,
//! lists, strings, non-negative integers, `True`/`False`/`None`) with
//! Python's rules (`(5)` is not a tuple, trailing commas are allowed),
//! limits nesting depth, and reports errors with their offset.

use super::{DType, NpyError};

/// Nesting depth limit of the header literal (NumPy's own headers use 2).
const MAX_DEPTH: usize = 16;

/// A value of the small Python-literal language of `.npy` headers.
#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Str(String),
    Int(u128),
    Bool(bool),
    None,
    Tuple(Vec<Literal>),
    List(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
}

impl Literal {
    fn describe(&self) -> &'static str {
        match self {
            Literal::Str(_) => "a string",
            Literal::Int(_) => "an integer",
            Literal::Bool(_) => "a boolean",
            Literal::None => "None",
            Literal::Tuple(_) => "a tuple",
            Literal::List(_) => "a list",
            Literal::Dict(_) => "a dict",
        }
    }
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, what: &str) -> NpyError {
        NpyError::new(format!(
            "malformed .npy header: {what} at offset {} of the header",
            self.pos
        ))
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.src.get(self.pos) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.src.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), NpyError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Literal, NpyError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.peek() {
            None => Err(self.err("unexpected end")),
            Some(b'{') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        return Ok(Literal::Dict(items));
                    }
                    let key = self.value(depth + 1)?;
                    self.expect(b':')?;
                    let value = self.value(depth + 1)?;
                    items.push((key, value));
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {}
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            Some(open @ (b'(' | b'[')) => {
                self.pos += 1;
                let close = if open == b'(' { b')' } else { b']' };
                let mut items = Vec::new();
                let mut saw_comma = false;
                loop {
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        break;
                    }
                    items.push(self.value(depth + 1)?);
                    match self.peek() {
                        Some(b',') => {
                            self.pos += 1;
                            saw_comma = true;
                        }
                        Some(c) if c == close => {}
                        _ => return Err(self.err(&format!("expected ',' or '{}'", close as char))),
                    }
                }
                if open == b'[' {
                    Ok(Literal::List(items))
                } else if items.len() == 1 && !saw_comma {
                    // `(5)` is just a parenthesised 5, as in Python.
                    Ok(items.remove(0))
                } else {
                    Ok(Literal::Tuple(items))
                }
            }
            Some(q @ (b'\'' | b'"')) => {
                self.pos += 1;
                let start = self.pos;
                while let Some(&c) = self.src.get(self.pos) {
                    if c == q {
                        let s = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
                        self.pos += 1;
                        return Ok(Literal::Str(s));
                    }
                    if c == b'\n' {
                        return Err(self.err("unterminated string"));
                    }
                    if c == b'\\' {
                        return Err(self.err("unsupported escape in string"));
                    }
                    self.pos += 1;
                }
                Err(self.err("unterminated string"))
            }
            Some(c) if c.is_ascii_digit() => {
                let start = self.pos;
                let mut n: u128 = 0;
                while let Some(&d) = self.src.get(self.pos) {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    n = n
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(u128::from(d - b'0')))
                        .ok_or_else(|| self.err("integer too large"))?;
                    self.pos += 1;
                }
                if self.pos - start > 1 && self.src[start] == b'0' {
                    return Err(self.err("integer with a leading zero"));
                }
                // Python 2 wrote long integers as `3L`.
                if matches!(self.src.get(self.pos), Some(b'L' | b'l')) {
                    self.pos += 1;
                }
                Ok(Literal::Int(n))
            }
            Some(b'-') => {
                self.pos += 1;
                match self.peek() {
                    Some(c) if c.is_ascii_digit() => Err(self.err("negative integer")),
                    _ => Err(self.err("unexpected '-'")),
                }
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.pos;
                while let Some(&d) = self.src.get(self.pos) {
                    if d.is_ascii_alphanumeric() || d == b'_' {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                match &self.src[start..self.pos] {
                    b"True" => Ok(Literal::Bool(true)),
                    b"False" => Ok(Literal::Bool(false)),
                    b"None" => Ok(Literal::None),
                    _ => {
                        self.pos = start;
                        Err(self.err("unexpected name"))
                    }
                }
            }
            Some(c) => Err(self.err(&format!("unexpected character {:?}", c as char))),
        }
    }
}

/// What the header of a `.npy` file says about its data.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Header {
    pub dtype: DType,
    pub big_endian: bool,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
}

/// Interprets a type string such as `<f4` or `>i8`.
fn parse_descr(descr: &str) -> Result<(DType, bool), NpyError> {
    let unsupported = || {
        NpyError::new(format!(
            "unsupported dtype '{descr}' (weft reads f2, f4, f8, i4, i8, b1 and u1)"
        ))
    };
    let (order, code) = match descr.as_bytes().first() {
        Some(b'<' | b'=' | b'|') => (Some(b'<'), &descr[1..]),
        Some(b'>') => (Some(b'>'), &descr[1..]),
        _ => (None, descr),
    };
    let dtype = match code {
        "f2" | "e" => DType::F16,
        "f4" | "f" => DType::F32,
        "f8" | "d" => DType::F64,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "b1" | "?" => DType::Bool,
        "u1" | "B" => DType::U8,
        _ => return Err(unsupported()),
    };
    Ok((dtype, order == Some(b'>') && dtype.itemsize() > 1))
}

/// Parses the header text (the dict literal plus padding).
pub(super) fn parse_header(text: &[u8]) -> Result<Header, NpyError> {
    let mut parser = Parser { src: text, pos: 0 };
    let value = parser.value(0)?;
    if parser.peek().is_some() {
        return Err(parser.err("unexpected text after the header dict"));
    }
    let Literal::Dict(items) = value else {
        return Err(NpyError::new(format!(
            "malformed .npy header: expected a dict, found {}",
            value.describe()
        )));
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (key, value) in items {
        let Literal::Str(key) = key else {
            return Err(NpyError::new(format!(
                "malformed .npy header: a key is {}, not a string",
                key.describe()
            )));
        };
        let slot = match key.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran,
            "shape" => &mut shape,
            _ => {
                return Err(NpyError::new(format!(
                    "malformed .npy header: unexpected key '{key}'"
                )))
            }
        };
        if slot.replace(value).is_some() {
            return Err(NpyError::new(format!(
                "malformed .npy header: key '{key}' appears twice"
            )));
        }
    }
    let missing = |k: &str| NpyError::new(format!("malformed .npy header: no '{k}' key"));
    let (dtype, big_endian) = match descr.ok_or_else(|| missing("descr"))? {
        Literal::Str(s) => parse_descr(&s)?,
        Literal::List(_) => {
            return Err(NpyError::new(
                "unsupported dtype: structured (record) arrays are not supported",
            ))
        }
        other => {
            return Err(NpyError::new(format!(
                "malformed .npy header: 'descr' is {}, not a string",
                other.describe()
            )))
        }
    };
    let fortran_order = match fortran.ok_or_else(|| missing("fortran_order"))? {
        Literal::Bool(b) => b,
        other => {
            return Err(NpyError::new(format!(
                "malformed .npy header: 'fortran_order' is {}, not True or False",
                other.describe()
            )))
        }
    };
    let shape = match shape.ok_or_else(|| missing("shape"))? {
        Literal::Tuple(dims) => dims
            .into_iter()
            .map(|d| match d {
                Literal::Int(n) => usize::try_from(n)
                    .map_err(|_| NpyError::new(format!("shape dimension {n} is too large"))),
                other => Err(NpyError::new(format!(
                    "malformed .npy header: a shape dimension is {}, not an integer",
                    other.describe()
                ))),
            })
            .collect::<Result<Vec<usize>, NpyError>>()?,
        other => {
            return Err(NpyError::new(format!(
                "malformed .npy header: 'shape' is {}, not a tuple",
                other.describe()
            )))
        }
    };
    Ok(Header {
        dtype,
        big_endian,
        fortran_order,
        shape,
    })
}
