/* W6: machine ceilings with 2 threads (OpenMP), f32.
   - STREAM-like copy (b = a) and triad (a = b + s*c) over arrays of N floats,
     bandwidth counted as STREAM does: copy 2 arrays, triad 3 arrays per
     element (bytes read + written; write-allocate traffic not counted).
   - Peak FMA: independent chains of vector FMAs in registers.
   Prints one line per figure: `name value unit`. Median of REPS. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <immintrin.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define REPS 15

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : (1L << 25); /* 128 MiB per array */
    float *a = aligned_alloc(64, n * sizeof(float));
    float *b = aligned_alloc(64, n * sizeof(float));
    float *c = aligned_alloc(64, n * sizeof(float));
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) { a[i] = 1.0f; b[i] = 2.0f; c[i] = 0.5f; }
    double tc[REPS], tt[REPS];
    float s = 3.0f;
    for (int r = 0; r < REPS; r++) {
        double t0 = now();
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++) b[i] = a[i];
        double t1 = now();
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++) a[i] = b[i] + s * c[i];
        double t2 = now();
        tc[r] = t1 - t0;
        tt[r] = t2 - t1;
    }
    qsort(tc, REPS, sizeof(double), cmp);
    qsort(tt, REPS, sizeof(double), cmp);
    printf("stream_copy %.2f GB/s\n", 2.0 * n * sizeof(float) / tc[REPS / 2] / 1e9);
    printf("stream_triad %.2f GB/s\n", 3.0 * n * sizeof(float) / tt[REPS / 2] / 1e9);
    if (a[7] < 0) printf("%f\n", a[7]);

    /* Peak FMA: each thread runs 12 independent 256-bit FMA chains. */
    const long iters = 50000000;
    double tf[5];
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        float sink = 0;
#pragma omp parallel reduction(+ : sink)
        {
            __m256 acc[12];
            __m256 m = _mm256_set1_ps(0.999999f), d = _mm256_set1_ps(1e-7f);
            for (int j = 0; j < 12; j++) acc[j] = _mm256_set1_ps((float)j + omp_get_thread_num());
            for (long i = 0; i < iters; i++) {
#pragma GCC unroll 12
                for (int j = 0; j < 12; j++) acc[j] = _mm256_fmadd_ps(acc[j], m, d);
            }
            __m256 t = acc[0];
            for (int j = 1; j < 12; j++) t = _mm256_add_ps(t, acc[j]);
            float o[8];
            _mm256_storeu_ps(o, t);
            for (int j = 0; j < 8; j++) sink += o[j];
        }
        tf[r] = now() - t0;
        if (sink == 12345.0f) printf("%f\n", sink);
    }
    qsort(tf, 5, sizeof(double), cmp);
    int th = omp_get_max_threads();
    printf("peak_fma %.1f GFLOP/s\n", 2.0 * 8 * 12 * (double)iters * th / tf[2] / 1e9);
    printf("threads %d\n", th);
    return 0;
}
