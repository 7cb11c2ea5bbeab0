/* The C API of a library built with `weft build tests/lib/layer.weft --lib`
 * (docs/embedding.md), checked against a naive C implementation of the same
 * layer: forward values, the vector-Jacobian product (the chain rule worked
 * by hand), finite differences of weft's own forward pass, params set and
 * read back, two independent models, and the errors a caller can make.
 * Prints "ok" and exits 0, or says what differs and exits 1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer.h"

static int failures = 0;

#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (!(cond)) {                                    \
            fprintf(stderr, "line %d: ", __LINE__);       \
            fprintf(stderr, __VA_ARGS__);                 \
            fprintf(stderr, "\n");                        \
            failures++;                                   \
        }                                                 \
    } while (0)

#define OK(call) CHECK((call) == WEFT_OK, "%s failed: %s", #call, weft_error(m))

enum { B = 4, I = 3, O = 2 };

static double close_to(double a, double b, double tol) { return fabs(a - b) <= tol * (1 + fabs(b)); }

/* y = tanh(x w + b), s = sum(y^2) */
static void forward(const double *x, const double *w, const double *b, double *y, double *s) {
    *s = 0;
    for (int r = 0; r < B; r++)
        for (int o = 0; o < O; o++) {
            double z = b[o];
            for (int i = 0; i < I; i++) z += x[r * I + i] * w[i * O + o];
            y[r * O + o] = tanh(z);
            *s += y[r * O + o] * y[r * O + o];
        }
}

int main(void) {
    weft_model *m = NULL;
    CHECK(weft_new(&m) == WEFT_OK && m != NULL, "weft_new: %s", weft_error(NULL));
    if (!m) return 1;

    /* Introspection. */
    CHECK(weft_count(m, WEFT_INPUT) == 1 && weft_count(m, WEFT_PARAM) == 2 && weft_count(m, WEFT_OUTPUT) == 2,
          "counts");
    CHECK(weft_find(m, WEFT_PARAM, "b") == LAYER_PARAM_b, "find b");
    CHECK(weft_find(m, WEFT_INPUT, "nope") == -1, "find nope");
    CHECK(strcmp(weft_name(m, WEFT_OUTPUT, LAYER_OUTPUT_s), "s") == 0, "name of s");
    CHECK(weft_dtype(m, WEFT_INPUT, LAYER_INPUT_x) == WEFT_F64, "dtype of x");
    CHECK(weft_rank(m, WEFT_INPUT, LAYER_INPUT_x) == 2, "rank of x");
    CHECK(weft_dim(m, WEFT_INPUT, LAYER_INPUT_x, 0) == -1, "B is unbound before a run");
    CHECK(strcmp(weft_dim_name(m, WEFT_INPUT, LAYER_INPUT_x, 0), "B") == 0, "dim name B");
    CHECK(weft_dim_name(m, WEFT_INPUT, LAYER_INPUT_x, 1) == NULL, "literal axis has no name");
    CHECK(weft_dim(m, WEFT_INPUT, LAYER_INPUT_x, 1) == 3, "literal axis");

    /* The params start as the program says: w ~ normal, b = 0. */
    const void *p;
    const int64_t *shape;
    OK(weft_get(m, WEFT_PARAM, LAYER_PARAM_w, &p, &shape));
    CHECK(shape[0] == I && shape[1] == O, "shape of w");
    double w[I * O], b[O];
    memcpy(w, p, sizeof w);
    OK(weft_get(m, WEFT_PARAM, LAYER_PARAM_b, &p, &shape));
    memcpy(b, p, sizeof b);
    CHECK(b[0] == 0 && b[1] == 0, "b starts at zero");

    /* Forward. */
    double x[B * I];
    for (int k = 0; k < B * I; k++) x[k] = sin(1.0 + k);
    int64_t xshape[2] = {B, I};
    OK(weft_set_input(m, LAYER_INPUT_x, x, WEFT_F64, 2, xshape));
    OK(weft_set_threads(m, 2));
    OK(weft_run(m, 1));
    double y[B * O], s;
    forward(x, w, b, y, &s);
    OK(weft_get(m, WEFT_OUTPUT, LAYER_OUTPUT_y, &p, &shape));
    CHECK(shape[0] == B && shape[1] == O, "shape of y");
    for (int k = 0; k < B * O; k++) CHECK(close_to(((const double *)p)[k], y[k], 1e-12), "y[%d]", k);
    OK(weft_get(m, WEFT_OUTPUT, LAYER_OUTPUT_s, &p, &shape));
    CHECK(close_to(*(const double *)p, s, 1e-12), "s = %g, want %g", *(const double *)p, s);
    CHECK(weft_dim(m, WEFT_INPUT, LAYER_INPUT_x, 0) == B, "B is bound by the run");

    /* The VJP: L = <y, cy> + cs * s. By hand: dz = (cy + 2 cs y)(1 - y^2). */
    double cy[B * O], cs = 0.5;
    for (int k = 0; k < B * O; k++) cy[k] = cos(2.0 * k);
    int64_t yshape[2] = {B, O};
    OK(weft_set_cotangent(m, LAYER_OUTPUT_y, cy, WEFT_F64, 2, yshape));
    OK(weft_set_cotangent(m, LAYER_OUTPUT_s, &cs, WEFT_F64, 0, NULL));
    OK(weft_vjp(m));
    double dx[B * I] = {0}, dw[I * O] = {0}, db[O] = {0};
    for (int r = 0; r < B; r++)
        for (int o = 0; o < O; o++) {
            double yy = y[r * O + o];
            double dz = (cy[r * O + o] + 2 * cs * yy) * (1 - yy * yy);
            db[o] += dz;
            for (int i = 0; i < I; i++) {
                dw[i * O + o] += x[r * I + i] * dz;
                dx[r * I + i] += w[i * O + o] * dz;
            }
        }
    OK(weft_get(m, WEFT_GRAD_INPUT, LAYER_INPUT_x, &p, &shape));
    for (int k = 0; k < B * I; k++) CHECK(close_to(((const double *)p)[k], dx[k], 1e-10), "dx[%d]", k);
    OK(weft_get(m, WEFT_GRAD_PARAM, LAYER_PARAM_w, &p, &shape));
    const double *gw = p;
    for (int k = 0; k < I * O; k++) CHECK(close_to(gw[k], dw[k], 1e-10), "dw[%d]", k);
    OK(weft_get(m, WEFT_GRAD_PARAM, LAYER_PARAM_b, &p, &shape));
    for (int k = 0; k < O; k++) CHECK(close_to(((const double *)p)[k], db[k], 1e-10), "db[%d]", k);

    /* Finite differences of weft's own forward pass, through set_param. */
    double gw_copy[I * O];
    memcpy(gw_copy, gw, sizeof gw_copy);
    int64_t wshape[2] = {I, O};
    for (int k = 0; k < I * O; k++) {
        double f[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            double wp[I * O];
            memcpy(wp, w, sizeof wp);
            wp[k] += sgn ? -1e-6 : 1e-6;
            OK(weft_set_param(m, LAYER_PARAM_w, wp, WEFT_F64, 2, wshape));
            OK(weft_run(m, 1));
            double l = 0;
            OK(weft_get(m, WEFT_OUTPUT, LAYER_OUTPUT_y, &p, &shape));
            for (int j = 0; j < B * O; j++) l += ((const double *)p)[j] * cy[j];
            OK(weft_get(m, WEFT_OUTPUT, LAYER_OUTPUT_s, &p, &shape));
            f[sgn] = l + cs * *(const double *)p;
        }
        double fd = (f[0] - f[1]) / 2e-6;
        CHECK(close_to(gw_copy[k], fd, 1e-6), "dw[%d] = %g, finite differences %g", k, gw_copy[k], fd);
    }
    OK(weft_set_param(m, LAYER_PARAM_w, w, WEFT_F64, 2, wshape));
    OK(weft_get(m, WEFT_PARAM, LAYER_PARAM_w, &p, &shape));
    CHECK(memcmp(p, w, sizeof w) == 0, "set_param then get gives the same bytes");
    OK(weft_run(m, 1));

    /* A second model is independent. */
    weft_model *m2 = NULL;
    CHECK(weft_new(&m2) == WEFT_OK, "second model");
    double w2[I * O] = {0};
    CHECK(weft_set_param(m2, LAYER_PARAM_w, w2, WEFT_F64, 2, wshape) == WEFT_OK, "zero w in m2");
    CHECK(weft_set_input(m2, LAYER_INPUT_x, x, WEFT_F64, 2, xshape) == WEFT_OK, "x in m2");
    CHECK(weft_run(m2, 1) == WEFT_OK, "run m2");
    CHECK(weft_get(m2, WEFT_OUTPUT, LAYER_OUTPUT_s, &p, &shape) == WEFT_OK && *(const double *)p == 0,
          "m2 has s = 0");
    OK(weft_get(m, WEFT_OUTPUT, LAYER_OUTPUT_s, &p, &shape));
    CHECK(close_to(*(const double *)p, s, 1e-12), "m is unchanged by m2");
    weft_free(m2);

    /* weft_run_with: another x read in place, the outputs copied out. */
    double x2[B * I], y2[B * O], s2, ywant[B * O], swant;
    for (int k = 0; k < B * I; k++) x2[k] = cos(3.0 + k);
    forward(x2, w, b, ywant, &swant);
    const void *ins[1] = {x2};
    void *outs[2] = {y2, &s2};
    OK(weft_run_with(m, 1, ins, outs));
    for (int k = 0; k < B * O; k++) CHECK(close_to(y2[k], ywant[k], 1e-12), "run_with y[%d]", k);
    CHECK(close_to(s2, swant, 1e-12), "run_with s = %g, want %g", s2, swant);
    OK(weft_get(m, WEFT_OUTPUT, LAYER_OUTPUT_s, &p, &shape));
    CHECK(*(const double *)p == s2, "weft_get after weft_run_with");
    CHECK(weft_get_step(m) > 0, "the step counter advanced");
    OK(weft_set_step(m, 0));
    CHECK(weft_get_step(m) == 0, "the step counter was set");
    CHECK(weft_run(m, 0) == WEFT_ERR_USAGE, "zero steps");

    /* Errors: a status and a message, never an exit. */
    float xf[B * I] = {0};
    OK(weft_set_input(m, LAYER_INPUT_x, xf, WEFT_F32, 2, xshape));
    CHECK(weft_run(m, 1) == WEFT_ERR_DATA, "an f32 array for an f64 input is bad data");
    CHECK(strstr(weft_error(m), "input `x` expects f64[B, 3] but the array given holds f32[4, 3]") != NULL,
          "message: %s", weft_error(m));
    int64_t bad[2] = {B, 5};
    double xb[B * 5] = {0};
    OK(weft_set_input(m, LAYER_INPUT_x, xb, WEFT_F64, 2, bad));
    CHECK(weft_run(m, 1) == WEFT_ERR_DATA && strstr(weft_error(m), "axis 1 must be 3"), "wrong shape: %s",
          weft_error(m));
    CHECK(weft_set_input(m, 7, x, WEFT_F64, 2, xshape) == WEFT_ERR_USAGE, "input 7 does not exist");
    CHECK(weft_set_input(m, 0, x, 99, 2, xshape) == WEFT_ERR_USAGE, "dtype 99");
    CHECK(weft_get(m, WEFT_GRAD_INPUT, 5, &p, &shape) == WEFT_ERR_USAGE, "no input 5");
    CHECK(weft_run(NULL, 1) == WEFT_ERR_USAGE && strlen(weft_error(NULL)) > 0, "NULL model");
    weft_free(m);
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
