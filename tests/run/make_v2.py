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


def v2_cases():
    batch_cases()
    random_cases()
    record_cases()
    optim_cases()
    step_cases()


if __name__ == "__main__":
    for d in os.listdir(make.OUT):
        if d.startswith("v2_"):
            shutil.rmtree(os.path.join(make.OUT, d))
    v2_cases()
    print("v2 cases written to", os.path.relpath(make.OUT))
