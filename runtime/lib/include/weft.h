/* The C API of a weft program built with `weft build FILE --lib`
 * (docs/embedding.md). Every function is thread-compatible: one model may
 * be used by one thread at a time, and models are independent of each
 * other. Nothing here prints or exits; a failing call returns a non-zero
 * status and weft_error() says why.
 */
#ifndef WEFT_API_H
#define WEFT_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One instance of the program: its params, its inputs, its outputs. */
typedef struct weft_model weft_model;

/* Statuses: 0 is success. */
enum {
    WEFT_OK = 0,
    WEFT_ERR_USAGE = 2,    /* a bad argument: an index, a null pointer, a wrong dtype or rank */
    WEFT_ERR_DATA = 3,     /* bad data (the messages of the executables) or a failed step */
    WEFT_ERR_INTERNAL = 101 /* a damaged library */
};

/* Dtypes. */
enum {
    WEFT_F32 = 1,
    WEFT_F64 = 2,
    WEFT_I32 = 3,
    WEFT_I64 = 4,
    WEFT_U8 = 5,
    WEFT_BOOL = 6 /* one byte per element, 0 or 1 */
};

/* What a (kind, index) pair names. Inputs, params and outputs are in
 * declaration order; GRAD_INPUT i and GRAD_PARAM i are the gradients of
 * input i and param i computed by weft_vjp (floating ones only). */
enum {
    WEFT_INPUT = 0,
    WEFT_PARAM = 1,
    WEFT_OUTPUT = 2,
    WEFT_GRAD_INPUT = 3,
    WEFT_GRAD_PARAM = 4
};

/* A new model with its params initialised as the program says (a param
 * whose type uses a size name bound by an input is initialised at the first
 * weft_run or weft_vjp). On failure *out is NULL and weft_error(NULL) says
 * why. */
int weft_new(weft_model **out);
void weft_free(weft_model *m);

/* The message of the last failing call on `m` (of weft_new on this thread
 * when `m` is NULL); "" when none. Valid until the next call on `m`. */
const char *weft_error(const weft_model *m);

/* Threads for the program's parallel kernels (default: all CPUs). */
int weft_set_threads(weft_model *m, int32_t threads);

/* Introspection (WEFT_INPUT, WEFT_PARAM, WEFT_OUTPUT). weft_find gives the
 * index of a name, or -1. weft_dim gives a literal length, the value of a
 * size bound by the last weft_run or weft_vjp, or -1; weft_dim_name
 * gives the size's name or expression (`N`, `N + 1`), or NULL for a
 * literal. Strings are owned by the model. */
int32_t weft_count(const weft_model *m, int32_t kind);
int32_t weft_find(const weft_model *m, int32_t kind, const char *name);
const char *weft_name(const weft_model *m, int32_t kind, int32_t i);
int32_t weft_dtype(const weft_model *m, int32_t kind, int32_t i);
int32_t weft_rank(const weft_model *m, int32_t kind, int32_t i);
int64_t weft_dim(const weft_model *m, int32_t kind, int32_t i, int32_t axis);
const char *weft_dim_name(const weft_model *m, int32_t kind, int32_t i, int32_t axis);

/* Input i reads `data` (C order, `rank` lengths in `shape`) in place, at
 * every weft_run and weft_vjp until it is set again: the memory must stay
 * valid and unchanged as long as it is lent. A scalar has rank 0 (shape may
 * be NULL). Dtype and shape are checked against the program at the next
 * run. */
int weft_set_input(weft_model *m, int32_t i, const void *data, int32_t dtype, int32_t rank,
                   const int64_t *shape);

/* Param i takes a copy of `data` (checked against its type at once where
 * the sizes are known, else at the next run). */
int weft_set_param(weft_model *m, int32_t i, const void *data, int32_t dtype, int32_t rank,
                   const int64_t *shape);

/* Runs `steps` (>= 1) steps (a program without updates or per-step values
 * runs one), as the executable does: params advance after each step. */
int weft_run(weft_model *m, int64_t steps);

/* weft_run for a caller that repeats a call: input i reads inputs[i]
 * instead of its memory (same dtype and shape as its last weft_set_input,
 * which must have been made; NULL keeps that memory), and after the run
 * each output i with outputs[i] non-NULL is copied into outputs[i] (room
 * for its bytes: its dtype and shape after the run). `inputs` and `outputs`
 * hold one pointer per input and per output, or are NULL. */
int weft_run_with(weft_model *m, int64_t steps, const void *const *inputs, void *const *outputs);

/* The step counter: the index of the next step (0 for a new model). A step
 * reads it (`step`, `batch`, per-step seeds); weft_run advances it, weft_vjp
 * does not. Setting it lets a caller compute the VJP of the step it ran. */
int64_t weft_get_step(const weft_model *m);
int weft_set_step(weft_model *m, int64_t step);

/* The current value of a param, an output of the last run, or a gradient of
 * the last weft_vjp: *data points into the model (valid until the next call
 * that changes it), *shape to weft_rank() lengths. */
int weft_get(const weft_model *m, int32_t kind, int32_t i, const void **data,
             const int64_t **shape);

/* The cotangent of output i for weft_vjp, lent like an input (same dtype and
 * shape as the output) until it is set again; `data` NULL takes it back. An
 * output without one has a zero cotangent. */
int weft_set_cotangent(weft_model *m, int32_t i, const void *data, int32_t dtype, int32_t rank,
                       const int64_t *shape);

/* The vector-Jacobian product of one forward step at the current inputs,
 * params and step: the gradients of sum_i <output_i, cotangent_i> with
 * respect to every floating input and param (read them with weft_get and
 * WEFT_GRAD_INPUT / WEFT_GRAD_PARAM). Params do not change. */
int weft_vjp(weft_model *m);

#ifdef __cplusplus
}
#endif

#endif
