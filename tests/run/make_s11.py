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


def cases():
    conv_cases()
    pool_cases()
