use proptest::prelude::*;

use crate::ast::*;
use crate::lexer::{lex, Tok};
use crate::parse;

const F: FileId = FileId(7);

/// The program of the language contract, section 1.
const MLP: &str = r#"// mlp.weft: a two-layer perceptron trained by plain gradient descent
use nn

dim B                                   // a size bound at run time

const lr = 0.1

input  x: f32[B, 4]
input  y: i32[B]                        // class labels in 0..3
param  w1: f32[4, 16] = normal(0.0, 0.5, seed=1)
param  b1: f32[16]    = zeros()
param  w2: f32[16, 3] = normal(0.0, 0.5, seed=2)
param  b2: f32[3]     = zeros()

fn dense[N, I, O](x: f32[N, I], w: f32[I, O], b: f32[O]) -> f32[N, O] {
    x @ w + b
}

let h      = relu(dense(x, w1, b1))
let logits = dense(h, w2, b2)
let loss   = mean(nn.cross_entropy(logits, y))

let (gw1, gb1, gw2, gb2) = grad(loss, (w1, b1, w2, b2))
update w1 = w1 - lr * gw1
update b1 = b1 - lr * gb1
update w2 = w2 - lr * gw2
update b2 = b2 - lr * gb2

output loss
output w1
"#;

fn parse_ok(src: &str) -> Program {
    let (p, errs) = parse(F, src);
    assert!(errs.is_empty(), "unexpected errors for {src:?}: {errs:#?}");
    p
}

/// A compact rendering of an expression, for precedence tests.
fn sexp(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Float(v) => format!("{v:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Name(i) => i.name.clone(),
        ExprKind::Member(b, m) => format!("{}.{}", sexp(b), m.name),
        ExprKind::Neg(x) => format!("(neg {})", sexp(x)),
        ExprKind::Not(x) => format!("(not {})", sexp(x)),
        ExprKind::List(es) => format!("[{}]", es.iter().map(sexp).collect::<Vec<_>>().join(" ")),
        ExprKind::Binary(op, a, b) => format!("({} {} {})", op.symbol(), sexp(a), sexp(b)),
        ExprKind::Call {
            callee,
            args,
            kwargs,
        } => {
            let mut parts: Vec<String> = args.iter().map(sexp).collect();
            parts.extend(
                kwargs
                    .iter()
                    .map(|(k, v)| format!("{}={}", k.name, sexp(v))),
            );
            format!("{}({})", sexp(callee), parts.join(", "))
        }
        ExprKind::Index { base, indices } => {
            let opt = |e: &Option<Expr>| e.as_ref().map(sexp).unwrap_or_default();
            let parts: Vec<String> = indices
                .iter()
                .map(|i| match i {
                    IndexItem::Index(e) => sexp(e),
                    IndexItem::Slice {
                        start,
                        end,
                        step: None,
                        ..
                    } => format!("{}:{}", opt(start), opt(end)),
                    IndexItem::Slice {
                        start, end, step, ..
                    } => {
                        format!("{}:{}:{}", opt(start), opt(end), opt(step))
                    }
                })
                .collect();
            format!("{}[{}]", sexp(base), parts.join(", "))
        }
        ExprKind::Record(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .map(|(n, v)| format!("{}: {}", n.name, sexp(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        ExprKind::Tuple(es) => format!(
            "(tuple {})",
            es.iter().map(sexp).collect::<Vec<_>>().join(" ")
        ),
        ExprKind::Error => "<error>".to_string(),
    }
}

/// Parses `let _r = SRC` and renders the value.
fn expr(src: &str) -> String {
    let p = parse_ok(&format!("let _r = {src}"));
    match &p.items[..] {
        [Item::Let(l)] => sexp(&l.value),
        other => panic!("expected one let, got {other:?}"),
    }
}

fn text(src: &str, span: Span) -> &str {
    assert_eq!(span.file, F);
    &src[span.range()]
}

fn codes(errs: &[SyntaxError]) -> Vec<&'static str> {
    errs.iter().map(|e| e.code).collect()
}

// ---- lexer ---------------------------------------------------------------

#[test]
fn lexes_numbers_keywords_and_punctuation() {
    let (toks, errs) = lex(
        F,
        "let x1 = 3 0.5 1e-3 2.5E+4 3. // comment ( \n .. -> ** <= != @",
    );
    assert!(errs.is_empty(), "{errs:?}");
    let toks: Vec<Tok<'_>> = toks.into_iter().map(|t| t.1).collect();
    assert_eq!(
        toks,
        vec![
            Tok::Let,
            Tok::Ident("x1"),
            Tok::Assign,
            Tok::Int(3),
            Tok::Float(0.5),
            Tok::Float(1e-3),
            Tok::Float(2.5e4),
            Tok::Float(3.0),
            Tok::DotDot,
            Tok::Arrow,
            Tok::StarStar,
            Tok::Le,
            Tok::Ne,
            Tok::At,
        ]
    );
}

#[test]
fn keywords_are_not_prefixes_of_names() {
    let (toks, _) = lex(F, "letx use_ dims fn_1 true_");
    assert!(
        toks.iter().all(|t| matches!(t.1, Tok::Ident(_))),
        "{toks:?}"
    );
}

#[test]
fn invalid_characters_are_reported_and_skipped() {
    let src = "let x = a + b $ \nlet y = é\noutput x";
    let (p, errs) = parse(F, src);
    assert_eq!(codes(&errs), ["E0101", "E0101"], "{errs:#?}");
    assert_eq!(text(src, errs[0].span), "$");
    assert_eq!(text(src, errs[1].span), "é");
    // `let x` is intact; `let y =` lost its value; `output x` survives.
    assert!(matches!(&p.items[0], Item::Let(l) if sexp(&l.value) == "(+ a b)"));
    assert!(matches!(p.items.last(), Some(Item::Output { .. })));
}

#[test]
fn bad_numbers_are_e0104() {
    let src = "const a = 99999999999999999999\nconst b = 1e999\nconst c = 3abc\nconst d = 9223372036854775807";
    let (p, errs) = parse(F, src);
    assert_eq!(codes(&errs), ["E0104", "E0104", "E0104"], "{errs:#?}");
    assert_eq!(text(src, errs[0].span), "99999999999999999999");
    assert_eq!(text(src, errs[1].span), "1e999");
    assert_eq!(text(src, errs[2].span), "3abc");
    // The literals are replaced, the items kept.
    assert_eq!(p.items.len(), 4);
    assert!(
        matches!(&p.items[3], Item::Const { value, .. } if value.kind == ExprKind::Int(i64::MAX))
    );
}

// ---- expressions -----------------------------------------------------------

#[test]
fn precedence_and_associativity() {
    assert_eq!(expr("-x**2"), "(neg (** x 2))");
    assert_eq!(expr("a - b - c"), "(- (- a b) c)");
    assert_eq!(expr("a @ b * c"), "(* (@ a b) c)");
    assert_eq!(expr("2 ** 3 ** 2"), "(** 2 (** 3 2))");
    assert_eq!(expr("2 ** -1"), "(** 2 (neg 1))");
    assert_eq!(expr("a + b * c"), "(+ a (* b c))");
    assert_eq!(expr("a * b + c / d"), "(+ (* a b) (/ c d))");
    assert_eq!(expr("-a * b"), "(* (neg a) b)");
    assert_eq!(expr("a - -b"), "(- a (neg b))");
    assert_eq!(expr("--a"), "(neg (neg a))");
    assert_eq!(expr("a < b + c"), "(< a (+ b c))");
    assert_eq!(expr("a + b == c * d"), "(== (+ a b) (* c d))");
    assert_eq!(expr("(a < b) == c"), "(== (< a b) c)");
    assert_eq!(expr("x ** y[0]"), "(** x y[0])");
    assert_eq!(expr("-f(x)**2"), "(neg (** f(x) 2))");
    assert_eq!(expr("(a + b) * c"), "(* (+ a b) c)");
    // Section 11: `or` < `and` < `not` < comparisons; `%` with `*`.
    assert_eq!(expr("a or b and not c"), "(or a (and b (not c)))");
    assert_eq!(expr("not a < b or c"), "(or (not (< a b)) c)");
    assert_eq!(expr("a and b and c"), "(and (and a b) c)");
    assert_eq!(expr("a + b % c * d"), "(+ a (* (% b c) d))");
    assert_eq!(expr("-a % b"), "(% (neg a) b)");
    assert_eq!(expr("[[1, 2], [3, 4]] * x[0]"), "(* [[1 2] [3 4]] x[0])");
    assert_eq!(expr("[0.5, -1.0]"), "[0.5 (neg 1.0)]");
    assert_eq!(expr("-3"), "(neg 3)");
    assert_eq!(expr("a <= b"), "(<= a b)");
    assert_eq!(expr("a >= b"), "(>= a b)");
    assert_eq!(expr("a > b"), "(> a b)");
    assert_eq!(expr("a != b"), "(!= a b)");
}

#[test]
fn literals() {
    assert_eq!(expr("true"), "true");
    assert_eq!(expr("false"), "false");
    assert_eq!(expr("0.5"), "0.5");
    assert_eq!(expr("1e-3"), "0.001");
    assert_eq!(expr("2.5E+4"), "25000.0");
    assert_eq!(expr("42"), "42");
    assert_eq!(expr("9223372036854775807"), "9223372036854775807");
}

#[test]
fn chained_comparison_is_an_error() {
    let (_, errs) = parse(F, "let a = x < y < z\noutput a");
    assert_eq!(codes(&errs), ["E0102"]);
    assert!(
        errs[0].message.contains("cannot be chained"),
        "{}",
        errs[0].message
    );
    let (_, errs) = parse(F, "let a = x == y != z");
    assert_eq!(codes(&errs), ["E0102"]);
}

#[test]
fn calls_kwargs_and_members() {
    assert_eq!(
        expr("sum(x, axis=1, keepdims=true)"),
        "sum(x, axis=1, keepdims=true)"
    );
    assert_eq!(
        expr("nn.softmax(x, axis=-1)"),
        "nn.softmax(x, axis=(neg 1))"
    );
    assert_eq!(expr("f()"), "f()");
    assert_eq!(expr("f(a,)"), "f(a)");
    assert_eq!(expr("f(k=v,)"), "f(k=v)");
    assert_eq!(expr("cast(x, f64)"), "cast(x, f64)");
    assert_eq!(expr("f(a)(b)"), "f(a)(b)");
    assert_eq!(expr("a.b.c(d)[0]"), "a.b.c(d)[0]");
    assert_eq!(expr("sum(x, axis=(0, 1))"), "sum(x, axis=(tuple 0 1))");
    assert_eq!(expr("f(a == b, k=c < d)"), "f((== a b), k=(< c d))");
}

#[test]
fn positional_after_keyword_is_an_error() {
    let src = "let a = f(x, k=1, y)";
    let (p, errs) = parse(F, src);
    assert_eq!(codes(&errs), ["E0102"]);
    assert!(
        errs[0]
            .message
            .contains("positional argument after keyword argument `k`"),
        "{}",
        errs[0].message
    );
    assert_eq!(text(src, errs[0].span), "y");
    // The call is still built, with both positional arguments.
    assert!(matches!(&p.items[0], Item::Let(l) if sexp(&l.value) == "f(x, y, k=1)"));
}

#[test]
fn indices_and_slices() {
    assert_eq!(
        expr("x[0, -1, 1:3, :, 2:, ::2]"),
        "x[0, (neg 1), 1:3, :, 2:, ::2]"
    );
    assert_eq!(expr("x[:5]"), "x[:5]");
    assert_eq!(expr("x[1:2:3]"), "x[1:2:3]");
    assert_eq!(expr("x[::]"), "x[:]");
    assert_eq!(expr("x[a+1:n-1]"), "x[(+ a 1):(- n 1)]");
    assert_eq!(expr("x[0,]"), "x[0]");
    assert_eq!(expr("x[0][1]"), "x[0][1]");
    let src = "let r = x[:, 1:3]";
    let p = parse_ok(src);
    let Item::Let(l) = &p.items[0] else { panic!() };
    let ExprKind::Index { indices, .. } = &l.value.kind else {
        panic!()
    };
    let IndexItem::Slice {
        span,
        start: None,
        end: None,
        step: None,
    } = &indices[0]
    else {
        panic!()
    };
    assert_eq!(text(src, *span), ":");
    let IndexItem::Slice { span, .. } = &indices[1] else {
        panic!()
    };
    assert_eq!(text(src, *span), "1:3");
}

#[test]
fn tuples_versus_parentheses() {
    assert_eq!(expr("(a)"), "a");
    assert_eq!(expr("((a))"), "a");
    assert_eq!(expr("(a,)"), "(tuple a)");
    assert_eq!(expr("()"), "(tuple )");
    assert_eq!(expr("(a, b)"), "(tuple a b)");
    assert_eq!(expr("(a, b,)"), "(tuple a b)");
    assert_eq!(expr("((a, b), c)"), "(tuple (tuple a b) c)");
}

// ---- items -----------------------------------------------------------------

#[test]
fn contract_program_parses() {
    let p = parse_ok(MLP);
    assert_eq!(p.items.len(), 20);
    let Item::Fn(f) = &p.items[9] else {
        panic!("{:?}", p.items[9])
    };
    assert_eq!(f.name.name, "dense");
    assert_eq!(f.size_params.len(), 3);
    assert_eq!(sexp(&f.result), "(+ (@ x w) b)");
    let Item::Let(l) = &p.items[13] else { panic!() };
    assert!(matches!(&l.pat, Pattern::Tuple(ps, _) if ps.len() == 4));
    assert_eq!(sexp(&l.value), "grad(loss, (tuple w1 b1 w2 b2))");
}

#[test]
fn every_item_form() {
    let src = "use nn
use nn.{softmax, gelu,}
dim B
dim N, M
const lr = 0.1
const k = -3
input x: f32[B, 4]
input s: f32
input t: f32[]
param w: f32[4, 16] = normal(0.0, 0.5, seed=1)
let a = x
let b: f32[B, 16] = x @ w
let (c, (d, e),) = g(x)
fn id(x: f32) -> f32 { x }
output a
output z = a + 1
update w = w - lr
";
    let p = parse_ok(src);
    let items = &p.items;
    assert_eq!(items.len(), 18);
    assert!(matches!(&items[0], Item::Use { module, names: None, .. } if module.name == "nn"));
    assert!(
        matches!(&items[1], Item::Use { names: Some(ns), .. } if ns.iter().map(|n| n.name.as_str()).collect::<Vec<_>>() == ["softmax", "gelu"])
    );
    assert!(matches!(&items[2], Item::Dim { name, .. } if name.name == "B"));
    assert!(matches!(&items[3], Item::Dim { name, .. } if name.name == "N"));
    assert!(matches!(&items[4], Item::Dim { name, .. } if name.name == "M"));
    assert!(
        matches!(&items[5], Item::Const { name, value, .. } if name.name == "lr" && sexp(value) == "0.1")
    );
    assert!(matches!(&items[6], Item::Const { value, .. } if sexp(value) == "(neg 3)"));
    let Item::Input {
        ty: Ty::Tensor(ty), ..
    } = &items[7]
    else {
        panic!()
    };
    assert_eq!(ty.dtype.name, "f32");
    assert!(
        matches!(&ty.dims.as_deref(), Some([DimExpr::Name(b), DimExpr::Lit(4, _)]) if b.name == "B")
    );
    assert!(matches!(
        &items[8],
        Item::Input {
            ty: Ty::Tensor(TypeExpr { dims: None, .. }),
            ..
        }
    ));
    assert!(
        matches!(&items[9], Item::Input { ty: Ty::Tensor(TypeExpr { dims: Some(d), .. }), .. } if d.is_empty())
    );
    assert!(
        matches!(&items[10], Item::Param { name, init, .. } if name.name == "w" && sexp(init) == "normal(0.0, 0.5, seed=1)")
    );
    assert!(matches!(&items[11], Item::Let(Let { ty: None, .. })));
    assert!(matches!(&items[12], Item::Let(Let { ty: Some(_), .. })));
    let Item::Let(Let {
        pat: Pattern::Tuple(ps, _),
        ..
    }) = &items[13]
    else {
        panic!()
    };
    assert!(
        matches!(&ps[..], [Pattern::Name(c), Pattern::Tuple(inner, _)] if c.name == "c" && inner.len() == 2)
    );
    assert!(matches!(&items[14], Item::Fn(_)));
    assert!(matches!(&items[15], Item::Output { value: None, .. }));
    assert!(matches!(&items[16], Item::Output { value: Some(_), .. }));
    assert!(matches!(&items[17], Item::Update { name, .. } if name.name == "w"));
}

#[test]
fn semicolons_after_items_are_ignored() {
    let p = parse_ok("dim B; input x: f32[B];\nlet y = x; output y;;");
    assert_eq!(p.items.len(), 4);
}

#[test]
fn items_need_no_terminator_on_one_line() {
    let p = parse_ok("dim B input x: f32[B] let y = x * 2 output y");
    assert_eq!(p.items.len(), 4);
}

#[test]
fn functions() {
    let src =
        "fn f[B, ..S, T](x: T[B, ..S], axis: i32 = -1, eps: f32 = 1e-5,) -> (T[B, ..S], f32[]) {
        let y = x * 2;
        let (a, b): f32 = g(y);
        (y, a)
    }
    fn g() -> (f32,) { (1.0,) }
    fn h() -> (f32) { 1.0 }";
    let p = parse_ok(src);
    let Item::Fn(f) = &p.items[0] else { panic!() };
    let sp: Vec<(&str, GenericKind)> = f
        .size_params
        .iter()
        .map(|s| (s.name.name.as_str(), s.kind))
        .collect();
    assert_eq!(
        sp,
        [
            ("B", GenericKind::Size),
            ("S", GenericKind::Run),
            ("T", GenericKind::Size)
        ]
    );
    assert_eq!(f.params.len(), 3);
    assert_eq!(f.params[0].name.name, "x");
    assert!(f.params[0].default.is_none());
    assert!(
        matches!(&f.params[0].ty, Ty::Tensor(t) if matches!(t.dims.as_deref(), Some([DimExpr::Name(_), DimExpr::Splat(s)]) if s.name == "S"))
    );
    assert_eq!(
        f.params[1].default.as_ref().map(sexp).as_deref(),
        Some("(neg 1)")
    );
    assert_eq!(
        f.params[2].default.as_ref().map(sexp).as_deref(),
        Some("1e-5")
    );
    assert!(matches!(&f.ret, RetType::Tuple(ts, _) if ts.len() == 2));
    assert_eq!(f.body.len(), 2);
    assert!(f.body[1].ty.is_some());
    assert_eq!(sexp(&f.result), "(tuple y a)");
    assert_eq!(
        text(src, f.span).lines().next(),
        Some(src.lines().next().unwrap())
    );
    assert!(text(src, f.span).ends_with('}'));
    let Item::Fn(g) = &p.items[1] else { panic!() };
    assert!(g.size_params.is_empty() && g.params.is_empty());
    assert!(matches!(&g.ret, RetType::Tuple(ts, _) if ts.len() == 1));
    let Item::Fn(h) = &p.items[2] else { panic!() };
    assert!(matches!(&h.ret, RetType::One(_)));
    // An empty size-parameter list is allowed too.
    parse_ok("fn k[]() -> f32 { 1.0 }");
}

// ---- size expressions in types (section 11) -------------------------------

/// A compact rendering of a dimension, for precedence tests.
fn dsexp(d: &DimExpr) -> String {
    match d {
        DimExpr::Lit(v, _) => v.to_string(),
        DimExpr::Name(i) => i.name.clone(),
        DimExpr::Splat(i) => format!("..{}", i.name),
        DimExpr::Bin(op, a, b, _) => format!("({} {} {})", op.symbol(), dsexp(a), dsexp(b)),
    }
}

/// The dims of the type in `input x: TYPE`.
fn dims_of(src: &str) -> Vec<DimExpr> {
    let p = parse_ok(src);
    match &p.items[..] {
        [Item::Input {
            ty: Ty::Tensor(TypeExpr { dims: Some(d), .. }),
            ..
        }] => d.clone(),
        other => panic!("expected one input with dims, got {other:?}"),
    }
}

/// Parses `input x: f32[DIMS]` and renders its dims.
fn dims(src: &str) -> Vec<String> {
    dims_of(&format!("input x: f32[{src}]"))
        .iter()
        .map(dsexp)
        .collect()
}

#[test]
fn size_expressions_in_dims() {
    assert_eq!(dims("N + M"), ["(+ N M)"]);
    assert_eq!(dims("B * 4"), ["(* B 4)"]);
    assert_eq!(dims("(H - 3) div 2 + 1"), ["(+ (div (- H 3) 2) 1)"]);
    assert_eq!(dims("B, N + 1, ..S"), ["B", "(+ N 1)", "..S"]);
    // Parentheses only group.
    assert_eq!(dims("(N)"), ["N"]);
    assert_eq!(dims("((4))"), ["4"]);
    assert_eq!(dims("((N + M)) * 2"), ["(* (+ N M) 2)"]);

    // The whole tree, with its spans.
    let src = "input x: f32[N + M, (H - 3) div 2 + 1]";
    let d = dims_of(src);
    let [DimExpr::Bin(DimOp::Add, n, m, s0), DimExpr::Bin(DimOp::Add, q, one, s1)] = &d[..] else {
        panic!("{d:?}")
    };
    assert!(matches!(&**n, DimExpr::Name(i) if i.name == "N" && text(src, i.span) == "N"));
    assert!(matches!(&**m, DimExpr::Name(i) if i.name == "M" && text(src, i.span) == "M"));
    assert_eq!(text(src, *s0), "N + M");
    assert_eq!(text(src, d[0].span()), "N + M");
    assert_eq!(text(src, *s1), "(H - 3) div 2 + 1");
    assert!(matches!(&**one, DimExpr::Lit(1, s) if text(src, *s) == "1"));
    let DimExpr::Bin(DimOp::Div, sub, two, s2) = &**q else {
        panic!("{q:?}")
    };
    assert_eq!(text(src, *s2), "(H - 3) div 2");
    assert!(matches!(&**two, DimExpr::Lit(2, _)));
    let DimExpr::Bin(DimOp::Sub, h, three, s3) = &**sub else {
        panic!("{sub:?}")
    };
    // A parenthesised size expression's span includes its parentheses.
    assert_eq!(text(src, *s3), "(H - 3)");
    assert_eq!(text(src, sub.span()), "(H - 3)");
    assert!(matches!(&**h, DimExpr::Name(i) if i.name == "H"));
    assert!(matches!(&**three, DimExpr::Lit(3, s) if text(src, *s) == "3"));

    // The simple forms are as before.
    let src = "input x: f32[B, 4, ..S]";
    let d = dims_of(src);
    let [DimExpr::Name(b), DimExpr::Lit(4, s4), DimExpr::Splat(s)] = &d[..] else {
        panic!("{d:?}")
    };
    assert_eq!((b.name.as_str(), text(src, b.span)), ("B", "B"));
    assert_eq!(text(src, *s4), "4");
    assert_eq!((s.name.as_str(), text(src, s.span)), ("S", "S"));
}

#[test]
fn size_expression_precedence_and_associativity() {
    assert_eq!(dims("N - M - 1"), ["(- (- N M) 1)"]);
    assert_eq!(dims("N + M * 2"), ["(+ N (* M 2))"]);
    assert_eq!(dims("N * 2 + M"), ["(+ (* N 2) M)"]);
    assert_eq!(dims("2 * N div 3"), ["(div (* 2 N) 3)"]);
    assert_eq!(dims("N div 2 * 2"), ["(* (div N 2) 2)"]);
    assert_eq!(dims("N div 2 div 2"), ["(div (div N 2) 2)"]);
    assert_eq!(dims("N - (M - 1)"), ["(- N (- M 1))"]);
    assert_eq!(dims("N - M + 1"), ["(+ (- N M) 1)"]);
    assert_eq!(dims("A + B div 2 - C * D"), ["(- (+ A (div B 2)) (* C D))"]);
}

#[test]
fn size_expressions_wherever_a_type_goes() {
    let src = "fn pool[N, H](x: f32[N, H], y: {w: f32[H * 2]} = z) -> (f32[N, (H - 2) div 2 + 1], f32[H + 1]) {
        let a: f32[H - 1] = x[1:];
        a
    }
    param w: f32[C * 9, 2] = zeros()
    param r { a: f32[C + 1] = zeros() }
    let b: f32[2 * C] = w
    input i: {x: f32[C div 3]}";
    let p = parse_ok(src);
    assert_eq!(p.items.len(), 5);
    let Item::Fn(f) = &p.items[0] else { panic!() };
    let RetType::Tuple(ts, _) = &f.ret else {
        panic!()
    };
    let Ty::Tensor(t) = &ts[0] else { panic!() };
    assert_eq!(t.to_string(), "f32[N, (H - 2) div 2 + 1]");
}

#[test]
fn size_expressions_print_with_fewest_parentheses() {
    for (written, printed) in [
        ("(H - 3) div 2 + 1", "(H - 3) div 2 + 1"),
        ("((H - 3) div 2) + 1", "(H - 3) div 2 + 1"),
        ("N - M - 1", "N - M - 1"),
        ("N - (M - 1)", "N - (M - 1)"),
        ("N + (M + 1)", "N + (M + 1)"),
        ("(N + M) * 2", "(N + M) * 2"),
        ("N + (M * 2)", "N + M * 2"),
        ("N * (M div 2)", "N * (M div 2)"),
        ("(2 * N) div 3", "2 * N div 3"),
        ("((N))", "N"),
        ("B, 4, ..S", "B, 4, ..S"),
    ] {
        let d = dims_of(&format!("input x: f32[{written}]"));
        let s: Vec<String> = d.iter().map(ToString::to_string).collect();
        assert_eq!(s.join(", "), printed, "{written}");
        // What is printed parses back to the same tree.
        let again: Vec<String> = dims(printed);
        assert_eq!(again, d.iter().map(dsexp).collect::<Vec<_>>(), "{written}");
    }
    for src in ["f32", "f32[]", "i64[B, N + 1]"] {
        let p = parse_ok(&format!("input x: {src}"));
        let Item::Input {
            ty: Ty::Tensor(t), ..
        } = &p.items[0]
        else {
            panic!()
        };
        assert_eq!(t.to_string(), src);
    }
}

#[test]
fn div_is_still_a_name() {
    // In expressions, as a `let`, a parameter, a function, a dim or a field.
    assert_eq!(expr("div"), "div");
    assert_eq!(expr("div(a, 2) + div * 3"), "(+ div(a, 2) (* div 3))");
    assert_eq!(expr("m.div(x, div=2)"), "m.div(x, div=2)");
    let p = parse_ok(
        "let div = a / b
        output div
        fn div(div: f32) -> f32 { let div = div * 2; div }
        dim div
        param q { div: f32[3] = zeros() }
        use m.{div}",
    );
    assert!(
        matches!(&p.items[0], Item::Let(Let { pat: Pattern::Name(n), value, .. })
        if n.name == "div" && sexp(value) == "(/ a b)")
    );
    assert!(matches!(&p.items[1], Item::Output { name, .. } if name.name == "div"));
    assert!(
        matches!(&p.items[2], Item::Fn(f) if f.name.name == "div" && f.params[0].name.name == "div" && sexp(&f.result) == "div")
    );
    assert!(matches!(&p.items[3], Item::Dim { name, .. } if name.name == "div"));
    // A size named `div`: a name where an operand goes, the operator after one.
    assert_eq!(dims("div"), ["div"]);
    assert_eq!(dims("div div div"), ["(div div div)"]);
    assert_eq!(dims("(div) * div div 2"), ["(div (* div div) 2)"]);
    let p = parse_ok("fn f[div](x: f32[div, div div 2]) -> f32[div + 1] { x }");
    let Item::Fn(f) = &p.items[0] else { panic!() };
    assert_eq!(f.size_params[0].name.name, "div");
    // A `div` between two expressions is no operator.
    let (_, errs) = parse(F, "let a = x div 2");
    assert_eq!(codes(&errs), ["E0102"]);
    assert_eq!(errs[0].message, "unexpected `div`, expected `;` or an item");
}

#[test]
fn size_expression_errors() {
    // (source, offending text, message, expected)
    let op = "an operator (`+`, `-`, `*`, `div`)";
    let cases: &[(&str, &str, String, Vec<&str>)] = &[
        (
            "input x: f32[N div]",
            "]",
            "unexpected `]`, expected a name, an integer or `(`".into(),
            vec!["a name", "an integer", "`(`"],
        ),
        (
            "input x: f32[N foo 2]",
            "foo",
            format!("unexpected `foo`, expected `,`, `]` or {op}"),
            vec!["`,`", "`]`", op],
        ),
        (
            "input x: f32[B N]",
            "N",
            format!("unexpected `N`, expected `,`, `]` or {op}"),
            vec!["`,`", "`]`", op],
        ),
        (
            "input x: f32[(N + 1 foo]",
            "foo",
            format!("unexpected `foo`, expected `)` or {op}"),
            vec!["`)`", op],
        ),
        (
            "input x: f32[(N]",
            "]",
            format!("unexpected `]`, expected `)` or {op}"),
            vec!["`)`", op],
        ),
        (
            "input x: f32[N +]",
            "]",
            "unexpected `]`, expected a name, an integer or `(`".into(),
            vec!["a name", "an integer", "`(`"],
        ),
        (
            "input x: f32[N - -1]",
            "-",
            "unexpected `-`, expected a name, an integer or `(`".into(),
            vec!["a name", "an integer", "`(`"],
        ),
        (
            "input x: f32[..S + 1]",
            "+",
            "unexpected `+`, expected `,` or `]`: a splat `..S` stands for a run of axes and cannot be part of a size expression".into(),
            vec!["`,`", "`]`"],
        ),
        (
            "input x: f32[B, ..S div 2]",
            "div",
            "unexpected `div`, expected `,` or `]`: a splat `..S` stands for a run of axes and cannot be part of a size expression".into(),
            vec!["`,`", "`]`"],
        ),
        (
            "input x: f32[N + ..S]",
            "..",
            "unexpected `..`, expected a name, an integer or `(`".into(),
            vec!["a name", "an integer", "`(`"],
        ),
        (
            "input x: f32[(..S)]",
            "..",
            "unexpected `..`, expected a name, an integer or `(`".into(),
            vec!["a name", "an integer", "`(`"],
        ),
        (
            "input x: f32[N / 2]",
            "/",
            format!("unexpected `/`, expected `,`, `]` or {op}: sizes are divided with `div`, e.g. `N div 2`"),
            vec!["`,`", "`]`", op],
        ),
        (
            "input x: f32[N + 1.5]",
            "1.5",
            "unexpected `1.5`, expected a name, an integer or `(`".into(),
            vec!["a name", "an integer", "`(`"],
        ),
    ];
    for (src, at, message, expected) in cases {
        let (p, errs) = parse(F, src);
        assert_eq!(codes(&errs), ["E0102"], "{src}: {errs:#?}");
        assert_eq!(text(src, errs[0].span), *at, "{src}");
        assert_eq!(&errs[0].message, message, "{src}");
        assert_eq!(errs[0].expected, *expected, "{src}");
        assert!(matches!(&p.items[..], [Item::Error { .. }]), "{src}");
    }
    // The end of the file in the middle of one.
    let (_, errs) = parse(F, "input x: f32[N +");
    assert_eq!(codes(&errs), ["E0103"]);
    assert_eq!(
        errs[0].message,
        "unexpected end of file, expected a name, an integer or `(`"
    );
    let (_, errs) = parse(F, "input x: f32[N * 2");
    assert_eq!(
        errs[0].message,
        format!("unexpected end of file, expected `,`, `]` or {op}")
    );
    // The next item is found again.
    let (p, errs) = parse(F, "input x: f32[N foo 2]\ninput y: f32[N div 2]");
    assert_eq!(codes(&errs), ["E0102"]);
    assert!(matches!(
        &p.items[..],
        [Item::Error { .. }, Item::Input { .. }]
    ));
}

#[test]
fn long_size_expressions_are_cut_off_without_overflow() {
    let n = 30_000;
    let src = format!("input x: f32[N{}]\noutput x", " + N".repeat(n));
    let (p, errs) = parse(F, &src);
    assert_eq!(codes(&errs), ["E0105"], "{errs:#?}");
    assert_eq!(p.items.len(), 2);
    // Nested parentheses are refused up front, as in expressions.
    let src = format!("input x: f32[{}N{}]", "(".repeat(n), ")".repeat(n));
    let (_, errs) = parse(F, &src);
    assert_eq!(codes(&errs), ["E0105"]);
    // Just under the limit is fine.
    let limit = crate::MAX_DEPTH as usize;
    parse_ok(&format!("input x: f32[N{}]", " * 2".repeat(limit - 1)));
}

// ---- spans -----------------------------------------------------------------

#[test]
fn spans_slice_back_to_the_source() {
    let src = "  // leading comment\nlet   loss = mean(nn.cross_entropy(logits, y)) ;\ninput x: f32[B, ..S]\n";
    let p = parse_ok(src);
    let Item::Let(l) = &p.items[0] else { panic!() };
    assert_eq!(
        text(src, l.span),
        "let   loss = mean(nn.cross_entropy(logits, y))"
    );
    assert_eq!(text(src, l.pat.span()), "loss");
    assert_eq!(text(src, l.value.span), "mean(nn.cross_entropy(logits, y))");
    let ExprKind::Call { callee, args, .. } = &l.value.kind else {
        panic!()
    };
    assert_eq!(text(src, callee.span), "mean");
    assert_eq!(text(src, args[0].span), "nn.cross_entropy(logits, y)");
    let ExprKind::Call { callee, args, .. } = &args[0].kind else {
        panic!()
    };
    assert_eq!(text(src, callee.span), "nn.cross_entropy");
    assert_eq!(text(src, args[1].span), "y");
    let Item::Input {
        ty: Ty::Tensor(ty),
        span,
        name,
    } = &p.items[1]
    else {
        panic!()
    };
    assert_eq!(text(src, *span), "input x: f32[B, ..S]");
    assert_eq!(text(src, name.span), "x");
    assert_eq!(text(src, ty.span), "f32[B, ..S]");
    assert_eq!(text(src, ty.dtype.span), "f32");

    let src = "let r = -x ** 2 + (a, b)[0] * (c)";
    let p = parse_ok(src);
    let Item::Let(l) = &p.items[0] else { panic!() };
    let ExprKind::Binary(BinOp::Add, lhs, rhs) = &l.value.kind else {
        panic!()
    };
    assert_eq!(text(src, lhs.span), "-x ** 2");
    assert_eq!(text(src, rhs.span), "(a, b)[0] * (c)");
    let ExprKind::Binary(BinOp::Mul, idx, paren) = &rhs.kind else {
        panic!()
    };
    assert_eq!(text(src, idx.span), "(a, b)[0]");
    // A parenthesised expression's span includes its parentheses.
    assert_eq!(text(src, paren.span), "(c)");
    assert!(matches!(&paren.kind, ExprKind::Name(n) if text(src, n.span) == "c"));
}

#[test]
fn every_span_carries_the_file_id() {
    let (p, _) = parse(FileId(3), MLP);
    for item in &p.items {
        assert_eq!(item.span().file, FileId(3));
    }
}

// ---- errors and recovery ---------------------------------------------------

#[test]
fn three_errors_are_all_reported_and_good_items_kept() {
    let src = "dim B
input x: f32[B, 4
let ok1 = x * 2
param w f32[4] = zeros()
output ok1
fn f(x: f32) -> f32 { let y = x +; y }
let ok2 = f(ok1)
";
    let (p, errs) = parse(F, src);
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(errs.iter().all(|e| e.code == "E0102"), "{errs:#?}");
    assert_eq!(text(src, errs[0].span), "let");
    assert!(
        errs[0]
            .message
            .starts_with("unexpected keyword `let`, expected"),
        "{}",
        errs[0].message
    );
    assert!(
        errs[0].expected.contains(&"`]`".to_string()),
        "{:?}",
        errs[0].expected
    );
    assert_eq!(text(src, errs[1].span), "f32");
    assert_eq!(
        errs[1].message,
        "unexpected `f32`, expected `{`, `:` or `=`"
    );
    assert_eq!(text(src, errs[2].span), ";");
    assert_eq!(errs[2].message, "unexpected `;`, expected an expression");
    assert_eq!(errs[2].expected, ["an expression"]);

    let names: Vec<String> = p
        .items
        .iter()
        .map(|i| match i {
            Item::Dim { name, .. } | Item::Output { name, .. } => name.name.clone(),
            Item::Let(Let {
                pat: Pattern::Name(n),
                ..
            }) => n.name.clone(),
            Item::Fn(f) => format!("fn {}", f.name.name),
            Item::Error { .. } => "<error>".to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    // The broken `let` in the function body is dropped, the function kept.
    assert_eq!(
        names,
        ["B", "<error>", "ok1", "<error>", "ok1", "fn f", "ok2"]
    );
    let Item::Fn(f) = &p.items[5] else { panic!() };
    assert!(f.body.is_empty());
    assert_eq!(sexp(&f.result), "y");
}

#[test]
fn missing_semicolon_in_a_function_body() {
    let src = "fn f(x: f32) -> f32 {\n    let y = x * 2\n    let z = y + 1;\n    z\n}\noutput q";
    let (p, errs) = parse(F, src);
    assert_eq!(codes(&errs), ["E0102"], "{errs:#?}");
    assert_eq!(
        errs[0].message,
        "expected `;` after this `let`, found `let`"
    );
    assert_eq!(text(src, errs[0].span), "let y = x * 2");
    assert_eq!(errs[0].expected, ["`;`"]);
    // Both `let`s are kept.
    let Item::Fn(f) = &p.items[0] else {
        panic!("{:?}", p.items)
    };
    assert_eq!(f.body.len(), 2);
    assert_eq!(p.items.len(), 2);

    // Before the result expression.
    let (p, errs) = parse(F, "fn f() -> f32 { let y = 2 y }");
    assert_eq!(codes(&errs), ["E0102"]);
    assert!(errs[0].message.starts_with("expected `;` after this `let`"));
    assert!(matches!(&p.items[0], Item::Fn(f) if f.body.len() == 1 && sexp(&f.result) == "y"));
}

#[test]
fn broken_function_header_skips_to_the_body() {
    let src = "fn f(x f32) -> f32 {\n let a = x;\n let b = a;\n b\n}\nlet c = 1";
    let (p, errs) = parse(F, src);
    assert_eq!(codes(&errs), ["E0102"], "{errs:#?}");
    assert_eq!(p.items.len(), 2);
    assert!(
        matches!(&p.items[0], Item::Error { span } if text(src, *span).starts_with("fn f") && text(src, *span).ends_with('}'))
    );
    assert!(matches!(&p.items[1], Item::Let(_)));
}

#[test]
fn function_body_without_result() {
    let (p, errs) = parse(F, "fn f() -> f32 { let y = 2; }\nlet z = 1");
    assert_eq!(codes(&errs), ["E0102"], "{errs:#?}");
    assert_eq!(
        errs[0].message,
        "unexpected `}`, expected `let` or an expression"
    );
    assert!(
        matches!(&p.items[0], Item::Fn(f) if f.result.kind == ExprKind::Error && f.body.len() == 1)
    );
    assert_eq!(p.items.len(), 2);
}

#[test]
fn a_broken_last_let_gives_one_error() {
    let (p, errs) = parse(F, "fn f() -> f32 { let y = ; }");
    assert_eq!(codes(&errs), ["E0102"], "{errs:#?}");
    assert!(
        matches!(&p.items[0], Item::Fn(f) if f.result.kind == ExprKind::Error && f.body.is_empty())
    );
}

#[test]
fn end_of_file_is_e0103() {
    let src = "let x = f(a,";
    let (p, errs) = parse(F, src);
    assert_eq!(codes(&errs), ["E0103"]);
    assert!(
        errs[0]
            .message
            .starts_with("unexpected end of file, expected"),
        "{}",
        errs[0].message
    );
    assert_eq!(errs[0].span.start as usize, src.len());
    assert!(matches!(&p.items[..], [Item::Error { .. }]));

    let (_, errs) = parse(F, "fn f() -> f32 {");
    assert_eq!(codes(&errs), ["E0103"]);
}

#[test]
fn expected_tokens_are_readable() {
    let (_, errs) = parse(F, "input : f32");
    assert_eq!(errs[0].message, "unexpected `:`, expected a name");
    let (_, errs) = parse(F, "let x = )");
    assert_eq!(errs[0].message, "unexpected `)`, expected an expression");
    let (_, errs) = parse(F, "let x = a b");
    // (An expression may be followed by a name inside a record param, so the
    // parser reduces the `let` before it meets `b`.)
    assert_eq!(errs[0].message, "unexpected `b`, expected `;` or an item");
    let (_, errs) = parse(F, "input x: f32[B, 4.5]");
    assert_eq!(
        errs[0].message,
        "unexpected `4.5`, expected a name, an integer, `(`, `]` or `..`"
    );
}

#[test]
fn empty_and_comment_only_files() {
    assert!(parse_ok("").items.is_empty());
    assert!(parse_ok("// nothing\n   \n").items.is_empty());
    assert!(parse_ok(";;;").items.is_empty());
}

// ---- robustness ------------------------------------------------------------

#[test]
fn deep_nesting_is_cut_off_without_overflow() {
    let n = 30_000;
    let limit = crate::MAX_DEPTH as usize;
    // Brackets and prefix operators nested too deeply: refused up front.
    for src in [
        format!("let a = {}x{}\noutput a", "(".repeat(n), ")".repeat(n)),
        format!("let a = {}x\noutput a", "-".repeat(n)),
        format!("let a = 2{}\noutput a", " ** 2".repeat(n)),
        format!("let a = {}x{}", "f(".repeat(n), ")".repeat(n)),
        format!("let a = {}x{}", "(x, ".repeat(n), ")".repeat(n)),
        format!("let {}x{} = y", "(x, ".repeat(n), ")".repeat(n)),
        format!("let a = {}{}", "(".repeat(n), "] ".repeat(n)),
    ] {
        let (p, errs) = parse(F, &src);
        assert_eq!(codes(&errs), ["E0105"], "{}", &src[..20]);
        assert!(p.items.len() <= 1);
    }
    // A long flat chain nests the AST (left-associative) but not the brackets.
    for src in [
        format!("let a = x{}", " + x".repeat(n)),
        format!("let a = x{}", "[0]".repeat(n)),
        format!("let a = x{}", "(0)".repeat(n)),
    ] {
        let (p, errs) = parse(F, &src);
        assert_eq!(codes(&errs), ["E0105"], "{}", &src[..20]);
        assert!(matches!(&p.items[..], [Item::Let(l)] if l.value.kind == ExprKind::Error));
    }
    // Just under the limits is fine.
    parse_ok(&format!("let a = {}x", "-".repeat(limit - 1)));
    parse_ok(&format!(
        "let a = {}x{}",
        "(".repeat(limit),
        ")".repeat(limit)
    ));
    parse_ok(&format!(
        "let a = {}x{}",
        "f(".repeat(limit - 1),
        ")".repeat(limit - 1)
    ));
    // Many `**` and `-` side by side are not nested.
    parse_ok(&format!("let a = 0{}", " + -x ** 2".repeat(100)).replace("+ -x", "- x"));
    parse_ok(&format!("let a = f(0{})", ", -x ** -2".repeat(n / 10)));
}

#[test]
fn huge_and_odd_inputs_do_not_panic() {
    for src in [
        "\u{0}\u{1}\u{7f}",
        "ünïcödé ∑ 𝔵 = 1",
        "let x = 1e",
        "let x = 1.e5 + 3.",
        "1 2 3 ) ] } { [ (",
        "fn",
        "fn f[..](..) -> { ; }",
        "use nn.{",
        "let (a, b",
        "output",
        "//",
        "let x = 18446744073709551616",
        "let x = 1e-99999",
    ] {
        let _ = parse(F, src);
    }
}

fn valid_programs() -> Vec<&'static str> {
    vec![
        MLP,
        "fn f[B, ..S](x: f32[B, ..S], axis: i32 = -1) -> (f32[B], f32) { let y = x[0, 1:2, ::2]; let (a, b) = g(y, k=1); (a, b) }",
        "use nn.{softmax}; dim B, N; let z: f32[B] = -x ** 2 @ w < 3; output z = sum(z, axis=(0, 1), keepdims=true)",
        "fn f[H, M](x: f32[H + M, (H - 3) div 2 + 1]) -> f32[2 * H div 3] { let div = x / 2; div } input y: f32[N - M - 1, 4]",
    ]
}

#[test]
fn valid_programs_parse() {
    for src in valid_programs() {
        parse_ok(src);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_strings_do_not_panic(src in "\\PC{0,200}") {
        let _ = parse(F, &src);
    }

    #[test]
    fn random_token_soup_does_not_panic(
        parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "let", "fn", "dim", "use", "const", "input", "param", "output", "update", "x", "f32",
                "1", "2.5", "(", ")", "[", "]", "{", "}", ",", ":", ";", "=", ".", "..", "->", "+", "-",
                "*", "/", "@", "**", "<", "==", "true", "$", "\n", "div",
            ]),
            0..80,
        )
    ) {
        let src = parts.join(" ");
        let _ = parse(F, &src);
    }

    #[test]
    fn mutated_programs_do_not_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((0u8..3, any::<proptest::sample::Index>(), any::<proptest::sample::Index>()), 1..6),
    ) {
        let src = valid_programs()[which];
        let (toks, _) = lex(F, src);
        let mut pieces: Vec<&str> = toks.iter().map(|t| &src[t.0..t.2]).collect();
        for (kind, at, from) in edits {
            if pieces.is_empty() {
                break;
            }
            let i = at.index(pieces.len());
            let j = from.index(pieces.len());
            match kind {
                0 => { pieces.remove(i); }
                1 => { let p = pieces[j]; pieces.insert(i, p); }
                _ => { let p = pieces[i]; pieces.insert(i, p); }
            }
        }
        let mutated = pieces.join(" ");
        let (p, errs) = parse(F, &mutated);
        for e in &errs {
            prop_assert!(e.span.end as usize <= mutated.len());
            prop_assert!(e.span.start <= e.span.end);
        }
        for item in &p.items {
            prop_assert!(item.span().end as usize <= mutated.len());
        }
    }
}

#[test]
fn block_comments_are_one_error() {
    let src = "input x: f32[3]\n/* scale\n the input */ output y = x\n";
    let (p, errs) = parse(F, src);
    assert_eq!(codes(&errs), ["E0101"], "{errs:#?}");
    assert!(errs[0].message.contains("block comments"));
    assert_eq!(text(src, errs[0].span), "/* scale\n the input */");
    assert_eq!(p.items.len(), 2);
    // Unterminated: runs to the end of the file.
    let (_, errs) = parse(F, "output y /* ... ");
    assert_eq!(codes(&errs), ["E0101"]);
}

#[test]
fn keyword_as_name_is_one_error() {
    let src = "input x: f32[3]\nlet output = x * 2.0\noutput x";
    let (p, errs) = parse(F, src);
    assert_eq!(codes(&errs), ["E0102"], "{errs:#?}");
    assert_eq!(
        errs[0].message,
        "unexpected keyword `output`, expected a name or `(`"
    );
    assert!(matches!(p.items.last(), Some(Item::Output { .. })));
}

#[test]
fn semicolon_after_function_result() {
    let (_, errs) = parse(F, "fn f(x: f32) -> f32 { let a = x; a; }");
    assert_eq!(codes(&errs), ["E0102"], "{errs:#?}");
    assert!(
        errs[0].message.contains("takes no `;`"),
        "{}",
        errs[0].message
    );
}

#[test]
fn a_number_glued_to_a_name_is_one_error() {
    let (_, errs) = parse(F, "let 2x = 1\noutput y");
    assert_eq!(codes(&errs), ["E0104"], "{errs:#?}");
}

/// The project's `.weft` corpus: files whose first line says
/// `// expect: E01.. line L` must report a syntax error first on line L; all
/// others must parse without syntax errors.
#[test]
fn project_corpus() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut stack = vec![
        root.join("examples"),
        root.join("stdlib"),
        root.join("tests"),
    ];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "weft") {
                continue;
            }
            let Ok(src) = std::fs::read_to_string(&path) else {
                continue;
            };
            seen += 1;
            let (_, errs) = parse(F, &src);
            let first = src.lines().next().unwrap_or("");
            let line_of = |e: &SyntaxError| src[..e.span.start as usize].matches('\n').count() + 1;
            if first.contains("expect: E01") {
                let want = first
                    .split("line ")
                    .nth(1)
                    .and_then(|l| l.trim().parse::<usize>().ok());
                assert!(
                    !errs.is_empty(),
                    "{}: no syntax error reported",
                    path.display()
                );
                if let Some(want) = want {
                    assert_eq!(line_of(&errs[0]), want, "{}: {errs:#?}", path.display());
                }
            } else {
                assert!(errs.is_empty(), "{}: {errs:#?}", path.display());
            }
        }
    }
    eprintln!("parsed {seen} corpus files");
}

#[test]
#[ignore]
fn timing_pathological() {
    for (name, src) in [
        (
            "open parens then junk",
            format!("let a = {}{}", "(".repeat(250), "] ".repeat(100_000)),
        ),
        (
            "minus then junk",
            format!("let a = {}{}", "- (".repeat(120), "] ".repeat(100_000)),
        ),
        ("junk", "] ".repeat(100_000)),
        ("many errors", "let a = ) ".repeat(50_000)),
        (
            "body errors",
            format!("fn f() -> f32 {{ {} x }}", "let a = ); ".repeat(50_000)),
        ),
    ] {
        let t = std::time::Instant::now();
        let (_, errs) = parse(F, &src);
        eprintln!("{name}: {} errors in {:?}", errs.len(), t.elapsed());
    }
}

#[test]
fn crlf_tabs_and_trailing_comments() {
    let src = "dim B\r\n\tinput x: f32[B]\t// c\r\noutput x // end";
    let p = parse_ok(src);
    assert_eq!(p.items.len(), 3);
    assert_eq!(text(src, p.items[1].span()), "input x: f32[B]");
}

#[test]
fn leading_dot_float_is_not_a_number() {
    let (_, errs) = parse(F, "let a = .5");
    assert_eq!(codes(&errs), ["E0102"]);
    assert_eq!(errs[0].message, "unexpected `.`, expected an expression");
}
