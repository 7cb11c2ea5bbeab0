"""Run weft programs from Python.

A program built with ``weft build FILE --lib`` is a shared library with the C
API of ``weft.h``; this package wraps it with :mod:`ctypes` and NumPy::

    import weft
    m = weft.build("model.weft", sets={"lr": 0.1})     # or weft.load("libmodel.so")
    m.inputs                      # {'x': ('float32', ('B', 4))}
    out = m.run(steps=10, x=x)    # {'loss': array(...), ...}; params advance
    g = m.vjp({"loss": 1.0}, x=x) # gradients of every floating input and param

``weft.torch.function(m)`` (imported on first use, needs PyTorch) makes a
model a differentiable PyTorch function.
"""

import ctypes
import math
import operator
import os
import shutil
import subprocess
import tempfile
import threading

import numpy as np

from . import _capi

__all__ = [
    "load",
    "build",
    "Model",
    "WeftError",
    "UsageError",
    "DataError",
    "InternalError",
    "BuildError",
]

__version__ = "0.1.0"


# ---------------------------------------------------------------------------
# Errors


class WeftError(Exception):
    """An error reported by a weft library (or by this package about one).

    ``status`` is the library's status code (2 usage, 3 data, 101 internal)
    or, for :class:`BuildError`, the exit status of ``weft build``.
    """

    status = None

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class UsageError(WeftError, ValueError):
    """A bad argument: an unknown or missing name, a wrong dtype or rank (status 2)."""

    status = _capi.ERR_USAGE


class DataError(WeftError, ValueError):
    """Bad data, with the messages of weft's executables (status 3)."""

    status = _capi.ERR_DATA


class InternalError(WeftError):
    """A damaged library or a bug in weft (status 101)."""

    status = _capi.ERR_INTERNAL


class BuildError(WeftError):
    """``weft build`` failed; the message holds its diagnostics (stderr)."""

    status = 1

    def __init__(self, message, status=None, stderr=""):
        super().__init__(message, status)
        self.stderr = stderr


_ERRORS = {
    _capi.ERR_USAGE: UsageError,
    _capi.ERR_DATA: DataError,
    _capi.ERR_INTERNAL: InternalError,
}


def _error(status, message):
    cls = _ERRORS.get(status, WeftError)
    if not message:
        message = "weft call failed with status %d (the library gave no message)" % status
    return cls(message, status)


# ---------------------------------------------------------------------------
# Dtypes

_CODE_TO_NP = {
    _capi.F32: np.dtype(np.float32),
    _capi.F64: np.dtype(np.float64),
    _capi.I32: np.dtype(np.int32),
    _capi.I64: np.dtype(np.int64),
    _capi.U8: np.dtype(np.uint8),
    _capi.BOOL: np.dtype(np.bool_),
}
_NP_TO_CODE = {dt: code for code, dt in _CODE_TO_NP.items()}
_WEFT_NAME = {
    _capi.F32: "f32",
    _capi.F64: "f64",
    _capi.I32: "i32",
    _capi.I64: "i64",
    _capi.U8: "u8",
    _capi.BOOL: "bool",
}
_FLOAT_CODES = (_capi.F32, _capi.F64)


def _dims_text(dims):
    return "[" + ", ".join(str(d) for d in dims) + "]" if dims else ""


class _Decl:
    """One input, param or output as the library describes it."""

    __slots__ = ("kind", "index", "name", "code", "rank", "dims")

    def __init__(self, kind, index, name, code, rank, dims):
        self.kind = kind
        self.index = index
        self.name = name
        self.code = code
        self.rank = rank
        self.dims = dims

    @property
    def np_dtype(self):
        return _CODE_TO_NP.get(self.code)

    @property
    def dtype_name(self):
        dt = self.np_dtype
        return dt.name if dt is not None else "unknown(%d)" % self.code

    @property
    def floating(self):
        return self.code in _FLOAT_CODES

    def type_text(self):
        return _WEFT_NAME.get(self.code, self.dtype_name) + _dims_text(self.dims)

    def meta(self):
        return (self.dtype_name, tuple(self.dims))


def _eval_size(text, sizes):
    """The value of a size expression (`N + 1`, `(H - 3) div 2 + 1`) given
    the size names' values."""
    import ast
    import re

    tree = ast.parse(re.sub(r"\bdiv\b", "//", text), mode="eval")

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Name):
            return sizes[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if isinstance(node.op, ast.FloorDiv):
                return a // b
        raise ValueError("not a size expression: %s" % text)

    value = ev(tree)
    if value < 0:
        raise ValueError("negative size")
    return value


_KIND_WORD = {_capi.INPUT: "input", _capi.PARAM: "param", _capi.OUTPUT: "output"}


def _name_list(decls, word):
    if not decls:
        return "the program has no %ss" % word
    return "the program's %ss are: %s" % (word, ", ".join(d.name for d in decls))


# ---------------------------------------------------------------------------
# Models


class Model:
    """One instance of a weft program: its params, inputs and outputs.

    Made by :func:`load` or :func:`build`. A model may be used by one thread
    at a time (calls on one model are serialised by a lock); models are
    independent of each other, also when they come from the same library.
    """

    def __init__(self, library, path=None, keep=()):
        self._lib = library
        # TemporaryDirectory objects that hold the library file: removed at close.
        self._keep = list(keep)
        self._m = None
        self._lock = threading.RLock()
        self._threads = None
        # The fast path of `run` for a call like the last one (_FastCall).
        self._fast = None
        # Outputs whose cotangent has been set: the library keeps a cotangent
        # it was lent after weft_vjp returns, so such an output gets explicit
        # zeros when a later vjp gives it none (see _zeros_like_output).
        self._cotangent_lent = set()
        self.path = path or library.path
        base = os.path.basename(self.path)
        if base.startswith("lib"):
            base = base[3:]
        self.name = base.split(".so")[0]
        handle = ctypes.c_void_p()
        status = library.weft_new(ctypes.byref(handle))
        if status != _capi.OK or not handle.value:
            msg = library.weft_error(None)
            raise _error(status or _capi.ERR_INTERNAL, msg.decode("utf-8", "replace") if msg else "")
        self._m = handle
        self._inputs = self._describe(_capi.INPUT)
        self._params = self._describe(_capi.PARAM)
        self._outputs = self._describe(_capi.OUTPUT)
        self._by_name = {
            _capi.INPUT: {d.name: d for d in self._inputs},
            _capi.PARAM: {d.name: d for d in self._params},
            _capi.OUTPUT: {d.name: d for d in self._outputs},
        }

    # -- plumbing ---------------------------------------------------------

    def _handle(self):
        if self._m is None:
            raise UsageError("the model is closed")
        return self._m

    def _message(self):
        msg = self._lib.weft_error(self._m)
        return msg.decode("utf-8", "replace") if msg else ""

    def _check(self, status):
        if status != _capi.OK:
            raise _error(status, self._message())

    def _describe(self, kind):
        lib, m = self._lib, self._m
        n = lib.weft_count(m, kind)
        if n < 0:
            raise _error(_capi.ERR_INTERNAL, self._message())
        decls = []
        for i in range(n):
            raw = lib.weft_name(m, kind, i)
            if raw is None:
                raise _error(_capi.ERR_INTERNAL, self._message())
            name = raw.decode("utf-8")
            code = lib.weft_dtype(m, kind, i)
            rank = lib.weft_rank(m, kind, i)
            if rank < 0:
                raise _error(_capi.ERR_INTERNAL, self._message())
            dims = []
            for axis in range(rank):
                dim_name = lib.weft_dim_name(m, kind, i, axis)
                if dim_name is not None:
                    dims.append(dim_name.decode("utf-8"))
                else:
                    dims.append(int(lib.weft_dim(m, kind, i, axis)))
            decls.append(_Decl(kind, i, name, code, rank, dims))
        return decls

    def _lookup(self, kind, name):
        decl = self._by_name[kind].get(name)
        if decl is None:
            word = _KIND_WORD[kind]
            decls = {_capi.INPUT: self._inputs, _capi.PARAM: self._params}.get(kind, self._outputs)
            raise UsageError("no %s named `%s`; %s" % (word, name, _name_list(decls, word)))
        return decl

    def _prepare(self, decl, value):
        """`value` as a C-order array the library can read: the array itself
        when its dtype and layout allow, never converted to another dtype
        (the library reports a mismatch) except for Python numbers and
        lists, which take the declared dtype like weft's literals."""
        who = "%s `%s`" % (_KIND_WORD[decl.kind], decl.name)
        if decl.kind == _capi.OUTPUT:
            who = "the cotangent of output `%s`" % decl.name
        if isinstance(value, np.generic):
            arr = np.asarray(value)
        elif isinstance(value, (bool, int, float, list, tuple)):
            arr = self._weak(who, decl, value)
        else:
            arr = np.asarray(value)
        dt = arr.dtype
        if not dt.isnative:
            arr = arr.astype(dt.newbyteorder("="))
        code = _NP_TO_CODE.get(arr.dtype)
        if code is None:
            raise UsageError(
                "%s expects %s but the array given holds %s%s; weft has no %s dtype "
                "(its dtypes are f32, f64, i32, i64, u8 and bool)"
                % (who, decl.type_text(), dt.name, _dims_text(arr.shape) or "[]", dt.name)
            )
        if not arr.flags.c_contiguous:
            arr = arr.copy(order="C")
        shape = (ctypes.c_int64 * arr.ndim)(*arr.shape) if arr.ndim else None
        return arr, code, shape

    @staticmethod
    def _weak(who, decl, value):
        target = decl.np_dtype
        if target is None:
            return np.asarray(value)
        if isinstance(value, int) and not isinstance(value, bool) and target.kind in "iu":
            info = np.iinfo(target)
            if not info.min <= value <= info.max:
                raise DataError(
                    "%s expects %s but was given %d, which does not fit %s"
                    % (who, decl.type_text(), value, _WEFT_NAME[decl.code])
                )
        try:
            arr = np.asarray(value)
        except (ValueError, OverflowError):
            arr = np.asarray(value, dtype=object)
        if arr.dtype == object and target.kind == "f":
            try:
                arr = np.asarray(value, dtype=target)
            except (ValueError, OverflowError, TypeError):
                pass
        k, t = arr.dtype.kind, target.kind
        if (t == "f" and k in "iuf") or (t in "iu" and k in "iu") or (t == "b" and k == "b"):
            with np.errstate(all="ignore"):
                conv = arr.astype(target)
            if t in "iu" and not np.array_equal(conv, arr):
                what = "%r, which does" % (value,) if arr.ndim == 0 else "values that do"
                raise DataError(
                    "%s expects %s but was given %s not fit %s"
                    % (who, decl.type_text(), what, _WEFT_NAME[decl.code])
                )
            return conv
        return arr

    def _set(self, fn, decl, value, keep):
        arr, code, shape = self._prepare(decl, value)
        keep.append((arr, shape))
        self._check(fn(self._m, decl.index, ctypes.c_void_p(arr.ctypes.data), code, arr.ndim, shape))

    def _bind_inputs(self, inputs, keep):
        # The inputs set now may differ from those the fast path was made for.
        self._fast = None
        for name in inputs:
            self._lookup(_capi.INPUT, name)
        for decl in self._inputs:
            if decl.name not in inputs:
                raise UsageError(
                    "input `%s` was not given: expected %s" % (decl.name, decl.type_text())
                )
        for decl in self._inputs:
            self._set(self._lib.weft_set_input, decl, inputs[decl.name], keep)

    def _zeros_like_output(self, decl, keep):
        """Zeros of output `decl`'s dtype and shape, its sizes bound by the
        inputs being passed (`keep` holds them, in declaration order) and by
        the params' current shapes."""
        sizes = {}
        for d, (arr, _) in zip(self._inputs, keep):
            for name, n in zip(d.dims, arr.shape):
                if isinstance(name, str) and name.isidentifier():
                    sizes.setdefault(name, n)
        for d in self._params:
            if all(not isinstance(x, str) or not x.isidentifier() for x in d.dims):
                continue
            data = ctypes.c_void_p()
            shape = _capi.c_int64_p()
            if self._lib.weft_get(self._m, _capi.PARAM, d.index, ctypes.byref(data), ctypes.byref(shape)):
                continue  # not initialised yet
            for a, name in enumerate(d.dims):
                if isinstance(name, str) and name.isidentifier():
                    sizes.setdefault(name, int(shape[a]))
        try:
            dims = tuple(x if isinstance(x, int) else _eval_size(x, sizes) for x in decl.dims)
        except (KeyError, ValueError, SyntaxError, ZeroDivisionError):
            # A size this cannot compute: the library's check reports it.
            dims = tuple(x if isinstance(x, int) else 0 for x in decl.dims)
        return np.zeros(dims, decl.np_dtype)

    def _read(self, kind, decl):
        data = ctypes.c_void_p()
        shape = _capi.c_int64_p()
        self._check(self._lib.weft_get(self._m, kind, decl.index, ctypes.byref(data), ctypes.byref(shape)))
        dims = tuple(int(shape[a]) for a in range(decl.rank)) if decl.rank else ()
        dtype = decl.np_dtype
        if dtype is None:
            raise InternalError(
                "%s `%s` has dtype code %d, which this package does not know"
                % (_KIND_WORD.get(decl.kind, "value"), decl.name, decl.code)
            )
        count = math.prod(dims)
        if count == 0:
            return np.zeros(dims, dtype)
        if not data.value:
            raise InternalError("the library gave no data for `%s`" % decl.name)
        buf = (ctypes.c_char * (count * dtype.itemsize)).from_address(data.value)
        return np.frombuffer(buf, dtype=dtype, count=count).reshape(dims).copy()

    # -- metadata ---------------------------------------------------------

    @property
    def inputs(self):
        """``{name: (dtype, shape)}`` in declaration order; a shape holds ints
        and size names or expressions as strings: ``('float32', ('B', 4))``."""
        return {d.name: d.meta() for d in self._inputs}

    @property
    def params(self):
        """``{name: (dtype, shape)}`` of the params (record leaves by dotted path)."""
        return {d.name: d.meta() for d in self._params}

    @property
    def outputs(self):
        """``{name: (dtype, shape)}`` of the outputs, in declaration order."""
        return {d.name: d.meta() for d in self._outputs}

    # -- running ----------------------------------------------------------

    def run(self, steps=1, **inputs):
        """Run ``steps`` steps on the given inputs (every input, by name) and
        return ``{output name: array}`` (copies). Params advance after each
        step, as in a run of the executable."""
        fast = self._fast
        if fast is not None and type(steps) is int and steps >= 1:
            with self._lock:
                out = fast.call(self, steps, inputs)
            if out is not None:
                return out
        steps = operator.index(steps)
        if steps < 1:
            raise UsageError("steps must be a positive integer, got %d" % steps)
        with self._lock:
            self._handle()
            keep = []
            self._bind_inputs(inputs, keep)
            self._check(self._lib.weft_run(self._m, steps))
            del keep
            out = {d.name: self._read(_capi.OUTPUT, d) for d in self._outputs}
            self._fast = _FastCall.make(self, inputs, out)
            return out

    def vjp(self, cotangents=None, **inputs):
        """The vector-Jacobian product of one forward step at these inputs
        and the current params: ``{name: gradient}`` of
        ``sum_i <output_i, cotangents[output_i]>`` for every floating input
        (by input name) and param (by param name). An output missing from
        ``cotangents`` has a zero cotangent. Params do not change."""
        cotangents = {} if cotangents is None else dict(cotangents)
        with self._lock:
            self._handle()
            for name in cotangents:
                self._lookup(_capi.OUTPUT, name)
            keep = []
            self._bind_inputs(inputs, keep)
            for name, ct in cotangents.items():
                decl = self._by_name[_capi.OUTPUT][name]
                self._set(self._lib.weft_set_cotangent, decl, ct, keep)
                self._cotangent_lent.add(name)
            for name in self._cotangent_lent - set(cotangents):
                decl = self._by_name[_capi.OUTPUT][name]
                self._set(self._lib.weft_set_cotangent, decl, self._zeros_like_output(decl, keep), keep)
            self._check(self._lib.weft_vjp(self._m))
            del keep
            grads = {}
            for d in self._inputs:
                if d.floating:
                    grads[d.name] = self._read(_capi.GRAD_INPUT, d)
            for d in self._params:
                if d.floating:
                    grads[d.name] = self._read(_capi.GRAD_PARAM, d)
            return grads

    def get_param(self, name):
        """The current value of param ``name`` (a copy)."""
        with self._lock:
            self._handle()
            return self._read(_capi.PARAM, self._lookup(_capi.PARAM, name))

    def set_param(self, name, value):
        """Set param ``name`` to a copy of ``value`` (its dtype must be the
        param's; Python numbers and lists take the param's dtype)."""
        with self._lock:
            self._handle()
            decl = self._lookup(_capi.PARAM, name)
            keep = []
            self._set(self._lib.weft_set_param, decl, value, keep)

    @property
    def step(self):
        """The step counter: the index of the next step (``run`` advances
        it, ``vjp`` does not). Programs read it through ``step``, ``batch``
        and per-step seeds."""
        with self._lock:
            return int(self._lib.weft_get_step(self._handle()))

    @step.setter
    def step(self, k):
        k = operator.index(k)
        if not 0 <= k < 2**63:
            raise UsageError("the step must be a non-negative 64-bit integer, got %d" % k)
        with self._lock:
            self._check(self._lib.weft_set_step(self._handle(), k))

    @property
    def threads(self):
        """Threads for the program's parallel kernels: None until set (the
        library's default: all CPUs)."""
        return self._threads

    @threads.setter
    def threads(self, n):
        self.set_threads(n)

    def set_threads(self, n):
        n = operator.index(n)
        if not -(2**31) <= n < 2**31:
            raise UsageError("threads must fit a 32-bit integer, got %d" % n)
        with self._lock:
            self._check(self._lib.weft_set_threads(self._handle(), n))
            self._threads = n

    # -- lifetime ---------------------------------------------------------

    def close(self):
        """Free the model (and the temporary directory of :func:`build`).
        Later calls raise :class:`UsageError`. Closing twice is harmless."""
        lock = getattr(self, "_lock", None)
        if lock is None:
            return
        with lock:
            m, self._m = self._m, None
            if m is not None:
                self._lib.weft_free(m)
            keep, self._keep = self._keep, []
            for k in keep:
                k.cleanup()

    @property
    def closed(self):
        return self._m is None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        def part(decls):
            return ", ".join("%s: %s" % (d.name, d.type_text()) for d in decls) or "-"

        state = " (closed)" if self._m is None else ""
        return "<weft.Model %s%s inputs(%s) params(%s) outputs(%s)>" % (
            self.name,
            state,
            part(self._inputs),
            part(self._params),
            part(self._outputs),
        )


# ---------------------------------------------------------------------------
# Loading and building


def load(path):
    """Load a library built with ``weft build FILE --lib`` and make a model
    of it (params initialised as the program says). Several libraries, and
    several models of one library, may be alive at once."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError("no weft library at %s" % path)
    abspath = os.path.abspath(path)
    keep = []
    with _loaded_lock:
        st = os.stat(abspath)
        ident = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if _loaded.setdefault(abspath, ident) != ident:
            # The file changed since this process loaded it (rebuilt in
            # place): dlopen would hand back the old library, so load a copy.
            tmp = tempfile.TemporaryDirectory(prefix="weft-load-")
            keep.append(tmp)
            target = os.path.join(tmp.name, os.path.basename(abspath))
            shutil.copyfile(abspath, target)
        else:
            target = abspath
    try:
        lib = _capi.Library(target)
        if lib.missing:
            raise UsageError(
                "%s is not a library built by `weft build --lib`: it lacks %s"
                % (path, ", ".join(lib.missing))
            )
        return Model(lib, abspath, keep)
    except BaseException:
        for k in keep:
            k.cleanup()
        raise


# Libraries loaded by this process: path -> the file's identity then.
_loaded = {}
_loaded_lock = threading.Lock()


def _repo_root():
    # python/weft/__init__.py -> the checkout's root
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def find_weft():
    """The `weft` command that :func:`build` runs: ``$WEFT`` when set, else
    ``weft`` on ``PATH``, else ``target/release/weft`` (then
    ``target/debug/weft``) in the checkout this package was imported from
    (when it runs from the checkout's ``python/`` folder), else in the
    current directory or the nearest of its parents that has one."""
    env = os.environ.get("WEFT")
    if env:
        return env
    found = shutil.which("weft")
    if found:
        return found
    roots = [_repo_root()]
    here = os.getcwd()
    while True:
        roots.append(here)
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    for root in roots:
        for profile in ("release", "debug"):
            cand = os.path.join(root, "target", profile, "weft")
            if os.path.isfile(cand) and os.access(cand, os.X_OK):
                return cand
    raise BuildError(
        "cannot find the `weft` command: set WEFT=/path/to/weft, put weft on PATH, "
        "or build it in this checkout with `cargo build --release`"
    )


def _set_text(value):
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def build(file, sets=None, target_cpu=None, out_dir=None):
    """Build ``file`` with ``weft build FILE --lib -o DIR`` and load it.

    ``sets={"lr": 0.1}`` passes ``--set lr=0.1``; ``target_cpu="x86-64-v3"``
    passes ``--target-cpu``. ``DIR`` is a fresh temporary directory, removed
    when the model is closed, unless ``out_dir`` names one to keep. The
    command is found by :func:`find_weft`. A failed build raises
    :class:`BuildError` holding weft's diagnostics."""
    file = os.fspath(file)
    exe = find_weft()
    tmp = None
    if out_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="weft-build-")
        out = tmp.name
    else:
        out = os.fspath(out_dir)
        os.makedirs(out, exist_ok=True)
    cmd = [exe, "build", file, "--lib", "-o", out]
    for name, value in (sets or {}).items():
        cmd += ["--set", "%s=%s" % (name, _set_text(value))]
    if target_cpu is not None:
        cmd += ["--target-cpu", str(target_cpu)]
    try:
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            raise BuildError("cannot run %s: %s" % (exe, e)) from None
        stderr = proc.stderr.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise BuildError(
                "weft build %s failed (exit status %d):\n%s" % (file, proc.returncode, stderr),
                status=proc.returncode,
                stderr=stderr,
            )
        stem = os.path.splitext(os.path.basename(file))[0]
        lib_path = os.path.join(out, "lib%s.so" % stem)
        if not os.path.exists(lib_path):
            raise BuildError(
                "weft build %s succeeded but wrote no %s\n%s" % (file, lib_path, stderr),
                status=0,
                stderr=stderr,
            )
        model = load(lib_path)
    except BaseException:
        if tmp is not None:
            tmp.cleanup()
        raise
    if tmp is not None:
        model._keep.append(tmp)
    return model


def __getattr__(name):
    # `weft.torch` is imported on first use only: `import weft` needs no torch.
    if name == "torch":
        import importlib

        return importlib.import_module(".torch", __name__)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def _address(a):
    """The address of an array's data: through the buffer protocol (fast),
    or NumPy's ctypes interface for a read-only array."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    except (TypeError, ValueError):
        return a.ctypes.data


class _FastCall:
    """`Model.run` for a call with the same input names, dtypes and shapes
    as the last one: the inputs are passed by address and the outputs copied
    into fresh arrays in one call of the library (`weft_run_with`), with
    nothing checked twice. Any other call takes the general path."""

    __slots__ = ("ins", "outs", "inptrs", "outptrs")

    @staticmethod
    def make(model, inputs, out):
        ins = []
        for d in model._inputs:
            a = inputs[d.name]
            if type(a) is not np.ndarray or not a.flags.c_contiguous or a.dtype != d.np_dtype:
                return None
            ins.append((d.name, a.dtype, a.shape))
        f = _FastCall()
        f.ins = tuple(ins)
        f.outs = tuple((d.name, out[d.name].dtype, out[d.name].shape) for d in model._outputs)
        f.inptrs = (ctypes.c_void_p * max(1, len(ins)))()
        f.outptrs = (ctypes.c_void_p * max(1, len(f.outs)))()
        return f

    def call(self, model, steps, inputs):
        if len(inputs) != len(self.ins) or model._m is None:
            return None
        ptrs = self.inptrs
        for i, (name, dt, shape) in enumerate(self.ins):
            a = inputs.get(name)
            if type(a) is not np.ndarray or a.dtype != dt or a.shape != shape or not a.flags.c_contiguous:
                return None
            ptrs[i] = _address(a)
        res = {}
        outptrs = self.outptrs
        for j, (name, dt, shape) in enumerate(self.outs):
            o = np.empty(shape, dt)
            res[name] = o
            outptrs[j] = _address(o) if o.size else None
        model._check(model._lib.weft_run_with(model._m, steps, ptrs, outptrs))
        return res

