//! The abstract syntax tree of a `.weft` file.
//!
//! The AST is exactly what was written: no name is resolved, no literal is
//! typed, `-3` is `Neg(Int(3))`. Every node carries the byte [`Span`] of the
//! text it came from, tagged with the [`FileId`] of its file, so that a
//! diagnostic can point into any file (the program, a sibling module, the
//! embedded standard library).

/// Which source file a span belongs to. The compiler's source map hands them out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A byte range `start..end` in one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }
    /// The smallest span covering both (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Program {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `use M` (names = None) or `use M.{a, b}` (names = Some).
    Use {
        module: Ident,
        names: Option<Vec<Ident>>,
        span: Span,
    },
    /// `dim N` (the grammar also accepts `dim N, M`: one item per name).
    Dim {
        name: Ident,
        span: Span,
    },
    /// `const NAME = EXPR`; the checker requires EXPR to be a literal (or `-` literal).
    Const {
        name: Ident,
        value: Expr,
        span: Span,
    },
    /// `input NAME: TYPE` (a tensor or record type)
    Input {
        name: Ident,
        ty: Ty,
        span: Span,
    },
    /// `param NAME: TYPE = INIT`, or `param NAME = INIT` (ty = None) where
    /// INIT is `zeros_like(r)`, `ones_like(r)` or `full_like(r, v)`.
    Param {
        name: Ident,
        ty: Option<TypeExpr>,
        init: Expr,
        span: Span,
    },
    /// `param NAME { FIELD: TYPE = INIT .. FIELD { .. } }`: a record param.
    ParamRecord {
        name: Ident,
        fields: Vec<ParamField>,
        span: Span,
    },
    /// `let PAT (: TYPE)? = EXPR`
    Let(Let),
    Fn(FnDef),
    /// `output NAME` (value = None) or `output NAME = EXPR`
    Output {
        name: Ident,
        value: Option<Expr>,
        span: Span,
    },
    /// `update P = EXPR`
    Update {
        name: Ident,
        value: Expr,
        span: Span,
    },
    /// `until EXPR`: the run ends after the first step in which EXPR is true.
    Until {
        value: Expr,
        span: Span,
    },
    /// Placeholder left by syntax-error recovery; its error is already reported.
    Error {
        span: Span,
    },
}

/// A field of a record param.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamField {
    /// `FIELD: TYPE = INIT`
    Leaf {
        name: Ident,
        ty: TypeExpr,
        init: Expr,
    },
    /// `FIELD { .. }`
    Record {
        name: Ident,
        fields: Vec<ParamField>,
    },
}

impl ParamField {
    pub fn name(&self) -> &Ident {
        match self {
            ParamField::Leaf { name, .. } | ParamField::Record { name, .. } => name,
        }
    }
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Use { span, .. }
            | Item::Dim { span, .. }
            | Item::Const { span, .. }
            | Item::Input { span, .. }
            | Item::Param { span, .. }
            | Item::Output { span, .. }
            | Item::Update { span, .. }
            | Item::ParamRecord { span, .. }
            | Item::Until { span, .. }
            | Item::Error { span } => *span,
            Item::Let(l) => l.span,
            Item::Fn(f) => f.span,
        }
    }
}

/// A `let`, at top level or in a function body.
#[derive(Clone, Debug, PartialEq)]
pub struct Let {
    pub pat: Pattern,
    pub ty: Option<Ty>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Pattern {
    Name(Ident),
    /// `(a, b, ..)`; elements may themselves be tuples.
    Tuple(Vec<Pattern>, Span),
}

impl Pattern {
    pub fn span(&self) -> Span {
        match self {
            Pattern::Name(i) => i.span,
            Pattern::Tuple(_, s) => *s,
        }
    }
}

/// `fn NAME[S1, ..](ARG: TYPE, ..) -> TYPE { let ..; EXPR }`
///
/// Extensions beyond the contract: a generic parameter written `..S` stands for
/// any number of axes (`f32[B, ..S]`); a generic parameter used where a dtype
/// goes (`T[N]`) is a dtype parameter; a parameter may have a default value
/// (`axis: i32 = -1`); the result may be a tuple of types.
#[derive(Clone, Debug, PartialEq)]
pub struct FnDef {
    pub name: Ident,
    pub size_params: Vec<SizeParam>,
    pub params: Vec<FnParam>,
    pub ret: RetType,
    pub body: Vec<Let>,
    pub result: Expr,
    pub span: Span,
}

/// `N`, `..S` or `type P` in `fn f[N, ..S, type P]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SizeParam {
    pub name: Ident,
    pub kind: GenericKind,
}

/// What a generic parameter of a function stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenericKind {
    /// `N`: one axis length (or, used where a dtype goes, a dtype).
    Size,
    /// `..S`: a run of zero or more axes.
    Run,
    /// `type P`: any tensor or record type.
    Type,
}

/// `NAME: TYPE` or `NAME: TYPE = DEFAULT`.
#[derive(Clone, Debug, PartialEq)]
pub struct FnParam {
    pub name: Ident,
    pub ty: Ty,
    pub default: Option<Expr>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RetType {
    One(Ty),
    /// `-> (T1, T2, ..)`
    Tuple(Vec<Ty>, Span),
}

/// A written type: a tensor type, or a record type `{w: f32[3], inner: {..}}`
/// (fields in the order written).
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    Tensor(TypeExpr),
    Record(Vec<(Ident, Ty)>, Span),
}

impl Ty {
    pub fn span(&self) -> Span {
        match self {
            Ty::Tensor(t) => t.span,
            Ty::Record(_, s) => *s,
        }
    }
}

/// `DTYPE` or `DTYPE[D1, D2, ..]`. The dtype is an identifier checked later.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub dtype: Ident,
    /// None for plain `f32`; `Some(vec![])` for `f32[]`. Both are scalars.
    pub dims: Option<Vec<DimExpr>>,
    pub span: Span,
}

/// An operator of a size expression in a type's dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DimOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl DimOp {
    pub fn symbol(self) -> &'static str {
        match self {
            DimOp::Add => "+",
            DimOp::Sub => "-",
            DimOp::Mul => "*",
            DimOp::Div => "div",
        }
    }

    /// Binding strength: `*` and `div` bind tighter than `+` and `-`.
    fn precedence(self) -> u8 {
        match self {
            DimOp::Add | DimOp::Sub => 1,
            DimOp::Mul | DimOp::Div => 2,
        }
    }
}

/// A dimension of a tensor type: `4`, `N`, `..S`, or a size expression such as
/// `(H - 3) div 2 + 1` (`*` and `div` bind tighter than `+` and `-`, all
/// left-associative; parentheses only group and leave no node).
#[derive(Clone, Debug, PartialEq)]
pub enum DimExpr {
    Lit(i64, Span),
    Name(Ident),
    /// `..S`: the axes bound to a variadic size parameter.
    Splat(Ident),
    /// `a + b`, `a - b`, `a * b`, `a div b`: a size expression. The span covers the whole expression.
    Bin(DimOp, Box<DimExpr>, Box<DimExpr>, Span),
}

impl DimExpr {
    /// The text it came from. For `Name` and `Splat`, the name's span; a
    /// parenthesised `Lit` or `Bin` includes its parentheses.
    pub fn span(&self) -> Span {
        match self {
            DimExpr::Lit(_, s) | DimExpr::Bin(.., s) => *s,
            DimExpr::Name(i) | DimExpr::Splat(i) => i.span,
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            DimExpr::Bin(op, ..) => op.precedence(),
            _ => u8::MAX,
        }
    }
}

/// As written, with the fewest parentheses that keep the tree:
/// `(H - 3) div 2 + 1`, `N - (M - 1)`, `..S`.
impl std::fmt::Display for DimExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DimExpr::Lit(v, _) => write!(f, "{v}"),
            DimExpr::Name(i) => f.write_str(&i.name),
            DimExpr::Splat(i) => write!(f, "..{}", i.name),
            DimExpr::Bin(op, a, b, _) => {
                // Left-associative: the left operand needs parentheses when it
                // binds more loosely, the right one when not more tightly.
                let p = op.precedence();
                if a.precedence() < p {
                    write!(f, "({a})")?;
                } else {
                    write!(f, "{a}")?;
                }
                write!(f, " {} ", op.symbol())?;
                if b.precedence() <= p {
                    write!(f, "({b})")
                } else {
                    write!(f, "{b}")
                }
            }
        }
    }
}

/// `f32`, `f32[]`, `f32[B, N + 1, ..S]`.
impl std::fmt::Display for TypeExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.dtype.name)?;
        if let Some(dims) = &self.dims {
            f.write_str("[")?;
            for (i, d) in dims.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{d}")?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    /// `%`: NumPy's remainder.
    Rem,
    MatMul,
    Pow,
    /// Logical `and` / `or` of bools.
    And,
    Or,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::MatMul => "@",
            BinOp::Pow => "**",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An integer literal as written (no sign; `-3` is `Neg(Int(3))`).
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A string literal (only `einsum`'s spec takes one).
    Str(String),
    Name(Ident),
    /// `base.member`, e.g. `nn.softmax`.
    Member(Box<Expr>, Ident),
    Neg(Box<Expr>),
    /// Logical `not` of a bool.
    Not(Box<Expr>),
    /// A tensor literal `[a, b, ..]` (items may be nested lists).
    List(Vec<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `callee(args.., key=value, ..)`
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
        kwargs: Vec<(Ident, Expr)>,
    },
    /// `base[i, a:b, ..]`
    Index {
        base: Box<Expr>,
        indices: Vec<IndexItem>,
    },
    /// `(a, b)` or `(a,)`; a parenthesised single expression is not a tuple.
    Tuple(Vec<Expr>),
    /// `{w: a, b: c}`: a record value.
    Record(Vec<(Ident, Expr)>),
    /// Placeholder left by syntax-error recovery.
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub enum IndexItem {
    /// `x[i]`: drops the axis.
    Index(Expr),
    /// `x[a:b]` / `x[a:b:c]`, each part optional: keeps the axis.
    Slice {
        start: Option<Expr>,
        end: Option<Expr>,
        step: Option<Expr>,
        span: Span,
    },
}

/// A syntax error. Codes: E0101 invalid character or token, E0102 unexpected
/// token, E0103 unexpected end of file, E0104 invalid number literal, E0105
/// nesting too deep (more than `weft_grammar::MAX_DEPTH` levels).
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    pub code: &'static str,
    pub message: String,
    pub span: Span,
    /// What the parser would have accepted here (token descriptions).
    pub expected: Vec<String>,
}
