/* test_upsample.c — resizing (nearest / linear in 1D, 2D, 3D; PyTorch and ONNX coordinate
 * modes) and pixel shuffle: hand-computed values for the ONNX modes, the ONNX DepthToSpace
 * examples, round trips, shape errors, and gradient checks over a grid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "test.h"
#include "test_pool_spec.h"

static cn_upsample_geom resize1(int64_t in, int64_t size, double scale, cn_resize_mode mode, cn_resize_coord coord,
                                cn_resize_nearest near_)
{
    cn_upsample_geom g;
    cn_upsample_geom_init(&g, 1);
    g.in[0] = in, g.size[0] = size, g.scale[0] = scale, g.mode = mode, g.coord = coord, g.nearest = near_;
    CHECK_OK(cn_upsample_geom_resolve(&g, "r"));
    return g;
}

static void test_onnx_modes_by_hand(void)
{
    float y[16];
    /* half_pixel + linear, x = [1,2,3,4], scale 2: src = (i+0.5)/2 - 0.5 =
     * -0.25 (clamped to 0), 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25 (clamped to 3) */
    cn_upsample_geom g = resize1(4, 0, 2.0, CN_RESIZE_LINEAR, CN_COORD_HALF_PIXEL, 0);
    CHECK_EQ_INT(g.out[0], 8);
    cn_upsample_forward(y, (float[]){1, 2, 3, 4}, &g);
    CHECK_ALLCLOSE(y, ((float[]){1, 1.25f, 1.75f, 2.25f, 2.75f, 3.25f, 3.75f, 4}), 8, 1e-6, 0, "half_pixel linear");
    /* asymmetric + nearest floor, [10,20,30] to 7: src = 3i/7 = 0, .43, .86, 1.29, 1.71, 2.14, 2.57 */
    g = resize1(3, 7, 0, CN_RESIZE_NEAREST, CN_COORD_ASYMMETRIC, CN_NEAREST_FLOOR);
    cn_upsample_forward(y, (float[]){10, 20, 30}, &g);
    CHECK_ALLCLOSE(y, ((float[]){10, 10, 10, 20, 20, 30, 30}), 7, 0, 0, "asymmetric floor");
    /* align_corners + linear, [0,10,40] to 5: src = 2i/4 = 0, .5, 1, 1.5, 2 */
    g = resize1(3, 5, 0, CN_RESIZE_LINEAR, CN_COORD_ALIGN_CORNERS, 0);
    cn_upsample_forward(y, (float[]){0, 10, 40}, &g);
    CHECK_ALLCLOSE(y, ((float[]){0, 5, 10, 25, 40}), 5, 1e-6, 0, "align_corners linear");
    /* a single output: half_pixel samples the centre src = 0.5*4 - 0.5 = 1.5, pytorch_half_pixel
     * and align_corners take 0 */
    const float x4[4] = {1, 3, 7, 15};
    g = resize1(4, 1, 0, CN_RESIZE_LINEAR, CN_COORD_HALF_PIXEL, 0);
    cn_upsample_forward(y, x4, &g);
    CHECK_NEAR(y[0], 5.0, 1e-6);
    g = resize1(4, 1, 0, CN_RESIZE_LINEAR, CN_COORD_PYTORCH_HALF_PIXEL, 0);
    cn_upsample_forward(y, x4, &g);
    CHECK_NEAR(y[0], 1.0, 0);
    g = resize1(4, 1, 0, CN_RESIZE_LINEAR, CN_COORD_ALIGN_CORNERS, 0);
    cn_upsample_forward(y, x4, &g);
    CHECK_NEAR(y[0], 1.0, 0);
    /* nearest modes at exact halves: 4 -> 2 with half_pixel: src = (i+0.5)*2 - 0.5 = 0.5, 2.5 */
    static const struct {
        cn_resize_nearest mode;
        float a, b;
    } halves[] = {{CN_NEAREST_ROUND_PREFER_FLOOR, 1, 7}, {CN_NEAREST_ROUND_PREFER_CEIL, 3, 15},
                  {CN_NEAREST_FLOOR, 1, 7}, {CN_NEAREST_CEIL, 3, 15}};
    for (int i = 0; i < 4; i++) {
        g = resize1(4, 2, 0, CN_RESIZE_NEAREST, CN_COORD_HALF_PIXEL, halves[i].mode);
        cn_upsample_forward(y, x4, &g);
        CHECK_MSG(y[0] == halves[i].a && y[1] == halves[i].b, "nearest mode %d: %g %g", i, y[0], y[1]);
    }
    /* half_pixel_symmetric, in 4, scale 0.6: out = floor(2.4) = 2, adjustment = 2/2.4, offset =
     * 2*(1 - 2/2.4) = 1/3; src = 1/3 + (i+0.5)/0.6 - 0.5 = 2/3, 7/3; x = 3i: y = 2, 7 */
    g = resize1(4, 0, 0.6, CN_RESIZE_LINEAR, CN_COORD_HALF_PIXEL_SYMMETRIC, 0);
    CHECK_EQ_INT(g.out[0], 2);
    cn_upsample_forward(y, (float[]){0, 3, 6, 9}, &g);
    CHECK_ALLCLOSE(y, ((float[]){2, 7}), 2, 1e-5, 0, "half_pixel_symmetric");
    /* ONNX backend tests, 2D:
     *   resize_upsample_scales_linear (half_pixel), [[1,2],[3,4]] x2: rows 1 1.25 1.75 2 / 1.5 1.75 2.25 2.5 / ...
     *   resize_upsample_scales_linear_align_corners: thirds, 1 + (i/3)*... = 1 4/3 5/3 2 / 5/3 2 7/3 8/3 / ...
     *   resize_downsample_scales_nearest (half_pixel, round_prefer_floor), [[1..4],[5..8]] x0.6:
     *     out 1x2, src rows (0.5/0.6 - 0.5 = 1/3 -> 0), cols 1/3 -> 0, 2 -> 2: [[1, 3]] */
    cn_upsample_geom r2;
    cn_upsample_geom_init(&r2, 2);
    r2.in[0] = r2.in[1] = 2, r2.scale[0] = r2.scale[1] = 2, r2.mode = CN_RESIZE_LINEAR, r2.coord = CN_COORD_HALF_PIXEL;
    CHECK_OK(cn_upsample_geom_resolve(&r2, "onnx1"));
    cn_upsample_forward(y, (float[]){1, 2, 3, 4}, &r2);
    CHECK_ALLCLOSE(y, ((float[]){1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4}),
                   16, 1e-6, 0, "resize_upsample_scales_linear");
    r2.coord = CN_COORD_ALIGN_CORNERS;
    CHECK_OK(cn_upsample_geom_resolve(&r2, "onnx2"));
    cn_upsample_forward(y, (float[]){1, 2, 3, 4}, &r2);
    const float t = 1.0f / 3;
    CHECK_ALLCLOSE(y, ((float[]){1, 1 + t, 1 + 2 * t, 2, 1 + 2 * t, 2, 2 + t, 2 + 2 * t, 2 + t, 2 + 2 * t, 3, 3 + t, 3, 3 + t, 3 + 2 * t, 4}),
                   16, 1e-6, 0, "resize_upsample_scales_linear_align_corners");
    cn_upsample_geom_init(&r2, 2);
    r2.in[0] = 2, r2.in[1] = 4, r2.scale[0] = r2.scale[1] = 0.6, r2.coord = CN_COORD_HALF_PIXEL;
    r2.nearest = CN_NEAREST_ROUND_PREFER_FLOOR;
    CHECK_OK(cn_upsample_geom_resolve(&r2, "onnx3"));
    CHECK(r2.out[0] == 1 && r2.out[1] == 2);
    cn_upsample_forward(y, (float[]){1, 2, 3, 4, 5, 6, 7, 8}, &r2);
    CHECK_ALLCLOSE(y, ((float[]){1, 3}), 2, 0, 0, "resize_downsample_scales_nearest");
    /* integer nearest upsampling duplicates: 2x2 -> 4x4 blocks */
    cn_upsample_geom g2;
    cn_upsample_geom_init(&g2, 2);
    g2.in[0] = g2.in[1] = 2, g2.scale[0] = g2.scale[1] = 2;
    CHECK_OK(cn_upsample_geom_resolve(&g2, "dup"));
    cn_upsample_forward(y, (float[]){1, 2, 3, 4}, &g2);
    CHECK_ALLCLOSE(y, ((float[]){1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}), 16, 0, 0, "duplicate");
    /* its backward sums each 2x2 block of dy */
    float dy[16], dx[4] = {0};
    for (int i = 0; i < 16; i++) dy[i] = (float)i;
    cn_upsample_backward(dx, dy, &g2);
    CHECK_ALLCLOSE(dx, ((float[]){0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15}), 4, 0, 0, "duplicate backward");
}

static void test_upsample_errors(void)
{
    cn_upsample_geom g;
    cn_upsample_geom_init(&g, 2);
    g.in[0] = g.in[1] = 3, g.size[0] = 6;
    CHECK_ERR(cn_upsample_geom_resolve(&g, "u1"), CN_STATUS_INVALID_ARG,
              "upsample 'u1': axis W has neither an output size nor a scale");
    g.scale[1] = 0.2;
    CHECK_ERR(cn_upsample_geom_resolve(&g, "u1"), CN_STATUS_SHAPE, "scale 0.2 of input size 3 on axis W leaves no output");
    g.scale[1] = -2;
    CHECK_ERR(cn_upsample_geom_resolve(&g, "u1"), CN_STATUS_INVALID_ARG, "scale -2 on axis W");
    g.scale[1] = 2, g.size[0] = -1;
    CHECK_ERR(cn_upsample_geom_resolve(&g, "u1"), CN_STATUS_INVALID_ARG, "output size -1 on axis H is negative");
    g.size[0] = 6, g.mode = (cn_resize_mode)5;
    CHECK_ERR(cn_upsample_geom_resolve(&g, "u1"), CN_STATUS_INVALID_ARG, "unknown mode 5");
    g.mode = CN_RESIZE_LINEAR, g.in[0] = 0;
    CHECK_ERR(cn_upsample_geom_resolve(&g, "u1"), CN_STATUS_SHAPE, "input size 0 on axis H");
    g.in[0] = 3;
    CHECK_OK(cn_upsample_geom_resolve(&g, "u1"));
    CHECK(g.out[0] == 6 && g.out[1] == 6);
    /* a size and a scale: the size sets the shape, the scale the mapping */
    CHECK(g.inv_scale[1] == 0.5f && g.inv_scale[0] == 0.5f);
    g.size[1] = 7;
    CHECK_OK(cn_upsample_geom_resolve(&g, "u1"));
    CHECK(g.out[1] == 7 && g.inv_scale[1] == 0.5f);

    cn_shuffle_geom s;
    cn_shuffle_geom_init(&s, 2);
    s.c = 10, s.in[0] = 3, s.in[1] = 4, s.block = 2;
    CHECK_ERR(cn_shuffle_geom_resolve(&s, "ps"), CN_STATUS_SHAPE,
              "pixel shuffle 'ps': input has 10 channels, not a multiple of block^2 = 4 (block 2)");
    s.c = 12;
    CHECK_OK(cn_shuffle_geom_resolve(&s, "ps"));
    CHECK(s.out_c == 3 && s.out[0] == 6 && s.out[1] == 8);
    s.inverse = 1;
    CHECK_ERR(cn_shuffle_geom_resolve(&s, "ps"), CN_STATUS_SHAPE, "input size 3 on axis H is not a multiple of the block 2");
    s.in[0] = 4;
    CHECK_OK(cn_shuffle_geom_resolve(&s, "ps"));
    CHECK(s.out_c == 48 && s.out[0] == 2 && s.out[1] == 2);
    s.block = 0;
    CHECK_ERR(cn_shuffle_geom_resolve(&s, "ps"), CN_STATUS_INVALID_ARG, "block size 0");
}

static void test_depth_to_space_examples(void)
{
    /* ONNX's test_depthtospace_example (DCR) and test_depthtospace_crd_mode_example:
     * x (1, 8, 2, 3), channel k holds 9k + (3h + w), block 2.
     * DCR reads channel r*2 + c' and CRD channel c'*4 + r for block offset r = 2*rh + rw, e.g.
     * DCR y[0,0,0,1] (rw = 1): channel 2 -> 18; CRD: channel 1 -> 9. */
    float x[48], y[48], back[48];
    for (int k = 0; k < 8; k++)
        for (int i = 0; i < 6; i++) x[k * 6 + i] = (float)(9 * k + i);
    static const float dcr[48] = {0,  18, 1,  19, 2,  20, 36, 54, 37, 55, 38, 56, 3,  21, 4,  22, 5,  23, 39, 57, 40, 58, 41, 59,
                                  9,  27, 10, 28, 11, 29, 45, 63, 46, 64, 47, 65, 12, 30, 13, 31, 14, 32, 48, 66, 49, 67, 50, 68};
    static const float crd[48] = {0,  9,  1,  10, 2,  11, 18, 27, 19, 28, 20, 29, 3,  12, 4,  13, 5,  14, 21, 30, 22, 31, 23, 32,
                                  36, 45, 37, 46, 38, 47, 54, 63, 55, 64, 56, 65, 39, 48, 40, 49, 41, 50, 57, 66, 58, 67, 59, 68};
    for (int o = 0; o < 2; o++) {
        cn_shuffle_geom g, gi;
        cn_shuffle_geom_init(&g, 2);
        g.c = 8, g.in[0] = 2, g.in[1] = 3, g.block = 2, g.order = o ? CN_SHUFFLE_CRD : CN_SHUFFLE_DCR;
        CHECK_OK(cn_shuffle_geom_resolve(&g, "d2s"));
        CHECK(g.out_c == 2 && g.out[0] == 4 && g.out[1] == 6);
        cn_shuffle_forward(y, x, &g);
        CHECK_ALLCLOSE(y, o ? crd : dcr, 48, 0, 0, o ? "CRD" : "DCR");
        /* space to depth with the same order inverts it */
        cn_shuffle_geom_init(&gi, 2);
        gi.c = 2, gi.in[0] = 4, gi.in[1] = 6, gi.block = 2, gi.order = g.order, gi.inverse = 1;
        CHECK_OK(cn_shuffle_geom_resolve(&gi, "s2d"));
        cn_shuffle_forward(back, y, &gi);
        CHECK_ALLCLOSE(back, x, 48, 0, 0, "round trip");
    }
}

/* ------------------------------------------------------------------------------------------ */
/* gradient checks                                                                            */

typedef struct uctx {
    int shuffle;
    cn_upsample_geom ug;
    cn_shuffle_geom sg;
    float *x, *y;
    double *r;
    int64_t ny;
} uctx;

static double uloss(void *p)
{
    uctx *c = p;
    if (c->shuffle) cn_shuffle_forward(c->y, c->x, &c->sg);
    else cn_upsample_forward(c->y, c->x, &c->ug);
    double l = 0;
    for (int64_t i = 0; i < c->ny; i++) l += (double)c->y[i] * c->r[i];
    return l;
}

static cn_gc_report check_grad(uctx *c, int64_t nx, uint64_t seed)
{
    c->x = malloc((size_t)nx * sizeof *c->x), c->y = malloc((size_t)c->ny * sizeof *c->y);
    c->r = malloc((size_t)c->ny * sizeof *c->r);
    float *dx = calloc((size_t)nx, sizeof *dx), *dy = malloc((size_t)c->ny * sizeof *dy);
    cn_rng r;
    cn_rng_init(&r, seed, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, c->x, (size_t)nx, -1, 1);
    cn_rng_fill_uniform(&r, dy, (size_t)c->ny, -1, 1);
    for (int64_t i = 0; i < c->ny; i++) c->r[i] = dy[i];
    if (c->shuffle) cn_shuffle_backward(dx, dy, &c->sg);
    else cn_upsample_backward(dx, dy, &c->ug);
    /* resize and shuffle are linear in x, so any eps works: 1e-2 keeps rounding noise small */
    cn_gc_report rep = cn_gradcheck(uloss, c, c->x, dx, nx, 1e-2, 1e-2);
    free(c->x), free(c->y), free(c->r), free(dx), free(dy);
    return rep;
}

static const char *const RESIZE_GRID[] = {
    "nd=1 n=2 c=2 in=5 mode=nearest sc=2",
    "nd=1 n=1 c=2 in=6 mode=linear ac=0 sc=1.7",
    "nd=1 n=1 c=1 in=7 mode=linear ac=1 sz=4",
    "nd=2 n=1 c=2 in=4x5 mode=nearest sz=7x3",
    "nd=2 n=2 c=1 in=3x4 mode=linear ac=0 sc=2x2.5",
    "nd=2 n=1 c=1 in=5x4 mode=linear ac=1 sz=9x7",
    "nd=2 n=1 c=1 in=6x5 mode=linear coord=pyhalf sz=1x3",
    "nd=2 n=1 c=2 in=4x4 mode=nearest coord=half near=rpf sc=1.5x0.5",
    "nd=2 n=1 c=1 in=5x3 mode=nearest-exact sz=8x5",
    "nd=2 n=1 c=1 in=4x6 mode=nearest coord=align near=ceil sz=7x4",
    "nd=2 n=1 c=1 in=4x6 mode=linear coord=asym sc=1.5x2",
    "nd=2 n=1 c=1 in=4x5 mode=linear coord=hps sc=1.6x0.7",
    "nd=3 n=1 c=2 in=3x4x2 mode=linear ac=0 sz=5x6x3",
    "nd=3 n=1 c=1 in=2x3x4 mode=linear ac=1 sc=2x1.5x0.75",
    "nd=3 n=1 c=1 in=3x2x3 mode=nearest sc=2x2x2",
};

static const char *const SHUFFLE_GRID[] = {
    "nd=1 n=2 c=6 in=4 b=3 order=crd inv=0",
    "nd=1 n=1 c=2 in=6 b=2 order=dcr inv=1",
    "nd=2 n=2 c=8 in=3x2 b=2 order=dcr inv=0",
    "nd=2 n=1 c=3 in=6x3 b=3 order=crd inv=1",
    "nd=3 n=1 c=16 in=2x1x3 b=2 order=crd inv=0",
    "nd=3 n=1 c=2 in=4x2x6 b=2 order=dcr inv=1",
};

static void test_gradients(void)
{
    /* Tolerance 1e-3 on the relative error (floor 1e-2): the ops are linear, so central
     * differences are exact up to the float rounding of the outputs a perturbation touches
     * (<= 8 corners * 6e-8 * |y| <= 1, over 2*eps = 0.02: ~2e-5). */
    double worst = 0;
    for (size_t i = 0; i < sizeof RESIZE_GRID / sizeof RESIZE_GRID[0]; i++) {
        pool_spec sp;
        const char *bad = "";
        uctx c = {0};
        if (!spec_parse(&sp, RESIZE_GRID[i], &bad)) {
            CHECK_MSG(0, "%s: cannot parse '%s'", RESIZE_GRID[i], bad);
            continue;
        }
        spec_upsample_geom(&sp, &c.ug);
        CHECK_OK(cn_upsample_geom_resolve(&c.ug, RESIZE_GRID[i]));
        int64_t nx = c.ug.n * c.ug.c;
        c.ny = nx;
        for (int a = 0; a < c.ug.ndim; a++) nx *= c.ug.in[a], c.ny *= c.ug.out[a];
        cn_gc_report rep = check_grad(&c, nx, 300 + i);
        if (rep.max_rel > worst) worst = rep.max_rel;
        CHECK_GRAD(rep, 1e-3, RESIZE_GRID[i]);
    }
    for (size_t i = 0; i < sizeof SHUFFLE_GRID / sizeof SHUFFLE_GRID[0]; i++) {
        pool_spec sp;
        const char *bad = "";
        uctx c = {.shuffle = 1};
        if (!spec_parse(&sp, SHUFFLE_GRID[i], &bad)) {
            CHECK_MSG(0, "%s: cannot parse '%s'", SHUFFLE_GRID[i], bad);
            continue;
        }
        spec_shuffle_geom(&sp, &c.sg);
        CHECK_OK(cn_shuffle_geom_resolve(&c.sg, SHUFFLE_GRID[i]));
        int64_t nx = c.sg.n * c.sg.c;
        c.ny = c.sg.n * c.sg.out_c;
        for (int a = 0; a < c.sg.ndim; a++) nx *= c.sg.in[a], c.ny *= c.sg.out[a];
        CHECK_EQ_INT(nx, c.ny); /* a permutation */
        /* and the inverse geometry undoes it exactly */
        cn_shuffle_geom gi = c.sg;
        gi.c = c.sg.out_c, gi.inverse = !c.sg.inverse;
        for (int a = 0; a < gi.ndim; a++) gi.in[a] = c.sg.out[a];
        CHECK_OK(cn_shuffle_geom_resolve(&gi, "inverse"));
        float *x = malloc((size_t)nx * sizeof *x), *y = malloc((size_t)nx * sizeof *y), *z = malloc((size_t)nx * sizeof *z);
        for (int64_t j = 0; j < nx; j++) x[j] = (float)j;
        cn_shuffle_forward(y, x, &c.sg);
        cn_shuffle_forward(z, y, &gi);
        CHECK_ALLCLOSE(z, x, nx, 0, 0, SHUFFLE_GRID[i]);
        int moved = 0;
        for (int64_t j = 0; j < nx; j++) moved |= y[j] != x[j];
        CHECK_MSG(moved || c.sg.block == 1, "%s: shuffle left everything in place", SHUFFLE_GRID[i]);
        free(x), free(y), free(z);
        cn_gc_report rep = check_grad(&c, nx, 400 + i);
        if (rep.max_rel > worst) worst = rep.max_rel;
        CHECK_GRAD(rep, 1e-3, SHUFFLE_GRID[i]);
    }
    printf("  worst relative error %.2e\n", worst);
}

int main(void)
{
    RUN(test_onnx_modes_by_hand);
    RUN(test_upsample_errors);
    RUN(test_depth_to_space_examples);
    RUN(test_gradients);
    return cn_test_finish();
}
