"""Tests of the `weft` Python package (NumPy only).

They build the programs of tests/programs/ with `weft build --lib`, through
the `weft` command that weft.find_weft() finds ($WEFT, PATH, then the
checkout's target/release or target/debug). Run from the checkout:

    python -m pytest python/tests/test_weft.py
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import weft

PROGRAMS = Path(__file__).resolve().parent / "programs"


@pytest.fixture(scope="session")
def libs(tmp_path_factory):
    """name -> path of libNAME.so, built once per session."""
    root = tmp_path_factory.mktemp("weftlibs")
    cache = {}

    def get(name, **options):
        key = (name, tuple(sorted((k, repr(v)) for k, v in options.items())))
        if key not in cache:
            out = root / ("%s-%d" % (name, len(cache)))
            m = weft.build(PROGRAMS / (name + ".weft"), out_dir=out, **options)
            cache[key] = m.path
            m.close()
        return cache[key]

    return get


@pytest.fixture
def load(libs):
    models = []

    def get(name, **options):
        m = weft.load(libs(name, **options))
        models.append(m)
        return m

    yield get
    for m in models:
        m.close()


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------
# Import, build, load


def test_import_does_not_import_torch():
    code = "import sys, weft; assert 'torch' not in sys.modules, 'torch imported'; print('ok')"
    env = dict(os.environ)
    src = os.path.dirname(os.path.dirname(os.path.abspath(weft.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([src] + [p for p in [env.get("PYTHONPATH")] if p])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_build_and_run():
    m = weft.build(PROGRAMS / "affine.weft")
    try:
        assert os.path.basename(m.path) == "libaffine.so"
        assert os.path.exists(m.path)
        x = rng().standard_normal((5, 4)).astype(np.float32)
        out = m.run(x=x)
        assert list(out) == ["y"]
        want = x @ m.get_param("w") + m.get_param("b")
        assert out["y"].dtype == np.float32 and out["y"].shape == (5, 3)
        np.testing.assert_allclose(out["y"], want, rtol=1e-5, atol=1e-6)
        tmpdir = os.path.dirname(m.path)
    finally:
        m.close()
    # The temporary directory of the build goes with the model.
    assert not os.path.exists(tmpdir)


def test_build_out_dir_writes_lib_archive_and_header(tmp_path):
    m = weft.build(str(PROGRAMS / "affine.weft"), out_dir=tmp_path / "out", target_cpu="x86-64")
    try:
        names = sorted(os.listdir(tmp_path / "out"))
        assert names == ["affine.h", "libaffine.a", "libaffine.so"]
        x = np.ones((2, 4), np.float32)
        np.testing.assert_allclose(
            m.run(x=x)["y"], x @ m.get_param("w") + m.get_param("b"), rtol=1e-5, atol=1e-6
        )
    finally:
        m.close()
    assert (tmp_path / "out" / "libaffine.so").exists()  # out_dir is kept


def test_rebuild_into_the_same_directory(tmp_path):
    # dlopen hands back a library already loaded from the same path: a
    # rebuilt one must be loaded anew.
    x, y = linreg_data()
    a = weft.build(PROGRAMS / "linreg.weft", out_dir=tmp_path, sets={"lr": 0.1})
    b = weft.build(PROGRAMS / "linreg.weft", out_dir=tmp_path, sets={"lr": 0.5})
    c = weft.load(tmp_path / "liblinreg.so")
    try:
        assert a.path == b.path == c.path
        np.testing.assert_allclose(a.run(x=x, y=y)["w"], linreg_numpy(x, y, 1, 0.1)[1], rtol=1e-12)
        np.testing.assert_allclose(b.run(x=x, y=y)["w"], linreg_numpy(x, y, 1, 0.5)[1], rtol=1e-12)
        np.testing.assert_allclose(c.run(x=x, y=y)["w"], linreg_numpy(x, y, 1, 0.5)[1], rtol=1e-12)
    finally:
        for m in (a, b, c):
            m.close()


def test_build_error_has_diagnostics():
    with pytest.raises(weft.BuildError) as e:
        weft.build(PROGRAMS / "broken.weft")
    msg = str(e.value)
    assert "E0302" in msg and "cannot broadcast `f32[B, 3]` + `f32[4]`" in msg
    assert e.value.status == 1
    assert "E0302" in e.value.stderr
    assert isinstance(e.value, weft.WeftError)


def test_build_missing_file():
    with pytest.raises(weft.BuildError) as e:
        weft.build(PROGRAMS / "no_such_program.weft")
    assert "no_such_program.weft" in str(e.value)


def test_find_weft_env(monkeypatch, tmp_path):
    monkeypatch.setenv("WEFT", str(tmp_path / "not-weft"))
    assert weft.find_weft() == str(tmp_path / "not-weft")
    with pytest.raises(weft.BuildError) as e:
        weft.build(PROGRAMS / "affine.weft")
    assert "not-weft" in str(e.value)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        weft.load(tmp_path / "libnothing.so")
    # A shared library that is not a weft library.
    import ctypes.util

    libm = ctypes.util.find_library("m")
    if libm:
        path = None
        for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64"):
            if os.path.exists(os.path.join(d, libm)):
                path = os.path.join(d, libm)
        if path:
            with pytest.raises(weft.UsageError, match="not a library built by `weft build --lib`"):
                weft.load(path)


# ---------------------------------------------------------------------------
# Metadata


def test_metadata_with_size_name(load):
    m = load("affine")
    assert m.inputs == {"x": ("float32", ("B", 4))}
    assert m.params == {"w": ("float32", (4, 3)), "b": ("float32", (3,))}
    assert list(m.params) == ["w", "b"]
    assert m.outputs == {"y": ("float32", ("B", 3))}
    assert m.name == "affine"
    assert "x: f32[B, 4]" in repr(m)


def test_metadata_with_size_expression(load):
    m = load("sizes")
    assert m.inputs == {"a": ("float32", ("N",)), "b": ("float32", ("N + 1",))}
    assert m.outputs == {"s": ("float32", ("N + 1",)), "t": ("float32", ())}
    assert m.params == {}
    a = np.arange(3, dtype=np.float32)
    b = np.arange(4, dtype=np.float32) + 1
    out = m.run(a=a, b=b)
    np.testing.assert_array_equal(out["s"], np.concatenate([a, [1.0]]).astype(np.float32) * b)
    assert out["t"].shape == () and out["t"] == np.sum(b[1:] + a)
    # Metadata keeps the names after a run.
    assert m.inputs["b"] == ("float32", ("N + 1",))


def test_size_expression_mismatch(load):
    m = load("sizes")
    with pytest.raises(weft.DataError) as e:
        m.run(a=np.zeros(3, np.float32), b=np.zeros(5, np.float32))
    msg = str(e.value)
    assert "input `b` expects f32[N + 1]" in msg and "axis 0 must be N + 1 = 4" in msg, msg


def test_metadata_dtypes(load):
    m = load("dtypes")
    assert m.inputs == {
        "img": ("uint8", ("B", 4)),
        "mask": ("bool", ("B",)),
        "k": ("int64", ()),
        "n": ("int32", ("B",)),
    }
    assert m.params == {"scale": ("float32", ())}
    assert m.outputs == {
        "z": ("float32", ("B", 4)),
        "cnt": ("int64", ()),
        "m2": ("int32", ("B",)),
        "big": ("bool", ("B", 4)),
    }


def test_record_param_leaves(load):
    m = load("record")
    assert m.params == {"net.w": ("float32", (2,)), "net.b": ("float32", ())}
    np.testing.assert_array_equal(m.get_param("net.w"), np.ones(2, np.float32))
    m.set_param("net.b", np.float32(2.0))
    out = m.run(x=np.array([3.0, 4.0], np.float32))
    assert out["y"] == np.float32(9.0)


# ---------------------------------------------------------------------------
# Running


def test_run_all_dtypes(load):
    m = load("dtypes")
    img = np.array([[1, 200, 3, 4], [5, 6, 7, 255]], np.uint8)
    mask = np.array([True, False])
    n = np.array([1, 2], np.int32)
    out = m.run(img=img, mask=mask, k=5, n=n)  # a Python int for the i64 scalar
    np.testing.assert_array_equal(
        out["z"], np.where(mask[:, None], img.astype(np.float32) * 2.0, 0.0).astype(np.float32)
    )
    assert out["z"].dtype == np.float32
    assert out["cnt"].dtype == np.int64 and out["cnt"] == 6
    assert out["m2"].dtype == np.int32
    np.testing.assert_array_equal(out["m2"], n * 2)
    assert out["big"].dtype == np.bool_
    np.testing.assert_array_equal(out["big"], img > 100)
    # A NumPy scalar of the right dtype, and a 0-d array.
    out = m.run(img=img, mask=mask, k=np.int64(1), n=n)
    assert out["cnt"] == 2
    out = m.run(img=img, mask=mask, k=np.array(2, np.int64), n=n)
    assert out["cnt"] == 3


def test_python_scalar_that_does_not_fit(load):
    m = load("dtypes")
    with pytest.raises(weft.DataError, match="does not fit i64"):
        m.run(img=np.zeros((1, 4), np.uint8), mask=np.zeros(1, bool), k=2**70, n=np.zeros(1, np.int32))


def test_python_float_for_integer_scalar_is_refused(load):
    m = load("dtypes")
    with pytest.raises(weft.WeftError) as e:
        m.run(img=np.zeros((1, 4), np.uint8), mask=np.zeros(1, bool), k=1.5, n=np.zeros(1, np.int32))
    assert "input `k` expects i64" in str(e.value)
    assert "f64" in str(e.value)


def linreg_numpy(x, y, steps, lr, w=None, b=0.0):
    w = np.zeros(3) if w is None else w.copy()
    loss = None
    for _ in range(steps):
        r = x @ w + b - y
        loss = np.mean(r**2)
        gw = 2.0 * x.T @ r / len(y)
        gb = 2.0 * np.mean(r)
        w, b = w - lr * gw, b - lr * gb
    return loss, w, b


def linreg_data():
    g = rng(1)
    x = g.standard_normal((8, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.01 * g.standard_normal(8)
    return x, y


def test_run_several_steps_matches_numpy(load):
    m = load("linreg")
    x, y = linreg_data()
    out = m.run(steps=5, x=x, y=y)
    loss, w, b = linreg_numpy(x, y, 5, 0.1)
    assert list(out) == ["loss", "w"]
    np.testing.assert_allclose(out["loss"], loss, rtol=1e-12)
    # `output w` of a param is its value after the last update.
    np.testing.assert_allclose(out["w"], w, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(m.get_param("w"), w, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(m.get_param("b"), b, rtol=1e-12)
    # Params carry over to the next run: 5 + 3 steps = 8 steps.
    out = m.run(steps=3, x=x, y=y)
    loss8, w8, _ = linreg_numpy(x, y, 8, 0.1)
    np.testing.assert_allclose(out["loss"], loss8, rtol=1e-12)
    np.testing.assert_allclose(out["w"], w8, rtol=1e-12, atol=1e-15)


def test_one_step_default(load):
    m = load("linreg")
    x, y = linreg_data()
    out = m.run(x=x, y=y)
    loss, w, _ = linreg_numpy(x, y, 1, 0.1)
    np.testing.assert_allclose(out["loss"], loss, rtol=1e-12)
    np.testing.assert_allclose(out["w"], w, rtol=1e-12, atol=1e-15)


def test_build_with_sets(libs):
    x, y = linreg_data()
    m = weft.build(PROGRAMS / "linreg.weft", sets={"lr": 0.05})
    try:
        out = m.run(steps=4, x=x, y=y)
    finally:
        m.close()
    loss, w, _ = linreg_numpy(x, y, 4, 0.05)
    np.testing.assert_allclose(out["loss"], loss, rtol=1e-12)
    np.testing.assert_allclose(out["w"], w, rtol=1e-12, atol=1e-15)
    # And a set that the compiler refuses.
    with pytest.raises(weft.BuildError) as e:
        weft.build(PROGRAMS / "linreg.weft", sets={"no_such_const": 1})
    assert "no_such_const" in str(e.value)


def test_param_with_input_size(load):
    m = load("accumulate")
    assert m.params == {"acc": ("float32", ("B",))}
    with pytest.raises(weft.UsageError, match="param `acc` has no value yet"):
        m.get_param("acc")  # initialised at the first run, which binds B
    x = np.array([1.0, 2.0, 3.0], np.float32)
    out = m.run(steps=3, x=x)
    np.testing.assert_array_equal(out["acc"], 3 * x)
    np.testing.assert_array_equal(m.get_param("acc"), 3 * x)
    with pytest.raises(weft.DataError):
        m.run(x=np.ones(4, np.float32))  # B was bound to 3 by acc


def test_outputs_are_copies(load):
    m = load("affine")
    x = rng().standard_normal((3, 4)).astype(np.float32)
    y1 = m.run(x=x)["y"]
    keep = y1.copy()
    y2 = m.run(x=2 * x)["y"]
    np.testing.assert_array_equal(y1, keep)
    assert not np.array_equal(y1, y2)
    assert y1.flags.owndata and y1.flags.writeable


def test_noncontiguous_inputs_are_copied(load):
    m = load("affine")
    big = rng().standard_normal((3, 8)).astype(np.float32)
    strided = big[:, ::2]
    assert not strided.flags.c_contiguous
    want = m.run(x=np.ascontiguousarray(strided))["y"]
    np.testing.assert_array_equal(m.run(x=strided)["y"], want)
    fortran = np.asfortranarray(strided)
    np.testing.assert_array_equal(m.run(x=fortran)["y"], want)
    # A big-endian array holds the right dtype in another layout.
    np.testing.assert_array_equal(m.run(x=strided.astype(">f4"))["y"], want)
    # Lists take the input's dtype, like weft's literals.
    np.testing.assert_array_equal(m.run(x=strided.tolist())["y"], want)


def test_steps_must_be_positive(load):
    m = load("affine")
    with pytest.raises(weft.UsageError, match="positive"):
        m.run(steps=0, x=np.zeros((1, 4), np.float32))


# ---------------------------------------------------------------------------
# Params


def test_get_set_param_round_trip(load):
    m = load("affine")
    w0 = m.get_param("w")
    assert w0.dtype == np.float32 and w0.shape == (4, 3)
    assert np.any(w0 != 0)  # normal(0, 0.5, seed=1)
    w0[...] = 7  # a copy: the model's param is untouched
    assert not np.any(m.get_param("w") == 7)
    w = rng(3).standard_normal((4, 3)).astype(np.float32)
    m.set_param("w", w)
    np.testing.assert_array_equal(m.get_param("w"), w)
    w[...] = 0  # set_param took a copy
    assert np.any(m.get_param("w") != 0)
    # Transposed (non-contiguous) values are copied to C order.
    wt = rng(4).standard_normal((3, 4)).astype(np.float32).T
    m.set_param("w", wt)
    np.testing.assert_array_equal(m.get_param("w"), wt)
    x = np.eye(4, dtype=np.float32)
    np.testing.assert_allclose(m.run(x=x)["y"], wt + m.get_param("b"), rtol=1e-6)
    # A Python list takes the param's dtype.
    m.set_param("b", [1, 2, 3])
    np.testing.assert_array_equal(m.get_param("b"), np.array([1, 2, 3], np.float32))


def test_params_are_deterministic(load):
    a, b = load("affine"), load("affine")
    np.testing.assert_array_equal(a.get_param("w"), b.get_param("w"))


def test_set_param_errors(load):
    m = load("affine")
    with pytest.raises(weft.DataError) as e:
        m.set_param("w", np.zeros((4, 3), np.float64))
    assert isinstance(e.value, ValueError)
    assert str(e.value) == "param `w` expects f32[4, 3] but the array given holds f64[4, 3]"
    with pytest.raises(weft.DataError) as e:
        m.set_param("w", np.zeros((4, 2), np.float32))
    assert "param `w` expects f32[4, 3]" in str(e.value) and "axis 1 must be 3" in str(e.value)
    with pytest.raises(weft.UsageError) as e:
        m.set_param("q", np.zeros(3, np.float32))
    assert str(e.value) == "no param named `q`; the program's params are: w, b"
    with pytest.raises(weft.UsageError):
        m.get_param("q")
    # The failed calls changed nothing.
    assert m.get_param("w").shape == (4, 3)


# ---------------------------------------------------------------------------
# Bad inputs


def test_bad_input_dtype(load):
    m = load("affine")
    with pytest.raises(weft.DataError) as e:
        m.run(x=np.zeros((3, 4), np.float64))  # not converted: refused
    msg = str(e.value)
    assert "input `x` expects f32[B, 4]" in msg and "f64[3, 4]" in msg, msg
    assert e.value.status == 3
    assert isinstance(e.value, ValueError)


def test_bad_input_shape(load):
    m = load("affine")
    with pytest.raises(weft.DataError) as e:
        m.run(x=np.zeros((3, 5), np.float32))
    msg = str(e.value)
    assert "input `x` expects f32[B, 4]" in msg and "f32[3, 5] (axis 1 must be 4)" in msg, msg
    with pytest.raises(weft.DataError) as e:
        m.run(x=np.zeros(12, np.float32))
    assert "(rank 1, not 2)" in str(e.value)


def test_unknown_input(load):
    m = load("affine")
    with pytest.raises(weft.UsageError) as e:
        m.run(x=np.zeros((3, 4), np.float32), z=np.zeros(3))
    assert str(e.value) == "no input named `z`; the program's inputs are: x"
    assert e.value.status == 2 and isinstance(e.value, ValueError)


def test_missing_input(load):
    m = load("affine")
    with pytest.raises(weft.UsageError) as e:
        m.run()
    assert str(e.value) == "input `x` was not given: expected f32[B, 4]"
    # An earlier run's input is not reused.
    m.run(x=np.zeros((3, 4), np.float32))
    with pytest.raises(weft.UsageError):
        m.run()


@pytest.mark.parametrize("dtype", [np.complex64, np.float16, np.int16, np.uint32])
def test_dtype_weft_lacks(load, dtype):
    m = load("affine")
    with pytest.raises(weft.UsageError) as e:
        m.run(x=np.zeros((3, 4), dtype))
    name = np.dtype(dtype).name
    assert "input `x` expects f32[B, 4] but the array given holds %s[3, 4]" % name in str(e.value)
    assert "weft has no %s dtype" % name in str(e.value)


def test_model_usable_after_errors(load):
    m = load("affine")
    x = np.ones((2, 4), np.float32)
    want = m.run(x=x)["y"]
    for bad in (np.zeros((2, 4)), np.zeros((2, 5), np.float32)):
        with pytest.raises(weft.WeftError):
            m.run(x=bad)
    np.testing.assert_array_equal(m.run(x=x)["y"], want)


# ---------------------------------------------------------------------------
# Threads, several models, lifetime


def test_threads(load):
    m = load("affine")
    assert m.threads is None
    x = rng().standard_normal((64, 4)).astype(np.float32)
    m.threads = 1
    assert m.threads == 1
    y1 = m.run(x=x)["y"]
    m.set_threads(4)
    assert m.threads == 4
    np.testing.assert_array_equal(m.run(x=x)["y"], y1)
    with pytest.raises(weft.UsageError):
        m.set_threads(0)
    assert m.threads == 4


def test_two_models_of_one_library_are_independent(load):
    x, y = linreg_data()
    a, b = load("linreg"), load("linreg")
    a.run(steps=3, x=x, y=y)
    np.testing.assert_array_equal(b.get_param("w"), np.zeros(3))
    out_b = b.run(steps=1, x=x, y=y)
    loss1, w1, _ = linreg_numpy(x, y, 1, 0.1)
    np.testing.assert_allclose(out_b["loss"], loss1, rtol=1e-12)
    _, w3, _ = linreg_numpy(x, y, 3, 0.1)
    np.testing.assert_allclose(a.get_param("w"), w3, rtol=1e-12, atol=1e-15)
    b.set_param("w", np.ones(3))
    np.testing.assert_allclose(a.get_param("w"), w3, rtol=1e-12, atol=1e-15)
    a.close()
    np.testing.assert_array_equal(b.get_param("w"), np.ones(3))


def test_two_libraries_at_once(load):
    aff = load("affine")
    lin = load("linreg")
    fd = load("tanh_fd")
    x4 = rng().standard_normal((2, 4)).astype(np.float32)
    x, y = linreg_data()
    xf = rng(2).standard_normal((3, 4))
    for _ in range(2):  # interleaved
        ya = aff.run(x=x4)["y"]
        lo = lin.run(x=x, y=y)["loss"]
        yf = fd.run(x=xf)["y"]
    np.testing.assert_allclose(ya, x4 @ aff.get_param("w") + aff.get_param("b"), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lo, linreg_numpy(x, y, 2, 0.1)[0], rtol=1e-12)
    np.testing.assert_allclose(yf, np.tanh(xf @ fd.get_param("w")), rtol=1e-12)
    assert aff.params["w"] == ("float32", (4, 3)) and fd.params["w"] == ("float64", (4, 2))


def test_close(libs):
    m = weft.load(libs("affine"))
    assert not m.closed
    m.close()
    assert m.closed
    m.close()
    with pytest.raises(weft.UsageError, match="closed"):
        m.run(x=np.zeros((1, 4), np.float32))
    with pytest.raises(weft.UsageError, match="closed"):
        m.get_param("w")
    with weft.load(libs("affine")) as m2:
        assert m2.run(x=np.zeros((1, 4), np.float32))["y"].shape == (1, 3)
    assert m2.closed


def test_many_models_freed(libs):
    path = libs("affine")
    for _ in range(200):
        m = weft.load(path)
        m.run(x=np.ones((2, 4), np.float32))
        del m


# ---------------------------------------------------------------------------
# Vector-Jacobian products


def fd_gradients(m, ct, x, eps=1e-6):
    """Central differences of f(x, w) = sum_i <out_i, ct_i>, in f64."""
    w = m.get_param("w")

    def f(xv, wv):
        m.set_param("w", wv)
        out = m.run(x=xv)
        return sum(float(np.sum(out[k] * c)) for k, c in ct.items())

    gx = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        gx[idx] = (f(xp, w) - f(xm, w)) / (2 * eps)
    gw = np.zeros_like(w)
    for idx in np.ndindex(*w.shape):
        wp, wm = w.copy(), w.copy()
        wp[idx] += eps
        wm[idx] -= eps
        gw[idx] = (f(x, wp) - f(x, wm)) / (2 * eps)
    m.set_param("w", w)
    return gx, gw


def test_vjp_against_finite_differences(load):
    m = load("tanh_fd")
    assert m.inputs == {"x": ("float64", (3, 4))}
    assert m.outputs == {"y": ("float64", (3, 2)), "s": ("float64", ())}
    g = rng(5)
    x = g.standard_normal((3, 4))
    ct = {"y": g.standard_normal((3, 2)), "s": np.float64(0.7)}
    w_before = m.get_param("w")
    grads = m.vjp(ct, x=x)
    assert list(grads) == ["x", "w"]
    assert grads["x"].dtype == np.float64 and grads["x"].shape == (3, 4)
    assert grads["w"].shape == (4, 2)
    np.testing.assert_array_equal(m.get_param("w"), w_before)  # params do not change
    gx, gw = fd_gradients(m, ct, x)
    np.testing.assert_allclose(grads["x"], gx, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(grads["w"], gw, rtol=1e-6, atol=1e-8)
    # Analytic check too.
    w = w_before
    y = np.tanh(x @ w)
    dy = ct["y"] + 0.7 * 2 * y
    dz = dy * (1 - y**2)
    np.testing.assert_allclose(grads["x"], dz @ w.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["w"], x.T @ dz, rtol=1e-10, atol=1e-12)


def test_vjp_missing_cotangent_is_zero(load):
    m = load("tanh_fd")
    g = rng(6)
    x = g.standard_normal((3, 4))
    cy = g.standard_normal((3, 2))
    # First with both, then with one: the earlier cotangent of `y` must not linger.
    m.vjp({"y": cy, "s": 1.0}, x=x)
    only_s = m.vjp({"s": 1.0}, x=x)  # a Python float for a scalar cotangent
    gx, gw = fd_gradients(m, {"s": np.float64(1.0)}, x)
    np.testing.assert_allclose(only_s["x"], gx, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(only_s["w"], gw, rtol=1e-6, atol=1e-8)
    only_y = m.vjp({"y": cy}, x=x)
    gx, gw = fd_gradients(m, {"y": cy}, x)
    np.testing.assert_allclose(only_y["x"], gx, rtol=1e-6, atol=1e-8)
    none = m.vjp({}, x=x)
    np.testing.assert_array_equal(none["x"], np.zeros((3, 4)))
    np.testing.assert_array_equal(none["w"], np.zeros((4, 2)))
    none = m.vjp(None, x=x)
    np.testing.assert_array_equal(none["w"], np.zeros((4, 2)))


def test_vjp_of_training_step_leaves_params(load):
    m = load("linreg")
    x, y = linreg_data()
    w = np.array([0.5, -0.25, 1.0])
    m.set_param("w", w)
    m.set_param("b", np.float64(0.1))
    grads = m.vjp({"loss": 1.0}, x=x, y=y)
    assert set(grads) == {"x", "y", "w", "b"}
    r = x @ w + 0.1 - y
    np.testing.assert_allclose(grads["w"], 2 * x.T @ r / 8, rtol=1e-12)
    np.testing.assert_allclose(grads["b"], 2 * np.mean(r), rtol=1e-12)
    np.testing.assert_allclose(grads["y"], -2 * r / 8, rtol=1e-12)
    np.testing.assert_allclose(grads["x"], 2 * np.outer(r, w) / 8, rtol=1e-12)
    np.testing.assert_array_equal(m.get_param("w"), w)
    assert m.get_param("b") == 0.1


def test_vjp_only_floating(load):
    m = load("dtypes")
    img = np.array([[1, 2, 3, 4]], np.uint8)
    grads = m.vjp(
        {"z": np.ones((1, 4), np.float32)},
        img=img,
        mask=np.array([True]),
        k=0,
        n=np.array([1], np.int32),
    )
    assert list(grads) == ["scale"]
    assert grads["scale"].dtype == np.float32 and grads["scale"].shape == ()
    assert grads["scale"] == np.float32(10.0)


def test_vjp_errors(load):
    m = load("tanh_fd")
    x = np.zeros((3, 4))
    with pytest.raises(weft.UsageError) as e:
        m.vjp({"q": 1.0}, x=x)
    assert str(e.value) == "no output named `q`; the program's outputs are: y, s"
    with pytest.raises(weft.UsageError) as e:
        m.vjp({"s": 1.0})
    assert str(e.value) == "input `x` was not given: expected f64[3, 4]"
    with pytest.raises(weft.DataError) as e:
        m.vjp({"y": np.zeros((3, 2), np.float32)}, x=x)  # an f32 cotangent for an f64 output
    assert str(e.value) == "the cotangent of output `y` expects f64[3, 2] but the array given holds f32[3, 2]"
    with pytest.raises(weft.DataError) as e:
        m.vjp({"y": np.zeros((2, 2))}, x=x)
    assert "the cotangent of output `y` expects f64[3, 2]" in str(e.value)
    # The model still works, with `y`'s cotangent given before forgotten.
    g = m.vjp({"s": 1.0}, x=np.ones((3, 4)))
    w = m.get_param("w")
    y = np.tanh(np.ones((3, 4)) @ w)
    np.testing.assert_allclose(g["w"], np.ones((4, 3)) @ (2 * y * (1 - y**2)), rtol=1e-12)


def test_vjp_integer_output_has_no_cotangent(load):
    m = load("dtypes")
    with pytest.raises(weft.UsageError) as e:
        m.vjp(
            {"cnt": 1},
            img=np.zeros((1, 4), np.uint8),
            mask=np.zeros(1, bool),
            k=0,
            n=np.zeros(1, np.int32),
        )
    assert str(e.value) == "output `cnt` is i64: only floating outputs have cotangents"


def test_vjp_with_size_expressions(load):
    m = load("sizes")  # s = concat((a, [1.0])) * b: f32[N + 1]; t = sum(b[1:] + a)
    a = np.arange(3, dtype=np.float32)
    b = np.arange(4, dtype=np.float32) + 1
    cs = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    g = m.vjp({"s": cs}, a=a, b=b)
    assert list(g) == ["a", "b"]
    np.testing.assert_array_equal(g["a"], cs[:3] * b[:3])
    np.testing.assert_array_equal(g["b"], cs * np.concatenate([a, [1.0]]).astype(np.float32))
    # Then `t` alone: `s` gets a zero cotangent of its f32[N + 1] shape.
    g = m.vjp({"t": 1.0}, a=a, b=b)
    np.testing.assert_array_equal(g["a"], np.ones(3, np.float32))
    np.testing.assert_array_equal(g["b"], np.array([0, 1, 1, 1], np.float32))
    # With another N.
    a5, b6 = np.ones(5, np.float32), np.ones(6, np.float32)
    g = m.vjp({"t": 2.0}, a=a5, b=b6)
    np.testing.assert_array_equal(g["b"], np.array([0, 2, 2, 2, 2, 2], np.float32))


def test_inputs_passed_without_copy(load):
    m = load("affine")
    decl = m._by_name[0]["x"]
    x = np.zeros((3, 4), np.float32)
    assert m._prepare(decl, x)[0] is x  # C order, right dtype: by pointer
    wrong = np.zeros((3, 4))
    arr, code, _ = m._prepare(decl, wrong)
    assert arr is wrong and code == 2  # passed as f64 for the library to refuse
    assert m._prepare(decl, np.asfortranarray(np.zeros((3, 4), np.float32)))[0].flags.c_contiguous


def test_size_expression_evaluation():
    from weft import _eval_size

    sizes = {"N": 5, "M": 3, "H": 28}
    assert _eval_size("N + 1", sizes) == 6
    assert _eval_size("N + M - 1", sizes) == 7
    assert _eval_size("2 * N", sizes) == 10
    assert _eval_size("(H - 3) div 2 + 1", sizes) == 13
    with pytest.raises(KeyError):
        _eval_size("Q + 1", sizes)


def test_step_counter(load):
    """`run` advances the step counter, `vjp` does not, and setting it runs a
    step again: a program reading `step` repeats its values."""
    m = load("noise")
    x = np.ones(3)
    assert m.step == 0
    y0 = m.run(x=x)["y"]
    assert m.step == 1
    g1 = m.vjp({"y": np.ones(3)}, x=x)["x"]
    assert m.step == 1
    y1 = m.run(x=x)["y"]
    np.testing.assert_array_equal(g1, y1)  # the VJP of step 1: its noise
    m.step = 0
    np.testing.assert_array_equal(m.run(x=x)["y"], y0)
    with pytest.raises(weft.UsageError):
        m.step = -1


def test_repeated_calls_take_the_fast_path_and_agree(load):
    """Calls with the same input dtypes and shapes as the last one go through
    one library call (weft_run_with); they give the general path's results,
    fresh arrays each time, and any other call falls back to the general path."""
    m = load("affine")
    xs = [rng(k).standard_normal((3, 4)).astype(np.float32) for k in range(3)]
    want = [m.run(x=x)["y"].copy() for x in xs]
    assert m._fast is not None
    got = [m.run(x=x)["y"] for x in xs]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert got[0] is not got[1]
    ro = xs[0].copy()
    ro.flags.writeable = False  # read-only arrays are passed by address too
    np.testing.assert_array_equal(m.run(x=ro)["y"], want[0])
    other = rng(9).standard_normal((5, 4)).astype(np.float32)  # another shape
    np.testing.assert_allclose(
        m.run(x=other)["y"], other @ m.get_param("w") + m.get_param("b"), rtol=1e-6, atol=1e-6
    )
    np.testing.assert_array_equal(m.run(x=xs[2])["y"], want[2])
    with pytest.raises(weft.DataError):
        m.run(x=xs[0].astype(np.float64))
    np.testing.assert_array_equal(m.run(x=xs[1])["y"], want[1])
