/* test_pool_torch.c — pooling, unpooling, interpolation and pixel shuffle against PyTorch 1.13
 * (fixtures written by tests/fixtures/gen_pool.py from the same case lines as below): the
 * output shape our geometry resolves must equal PyTorch's, and the forward values, argmax
 * indices and input gradients (of sum(y * dy) for a random dy) must match.
 *
 * Tolerances, with values O(1) (normal or grid inputs):
 *   max pooling, unpooling, pixel shuffle, nearest: y and indices exact (values are copied);
 *     dx exact up to the order of float additions where windows overlap: atol 1e-6.
 *   average, linear interpolation: PyTorch sums in float, we sum in double; <= 27 terms of
 *     size <= 4 give float error <= ~27 * 4 * 6e-8 ~ 7e-6: atol 1e-5, rtol 1e-5.
 *   Lp: PyTorch computes avg_pool(x^p) * k then pow(1/p) in float, and differentiates that
 *     chain in float: ~10 roundings on values up to ~20: atol 3e-5, rtol 1e-4. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "test.h"
#include "test_pool_spec.h"

static const struct {
    const char *name, *spec;
} CASES[] = {
    {"max1_pad", "op=max nd=1 n=2 c=3 in=11 k=3 s=2 p=1 d=1 ceil=0"},
    {"max1_dil_ceil", "op=max nd=1 n=1 c=2 in=10 k=3 s=3 p=1 d=2 ceil=1"},
    {"max2_basic", "op=max nd=2 n=2 c=2 in=7x6 k=3x2 s=2x2 p=1x0 d=1x1 ceil=0"},
    {"max2_dil_ceil", "op=max nd=2 n=1 c=3 in=8x9 k=3x3 s=2x2 p=1x1 d=2x1 ceil=1"},
    {"max2_ceil_drop", "op=max nd=2 n=1 c=1 in=5x5 k=2x2 s=2x2 p=1x1 d=1x1 ceil=1"},
    {"max3_dil", "op=max nd=3 n=1 c=2 in=5x6x4 k=2x3x2 s=2x2x1 p=1x1x0 d=1x1x2 ceil=0"},
    {"max3_ceil", "op=max nd=3 n=1 c=1 in=6x5x7 k=3x2x3 s=2x2x2 p=1x0x1 d=1x1x1 ceil=1"},
    {"avg1_ceil_cip", "op=avg nd=1 n=2 c=2 in=9 k=4 s=3 p=2 ceil=1 cip=1"},
    {"avg1_ceil_nocip", "op=avg nd=1 n=2 c=2 in=9 k=4 s=3 p=2 ceil=1 cip=0"},
    {"avg2_ceil_cip", "op=avg nd=2 n=1 c=2 in=7x8 k=3x3 s=2x3 p=1x1 ceil=1 cip=1"},
    {"avg2_ceil_nocip", "op=avg nd=2 n=1 c=2 in=7x8 k=3x3 s=2x3 p=1x1 ceil=1 cip=0"},
    {"avg2_plain", "op=avg nd=2 n=2 c=1 in=6x6 k=2x2 s=2x2 p=0x0 ceil=0 cip=1"},
    {"avg3_ceil_cip", "op=avg nd=3 n=1 c=1 in=5x6x7 k=3x2x3 s=2x2x2 p=1x1x1 ceil=1 cip=1"},
    {"avg3_nocip", "op=avg nd=3 n=1 c=2 in=5x6x7 k=3x2x3 s=2x2x2 p=1x1x1 ceil=0 cip=0"},
    {"lp1_p2", "op=lp nd=1 n=2 c=2 in=10 k=3 s=2 lp=2"},
    {"lp2_p2", "op=lp nd=2 n=1 c=2 in=7x6 k=2x3 s=2x1 lp=2"},
    {"lp2_p3", "op=lp nd=2 n=1 c=1 in=6x6 k=3x3 s=3x3 lp=3"},
    {"lp1_p1", "op=lp nd=1 n=1 c=2 in=9 k=2 s=2 lp=1"},
    {"unpool1", "op=unpool nd=1 n=2 c=2 in=12 k=2 s=2 p=0 os=0"},
    {"unpool2_os", "op=unpool nd=2 n=1 c=2 in=7x6 k=2x2 s=2x2 p=0x0 os=7x6"},
    {"unpool2_overlap", "op=unpool nd=2 n=1 c=1 in=8x8 k=3x3 s=2x2 p=1x1 os=8x8"},
    {"unpool3", "op=unpool nd=3 n=1 c=2 in=4x6x4 k=2x2x2 s=2x2x2 p=0x0x0 os=0"},
    {"near1_x2", "op=interp nd=1 n=1 c=2 in=5 mode=nearest sc=2"},
    {"near2_size", "op=interp nd=2 n=1 c=2 in=3x4 mode=nearest sz=7x5"},
    {"near2_frac", "op=interp nd=2 n=2 c=1 in=4x5 mode=nearest sc=1.5x2.5"},
    {"near3_frac", "op=interp nd=3 n=1 c=1 in=2x3x4 mode=nearest sc=2x1.5x0.75"},
    {"nearex2_size", "op=interp nd=2 n=1 c=2 in=5x4 mode=nearest-exact sz=8x3"},
    {"lin1_frac", "op=interp nd=1 n=2 c=1 in=6 mode=linear ac=0 sc=1.7"},
    {"lin1_ac", "op=interp nd=1 n=1 c=2 in=6 mode=linear ac=1 sz=11"},
    {"bil2_x2", "op=interp nd=2 n=1 c=2 in=4x5 mode=linear ac=0 sc=2x2"},
    {"bil2_ac_size", "op=interp nd=2 n=1 c=1 in=4x5 mode=linear ac=1 sz=7x3"},
    {"bil2_frac", "op=interp nd=2 n=1 c=2 in=5x4 mode=linear ac=0 sc=1.7x0.6"},
    {"bil2_one", "op=interp nd=2 n=1 c=1 in=4x4 mode=linear ac=0 sz=1x3"},
    {"bil2_one_ac", "op=interp nd=2 n=1 c=1 in=4x4 mode=linear ac=1 sz=1x3"},
    {"tri3_size", "op=interp nd=3 n=1 c=2 in=3x4x2 mode=linear ac=0 sz=5x6x3"},
    {"tri3_ac_frac", "op=interp nd=3 n=1 c=1 in=3x4x2 mode=linear ac=1 sc=1.5x2x2.5"},
    {"shuf_crd", "op=shuffle nd=2 n=2 c=8 in=3x2 b=2 order=crd inv=0"},
    {"unshuf_crd", "op=shuffle nd=2 n=1 c=2 in=6x3 b=3 order=crd inv=1"},
    {"shuf_dcr", "op=shuffle nd=2 n=1 c=8 in=2x3 b=2 order=dcr inv=0"},
    {"unshuf_dcr", "op=shuffle nd=2 n=1 c=3 in=4x6 b=2 order=dcr inv=1"},
};

typedef struct fx {
    cn_npy x, y, dy, dx, idx;
} fx;

static fx load(const char *name, int with_idx)
{
    fx f;
    char buf[160];
    memset(&f, 0, sizeof f);
    snprintf(buf, sizeof buf, "pool/%s_x", name), f.x = cn_fixture_load(buf);
    snprintf(buf, sizeof buf, "pool/%s_y", name), f.y = cn_fixture_load(buf);
    snprintf(buf, sizeof buf, "pool/%s_dy", name), f.dy = cn_fixture_load(buf);
    snprintf(buf, sizeof buf, "pool/%s_dx", name), f.dx = cn_fixture_load(buf);
    if (with_idx) snprintf(buf, sizeof buf, "pool/%s_idx", name), f.idx = cn_fixture_load(buf);
    return f;
}

static void fx_free(fx *f)
{
    cn_npy_free(&f->x), cn_npy_free(&f->y), cn_npy_free(&f->dy), cn_npy_free(&f->dx), cn_npy_free(&f->idx);
}

/* the fixture's shape must be (n, c, *sp) */
static int shape_is(const cn_npy *a, int nd, int64_t n, int64_t c, const int64_t *sp, const char *what,
                    const char *line)
{
    int ok = a->ndim == nd + 2 && a->shape[0] == n && a->shape[1] == c;
    for (int i = 0; ok && i < nd; i++) ok = a->shape[2 + i] == sp[i];
    CHECK_MSG(ok, "%s: %s shape from PyTorch differs from ours (ndim %d; ours n=%lld c=%lld %lldx%lldx%lld)", line,
              what, a->ndim, (long long)n, (long long)c, (long long)sp[0], (long long)(nd > 1 ? sp[1] : 1),
              (long long)(nd > 2 ? sp[2] : 1));
    return ok;
}

static void run_pool(const char *name, const pool_spec *sp, const char *line)
{
    const int is_max = !strcmp(sp->op, "max");
    fx f = load(name, is_max);
    cn_pool_geom g;
    spec_pool_geom(sp, &g);
    CHECK_OK(cn_pool_geom_resolve(&g, name));
    if (!shape_is(&f.y, sp->nd, g.n, g.c, g.out, "y", line) || f.x.numel != cn_pool_in_count(&g)) goto done;
    const int64_t ny = cn_pool_out_count(&g), nx = cn_pool_in_count(&g);
    float *y = calloc((size_t)ny, sizeof *y), *dx = calloc((size_t)nx, sizeof *dx);
    int64_t *arg = calloc((size_t)ny, sizeof *arg), *onnx = calloc((size_t)ny, sizeof *onnx);
    if (is_max) {
        cn_maxpool_forward(y, arg, f.x.f32, &g);
        CHECK_ALLCLOSE(y, f.y.f32, ny, 0, 0, line);
        int same = 1;
        for (int64_t i = 0; i < ny && f.idx.i64; i++) same &= arg[i] == f.idx.i64[i];
        CHECK_MSG(same, "%s: argmax differs from PyTorch's indices", line);
        /* ONNX Indices (storage_order 0) address the same values in the flattened x */
        cn_pool_indices_onnx(onnx, arg, &g, 0);
        int hit = 1;
        for (int64_t i = 0; i < ny; i++) hit &= onnx[i] >= 0 && onnx[i] < nx && f.x.f32[onnx[i]] == y[i];
        CHECK_MSG(hit, "%s: ONNX flat indices do not point at the maxima", line);
        cn_maxpool_backward(dx, f.dy.f32, arg, &g);
        CHECK_ALLCLOSE(dx, f.dx.f32, nx, 1e-6, 0, line);
    } else if (!strcmp(sp->op, "avg")) {
        cn_avgpool_forward(y, f.x.f32, &g);
        CHECK_ALLCLOSE(y, f.y.f32, ny, 1e-5, 1e-5, line);
        cn_avgpool_backward(dx, f.dy.f32, &g);
        CHECK_ALLCLOSE(dx, f.dx.f32, nx, 1e-5, 1e-5, line);
    } else {
        cn_lppool_forward(y, f.x.f32, &g);
        CHECK_ALLCLOSE(y, f.y.f32, ny, 3e-5, 1e-4, line);
        cn_lppool_backward(dx, f.dy.f32, f.x.f32, &g);
        CHECK_ALLCLOSE(dx, f.dx.f32, nx, 3e-5, 1e-4, line);
    }
    free(y), free(dx), free(arg), free(onnx);
done:
    fx_free(&f);
}

static void run_unpool(const char *name, const pool_spec *sp, const char *line)
{
    fx f = load(name, 1);
    if (f.x.ndim != sp->nd + 2) goto done;
    cn_pool_geom g;
    spec_pool_geom(sp, &g);
    /* the unpool's input is the pooled tensor: its spatial size is the fixture's x */
    for (int a = 0; a < sp->nd; a++) g.in[a] = f.x.shape[2 + a];
    for (int a = 0; a < sp->nd; a++) g.output_shape[a] = sp->os[a];
    CHECK_OK(cn_unpool_geom_resolve(&g, name));
    if (!shape_is(&f.y, sp->nd, g.n, g.c, g.out, "y", line)) goto done;
    const int64_t ny = cn_pool_out_count(&g), nx = cn_pool_in_count(&g);
    int64_t out_plane = ny / (g.n * g.c), in_plane = nx / (g.n * g.c);
    float *y = calloc((size_t)ny, sizeof *y), *dx = calloc((size_t)nx, sizeof *dx);
    int64_t *flat = calloc((size_t)nx, sizeof *flat);
    CHECK_OK(cn_unpool_check_indices(f.idx.i64, &g, 0, name));
    cn_unpool_forward(y, f.x.f32, f.idx.i64, &g, 0);
    CHECK_ALLCLOSE(y, f.y.f32, ny, 0, 0, line);
    cn_unpool_backward(dx, f.dy.f32, f.idx.i64, &g, 0);
    CHECK_ALLCLOSE(dx, f.dx.f32, nx, 0, 0, line);
    /* the same through ONNX's flat indices */
    for (int64_t i = 0; i < nx; i++) flat[i] = (i / in_plane) * out_plane + f.idx.i64[i];
    CHECK_OK(cn_unpool_check_indices(flat, &g, 1, name));
    memset(y, 0xff, (size_t)ny * sizeof *y); /* forward must overwrite every element */
    cn_unpool_forward(y, f.x.f32, flat, &g, 1);
    CHECK_ALLCLOSE(y, f.y.f32, ny, 0, 0, line);
    memset(dx, 0, (size_t)nx * sizeof *dx);
    cn_unpool_backward(dx, f.dy.f32, flat, &g, 1);
    CHECK_ALLCLOSE(dx, f.dx.f32, nx, 0, 0, line);
    free(y), free(dx), free(flat);
done:
    fx_free(&f);
}

static void run_interp(const char *name, const pool_spec *sp, const char *line)
{
    fx f = load(name, 0);
    cn_upsample_geom g;
    spec_upsample_geom(sp, &g);
    CHECK_OK(cn_upsample_geom_resolve(&g, name));
    if (!shape_is(&f.y, sp->nd, g.n, g.c, g.out, "y", line)) goto done;
    int64_t ny = g.n * g.c, nx = g.n * g.c;
    for (int a = 0; a < g.ndim; a++) ny *= g.out[a], nx *= g.in[a];
    float *y = calloc((size_t)ny, sizeof *y), *dx = calloc((size_t)nx, sizeof *dx);
    const int exact = g.mode == CN_RESIZE_NEAREST;
    cn_upsample_forward(y, f.x.f32, &g);
    CHECK_ALLCLOSE(y, f.y.f32, ny, exact ? 0 : 1e-5, exact ? 0 : 1e-5, line);
    cn_upsample_backward(dx, f.dy.f32, &g);
    CHECK_ALLCLOSE(dx, f.dx.f32, nx, 1e-5, 1e-5, line);
    free(y), free(dx);
done:
    fx_free(&f);
}

static void run_shuffle(const char *name, const pool_spec *sp, const char *line)
{
    fx f = load(name, 0);
    cn_shuffle_geom g;
    spec_shuffle_geom(sp, &g);
    CHECK_OK(cn_shuffle_geom_resolve(&g, name));
    if (!shape_is(&f.y, sp->nd, g.n, g.out_c, g.out, "y", line)) goto done;
    const int64_t n = f.x.numel;
    float *y = calloc((size_t)n, sizeof *y), *dx = calloc((size_t)n, sizeof *dx);
    cn_shuffle_forward(y, f.x.f32, &g);
    CHECK_ALLCLOSE(y, f.y.f32, n, 0, 0, line);
    cn_shuffle_backward(dx, f.dy.f32, &g);
    CHECK_ALLCLOSE(dx, f.dx.f32, n, 0, 0, line);
    free(y), free(dx);
done:
    fx_free(&f);
}

static void test_against_pytorch(void)
{
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char line[256];
        pool_spec sp;
        const char *bad = "";
        snprintf(line, sizeof line, "%s: %s", CASES[i].name, CASES[i].spec);
        if (!spec_parse(&sp, CASES[i].spec, &bad)) {
            CHECK_MSG(0, "%s: cannot parse '%s'", line, bad);
            continue;
        }
        int before = cn_test_failures;
        if (!strcmp(sp.op, "max") || !strcmp(sp.op, "avg") || !strcmp(sp.op, "lp")) run_pool(CASES[i].name, &sp, line);
        else if (!strcmp(sp.op, "unpool")) run_unpool(CASES[i].name, &sp, line);
        else if (!strcmp(sp.op, "interp")) run_interp(CASES[i].name, &sp, line);
        else run_shuffle(CASES[i].name, &sp, line);
        if (getenv("CONVNET_TEST_VERBOSE") || cn_test_failures != before)
            printf("  %s %s\n", cn_test_failures == before ? "ok  " : "FAIL", line);
    }
}

int main(void)
{
    RUN(test_against_pytorch);
    return cn_test_finish();
}
