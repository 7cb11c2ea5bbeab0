//! E0322-E0332: records, minibatches, seeds, `until` and collectives (the contract's
//! sections 9, 10 and 13; `compiler/src/front/elab/records.rs`,
//! `elab/builtins/steps.rs`, `elab/items.rs`).
//!
//! Each entry's `wrong` program is checked to report its code and its `fixed`
//! program to check cleanly (see the tests in `codes.rs`).

use super::CodeInfo;

pub(super) const E0322: CodeInfo = CodeInfo {
    code: "E0322",
    title: "records of different types meet",
    explanation: "A record type is its set of field names with their types (the order in \
         which fields are written does not matter). Leaf-wise operations (`a + b`, \
         `exp(r)`, a call of a function with tensor parameters on records), an `update` of \
         a record param, a typed `let` and a function's record parameter all need records \
         of one type: the same field names, each with an equal type. The note names the \
         first field that differs. Build the missing field, drop the extra one, or convert \
         a leaf with `cast`.",
    wrong: r#"param a { w: f32[3] = zeros()
          b: f32[3] = zeros() }
param c { w: f32[3] = zeros() }
output s = a + c
"#,
    fixed: r#"param a { w: f32[3] = zeros()
          b: f32[3] = zeros() }
param c { w: f32[3] = zeros()
          b: f32[3] = ones() }
output s = a + c
"#,
};

pub(super) const E0323: CodeInfo = CodeInfo {
    code: "E0323",
    title: "a record has no field of this name",
    explanation: "`r.name` reads field `name` of record `r`; the record's type lists its \
         fields (the label shows them, and the help a field with a close spelling). Nested \
         fields are read one level at a time: `net.out.w`.",
    wrong: r#"param net { w: f32[2, 2] = ones()
            b: f32[2]    = zeros() }
output y = net.bias
"#,
    fixed: r#"param net { w: f32[2, 2] = ones()
            b: f32[2]    = zeros() }
output y = net.b
"#,
};

pub(super) const E0324: CodeInfo = CodeInfo {
    code: "E0324",
    title: "invalid `batch`",
    explanation: "`batch(X, SIZE)` and `batch((X, Y, ..), SIZE)` pick this step's rows of a \
         dataset: every tensor must be an input, or a value computed from inputs only (not \
         from a param, which changes from step to step), and all of them must share their \
         leading axis (the rows: the same literal length or the same size name), so that \
         row `i` of each belongs to the same example. Give separate datasets separate \
         `batch` calls.",
    wrong: r#"dim N
dim M
input x: f32[N, 4]
input y: i32[M]
let (xb, yb) = batch((x, y), 8)
output s = sum(xb) + cast(sum(yb), f32)
"#,
    fixed: r#"dim N
input x: f32[N, 4]
input y: i32[N]
let (xb, yb) = batch((x, y), 8)
output s = sum(xb) + cast(sum(yb), f32)
"#,
};

pub(super) const E0325: CodeInfo = CodeInfo {
    code: "E0325",
    title: "invalid seed",
    explanation: "The `seed=` of `normal`, `uniform` and `nn.dropout` is a non-negative integer \
         literal or const, or a tuple of them together with `step` and `rank`, so that the \
         random values are a deterministic function of the tuple: `seed=(3, step)` gives new \
         values at each step, the same ones in every run. A value computed at run time \
         (other than `step` and `rank`), a float or a negative number cannot be a seed.",
    wrong: r#"input k: i64
output r = normal((4,), 0.0, 1.0, seed=(1, k))
"#,
    fixed: r#"output r = normal((4,), 0.0, 1.0, seed=(1, step))
"#,
};

pub(super) const E0326: CodeInfo = CodeInfo {
    code: "E0326",
    title: "`until` needs a bool scalar",
    explanation: "`until EXPR` ends the run after the first step in which `EXPR` is true. \
         So `EXPR` must be one `bool`: a comparison of scalars (`until loss < 0.01`), not a \
         number and not a tensor of several values (reduce it first).",
    wrong: r#"param x: f32 = full(10.0)
until x
update x = x * 0.5
output x
"#,
    fixed: r#"param x: f32 = full(10.0)
until x < 0.1
update x = x * 0.5
output x
"#,
};

pub(super) const E0327: CodeInfo = CodeInfo {
    code: "E0327",
    title: "a tensor has more elements than weft supports",
    explanation: "A value whose shape is all literals has more than 2^40 elements (about \
         10^12, 4 TiB of `f32`): no run could hold or compute it, so it is refused when the \
         program is compiled rather than when it runs out of memory or time. Check the sizes; \
         data whose size is known only at run time takes size names (`dim N`), checked \
         against memory when it is bound.",
    wrong: r#"output z = sum(zeros((3000000000, 4000000000)))
"#,
    fixed: r#"output z = sum(zeros((3000, 4000)))
"#,
};

pub(super) const E0328: CodeInfo = CodeInfo {
    code: "E0328",
    title: "convolution operands do not match",
    explanation: "`conv2d(x, w)` takes an input `x: T[N, C, H, W]` and a weight `w: T[O, \
         C/groups, KH, KW]` (PyTorch's layout): both of rank 4, the weight's second axis \
         times `groups` equal to the input's channels, and the output channels `O` \
         divisible by `groups`. A weight written for another layout (channels last, \
         `[KH, KW, C, O]`) or for another layer's channel count is reported here, with \
         both channel counts.",
    wrong: r#"input x: f32[8, 3, 32, 32]
param w: f32[16, 4, 3, 3] = normal(0.0, 0.1, seed=1)
output y = conv2d(x, w, padding=1)
"#,
    fixed: r#"input x: f32[8, 3, 32, 32]
param w: f32[16, 3, 3, 3] = normal(0.0, 0.1, seed=1)
output y = conv2d(x, w, padding=1)
"#,
};

pub(super) const E0329: CodeInfo = CodeInfo {
    code: "E0329",
    title: "a convolution or pooling window does not fit",
    explanation: "A convolution or pooling window must fit the padded input at least once: \
         each output length is `(H + 2·padding − dilation·(K − 1) − 1) div stride + 1`, and \
         an output of length zero is refused at compile time rather than producing an empty \
         tensor. Strides, kernels and dilations are at least 1, padding at least 0, and a \
         pool's padding at most half its window (as in PyTorch). Pad the input, use a \
         smaller kernel, or pool less often.",
    wrong: r#"input x: f32[1, 1, 4, 4]
output y = max_pool2d(max_pool2d(max_pool2d(x, 2), 2), 2)
"#,
    fixed: r#"input x: f32[1, 1, 4, 4]
output y = max_pool2d(max_pool2d(x, 2), 2)
"#,
};

pub(super) const E0330: CodeInfo = CodeInfo {
    code: "E0330",
    title: "an einsum spec does not match its operands",
    explanation: "`einsum(spec, a, b, ..)` names each axis of each operand with a letter: \
         `\"ij,jk->ik\"` is a matrix product. The spec needs one term per operand, one \
         letter per axis of that operand, and a letter that appears in several operands names \
         one length. The result (after `->`) may only use letters of the operands, each once; \
         without `->`, it is the letters used once, in alphabetical order.",
    wrong: r#"input a: f32[2, 3]
input b: f32[4, 5]
output c = einsum("ij,jk->ik", a, b)
"#,
    fixed: r#"input a: f32[2, 3]
input b: f32[3, 5]
output c = einsum("ij,jk->ik", a, b)
"#,
};

pub(super) const E0331: CodeInfo = CodeInfo {
    code: "E0331",
    title: "invalid size expression",
    explanation: "A dimension of a type may be a size expression: size names, consts and \
         integer literals combined with `+`, `-`, `*` and `div` (floor division) by a positive \
         literal, as in `f32[N + M]`, `f32[B * 4]` or `f32[(H - 3) div 2 + 1]`. Sizes are \
         compared as polynomials (`N + N` is `2 * N`). Dividing by a size name, by zero, or \
         writing a length that is negative whatever the sizes are is an error; so is a size \
         too large to compute.",
    wrong: r#"dim N
input x: f32[2 * N]
let y: f32[N, 2 div 0] = reshape(x, (N, 2))
output y
"#,
    fixed: r#"dim N
input x: f32[2 * N]
let y: f32[N, 4 div 2] = reshape(x, (N, 2))
output y
"#,
};

pub(super) const E0332: CodeInfo = CodeInfo {
    code: "E0332",
    title: "a collective of an unsupported dtype",
    explanation: "`all_sum(x)` adds `x` element-wise over the processes of a distributed run \
         (section 13) and `all_mean(x)` divides that sum by `world`. `all_sum` takes `f32`, \
         `f64`, `i32` and `i64` tensors (integer sums wrap, as NumPy's do); `all_mean` takes \
         `f32` and `f64` only, because a mean of integers is not an integer. Both apply to \
         records leaf by leaf. Cast the operand (`all_mean(cast(n, f32))`), or use \
         `all_sum` for an integer total.",
    wrong: r#"input n: i32[4]
output m = all_mean(n)
"#,
    fixed: r#"input n: i32[4]
output m = all_mean(cast(n, f32))
"#,
};
