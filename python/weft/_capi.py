"""ctypes declarations of the C API in runtime/lib/include/weft.h.

Every function of the header gets its restype and argtypes here, so that a
wrong call fails in Python instead of passing a truncated integer to C.
"""

import ctypes
import os

# Statuses.
OK = 0
ERR_USAGE = 2
ERR_DATA = 3
ERR_INTERNAL = 101

# Dtype codes.
F32 = 1
F64 = 2
I32 = 3
I64 = 4
U8 = 5
BOOL = 6

# Kinds of (kind, index) pairs.
INPUT = 0
PARAM = 1
OUTPUT = 2
GRAD_INPUT = 3
GRAD_PARAM = 4

c_model_p = ctypes.c_void_p
c_int64_p = ctypes.POINTER(ctypes.c_int64)

# name: (restype, argtypes), in the header's order.
SIGNATURES = {
    "weft_new": (ctypes.c_int, [ctypes.POINTER(c_model_p)]),
    "weft_free": (None, [c_model_p]),
    "weft_error": (ctypes.c_char_p, [c_model_p]),
    "weft_set_threads": (ctypes.c_int, [c_model_p, ctypes.c_int32]),
    "weft_count": (ctypes.c_int32, [c_model_p, ctypes.c_int32]),
    "weft_find": (ctypes.c_int32, [c_model_p, ctypes.c_int32, ctypes.c_char_p]),
    "weft_name": (ctypes.c_char_p, [c_model_p, ctypes.c_int32, ctypes.c_int32]),
    "weft_dtype": (ctypes.c_int32, [c_model_p, ctypes.c_int32, ctypes.c_int32]),
    "weft_rank": (ctypes.c_int32, [c_model_p, ctypes.c_int32, ctypes.c_int32]),
    "weft_dim": (
        ctypes.c_int64,
        [c_model_p, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32],
    ),
    "weft_dim_name": (
        ctypes.c_char_p,
        [c_model_p, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32],
    ),
    "weft_set_input": (
        ctypes.c_int,
        [c_model_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, c_int64_p],
    ),
    "weft_set_param": (
        ctypes.c_int,
        [c_model_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, c_int64_p],
    ),
    "weft_run": (ctypes.c_int, [c_model_p, ctypes.c_int64]),
    "weft_run_with": (
        ctypes.c_int,
        [c_model_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)],
    ),
    "weft_get": (
        ctypes.c_int,
        [
            c_model_p,
            ctypes.c_int32,
            ctypes.c_int32,
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.POINTER(c_int64_p),
        ],
    ),
    "weft_set_cotangent": (
        ctypes.c_int,
        [c_model_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, c_int64_p],
    ),
    "weft_vjp": (ctypes.c_int, [c_model_p]),
    "weft_get_step": (ctypes.c_int64, [c_model_p]),
    "weft_set_step": (ctypes.c_int, [c_model_p, ctypes.c_int64]),
}


class Library:
    """A loaded `libNAME.so`: its C functions with their signatures."""

    def __init__(self, path):
        self.path = path
        # RTLD_LOCAL: the library's symbols (weft_new, weft_step, ...) stay
        # out of the global namespace, so that several weft libraries, which
        # all define the same names, can be loaded into one process.
        # RTLD_NOW: a library that cannot link fails here, not at a call.
        self.dll = ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_LOCAL)
        missing = []
        for name, (restype, argtypes) in SIGNATURES.items():
            try:
                fn = getattr(self.dll, name)
            except AttributeError:
                missing.append(name)
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)
        self.missing = missing
