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
         lengths on every axis but `K`; the result's length along `K` is the sum of theirs \
         (`N + M` for size names). `stack` needs tensors of exactly one shape. Reshape or \
         `expand_dims` the parts until they line up.",
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

pub(super) const E0320: CodeInfo = CodeInfo {
    code: "E0320",
    title: "a tensor has more axes than weft supports",
    explanation: "weft runs tensors of at most 64 axes, as NumPy since 2.0 and the `.npy` \
         format do; a type, a broadcast or an `expand_dims` that makes a tensor of higher \
         rank is refused at compile time rather than failing when the program runs. Merge \
         axes with `reshape`.",
    wrong: r#"input x: f32[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
output y = x
"#,
    fixed: r#"input x: f32[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
output y = x
"#,
};

pub(super) const E0321: CodeInfo = CodeInfo {
    code: "E0321",
    title: "the program is too large once its functions are inlined",
    explanation: "weft inlines every user function at each call. Calls nested more than 64 \
         deep, or a program that grows past 1,000,000 operations (each function calling the \
         one before twice doubles the size at every level), is refused with this error \
         rather than exhausting memory. Compute a value once and reuse it with `let` \
         instead of calling a function on it several times, and keep call chains short.",
    wrong: r#"fn f0(x: f32) -> f32 { x + 1.0 }
fn f1(x: f32) -> f32 { f0(x) }
fn f2(x: f32) -> f32 { f1(x) }
fn f3(x: f32) -> f32 { f2(x) }
fn f4(x: f32) -> f32 { f3(x) }
fn f5(x: f32) -> f32 { f4(x) }
fn f6(x: f32) -> f32 { f5(x) }
fn f7(x: f32) -> f32 { f6(x) }
fn f8(x: f32) -> f32 { f7(x) }
fn f9(x: f32) -> f32 { f8(x) }
fn f10(x: f32) -> f32 { f9(x) }
fn f11(x: f32) -> f32 { f10(x) }
fn f12(x: f32) -> f32 { f11(x) }
fn f13(x: f32) -> f32 { f12(x) }
fn f14(x: f32) -> f32 { f13(x) }
fn f15(x: f32) -> f32 { f14(x) }
fn f16(x: f32) -> f32 { f15(x) }
fn f17(x: f32) -> f32 { f16(x) }
fn f18(x: f32) -> f32 { f17(x) }
fn f19(x: f32) -> f32 { f18(x) }
fn f20(x: f32) -> f32 { f19(x) }
fn f21(x: f32) -> f32 { f20(x) }
fn f22(x: f32) -> f32 { f21(x) }
fn f23(x: f32) -> f32 { f22(x) }
fn f24(x: f32) -> f32 { f23(x) }
fn f25(x: f32) -> f32 { f24(x) }
fn f26(x: f32) -> f32 { f25(x) }
fn f27(x: f32) -> f32 { f26(x) }
fn f28(x: f32) -> f32 { f27(x) }
fn f29(x: f32) -> f32 { f28(x) }
fn f30(x: f32) -> f32 { f29(x) }
fn f31(x: f32) -> f32 { f30(x) }
fn f32(x: f32) -> f32 { f31(x) }
fn f33(x: f32) -> f32 { f32(x) }
fn f34(x: f32) -> f32 { f33(x) }
fn f35(x: f32) -> f32 { f34(x) }
fn f36(x: f32) -> f32 { f35(x) }
fn f37(x: f32) -> f32 { f36(x) }
fn f38(x: f32) -> f32 { f37(x) }
fn f39(x: f32) -> f32 { f38(x) }
fn f40(x: f32) -> f32 { f39(x) }
fn f41(x: f32) -> f32 { f40(x) }
fn f42(x: f32) -> f32 { f41(x) }
fn f43(x: f32) -> f32 { f42(x) }
fn f44(x: f32) -> f32 { f43(x) }
fn f45(x: f32) -> f32 { f44(x) }
fn f46(x: f32) -> f32 { f45(x) }
fn f47(x: f32) -> f32 { f46(x) }
fn f48(x: f32) -> f32 { f47(x) }
fn f49(x: f32) -> f32 { f48(x) }
fn f50(x: f32) -> f32 { f49(x) }
fn f51(x: f32) -> f32 { f50(x) }
fn f52(x: f32) -> f32 { f51(x) }
fn f53(x: f32) -> f32 { f52(x) }
fn f54(x: f32) -> f32 { f53(x) }
fn f55(x: f32) -> f32 { f54(x) }
fn f56(x: f32) -> f32 { f55(x) }
fn f57(x: f32) -> f32 { f56(x) }
fn f58(x: f32) -> f32 { f57(x) }
fn f59(x: f32) -> f32 { f58(x) }
fn f60(x: f32) -> f32 { f59(x) }
fn f61(x: f32) -> f32 { f60(x) }
fn f62(x: f32) -> f32 { f61(x) }
fn f63(x: f32) -> f32 { f62(x) }
fn f64(x: f32) -> f32 { f63(x) }
fn f65(x: f32) -> f32 { f64(x) }
input x: f32
output y = f65(x)
"#,
    fixed: r#"fn f0(x: f32) -> f32 { x + 1.0 }
fn f1(x: f32) -> f32 { f0(x) }
fn f2(x: f32) -> f32 { f1(x) }
input x: f32
output y = f2(x)
"#,
};
