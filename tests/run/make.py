#!/usr/bin/env python3
"""Writes the run corpus into tests/run/cases/ (needs numpy; a pure generator).

The format is exactly that of the public conformance sample
(/work/shared/conformance, `make.py`/`run.py` there). A case is a folder:

    prog.weft            the program (absent when meta.json names one, below)
    meta.json            kind (run | grad | rterr), steps, rtol, atol,
                         scalars (NAME -> VALUE, passed as --input NAME=VALUE;
                         "@missing" / "@garbage" / "@truncated" as in run.py),
                         inputs (files in/NAME.npy, passed as --input),
                         params (files in/param.NAME.npy, passed as --param),
                         exit (for rterr)
    in/NAME.npy          inputs;  in/param.NAME.npy  params
    want/NAME.npy        expected outputs, one per output checked

One extension: instead of prog.weft, meta.json may carry
    "program": "examples/mlp.weft"
a path relative to the repository root, to run a shipped example unchanged.

Expected values are computed in float64 from the (float32) inputs, then cast
to the output's dtype. Gradient formulas are verified against central finite
differences (in float64) before a case is written. Training cases simulate
the same SGD/Adam steps in float64.

    python3 tests/run/make.py
"""
import json, os, shutil, textwrap
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")
rng = np.random.default_rng(20261127)
f64 = np.float64


# ----------------------------------------------------------------- helpers
def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def pos(*shape, lo=0.5, hi=2.0):
    """Positive f32 values (for log, sqrt, pow bases)."""
    return rng.uniform(lo, hi, shape).astype(np.float32)


def D(a):
    return np.asarray(a).astype(f64)


def w32(a):
    return np.asarray(a, dtype=f64).astype(np.float32)


def case(name, kind, prog=None, inputs=None, params=None, want=None, steps=1, rtol=1e-4,
         atol=1e-5, scalars=None, exit=None, program=None, files=None, nan=(), tols=None):
    """`nan`: outputs whose expected values may hold NaN (equal to NaN only).
    `tols`: per-output tolerances {NAME: (rtol, atol)} in place of rtol and
    atol, written as meta["tols"] (the conformance format)."""
    d = os.path.join(OUT, name)
    assert not os.path.exists(d), name
    for sub in ("in", "want"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    if program is None:
        with open(os.path.join(d, "prog.weft"), "w") as f:
            f.write(textwrap.dedent(prog).lstrip("\n"))
    else:
        assert prog is None
        assert os.path.exists(os.path.join(HERE, "..", "..", program)), program
    for k, v in (inputs or {}).items():
        np.save(os.path.join(d, "in", f"{k}.npy"), v)
    for k, v in (files or {}).items():          # in/ files not passed as --input
        np.save(os.path.join(d, "in", f"{k}.npy"), v)
    for k, v in (params or {}).items():
        np.save(os.path.join(d, "in", f"param.{k}.npy"), v)
    for k, v in (want or {}).items():
        v = np.asarray(v)
        assert k in nan or np.all(np.isfinite(v.astype(f64))), (name, k)
        np.save(os.path.join(d, "want", f"{k}.npy"), v)
    meta = dict(kind=kind, steps=steps, rtol=rtol, atol=atol, scalars=scalars or {},
                inputs=sorted((inputs or {}).keys()), params=sorted((params or {}).keys()))
    if program is not None:
        meta["program"] = program
    if exit is not None:
        meta["exit"] = exit
    if tols:
        assert set(tols) <= set(want or {}), (name, sorted(set(tols) - set(want or {})))
        meta["tols"] = {k: [float(r), float(a)] for k, (r, a) in tols.items()}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


def fd_check(f, x, g, eps=1e-6, tol=1e-5):
    """Assert that g is df/dx by central differences (x float64, f -> float)."""
    x = D(x).copy()
    num = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps; hi = f(x)
        x[i] = old - eps; lo = f(x)
        x[i] = old
        num[i] = (hi - lo) / (2 * eps)
    err = np.max(np.abs(num - g) / (1 + np.abs(g))) if g.size else 0.0
    assert err < tol, f"gradient mismatch {err}"


# numpy references (float64)
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x, axis=-1):
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def cross_entropy(logits, labels):
    return -log_softmax(logits)[np.arange(len(labels)), labels]


def layer_norm(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def one_hot(y, k):
    return np.eye(k)[y]


def labels(n, k, dtype=np.int32):
    """Labels covering every class when n >= k."""
    y = np.concatenate([np.arange(k), rng.integers(0, k, max(n - k, 0))])[:n]
    rng.shuffle(y)
    return y.astype(dtype)


# ------------------------------------------------------------- elementwise ops
def ops_cases():
    p, x = pos(3, 4), f32(3, 4)
    P, X = D(p), D(x)
    case("op_unary", "run", """
        // every unary elementwise builtin on f32
        input p: f32[3, 4]          // positive values, for log / sqrt / rsqrt
        input x: f32[3, 4]
        output e  = exp(x)
        output l  = log(p)
        output s  = sqrt(p)
        output r  = rsqrt(p)
        output a  = abs(x)
        output n  = neg(x)
        output sg = sign(x)
        output fl = floor(x * 3.0)
        output ce = ceil(x * 3.0)
        output si = sin(x)
        output co = cos(x)
        output th = tanh(x)
        output sm = sigmoid(x)
        output re = relu(x)
        """, {"p": p, "x": x},
         want=dict(e=w32(np.exp(X)), l=w32(np.log(P)), s=w32(np.sqrt(P)), r=w32(1 / np.sqrt(P)),
                   a=w32(np.abs(X)), n=w32(-X), sg=w32(np.sign(X)), fl=w32(np.floor(X * 3)),
                   ce=w32(np.ceil(X * 3)), si=w32(np.sin(X)), co=w32(np.cos(X)), th=w32(np.tanh(X)),
                   sm=w32(sigmoid(X)), re=w32(np.maximum(X, 0))))

    a, b, p, q = f32(2, 1, 4), f32(3, 1), pos(3, 4), f32(4)
    A, B, P, Q = D(a), D(b), D(p), D(q)
    case("op_binary_broadcast", "run", """
        // binary arithmetic and pow / maximum / minimum with NumPy broadcasting
        dim N
        input a: f32[N, 1, 4]
        input b: f32[3, 1]
        input p: f32[3, 4]          // positive
        input q: f32[4]
        output add = a + b          // [N, 3, 4]
        output sub = b - a
        output mul = a * b
        output div = a / p
        output pw  = p ** q         // [3, 4]
        output pw2 = pow(p, 2.0)
        output mx  = maximum(a, b)
        output mn  = minimum(b, q)  // [3, 4]
        output lit = 2.0 * a - 1    // weak literals, float and integer
        """, {"a": a, "b": b, "p": p, "q": q},
         want=dict(add=w32(A + B), sub=w32(B - A), mul=w32(A * B), div=w32(A / P), pw=w32(P ** Q),
                   pw2=w32(P ** 2), mx=w32(np.maximum(A, B)), mn=w32(np.minimum(B, Q)), lit=w32(2 * A - 1)))

    a, b, c = f32(4), f32(4), pos(4)
    A, B, C = D(a), D(b), D(c)
    case("op_precedence", "run", """
        // operator precedence and associativity (contract section 5)
        input a: f32[4]
        input b: f32[4]
        input c: f32[4]             // positive
        output p1 = a + b * c - a / c       // * / before + -
        output p2 = -a ** 2                 // -(a ** 2)
        output p3 = c ** c ** 0.5           // right-associative: c ** (c ** 0.5)
        output p4 = a - b - c               // left-associative: (a - b) - c
        output p5 = a / c / c               // (a / c) / c
        output p6 = (a + b) * c
        output p7 = 2.0 * -a + b            // unary minus after an operator
        output p8 = a @ b * 2.0             // @ and * share a level: (a @ b) * 2
        """, {"a": a, "b": b, "c": c},
         want=dict(p1=w32(A + B * C - A / C), p2=w32(-(A ** 2)), p3=w32(C ** (C ** 0.5)), p4=w32(A - B - C),
                   p5=w32(A / C / C), p6=w32((A + B) * C), p7=w32(2 * -A + B), p8=w32((A @ B) * 2)))

    x = f32(2, 3, 4)
    X = D(x)
    case("op_reductions", "run", """
        // sum mean max min with every axis form, and argmax (i64)
        input x: f32[2, 3, 4]
        output s_all  = sum(x)
        output s0     = sum(x, axis=0)
        output s12    = sum(x, axis=(1, 2))
        output m_neg  = mean(x, axis=-1)
        output m_keep = mean(x, axis=1, keepdims=true)
        output m_all  = mean(x)
        output mx     = max(x, axis=2)
        output mx_k   = max(x, axis=(0, 2), keepdims=true)
        output mn     = min(x, axis=-2)
        output mn_all = min(x)
        output am1    = argmax(x, axis=1)
        output am_neg = argmax(x, axis=-1)
        """, {"x": x},
         want=dict(s_all=w32(X.sum()), s0=w32(X.sum(0)), s12=w32(X.sum((1, 2))), m_neg=w32(X.mean(-1)),
                   m_keep=w32(X.mean(1, keepdims=True)), m_all=w32(X.mean()), mx=w32(X.max(2)),
                   mx_k=w32(X.max((0, 2), keepdims=True)), mn=w32(X.min(-2)), mn_all=w32(X.min()),
                   am1=X.argmax(1).astype(np.int64), am_neg=X.argmax(-1).astype(np.int64)))

    nanx = np.array([np.nan, 1.0, -np.inf, 0.0], np.float32)
    case("const_fold_matches_tensors", "run", """
        // regression: constant folding used to drop NaN (maximum(0/0, 1) gave 1);
        // a folded constant now computes what the same op on tensors computes
        input x: f32[4]
        output fold_max  = maximum(0.0 / 0.0, 1.0)
        output fold_min  = minimum(1.0, 0.0 / 0.0)
        output fold_nan  = 0.0 / 0.0 == 0.0 / 0.0
        output fold_ints = 7 - 10 * 2
        output fold_pow  = 2 ** 10
        output fold_half = 2 ** -1
        output fold_big  = 9223372036854775806 + 1 - 9223372036854775800
        output tens_max  = maximum(x, 1.0)
        """, {"x": nanx},
         want=dict(fold_max=np.float32(np.nan), fold_min=np.float32(np.nan), fold_nan=np.bool_(False),
                   fold_ints=np.int32(-13), fold_pow=np.int32(1024), fold_half=np.float32(0.5),
                   fold_big=np.int32(7), tens_max=np.maximum(nanx, np.float32(1.0))),
         nan=("fold_max", "fold_min", "tens_max"))

    a, b, u, v, w = f32(2, 3), f32(3, 4), f32(3), f32(3), f32(4)
    bx, by, c4, d3 = f32(5, 2, 3), f32(5, 3, 4), f32(2, 1, 3, 4), f32(3, 4, 2)
    A, B, U, V, W, BX, BY, C4, D3 = map(D, (a, b, u, v, w, bx, by, c4, d3))
    case("op_matmul_forms", "run", """
        // matmul with NumPy semantics: 2-D, 1-D promotion, batches, broadcast batches
        input a:  f32[2, 3]
        input b:  f32[3, 4]
        input u:  f32[3]
        input v:  f32[3]
        input w:  f32[4]
        input bx: f32[5, 2, 3]
        input by: f32[5, 3, 4]
        input c4: f32[2, 1, 3, 4]
        input d3: f32[3, 4, 2]
        output mm = a @ b               // [2, 4]
        output vm = u @ b               // [4]
        output mv = b @ w               // [3]
        output vv = u @ v               // scalar
        output bb = bx @ by             // [5, 2, 4]
        output b2 = bx @ b              // [5, 2, 4]: the 2-D operand broadcasts
        output bv = bx @ u              // [5, 2]
        output bc = c4 @ d3             // [2, 3, 3, 2]: batch axes [2, 1] and [3]
        output mm_fn = matmul(a, b)
        """, dict(a=a, b=b, u=u, v=v, w=w, bx=bx, by=by, c4=c4, d3=d3),
         want=dict(mm=w32(A @ B), vm=w32(U @ B), mv=w32(B @ W), vv=w32(U @ V), bb=w32(BX @ BY), b2=w32(BX @ B),
                   bv=w32(BX @ U), bc=w32(C4 @ D3), mm_fn=w32(A @ B)))

    x = f32(2, 3, 4)
    X = D(x)
    case("op_transpose_reshape", "run", """
        // transpose (reverse / permutation), reshape with -1, broadcast_to
        input x: f32[2, 3, 4]
        output t    = transpose(x)                  // [4, 3, 2]
        output tp   = transpose(x, (1, 0, 2))       // [3, 2, 4]
        output tp2  = transpose(x, (2, 0, 1))       // [4, 2, 3]
        output t2   = transpose(x[0])               // [4, 3]
        output r1   = reshape(x, (6, 4))
        output r2   = reshape(x, (-1, 2))           // [12, 2]
        output r3   = reshape(x, (4, -1, 3))        // [4, 2, 3]
        output flat = reshape(x, (-1,))             // [24]
        output bt   = broadcast_to(x[0, 0], (2, 4))
        output bt2  = broadcast_to(x[:, 0:1, 0:1], (2, 5, 3))
        """, {"x": x},
         want=dict(t=w32(X.transpose()), tp=w32(X.transpose(1, 0, 2)), tp2=w32(X.transpose(2, 0, 1)),
                   t2=w32(X[0].T), r1=w32(X.reshape(6, 4)), r2=w32(X.reshape(-1, 2)), r3=w32(X.reshape(4, -1, 3)),
                   flat=w32(X.reshape(-1)), bt=w32(np.broadcast_to(X[0, 0], (2, 4))),
                   bt2=w32(np.broadcast_to(X[:, 0:1, 0:1], (2, 5, 3)))))

    x = f32(5, 6)
    case("op_reshape_size_name", "run", """
        // reshape of a tensor with a run-time size: -1 stands for B
        dim B
        input x: f32[B, 6]
        let y: f32[B, 2, 3] = reshape(x, (-1, 2, 3))
        output y
        output back = reshape(y, (-1, 6)) * 2.0
        """, {"x": x}, want=dict(y=w32(D(x).reshape(5, 2, 3)), back=w32(D(x) * 2)))

    a, b, c = f32(2, 3), f32(2, 2), f32(1, 3)
    A, B, C = D(a), D(b), D(c)
    case("op_concat_stack", "run", """
        // concat along an existing axis, stack along a new one
        input a: f32[2, 3]
        input b: f32[2, 2]
        input c: f32[1, 3]
        output c1 = concat((a, b), axis=1)          // [2, 5]
        output c0 = concat((a, c, a), axis=0)       // [5, 3]
        output cn = concat((a, b), axis=-1)
        output s0 = stack((a, a * 2.0), axis=0)     // [2, 2, 3]
        output s1 = stack((a, c[0] + a), axis=1)    // [2, 2, 3]
        output s2 = stack((a, a, a), axis=-1)       // [2, 3, 3]
        """, dict(a=a, b=b, c=c),
         want=dict(c1=w32(np.concatenate([A, B], 1)), c0=w32(np.concatenate([A, C, A], 0)),
                   cn=w32(np.concatenate([A, B], -1)), s0=w32(np.stack([A, A * 2], 0)),
                   s1=w32(np.stack([A, C[0] + A], 1)), s2=w32(np.stack([A, A, A], -1))))

    x = f32(3, 1, 4)
    X = D(x)
    case("op_expand_squeeze", "run", """
        // expand_dims and squeeze
        input x: f32[3, 1, 4]
        output e0  = expand_dims(x, 0)              // [1, 3, 1, 4]
        output e2  = expand_dims(x, 2)              // [3, 1, 1, 4]
        output em  = expand_dims(x, -1)             // [3, 1, 4, 1]
        output sq  = squeeze(x, 1)                  // [3, 4]
        output sqn = squeeze(x, -2)                 // [3, 4]
        output rt  = squeeze(expand_dims(x, 0), 0)  // [3, 1, 4]
        """, {"x": x},
         want=dict(e0=w32(np.expand_dims(X, 0)), e2=w32(np.expand_dims(X, 2)), em=w32(np.expand_dims(X, -1)),
                   sq=w32(X.squeeze(1)), sqn=w32(X.squeeze(-2)), rt=w32(X)))

    y = np.array([0, 4, 2, 2, 1, 3, 0], np.int32)
    table = f32(6, 3)
    grid = np.array([[5, 0], [3, 3]], np.int64)
    T = D(table)
    case("op_one_hot_gather", "run", """
        // one_hot (f32 result) and gather of rows, with i32 and i64 indices
        dim B
        input y: i32[B]
        input table: f32[6, 3]
        input grid: i64[2, 2]
        output oh  = one_hot(y, 5)          // f32[B, 5]
        output oh2 = one_hot(grid, 6)       // f32[2, 2, 6]
        output g1  = gather(table, y)       // [B, 3]
        output g2  = gather(table, grid)    // [2, 2, 3]
        """, dict(y=y, table=table, grid=grid),
         want=dict(oh=w32(one_hot(y, 5)), oh2=w32(one_hot(grid, 6)), g1=w32(T[y]), g2=w32(T[grid])))

    a, b = f32(2, 3), f32(3)
    i = rng.integers(0, 4, (2, 3)).astype(np.int32)
    A, B = D(a), D(b)
    case("op_compare_where_cast", "run", """
        // comparisons give bool; where selects; cast converts
        input a: f32[2, 3]
        input b: f32[3]
        input i: i32[2, 3]
        output lt = a < b
        output le = a <= 0.0
        output gt = a > b
        output ge = i >= 2
        output eq = i == 1
        output ne = i != 1
        output w1 = where(a > b, a, b)
        output w2 = where(i == 1, a, 0.0)
        output c1 = cast(a, f64)
        output c2 = cast(a > 0.0, f32)
        output c3 = cast(i, f32) * a
        output c4 = cast(a * 3.0, i32)      // truncates toward zero, like astype
        output c5 = cast(i, i64) + 1
        """, dict(a=a, b=b, i=i),
         want=dict(lt=A < B, le=A <= 0, gt=A > B, ge=i >= 2, eq=i == 1, ne=i != 1,
                   w1=w32(np.where(A > B, A, B)), w2=w32(np.where(i == 1, A, 0)), c1=A,
                   c2=w32((A > 0).astype(f64)), c3=w32(i * A), c4=(a * np.float32(3)).astype(np.int32),
                   c5=i.astype(np.int64) + 1))

    x = f32(3, 4, 5)
    X = D(x)
    case("op_index_slice", "run", """
        // literal indices drop an axis, static slices keep it
        input x: f32[3, 4, 5]
        output i0  = x[0]                   // [4, 5]
        output im  = x[-1]
        output ij  = x[1, 2]                // [5]
        output ijk = x[2, -1, 0]            // scalar
        output s1  = x[:, 1:3]              // [3, 2, 5]
        output s2  = x[1:]                  // [2, 4, 5]
        output s3  = x[:2, :, 3:]           // [2, 4, 2]
        output s4  = x[0, :, -2:]           // [4, 2]
        output s5  = x[:, 0, 1:4]           // [3, 3]
        output s6  = x[-2:-1]               // [1, 4, 5]
        """, {"x": x},
         want=dict(i0=w32(X[0]), im=w32(X[-1]), ij=w32(X[1, 2]), ijk=w32(X[2, -1, 0]), s1=w32(X[:, 1:3]),
                   s2=w32(X[1:]), s3=w32(X[:2, :, 3:]), s4=w32(X[0, :, -2:]), s5=w32(X[:, 0, 1:4]),
                   s6=w32(X[-2:-1])))

    case("op_creation", "run", """
        // creation calls with an explicit shape
        output z  = zeros((2, 3))
        output o  = ones((3,))
        output f  = full((2, 2), 1.5)
        output ar = cast(arange(5), f32)
        output a2 = cast(arange(4), f32) * 2.0 + 1.0
        output zo = zeros((2, 2)) + ones((2, 2)) * 3.0
        """, want=dict(z=np.zeros((2, 3), np.float32), o=np.ones(3, np.float32), f=np.full((2, 2), 1.5, np.float32),
                       ar=np.arange(5, dtype=np.float32), a2=np.arange(4, dtype=np.float32) * 2 + 1,
                       zo=np.full((2, 2), 3.0, np.float32)))

    case("op_random_moments", "run", """
        // normal / uniform: the generator is the implementation's own, so only
        // moments, bounds and determinism for a given seed are checked
        let n = normal((200000,), 2.0, 0.5, seed=5)
        let u = uniform((200000,), -1.0, 3.0, seed=6)
        output n_mean = mean(n)
        output n_std  = sqrt(mean((n - mean(n)) ** 2.0))
        output u_mean = mean(u)
        output u_low  = cast(min(u) >= -1.0, f32)
        output u_high = cast(max(u) <= 3.0, f32)
        output same   = max(abs(normal((1000,), 0.0, 1.0, seed=9) - normal((1000,), 0.0, 1.0, seed=9)))
        output differ = cast(max(abs(normal((1000,), 0.0, 1.0, seed=9) - normal((1000,), 0.0, 1.0, seed=10))) > 0.0, f32)
        """, rtol=0.0, atol=0.02,
         want=dict(n_mean=np.float32(2.0), n_std=np.float32(0.5), u_mean=np.float32(1.0), u_low=np.float32(1),
                   u_high=np.float32(1), same=np.float32(0), differ=np.float32(1)))


# ---------------------------------------------------- dtypes, steps, scalars
def program_cases():
    x, w = rng.standard_normal((4, 3)), rng.standard_normal(3)
    y = np.tanh(x @ w) * 2.5 + 1
    case("dtype_f64_program", "run", """
        // a whole program in f64: literals take f64, grad keeps f64
        input x: f64[4, 3]
        input w: f64[3]
        let y = tanh(x @ w) * 2.5 + 1
        output y
        output s = sum(exp(x) / 3.0, axis=0)
        output g = grad(sum(y * y), w)
        """, {"x": x, "w": w}, rtol=1e-9, atol=1e-12,
         want=dict(y=y, s=(np.exp(x) / 3).sum(0), g=x.T @ (2 * y * 2.5 * (1 - np.tanh(x @ w) ** 2))))

    i = np.array([-5, -1, 0, 3, 7], np.int32)
    j = np.array([10, -20, 3, 0, 4], np.int64)
    case("dtype_int_program", "run", """
        // i32 / i64 arithmetic with weak integer literals and a scalar input
        input i: i32[5]
        input j: i64[5]
        input k: i32
        output a   = i * 2 + 1
        output b   = j - 3
        output c   = maximum(i, k)
        output d   = minimum(j, 2)
        output e   = abs(i - 3)
        output f   = cast(i, i64) * j
        output s   = sum(j)
        output m   = max(i, axis=0)
        output n   = -i
        output cmp = i > k
        """, {"i": i, "j": j}, scalars={"k": "2"},
         want=dict(a=i * 2 + 1, b=j - 3, c=np.maximum(i, np.int32(2)), d=np.minimum(j, 2), e=np.abs(i - 3),
                   f=i.astype(np.int64) * j, s=np.int64(j.sum()), m=np.int32(i.max()), n=-i, cmp=i > 2))

    x = f32(3)
    X = D(x)
    case("steps_accumulate", "run", """
        // --steps: lets see the params of the current step; an output that is
        // a param gives its value after the last update
        input x: f32[3]
        param acc: f32[3] = zeros()
        param n: f32 = zeros()
        let mean_so_far = acc / maximum(n, 1.0)
        update acc = acc + x
        update n = n + 1.0
        output acc                      // 4 x after 4 steps
        output n                        // 4
        output seen = n + 0.0           // 3: n during the last step
        output mean_so_far              // x: acc = 3 x, n = 3 in the last step
        """, {"x": x}, steps=4,
         want=dict(acc=w32(4 * X), n=np.float32(4), seen=np.float32(3), mean_so_far=w32(X)))

    case("steps_updates_read_old_values", "run", """
        // all updates are evaluated from the old values, then assigned together
        param a: f32[2] = zeros()
        param b: f32[2] = ones()
        param f0: f32 = zeros()
        param f1: f32 = ones()
        update a = b                    // a swap: needs the old b
        update b = a                    // and the old a
        update f0 = f1                  // Fibonacci: (f0, f1) <- (f1, f0 + f1)
        update f1 = f0 + f1
        output a
        output b
        output a_last = a * 1.0         // a during the last (third) step
        output f0
        output f1
        """, steps=3, want=dict(a=np.ones(2, np.float32), b=np.zeros(2, np.float32),
                   a_last=np.zeros(2, np.float32), f0=np.float32(2), f1=np.float32(3)))

    w0, x = f32(3), f32(3)
    W = D(w0)
    for _ in range(5):
        W = W * 0.5 + D(x)
    case("steps_param_from_file", "run", """
        // --param NAME=FILE.npy replaces the initialiser
        input x: f32[3]
        param w: f32[3] = zeros()
        update w = w * 0.5 + x
        output w
        """, {"x": x}, params={"w": w0}, steps=5, want=dict(w=w32(W)))

    x = f32(3)
    case("scalar_inputs", "run", """
        // scalar inputs given on the command line: --input s=2.5 --input k=3
        input s: f32
        input k: i32
        input x: f32[3]
        output y  = x * s + cast(k, f32)
        output s2 = s * s
        output k2 = k + 1
        """, {"x": x}, scalars={"s": "2.5", "k": "3"},
         want=dict(y=w32(D(x) * 2.5 + 3), s2=np.float32(6.25), k2=np.int32(4)))

    a, b, c = f32(5, 3), f32(3), f32(5)
    A, B, C = D(a), D(b), D(c)
    case("size_names_from_inputs", "run", """
        // size names bound from the inputs' actual shapes, shared by several inputs
        dim N
        dim M
        input a: f32[N, M]
        input b: f32[M]
        input c: f32[N]
        let z: f32[N, M] = a * b + expand_dims(c, 1)
        output z
        output rows = sum(z, axis=1)
        output t = transpose(z) @ c         // [M]
        """, dict(a=a, b=b, c=c),
         want=dict(z=w32(A * B + C[:, None]), rows=w32((A * B + C[:, None]).sum(1)),
                   t=w32((A * B + C[:, None]).T @ C)))

    x = f32(4)
    X = D(x)
    case("fn_calls_and_consts", "run", """
        // user functions (size parameters unified per call), consts, --steps 1
        const k = 3
        const half = 0.5
        fn poly[N](x: f32[N], c: f32) -> f32[N] {
            let sq = x * x;
            sq * c + x * k
        }
        input x: f32[4]
        output y = poly(x, half)
        output z = poly(x[1:], 2.0)
        """, {"x": x}, want=dict(y=w32(X * X * 0.5 + 3 * X), z=w32(X[1:] ** 2 * 2 + 3 * X[1:])))


# ------------------------------------------------------------------ nn module
def nn_cases():
    x = f32(4, 5)
    X = D(x)
    case("nn_softmax", "run", """
        // nn.softmax / nn.log_softmax, default and explicit axis, large logits
        use nn
        input x: f32[4, 5]
        output p    = nn.softmax(x)
        output p0   = nn.softmax(x, axis=0)
        output lp   = nn.log_softmax(x)
        output lp0  = nn.log_softmax(x, axis=0)
        output big  = nn.softmax(x * 100.0)         // stable: no overflow
        output lbig = nn.log_softmax(x * 100.0)
        """, {"x": x}, atol=1e-4,
         want=dict(p=w32(softmax(X)), p0=w32(softmax(X, 0)), lp=w32(log_softmax(X)), lp0=w32(log_softmax(X, 0)),
                   big=w32(softmax(D(x * np.float32(100)))), lbig=w32(log_softmax(D(x * np.float32(100))))))

    logits, y32, y64 = f32(6, 4), labels(6, 4), labels(6, 4, np.int64)
    L = D(logits)
    case("nn_cross_entropy", "run", """
        // nn.cross_entropy: per-row loss with i32 or i64 labels
        use nn
        input logits: f32[6, 4]
        input y32: i32[6]
        input y64: i64[6]
        output ce = nn.cross_entropy(logits, y32)
        output ce64 = nn.cross_entropy(logits, y64)
        output loss = mean(nn.cross_entropy(logits, y32))
        """, dict(logits=logits, y32=y32, y64=y64),
         want=dict(ce=w32(cross_entropy(L, y32)), ce64=w32(cross_entropy(L, y64)), loss=w32(cross_entropy(L, y32).mean())))

    a, b, c, d = f32(3, 4), f32(3, 4), f32(7), f32(7)
    case("nn_mse", "run", """
        // nn.mse: the scalar mean of squared differences
        use nn
        input a: f32[3, 4]
        input b: f32[3, 4]
        input c: f32[7]
        input d: f32[7]
        output m2 = nn.mse(a, b)
        output m1 = nn.mse(c, d)
        """, dict(a=a, b=b, c=c, d=d),
         want=dict(m2=w32(((D(a) - D(b)) ** 2).mean()), m1=w32(((D(c) - D(d)) ** 2).mean())))

    x, g, b, x2 = f32(2, 3, 8, scale=3.0), f32(8), f32(8), f32(5, 8)
    X, G, B, X2 = D(x), D(g), D(b), D(x2)
    case("nn_layer_norm", "run", """
        // nn.layer_norm over the last axis, biased variance, eps default 1e-5
        use nn
        input x:  f32[2, 3, 8]
        input x2: f32[5, 8]
        input g:  f32[8]
        input b:  f32[8]
        output y  = nn.layer_norm(x, g, b)
        output y2 = nn.layer_norm(x2, g, b, eps=0.1)
        """, dict(x=x, x2=x2, g=g, b=b), atol=1e-4,
         want=dict(y=w32(layer_norm(X, G, B)), y2=w32(layer_norm(X2, G, B, 0.1))))

    x = f32(3, 5, scale=2.0)
    X = D(x)
    case("nn_gelu_silu", "run", """
        // nn.gelu (tanh form) and nn.silu
        use nn.{gelu, silu}
        input x: f32[3, 5]
        output g = gelu(x)
        output s = silu(x)
        """, {"x": x}, want=dict(g=w32(gelu(X)), s=w32(X * sigmoid(X))))

    x3, x2, x1, w, b = f32(2, 3, 4), f32(5, 4), f32(4), f32(4, 6), f32(6)
    W, B = D(w), D(b)
    case("nn_linear", "run", """
        // nn.linear(x, w, b) = x @ w + b for 1-D, 2-D and 3-D x
        use nn
        input x3: f32[2, 3, 4]
        input x2: f32[5, 4]
        input x1: f32[4]
        input w:  f32[4, 6]
        input b:  f32[6]
        output y3 = nn.linear(x3, w, b)
        output y2 = nn.linear(x2, w, b)
        output y1 = nn.linear(x1, w, b)
        """, dict(x3=x3, x2=x2, x1=x1, w=w, b=b),
         want=dict(y3=w32(D(x3) @ W + B), y2=w32(D(x2) @ W + B), y1=w32(D(x1) @ W + B)))

    x = rng.standard_normal((3, 4))
    case("nn_f64", "run", """
        // nn functions on f64 keep f64
        use nn
        input x: f64[3, 4]
        output p = nn.softmax(x)
        output g = nn.gelu(x)
        """, {"x": x}, rtol=1e-9, atol=1e-12, want=dict(p=softmax(x), g=gelu(x)))


# ---------------------------------------------------------------------- grads
def grad_cases():
    x, y = f32(5), f32(5)
    X, Y = D(x), D(y)
    f = lambda X, Y: np.sum(X * Y) + np.sum(np.exp(X) * np.sin(Y)) + np.sum(X * X * Y)
    gx = Y + np.exp(X) * np.sin(Y) + 2 * X * Y
    gy = X + np.exp(X) * np.cos(Y) + X * X
    fd_check(lambda v: f(v, Y), X, gx); fd_check(lambda v: f(X, v), Y, gy)
    case("grad_sums_products", "grad", """
        // gradients through sums and elementwise products
        input x: f32[5]
        input y: f32[5]
        let f = sum(x * y) + sum(exp(x) * sin(y)) + sum(x * x * y)
        output gx = grad(f, x)
        output gy = grad(f, y)
        """, dict(x=x, y=y), want=dict(gx=w32(gx), gy=w32(gy)))

    x, b, s = f32(4, 3), f32(3), np.float32(0.3)
    X, B, S = D(x), D(b), 0.3
    f = lambda X, B, S: np.sum(np.tanh(X * B + S))
    dd = 1 - np.tanh(X * B + S) ** 2
    gx, gb, gs = dd * B, (dd * X).sum(0), dd.sum()
    fd_check(lambda v: f(v, B, S), X, gx); fd_check(lambda v: f(X, v, S), B, gb)
    case("grad_broadcast", "grad", """
        // a broadcast operand's gradient is summed over the broadcast axes
        dim N
        input x: f32[N, 3]
        input b: f32[3]
        input s: f32
        let f = sum(tanh(x * b + s))
        output gx = grad(f, x)              // [N, 3]
        output gb = grad(f, b)              // [3]: summed over rows
        output gs = grad(f, s)              // scalar: summed over everything
        """, dict(x=x, b=b), scalars={"s": "0.3"}, want=dict(gx=w32(gx), gb=w32(gb), gs=w32(gs)))

    a, w, v, bx = f32(3, 4), f32(4, 2), f32(4), f32(2, 3, 4)
    A, W, V, BX = map(D, (a, w, v, bx))

    def f(A, W, V, BX):
        return np.sum((A @ W) ** 2) + np.sum(np.tanh(A @ V)) + np.sum(np.sin(BX @ W))
    t = 1 - np.tanh(A @ V) ** 2
    gw = A.T @ (2 * (A @ W)) + np.einsum("bij,bik->jk", BX, np.cos(BX @ W))
    ga = 2 * (A @ W) @ W.T + t[:, None] * V[None, :]
    gv = A.T @ t
    gbx = np.cos(BX @ W) @ W.T
    fd_check(lambda z: f(A, z, V, BX), W, gw); fd_check(lambda z: f(z, W, V, BX), A, ga)
    fd_check(lambda z: f(A, W, z, BX), V, gv); fd_check(lambda z: f(A, W, V, z), BX, gbx)
    case("grad_matmul", "grad", """
        // gradients through 2-D, matrix-vector and batched matmul
        input a:  f32[3, 4]
        input w:  f32[4, 2]
        input v:  f32[4]
        input bx: f32[2, 3, 4]
        let f = sum((a @ w) ** 2.0) + sum(tanh(a @ v)) + sum(sin(bx @ w))
        let (ga, gw, gv, gbx) = grad(f, (a, w, v, bx))
        output ga
        output gw
        output gv
        output gbx
        """, dict(a=a, w=w, v=v, bx=bx), want=dict(ga=w32(ga), gw=w32(gw), gv=w32(gv), gbx=w32(gbx)))

    x, w, y = f32(6, 5), f32(5, 3), labels(6, 3)
    X, W = D(x), D(w)
    f = lambda X, W: cross_entropy(X @ W, y).mean()
    dl = (softmax(X @ W) - one_hot(y, 3)) / 6
    gw, gx = X.T @ dl, dl @ W.T
    fd_check(lambda z: f(X, z), W, gw); fd_check(lambda z: f(z, W), X, gx)
    case("grad_softmax_cross_entropy", "grad", """
        // the gradient of the mean softmax cross-entropy of a linear model
        use nn
        input x: f32[6, 5]
        input w: f32[5, 3]
        input y: i32[6]
        let loss = mean(nn.cross_entropy(x @ w, y))
        output loss
        output gw = grad(loss, w)
        output gx = grad(loss, x)
        """, dict(x=x, w=w, y=y), want=dict(loss=w32(f(X, W)), gw=w32(gw), gx=w32(gx)))

    x = f32(3, 5)
    X = D(x)
    f = lambda X: X.max(1).sum() + 2 * X.max() + X.min(0).sum() + X.mean(1).sum()
    g = np.zeros_like(X)
    g[np.arange(3), X.argmax(1)] += 1
    g[np.unravel_index(X.argmax(), X.shape)] += 2
    g[X.argmin(0), np.arange(5)] += 1
    g += 1 / 5
    fd_check(f, X, g)
    case("grad_max_min_mean", "grad", """
        // max / min reductions route the gradient to the extreme element (no ties here)
        input x: f32[3, 5]
        let f = sum(max(x, axis=1)) + 2.0 * max(x) + sum(min(x, axis=0)) + sum(mean(x, axis=1))
        output g = grad(f, x)
        """, {"x": x}, want=dict(g=w32(g)))

    x, w = f32(4), f32(4)
    X, W = D(x), D(w)
    H = X * W
    case("grad_wrt_let", "grad", """
        // grad with respect to a let treats it as the variable
        input x: f32[4]
        param w: f32[4] = ones()
        let h = x * w
        let f = sum(h * h * h)
        output gh = grad(f, h)              // 3 h^2
        output gx = grad(f, x)              // 3 h^2 w
        output gw = grad(f, w)              // 3 h^2 x
        """, {"x": x}, params={"w": w}, want=dict(gh=w32(3 * H ** 2), gx=w32(3 * H ** 2 * W), gw=w32(3 * H ** 2 * X)))

    x = f32(6)
    X = D(x)
    case("grad_multiple", "grad", """
        // several independent grads in one program
        input x: f32[6]
        let l1 = sum(x * x)
        let l2 = sum(sin(x))
        output g1 = grad(l1, x)
        output g2 = grad(l2, x)
        output g3 = grad(l1 + 3.0 * l2, x)
        """, {"x": x}, want=dict(g1=w32(2 * X), g2=w32(np.cos(X)), g3=w32(2 * X + 3 * np.cos(X))))

    a, b = f32(3), f32(3)
    A, B, C = D(a), D(b), 1.5
    case("grad_tuple", "grad", """
        // grad over a tuple (tensors and a scalar input), destructured
        input a: f32[3]
        input b: f32[3]
        input c: f32
        let f = sum(a * b * c) + c * c
        let (ga, gb, gc) = grad(f, (a, b, c))
        output ga
        output gb
        output gc
        """, dict(a=a, b=b), scalars={"c": "1.5"},
         want=dict(ga=w32(B * C), gb=w32(A * C), gc=w32(np.sum(A * B) + 2 * C)))

    x = f32(5)
    X = D(x)
    case("grad_stop_gradient", "grad", """
        // stop_gradient blocks the gradient through its argument
        input x: f32[5]
        let f = sum(x * stop_gradient(x)) + sum(stop_gradient(x * x))
        output g = grad(f, x)               // x, not 2 x
        """, {"x": x}, want=dict(g=w32(X)))

    x, y = pos(6), f32(6)
    y[np.abs(y - 0.1) < 0.05] += 0.2           # keep away from the kinks at 0 and 0.1
    y[np.abs(y) < 0.05] += 0.2
    X, Y = D(x), D(y)

    def f(X, Y):
        return np.sum(np.sqrt(X) + np.log(X) + 1 / X + X ** 3 + 1 / np.sqrt(X) + X ** Y + np.abs(Y) + np.maximum(Y, 0)
                      + np.maximum(Y, 0.1) + np.where(Y > 0, Y * Y, -Y) + sigmoid(Y) + np.cos(Y) + np.minimum(Y, X))
    s = sigmoid(Y)
    gx = 0.5 / np.sqrt(X) + 1 / X - 1 / X ** 2 + 3 * X ** 2 - 0.5 * X ** -1.5 + Y * X ** (Y - 1) + (X < Y)
    gy = (X ** Y * np.log(X) + np.sign(Y) + (Y > 0) + (Y > 0.1) + np.where(Y > 0, 2 * Y, -1) + s * (1 - s)
          - np.sin(Y) + (Y < X))
    fd_check(lambda z: f(z, Y), X, gx); fd_check(lambda z: f(X, z), Y, gy)
    case("grad_elementwise_math", "grad", """
        // derivative rules of the elementwise builtins (away from kinks and ties)
        input x: f32[6]         // positive
        input y: f32[6]
        let f = sum(sqrt(x) + log(x) + 1.0 / x + x ** 3.0 + rsqrt(x) + pow(x, y) + abs(y) + relu(y)
                    + maximum(y, 0.1) + where(y > 0.0, y * y, -y) + sigmoid(y) + cos(y) + minimum(y, x))
        output gx = grad(f, x)
        output gy = grad(f, y)
        """, dict(x=x, y=y), want=dict(gx=w32(gx), gy=w32(gy)))

    x, m, r, k = f32(3, 4), f32(4, 3), f32(2, 6), f32(6, 4)
    X, M, R, K = map(D, (x, m, r, k))

    def f(X):
        return (np.sum(X[1:] ** 2) + np.sum(X.T * M) + np.sum(X.reshape(2, 6) * R)
                + np.sum(np.concatenate([X, X * 2], 0) * K) + np.sum(np.broadcast_to(X[0], (5, 4)))
                + np.sum(np.expand_dims(X, 0) * 3) + np.sum(np.stack([X, X], 0)[1] * X))
    g = np.zeros_like(X)
    g[1:] += 2 * X[1:]
    g += M.T + R.reshape(3, 4) + K[:3] + 2 * K[3:] + 3 + 2 * X
    g[0] += 5
    fd_check(f, X, g)
    case("grad_shape_ops", "grad", """
        // gradients through slicing, transpose, reshape, concat, broadcast_to,
        // expand_dims and stack
        input x: f32[3, 4]
        input m: f32[4, 3]
        input r: f32[2, 6]
        input k: f32[6, 4]
        let f = sum(x[1:] ** 2.0) + sum(transpose(x) * m) + sum(reshape(x, (2, 6)) * r)
              + sum(concat((x, x * 2.0), axis=0) * k) + sum(broadcast_to(x[0], (5, 4)))
              + sum(expand_dims(x, 0) * 3.0) + sum(stack((x, x), axis=0)[1] * x)
        output g = grad(f, x)
        """, dict(x=x, m=m, r=r, k=k), want=dict(g=w32(g)))

    table, idx, w = f32(5, 3), np.array([0, 2, 2, 4, 0, 0], np.int32), f32(6, 3)
    T, W = D(table), D(w)
    g = np.zeros_like(T)
    np.add.at(g, idx, W * np.cos(T[idx]))
    fd_check(lambda z: np.sum(np.sin(z[idx]) * W), T, g)
    case("grad_gather", "grad", """
        // gather's gradient adds into the picked rows (repeated indices accumulate)
        input table: f32[5, 3]
        input idx: i32[6]
        input w: f32[6, 3]
        let f = sum(sin(gather(table, idx)) * w)
        output g = grad(f, table)
        """, dict(table=table, idx=idx, w=w), want=dict(g=w32(g)))

    x, gm, bt, t = f32(4, 6), f32(6), f32(6), f32(4, 6)
    X, GM, BT, TT = map(D, (x, gm, bt, t))

    def f(X, GM, BT):
        return np.sum(layer_norm(X, GM, BT) * TT) + np.sum(gelu(X) + X * sigmoid(X))
    mu = X.mean(-1, keepdims=True)
    rstd = 1 / np.sqrt(((X - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
    xh = (X - mu) * rstd
    dxh = TT * GM
    gx = rstd * (dxh - dxh.mean(-1, keepdims=True) - xh * (dxh * xh).mean(-1, keepdims=True))
    c = np.sqrt(2 / np.pi)
    u = c * (X + 0.044715 * X ** 3)
    gx = gx + 0.5 * (1 + np.tanh(u)) + 0.5 * X * (1 - np.tanh(u) ** 2) * c * (1 + 3 * 0.044715 * X ** 2)
    sg = sigmoid(X)
    gx = gx + sg + X * sg * (1 - sg)
    ggm, gbt = (TT * xh).sum(0), TT.sum(0)
    fd_check(lambda z: f(z, GM, BT), X, gx); fd_check(lambda z: f(X, z, BT), GM, ggm)
    case("grad_nn_layers", "grad", """
        // gradients through nn.layer_norm, nn.gelu and nn.silu
        use nn
        input x: f32[4, 6]
        input gm: f32[6]
        input bt: f32[6]
        input t: f32[4, 6]
        let f = sum(nn.layer_norm(x, gm, bt) * t) + sum(nn.gelu(x) + nn.silu(x))
        let (gx, ggm, gbt) = grad(f, (x, gm, bt))
        output gx
        output ggm
        output gbt
        """, dict(x=x, gm=gm, bt=bt, t=t), atol=1e-4, want=dict(gx=w32(gx), ggm=w32(ggm), gbt=w32(gbt)))

    x = f32(3, 4)
    X = D(x)
    sm = softmax(X)
    tw = np.arange(4.0)
    # f = sum(softmax(x) * [0,1,2,3]); df/dx = p * (tw - sum(p * tw))
    g = sm * (tw - (sm * tw).sum(-1, keepdims=True))
    fd_check(lambda z: np.sum(softmax(z) * tw), X, g)
    case("grad_softmax", "grad", """
        // the gradient of softmax (with its stop_gradient on the max) is exact
        use nn
        input x: f32[3, 4]
        let f = sum(nn.softmax(x) * cast(arange(4), f32))
        output g = grad(f, x)
        """, {"x": x}, want=dict(g=w32(g)))


# ------------------------------------------------------------------- examples
def relu_mlp_grads(x, y, w1, b1, w2, b2):
    """Loss and gradients of mean cross-entropy of relu(x@w1+b1)@w2+b2 (float64)."""
    pre = x @ w1 + b1
    h = np.maximum(pre, 0)
    logits = h @ w2 + b2
    loss = cross_entropy(logits, y).mean()
    dl = (softmax(logits) - one_hot(y, w2.shape[1])) / len(y)
    gw2, gb2 = h.T @ dl, dl.sum(0)
    dh = (dl @ w2.T) * (pre > 0)
    gw1, gb1 = x.T @ dh, dh.sum(0)
    return loss, (gw1, gb1, gw2, gb2)


def mlp_data():
    x, y = f32(8, 4), labels(8, 3)
    params = dict(w1=f32(4, 16, scale=0.5), b1=f32(16, scale=0.1), w2=f32(16, 3, scale=0.5), b2=f32(3, scale=0.1))
    return x, y, params


def example_cases():
    # mlp.weft: 5 steps of plain SGD, lr = 0.1
    x, y, params = mlp_data()
    X = D(x)
    P = {k: D(v) for k, v in params.items()}
    _, (g1, *_r) = relu_mlp_grads(X, y, P["w1"], P["b1"], P["w2"], P["b2"])
    fd_check(lambda z: relu_mlp_grads(X, y, z, P["b1"], P["w2"], P["b2"])[0], P["w1"], g1)
    for _ in range(5):
        loss, gs = relu_mlp_grads(X, y, P["w1"], P["b1"], P["w2"], P["b2"])
        for k, g in zip(("w1", "b1", "w2", "b2"), gs):
            P[k] = P[k] - 0.1 * g
    case("example_mlp", "run", program="examples/mlp.weft", inputs=dict(x=x, y=y), params=params, steps=5,
         rtol=1e-3, atol=1e-5, want=dict(loss=w32(loss), w1=w32(P["w1"])))

    # mlp_adam.weft: 5 steps of Adam, lr = 0.01, with the optim module
    x, y, params = mlp_data()
    X = D(x)
    P = {k: D(v) for k, v in params.items()}
    M = {k: np.zeros_like(v) for k, v in P.items()}
    V = {k: np.zeros_like(v) for k, v in P.items()}
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    for t in range(5):
        loss, gs = relu_mlp_grads(X, y, P["w1"], P["b1"], P["w2"], P["b2"])
        step = t + 1
        for k, g in zip(("w1", "b1", "w2", "b2"), gs):
            M[k] = b1 * M[k] + (1 - b1) * g
            V[k] = b2 * V[k] + (1 - b2) * g * g
            mhat, vhat = M[k] / (1 - b1 ** step), V[k] / (1 - b2 ** step)
            P[k] = P[k] - lr * mhat / (np.sqrt(vhat) + eps)
    # (mlp_adam.weft keeps its params in the record `net`: --param net.w1=..)
    case("example_mlp_adam", "run", program="examples/mlp_adam.weft", inputs=dict(x=x, y=y),
         params={f"net.{k}": v for k, v in params.items()},
         steps=5, rtol=1e-3, atol=1e-4, want=dict(loss=w32(loss), w1=w32(P["w1"]), t=np.int32(5)))

    # linear_regression.weft: 30 steps of gradient descent from zeros, lr = 0.05
    Xf = f32(20, 3)
    yf = (D(Xf) @ np.array([1.5, -2.0, 0.5]) + 0.5 + 0.1 * rng.standard_normal(20)).astype(np.float32)
    X, Y = D(Xf), D(yf)
    w, b = np.zeros(3), 0.0
    for _ in range(30):
        r = X @ w + b - Y
        loss = np.mean(r ** 2)
        w, b = w - 0.05 * (2 / 20) * (X.T @ r), b - 0.05 * 2 * r.mean()
    case("example_linear_regression", "run", program="examples/linear_regression.weft",
         inputs=dict(X=Xf, y=yf), steps=30, rtol=1e-3, atol=1e-5,
         want=dict(loss=w32(loss), w=w32(w), b=w32(b)))

    # attention.weft: one forward pass
    x = f32(2, 5, 16)
    params = dict(ln_g=(1 + 0.1 * f32(16)).astype(np.float32), ln_b=f32(16, scale=0.1),
                  wq=f32(16, 16, scale=0.25), wk=f32(16, 16, scale=0.25), wv=f32(16, 16, scale=0.25),
                  wo=f32(16, 16, scale=0.25))
    X = D(x)
    P = {k: D(v) for k, v in params.items()}
    h = layer_norm(X, P["ln_g"], P["ln_b"])
    q, k, v = h @ P["wq"], h @ P["wk"], h @ P["wv"]
    attn = softmax((q @ k.transpose(0, 2, 1)) * 0.25)
    yy = X + (attn @ v) @ P["wo"]
    case("example_attention", "run", program="examples/attention.weft", inputs=dict(x=x), params=params,
         atol=1e-4, want=dict(y=w32(yy), attn=w32(attn)))

    # pipeline.weft: standardise, project, softmax, argmax
    x = (f32(6, 8) * 3 + 1).astype(np.float32)
    mu, sigma = (D(x).mean(0)).astype(np.float32), (D(x).std(0) + 0.1).astype(np.float32)
    params = dict(w=f32(8, 5, scale=0.5), b=f32(5, scale=0.1))
    z = (D(x) - D(mu)) / D(sigma)
    logits = z @ D(params["w"]) + D(params["b"])
    pr = softmax(logits)
    case("example_pipeline", "run", program="examples/pipeline.weft", inputs=dict(x=x, mu=mu, sigma=sigma),
         params=params, want=dict(probs=w32(pr), label=logits.argmax(1).astype(np.int64),
                                  confidence=w32(pr.max(1))))

    # preprocess.weft: clip, scale, slice, one_hot, concat, reshape
    raw = f32(7, 6, scale=2.0)
    raw[1, 2], raw[4, 0], raw[6, 5] = 9.5, -12.0, 7.25
    lab = labels(7, 4)
    R = np.minimum(np.maximum(D(raw), -5), 5)
    lo, hi = R.min(0, keepdims=True), R.max(0, keepdims=True)
    sc = (R - lo) / (hi - lo + 1e-6)
    feats = np.concatenate([sc[:, :4], one_hot(lab, 4)], 1)
    case("example_preprocess", "run", program="examples/preprocess.weft", inputs=dict(raw=raw, labels=lab),
         want=dict(features=w32(feats), patches=w32(feats.reshape(-1, 2, 4)),
                   ratio=w32(sc[:, 4] / (sc[:, 5] + 1))))

    # hvp.weft: a Hessian-vector product by double differentiation
    A, x, v = f32(6, 4), f32(4), f32(4)
    Ad, X, Vd = D(A), D(x), D(v)
    t = np.tanh(Ad @ X)
    g = Ad.T @ (1 - t ** 2) + X
    hv = Ad.T @ ((-2 * t * (1 - t ** 2)) * (Ad @ Vd)) + Vd
    fd_check(lambda z: np.sum(np.tanh(Ad @ z)) + 0.5 * np.sum(z * z), X, g)
    fd_check(lambda z: np.sum((Ad.T @ (1 - np.tanh(Ad @ z) ** 2) + z) * Vd), X, hv)
    case("example_hvp", "grad", program="examples/hvp.weft", inputs=dict(A=A, x=x, v=v),
         want=dict(g=w32(g), hv=w32(hv)))


# ------------------------------------------------------------ run-time errors
def rterr_cases():
    prog = """
        // {what}: weft must exit 3 with a message naming the input
        input a: f32[2, 3]
        output s = sum(a)
        """
    case("rterr_wrong_shape", "rterr", prog.format(what="a file of the wrong shape"), {"a": f32(3, 2)}, exit=3)
    case("rterr_wrong_rank", "rterr", prog.format(what="a file of the wrong rank"), {"a": f32(6)}, exit=3)
    case("rterr_wrong_dtype", "rterr", prog.format(what="an f64 file for an f32 input"),
         {"a": rng.standard_normal((2, 3))}, exit=3)
    case("rterr_int_for_float", "rterr", prog.format(what="an i32 file for an f32 input"),
         {"a": np.zeros((2, 3), np.int32)}, exit=3)
    case("rterr_missing_input", "rterr", """
        // input b is declared but no --input b=... is given
        input a: f32[3]
        input b: f32[3]
        output s = a + b
        """, {"a": f32(3)}, exit=3)
    case("rterr_size_name_conflict", "rterr", """
        // N is bound to 3 by a and to 4 by b
        dim N
        input a: f32[N]
        input b: f32[N]
        output s = a + b
        """, {"a": f32(3), "b": f32(4)}, exit=3)
    case("rterr_size_name_conflict_2d", "rterr", """
        // B is bound to 5 by x's first axis and to 4 by y
        dim B
        dim D
        input x: f32[B, D]
        input y: i32[B]
        output s = sum(x, axis=1) + cast(y, f32)
        """, {"x": f32(5, 2), "y": np.zeros(4, np.int32)}, exit=3)
    case("rterr_missing_file", "rterr", """
        // --input x=<a path that does not exist>
        input x: f32[3]
        output y = x * 2.0
        """, scalars={"x": "@missing"}, exit=3)
    case("rterr_garbage_file", "rterr", """
        // --input x=<300 random bytes>
        input x: f32[3]
        output y = x * 2.0
        """, scalars={"x": "@garbage"}, exit=3)
    case("rterr_truncated_file", "rterr", """
        // --input y=<an .npy whose header claims 9 values but holds 4>
        input y: f32[9]
        output s = sum(y)
        """, scalars={"y": "@truncated"}, files={"y": f32(4)}, exit=3)
    case("rterr_param_wrong_shape", "rterr", """
        // --param w=<a [4] file> for a f32[3] param
        input x: f32[3]
        param w: f32[3] = zeros()
        output y = x * w
        """, {"x": f32(3)}, params={"w": f32(4)}, exit=3)
    case("rterr_scalar_input_shape", "rterr", """
        // a [3] file for a scalar input
        input s: f32
        output y = s * 2.0
        """, {"s": f32(3)}, exit=3)


def wide_row_cases():
    # Rows of 2,048 elements: long enough for the kernel scheduler to fuse
    # the kernels of a row (softmax, layer norm) into one loop.
    x = f32(3, 2048) * 3.0
    g, b = f32(2048), f32(2048)
    X = x.astype(np.float64)
    z = X - X.max(axis=1, keepdims=True)
    e = np.exp(z)
    soft = e / e.sum(axis=1, keepdims=True)
    mu = X.mean(axis=1, keepdims=True)
    var = ((X - mu) ** 2).mean(axis=1, keepdims=True)
    ln = (X - mu) / np.sqrt(var + 1e-5) * g.astype(np.float64) + b.astype(np.float64)
    case("wide_rows_softmax_layer_norm", "run", """
        // rows of 2048: the scheduler fuses each row's kernels into one loop
        use nn
        input x: f32[3, 2048]
        input g: f32[2048]
        input b: f32[2048]
        output soft = nn.softmax(x)
        output ln = nn.layer_norm(x, g, b)
        output total = sum(exp(x - max(x, axis=1, keepdims=true)), axis=1)
        """, {"x": x, "g": g, "b": b},
         want={"soft": soft.astype(np.float32), "ln": ln.astype(np.float32),
               "total": e.sum(axis=1).astype(np.float32)}, rtol=1e-4, atol=1e-6)


def regression_cases():
    case("rterr_size_does_not_fit_i32", "rterr", """
        // regression: a size used as an i32 value that does not fit i32 used to
        // wrap in the kernel interpreter (the oracle stopped): now every engine
        // stops with exit 3. N = 3,000,000,000 comes from an empty array.
        dim N
        dim K
        input a: f32[N, K]
        output n = N
        """, {"a": np.zeros((3_000_000_000, 0), np.float32)}, exit=3)
    z = np.array([[-0.0, -0.0, -0.0], [0.0, -0.0, 0.0]], np.float32)
    case("sum_identity_keeps_negative_zero", "run", """
        // regression: the reduction identity was -0 in the JIT and +0 in LLVM;
        // it is the table's -0 everywhere, so a sum of negative zeros is -0
        input a: f32[2, 3]
        output s = sum(a, axis=1)
        """, {"a": z}, want=dict(s=np.array([-0.0, 0.0], np.float32)))


def remap_regression_cases():
    m = np.array([1.0, 2.0, 3.0], np.float32)
    case("regression_integer_index_of_filled_tensor", "run", """
        // regression: an integer index (dropping an axis) of a zeros/ones/full
        // tensor, written or made by autodiff (the backward of mean(stack(..))),
        // was "invalid kernel IR: remap from axis 1 of a rank-1 space"
        input m: f32[3]
        output a = ones((2, 3))[:, 1]
        output b = full((2, 3), 2.5)[1]
        output g = grad(mean(stack((m, m), axis=0)), m)
        """, {"m": m}, want=dict(a=np.ones(2, np.float32), b=np.full(3, 2.5, np.float32),
                                 g=np.full(3, 1 / 3, np.float32)))


def softplus_cases():
    x = np.concatenate([np.array([-100, -30, -10, -1e-3, 0, 1e-3, 5, 30, 100], np.float32), f32(23, scale=3.0)])
    X = D(x)
    case("op_softplus", "run", """
        // softplus = log(1 + e^x), stable for large |x| (v2, section 11), and its gradient
        input x: f32[32]
        output y = softplus(x)
        output g = grad(sum(softplus(x)), x)
        """, {"x": x},
         want=dict(y=w32(np.logaddexp(0.0, X)), g=w32(1 / (1 + np.exp(-X)))), rtol=1e-5, atol=1e-7)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    ops_cases()
    program_cases()
    nn_cases()
    grad_cases()
    example_cases()
    rterr_cases()
    wide_row_cases()
    softplus_cases()
    regression_cases()
    remap_regression_cases()
    # The v2 sections (records, steps, batch, until, u8): make_v2.py.
    from make_v2 import v2_cases
    v2_cases()


if __name__ == "__main__":
    main()
    print(len(os.listdir(OUT)), "cases written to", os.path.relpath(OUT))
