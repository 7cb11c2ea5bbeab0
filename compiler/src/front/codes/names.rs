//! E02xx: names and items (`compiler/src/front/elab/`).
//!
//! Each entry's `wrong` program is checked to report its code and its `fixed`
//! program to check cleanly (see the tests in `codes.rs`).

use super::CodeInfo;

pub(super) const E0201: CodeInfo = CodeInfo {
    code: "E0201",
    title: "cannot find a name in this scope",
    explanation: "The name is not declared anywhere visible: not a top-level item of this module \
         (items may be declared in any order, even below their use), not a parameter or `let` \
         of the enclosing function, not a name brought in by `use M.{..}`, not a builtin and \
         not a dtype. Items of a module are reached as `M.name` after `use M`. Check the \
         spelling (the help suggests a close name when there is one) or declare the name.",
    wrong: r#"input x: f32[4]
output y = rleu(x)
"#,
    fixed: r#"input x: f32[4]
output y = relu(x)
"#,
};

pub(super) const E0202: CodeInfo = CodeInfo {
    code: "E0202",
    title: "a name is declared twice",
    explanation:
        "Each name may be declared once: in a module's top level (items, `use`d names and the \
         names of destructuring `let`s share one namespace), in a function's signature (size \
         parameters and parameters), in a function body (no shadowing of a parameter or an \
         earlier `let`), and among `output`s. A program is a graph, not a sequence, so a \
         second `let` of the same name is not a reassignment: give each value its own name. \
         To carry state across steps, use `param` and `update`.",
    wrong: r#"input x: f32[4]
let h = relu(x)
let h = h * 2.0
output h
"#,
    fixed: r#"input x: f32[4]
let h = relu(x)
let h2 = h * 2.0
output h2
"#,
};

pub(super) const E0203: CodeInfo = CodeInfo {
    code: "E0203",
    title: "cycle among lets",
    explanation:
        "A `let` depends on itself, directly or through other items. Top-level items may come \
         in any order, so weft orders them by their dependencies, and a cycle has no order. A \
         value that should change from one step to the next is state: declare it as a `param` \
         and give its next value with `update`, which is assigned after the step.",
    wrong: r#"input x: f32[3]
let total = total + x
output total
"#,
    fixed: r#"input x: f32[3]
param total: f32[3] = zeros()
let next = total + x
update total = next
output next
"#,
};

pub(super) const E0204: CodeInfo = CodeInfo {
    code: "E0204",
    title: "no such module",
    explanation: "A `use M` names neither a standard-library module (`nn`, `optim`) nor a file \
         `M.weft` next to the program. Check the spelling, or put the module file in the \
         program's directory.",
    wrong: r#"use nnet
dim B
input x: f32[B, 10]
output p = nnet.softmax(x)
"#,
    fixed: r#"use nn
dim B
input x: f32[B, 10]
output p = nn.softmax(x)
"#,
};

pub(super) const E0205: CodeInfo = CodeInfo {
    code: "E0205",
    title: "the module has no item of this name",
    explanation:
        "`M.name`, or `use M.{name}`, names an item that module `M` does not declare. Only \
         the module's own top-level items can be reached; builtins such as `relu` or `sum` \
         are always in scope and are not members of a module. Check the spelling against the \
         module's items (the help suggests a close one).",
    wrong: r#"use nn
dim B
input x: f32[B, 10]
output p = nn.sofmax(x)
"#,
    fixed: r#"use nn
dim B
input x: f32[B, 10]
output p = nn.softmax(x)
"#,
};

pub(super) const E0206: CodeInfo = CodeInfo {
    code: "E0206",
    title: "only a param can be updated",
    explanation:
        "`update P = EXPR` gives the value that the state tensor `P` takes after each step, \
         so `P` must be declared with `param`. Inputs are supplied afresh at every step and \
         `let`s are recomputed from params and inputs, so neither can be updated. Declare the \
         name as `param P: TYPE = INIT`.",
    wrong: r#"input w: f32[3]
update w = 0.5 * w
output w
"#,
    fixed: r#"param w: f32[3] = ones()
update w = 0.5 * w
output w
"#,
};

pub(super) const E0207: CodeInfo = CodeInfo {
    code: "E0207",
    title: "a param is updated twice",
    explanation:
        "Each param has at most one `update`: all updates of a step are evaluated first and \
         then assigned together, so two updates of one param would compete for the same slot. \
         Combine them into one expression.",
    wrong: r#"input g: f32[3]
param w: f32[3] = ones()
update w = w - 0.1 * g
update w = 0.99 * w
output w
"#,
    fixed: r#"input g: f32[3]
param w: f32[3] = ones()
update w = 0.99 * (w - 0.1 * g)
output w
"#,
};

pub(super) const E0208: CodeInfo = CodeInfo {
    code: "E0208",
    title: "not a function",
    explanation:
        "Only functions can be called: builtins, `fn`s of this module and `M.f` of a used \
         module. The callee here is a tensor, a literal, a size, a dtype or a module. \
         Indexing uses square brackets (`x[0]`, not `x(0)`), and a dtype conversion is \
         `cast(x, f64)`, not `f64(x)`.",
    wrong: r#"input x: f32[5]
output first = x(0)
"#,
    fixed: r#"input x: f32[5]
output first = x[0]
"#,
};

pub(super) const E0209: CodeInfo = CodeInfo {
    code: "E0209",
    title: "recursive function",
    explanation:
        "A function calls itself, directly or through other functions. weft functions are \
         inlined at each call, with their size parameters bound by unification, so a \
         recursive call would never end and recursion is not allowed. Unroll the repetition \
         by hand, or use a `param` and `update` to repeat a computation once per step.",
    wrong: r#"fn smooth[N](x: f32[N]) -> f32[N] {
    0.5 * (x + smooth(tanh(x)))
}
input x: f32[8]
output y = smooth(x)
"#,
    fixed: r#"fn smooth[N](x: f32[N]) -> f32[N] {
    0.5 * (x + tanh(x))
}
input x: f32[8]
output y = smooth(smooth(x))
"#,
};

pub(super) const E0210: CodeInfo = CodeInfo {
    code: "E0210",
    title: "wrong arguments in a call",
    explanation:
        "The arguments do not match the function's parameters: too many positional arguments, \
         a keyword that names no parameter, an argument given twice (positionally and by \
         keyword), or a required argument missing. weft's keywords are NumPy's: reductions \
         take `axis=` and `keepdims=` (not PyTorch's `dim=` and `keepdim=`). The note shows \
         the function's parameters.",
    wrong: r#"dim B
input x: f32[B, 4]
output s = sum(x, axis=1, keepdim=true)
"#,
    fixed: r#"dim B
input x: f32[B, 4]
output s = sum(x, axis=1, keepdims=true)
"#,
};

pub(super) const E0211: CodeInfo = CodeInfo {
    code: "E0211",
    title: "a const must be a literal",
    explanation: "A `const` is a compile-time scalar that `--set NAME=VALUE` can override, so its \
         value must be a literal: a number (possibly negated) or `true`/`false`, not an \
         expression. Compute the value by hand, or use a `let` for a value computed from \
         other values.",
    wrong: r#"const lr = 0.1 / 4
param w: f32[3] = ones()
update w = w - lr * w
output w
"#,
    fixed: r#"const lr = 0.025
param w: f32[3] = ones()
update w = w - lr * w
output w
"#,
};

pub(super) const E0212: CodeInfo = CodeInfo {
    code: "E0212",
    title: "a value has no members",
    explanation:
        "`a.b` is member access on a module (`nn.softmax` after `use nn`) or a field of a \
         record; a tensor has one member, `x.T` (its axes reversed, as `transpose(x)`). There \
         are no other NumPy-style attributes or methods: write `sum(x)` for `x.sum()`, \
         `reshape(x, ..)` for `x.reshape(..)`.",
    wrong: r#"input x: f32[3, 4]
output s = x.sum
"#,
    fixed: r#"input x: f32[3, 4]
output s = sum(x)
"#,
};

pub(super) const E0214: CodeInfo = CodeInfo {
    code: "E0214",
    title: "unknown size name",
    explanation: "A type names a size that is not declared: each size name in a type must be a \
         top-level `dim` or a size parameter of the enclosing function (`fn f[N](..)`), and \
         an axis run `..S` must be declared as `..S` in the function's brackets. Size names \
         are rigid, so weft needs to know each one. Add `dim N`, or list the name in the \
         function's brackets.",
    wrong: r#"input x: f32[B, 4]
output s = sum(x, axis=1)
"#,
    fixed: r#"dim B
input x: f32[B, 4]
output s = sum(x, axis=1)
"#,
};

pub(super) const E0218: CodeInfo = CodeInfo {
    code: "E0218",
    title: "item not allowed in a module",
    explanation: "A module (a `M.weft` file next to the program) may declare only `fn`, `const`, \
         `dim`, `let` and `use` items: the workflow's inputs, params, outputs and updates \
         belong to the main program, which runs it. Declare them in the main program and pass \
         the values to the module's functions as arguments. (In the example below, the text \
         after `// file: helpers.weft` is the module's file.)",
    wrong: r#"use helpers
input x: f32[4]
output y = helpers.scale(x)
// file: helpers.weft
fn scale[N](x: f32[N]) -> f32[N] { 2.0 * x }
input x: f32[4]
output y = scale(x)
"#,
    fixed: r#"use helpers
input x: f32[4]
output y = helpers.scale(x)
// file: helpers.weft
fn scale[N](x: f32[N]) -> f32[N] { 2.0 * x }
"#,
};

pub(super) const E0219: CodeInfo = CodeInfo {
    code: "E0219",
    title: "dependency chain too long",
    explanation: "More than 20000 items are being evaluated inside one another: `a3` needs \
         `a2`, which needs `a1`, and so on. The program's own items are ordered by their \
         dependencies before they are checked, so this happens only for chains the checker \
         follows on demand, such as the `let`s of a module used from the program. The \
         checker stops at this depth instead of overflowing its stack. Such chains come from \
         generated programs: collapse the repeated steps into fewer items (one expression, a \
         function, or an operation over an axis), or move the chain into the program itself. \
         (In the example, the `// repeat` line stands for the 20001 `let`s it spells out.)",
    wrong: r#"use chain
input x: f32[3]
output y = x + chain.a20001
// file: chain.weft
let a0 = 1.0
// repeat 1..=20001: let a{i} = a{i-1} + 1.0
"#,
    fixed: r#"use chain
input x: f32[3]
output y = x + chain.a20001
// file: chain.weft
let a20001 = 20002.0
"#,
};
