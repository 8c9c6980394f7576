/* test_conv_fixtures.c — every reference kernel against PyTorch: the cases listed in
 * tests/fixtures/conv/cases.txt (written by tests/fixtures/gen_conv.py), each a configuration
 * line (conv_case.h) with x, w, b, y and, for most, dy, dx, dw, db as float32 .npy.
 * The .npy shapes are also checked, so the weight layouts documented in conv.h are the
 * ones PyTorch and the generator use.
 *
 * Tolerance: atol = rtol = 1e-5. The fixtures are float64 results rounded to float32
 * (<= 6e-8 relative). Our gather-style kernels (forward, transposed backward_data, dw, db)
 * sum in double and round once, so they agree to ~1e-7. The scatter-style ones (conv
 * backward_data, transposed forward) add one float term at a time: at most
 * m = IC/groups * prod(k) terms (<= 54 here) of size <= ~1, each addition rounding by at most
 * 2^-24 of a partial sum <= ~5, so <= ~1.6e-5 in the very worst case and ~1e-6 in practice
 * (errors of random sign grow like sqrt(m)). Any real mistake (a missing tap, a wrong pad,
 * a swapped axis) is off by the size of a term, ~0.1-1. The worst differences seen are
 * printed. */
#include <stdlib.h>
#include <string.h>

#include "conv_case.h"
#include "fixture.h"

#define ATOL 1e-5
#define RTOL 1e-5

static double worst_abs[2]; /* forward, backward */

static void track(const float *a, const float *b, int64_t n, int slot)
{
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > worst_abs[slot]) worst_abs[slot] = d;
    }
}

/* load conv/<name>_<suffix> and check its shape */
static int load(cn_npy *a, const char *name, const char *suffix, const int64_t *shape, int ndim)
{
    char f[160];
    snprintf(f, sizeof f, "conv/%s_%s", name, suffix);
    *a = cn_fixture_load(f);
    int ok = a->ndim == ndim && a->f32;
    for (int i = 0; ok && i < ndim; i++) ok = a->shape[i] == shape[i];
    CHECK_MSG(ok, "fixture %s: unexpected shape (ndim %d, numel %lld)", f, a->ndim, (long long)a->numel);
    return ok;
}

static int shapes(const conv_case *c, int64_t *xs, int64_t *ys, int64_t *ws, int *wnd, int64_t *bs, int *bnd)
{
    const cn_conv_geom *g = &c->g;
    const int nd = g->ndim;
    xs[0] = ys[0] = g->n, xs[1] = g->ic, ys[1] = g->oc;
    for (int a = 0; a < nd; a++) xs[2 + a] = g->in[a], ys[2 + a] = g->out[a];
    int lead = 0; /* kernel-set axes in front of the weights and bias */
    if (c->kind == CASE_LOCAL)
        for (int a = 0; a < nd; a++) ws[lead] = bs[lead] = g->out[a], lead++;
    if (c->kind == CASE_TILED)
        for (int a = 0; a < nd; a++) ws[lead] = bs[lead] = g->tile[a], lead++;
    ws[lead] = g->transposed ? g->ic : g->oc;
    ws[lead + 1] = g->transposed ? g->oc / g->groups : g->ic / g->groups;
    for (int a = 0; a < nd; a++) ws[lead + 2 + a] = g->k[a];
    bs[lead] = g->oc;
    *wnd = lead + 2 + nd, *bnd = lead + 1;
    return 2 + nd;
}

static void run_case(const char *name, int grads, const char *line)
{
    conv_case c;
    char label[400];
    if (!conv_case_parse(&c, line)) return;
    cn_status st = conv_case_resolve(&c);
    CHECK_MSG(st == CN_OK, "%s \"%s\": %s", name, line, cn_last_error());
    if (st != CN_OK) return;
    int64_t xs[5], ys[5], ws[10], bs[4];
    int wnd, bnd, xnd = shapes(&c, xs, ys, ws, &wnd, bs, &bnd);
    cn_npy x, w, b, y, dy, dx, dw, db;
    int ok = load(&x, name, "x", xs, xnd) & load(&w, name, "w", ws, wnd) & load(&b, name, "b", bs, bnd) &
             load(&y, name, "y", ys, xnd);
    if (ok) {
        float *out = case_alloc(y.numel);
        case_forward(&c, out, x.f32, w.f32, c.bias ? b.f32 : NULL);
        snprintf(label, sizeof label, "%s y \"%s\"", name, line);
        CHECK_ALLCLOSE(out, y.f32, y.numel, ATOL, RTOL, label);
        track(out, y.f32, y.numel, 0);
        free(out);
    }
    if (ok && grads) {
        ok = load(&dy, name, "dy", ys, xnd) & load(&dx, name, "dx", xs, xnd) & load(&dw, name, "dw", ws, wnd) &
             load(&db, name, "db", bs, bnd);
        if (ok) {
            float *gx = case_alloc(x.numel), *gw = case_alloc(w.numel), *gb = case_alloc(b.numel);
            case_backward_data(&c, gx, dy.f32, w.f32);
            case_backward_weights(&c, gw, c.bias ? gb : NULL, dy.f32, x.f32);
            snprintf(label, sizeof label, "%s dx \"%s\"", name, line);
            CHECK_ALLCLOSE(gx, dx.f32, x.numel, ATOL, RTOL, label);
            snprintf(label, sizeof label, "%s dw \"%s\"", name, line);
            CHECK_ALLCLOSE(gw, dw.f32, w.numel, ATOL, RTOL, label);
            snprintf(label, sizeof label, "%s db \"%s\"", name, line);
            CHECK_ALLCLOSE(gb, db.f32, b.numel, ATOL, RTOL, label);
            track(gx, dx.f32, x.numel, 1), track(gw, dw.f32, w.numel, 1), track(gb, db.f32, b.numel, 1);
            free(gx), free(gw), free(gb);
        }
        cn_npy_free(&dy), cn_npy_free(&dx), cn_npy_free(&dw), cn_npy_free(&db);
    }
    cn_npy_free(&x), cn_npy_free(&w), cn_npy_free(&b), cn_npy_free(&y);
}

static void test_pytorch_fixtures(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/conv/cases.txt", CN_FIXTURE_DIR);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) return;
    char buf[512];
    int cases = 0, with_grads = 0, kinds[3] = {0}, transposed = 0, dims[4] = {0};
    while (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\r\n")] = 0;
        if (!buf[0] || buf[0] == '#') continue;
        char name[128];
        int grads, used = 0;
        if (sscanf(buf, "%127s %d %n", name, &grads, &used) < 2 || !used) {
            CHECK_MSG(0, "cases.txt: bad line \"%s\"", buf);
            continue;
        }
        run_case(name, grads, buf + used);
        conv_case c;
        if (conv_case_parse(&c, buf + used)) {
            kinds[c.kind]++, transposed += c.g.transposed, dims[c.g.ndim]++;
        }
        cases++, with_grads += grads != 0;
    }
    fclose(f);
    /* the list must not silently shrink: every family and dimensionality is covered */
    CHECK_MSG(cases >= 30 && with_grads >= 20, "only %d cases (%d with gradients) in cases.txt", cases, with_grads);
    CHECK(kinds[CASE_CONV] - transposed >= 10 && transposed >= 6 && kinds[CASE_LOCAL] >= 3 && kinds[CASE_TILED] >= 3);
    CHECK(dims[1] >= 5 && dims[2] >= 5 && dims[3] >= 5);
    printf("     %d PyTorch cases (%d with gradients); worst |difference|: forward %.3g, backward %.3g\n", cases,
           with_grads, worst_abs[0], worst_abs[1]);
}

int main(void)
{
    RUN(test_pytorch_fixtures);
    return cn_test_finish();
}
