//! E03xx: types and shapes (`compiler/src/front/elab/`).
//!
//! Each entry's `wrong` program is checked to report its code and its `fixed`
//! program to check cleanly (see the tests in `codes.rs`).

use super::CodeInfo;

pub(super) const E0301: CodeInfo = CodeInfo {
    code: "E0301",
    title: "unknown dtype",
    explanation:
        "A type starts with a name that is not a dtype. The dtypes are `f32`, `f64`, `f16`, \
         `bf16`, `i32`, `i64` and `bool` (NumPy's `float32` is spelled `f32`, `int64` is \
         `i64`). Inside a function, a dtype parameter declared in its brackets may also be \
         used.",
    wrong: r#"dim B
input x: float32[B, 3]
output y = relu(x)
"#,
    fixed: r#"dim B
input x: f32[B, 3]
output y = relu(x)
"#,
};

pub(super) const E0302: CodeInfo = CodeInfo {
    code: "E0302",
    title: "shapes do not broadcast",
    explanation:
        "Two shapes do not broadcast. weft follows NumPy: the shapes are aligned at their \
         trailing axes, and two aligned axes are compatible when they are equal (the same \
         literal, or the same size name) or when one of them is the literal 1; a missing \
         leading axis counts as 1. Size names are rigid: `B` is never equal to `4` or to \
         another name `N`. The note names the axis that disagrees; insert a unit axis with \
         `expand_dims`, or fix the operand's shape. `broadcast_to(x, SHAPE)` follows the same \
         rule.",
    wrong: r#"dim B
input x: f32[B, 3]
input m: f32[B]
output centred = x - m
"#,
    fixed: r#"dim B
input x: f32[B, 3]
input m: f32[B]
output centred = x - expand_dims(m, 1)
"#,
};

pub(super) const E0303: CodeInfo = CodeInfo {
    code: "E0303",
    title: "mismatched dtypes",
    explanation:
        "The operands have different dtypes. weft has no implicit promotion between tensor \
         dtypes: `f32 + f64`, `f32 @ f16` or `i32 * i64` is an error, and so is an integer or \
         bool literal that meets a tensor of a dtype it cannot take (a bool literal meeting \
         `f32`, a number meeting `bool`). The same holds for `where`, `concat` and `stack`. \
         Convert one side explicitly with `cast(x, DTYPE)`.",
    wrong: r#"input x: f64[3]
param w: f32[3] = ones()
output y = x * w
"#,
    fixed: r#"input x: f64[3]
param w: f32[3] = ones()
output y = cast(x, f32) * w
"#,
};

pub(super) const E0304: CodeInfo = CodeInfo {
    code: "E0304",
    title: "a float literal meets an integer tensor",
    explanation: "A numeric literal is weak: it takes the dtype of the tensor it meets. A float \
         literal cannot become an integer dtype, so `n * 0.5` with an `i32` tensor `n` is an \
         error rather than a silent promotion (also when the literal is passed to a function \
         parameter of an integer type). Write an integer literal, or convert the tensor \
         first: `cast(n, f32) * 0.5`.",
    wrong: r#"input n: i32[4]
output half = n * 0.5
"#,
    fixed: r#"input n: i32[4]
output half = cast(n, f32) * 0.5
"#,
};

pub(super) const E0305: CodeInfo = CodeInfo {
    code: "E0305",
    title: "operation not defined on this dtype",
    explanation: "The operation does not accept the operand's dtype: arithmetic on `bool`, `/` on \
         integer tensors (weft does not promote integers to floats), a float-only function \
         such as `exp`, `sqrt` or `mean` on integers, a non-bool condition in `where`, \
         non-integer labels for `one_hot` or indices for `gather`, or a creation function \
         asked for a dtype it cannot give. Convert explicitly with `cast(x, f32)` (or \
         `cast(x, i32)`), or compare to get a bool condition.",
    wrong: r#"input n: i32[4]
output ratio = n / 2
"#,
    fixed: r#"input n: i32[4]
output ratio = cast(n, f32) / 2.0
"#,
};

pub(super) const E0306: CodeInfo = CodeInfo {
    code: "E0306",
    title: "invalid matmul operands",
    explanation:
        "`a @ b` (and `matmul(a, b)`) follows NumPy: both operands have rank at least 1, the \
         last axis of `a` is contracted with the second-to-last axis of `b` (a 1-D operand is \
         promoted to a matrix), and those two axes must be equal; leading batch axes \
         broadcast. A common cause is a weight stored as `[out, in]` (PyTorch's layout) where \
         weft's `x @ w` wants `[in, out]`: use `transpose(w)`, or declare the weight the \
         other way round. To scale by a scalar, use `*`.",
    wrong: r#"dim B
input x: f32[B, 64]
param w: f32[32, 64] = normal(0.0, 0.1, seed=4)
output y = x @ w
"#,
    fixed: r#"dim B
input x: f32[B, 64]
param w: f32[32, 64] = normal(0.0, 0.1, seed=4)
output y = x @ transpose(w)
"#,
};

pub(super) const E0307: CodeInfo = CodeInfo {
    code: "E0307",
    title: "invalid axis",
    explanation:
        "An axis argument does not fit the tensor: it is out of range (for a tensor of rank r \
         the valid axes are -r to r-1, negative ones counting from the end), it is repeated, \
         a `transpose` permutation does not list every axis exactly once, `squeeze` is asked \
         to remove an axis whose length is not 1, or the operand is a scalar with no axes at \
         all. Check the tensor's rank in the label.",
    wrong: r#"dim B
input x: f32[B, 4]
output s = sum(x, axis=2)
"#,
    fixed: r#"dim B
input x: f32[B, 4]
output s = sum(x, axis=-1)
"#,
};

pub(super) const E0308: CodeInfo = CodeInfo {
    code: "E0308",
    title: "invalid index or slice",
    explanation:
        "An index or slice does not fit the tensor. Indices and slice bounds are compile-time \
         integers; on an axis of literal length n an index must lie in -n..n-1 and a slice \
         bound in -n..n, a slice step must be positive, there can be no more indices than \
         axes, and only tensors can be indexed. An axis whose length is a size name can be \
         indexed with an integer or taken whole with `:`, but not sliced with bounds, since \
         the result's length would not be a size a type can express. `gather` needs a table \
         of rank at least 1.",
    wrong: r#"input x: f32[3]
output last = x[3]
"#,
    fixed: r#"input x: f32[3]
output last = x[-1]
"#,
};

pub(super) const E0309: CodeInfo = CodeInfo {
    code: "E0309",
    title: "invalid reshape",
    explanation:
        "`reshape` keeps every element, so the product of the new axis lengths must equal the \
         product of the old ones (size names count as factors: `f32[B, 4]` has `4·B` \
         elements). At most one `-1` may stand for the axis to infer, and it must come out as \
         a single whole size. Fix the target shape, or let `-1` infer one axis.",
    wrong: r#"input x: f32[2, 6]
output y = reshape(x, (4, 4))
"#,
    fixed: r#"input x: f32[2, 6]
output y = reshape(x, (4, -1))
"#,
};

pub(super) const E0310: CodeInfo = CodeInfo {
    code: "E0310",
    title: "the value does not have the declared type",
    explanation: "A value is checked against a type written in the program and differs from it in \
         dtype or shape: a `let NAME: TYPE = ..`, a function's result (its declared result \
         type, or its tuple of types), and an `update`, which must have exactly its param's \
         type. A weak literal adopts the declared dtype, but nothing else is converted: use \
         `cast` for the dtype, and fix the shape or the declaration. (`full` also reports a \
         fill value that is not a scalar under this code.)",
    wrong: r#"dim B
input x: f32[B, 4]
param w: f32[4, 8] = normal(0.0, 0.1, seed=1)
let h: f32[B, 16] = x @ w
output h
"#,
    fixed: r#"dim B
input x: f32[B, 4]
param w: f32[4, 8] = normal(0.0, 0.1, seed=1)
let h: f32[B, 8] = x @ w
output h
"#,
};

pub(super) const E0311: CodeInfo = CodeInfo {
    code: "E0311",
    title: "argument does not match the parameter type",
    explanation:
        "An argument of a call to a user `fn` does not match the parameter's declared type: a \
         wrong dtype, a wrong number of axes, an axis that differs from a literal or a `dim` \
         in the type, a literal where a tensor is needed, or a size parameter bound to two \
         different sizes. Size parameters are bound by unification at each call, and each \
         takes one value per call: in `dense(x, w)` below, `I` is 4 from `x` and cannot also \
         be 5 from `w`. Fix the argument, or `cast` it for a dtype.",
    wrong: r#"fn dense[N, I, O](x: f32[N, I], w: f32[I, O]) -> f32[N, O] {
    x @ w
}
input x: f32[8, 4]
param w: f32[5, 3] = normal(0.0, 0.1, seed=1)
output y = dense(x, w)
"#,
    fixed: r#"fn dense[N, I, O](x: f32[N, I], w: f32[I, O]) -> f32[N, O] {
    x @ w
}
input x: f32[8, 4]
param w: f32[4, 3] = normal(0.0, 0.1, seed=1)
output y = dense(x, w)
"#,
};

pub(super) const E0312: CodeInfo = CodeInfo {
    code: "E0312",
    title: "invalid use of grad",
    explanation:
        "`grad(y, x)` differentiates a floating scalar tensor `y` with respect to `x`, which \
         must be a name (or a tuple of names) of floating tensors: an `input`, a `param` or a \
         `let`. Reduce a non-scalar loss first with `sum` or `mean`, bind an expression with \
         `let` before differentiating with respect to it, and `cast` integer values to a \
         float dtype.",
    wrong: r#"input x: f32[3]
param w: f32[3] = ones()
let loss = (x * w - 1.0) ** 2.0
let g = grad(loss, w)
update w = w - 0.1 * g
output loss
"#,
    fixed: r#"input x: f32[3]
param w: f32[3] = ones()
let loss = mean((x * w - 1.0) ** 2.0)
let g = grad(loss, w)
update w = w - 0.1 * g
output loss
"#,
};

pub(super) const E0313: CodeInfo = CodeInfo {
    code: "E0313",
    title: "expected a tensor, or a tuple of the right form",
    explanation: "A value has the wrong structure for where it is used: a tuple where a tensor is \
         needed (an `output`, an operand, a call argument), something that is not a tuple \
         where a tuple is needed (a destructuring `let (a, b) = ..`, the first argument of \
         `concat` or `stack`), or a pattern whose number of names differs from the tuple's \
         length. `grad` over a tuple of names gives a tuple: destructure it and use each \
         part.",
    wrong: r#"input x: f32[3]
param w: f32[3] = ones()
param b: f32[3] = zeros()
let loss = sum((w * x + b) ** 2.0)
output grads = grad(loss, (w, b))
"#,
    fixed: r#"input x: f32[3]
param w: f32[3] = ones()
param b: f32[3] = zeros()
let loss = sum((w * x + b) ** 2.0)
let (gw, gb) = grad(loss, (w, b))
output gw
output gb
"#,
};

pub(super) const E0314: CodeInfo = CodeInfo {
    code: "E0314",
    title: "a compile-time value is needed",
    explanation:
        "The argument must be known when the program is compiled, since it decides the types \
         of the result: axes, indices, slice bounds, shapes and sizes, seeds, the bounds of \
         random creation functions, and `keepdims=` must be literals, `const`s or sizes, not \
         run-time tensors. Sizes must be non-negative and seeds must not be negative; \
         `argmax` over all axes of a tensor whose length is not a single size needs `axis=`. \
         Use a literal or a `const` (which `--set` can still override).",
    wrong: r#"dim B
input x: f32[B, 4]
input k: i32
output s = sum(x, axis=k)
"#,
    fixed: r#"const k = 1
dim B
input x: f32[B, 4]
output s = sum(x, axis=k)
"#,
};

pub(super) const E0315: CodeInfo = CodeInfo {
    code: "E0315",
    title: "tensors cannot be concatenated or stacked",
    explanation:
        "`concat((a, b, ..), axis=K)` needs tensors with the same number of axes and equal \
         lengths on every axis but `K`, and `K` itself must have a literal length in each of \
         them (a sum of size names is not a size a type can express). `stack` needs tensors \
         of exactly one shape. Reshape or `expand_dims` the parts until they line up.",
    wrong: r#"dim B
input a: f32[B, 3]
input b: f32[B]
output c = concat((a, b), axis=1)
"#,
    fixed: r#"dim B
input a: f32[B, 3]
input b: f32[B]
output c = concat((a, expand_dims(b, 1)), axis=1)
"#,
};

pub(super) const E0316: CodeInfo = CodeInfo {
    code: "E0316",
    title: "invalid param initialiser",
    explanation:
        "A `param`'s initialiser is a creation call whose shape is taken from the param's \
         type: `zeros()`, `ones()`, `full(VALUE)`, `normal(MEAN, STD, seed=K)`, `uniform(LO, \
         HI, seed=K)` or `arange()`, with literal or `const` arguments. Do not repeat the \
         shape as an argument, and do not compute the initial value from other tensors. \
         Random initialisers need a float param and a non-negative standard deviation; a \
         param's value can also come from a file at run time with `--param NAME=FILE.npy`.",
    wrong: r#"param w: f32[4, 4] = normal((4, 4), 0.0, 0.1, seed=1)
output w
"#,
    fixed: r#"param w: f32[4, 4] = normal(0.0, 0.1, seed=1)
output w
"#,
};

pub(super) const E0318: CodeInfo = CodeInfo {
    code: "E0318",
    title: "expected a dtype",
    explanation: "The argument must be a dtype name (`f32`, `f64`, `f16`, `bf16`, `i32`, `i64`, \
         `bool`): the second argument of `cast`, and the `dtype=` keyword of creation \
         functions and `one_hot`. A tensor cannot stand for its dtype; write the dtype out.",
    wrong: r#"input x: f32[3]
input y: f64[3]
output z = cast(x, y) + y
"#,
    fixed: r#"input x: f32[3]
input y: f64[3]
output z = cast(x, f64) + y
"#,
};

pub(super) const E0319: CodeInfo = CodeInfo {
    code: "E0319",
    title: "a constant does not fit its dtype",
    explanation: "A literal takes the dtype of the tensor it meets (`i32` or `f32` when it meets \
         none), and it must fit that dtype: `3000000000` is not an `i32`, `1e40` is not an \
         `f32`. Integer literals also fold exactly at compile time, so a constant expression \
         whose value does not fit `i64` (`9223372036854775807 + 1`) is an error. weft never \
         wraps or rounds a constant silently; at run time, integer tensors wrap like NumPy's. \
         Convert the tensor to a wider dtype (`cast(x, i64)`, `cast(x, f64)`), or use a smaller \
         value.",
    wrong: r#"input x: i32[3]
output y = x + 3000000000
"#,
    fixed: r#"input x: i32[3]
output y = cast(x, i64) + 3000000000
"#,
};
