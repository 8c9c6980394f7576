/* test_detect.c — YOLO-v1 detection: IoU and non-maximum suppression on hand-made boxes, grid
 * decoding, the loss against a hand computation and against PyTorch autograd (both confidence
 * targets), a central-difference gradient check of the kernel, the yolo_loss layer wired
 * through a model (4D and dense inputs), target validation and shape errors, a perfect
 * prediction that decodes back to its boxes with zero loss, and average precision by hand. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convnet/detect.h"
#include "fixture.h"
#include "gradcheck.h"
#include "test.h"

/* ---- IoU ---- */
static void test_iou(void)
{
    /* each line: box a | box b | IoU by hand */
    static const struct {
        const char *line;
        cn_box a, b;
        float want;
    } cases[] = {
        {"identical", {0.5f, 0.5f, 0.2f, 0.4f}, {0.5f, 0.5f, 0.2f, 0.4f}, 1.0f},
        {"disjoint", {0.2f, 0.2f, 0.1f, 0.1f}, {0.8f, 0.8f, 0.1f, 0.1f}, 0.0f},
        {"touching edges (x 0.25..0.5 and 0.5..0.75): no area", {0.375f, 0.5f, 0.25f, 0.25f}, {0.625f, 0.5f, 0.25f, 0.25f}, 0.0f},
        /* shifted by half a width: inter 0.25*0.5 = 0.125, union 2*0.25 - 0.125 = 0.375 */
        {"half overlap", {0.5f, 0.5f, 0.5f, 0.5f}, {0.75f, 0.5f, 0.5f, 0.5f}, 1.0f / 3.0f},
        /* b inside a: 0.0625 / 0.25 */
        {"contained", {0.5f, 0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.25f, 0.25f}, 0.25f},
        /* overlap in both axes: inter 0.25 x 0.25, union 0.25 + 0.25 - 0.0625 */
        {"corner overlap", {0.25f, 0.25f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f, 0.5f}, 0.0625f / 0.4375f},
        {"zero width", {0.5f, 0.5f, 0.0f, 0.5f}, {0.5f, 0.5f, 0.5f, 0.5f}, 0.0f},
        {"negative height", {0.5f, 0.5f, 0.5f, -0.5f}, {0.5f, 0.5f, 0.5f, 0.5f}, 0.0f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float ab = cn_box_iou(&cases[i].a, &cases[i].b), ba = cn_box_iou(&cases[i].b, &cases[i].a);
        CHECK_MSG(fabsf(ab - cases[i].want) <= 1e-6f && ab == ba, "%s: IoU %.9g / %.9g, want %.9g", cases[i].line, ab, ba,
                  cases[i].want);
    }
}

/* ---- non-maximum suppression ---- */
/* Power-of-two geometry, so every IoU is exact: A (0.5, 0.5, 0.5, 0.5); B = A's height halved:
 * IoU(A, B) = 0.125 / 0.25 = 0.5 exactly; C shifted right by 1/8: inter 0.375 * 0.5, union
 * 0.5 - 0.1875: IoU 0.6; D = A with class 1; E, G1, G2 small and far from everything; G1 and
 * G2 have equal scores (a stable sort keeps G1 first). */
static const cn_detection nms_input[] = {
    {{0.625f, 0.5f, 0.5f, 0.5f}, 0.70f, 0},      /* C */
    {{0.5f, 0.5f, 0.5f, 0.5f}, 0.90f, 0},        /* A */
    {{0.875f, 0.125f, 0.125f, 0.125f}, 0.6f, 0}, /* G1 */
    {{0.5f, 0.5f, 0.5f, 0.5f}, 0.85f, 1},        /* D */
    {{0.5f, 0.5f, 0.5f, 0.25f}, 0.80f, 0},       /* B */
    {{0.125f, 0.125f, 0.125f, 0.125f}, 0.95f, 0}, /* E */
    {{0.875f, 0.875f, 0.125f, 0.125f}, 0.6f, 0}, /* G2 */
};
static const char *const nms_names = "CAGDBEH"; /* H = G2 */

static void nms_case(const char *line, float thr, int per_class, const char *want)
{
    cn_detection d[7];
    memcpy(d, nms_input, sizeof d);
    int64_t k = cn_nms(d, 7, thr, per_class);
    char got[8] = {0};
    for (int64_t i = 0; i < k && i < 7; i++)
        for (int j = 0; j < 7; j++)
            if (!memcmp(&d[i], &nms_input[j], sizeof d[i])) got[i] = nms_names[j];
    CHECK_MSG(k == (int64_t)strlen(want) && !strcmp(got, want), "%s: kept %s (%lld), want %s", line, got, (long long)k, want);
}

static void test_nms(void)
{
    /* E .95, A .9, D .85, B .8, C .7, G1 .6, G2 .6 in score order */
    nms_case("per class, IoU > 0.5: C (0.6 with A) goes; B (exactly 0.5) stays", 0.5f, 1, "EADBGH");
    nms_case("any class: D (A's twin in class 1) goes too", 0.5f, 0, "EABGH");
    nms_case("per class, IoU > 0.49: B goes as well", 0.49f, 1, "EADGH");
    nms_case("per class, IoU > 0.6: nothing overlaps more than 0.6 but D-A (other class)", 0.6f, 1, "EADBCGH");
    nms_case("any class, IoU > 0.99: only the exact twin D goes", 0.99f, 0, "EABCGH");
    cn_detection one = nms_input[0];
    CHECK_EQ_INT(cn_nms(&one, 1, 0.5f, 1), 1);
    CHECK_EQ_INT(cn_nms(NULL, 0, 0.5f, 1), 0);
}

/* ---- decoding ---- */
static void test_decode(void)
{
    /* 2 images, 2x2 grid, B = 2, C = 2: D = 12 channels of 4 cells */
    cn_yolo_geom g = cn_yolo_geom_make(2, 2, 2, 2, 2, 1);
    float pred[2 * 12 * 4] = {0};
    float *p = pred + 12 * 4; /* image 1; channel ch of cell (i, j) at p[ch * 4 + i * 2 + j] */
#define AT(ch, i, j) p[(ch) * 4 + (i) * 2 + (j)]
    /* cell (1, 0), box 1: x 0.5, y 0.25, sqrt w 0.5, sqrt h 0.25, conf 0.8; classes 0.5, 1.5 (clamped to 1) */
    AT(5, 1, 0) = 0.5f, AT(6, 1, 0) = 0.25f, AT(7, 1, 0) = 0.5f, AT(8, 1, 0) = 0.25f, AT(9, 1, 0) = 0.8f;
    AT(10, 1, 0) = 0.5f, AT(11, 1, 0) = 1.5f;
    /* cell (0, 1): box 0 conf -0.5 (clamped to 0), box 1 conf 0.3 at its default (0, 0, 0, 0); classes -0.5, 0.5:
     * a negative conf times a negative class score must not make a positive score */
    AT(4, 0, 1) = -0.5f, AT(9, 0, 1) = 0.3f, AT(10, 0, 1) = -0.5f, AT(11, 0, 1) = 0.5f;
#undef AT
    cn_detection d[16];
    int64_t k = cn_yolo_decode(d, 16, pred, &g, 1, 0.1f);
    CHECK_EQ_INT(k, 3);
    /* cell-major: (0, 1) box 1 class 1: 0.3 * 0.5; then (1, 0) box 1: class 0 0.8 * 0.5, class 1 0.8 * 1 */
    CHECK(d[0].cls == 1 && fabsf(d[0].score - 0.15f) < 1e-6f);
    CHECK(d[0].box.cx == 0.5f && d[0].box.cy == 0.0f && d[0].box.w == 0.0f); /* (1 + 0) / 2, (0 + 0) / 2 */
    CHECK(d[1].cls == 0 && fabsf(d[1].score - 0.4f) < 1e-6f);
    CHECK(d[2].cls == 1 && fabsf(d[2].score - 0.8f) < 1e-6f);
    /* cx = (0 + 0.5) / 2, cy = (1 + 0.25) / 2, w = 0.5^2, h = 0.25^2 */
    CHECK(d[2].box.cx == 0.25f && d[2].box.cy == 0.625f && d[2].box.w == 0.25f && d[2].box.h == 0.0625f);
    CHECK_EQ_INT(cn_yolo_decode(d, 16, pred, &g, 1, 0.5f), 1);
    /* a short buffer: the count is still the total, only cap are written */
    cn_detection one[1];
    CHECK_EQ_INT(cn_yolo_decode(one, 1, pred, &g, 1, 0.1f), 3);
    CHECK(one[0].cls == 1 && fabsf(one[0].score - 0.15f) < 1e-6f);
    /* image 0 is all zeros: every score is 0, never kept, even at threshold 0 */
    CHECK_EQ_INT(cn_yolo_decode(d, 16, pred, &g, 0, 0.0f), 0);
}

/* ---- the loss ---- */

/* 1x1 grid, B = 2, C = 2, one object of class 1 at (0.5, 0.5) size 0.25 x 0.16 (sqrt: 0.5, 0.4).
 * Box 0 (x 0.6, y 0.5, sqrt w 0.5, sqrt h 0.4, conf 0.6) is the truth shifted by 0.1: IoU =
 * (0.15 * 0.16) / (2 * 0.04 - 0.024) = 3/7. Box 1 (0.1, 0.1, 0.1, 0.1, conf 0.3) is a 0.01-wide box
 * far away: IoU 0. Classes 0.2, 0.7. So box 0 is responsible and
 *   coordinates 5 * 0.1^2 = 0.05; box 1 no-object 0.5 * 0.3^2 = 0.045; classes 0.2^2 + 0.3^2 = 0.13;
 *   confidence (0.6 - 1)^2 = 0.16, or with rescore (0.6 - 3/7)^2 = (1.2/7)^2 = 1.44/49.
 * Gradients: x0 2*5*0.1 = 1; conf0 2 (0.6 - 1) = -0.8 or 2 * 1.2/7; conf1 2*0.5*0.3 = 0.3;
 * classes 2 * (0.2, -0.3); everything else 0. */
static void test_loss_by_hand(void)
{
    const float pred[12] = {0.6f, 0.5f, 0.5f, 0.4f, 0.6f, 0.1f, 0.1f, 0.1f, 0.1f, 0.3f, 0.2f, 0.7f};
    const float t[2 * 5] = {-1, 0.9f, 0.9f, 0.5f, 0.5f, /* padding first: its values are ignored */
                            1, 0.5f, 0.5f, 0.25f, 0.16f};
    cn_yolo_geom g = cn_yolo_geom_make(1, 1, 1, 2, 2, 2);
    CHECK_OK(cn_yolo_check(&g, "hand"));
    CHECK_OK(cn_yolo_check_targets(t, &g, "hand"));
    float grad[12];
    for (int rescore = 0; rescore <= 1; rescore++) {
        g.rescore = rescore;
        double want = 0.05 + 0.045 + 0.13 + (rescore ? 1.44 / 49 : 0.16);
        double loss = cn_yolo_loss(grad, pred, t, &g);
        /* float inputs (0.6f, 0.16f, ...) are within 3e-8 relative of the decimals: 1e-6 covers it */
        CHECK_NEAR(loss, want, 1e-6);
        const float want_g[12] = {1, 0, 0, 0, rescore ? (float)(2 * 1.2 / 7) : -0.8f, 0, 0, 0, 0, 0.3f, 0.4f, -0.6f};
        CHECK_ALLCLOSE(grad, want_g, 12, 1e-5, 0, rescore ? "hand grad rescore" : "hand grad");
        CHECK_NEAR(cn_yolo_loss(NULL, pred, t, &g), loss, 0); /* NULL gradient: the same loss */
    }
    /* lambdas scale their terms: lambda_coord 0 and lambda_noobj 0 leave conf and classes */
    g.rescore = 0, g.lambda_coord = 0, g.lambda_noobj = 0;
    CHECK_NEAR(cn_yolo_loss(NULL, pred, t, &g), 0.16 + 0.13, 1e-6);
}

typedef struct {
    cn_npy pred, t, loss, grad[2];
    cn_yolo_geom g;
} torch_case;

static int load_torch(torch_case *c)
{
    c->pred = cn_fixture_load("detect/pred");
    c->t = cn_fixture_load("detect/targets");
    c->loss = cn_fixture_load("detect/loss");
    c->grad[0] = cn_fixture_load("detect/grad0");
    c->grad[1] = cn_fixture_load("detect/grad1");
    c->g = cn_yolo_geom_make(3, 3, 4, 2, 3, 4); /* as gen_yolo.py */
    return c->pred.numel == 3 * 13 * 12 && c->t.numel == 3 * 4 * 5 && c->loss.numel == 2 && c->grad[0].numel == c->pred.numel &&
           c->grad[1].numel == c->pred.numel;
}

static void free_torch(torch_case *c)
{
    cn_npy_free(&c->pred), cn_npy_free(&c->t), cn_npy_free(&c->loss), cn_npy_free(&c->grad[0]), cn_npy_free(&c->grad[1]);
}

/* PyTorch autograd on an independent implementation (tests/fixtures/detect/gen_yolo.py): two
 * objects in one cell, padding rows, box 1 responsible, an object no box overlaps, an object on
 * the image's edge (cx = 1), and the IoU target held fixed. Tolerances: the reference is float64
 * on the same float32 inputs; convnet forms boxes and IoU in float, which moves the rescore
 * target by ~1e-7, and writes float gradients: 1e-5 absolute on O(1) values. */
static void test_loss_torch(void)
{
    torch_case c;
    if (!load_torch(&c)) {
        CHECK_MSG(0, "detect fixtures missing or mis-shaped");
        free_torch(&c);
        return;
    }
    CHECK_OK(cn_yolo_check_targets(c.t.f32, &c.g, "torch"));
    float *grad = malloc((size_t)c.pred.numel * sizeof *grad);
    for (int rescore = 0; rescore <= 1; rescore++) {
        c.g.rescore = rescore;
        memset(grad, 0xff, (size_t)c.pred.numel * sizeof *grad); /* NaN: every element must be written */
        double loss = cn_yolo_loss(grad, c.pred.f32, c.t.f32, &c.g);
        CHECK_NEAR(loss, c.loss.f32[rescore], 1e-5);
        CHECK_ALLCLOSE(grad, c.grad[rescore].f32, c.pred.numel, 1e-5, 1e-5, rescore ? "torch grad rescore" : "torch grad");
    }
    free(grad);
    free_torch(&c);
}

typedef struct {
    const float *t;
    const cn_yolo_geom *g;
    const float *pred;
} kernel_ctx;

static double kernel_loss(void *p)
{
    kernel_ctx *k = p;
    return cn_yolo_loss(NULL, k->pred, k->t, k->g);
}

/* Central differences on the kernel (its loss is a double, so only the perturbation's rounding
 * matters). Without rescore the loss is a quadratic in the predictions once the responsible
 * boxes are fixed, so central differences are exact up to rounding (~1e-7 relative): tol 1e-4.
 * The fixture's inputs keep the responsibility choices stable under eps = 1e-3: the IoU gaps
 * between the two boxes of each object cell are 0.045 (0.050 vs 0.095), 0.113 (vs 0), 0.76, and
 * in the no-overlap cell the boxes are 0.2 image widths from the object, far beyond eps. */
static void test_loss_gradcheck(void)
{
    torch_case c;
    if (!load_torch(&c)) {
        CHECK_MSG(0, "detect fixtures missing or mis-shaped");
        free_torch(&c);
        return;
    }
    c.g.rescore = 0;
    float *grad = malloc((size_t)c.pred.numel * sizeof *grad);
    cn_yolo_loss(grad, c.pred.f32, c.t.f32, &c.g);
    kernel_ctx k = {c.t.f32, &c.g, c.pred.f32};
    cn_gc_report r = cn_gradcheck(kernel_loss, &k, c.pred.f32, grad, c.pred.numel, 1e-3, 1e-3);
    CHECK_GRAD(r, 1e-4, "yolo kernel, rescore=0");
    CHECK_EQ_INT(r.count, c.pred.numel);
    free(grad);
    free_torch(&c);
}

/* The yolo_loss layer in a model: the loss and dL/dinput equal the kernel's, for a conv-shaped
 * (N, D, SH, SW) input and, for a square grid, a dense (N, S*S*D) input read the same way. */
static void test_layer(void)
{
    torch_case c;
    if (!load_torch(&c)) {
        CHECK_MSG(0, "detect fixtures missing or mis-shaped");
        free_torch(&c);
        return;
    }
    cn_model *m = NULL;
    CHECK_OK(cn_model_parse(&m, "[input]\nshape = 13x3x4\n[yolo_loss]\nname = det\nclasses = 3\nmax_boxes = 4\n", "yolo4d"));
    CHECK_OK(cn_model_plan(m, 3, CN_PLAN_TRAIN));
    CHECK_OK(cn_model_set_target(m, c.t.f32));
    CHECK_OK(cn_model_forward(m, c.pred.f32, 1));
    CHECK_NEAR(cn_model_loss(m), c.loss.f32[1], 1e-5); /* rescore is the default */
    cn_model_zero_grad(m);
    CHECK_OK(cn_model_backward(m, NULL));
    CHECK_ALLCLOSE(cn_model_input_grad(m), c.grad[1].f32, c.pred.numel, 1e-5, 1e-5, "layer dx");
    /* inference without targets: no loss, the prediction is the input */
    CHECK_OK(cn_model_forward(m, c.pred.f32, 0));
    CHECK(isnan(cn_model_loss(m)));
    cn_model_destroy(m);

    /* a dense input with grid = 3: the first 3 columns of each row of the 3x4 case re-packed as 3x3 */
    cn_yolo_geom g3 = cn_yolo_geom_make(3, 3, 3, 2, 3, 4);
    g3.rescore = 0;
    float x[3 * 13 * 9];
    for (int n = 0; n < 3; n++)
        for (int ch = 0; ch < 13; ch++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) x[((n * 13 + ch) * 3 + i) * 3 + j] = c.pred.f32[((n * 13 + ch) * 3 + i) * 4 + j];
    float t[3 * 4 * 5];
    memcpy(t, c.t.f32, sizeof t);
    for (int r = 0; r < 12; r++) t[r * 5 + 1] *= 0.75f; /* keep the centres inside the narrower image */
    CHECK_OK(cn_model_parse(&m, "[input]\nshape = 117\n[yolo_loss]\ngrid = 3\nclasses = 3\nmax_boxes = 4\nrescore = false\n", "yolo2d"));
    CHECK_OK(cn_model_plan(m, 3, CN_PLAN_TRAIN));
    CHECK_OK(cn_model_set_target(m, t));
    CHECK_OK(cn_model_forward(m, x, 1));
    float want_g[3 * 13 * 9];
    double want = cn_yolo_loss(want_g, x, t, &g3);
    CHECK(want > 0);
    CHECK_NEAR(cn_model_loss(m), want, 1e-6 * want);
    cn_model_zero_grad(m);
    CHECK_OK(cn_model_backward(m, NULL));
    CHECK_ALLCLOSE(cn_model_input_grad(m), want_g, 3 * 13 * 9, 0, 0, "dense dx");
    cn_model_destroy(m);
    free_torch(&c);
}

static void test_errors(void)
{
    cn_model *m = NULL;
    /* channels must be 5B + C */
    CHECK_OK(cn_model_parse(&m, "[input]\nshape = 12x3x3\n[yolo_loss]\nname = det\nclasses = 3\n", "t"));
    CHECK_ERR(cn_model_plan(m, 2, CN_PLAN_TRAIN), CN_STATUS_SHAPE, "5B+C = 5*2+3 = 13");
    cn_model_destroy(m);
    /* a grid option that disagrees with a 4D input */
    CHECK_OK(cn_model_parse(&m, "[input]\nshape = 13x3x3\n[yolo_loss]\nname = det\nclasses = 3\ngrid = 4\n", "t"));
    CHECK_ERR(cn_model_plan(m, 2, CN_PLAN_TRAIN), CN_STATUS_SHAPE, "S = grid = 4");
    cn_model_destroy(m);
    /* a dense input needs grid, and grid^2 * D features */
    CHECK_OK(cn_model_parse(&m, "[input]\nshape = 117\n[yolo_loss]\nname = det\nclasses = 3\n", "t"));
    CHECK_ERR(cn_model_plan(m, 2, CN_PLAN_TRAIN), CN_STATUS_SHAPE, "needs grid = S");
    cn_model_destroy(m);
    CHECK_OK(cn_model_parse(&m, "[input]\nshape = 117\n[yolo_loss]\nname = det\nclasses = 3\ngrid = 2\n", "t"));
    CHECK_ERR(cn_model_plan(m, 2, CN_PLAN_TRAIN), CN_STATUS_SHAPE, "has 117 features; grid 2 x 2 with 5B+C = 5*2+3 needs 52");
    cn_model_destroy(m);
    m = NULL;
    CHECK_ERR(cn_model_parse(&m, "[input]\nshape = 117\n[yolo_loss]\nclasses = 0\n", "t"), CN_STATUS_INVALID_ARG, "classes=0");
    cn_model_destroy(m);
    m = NULL;

    /* targets: checked before anything runs */
    CHECK_OK(cn_model_parse(&m, "[input]\nshape = 13x2x2\n[yolo_loss]\nname = det\nclasses = 3\nmax_boxes = 2\n", "t"));
    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_TRAIN));
    float x[13 * 4] = {0};
    static const struct {
        const char *line;
        float row[5];
        const char *msg;
    } bad[] = {
        {"class 3 of 3", {3, 0.5f, 0.5f, 0.1f, 0.1f}, "image 0, target row 1: class 3 is not in [0, 3) or -1 (padding)"},
        {"class 0.5", {0.5f, 0.5f, 0.5f, 0.1f, 0.1f}, "class 0.5 is not in [0, 3)"},
        {"class -2", {-2, 0.5f, 0.5f, 0.1f, 0.1f}, "class -2 is not in [0, 3)"},
        {"cx 1.5", {1, 1.5f, 0.5f, 0.1f, 0.1f}, "box (cx 1.5, cy 0.5, w 0.1, h 0.1) is not normalized"},
        {"w 0", {1, 0.5f, 0.5f, 0.0f, 0.1f}, "is not normalized"},
        {"h NaN", {1, 0.5f, 0.5f, 0.1f, NAN}, "is not normalized"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        float t[10] = {0, 0.5f, 0.5f, 0.2f, 0.2f};
        memcpy(t + 5, bad[i].row, sizeof bad[i].row);
        CHECK_OK(cn_model_set_target(m, t));
        cn_status st = cn_model_forward(m, x, 1);
        CHECK_MSG(st == CN_STATUS_INVALID_ARG && strstr(cn_last_error(), bad[i].msg), "%s: got %s: %s", bad[i].line,
                  cn_status_name(st), cn_last_error());
    }
    /* padding rows may hold anything */
    float ok[10] = {0, 0.5f, 0.5f, 0.2f, 0.2f, -1, 7, -3, 0, NAN};
    CHECK_OK(cn_model_set_target(m, ok));
    CHECK_OK(cn_model_forward(m, x, 1));
    cn_model_destroy(m);

    cn_yolo_geom g = cn_yolo_geom_make(1, 2, 2, 0, 3, 1);
    CHECK_ERR(cn_yolo_check(&g, "det"), CN_STATUS_SHAPE, "yolo 'det': boxes=0 must be in [1, 2^30]");
    g = cn_yolo_geom_make(1, 2, 2, 2, 3, 1);
    g.lambda_noobj = -1;
    CHECK_ERR(cn_yolo_check(&g, "det"), CN_STATUS_INVALID_ARG, "lambda_noobj=-1");
}

/* A perfect prediction: each object's box in its cell's box 0 with confidence 1, box 1 with
 * confidence 0, one-hot classes; zeros in empty cells. The loss is 0 (up to sqrt rounding) and
 * decoding + NMS gives back exactly the objects (score 1, the right class), best first. */
static void test_perfect_round_trip(void)
{
    enum { S = 4, B = 2, C = 3, D = 5 * B + C, M = 3 };
    const float t[M * 5] = {2, 0.30f, 0.40f, 0.20f, 0.30f, /* cell (1, 1) */
                            0, 0.90f, 0.10f, 0.10f, 0.15f, /* cell (0, 3) */
                            1, 0.55f, 0.80f, 0.40f, 0.25f};
    float pred[D * S * S] = {0};
    for (int r = 0; r < M; r++) {
        const float *o = t + r * 5;
        int i = (int)(o[2] * S), j = (int)(o[1] * S);
        float *p = pred + i * S + j;
        p[0] = o[1] * S - j, p[S * S] = o[2] * S - i, p[2 * S * S] = sqrtf(o[3]), p[3 * S * S] = sqrtf(o[4]);
        p[4 * S * S] = 1;
        p[(5 * B + (int)o[0]) * S * S] = 1;
    }
    cn_yolo_geom g = cn_yolo_geom_make(1, S, S, B, C, M);
    CHECK_OK(cn_yolo_check_targets(t, &g, "perfect"));
    for (int rescore = 0; rescore <= 1; rescore++) {
        g.rescore = rescore;
        /* float rounding of x*S - j and sqrtf: errors ~1e-7, squared and weighted: < 1e-11 */
        CHECK_NEAR(cn_yolo_loss(NULL, pred, t, &g), 0, 1e-10);
    }
    cn_detection d[S * S * B * C];
    int64_t k = cn_yolo_decode(d, S * S * B * C, pred, &g, 0, 0.5f);
    CHECK_EQ_INT(k, M);
    k = cn_nms(d, k, 0.5f, 1);
    CHECK_EQ_INT(k, M);
    /* equal scores keep the decoding order (cell-major): (0, 3), (1, 1), (3, 2) */
    const int order[M] = {1, 0, 2};
    for (int q = 0; q < M && q < k; q++) {
        const float *o = t + order[q] * 5;
        CHECK_MSG(d[q].cls == (int)o[0] && d[q].score == 1.0f && fabsf(d[q].box.cx - o[1]) < 1e-6f &&
                      fabsf(d[q].box.cy - o[2]) < 1e-6f && fabsf(d[q].box.w - o[3]) < 1e-6f && fabsf(d[q].box.h - o[4]) < 1e-6f,
                  "detection %d: class %d score %g box (%g %g %g %g), want object %d", q, d[q].cls, d[q].score, d[q].box.cx,
                  d[q].box.cy, d[q].box.w, d[q].box.h, order[q]);
    }
}


/* ---- average precision ---- */
/* Class 0 has three truth boxes: T1 and T2 in image 0, T3 in image 1; class 1 has one, T4 in
 * image 1; class 2 none. Class-0 detections, by score: d1 on T1 (TP), d2 on T1 again (FP: T1
 * is taken), d3 on T3 (TP), d4 far from everything (FP); a class-1 detection on T2's place
 * counts only for class 1 (FP there: T4 is elsewhere). Recall 1/3, 1/3, 2/3, 2/3; precision 1,
 * 1/2, 2/3, 1/2; envelope 1, 2/3, 2/3, 1/2: AP = 1/3 * 1 + 1/3 * 2/3 = 5/9. */
static void test_average_precision(void)
{
    const float t[2 * 3 * 5] = {0, 0.25f, 0.25f, 0.25f, 0.25f, /* T1 */
                                0, 0.75f, 0.75f, 0.25f, 0.25f, /* T2 */
                                -1, 0, 0, 0, 0,
                                0, 0.5f, 0.5f, 0.5f, 0.5f,     /* T3 */
                                1, 0.25f, 0.75f, 0.25f, 0.25f, /* T4 */
                                -1, 0, 0, 0, 0};
    const cn_detection det[] = {
        {{0.75f, 0.75f, 0.25f, 0.25f}, 0.95f, 1}, /* class 1 on T2's box: a class-1 FP */
        {{0.5f, 0.5f, 0.5f, 0.4f}, 0.7f, 0},      /* d3: IoU 0.8 with T3 */
        {{0.25f, 0.25f, 0.25f, 0.25f}, 0.9f, 0},  /* d1 */
        {{0.1f, 0.9f, 0.1f, 0.1f}, 0.6f, 0},      /* d4 */
        {{0.26f, 0.25f, 0.25f, 0.25f}, 0.8f, 0},  /* d2 */
    };
    const int64_t img[] = {0, 1, 0, 1, 0};
    int64_t order[5];
    unsigned char matched[6];
    double ap0 = cn_detection_ap(det, img, 5, t, 2, 3, 0, 0.5f, order, matched);
    CHECK_NEAR(ap0, 5.0 / 9.0, 1e-12);
    CHECK_NEAR(cn_detection_ap(det, img, 5, t, 2, 3, 1, 0.5f, order, matched), 0, 0); /* its one detection misses */
    CHECK(isnan(cn_detection_ap(det, img, 5, t, 2, 3, 2, 0.5f, order, matched)));  /* no truth of class 2 */
    /* a stricter threshold: d3 (IoU 0.8) fails at 0.85, leaving one TP at rank 1: AP 1/3 */
    CHECK_NEAR(cn_detection_ap(det, img, 5, t, 2, 3, 0, 0.85f, order, matched), 1.0 / 3.0, 1e-12);
    /* a perfect ranking of all three truths: AP 1 */
    const cn_detection perfect[] = {{{0.25f, 0.25f, 0.25f, 0.25f}, 0.5f, 0}, {{0.75f, 0.75f, 0.25f, 0.25f}, 0.5f, 0},
                                    {{0.5f, 0.5f, 0.5f, 0.5f}, 0.5f, 0}, {{0.9f, 0.1f, 0.1f, 0.1f}, 0.1f, 0}};
    const int64_t pimg[] = {0, 0, 1, 1};
    CHECK_NEAR(cn_detection_ap(perfect, pimg, 4, t, 2, 3, 0, 0.5f, order, matched), 1.0, 1e-12);
    /* equal scores rank by index: the FP first gives precision 0, 1/2, 2/3, 3/4 at recalls 0, 1/3,
     * 2/3, 1; envelope 3/4 everywhere: AP 3/4 */
    const cn_detection tied[] = {{{0.9f, 0.1f, 0.1f, 0.1f}, 0.5f, 0}, {{0.25f, 0.25f, 0.25f, 0.25f}, 0.5f, 0},
                                 {{0.75f, 0.75f, 0.25f, 0.25f}, 0.5f, 0}, {{0.5f, 0.5f, 0.5f, 0.5f}, 0.5f, 0}};
    const int64_t timg[] = {1, 0, 0, 1};
    CHECK_NEAR(cn_detection_ap(tied, timg, 4, t, 2, 3, 0, 0.5f, order, matched), 0.75, 1e-12);
    CHECK_NEAR(cn_detection_ap(NULL, NULL, 0, t, 2, 3, 0, 0.5f, order, matched), 0, 0); /* no detections */
}

int main(void)
{
    RUN(test_iou);
    RUN(test_nms);
    RUN(test_decode);
    RUN(test_loss_by_hand);
    RUN(test_loss_torch);
    RUN(test_loss_gradcheck);
    RUN(test_layer);
    RUN(test_errors);
    RUN(test_perfect_round_trip);
    RUN(test_average_precision);
    return cn_test_finish();
}
