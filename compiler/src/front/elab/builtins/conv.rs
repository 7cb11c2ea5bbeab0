//! Convolution and pooling (contract section 11).
//!
//! `conv2d(x: T[N, C, H, W], w: T[O, C/g, KH, KW])` is the graph op
//! `Conv2d`, whose derivatives (`Conv2dGradInput`, `Conv2dGradWeight`) are
//! in the derivative table and which every engine runs as the runtime's
//! convolution (per image: im2col into a scratch matrix, then GEMM;
//! `runtime/native/src/conv.rs`). `max_pool2d` / `avg_pool2d` are the
//! graph's window op (`ir/window.rs`) followed by the maximum / mean over
//! the `KH, KW` axes (windows filled with the dtype's lowest value / zero:
//! PyTorch counts padding in the average).

use weft_grammar::ast::Span;

use super::super::{Elab, Val};
use super::{Bound, Builtin};
use crate::front::diag::Diagnostic;
use crate::ir::graph::NodeId;
use crate::ir::op::{window_shape, BinaryOp, Op, ReduceOp};
use crate::ir::types::{DType, Dim, Scalar, TensorType};
use crate::ir::window::Window;

impl<'m> Elab<'m> {
    /// `stride=`, `padding=`, `dilation=`, a pool's `k`: an integer or a
    /// pair `(h, w)` of integers known at compile time, each at least `min`.
    fn pair_arg(&mut self, b: &Bound, what: &str, dflt: [u64; 2], min: u64) -> Option<[u64; 2]> {
        let Some((v, s, _)) = b else {
            return Some(dflt);
        };
        let items = match v {
            Val::Tuple(vs) if vs.len() == 2 => vs.clone(),
            Val::Tuple(_) => {
                self.err(
                    Diagnostic::error("E0314", format!("`{what}` takes one integer or a pair"), *s)
                        .label("not an integer or a pair (h, w)"),
                );
                return None;
            }
            other => vec![other.clone(), other.clone()],
        };
        let mut out = [0u64; 2];
        for (i, it) in items.iter().enumerate() {
            let n = self.static_int(it, *s, &format!("`{what}`"))?;
            if n < min as i64 {
                self.err(
                    Diagnostic::error(
                        "E0329",
                        format!("`{what}` must be at least {min}, found {n}"),
                        *s,
                    )
                    .label(format!("{what} {n}")),
                );
                return None;
            }
            out[i] = n as u64;
        }
        Some(out)
    }

    /// The window op over the last two axes of `x`, or the diagnostic for a
    /// window that does not fit them.
    fn window_of(
        &mut self,
        name: &str,
        x: NodeId,
        win: Window,
        fill: Scalar,
        (sx, span): (Span, Span),
    ) -> Option<NodeId> {
        let t = self.g.ty(x).clone();
        self.window_of_check(name, &t, &win, (sx, span))?;
        Some(self.g.add(Op::Window { win, fill }, &[x], Some(span)))
    }

    /// Whether `win` fits the last two axes of `t`, else its diagnostic
    /// (a size-name axis gets a size expression, checked at run time).
    fn window_of_check(
        &mut self,
        name: &str,
        t: &TensorType,
        win: &Window,
        (sx, span): (Span, Span),
    ) -> Option<()> {
        let r = t.rank() - 2;
        let (h, w) = (&t.shape[r], &t.shape[r + 1]);
        if window_shape(win, &t.shape).is_none() {
            let span_of = |a: usize| win.dilation[a] * (win.kernel[a] - 1) + 1;
            self.err(
                Diagnostic::error(
                    "E0329",
                    format!("the output of `{name}` on `{t}` is empty"),
                    span,
                )
                .label(format!(
                    "a {}x{} window does not fit {h}x{w} with padding {}x{}",
                    span_of(0),
                    span_of(1),
                    win.padding[0],
                    win.padding[1]
                ))
                .with(sx, format!("this is `{t}`"))
                .note(
                    "each output length is (H + 2·padding − dilation·(K − 1) − 1) div stride + 1",
                ),
            );
            return None;
        }
        Some(())
    }

    /// A float tensor of rank 4 (`[N, C, H, W]`) for `name`.
    fn image_arg(
        &mut self,
        name: &str,
        b: &Bound,
        what: &str,
    ) -> Option<(NodeId, TensorType, Span)> {
        let (x, t, sx) = self.tensor_arg(b)?;
        if t.rank() != 4 {
            self.err(
                Diagnostic::error(
                    "E0328",
                    format!("the {what} of `{name}` must have rank 4, found `{t}`"),
                    sx,
                )
                .label(format!("this is `{t}`"))
                .note(if what == "input" {
                    "the layout is [N, C, H, W]; `expand_dims(x, 0)` adds a batch axis"
                } else {
                    "the layout is [O, C/groups, KH, KW]"
                }),
            );
            return None;
        }
        Some((x, t, sx))
    }

    pub(super) fn conv2d(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
        let name = "conv2d";
        let (x, tx, sx) = self.image_arg(name, &a[0], "input")?;
        let (w, tw, sw) = self.image_arg(name, &a[1], "weight")?;
        for (t, s) in [(&tx, sx), (&tw, sw)] {
            if !t.dtype.is_float() {
                self.err(
                    Diagnostic::error(
                        "E0305",
                        format!("`conv2d` needs float tensors, found `{t}`"),
                        s,
                    )
                    .label(format!("this is `{t}`"))
                    .help("convert it first: `cast(.., f32)`"),
                );
                return None;
            }
        }
        if tx.dtype != tw.dtype {
            self.err(
                Diagnostic::error(
                    "E0303",
                    format!("`conv2d` of `{tx}` with a `{tw}` weight"),
                    span,
                )
                .label("the dtypes differ")
                .with(sx, format!("this is `{tx}`"))
                .with(sw, format!("this is `{tw}`")),
            );
            return None;
        }
        let stride = self.pair_arg(&a[2], "stride", [1, 1], 1)?;
        let padding = self.pair_arg(&a[3], "padding", [0, 0], 0)?;
        let dilation = self.pair_arg(&a[4], "dilation", [1, 1], 1)?;
        let groups = match &a[5] {
            None => 1,
            Some((v, s, _)) => {
                let g = self.static_int(v, *s, "`groups`")?;
                if g < 1 {
                    self.err(
                        Diagnostic::error(
                            "E0328",
                            format!("`groups` must be at least 1, found {g}"),
                            *s,
                        )
                        .label(format!("groups {g}")),
                    );
                    return None;
                }
                g as u64
            }
        };
        let (c, o) = (&tx.shape[1], &tw.shape[0]);
        let cg = &tw.shape[1];
        let literal = |d: &Dim| d.as_lit();
        // Channels: C = groups · (C/groups), O divisible by groups.
        let channels_ok = match (literal(c), literal(cg)) {
            (Some(c), Some(cg)) => c == cg * groups,
            _ => groups == 1 && c == cg,
        };
        if !channels_ok {
            self.err(
                Diagnostic::error(
                    "E0328",
                    format!("`conv2d` of `{tx}` with a `{tw}` weight: the channels do not match"),
                    sw,
                )
                .label(if groups == 1 {
                    format!("the weight takes {cg} input channels")
                } else {
                    format!("the weight takes {cg} channels per group, {groups} groups")
                })
                .with(sx, format!("the input has {c} channels"))
                .note("the weight of conv2d is [O, C/groups, KH, KW] for an input [N, C, H, W]"),
            );
            return None;
        }
        if groups > 1 && literal(o).is_none_or(|o| o % groups != 0) {
            self.err(
                Diagnostic::error(
                    "E0328",
                    format!("`conv2d` with {groups} groups: {o} output channels are not divisible by the groups"),
                    sw,
                )
                .label(format!("{o} output channels"))
                .note("each group computes O/groups output channels"),
            );
            return None;
        }
        let (kh, kw) = match (tw.shape[2].as_lit(), tw.shape[3].as_lit()) {
            (Some(h), Some(w)) if h > 0 && w > 0 => (h, w),
            _ => {
                self.err(
                    Diagnostic::error(
                        "E0314",
                        format!(
                            "the kernel of `conv2d` needs positive literal lengths, found `{tw}`"
                        ),
                        sw,
                    )
                    .label("the last two axes are the kernel's height and width"),
                );
                return None;
            }
        };
        let win = Window {
            kernel: [kh, kw],
            stride,
            padding,
            dilation,
        };
        // The window must fit (E0329), then the runtime's convolution.
        self.window_of_check(name, &tx, &win, (sx, span))?;
        let op = Op::Conv2d { win, groups };
        Some(Val::Tensor(self.g.add(op, &[x, w], Some(span))))
    }

    /// `max_pool2d(x, k, stride=k, padding=0)` and `avg_pool2d` on the last
    /// two axes of `x` (rank ≥ 2: `[N, C, H, W]` or `[C, H, W]`).
    pub(super) fn pool2d(&mut self, b: Builtin, span: Span, a: Vec<Bound>) -> Option<Val> {
        let name = b.name();
        let (x, t, sx) = self.tensor_arg(&a[0])?;
        let is_max = b == Builtin::MaxPool2d;
        let numeric = if is_max {
            t.dtype.is_numeric()
        } else {
            t.dtype.is_float()
        };
        if t.rank() < 2 || !numeric {
            self.err(
                Diagnostic::error(
                    "E0305",
                    format!(
                        "`{name}` needs a {} tensor of rank ≥ 2, found `{t}`",
                        if is_max { "numeric" } else { "float" }
                    ),
                    sx,
                )
                .label(format!("this is `{t}`")),
            );
            return None;
        }
        let k = self.pair_arg(&a[1], "k", [1, 1], 1)?;
        let stride = self.pair_arg(&a[2], "stride", k, 1)?;
        let padding = self.pair_arg(&a[3], "padding", [0, 0], 0)?;
        if let Some(i) = (0..2).find(|&i| padding[i] * 2 > k[i]) {
            let (sp, _) = a[3].clone().map(|(_, s, _)| (s, ())).unwrap_or((span, ()));
            self.err(
                Diagnostic::error(
                    "E0329",
                    format!("the padding of `{name}` must be at most half the window"),
                    sp,
                )
                .label(format!("padding {} for a window of {}", padding[i], k[i]))
                .note("as in PyTorch: a window would otherwise lie wholly in the padding"),
            );
            return None;
        }
        let win = Window {
            kernel: k,
            stride,
            padding,
            dilation: [1, 1],
        };
        // u8 is a storage dtype: pool in i32 and cast back.
        let (x, dt) = if t.dtype == DType::U8 {
            (self.g.cast(x, DType::I32, Some(sx)), DType::I32)
        } else {
            (x, t.dtype)
        };
        let fill = match (is_max, dt) {
            (false, _) => Scalar::Float(0.0),
            (true, DType::I32) => Scalar::Int(i64::from(i32::MIN)),
            (true, DType::I64) => Scalar::Int(i64::MIN),
            (true, _) => Scalar::Float(f64::NEG_INFINITY),
        };
        let cols = self.window_of(name, x, win, fill, (sx, span))?;
        let r = t.rank() - 2;
        let op = if is_max { ReduceOp::Max } else { ReduceOp::Sum };
        let red = self.g.reduce(op, cols, &[r, r + 1], Some(span));
        let mut shape = t.shape[..r].to_vec();
        let ts = self.g.ty(cols).shape.clone();
        shape.extend([ts[r + 2].clone(), ts[r + 3].clone()]);
        let mut y = self.g.reshape(red, &shape, Some(span));
        if !is_max {
            let n = (k[0] * k[1]) as f64;
            y = self.g.binary_scalar(BinaryOp::Div, y, n, Some(span));
        }
        if t.dtype == DType::U8 {
            y = self.g.cast(y, DType::U8, Some(span));
        }
        Some(Val::Tensor(y))
    }
}
