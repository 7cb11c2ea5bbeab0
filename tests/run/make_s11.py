#!/usr/bin/env python3
"""Run cases of the contract's section 11 operations (convolution, pooling
and the builtins added with them), written into tests/run/cases/v2_op_*
by make_v2.py's `v2_cases` (so `python3 tests/run/make.py` rewrites them).

Every expected value comes from an independent float64 NumPy
implementation written from PyTorch's documented definitions with plain
loops (cross-correlation, zero padding, stride, dilation, groups;
max pooling over -inf padding, average pooling counting the padding), and
every gradient formula is checked against central differences of that
forward implementation before it is written.
"""
import numpy as np

from make import D, case, fd_check, w32

rng = np.random.default_rng(1111)


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# ------------------------------------------------------------ convolution
def conv2d(x, w, stride=1, padding=0, dilation=1, groups=1):
    """y[n, o, i, j] = sum_{c, a, b} x[n, g·C/g + c, i·sh + a·dh − ph, j·sw + b·dw − pw] w[o, c, a, b]."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    y = np.zeros((n, o, oh, ow))
    for b in range(n):
        for oc in range(o):
            g = oc // og
            for i in range(oh):
                for j in range(ow):
                    s = 0.0
                    for ci in range(cg):
                        for a in range(kh):
                            for q in range(kw):
                                r, t = i * sh + a * dh - ph, j * sw + q * dw - pw
                                if 0 <= r < h and 0 <= t < wd:
                                    s += x[b, g * cg + ci, r, t] * w[oc, ci, a, q]
                    y[b, oc, i, j] = s
    return y


def conv2d_grads(x, w, gy, stride=1, padding=0, dilation=1, groups=1):
    """dL/dx and dL/dw of L = sum(conv2d(x, w) * gy), by the same loops."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    _, _, oh, ow = gy.shape
    og = o // groups
    gx, gw = np.zeros(x.shape), np.zeros(w.shape)
    for b in range(n):
        for oc in range(o):
            g = oc // og
            for i in range(oh):
                for j in range(ow):
                    for ci in range(cg):
                        for a in range(kh):
                            for q in range(kw):
                                r, t = i * sh + a * dh - ph, j * sw + q * dw - pw
                                if 0 <= r < h and 0 <= t < wd:
                                    gx[b, g * cg + ci, r, t] += w[oc, ci, a, q] * gy[b, oc, i, j]
                                    gw[oc, ci, a, q] += x[b, g * cg + ci, r, t] * gy[b, oc, i, j]
    return gx, gw


# ---------------------------------------------------------------- pooling
def pool2d(x, k, stride=None, padding=0, kind="max"):
    """Over the last two axes; max over -inf padding, mean counting padding."""
    k = pair(k)
    stride = k if stride is None else pair(stride)
    (kh, kw), (sh, sw), (ph, pw) = k, stride, pair(padding)
    h, wd = x.shape[-2:]
    oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    fill = -np.inf if kind == "max" else 0.0
    xp = np.full(x.shape[:-2] + (h + 2 * ph, wd + 2 * pw), fill)
    xp[..., ph:ph + h, pw:pw + wd] = x
    y = np.zeros(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[..., i * sh:i * sh + kh, j * sw:j * sw + kw]
            y[..., i, j] = win.max(axis=(-2, -1)) if kind == "max" else win.sum(axis=(-2, -1)) / (kh * kw)
    return y


def pool2d_grad(x, gy, k, stride=None, padding=0, kind="max"):
    """dL/dx of L = sum(pool2d(x) * gy); a max's cotangent to its (unique) maximum."""
    k = pair(k)
    stride = k if stride is None else pair(stride)
    (kh, kw), (sh, sw), (ph, pw) = k, stride, pair(padding)
    h, wd = x.shape[-2:]
    oh, ow = gy.shape[-2:]
    gx = np.zeros(x.shape)
    lead = x.shape[:-2]
    for idx in np.ndindex(*lead):
        for i in range(oh):
            for j in range(ow):
                best, at = -np.inf, None
                for a in range(kh):
                    for b in range(kw):
                        r, t = i * sh + a - ph, j * sw + b - pw
                        inside = 0 <= r < h and 0 <= t < wd
                        if kind == "avg":
                            if inside:
                                gx[idx + (r, t)] += gy[idx + (i, j)] / (kh * kw)
                        elif inside and x[idx + (r, t)] > best:
                            best, at = x[idx + (r, t)], (r, t)
                if kind == "max" and at is not None:
                    gx[idx + at] += gy[idx + (i, j)]
    return gx


def conv_cases():
    # Every option at once: per-axis stride, padding and dilation, two groups.
    opts = dict(stride=(1, 2), padding=(1, 0), dilation=(2, 1), groups=2)
    x, w = f32(2, 4, 6, 5), f32(6, 2, 3, 2, scale=0.5)
    X, W = D(x), D(w)
    y = conv2d(X, W, **opts)
    gy = f32(*y.shape)
    gx, gw = conv2d_grads(X, W, D(gy), **opts)
    fd_check(lambda v: (conv2d(v, W, **opts) * D(gy)).sum(), X, gx)
    fd_check(lambda v: (conv2d(X, v, **opts) * D(gy)).sum(), W, gw)
    case("v2_op_conv2d_options_grads", "grad", f"""
        // conv2d with per-axis stride, padding and dilation and two groups
        // (PyTorch's cross-correlation), and its gradients to input and weight
        input x: f32[2, 4, 6, 5]
        input gy: f32{list(y.shape)}
        param w: f32[6, 2, 3, 2] = zeros()
        let y = conv2d(x, w, stride=(1, 2), padding=(1, 0), dilation=(2, 1), groups=2)
        output y
        output gx = grad(sum(y * gy), x)
        output gw = grad(sum(y * gy), w)
        """, {"x": x, "gy": gy}, params={"w": w},
         want=dict(y=w32(y), gx=w32(gx), gw=w32(gw)), rtol=1e-4, atol=1e-5)

    # Defaults, a size-name batch axis, a 1x1 convolution, and a layer
    # conv -> relu -> max pool -> avg pool whose loss is differentiated.
    x, w, w1 = f32(3, 3, 7, 7), f32(4, 3, 3, 3, scale=0.4), f32(2, 4, 1, 1)
    X, W, W1 = D(x), D(w), D(w1)

    def layer(X, W):
        h = np.maximum(conv2d(X, W, padding=1), 0)
        return pool2d(pool2d(h, 2), 3, stride=1, padding=1, kind="avg")

    z = layer(X, W)
    gz = f32(*z.shape)
    loss = lambda X, W: (layer(X, W) * D(gz)).sum()
    # By the chain rule through the references' own gradients.
    c = conv2d(X, W, padding=1)
    h = np.maximum(c, 0)
    p = pool2d(h, 2)
    gp = pool2d_grad(p, D(gz), 3, stride=1, padding=1, kind="avg")
    gh = pool2d_grad(h, gp, 2)
    gc = gh * (c > 0)
    gx, gw = conv2d_grads(X, W, gc, padding=1)
    fd_check(lambda v: loss(v, W), X, gx)
    fd_check(lambda v: loss(X, v), W, gw)
    case("v2_op_conv2d_relu_pool_layer", "grad", """
        // conv2d with its defaults on a size-name batch, a 1x1 convolution, and
        // a layer conv -> relu -> max_pool2d -> avg_pool2d differentiated end to end
        dim N
        input x: f32[N, 3, 7, 7]
        input gz: f32[N, 4, 3, 3]
        param w: f32[4, 3, 3, 3] = zeros()
        param w1: f32[2, 4, 1, 1] = zeros()
        let z = avg_pool2d(max_pool2d(relu(conv2d(x, w, padding=1)), 2), 3, stride=1, padding=1)
        output z
        output p1 = conv2d(z, w1)
        output gx = grad(sum(z * gz), x)
        output gw = grad(sum(z * gz), w)
        """, {"x": x, "gz": gz}, params={"w": w, "w1": w1},
         want=dict(z=w32(z), p1=w32(conv2d(z, W1)), gx=w32(gx), gw=w32(gw)),
         rtol=1e-4, atol=1e-5)


def pool_cases():
    x = f32(2, 3, 7, 6)
    X = D(x)
    specs = [("m2", dict(k=2), "max"), ("m3", dict(k=3, stride=2, padding=1), "max"),
             ("m23", dict(k=(2, 3), stride=(1, 2)), "max"),
             ("a3", dict(k=3, stride=2, padding=1), "avg"), ("a23", dict(k=(2, 3)), "avg")]
    want, lines = {}, []
    for name, kw, kind in specs:
        y = pool2d(X, kind=kind, **kw)
        gy = rng.standard_normal(y.shape)
        g = pool2d_grad(X, gy, kind=kind, **kw)
        fd_check(lambda v: (pool2d(v, kind=kind, **kw) * gy).sum(), X, g)
        args = ", ".join(f"{k}={v}" for k, v in kw.items() if k != "k")
        call = f"{kind}_pool2d(x, {kw['k']}{', ' + args if args else ''})"
        want[name] = w32(y)
        want["g" + name] = w32(g)
        lines.append(f"output {name} = {call}")
        lines.append(f"output g{name} = grad(sum({call} * w_{name}), x)")
        case_inputs = want.setdefault("_in", {})
        case_inputs["w_" + name] = w32(gy)
    ins = want.pop("_in")
    decls = "\n".join(f"input {k}: f32{list(v.shape)}" for k, v in ins.items())
    body = "\n".join(lines)
    prog = ("// max_pool2d and avg_pool2d: stride defaults to the window, padding\n"
            "// (max over -inf, counted in the average), and their gradients\n"
            f"input x: f32[2, 3, 7, 6]\n{decls}\n{body}\n")
    case("v2_op_pool2d_grads", "grad", prog, {"x": x, **ins}, want=want, rtol=1e-5, atol=1e-6)

    # Integer and u8 images: max pooling in their own dtype (u8 through i32).
    img = rng.integers(0, 256, size=(5, 6, 3), dtype=np.uint8)
    chw = np.transpose(img, (2, 0, 1))
    k = rng.integers(-1000, 1000, size=(2, 5, 5)).astype(np.int32)
    case("v2_op_pool2d_int_u8", "run", """
        // max pooling of u8 and i32 images keeps their dtype; padding never wins
        input img: u8[5, 6, 3]
        input k: i32[2, 5, 5]
        output m = max_pool2d(transpose(img, (2, 0, 1)), 2)
        output mk = max_pool2d(k, 3, stride=2, padding=1)
        """, {"img": img, "k": k},
         want=dict(m=pool2d(D(chw), 2).astype(np.uint8),
                   mk=pool2d(D(k), 3, stride=2, padding=1).astype(np.int32)),
         rtol=0, atol=0)




def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def elementwise_cases():
    """%, floor_div (NumPy's, special values included), atan2, softplus, and, or, not."""
    x = f32(5, 6, scale=3.0)
    y = f32(5, 6, scale=2.0)
    y[np.abs(y) < 0.2] = 0.5
    # Special values in the first row: NaN, ±inf, ±0, a zero divisor, exact multiples.
    x[0] = [np.nan, np.inf, -0.0, 0.0, 7.0, -7.0]
    y[0] = [1.0, 2.0, 3.0, -3.0, 0.0, 3.5]
    x[1, :3] = [-1e-30, 5.0, -5.0]
    y[1, :3] = [3.0, -np.inf, np.inf]
    k = rng.integers(-20, 20, size=(5, 6)).astype(np.int32)
    d = rng.integers(-5, 6, size=(5, 6)).astype(np.int32)
    d[0, 0] = 0                      # NumPy: k % 0 = k // 0 = 0
    k[0, 1], d[0, 1] = np.iinfo(np.int32).min, -1
    b = rng.random((5, 6)) < 0.5
    with np.errstate(all="ignore"):
        r, fd = np.remainder(x, y), np.floor_divide(x, y)
        ri, fi = np.remainder(k, d), np.floor_divide(k, d)
    X, Y = D(x), D(y)
    ok = np.isfinite(X) & np.isfinite(Y) & (Y != 0)
    xs, ys = np.where(ok, X, 1.0), np.where(ok, Y, 1.0)     # finite operands for the gradients
    xs[np.abs(xs) < 0.1] = 0.5                               # away from atan2's branch cut
    ga = ys / (xs ** 2 + ys ** 2)
    fd_check(lambda v: np.arctan2(v, ys).sum(), xs, ga)
    gs = sigmoid(xs)
    fd_check(lambda v: np.logaddexp(0, v).sum(), xs, gs)
    case("v2_op_rem_floordiv_atan2_softplus_logic", "grad", """
        // NumPy's % and // (the divisor's sign; NaN, inf, zero divisors), atan2,
        // softplus and the logical operators, with gradients
        input x: f32[5, 6]
        input y: f32[5, 6]
        input xs: f32[5, 6]
        input ys: f32[5, 6]
        input k: i32[5, 6]
        input d: i32[5, 6]
        input b: bool[5, 6]
        output r = x % y
        output fd = floor_div(x, y)
        output ri = k % d
        output fi = floor_div(k, d)
        output rk = k % 7 - floor_div(-17, 5) + 13 % -4
        output a2 = atan2(x, y)
        output sp = softplus(x)
        output lg = (x > 0.0) and b or not b
        output ln = not (k > 0) and true
        output g_rem = grad(sum(xs % ys), xs)
        output g_rem_y = grad(sum(xs % ys), ys)
        output g_atan2 = grad(sum(atan2(xs, ys)), xs)
        output g_sp = grad(sum(softplus(xs)), xs)
        """, {"x": x, "y": y, "xs": w32(xs), "ys": w32(ys), "k": k, "d": d, "b": b},
         want=dict(r=r, fd=fd, ri=ri, fi=fi, rk=(np.remainder(k, 7) - (-17 // 5) + 13 % -4).astype(np.int32),
                   a2=np.arctan2(x, y), sp=w32(np.logaddexp(0, X)),
                   lg=((x > 0) & b) | ~b, ln=~(k > 0),
                   g_rem=np.ones_like(x), g_rem_y=w32(-np.floor_divide(w32(xs), w32(ys))),
                   g_atan2=w32(ga), g_sp=w32(gs)),
         nan=("r", "fd", "a2", "sp"), tols={"r": (0, 0), "fd": (0, 0), "ri": (0, 0), "fi": (0, 0),
                                      "a2": (3e-7, 1e-7)})   # NumPy's float32 arctan2 is not the C library's: 1 ulp


def reduction_cases():
    """argmin, any, all, var, std, logsumexp, with gradients."""
    x = f32(4, 5)
    x[0, 2] = np.nan
    xg = f32(4, 5)
    k = rng.integers(-9, 9, size=(4, 5)).astype(np.int32)
    k[1, 3] = np.iinfo(np.int32).min
    b = rng.random((4, 5)) < 0.6
    big = np.array([[1000.0, 999.0, -np.inf], [-np.inf, -np.inf, -np.inf]], np.float32)
    X = D(xg)
    m = X.mean(axis=1, keepdims=True)
    sd = X.std(axis=1, keepdims=True)
    g_std = (X - m) / (X.shape[1] * sd)
    fd_check(lambda v: v.std(axis=1).sum(), X, g_std)
    sm = np.exp(X - X.max(axis=0)) / np.exp(X - X.max(axis=0)).sum(axis=0)
    fd_check(lambda v: np.log(np.exp(v).sum(axis=0)).sum(), X, sm)
    g_var = 2 * (X - X.mean()) / X.size
    with np.errstate(all="ignore"):
        lse_big = np.log(np.exp(D(big) - np.array([[1000.0], [0.0]])).sum(axis=1)) + np.array([1000.0, 0.0])
    case("v2_op_reductions_section11", "grad", """
        // argmin (the first NaN wins, integers at their minimum), any, all, var
        // and std (ddof=0), logsumexp (stable for large and -inf values), gradients
        input x: f32[4, 5]
        input xg: f32[4, 5]
        input k: i32[4, 5]
        input b: bool[4, 5]
        input big: f32[2, 3]
        output am = argmin(x, axis=1)
        output am0 = argmin(xg, axis=0)
        output amk = argmin(k, axis=1)
        output an = any(b, axis=0)
        output al = all(b, axis=1, keepdims=true)
        output al_all = all(b)
        output v = var(xg)
        output v1 = var(xg, axis=1)
        output s1 = std(xg, axis=1, keepdims=true)
        output l0 = logsumexp(xg, axis=0)
        output lb = logsumexp(big, axis=1)
        output g_std = grad(sum(std(xg, axis=1)), xg)
        output g_var = grad(var(xg), xg)
        output g_lse = grad(sum(logsumexp(xg, axis=0)), xg)
        """, {"x": x, "xg": xg, "k": k, "b": b, "big": big},
         want=dict(am=np.argmin(x, axis=1), am0=np.argmin(xg, axis=0), amk=np.argmin(k, axis=1),
                   an=np.any(b, axis=0), al=np.all(b, axis=1, keepdims=True),
                   al_all=np.all(b), v=w32(X.var()), v1=w32(X.var(axis=1)), s1=w32(sd),
                   l0=w32(np.log(np.exp(X).sum(axis=0))), lb=w32(lse_big),
                   g_std=w32(g_std), g_var=w32(g_var), g_lse=w32(sm)),
         nan=("lb",), rtol=1e-5, atol=1e-6)


def shape_cases():
    """eye, tril, triu, flip, pad, scatter_add, with gradients."""
    x = f32(3, 4)
    t = f32(2, 4, 4)
    idx = np.array([[2, 0], [2, 4]], np.int64)
    vals = f32(2, 2, 3)
    table = f32(5, 3)
    gw = f32(4, 6)
    P = np.pad(D(x), ((1, 0), (0, 2)), constant_values=-1.5)
    sa = D(table).copy()
    np.add.at(sa, idx, D(vals))
    case("v2_op_eye_tri_flip_pad_scatter", "grad", """
        // eye, tril/triu with a diagonal offset, flip of one and several axes,
        // pad with a value, scatter_add with repeated rows; gradients
        input x: f32[3, 4]
        input t: f32[2, 4, 4]
        input idx: i64[2, 2]
        input vals: f32[2, 2, 3]
        input table: f32[5, 3]
        input gw: f32[4, 6]
        output e = eye(3)
        output ei = eye(4, dtype=i32)
        output tl = tril(t)
        output tu = triu(t, k=1)
        output tlm = tril(x, k=-1)
        output f1 = flip(x, 1)
        output f01 = flip(t, (0, 2))
        output fa = flip(x)
        output p = pad(x, ((1, 0), (0, 2)), value=-1.5)
        output sa = scatter_add(table, idx, vals)
        output g_pad = grad(sum(pad(x, ((1, 0), (0, 2))) * gw), x)
        output g_flip = grad(sum(flip(x, 1) * x), x)
        output g_sa = grad(sum(scatter_add(table, idx, vals) * table[:, 0:1]), vals)
        """, {"x": x, "t": t, "idx": idx, "vals": vals, "table": table, "gw": gw},
         want=dict(e=np.eye(3, dtype=np.float32), ei=np.eye(4, dtype=np.int32), tl=np.tril(t),
                   tu=np.triu(t, k=1), tlm=np.tril(x, k=-1), f1=np.flip(x, 1), f01=np.flip(t, (0, 2)),
                   fa=np.flip(x), p=w32(P), sa=w32(sa), g_pad=w32(D(gw)[1:, :4]),
                   g_flip=w32(D(x)[:, ::-1] * 2),
                   g_sa=w32(np.broadcast_to(D(table)[idx][..., 0:1], (2, 2, 3)))),
         rtol=1e-5, atol=1e-6)


def syntax_cases():
    """.T, None indexing, negative-step slices, tensor literals (weak), a u8 image pipeline."""
    x = f32(3, 4)
    img = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    X = D(x)
    mean = np.array([0.485, 0.456, 0.406])
    std = np.array([0.229, 0.224, 0.225])
    # normalise (a tensor literal), crop, flip, to CHW, 2x2 average pooling
    z = (D(img) / 255.0 - mean) / std
    z = z[1:5, 2:8][:, ::-1].transpose(2, 0, 1)
    pooled = pool2d(z, 2, kind="avg")
    g = np.zeros((3, 4))
    g[::-1, 1:] += X.T[1:, :]          # d/dx of sum(x[::-1, 1:] * x.T[1:, :])
    g[:, 1:] += X[::-1, 1:].T
    fd_check(lambda v: (v[::-1, 1:] * v.T[1:, :]).sum(), X, g)
    case("v2_op_syntax_T_none_negstep_literals", "grad", """
        // x.T, x[None] and x[:, None], negative-step slices, tensor literals that
        // take the dtype they meet; a u8 image normalised with literals, cropped,
        // flipped and pooled
        input x: f32[3, 4]
        input img: u8[6, 8, 3]
        output t = x.T
        output n0 = x[None]
        output n1 = x[:, None]
        output n2 = x[1, None, ::-1]
        output r = x[::-1]
        output r2 = x[2:0:-1, 3::-2]
        output r3 = x[-1::-2, ::-3]
        output lit = [0.485, 0.456, 0.406]
        output lit2 = [[1, 2], [3, 4]] * 2
        output neg = -[1, 2]
        output mixed = x * [1.0, 2.0, 3.0, 4.0] + [[1], [2], [3]]
        let z = (cast(img, f32) / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
        output pooled = avg_pool2d(transpose(z[1:5, 2:8][:, ::-1], (2, 0, 1)), 2)
        output g = grad(sum(x[::-1, 1:] * x.T[1:, :]), x)
        """, {"x": x, "img": img},
         want=dict(t=x.T, n0=x[None], n1=x[:, None], n2=x[1, None, ::-1], r=x[::-1], r2=x[2:0:-1, 3::-2],
                   r3=x[-1::-2, ::-3], lit=np.array([0.485, 0.456, 0.406], np.float32),
                   lit2=np.array([[2, 4], [6, 8]], np.int32), neg=np.array([-1, -2], np.int32),
                   mixed=w32(X * [1, 2, 3, 4] + [[1], [2], [3]]), pooled=w32(pooled), g=w32(g)),
         rtol=1e-5, atol=1e-6)


def prod_cumsum_cases():
    """prod (gradient at zeros: the product of the others) and cumsum, with gradients."""
    x = f32(4, 5, scale=0.8) + 0.2
    x[1, 2] = 0.0                     # one zero in row 1
    x[3, 0] = x[3, 4] = 0.0           # two zeros in row 3
    k = rng.integers(-4, 5, size=(3, 4)).astype(np.int32)
    X = D(x)

    def prod_grad(X, axis):
        g = np.zeros_like(X)
        for idx in np.ndindex(*X.shape):
            lane = np.moveaxis(X, axis, -1)[tuple(i for a, i in enumerate(idx) if a != axis)]
            g[idx] = np.prod(np.delete(lane, idx[axis]))
        return g

    g1 = prod_grad(X, 1)
    fd_check(lambda v: v.prod(axis=1).sum(), X, g1)
    w = f32(4, 5)
    gcw = np.cumsum(D(w)[:, ::-1], axis=1)[:, ::-1]
    fd_check(lambda v: (np.cumsum(v, axis=1) * D(w)).sum(), X, gcw)
    case("v2_op_prod_cumsum", "grad", """
        // prod (f32 accumulated in f64; integers wrap) and cumsum (running sums
        // in the dtype, NumPy's order), and their gradients, zeros included
        input x: f32[4, 5]
        input k: i32[3, 4]
        input w: f32[4, 5]
        output p1 = prod(x, axis=1)
        output p_all = prod(x)
        output pk = prod(k, axis=0, keepdims=true)
        output c1 = cumsum(x, axis=1)
        output c0 = cumsum(x, axis=0)
        output cflat = cumsum(k)
        output ck = cumsum(k, axis=-1)
        output g_prod = grad(sum(prod(x, axis=1)), x)
        output g_cumsum = grad(sum(cumsum(x, axis=1) * w), x)
        """, {"x": x, "k": k, "w": w},
         want=dict(p1=w32(X.prod(axis=1)), p_all=w32(X.prod()), pk=np.prod(k, axis=0, keepdims=True).astype(np.int32),
                   c1=np.cumsum(x, axis=1), c0=np.cumsum(x, axis=0), cflat=np.cumsum(k).astype(np.int32),
                   ck=np.cumsum(k, axis=-1).astype(np.int32), g_prod=w32(g1), g_cumsum=w32(gcw)),
         rtol=1e-5, atol=1e-6)


def image_pipeline_case():
    """examples/image_pipeline.weft against NumPy."""
    imgs = rng.integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)
    x = D(imgs) / 255.0
    norm = (x - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    crop = norm[:, 4:28, 4:28]
    odd = (np.arange(3) % 2 == 1).reshape(3, 1, 1, 1)
    flip = np.where(odd, crop[:, :, ::-1], crop)
    chw = flip.transpose(0, 3, 1, 2)
    case("v2_example_image_pipeline", "run", None, {"imgs": imgs},
         program="examples/image_pipeline.weft",
         want=dict(small=w32(pool2d(chw, 2, kind="avg")), peaks=w32(pool2d(chw, 3, stride=2, padding=1)),
                   channel_means=w32(chw.mean(axis=(0, 2, 3)))),
         rtol=1e-5, atol=1e-5)


def einsum_case():
    """einsum: matrix, batched, outer and inner products, transposes, implicit
    results, three operands, sums of one operand, gradients."""
    a, b, v = f32(2, 3), f32(3, 4), f32(3)
    c, d = f32(5, 3, 4), f32(5, 4, 2)
    t, w = f32(2, 3, 4), f32(4, 2)
    A, B, W = D(a), D(b), D(w)
    sq, cube = f32(3, 3), f32(2, 3, 3)
    sq[0, 1] = np.nan                                  # off the diagonal: never read
    gy = f32(2, 4)
    g_b = np.einsum("ij,ik->jk", A, D(gy))          # d/db of sum(a @ b * gy)
    fd_check(lambda x: (np.einsum("ij,jk->ik", A, x) * D(gy)).sum(), B, g_b)
    g_w = np.einsum("ij,jk,il->kl", A, B, D(gy)[:, :2])
    fd_check(lambda x: (np.einsum("ij,jk,kl->il", A, B, x) * D(gy)[:, :2]).sum(), W, g_w)
    case("v2_op_einsum", "grad", """
        // einsum: matrix and batched products, outer and inner products, a
        // transpose, an implicit result, three operands, sums, gradients
        dim N
        input a: f32[2, 3]
        input b: f32[3, 4]
        input c: f32[N, 3, 4]
        input d: f32[N, 4, 2]
        input v: f32[3]
        input t: f32[2, 3, 4]
        input w: f32[4, 2]
        input gy: f32[2, 4]
        input sq: f32[3, 3]
        input cube: f32[2, 3, 3]
        output mm = einsum("ij,jk->ik", a, b)
        output bmm = einsum("bij,bjk->bik", c, d)
        output outer = einsum("i,j->ij", v, v)
        output dot = einsum("i,i->", v, v)
        output tr = einsum("ij->ji", a)
        output implicit = einsum("kj,ji", b.T, a.T)
        output three = einsum("ij,jk,kl->il", a, b, w)
        output multi = einsum("abc,bc->a", t, b)
        output red = einsum("abc->b", t)
        output mixed = einsum("bij,jk->bik", c, w)
        output diag = einsum("ii->i", sq)
        output trace = einsum("ii", sq)
        output bdiag = einsum("bii->bi", cube)
        output g_b = grad(sum(einsum("ij,jk->ik", a, b) * gy), b)
        output g_w = grad(sum(einsum("ij,jk,kl->il", a, b, w) * gy[:, 0:2]), w)
        """, {"a": a, "b": b, "c": c, "d": d, "v": v, "t": t, "w": w, "gy": gy,
                                        "sq": sq, "cube": cube},
         want=dict(mm=w32(A @ B), bmm=w32(D(c) @ D(d)), outer=w32(np.outer(D(v), D(v))),
                   dot=w32(D(v) @ D(v)), tr=a.T, implicit=w32(np.einsum("kj,ji", B.T, A.T)),
                   three=w32(A @ B @ W), multi=w32(np.einsum("abc,bc->a", D(t), B)),
                   red=w32(D(t).sum(axis=(0, 2))), mixed=w32(np.einsum("bij,jk->bik", D(c), W)),
                   diag=np.diagonal(sq).copy(), trace=w32(np.trace(D(sq))),
                   bdiag=np.einsum("bii->bi", cube),
                   g_b=w32(g_b), g_w=w32(g_w)),
         rtol=1e-5, atol=1e-5)


def sort_cases():
    """sort, argsort (NaN last, stable) and topk (largest first), gradients."""
    x = f32(4, 7)
    x[0, 3] = np.nan
    x[1, 1] = x[1, 5] = 0.25                  # a tie: stable order
    k = rng.integers(-50, 50, size=(3, 6)).astype(np.int32)
    xg = f32(3, 6)
    w = f32(3, 6)
    Xg = D(xg)
    srt = np.sort(Xg, axis=1)
    order = np.argsort(Xg, axis=1, kind="stable")
    g_sort = np.zeros_like(Xg)
    np.put_along_axis(g_sort, order, D(w), axis=1)
    fd_check(lambda v: (np.sort(v, axis=1) * D(w)).sum(), Xg, g_sort)
    top_i = np.argsort(-Xg, axis=1, kind="stable")[:, :3]
    g_top = np.zeros_like(Xg)
    np.put_along_axis(g_top, top_i, D(w)[:, :3], axis=1)
    xnan_desc = np.argsort(np.where(np.isnan(x), -np.inf, -x), axis=1, kind="stable")[:, :2]
    case("v2_op_sort_argsort_topk", "grad", """
        // sort and argsort along an axis (stable; NaN last), topk (largest first,
        // NaN above every number), integer keys, gradients through the values
        input x: f32[4, 7]
        input k: i32[3, 6]
        input xg: f32[3, 6]
        input w: f32[3, 6]
        output s = sort(x)
        output a = argsort(x)
        output s0 = sort(xg, axis=0)
        output a0 = argsort(k, axis=0)
        output sk = sort(k)
        let (tv, ti) = topk(x, 2)
        output tv
        output ti
        let (kv, ki) = topk(k, 3)
        output kv
        output ki
        output g_sort = grad(sum(sort(xg, axis=1) * w), xg)
        let (t3, i3) = topk(xg, 3)
        output i3
        output g_top = grad(sum(t3 * w[:, 0:3]), xg)
        """, {"x": x, "k": k, "xg": xg, "w": w},
         want=dict(s=np.sort(x, axis=1), a=np.argsort(x, axis=1, kind="stable"), s0=np.sort(xg, axis=0),
                   a0=np.argsort(k, axis=0, kind="stable"), sk=np.sort(k, axis=1),
                   tv=np.take_along_axis(x, xnan_desc, axis=1), ti=xnan_desc,
                   kv=np.take_along_axis(k, np.argsort(-k, axis=1, kind="stable")[:, :3], axis=1),
                   ki=np.argsort(-k, axis=1, kind="stable")[:, :3],
                   i3=top_i, g_sort=w32(g_sort), g_top=w32(g_top)),
         nan=("s", "tv"), rtol=0, atol=0)


def simplify_regression_case():
    """Regression: simplify drops products by one, but an output computed from
    a param is its value during the last step, not the param after the last
    update."""
    case("v2_regression_identity_of_param_output", "run", """
        // outputs computed from a param by a product by one show the value
        // during the last step (the param shows the value after it)
        param a: f32[2] = zeros()
        update a = a + 1.0
        output a
        output times_one = a * 1.0
        output one_times = 1 * a
        """, {}, want=dict(a=np.full(2, 3.0, np.float32), times_one=np.full(2, 2.0, np.float32),
                           one_times=np.full(2, 2.0, np.float32)),
         steps=3, rtol=0, atol=0)


# ------------------------------------------------------- size expressions
def size_expr_cases():
    """Types with size expressions (section 11): slices, concat, pad, reshape
    and size values on size-name axes; function size parameters solved from
    `2 * N`; convolution and pooling of size-name images with gradients; the
    gradient of a concatenation at run-time offsets; run-time errors."""
    a, b = f32(5), f32(3)
    c = np.concatenate([a, b])
    case("v2_size_expr_slices_concat", "run", """
        // slices, concat, pad, reshape and size values on size-name axes: the
        // types are size expressions (N + M, N + M - 1, (N + M + 1) div 2, ..)
        dim N, M
        input a: f32[N]
        input b: f32[M]
        let c: f32[N + M] = concat((a, b), axis=0)
        let tail: f32[M + N - 1] = c[1:]
        output tail
        output head = c[:-1]
        output even = c[::2]
        output odd = c[1::2]
        output last3 = c[-3:]
        output mid = c[2:-2]
        output back2 = c[::-2]
        output from_second_last = c[-2::-1]
        output last = c[-1]
        output padded = pad(a, ((2, 1),), value=-1)
        output grid = reshape(concat((a, a), axis=0), (2, N))
        output flat = reshape(stack((a, a), axis=1), (-1,))
        output count = cast(N + M - 1, f32) + zeros((2 * N + 1,))
        output both_ends = c[:-1] + c[1:]
        """, {"a": a, "b": b},
         want=dict(tail=c[1:], head=c[:-1], even=c[::2], odd=c[1::2], last3=c[-3:],
                   mid=c[2:-2], back2=c[::-2], from_second_last=c[-2::-1], last=c[-1],
                   padded=np.pad(a, (2, 1), constant_values=-1),
                   grid=np.concatenate([a, a]).reshape(2, 5),
                   flat=np.stack([a, a], axis=1).reshape(-1),
                   count=np.full(11, 7.0, np.float32), both_ends=c[:-1] + c[1:]),
         rtol=0, atol=0)

    x, y = f32(4, 6), f32(8)
    def halves(v):
        r = v.reshape(-1, 2)
        return r[:, 0] + r[:, 1]
    def grow(v):
        return np.concatenate([v, v[-1:]])
    case("v2_size_expr_fn_params", "run", """
        // function size parameters solved from a size expression (2 * N) and
        // results typed by one (N + 1); an input typed f32[2 * B]
        dim B
        input x: f32[B, 6]
        input y: f32[2 * B]
        fn halves[N](v: f32[2 * N]) -> f32[N] {
            let r = reshape(v, (N, 2));
            r[:, 0] + r[:, 1]
        }
        fn grow[N](v: f32[N]) -> f32[N + 1] {
            concat((v, v[-1:]), axis=0)
        }
        output h = halves(x[0])
        output g = grow(grow(x[1]))
        output hc = halves(concat((x[0], x[1]), axis=0))
        let hy: f32[B] = halves(y)
        output hy
        output gy = grow(y)
        """, {"x": x, "y": y},
         want=dict(h=halves(x[0]), g=grow(grow(x[1])),
                   hc=halves(np.concatenate([x[0], x[1]])), hy=halves(y), gy=grow(y)),
         rtol=1e-6, atol=1e-6)

    x, w = f32(2, 2, 9, 12), f32(3, 2, 3, 3, scale=0.4)
    X, W = D(x), D(w)
    cv = conv2d(X, W, stride=2, padding=1)
    h = np.maximum(cv, 0)
    z = pool2d(h, 2)
    gh = pool2d_grad(h, 2 * z, 2)
    gx, gw = conv2d_grads(X, W, gh * (cv > 0), stride=2, padding=1)
    loss = lambda X, W: (pool2d(np.maximum(conv2d(X, W, stride=2, padding=1), 0), 2) ** 2).sum()
    fd_check(lambda v: loss(v, W), X, gx)
    fd_check(lambda v: loss(X, v), W, gw)
    case("v2_size_expr_conv_pool", "grad", """
        // conv2d and max_pool2d of images whose height and width are size
        // names: the output lengths are size expressions, and the gradients
        // flow through them
        dim N, H, W
        input x: f32[N, 2, H, W]
        param w: f32[3, 2, 3, 3] = zeros()
        let c: f32[N, 3, (H - 1) div 2 + 1, (W - 1) div 2 + 1] = conv2d(x, w, stride=2, padding=1)
        let z = max_pool2d(relu(c), 2)
        output z
        output gx = grad(sum(z * z), x)
        output gw = grad(sum(z * z), w)
        """, {"x": x}, params={"w": w},
         want=dict(z=w32(z), gx=w32(gx), gw=w32(gw)), rtol=1e-4, atol=1e-5)

    a, b, cc = f32(4), f32(3), f32(10)
    A, B, C = D(a), D(b), D(cc)
    def lossf(A, B):
        j = np.concatenate([A, B, A[:2]])
        k = np.pad(j, (0, 1))
        return (k * C).sum() + (j * j).sum()
    ga = C[:4] + 2 * A
    ga[:2] += C[7:9] + 2 * A[:2]
    gb = C[4:7] + 2 * B
    fd_check(lambda v: lossf(v, B), A, ga)
    fd_check(lambda v: lossf(A, v), B, gb)
    case("v2_size_expr_concat_grad", "grad", """
        // the gradient of a concatenation whose parts start at offsets known
        // only at run time (N, N + M), and of a pad of a size-name axis
        dim N, M
        input a: f32[N]
        input b: f32[M]
        input c: f32[N + M + 3]
        let j = concat((a, b, a[:2]), axis=0)
        let k = pad(j, ((0, 1),))
        let loss = sum(k * c) + sum(j * j)
        output ga = grad(loss, a)
        output gb = grad(loss, b)
        """, {"a": a, "b": b, "c": cc}, want=dict(ga=w32(ga), gb=w32(gb)))

    case("v2_size_expr_rterr_not_positive", "rterr", """
        // x[1:] of a one-element x has the length N - 1 = 0: exit 3
        dim N
        input x: f32[N]
        output y = x[1:]
        """, {"x": f32(1)}, exit=3)
    case("v2_size_expr_rterr_axis_mismatch", "rterr", """
        // y must have N + 1 elements: exit 3 naming the size expression
        dim N
        input x: f32[N]
        input y: f32[N + 1]
        output s = sum(x) + sum(y)
        """, {"x": f32(3), "y": f32(3)}, exit=3)


def more_cases():
    elementwise_cases()
    reduction_cases()
    shape_cases()
    syntax_cases()
    prod_cumsum_cases()
    image_pipeline_case()
    einsum_case()
    sort_cases()
    simplify_regression_case()
    size_expr_cases()


def cases():
    conv_cases()
    pool_cases()
    more_cases()
