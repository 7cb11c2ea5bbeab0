"""JAX peer: jax.jit on CPU (XLA), 2 threads."""
import time

import common  # noqa: F401  (thread env first)
import jax
import jax.numpy as jnp
import numpy as np
from common import emit, load, median_time, main, peak_rss_mib

IMPL = "jax.jit"


def timed(f, *args, **kw):
    return median_time(lambda: jax.block_until_ready(f(*args)), **kw)


def w1(d):
    x = jnp.asarray(load(d, "w1_x"))
    f = jax.jit(lambda x: jnp.tanh(0.5 * x + 0.1) * jax.nn.sigmoid(x))
    emit("w1", IMPL, timed(f, x))


def w2(d):
    for n in (1024, 4096):
        a, b = jnp.asarray(load(d, f"w2_a{n}")), jnp.asarray(load(d, f"w2_b{n}"))
        f = jax.jit(jnp.matmul)
        emit(f"w2_{n}", IMPL, timed(f, a, b, target_s=2.0, rounds=5))


def mlp_params(d, prefix, names=("w1", "b1", "w2", "b2", "w3", "b3")):
    return [jnp.asarray(load(d, f"{prefix}_{p}")) for p in names]


def mlp(params, x):
    w1, b1, w2, b2, w3, b3 = params
    h = jax.nn.relu(x @ w1 + b1)
    h = jax.nn.relu(h @ w2 + b2)
    return h @ w3 + b3


def w3(d):
    x, y = jnp.asarray(load(d, "w3_x")), jnp.asarray(load(d, "w3_y"))
    params = mlp_params(d, "w3")

    def loss_fn(params, x, y):
        logits = mlp(params, x)
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @jax.jit
    def step(params, x, y):
        loss, g = jax.value_and_grad(loss_fn)(params, x, y)
        return [p - 0.01 * gp for p, gp in zip(params, g)], loss

    state = [params]

    def run():
        state[0], loss = step(state[0], x, y)
        return jax.block_until_ready(loss)

    emit("w3", IMPL, median_time(run, target_s=2.0, rounds=7), peak_rss_mib=peak_rss_mib())


def w4(d):
    x = jnp.asarray(load(d, "w4_x"))
    params = mlp_params(d, "w4")
    f = jax.jit(mlp)
    emit("w4", IMPL, timed(f, params, x, rounds=9))


def w5(d):
    x = jnp.asarray(load(d, "w5_x"))

    def ln(x):
        mu = jnp.mean(x, axis=-1, keepdims=True)
        xc = x - mu
        var = jnp.mean(xc * xc, axis=-1, keepdims=True)
        return xc * jax.lax.rsqrt(var + 1e-5)

    emit("w5_softmax", IMPL, timed(jax.jit(lambda x: jax.nn.softmax(x, axis=-1)), x))
    emit("w5_layernorm", IMPL, timed(jax.jit(ln), x))


def chain(k):
    def f(x):
        for i in range(k):
            x = x * 0.999 if i % 2 == 0 else x + 0.001
        return x

    return f


def w7(d):
    x = jnp.asarray(np.ones(1024, np.float32))
    for k in (100, 1000, 10000):
        ts = []
        for _ in range(3 if k < 10000 else 1):
            t0 = time.perf_counter()
            jax.jit(chain(k)).lower(x).compile()
            ts.append(time.perf_counter() - t0)
        emit(f"w7_{k}", IMPL, float(np.median(ts)))


def w8(d):
    x, w, gy = (jnp.asarray(load(d, f"w8_{n}")) for n in ("x", "w", "gy"))

    def loss_fn(x, w, gy):
        y = jax.lax.conv_general_dilated(
            x, w, window_strides=(1, 1), padding=((1, 1), (1, 1)),
            dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return jnp.sum(y * gy)

    # The loss is returned with the gradients: they do not need y (the loss
    # is linear in it), so a function returning only (dx, dw) would let XLA
    # drop the forward convolution, which the other peers and weft compute.
    f = jax.jit(jax.value_and_grad(loss_fn, argnums=(0, 1)))
    emit("w8", IMPL, timed(f, x, w, gy, target_s=2.0, rounds=7))


def w9(d):
    x, y = jnp.asarray(load(d, "w9_x")), jnp.asarray(load(d, "w9_y"))
    params = mlp_params(d, "w9", names=("w1", "b1", "w2", "b2"))

    def loss_fn(params, x, y):
        w1, b1, w2, b2 = params
        logits = jax.nn.relu(x @ w1 + b1) @ w2 + b2
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @jax.jit
    def step(params, x, y):
        loss, g = jax.value_and_grad(loss_fn)(params, x, y)
        return [p - 0.1 * gp for p, gp in zip(params, g)], loss

    state = [params]

    def run():
        state[0], loss = step(state[0], x, y)
        return jax.block_until_ready(loss)

    emit("w9", IMPL, median_time(run, target_s=2.0, rounds=7), peak_rss_mib=peak_rss_mib())


main({"w1": w1, "w2": w2, "w3": w3, "w4": w4, "w5": w5, "w7": w7, "w8": w8, "w9": w9})
