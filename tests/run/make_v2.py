#!/usr/bin/env python3
"""Writes the run cases of the contract's v2 sections 9 and 10 (records,
steps, minibatches, until, u8) into tests/run/cases/v2_*, in the format of
make.py (whose `main` calls this last). Every expected value comes from an
independent NumPy implementation of the contract's text: the batch order
from its SplitMix64 formula, optimisers from PyTorch's update rules in
float64, record gradients from formulas checked by central differences.

    python3 tests/run/make_v2.py      # rewrites only the v2_* cases
"""
import os, shutil

import numpy as np

import make
from make import D, case, fd_check, w32

rng = np.random.default_rng(20261204)
f64 = np.float64
M64 = (1 << 64) - 1


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# ------------------------------------------------------------ batch order
def mix(x):
    """The contract's SplitMix64 `mix` on unsigned 64-bit integers."""
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def perm(n, k, e):
    """Rows 0..n sorted by mix(mix(mix(k) xor e) xor i), ties by i."""
    if k is None:
        return list(range(n))
    keys = [mix(mix(mix(k) ^ e) ^ i) for i in range(n)]
    return sorted(range(n), key=lambda i: (keys[i], i))


def batch_rows(n, size, k, step, world=1, rank=0):
    nb = n // (size * world)
    e, j = step // nb, step % nb
    p = perm(n, k, e)
    return [p[(j * world + rank) * size + i] for i in range(size)]


def batch_cases():
    for name, n, size, k, steps in [("v2_batch_noshuffle_epochs", 10, 3, None, 8),
                                    ("v2_batch_shuffle_epochs", 11, 4, 5, 9)]:
        x = f32(n, 2)
        ids = np.arange(n, dtype=np.int64)
        code = np.zeros(size, np.int64)
        tot = np.zeros(2)
        for s in range(steps):
            r = batch_rows(n, size, k, s)
            code = code * 16 + ids[r]
            tot = tot + D(x)[r].sum(0) * (s + 1)
        shuffle = "" if k is None else f", shuffle={k}"
        case(name, "run", f"""
            // batch's order over several epochs, as the contract's formula gives it
            dim N
            input x: f32[N, 2]
            input ids: i64[N]
            param code: i64[{size}] = zeros()
            param tot: f32[2] = zeros()
            let (xb, ib) = batch((x, ids), {size}{shuffle})
            update code = code * 16 + ib
            update tot = tot + sum(xb, axis=0) * cast(step + 1, f32)
            output xb
            output ib
            output code
            output tot
            """, {"x": x, "ids": ids},
             want=dict(xb=x[r], ib=ids[r], code=code, tot=w32(tot)), steps=steps)

    # A value computed from inputs, a const size, shuffle key 0; 2 epochs and a half.
    x = f32(7, 3)
    acc = np.zeros(3)
    for s in range(5):
        r = batch_rows(7, 2, 0, s)
        acc = acc + (D(x)[r] * 2 + 1).sum(0)
    case("v2_batch_of_computed_value", "run", """
        // batch of a value computed from an input, with a const size
        const bs = 2
        input x: f32[7, 3]
        param acc: f32[3] = zeros()
        update acc = acc + sum(batch(x * 2.0 + 1.0, bs, shuffle=0), axis=0)
        output acc
        """, {"x": x}, want=dict(acc=w32(acc)), steps=5)

    case("v2_rterr_batch_larger_than_data", "rterr", """
        // batch of 4 rows from 3: no whole batch an epoch, exit 3
        dim N
        input x: f32[N, 2]
        output s = sum(batch(x, 4))
        """, {"x": f32(3, 2)}, exit=3)


# ---------------------------------------------------------------- records
def record_cases():
    x = f32(4, 3)
    w, b = f32(3, 2, scale=0.5), f32(2, scale=0.3)
    X, W, B = D(x), D(w), D(b)

    def loss(W, B):
        return (np.tanh(X @ W + B) ** 2).sum()

    h = np.tanh(X @ W + B)
    dpre = 2 * h * (1 - h * h)
    gw, gb = X.T @ dpre, dpre.sum(0)
    gx = dpre @ W.T
    fd_check(lambda v: loss(v, B), W, gw)
    fd_check(lambda v: loss(W, v), B, gb)
    fd_check(lambda v: (np.tanh(v @ W + B) ** 2).sum(), X, gx)
    case("v2_record_grad", "grad", """
        // grad with respect to a record param gives a record of its type;
        // a record may sit in a tuple of targets
        input x: f32[4, 3]
        param net {
            w: f32[3, 2] = zeros()
            inner { b: f32[2] = zeros() }
        }
        let loss = sum(tanh(x @ net.w + net.inner.b) ** 2.0)
        output g = grad(loss, net)
        let (gn, gxx) = grad(loss, (net, x))
        output gb2 = gn.inner.b
        output gx = gxx
        """, {"x": x}, params={"net.w": w, "net.inner.b": b},
         want={"g.w": w32(gw), "g.inner.b": w32(gb), "gb2": w32(gb), "gx": w32(gx)})

    # Record inputs, one leaf of a record param from a file, literals, leaf-wise
    # operators and builtins, a record let and a generic function over records.
    a, rb = f32(4), f32(2, 4)
    pw = f32(4)
    A, RB, PW = D(a), D(rb), D(pw)
    q_w, q_b = np.exp(RB * A), np.maximum(A, 0) + 1
    case("v2_record_values", "run", """
        // record inputs, --param of one leaf, leaf-wise operators and builtins
        input r: {a: f32[4], b: f32[2, 4]}
        param net {
            w: f32[4] = zeros()
            k: f32[4] = full(2.0)
        }
        fn twice[type P](p: P) -> P { p + p }
        let q: {w: f32[2, 4], b: f32[4]} = {b: maximum(r.a, 0.0) + 1.0, w: exp(r.b * r.a)}
        let s = twice({u: net.w, v: net.k}) * 0.5 - 1.0
        output q
        output s
        output y = r.b * r.a + net.w
        output net
        """, {"r.a": a, "r.b": rb}, params={"net.w": pw},
         want={"q.w": w32(q_w), "q.b": w32(q_b), "s.u": w32(PW - 1), "s.v": np.full(4, 1.0, np.float32),
               "y": w32(RB * A + PW), "net.w": pw, "net.k": np.full(4, 2.0, np.float32)}, rtol=1e-5)


# ------------------------------------------------------------- optimisers
def optim_cases():
    x, target = f32(6, 3), f32(6, 2)
    w0, b0 = f32(3, 2, scale=0.5), f32(2, scale=0.2)
    X, Y = D(x), D(target)

    def grads(p):
        r = X @ p["w"] + p["b"] - Y
        n = r.size
        return {"w": X.T @ (2 * r) / n, "b": (2 * r).sum(0) / n}, (r ** 2).mean()

    lr, steps = 0.05, 6
    rules = {
        "sgd": ("let net2 = optim.sgd(net, g, {lr}, wd=0.1)\nupdate net = net2", ["net"]),
        "sgd_momentum": ("let (net2, s2) = optim.sgd_momentum(net, g, s, {lr}, mu=0.8, wd=0.05)\n"
                         "update net = net2\nupdate s = s2", ["net", "s"]),
        "adam": ("let (net2, m2, v2) = optim.adam(net, g, m, v, t, {lr})\n"
                 "update net = net2\nupdate m = m2\nupdate v = v2\nupdate t = t + 1", ["net", "m", "v"]),
        "adamw": ("let (net2, m2, v2) = optim.adamw(net, g, m, v, t, {lr}, wd=0.1)\n"
                  "update net = net2\nupdate m = m2\nupdate v = v2\nupdate t = t + 1", ["net", "m", "v"]),
        "rmsprop": ("let (net2, s2) = optim.rmsprop(net, g, s, {lr}, alpha=0.9, wd=0.05)\n"
                    "update net = net2\nupdate s = s2", ["net", "s"]),
    }
    for name, (body, outs) in rules.items():
        p = {"w": D(w0), "b": D(b0)}
        st = {k: {"w": np.zeros((3, 2)), "b": np.zeros(2)} for k in ("s", "m", "v")}
        for t in range(steps):
            g, _ = grads(p)
            for k in ("w", "b"):
                if name == "sgd":
                    p[k] = p[k] - lr * (g[k] + 0.1 * p[k])
                elif name == "sgd_momentum":
                    st["s"][k] = 0.8 * st["s"][k] + (g[k] + 0.05 * p[k])
                    p[k] = p[k] - lr * st["s"][k]
                elif name in ("adam", "adamw"):
                    if name == "adamw":
                        p[k] = p[k] * (1 - lr * 0.1)
                    st["m"][k] = 0.9 * st["m"][k] + 0.1 * g[k]
                    st["v"][k] = 0.999 * st["v"][k] + 0.001 * g[k] ** 2
                    mh = st["m"][k] / (1 - 0.9 ** (t + 1))
                    vh = st["v"][k] / (1 - 0.999 ** (t + 1))
                    p[k] = p[k] - lr * mh / (np.sqrt(vh) + 1e-8)
                else:  # rmsprop
                    g2 = g[k] + 0.05 * p[k]
                    st["s"][k] = 0.9 * st["s"][k] + 0.1 * g2 ** 2
                    p[k] = p[k] - lr * g2 / (np.sqrt(st["s"][k]) + 1e-8)
        want = {"net.w": w32(p["w"]), "net.b": w32(p["b"])}
        for o in outs[1:]:
            want[f"{o}.w"], want[f"{o}.b"] = w32(st[o]["w"]), w32(st[o]["b"])
        prog = """
            // optim.{name} on a record of params (PyTorch's update rule, float64 reference)
            use optim
            input x: f32[6, 3]
            input target: f32[6, 2]
            param net {{
                w: f32[3, 2] = zeros()
                b: f32[2]    = zeros()
            }}
            param s = zeros_like(net)
            param m = zeros_like(net)
            param v = zeros_like(net)
            param t: i32 = zeros()
            let loss = mean((x @ net.w + net.b - target) ** 2.0)
            let g = grad(loss, net)
            {body}
            {outputs}
            """.format(name=name, body=body.format(lr=lr).replace("\n", "\n            "),
                       outputs="\n            ".join(f"output {o}" for o in outs))
        case(f"v2_optim_{name}_records", "run", prog, {"x": x, "target": target},
             params={"net.w": w0, "net.b": b0}, want=want, steps=steps, rtol=2e-4, atol=1e-6)


# ------------------------------------------------------ steps, until, u8
def step_cases():
    case("v2_step_without_updates", "run", """
        // a program that depends on step runs every step, even without an update
        output s = step
        output r = rank + world
        """, want=dict(s=np.int64(3), r=np.int64(1)), steps=4)

    x0, rate, thresh = 10.0, 0.7, 1.0
    xv, n, s = np.float32(x0), 0, 0
    for s in range(100):
        stop = xv < np.float32(thresh)      # from the params before the step's updates
        xv, n = np.float32(xv * np.float32(rate)), n + 1
        if stop:
            break
    case("v2_until_stops_the_run", "run", f"""
        // until: the run ends after the first step in which it is true; that
        // step's updates are applied
        param x: f32 = full({x0})
        param n: i32 = zeros()
        until x < {thresh}
        update x = x * {rate}
        update n = n + 1
        output x
        output n
        output last = step
        """, want=dict(x=xv, n=np.int32(n), last=np.int64(s)), steps=100, rtol=1e-6)

    case("v2_until_never_true", "run", """
        // an until that never fires: every --steps step runs
        param n: i32 = zeros()
        until n > 1000
        update n = n + 1
        output n
        """, want=dict(n=np.int32(7)), steps=7)

    img = rng.integers(0, 256, (2, 5), dtype=np.uint8)
    img[0, :3] = [0, 255, 128]
    case("v2_u8_arithmetic", "run", """
        // u8: arithmetic wraps like NumPy's uint8; cast converts; |u1 files
        input img: u8[2, 5]
        output a = img + img
        output m = img * 3
        output n = -img
        output d = 10 - img
        output c = img > 127
        output f = cast(img, f32) / 255.0
        output s = cast(cast(img, f32) * 1.5 - 50.0, u8)
        output w = cast(cast(img, i32) * 7, u8)
        output mx = maximum(img, 100)
        output wh = where(img > 127, img, 0)
        """, {"img": img},
         want=dict(a=img + img, m=img * np.uint8(3), n=(-img.astype(np.int64)).astype(np.uint8),
                   d=(10 - img.astype(np.int64)).astype(np.uint8), c=img > 127,
                   f=(img.astype(np.float32) / np.float32(255)),
                   s=np.clip(np.trunc(img.astype(np.float32) * np.float32(1.5) - np.float32(50)), 0, 255).astype(np.uint8),
                   w=(img.astype(np.int32) * 7).astype(np.uint8), mx=np.maximum(img, np.uint8(100)),
                   wh=np.where(img > 127, img, np.uint8(0))), rtol=1e-6, atol=0)


# --------------------------------------------------- per-step random values
GAMMA = 0x9E3779B97F4A7C15


def mix64(z):
    """The SplitMix64 finaliser (runtime/src/rng.rs)."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def seed_of(parts):
    """The stream of a seed tuple (docs/language.md): k1 alone, else mix-chained."""
    if len(parts) == 1:
        return parts[0]
    h = mix(parts[0])
    for k in parts[1:]:
        h = mix(h ^ k)
    return h


def rng_bits(seed, i):
    return mix64((mix64(seed) + (i + 1) * GAMMA) & M64)


def uniform01_f32(seed, n):
    u = np.array([(rng_bits(seed, i) >> 11) * 2.0 ** -53 for i in range(n)])
    v = u.astype(np.float32)
    return np.where(v >= np.float32(1), np.nextafter(np.float32(1), np.float32(0)), v)


def normal_f32(seed, n, mean, std):
    out = []
    for i in range(n):
        u1 = ((rng_bits(seed, 2 * i) >> 11) + 1) * 2.0 ** -53
        u2 = (rng_bits(seed, 2 * i + 1) >> 11) * 2.0 ** -53
        out.append(mean + std * np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * np.pi * u2))
    return np.array(out).astype(np.float32)


def random_cases():
    x = f32(3, 40)
    p, steps = 0.3, 3
    scale = np.float32(1 / (1 - p))
    acc = np.zeros((3, 40), np.float32)
    for s in range(steps):
        u = uniform01_f32(seed_of([9, s]), x.size).reshape(x.shape)
        y = np.where(u >= np.float32(p), x * scale, np.float32(0))
        acc = acc + y
    z = normal_f32(seed_of([2, steps - 1, 5]), 6, 1.0, 0.5)
    case("v2_dropout_and_seed_tuples", "run", f"""
        // nn.dropout and normal with seed tuples containing step: the values
        // are the documented stream of the tuple, bit for bit (NumPy rebuilds them)
        use nn
        input x: f32[3, 40]
        param acc: f32[3, 40] = zeros()
        update acc = acc + nn.dropout(x, {p}, seed=(9, step))
        output acc
        output z = normal((6,), 1.0, 0.5, seed=(2, step, 5))
        output same = nn.dropout(x, 0.0, seed=(1, step))
        """, {"x": x}, want=dict(acc=acc, z=z, same=x), steps=steps, rtol=1e-6, atol=1e-7)


# ------------------------------------------------- more v2 cases (later)
# Their own generator, so the cases above keep their data.
rng2 = np.random.default_rng(20261219)


def g32(*shape, scale=1.0):
    return (rng2.standard_normal(shape) * scale).astype(np.float32)


def record_leafwise_cases():
    x, u = g32(3, 2), g32(2)
    X, U = D(x), D(u)
    # net keeps its initialisers (ones, full(0.5), zeros); k = full_like(net, 2.0)
    N = {"a.b": np.ones((3, 2)), "a.c": np.full(2, 0.5), "z": np.zeros((3, 2))}
    K = {k: np.full_like(v, 2.0) for k, v in N.items()}
    R = {"a.b": X, "a.c": U, "z": X * 2 - 1}
    r32 = {k: w32(v) for k, v in R.items()}          # r's leaves as weft holds them (f32)

    def rec(name, f, dtype=w32):
        return {f"{name}.{k}": dtype(f(k)) for k in R}

    want = {}
    want.update(rec("net", lambda k: N[k]))
    want.update(rec("k", lambda k: K[k]))
    want["fab"] = w32(N["a.b"] * R["a.b"] + R["a.c"])
    want.update(rec("sum_rec", lambda k: R[k] + N[k]))
    want.update(rec("mixed", lambda k: R[k] * N[k] - K[k] / 4))
    want.update(rec("plus", lambda k: R[k] + 1.5))
    want.update(rec("bcast", lambda k: R[k] * U))
    want.update(rec("sq", lambda k: R[k] ** 2))
    want.update(rec("neg", lambda k: -R[k]))
    want.update(rec("e", lambda k: np.exp(R[k])))
    want.update(rec("th", lambda k: np.tanh(R[k] - N[k])))
    want.update(rec("mx", lambda k: np.maximum(R[k], 0)))
    want.update(rec("mxr", lambda k: np.maximum(R[k], N[k])))
    want.update(rec("wh", lambda k: np.where(U > 0, R[k], N[k])))
    want.update(rec("ci", lambda k: r32[k] * np.float32(3), lambda v: v.astype(np.int32)))
    want.update(rec("c64", lambda k: r32[k], lambda v: v.astype(np.float64)))
    want.update(rec("sg", lambda k: R[k] * 2))
    want.update(rec("zl", lambda k: np.zeros_like(R[k]) - U))
    want.update(rec("af", lambda k: R[k] * 0.5 + N[k]))
    want.update(rec("lr", lambda k: R[k] + (K[k] - R[k]) * 0.25))
    want["lt"] = w32(X + (3 * X - X) * 0.5)
    case("v2_record_leafwise_ops", "run", """
        // records (section 9): per-leaf initialisers (ones, full, zeros) and
        // full_like, nested field access, a nested record literal in a let,
        // leaf-wise operators between records of one type, with a literal and
        // with a tensor that broadcasts with every leaf, leaf-wise builtins
        // (exp tanh maximum where cast stop_gradient zeros_like), a function
        // taking and returning records, a generic `type P` function on
        // records and on a tensor, and a const used as a size
        const H = 3
        input x: f32[H, 2]
        input u: f32[2]
        param net {
            a { b: f32[H, 2] = ones()
                c: f32[2]    = full(0.5) }
            z: f32[H, 2] = zeros()
        }
        param k = full_like(net, 2.0)
        fn affine(p: {a: {b: f32[H, 2], c: f32[2]}, z: f32[H, 2]},
                  q: {a: {b: f32[H, 2], c: f32[2]}, z: f32[H, 2]},
                  s: f32) -> {a: {b: f32[H, 2], c: f32[2]}, z: f32[H, 2]} {
            let t = p * s;
            t + q
        }
        fn lerp[type P](a: P, b: P, w: f32) -> P { a + (b - a) * w }
        let r = {a: {b: x, c: u}, z: x * 2.0 - 1.0}
        output net
        output k
        output fab     = net.a.b * r.a.b + r.a.c
        output sum_rec = r + net
        output mixed   = r * net - k / 4.0
        output plus    = r + 1.5
        output bcast   = r * u
        output sq      = r ** 2.0
        output neg     = -r
        output e       = exp(r)
        output th      = tanh(r - net)
        output mx      = maximum(r, 0.0)
        output mxr     = maximum(r, net)
        output wh      = where(u > 0.0, r, net)
        output ci      = cast(r * 3.0, i32)
        output c64     = cast(r, f64)
        output sg      = stop_gradient(r) * 2.0
        output zl      = zeros_like(r) - u
        output af      = affine(r, net, 0.5)
        output lr      = lerp(r, k, 0.25)
        output lt      = lerp(x, x * 3.0, 0.5)
        """, {"x": x, "u": u}, want=want, rtol=1e-5, atol=1e-6)


def record_grad_let_cases():
    x = g32(4, 3)
    P = {"w1": D(g32(3, 5, scale=0.4)), "b1": D(g32(5, scale=0.3)),
         "out.w": D(g32(5, 2, scale=0.4)), "out.b": D(g32(2, scale=0.3))}
    X = D(x)

    def loss(P, X):
        S = {k: 2 * v + 0.1 for k, v in P.items()}
        h = np.tanh(X @ S["w1"] + S["b1"])
        y = h @ S["out.w"] + S["out.b"]
        return (y ** 2).sum() + 0.5 * (P["b1"] ** 2).sum()

    S = {k: 2 * v + 0.1 for k, v in P.items()}
    h = np.tanh(X @ S["w1"] + S["b1"])
    y = h @ S["out.w"] + S["out.b"]
    dy = 2 * y
    dpre = (dy @ S["out.w"].T) * (1 - h * h)
    gS = {"w1": X.T @ dpre, "b1": dpre.sum(0), "out.w": h.T @ dy, "out.b": dy.sum(0)}
    gN = {k: 2 * v for k, v in gS.items()}
    gN["b1"] = gN["b1"] + P["b1"]
    gX = dpre @ S["w1"].T
    for k in P:
        fd_check(lambda z, k=k: loss({**P, k: z}, X), P[k], gN[k])
    fd_check(lambda z: loss(P, z), X, gX)
    # gS: the same loss as a function of S (the b1 term does not go through S)
    def loss_s(S):
        h = np.tanh(X @ S["w1"] + S["b1"])
        return ((h @ S["out.w"] + S["out.b"]) ** 2).sum() + 0.5 * (P["b1"] ** 2).sum()
    for k in S:
        fd_check(lambda z, k=k: loss_s({**S, k: z}), S[k], gS[k])
    want = {f"gs.{k}": w32(v) for k, v in gS.items()}
    want.update({f"gn.{k}": w32(v) for k, v in gN.items()})
    want["gx"] = w32(gX)
    want["loss"] = w32(loss(P, X))
    case("v2_record_grad_let_and_tuple", "grad", """
        // grad with respect to a let that is a record (s, computed from the
        // record param net), and a record and a tensor together in a tuple
        input x: f32[4, 3]
        param net {
            w1: f32[3, 5] = zeros()
            b1: f32[5]    = zeros()
            out { w: f32[5, 2] = zeros()
                  b: f32[2]    = zeros() }
        }
        let s = net * 2.0 + 0.1
        let h = tanh(x @ s.w1 + s.b1)
        let y = h @ s.out.w + s.out.b
        let loss = sum(y ** 2.0) + 0.5 * sum(net.b1 ** 2.0)
        output gs = grad(loss, s)
        let (gn, gx) = grad(loss, (net, x))
        output gn
        output gx
        output loss
        """, {"x": x}, params={f"net.{k}": w32(v) for k, v in P.items()}, want=want,
         rtol=1e-4, atol=1e-5)


def _batch_rows_np(n, size, k, step):
    """batch's rows, computed with NumPy uint64 arrays (wrapping) and a stable
    argsort: an implementation independent of `batch_rows` above."""
    nb = n // size
    e, j = step // nb, step % nb
    if k is None:
        p = np.arange(n)
    else:
        def mixa(z):
            z = np.asarray(z, np.uint64)
            with np.errstate(over="ignore"):
                z = z + np.uint64(0x9E3779B97F4A7C15)
                z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
                z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            return z ^ (z >> np.uint64(31))
        base = mixa(mixa(np.uint64(k)) ^ np.uint64(e))
        keys = mixa(base ^ np.arange(n, dtype=np.uint64))
        p = np.argsort(keys, kind="stable")
    return p[j * size:(j + 1) * size]


def mlp_train_cases():
    n, size, k, steps = 10, 4, 3, 7
    x, y = g32(n, 4), np.array([0, 1, 2, 0, 1, 2, 2, 1, 0, 1], np.int32)
    init = {"w1": g32(4, 6, scale=0.5), "b1": g32(6, scale=0.2),
            "out.w": g32(6, 3, scale=0.5), "out.b": g32(3, scale=0.2)}
    for s in range(steps):
        assert list(_batch_rows_np(n, size, k, s)) == batch_rows(n, size, k, s)

    def fwd(P, X, Y):
        pre = X @ P["w1"] + P["b1"]
        h = np.tanh(pre)
        logits = h @ P["out.w"] + P["out.b"]
        lsm = logits - logits.max(1, keepdims=True)
        lsm = lsm - np.log(np.exp(lsm).sum(1, keepdims=True))
        loss = -lsm[np.arange(len(Y)), Y].mean()
        dl = (np.exp(lsm) - np.eye(3, dtype=X.dtype)[Y]) / X.dtype.type(len(Y))
        dh = (dl @ P["out.w"].T) * (1 - h * h)
        g = {"w1": X.T @ dh, "b1": dh.sum(0), "out.w": h.T @ dl, "out.b": dl.sum(0)}
        return loss, g

    P0 = {kk: D(v) for kk, v in init.items()}
    rows = _batch_rows_np(n, size, k, 0)
    _, g0 = fwd(P0, D(x)[rows], y[rows])
    for kk in P0:
        fd_check(lambda z, kk=kk: fwd({**P0, kk: z}, D(x)[rows], y[rows])[0], P0[kk], g0[kk])

    # name -> (lr, program lines, state names, keyword hyper-parameters)
    rules = {
        "sgd": (0.5, "let net2 = optim.sgd(net, g, {lr})\nupdate net = net2", []),
        "sgd_momentum": (0.1, "let (net2, s2) = optim.sgd_momentum(net, g, s, {lr})\n"
                              "update net = net2\nupdate s = s2", ["s"]),
        "adam": (0.01, "let (net2, m2, v2) = optim.adam(net, g, m, v, t, {lr})\n"
                       "update net = net2\nupdate m = m2\nupdate v = v2\nupdate t = t + 1", ["m", "v"]),
        "adamw": (0.01, "let (net2, m2, v2) = optim.adamw(net, g, m, v, t, {lr}, wd=0.5)\n"
                        "update net = net2\nupdate m = m2\nupdate v = v2\nupdate t = t + 1", ["m", "v"]),
        "rmsprop": (0.01, "let (net2, s2) = optim.rmsprop(net, g, s, {lr})\n"
                          "update net = net2\nupdate s = s2", ["s"]),
    }

    def simulate(name, lr, dt):
        c = lambda v: dt(v)
        P = {kk: np.asarray(v, dt) for kk, v in init.items()}
        st = {s_: {kk: np.zeros_like(v) for kk, v in P.items()} for s_ in ("s", "m", "v")}
        X = np.asarray(x, dt)
        loss = None
        for t in range(steps):
            r = _batch_rows_np(n, size, k, t)
            loss, g = fwd(P, X[r], y[r])
            for kk in P:
                if name == "sgd":
                    P[kk] = P[kk] - c(lr) * g[kk]
                elif name == "sgd_momentum":
                    st["s"][kk] = c(0.9) * st["s"][kk] + g[kk]
                    P[kk] = P[kk] - c(lr) * st["s"][kk]
                elif name in ("adam", "adamw"):
                    if name == "adamw":
                        P[kk] = P[kk] * (c(1) - c(lr) * c(0.5))
                    st["m"][kk] = c(0.9) * st["m"][kk] + (c(1) - c(0.9)) * g[kk]
                    st["v"][kk] = c(0.999) * st["v"][kk] + (c(1) - c(0.999)) * g[kk] * g[kk]
                    mh = st["m"][kk] / (c(1) - c(0.9) ** c(t + 1))
                    vh = st["v"][kk] / (c(1) - c(0.999) ** c(t + 1))
                    P[kk] = P[kk] - c(lr) * mh / (np.sqrt(vh) + c(1e-8))
                else:
                    st["s"][kk] = c(0.99) * st["s"][kk] + (c(1) - c(0.99)) * g[kk] * g[kk]
                    P[kk] = P[kk] - c(lr) * g[kk] / (np.sqrt(st["s"][kk]) + c(1e-8))
        return loss, P, st

    for name, (lr, body, states) in rules.items():
        loss, P, st = simulate(name, lr, np.float64)
        loss32, P32, st32 = simulate(name, lr, np.float32)
        want = {"loss": w32(loss)}
        want.update({f"net.{kk}": w32(v) for kk, v in P.items()})
        for s_ in states:
            want.update({f"{s_}.{kk}": w32(v) for kk, v in st[s_].items()})
        got32 = {"loss": loss32}
        got32.update({f"net.{kk}": v for kk, v in P32.items()})
        for s_ in states:
            got32.update({f"{s_}.{kk}": v for kk, v in st32[s_].items()})
        if name in ("adam", "adamw"):
            want["t"] = np.int32(steps)
        rtol = 2e-3
        tols = {o: (rtol, 1e-3 * float(np.abs(D(v)).max()) + 1e-12) for o, v in want.items()
                if o != "t"}
        for o, (rt, at) in tols.items():
            # float32 arithmetic (what weft does) lands well inside the tolerance
            err = np.abs(D(got32[o]) - D(want[o])) / (at + rt * np.abs(D(want[o])))
            assert err.max() < 0.1, (name, o, err.max())
        params_ = "".join(f"\n            param {s_} = zeros_like(net)" for s_ in states)
        if name in ("adam", "adamw"):
            params_ += "\n            param t: i32 = zeros()"
        outs = "\n            ".join(f"output {o}" for o in ["loss", "net"] + states
                                       + (["t"] if name in ("adam", "adamw") else []))
        case(f"v2_train_mlp_{name}", "run", """
            // optim.{name} (default hyper-parameters{extra}) on a nested record, a
            // 2-layer tanh net, over shuffled minibatches of 4 of 10 rows for 7
            // steps; float64 reference with PyTorch's update rule
            use nn
            use optim
            dim N
            input x: f32[N, 4]
            input y: i32[N]
            param net {{
                w1: f32[4, 6] = normal(0.0, 0.5, seed=1)
                b1: f32[6]    = zeros()
                out {{ w: f32[6, 3] = normal(0.0, 0.5, seed=2)
                      b: f32[3]    = zeros() }}
            }}{params}
            fn forward[B](p: {{w1: f32[4, 6], b1: f32[6], out: {{w: f32[6, 3], b: f32[3]}}}},
                          x: f32[B, 4]) -> f32[B, 3] {{
                let h = tanh(x @ p.w1 + p.b1);
                h @ p.out.w + p.out.b
            }}
            let (xb, yb) = batch((x, y), 4, shuffle=3)
            let loss = mean(nn.cross_entropy(forward(net, xb), yb))
            let g = grad(loss, net)
            {body}
            {outs}
            """.format(name=name, extra=", but wd=0.5" if name == "adamw" else "", params=params_,
                       body=body.format(lr=lr).replace("\n", "\n            "), outs=outs),
             {"x": x, "y": y}, params={f"net.{kk}": v for kk, v in init.items()}, want=want,
             steps=steps, rtol=rtol, atol=2e-4, tols=tols)


def more_batch_cases():
    # A const shuffle key above 32 bits; a tuple whose first member is computed
    # from an input; a batch as large as the data (nb = 1: every step a new epoch).
    n, key, steps = 8, 4294967301, 6
    x = g32(n, 3)
    ids = np.arange(100, 100 + n, dtype=np.int64)
    code, full_code = np.zeros(4, np.int64), np.zeros(n, np.int64)
    for s in range(steps):
        r = _batch_rows_np(n, 4, key, s)
        assert list(r) == batch_rows(n, 4, key, s)
        code = code * 8 + (ids[r] - 100)
        rf = _batch_rows_np(n, n, key, s)
        assert list(rf) == batch_rows(n, n, key, s)
        full_code = full_code * 8 + rf
    case("v2_batch_const_key_above_32_bits", "run", f"""
        // batch with a const size and a const shuffle key above 2^32, of a
        // tuple whose first member is computed from an input; and a batch of
        // all N rows (one batch an epoch: each step a new permutation)
        const bs = 4
        const key = {key}
        input x: f32[{n}, 3]
        input ids: i64[{n}]
        param code: i64[4] = zeros()
        param full_code: i64[{n}] = zeros()
        let (xb, ib) = batch((x * 2.0 + 1.0, ids), bs, shuffle=key)
        let rows = batch(ids - 100, {n}, shuffle=key)
        update code = code * 8 + (ib - 100)
        update full_code = full_code * 8 + rows
        output xb
        output ib
        output rows
        output code
        output full_code
        """, {"x": x, "ids": ids},
         want=dict(xb=w32(D(x)[r] * 2 + 1), ib=ids[r], rows=rf.astype(np.int64), code=code,
                   full_code=full_code), steps=steps)

    img = rng2.integers(0, 256, (5, 3), dtype=np.uint8)
    img[1] = [250, 255, 7]
    tot = np.zeros(3)
    for s in range(5):
        r = _batch_rows_np(5, 2, 4, s)
        tot = tot + (img[r].astype(f64) / 255).sum(0)
    case("v2_u8_batch", "run", """
        // u8 rows through a shuffled batch; u8 outputs wrap; cast to f32 scales
        input img: u8[5, 3]
        param tot: f32[3] = zeros()
        let xb = batch(img, 2, shuffle=4)
        update tot = tot + sum(cast(xb, f32) / 255.0, axis=0)
        output xb
        output dbl = xb + xb
        output tot
        """, {"img": img}, want=dict(xb=img[r], dbl=img[r] + img[r], tot=w32(tot)), steps=5,
         rtol=1e-5, atol=1e-6)


def more_step_cases():
    acc, sq = 0.0, 0
    for s in range(5):
        acc, sq = acc + s, sq * 2 + s * s
    case("v2_step_accumulate", "run", """
        // step is 0, 1, 2, .. : accumulated as f32 and as i64
        param acc: f32 = zeros()
        param sq: i64 = zeros()
        update acc = acc + cast(step, f32)
        update sq = sq * 2 + step * step
        output acc
        output sq
        output last = step
        """, want=dict(acc=np.float32(acc), sq=np.int64(sq), last=np.int64(4)), steps=5)

    # until on a training loss
    X = g32(16, 3)
    yv = (D(X) @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.2 * rng2.standard_normal(16)).astype(np.float32)
    Xd, Yd = D(X), D(yv)
    lr, thresh, max_steps = 0.1, 0.1, 200
    w, b = np.zeros(3), 0.0
    losses = []
    for s in range(max_steps):
        res = Xd @ w + b - Yd
        loss = np.mean(res ** 2)
        losses.append(loss)
        gw, gb = 2 * Xd.T @ res / 16, 2 * res.mean()
        w, b = w - lr * gw, b - lr * gb
        if loss < thresh:
            break
    stop = len(losses) - 1
    assert 5 < stop < max_steps - 1, stop
    # no loss near the threshold, so float32 rounding cannot move the stop
    assert min(abs(l - thresh) / thresh for l in losses) > 1e-3, losses
    case("v2_until_training_loss", "run", f"""
        // until on a training loss: the run ends after the first step whose
        // loss (from the params before that step's updates) is below {thresh};
        // that step's updates are applied; outputs are that step's
        use optim
        input X: f32[16, 3]
        input y: f32[16]
        param w: f32[3] = zeros()
        param b: f32 = zeros()
        param n: i32 = zeros()
        const lr = {lr}
        let loss = mean((X @ w + b - y) ** 2.0)
        let (gw, gb) = grad(loss, (w, b))
        update w = optim.sgd(w, gw, lr)
        update b = b - lr * gb
        update n = n + 1
        until loss < {thresh}
        output loss
        output w
        output b
        output n
        output stopped = step
        """, {"X": X, "y": yv},
         want=dict(loss=w32(losses[-1]), w=w32(w), b=w32(b), n=np.int32(stop + 1),
                   stopped=np.int64(stop)), steps=max_steps, rtol=1e-3, atol=1e-5)


def more_rterr_cases():
    case("v2_rterr_record_input_leaf_missing", "rterr", """
        // record input r has leaves r.a and r.b; only --input r.a is given: exit 3
        input r: {a: f32[3], b: f32[3]}
        output s = r.a + r.b
        """, {"r.a": g32(3)}, exit=3)
    case("v2_rterr_record_param_leaf_shape", "rterr", """
        // --param net.w=<a [4] file> for the f32[3] leaf net.w: exit 3
        input x: f32[3]
        param net {
            w: f32[3] = zeros()
            b: f32[3] = zeros()
        }
        output y = x * net.w + net.b
        """, {"x": g32(3)}, params={"net.w": g32(4)}, exit=3)


def more_cases():
    record_leafwise_cases()
    record_grad_let_cases()
    mlp_train_cases()
    more_batch_cases()
    more_step_cases()
    more_rterr_cases()


def section11_unary_cases():
    """tan, atan, log1p, expm1, erf, round (section 11) and their gradients."""
    import math
    r = np.random.default_rng(11)
    x = (r.standard_normal(24) * 1.2).astype(np.float32)
    x[:6] = [0.0, -0.0, 1e-7, -1e-7, 0.5, -2.5]          # near 0 (log1p, expm1), a half
    xs = np.concatenate([x, np.array([1.5, 2.5, -0.5, 3.5], np.float32)])
    t = np.clip(xs, -1.2, 1.2).astype(np.float32)           # tan away from its poles
    p = np.abs(xs).astype(np.float32)                       # log1p on x >= 0
    X, T, P = D(xs), D(t), D(p)
    erf = np.vectorize(math.erf)
    fd_check(lambda v: np.tan(v).sum(), T, 1 + np.tan(T) ** 2)
    fd_check(lambda v: np.arctan(v).sum(), X, 1 / (1 + X ** 2))
    fd_check(lambda v: np.log1p(v).sum(), P, 1 / (1 + P))
    fd_check(lambda v: np.expm1(v).sum(), X, np.exp(X))
    fd_check(lambda v: erf(v).sum(), X, 2 / np.sqrt(np.pi) * np.exp(-X ** 2))
    case("v2_op_tan_atan_log1p_expm1_erf_round", "grad", """
        // section 11's elementwise functions and their gradients; round halves to even
        input x: f32[28]
        input t: f32[28]
        input p: f32[28]
        output tan_ = tan(t)
        output atan_ = atan(x)
        output log1p_ = log1p(p)
        output expm1_ = expm1(x)
        output erf_ = erf(x)
        output round_ = round(x)
        output g_tan = grad(sum(tan(t)), t)
        output g_atan = grad(sum(atan(x)), x)
        output g_log1p = grad(sum(log1p(p)), p)
        output g_expm1 = grad(sum(expm1(x)), x)
        output g_erf = grad(sum(erf(x)), x)
        """, {"x": xs, "t": t, "p": p},
         want=dict(tan_=w32(np.tan(T)), atan_=w32(np.arctan(X)), log1p_=w32(np.log1p(P)),
                   expm1_=w32(np.expm1(X)), erf_=w32(erf(X)), round_=np.round(xs),
                   g_tan=w32(1 + np.tan(T) ** 2), g_atan=w32(1 / (1 + X ** 2)), g_log1p=w32(1 / (1 + P)),
                   g_expm1=w32(np.exp(X)), g_erf=w32(2 / np.sqrt(np.pi) * np.exp(-X ** 2))),
         rtol=2e-6, atol=1e-7)


def section11_clip_cases():
    """clip (NumPy's values, PyTorch's clamp gradient), isnan, isfinite."""
    x = np.array([np.nan, -np.inf, np.inf, -1.0, 1.0, 0.5, -3, 2.5], np.float32)
    lo = np.array([0, 0, 0, 0, 0, 1, -5, 3], np.float32)      # lo > hi at the end: hi wins
    k = np.array([-2, 0, 1, 2, 3, 4, 5, 6], np.int32)
    inside = (x >= -1) & (x <= 1)
    g = np.where(np.isnan(x), np.nan, np.clip(x, -1, 1) + np.where(inside, x, 0)).astype(np.float32)
    case("v2_op_clip_isnan_isfinite", "run", """
        // clip = minimum(maximum(x, lo), hi) (NaN stays NaN, hi wins when lo > hi),
        // its gradient 1 where lo <= x <= hi; isnan and isfinite, of floats and integers
        input x: f32[8]
        input lo: f32[8]
        input k: i32[8]
        output c = clip(x, -1.0, 1.0)
        output c2 = clip(x, lo, 2.0)
        output g = grad(sum(clip(x, -1.0, 1.0) * x), x)
        output n = isnan(x)
        output f = isfinite(x)
        output ni = isnan(k)
        output fi = isfinite(k)
        output ck = clip(k, 0, 3)
        """, {"x": x, "lo": lo, "k": k},
         want=dict(c=np.clip(x, -1, 1), c2=np.clip(x, lo, 2), g=g, n=np.isnan(x), f=np.isfinite(x),
                   ni=np.isnan(k), fi=np.isfinite(k), ck=np.clip(k, 0, 3)),
         nan=("c", "c2", "g"), rtol=0, atol=0)


def v2_cases():
    batch_cases()
    random_cases()
    record_cases()
    optim_cases()
    step_cases()
    more_cases()          # last: its own generator
    section11_unary_cases()
    section11_clip_cases()
    import make_s11       # conv2d, pooling and later section 11 builtins
    make_s11.cases()


if __name__ == "__main__":
    for d in os.listdir(make.OUT):
        if d.startswith("v2_"):
            shutil.rmtree(os.path.join(make.OUT, d))
    v2_cases()
    print("v2 cases written to", os.path.relpath(make.OUT))
