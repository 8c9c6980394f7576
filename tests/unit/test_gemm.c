/* test_gemm.c — the matrix-multiply micro-kernels and drivers (src/kernels/gemm.h) of every
 * ISA this machine runs, against a naive double-precision GEMM: odd sizes around every tile
 * edge and depth-block edge, transposed operands (strides), padded leading dimensions (which
 * must stay untouched), accumulation and bias; the packing copies; the task splitter; and
 * results that do not depend on the thread count. Then the dense kernels against their
 * reference twins.
 *
 * Tolerance (per element, rigorous): a float sum of k products in any order differs from the
 * exact sum by at most (k - 1) * 2^-24 * sum|a_ip b_pj| plus one rounding of each product
 * (2^-24 each), and the reference (double, rounded once) by 2^-24 of the result: so
 * |fast - ref| <= (k + 2) * 2^-24 * (|c0| + |bias| + sum|a_ip b_pj|), computed alongside the
 * reference. A wrong or missing term is off by ~|a b| ~ 0.1, far beyond it. */
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "test.h"

static float *falloc(int64_t n)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!p) abort();
    return p;
}

/* naive C = [C0 +] A B [+ bias] in double, with its error bound per element */
static void naive(int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa, int64_t csa, const float *b, int64_t ldb,
                  const float *c0, int64_t ldc, const float *bias, int colbias, int acc, double *ref, double *bound)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0, sa = 0;
            if (acc) s = c0[i * ldc + j], sa = fabs(c0[i * ldc + j]);
            else if (bias) s = bias[colbias ? j : i], sa = fabs(bias[colbias ? j : i]);
            for (int64_t p = 0; p < k; p++) {
                const double t = (double)a[i * rsa + p * csa] * (double)b[p * ldb + j];
                s += t, sa += fabs(t);
            }
            ref[i * n + j] = s;
            bound[i * n + j] = (double)(k + 2) * 0x1p-24 * sa + 1e-30;
        }
}

static int check_c(const float *c, int64_t ldc, int64_t m, int64_t n, const double *ref, const double *bound,
                   const char *what, const char *isa, int64_t k)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            const double err = fabs((double)c[i * ldc + j] - ref[i * n + j]);
            if (!(err <= bound[i * n + j])) {
                cn_test_fail(__FILE__, __LINE__, "%s (%s) m%lld n%lld k%lld: C[%lld][%lld] = %.9g, expected %.9g (error %.3g > %.3g)",
                             what, isa, (long long)m, (long long)n, (long long)k, (long long)i, (long long)j,
                             c[i * ldc + j], ref[i * n + j], err, bound[i * n + j]);
                return 0;
            }
        }
    return 1;
}

/* the padding columns of C (ldc > n) must keep their sentinel */
static int pad_intact(const float *c, int64_t ldc, int64_t m, int64_t n)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = n; j < ldc; j++)
            if (c[i * ldc + j] != -777.0f) return 0;
    return 1;
}

static const int64_t sizes[] = {1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 31, 33, 47, 48, 49, 65, 97, 129, 130, 257};
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))

static void test_nn_and_nt_every_isa(void)
{
    const cn_isa orig = cn_isa_active();
    cn_rng r;
    cn_rng_init(&r, 21, CN_STREAM_USER);
    int isas = 0;
    for (int isa = 0; isa < CN_ISA_COUNT_; isa++) {
        const cn_gemm_ops *o = cn_gemm_for((cn_isa)isa);
        if (!o) {
            printf("     (isa %s not available here: skipped)\n", cn_isa_name((cn_isa)isa));
            continue;
        }
        isas++;
        CHECK(o->mr <= CN_GEMM_MR_MAX && o->nr <= CN_GEMM_NR_MAX && o->nr1 <= CN_GEMM_NR1_MAX);
        CHECK(o->dr <= CN_GEMM_DC_MAX && o->dc <= CN_GEMM_DC_MAX && o->dc1 <= CN_GEMM_DC_MAX);
        int cases = 0;
        /* a spread of (m, n, k) triples: every size in each role, the others varied */
        for (int t = 0; t < 3 * NSIZES; t++) {
            const int64_t m = sizes[t % NSIZES], n = sizes[(t * 7 + 3) % NSIZES], k = sizes[(t * 11 + 5) % NSIZES];
            const int trans_a = t % 2, acc = (t / 2) % 2, with_bias = (t / 4) % 2;
            const int64_t lda = trans_a ? m + 3 : k + 2, ldb = n + 5, ldc = n + 4;
            float *a = falloc((trans_a ? k : m) * lda), *b = falloc(k * ldb), *c = falloc(m * ldc), *c0 = falloc(m * ldc);
            float *bias = falloc(m > n ? m : n);
            double *ref = malloc((size_t)(m * n) * sizeof(double)), *bound = malloc((size_t)(m * n) * sizeof(double));
            if (!ref || !bound) abort();
            cn_rng_fill_uniform(&r, a, (trans_a ? k : m) * lda, -1, 1);
            cn_rng_fill_uniform(&r, b, k * ldb, -1, 1);
            cn_rng_fill_uniform(&r, c0, m * ldc, -1, 1);
            cn_rng_fill_uniform(&r, bias, m > n ? m : n, -1, 1);
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = n; j < ldc; j++) c0[i * ldc + j] = -777.0f;
            const int64_t rsa = trans_a ? 1 : lda, csa = trans_a ? lda : 1;
            char what[64];

            /* nn: C [+]= A B [+ row bias] */
            memcpy(c, c0, (size_t)(m * ldc) * sizeof(float));
            naive(m, n, k, a, rsa, csa, b, ldb, c0, ldc, with_bias ? bias : NULL, 0, acc, ref, bound);
            cn_gemm_nn_run(o, m, n, k, a, rsa, csa, b, ldb, c, ldc, with_bias ? bias : NULL, acc, 0);
            snprintf(what, sizeof what, "nn%s%s%s", trans_a ? " A^T" : "", acc ? " acc" : "", with_bias ? " bias" : "");
            CHECK(check_c(c, ldc, m, n, ref, bound, what, o->isa, k));
            CHECK_MSG(pad_intact(c, ldc, m, n), "%s (%s) m%lld n%lld k%lld wrote into C's padding", what, o->isa,
                      (long long)m, (long long)n, (long long)k);

            /* nt: C [+]= A B^T [+ column bias], A (m x k) and B (n x k) row-major */
            float *bt = falloc(n * (k + 1));
            cn_rng_fill_uniform(&r, bt, n * (k + 1), -1, 1);
            float *btt = falloc(k * n); /* B^T as k x n for the naive product */
            for (int64_t p = 0; p < k; p++)
                for (int64_t j = 0; j < n; j++) btt[p * n + j] = bt[j * (k + 1) + p];
            float *ar = falloc(m * (k + 2));
            cn_rng_fill_uniform(&r, ar, m * (k + 2), -1, 1);
            memcpy(c, c0, (size_t)(m * ldc) * sizeof(float));
            naive(m, n, k, ar, k + 2, 1, btt, n, c0, ldc, with_bias ? bias : NULL, 1, acc, ref, bound);
            cn_gemm_nt_run(o, m, n, k, ar, k + 2, bt, k + 1, c, ldc, with_bias ? bias : NULL, acc, 0);
            snprintf(what, sizeof what, "nt%s%s", acc ? " acc" : "", with_bias ? " bias" : "");
            CHECK(check_c(c, ldc, m, n, ref, bound, what, o->isa, k));
            CHECK_MSG(pad_intact(c, ldc, m, n), "%s (%s) wrote into C's padding", what, o->isa);
            free(bt), free(btt), free(ar);
            free(a), free(b), free(c), free(c0), free(bias), free(ref), free(bound);
            cases++;
        }
        CHECK(cases == 3 * NSIZES);
    }
    CHECK(isas >= 1);
    CHECK_OK(cn_isa_select(orig));
}

/* the single-row kernels directly (the drivers above reach nt1 only for m < dr) */
static void test_single_row_kernels(void)
{
    cn_rng r;
    cn_rng_init(&r, 22, CN_STREAM_USER);
    for (int isa = 0; isa < CN_ISA_COUNT_; isa++) {
        const cn_gemm_ops *o = cn_gemm_for((cn_isa)isa);
        if (!o) continue;
        for (int64_t k = 1; k <= 37; k += 9)
            for (int n = 1; n <= o->nr1; n += 7) {
                /* nn1: c[j] = bias + sum_p a[p] * b[boff[p] + j], boff scattered */
                float a[40], b[40 * 160], c[CN_GEMM_NR1_MAX + 8], bias = 0.375f;
                int64_t boff[40];
                cn_rng_fill_uniform(&r, a, 40, -1, 1);
                cn_rng_fill_uniform(&r, b, 40 * 160, -1, 1);
                for (int64_t p = 0; p < k; p++) boff[p] = ((p * 37) % 40) * 160 + (p % 5);
                for (int j = 0; j < CN_GEMM_NR1_MAX + 8; j++) c[j] = -777.0f;
                o->nn1(k, a, b, boff, c, 0, 1, n, &bias, 0);
                int ok = 1;
                for (int j = 0; j < n; j++) {
                    double s = bias, sa = fabs(bias);
                    for (int64_t p = 0; p < k; p++) s += (double)a[p] * b[boff[p] + j], sa += fabs((double)a[p] * b[boff[p] + j]);
                    ok &= fabs(c[j] - s) <= (double)(k + 2) * 0x1p-24 * sa;
                }
                for (int j = n; j < CN_GEMM_NR1_MAX + 8; j++) ok &= c[j] == -777.0f;
                CHECK_MSG(ok, "nn1 (%s) k%lld n%d", o->isa, (long long)k, n);
            }
        for (int64_t len = 1; len <= 70; len += 13)
            for (int n = 1; n <= o->dc1; n++) {
                float rows[13][70], c[CN_GEMM_DC_MAX], cb[CN_GEMM_DC_MAX];
                cn_rng_fill_uniform(&r, &rows[0][0], 13 * 70, -1, 1);
                cn_rng_fill_uniform(&r, cb, CN_GEMM_DC_MAX, -1, 1);
                const float *ar[1] = {rows[12]}, *br[CN_GEMM_DC_MAX];
                for (int j = 0; j < CN_GEMM_DC_MAX; j++) br[j] = rows[j % 12];
                o->nt1(len, ar, br, c, 0, 1, n, cb, 0);
                int ok = 1;
                for (int j = 0; j < n; j++) {
                    double s = cb[j], sa = fabs(cb[j]);
                    for (int64_t q = 0; q < len; q++) s += (double)rows[12][q] * rows[j][q], sa += fabs((double)rows[12][q] * rows[j][q]);
                    ok &= fabs(c[j] - s) <= (double)(len + 2) * 0x1p-24 * sa;
                }
                CHECK_MSG(ok, "nt1 (%s) len%lld n%d", o->isa, (long long)len, n);
            }
        /* nn_a: A read in place (row stride lda), every row count and column count of a tile */
        for (int m = 1; m <= o->mr; m++)
            for (int n = 1; n <= o->nr; n += 5) {
                const int64_t k = 37, lda = 41;
                float a[8 * 41], b[37 * 64], c[8 * 64], cp[8 * 64], bias[8], ap[8 * 37];
                int64_t boff[37];
                cn_rng_fill_uniform(&r, a, 8 * 41, -1, 1);
                cn_rng_fill_uniform(&r, b, 37 * 64, -1, 1);
                cn_rng_fill_uniform(&r, bias, 8, -1, 1);
                for (int64_t q = 0; q < k; q++) boff[q] = q * 64;
                /* the same product through the packed kernel: identical bits expected */
                cn_gemm_pack_a(ap, a, lda, 1, m, k, o->mr);
                for (int i = 0; i < 8 * 64; i++) c[i] = cp[i] = -777.0f;
                o->nn_a(k, a, lda, b, boff, c, 64, m, n, bias, 0);
                o->nn(k, ap, b, boff, cp, 64, m, n, bias, 0);
                CHECK_MSG(!memcmp(c, cp, sizeof c), "nn_a (%s) m%d n%d differs from nn on packed A", o->isa, m, n);
                int ok = 1;
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double sref = bias[i], sa = fabs(bias[i]);
                        for (int64_t q = 0; q < k; q++) sref += (double)a[i * lda + q] * b[q * 64 + j], sa += fabs((double)a[i * lda + q] * b[q * 64 + j]);
                        ok &= fabs(c[i * 64 + j] - sref) <= (double)(k + 2) * 0x1p-24 * sa;
                    }
                CHECK_MSG(ok, "nn_a (%s) m%d n%d", o->isa, m, n);
            }
        /* a tile of n columns (narrow kernels take the short ones) gives the bits of the same
         * columns in a full tile, with and without accumulation, through nn and nn_a */
        for (int n = 1; n <= o->nr; n++) {
            const int64_t k = 29;
            float a[8 * 29], ap[8 * 29], b[29 * 64], full[8 * 64], part[8 * 64], fa[8 * 64], pa[8 * 64];
            int64_t boff[29];
            cn_rng_fill_uniform(&r, a, 8 * 29, -1, 1);
            cn_rng_fill_uniform(&r, b, 29 * 64, -1, 1);
            cn_rng_fill_uniform(&r, full, 8 * 64, -1, 1);
            for (int64_t q = 0; q < k; q++) boff[q] = q * 64;
            cn_gemm_pack_a(ap, a, 29, 1, o->mr, k, o->mr);
            memcpy(part, full, sizeof full);
            o->nn(k, ap, b, boff, full, 64, o->mr, o->nr, NULL, 1);
            o->nn(k, ap, b, boff, part, 64, o->mr, n, NULL, 1);
            o->nn_a(k, a, 29, b, boff, fa, 64, o->mr, o->nr, NULL, 0);
            o->nn_a(k, a, 29, b, boff, pa, 64, o->mr, n, NULL, 0);
            int same = 1;
            for (int i = 0; i < o->mr; i++) same &= !memcmp(full + i * 64, part + i * 64, (size_t)n * 4) && !memcmp(fa + i * 64, pa + i * 64, (size_t)n * 4);
            CHECK_MSG(same, "nn/nn_a (%s) n%d: a narrow tile differs from the same columns of a full one", o->isa, n);
        }
        float x[100];
        cn_rng_fill_uniform(&r, x, 100, -1, 1);
        for (int64_t n = 0; n <= 100; n += 11) {
            double s = 0, sa = 0;
            for (int64_t i = 0; i < n; i++) s += x[i], sa += fabs(x[i]);
            CHECK_NEAR(o->sum(x, n), s, (double)(n + 1) * 0x1p-24 * sa + 1e-30);
        }
    }
}

/* packing copies are exact: every ISA equals the plain loops */
static void test_packing(void)
{
    float src[4096], d1[64 * 48], d2[64 * 48];
    cn_rng r;
    cn_rng_init(&r, 23, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, src, 4096, -1, 1);
    int64_t rowoff[64], runs[3 * 6] = {0, 100, 16, 16, 300, 5, 21, 7, 1, 22, 1000, 13, 35, 2000, 9, 44, 50, 4};
    int64_t coloff[48];
    for (int p = 0; p < 64; p++) rowoff[p] = p * 31;
    for (int j = 0; j < 48; j++) coloff[j] = (j * 97) % 1500;
    for (int isa = 0; isa < CN_ISA_COUNT_; isa++) {
        const cn_gemm_ops *o = cn_gemm_for((cn_isa)isa);
        if (!o) continue;
        memset(d1, 0, sizeof d1), memset(d2, 0, sizeof d2);
        o->pack_runs(d1, 48, src, rowoff, 64, runs, 6);
        for (int p = 0; p < 64; p++)
            for (int q = 0; q < 6; q++)
                for (int i = 0; i < runs[3 * q + 2]; i++) d2[p * 48 + runs[3 * q] + i] = src[rowoff[p] + runs[3 * q + 1] + i];
        CHECK_MSG(!memcmp(d1, d2, sizeof d1), "pack_runs (%s)", o->isa);
        for (int n = 1; n <= 48; n += 47 / 4) {
            memset(d1, 0, sizeof d1), memset(d2, 0, sizeof d2);
            o->pack_gather(d1, 48, src, rowoff, 40, coloff, n);
            for (int p = 0; p < 40; p++)
                for (int j = 0; j < n; j++) d2[p * 48 + j] = src[rowoff[p] + coloff[j]];
            CHECK_MSG(!memcmp(d1, d2, sizeof d1), "pack_gather (%s) n%d", o->isa, n);
        }
    }
}

typedef struct {
    int count[1000];
    int bad_slot;
    int slots;
} tasks_seen;

static void note_task(void *ctx, int64_t t, int slot)
{
    tasks_seen *s = ctx;
    __atomic_fetch_add(&s->count[t], 1, __ATOMIC_RELAXED);
    if (slot < 0 || slot >= s->slots) __atomic_store_n(&s->bad_slot, 1, __ATOMIC_RELAXED);
}

/* every task runs exactly once, on a slot below the slot count, at any thread count */
static void test_run_tasks(void)
{
    for (int threads = 1; threads <= 3; threads++) {
        CHECK_OK(cn_set_num_threads(threads));
        static const int64_t ntasks[] = {1, 2, 3, 7, 64, 1000};
        for (size_t i = 0; i < sizeof ntasks / sizeof ntasks[0]; i++)
            for (int slots = 1; slots <= 4; slots++) {
                tasks_seen s;
                memset(&s, 0, sizeof s);
                s.slots = slots;
                cn_run_tasks(ntasks[i], slots, note_task, &s);
                int once = 1;
                for (int64_t t = 0; t < ntasks[i]; t++) once &= s.count[t] == 1;
                CHECK_MSG(once && !s.bad_slot, "cn_run_tasks(%lld tasks, %d slots) at %d threads", (long long)ntasks[i],
                          slots, threads);
            }
    }
    CHECK_OK(cn_set_num_threads(0));
}

/* the drivers split C by tiles: the same bits at 1, 2 and 3 threads (big enough to split) */
static void test_thread_count_invariance(void)
{
    const int64_t m = 150, n = 333, k = 301;
    float *a = falloc(m * k), *b = falloc(k * n), *bt = falloc(n * k), *c[3], *d[3];
    cn_rng r;
    cn_rng_init(&r, 24, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, a, m * k, -1, 1);
    cn_rng_fill_uniform(&r, b, k * n, -1, 1);
    cn_rng_fill_uniform(&r, bt, n * k, -1, 1);
    for (int t = 0; t < 3; t++) {
        CHECK_OK(cn_set_num_threads(t + 1));
        c[t] = falloc(m * n), d[t] = falloc(m * n);
        cn_gemm_nn_run(cn_gemm(), m, n, k, a, k, 1, b, n, c[t], n, NULL, 0, 0);
        cn_gemm_nt_run(cn_gemm(), m, n, k, a, k, bt, k, d[t], n, NULL, 0, 0);
    }
    for (int t = 1; t < 3; t++) {
        CHECK_MSG(!memcmp(c[0], c[t], (size_t)(m * n) * 4), "nn differs at %d threads", t + 1);
        CHECK_MSG(!memcmp(d[0], d[t], (size_t)(m * n) * 4), "nt differs at %d threads", t + 1);
    }
    for (int t = 0; t < 3; t++) free(c[t]), free(d[t]);
    free(a), free(b), free(bt);
    CHECK_OK(cn_set_num_threads(0));
}

/* dense kernels (ops.h) against their reference twins, one configuration per line:
 * "n IN OUT bias" */
static void test_dense_fast_vs_reference(void)
{
    static const char *const lines[] = {"1 1 1 1", "1 400 120 1", "3 7 5 0", "64 400 120 1", "64 120 84 1",
                                        "64 84 10 1", "5 333 17 0", "100 60 10 1", "8 512 1000 1", "2 1 9 1"};
    const cn_isa orig = cn_isa_active();
    cn_rng r;
    cn_rng_init(&r, 25, CN_STREAM_USER);
    for (int isa = 0; isa < CN_ISA_COUNT_; isa++) {
        if (cn_isa_select((cn_isa)isa) != CN_OK) continue;
        for (size_t l = 0; l < sizeof lines / sizeof lines[0]; l++) {
            long long nn, in, out;
            int bias;
            CHECK(sscanf(lines[l], "%lld %lld %lld %d", &nn, &in, &out, &bias) == 4);
            cn_dense_geom g = {nn, in, out};
            float *x = falloc(nn * in), *w = falloc(out * in), *b = falloc(out), *y1 = falloc(nn * out), *y2 = falloc(nn * out);
            float *dy = falloc(nn * out), *dx1 = falloc(nn * in), *dx2 = falloc(nn * in), *dw1 = falloc(out * in),
                  *dw2 = falloc(out * in), *db1 = falloc(out), *db2 = falloc(out);
            cn_rng_fill_uniform(&r, x, nn * in, -1, 1);
            cn_rng_fill_uniform(&r, w, out * in, -1, 1);
            cn_rng_fill_uniform(&r, b, out, -1, 1);
            cn_rng_fill_uniform(&r, dy, nn * out, -1, 1);
            cn_rng_fill_uniform(&r, dx1, nn * in, -1, 1);
            cn_rng_fill_uniform(&r, dw1, out * in, -1, 1);
            cn_rng_fill_uniform(&r, db1, out, -1, 1);
            memcpy(dx2, dx1, (size_t)(nn * in) * 4), memcpy(dw2, dw1, (size_t)(out * in) * 4), memcpy(db2, db1, (size_t)out * 4);
            cn_dense_ref_forward(y1, x, w, bias ? b : NULL, &g);
            cn_dense_forward(y2, x, w, bias ? b : NULL, &g);
            cn_dense_ref_backward_data(dx1, dy, w, &g);
            cn_dense_backward_data(dx2, dy, w, &g);
            cn_dense_ref_backward_weights(dw1, bias ? db1 : NULL, dy, x, &g);
            cn_dense_backward_weights(dw2, bias ? db2 : NULL, dy, x, &g);
            /* |values| <= 1, sums of at most max(IN, OUT, N) + 1 terms: the bound of the file's
             * header with sum|terms| <= that count */
            const double kmax = (double)(in > out ? (in > nn ? in : nn) : (out > nn ? out : nn)) + 2;
            const double tol = kmax * kmax * 0x1p-24;
            char label[96];
            snprintf(label, sizeof label, "dense \"%s\" (%s) forward", lines[l], cn_isa_name((cn_isa)isa));
            CHECK(CHECK_ALLCLOSE(y2, y1, nn * out, tol, 0, label));
            snprintf(label, sizeof label, "dense \"%s\" (%s) backward data", lines[l], cn_isa_name((cn_isa)isa));
            CHECK(CHECK_ALLCLOSE(dx2, dx1, nn * in, tol, 0, label));
            snprintf(label, sizeof label, "dense \"%s\" (%s) dw", lines[l], cn_isa_name((cn_isa)isa));
            CHECK(CHECK_ALLCLOSE(dw2, dw1, out * in, tol, 0, label));
            CHECK(CHECK_ALLCLOSE(db2, db1, out, tol, 0, label));
            free(x), free(w), free(b), free(y1), free(y2), free(dy), free(dx1), free(dx2), free(dw1), free(dw2), free(db1), free(db2);
        }
    }
    CHECK_OK(cn_isa_select(orig));
}

int main(void)
{
    RUN(test_nn_and_nt_every_isa);
    RUN(test_single_row_kernels);
    RUN(test_packing);
    RUN(test_run_tasks);
    RUN(test_thread_count_invariance);
    RUN(test_dense_fast_vs_reference);
    return cn_test_finish();
}
