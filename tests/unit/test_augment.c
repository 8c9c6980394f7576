/* test_augment.c — the augmentation pipeline: parsing (canonical text, every error), checks
 * against sample shapes, the geometry of every geometric operation on synthetic images (a
 * flip of a flip is the identity, a rotated square's corners land where the rotation sends
 * them, crops are integer shifts, masks and boxes move with the image), the colour and value
 * operations' defining properties, determinism, and the test-time crops. */
#include <stdlib.h>
#include <string.h>

#include "convnet/augment.h"
#include "test.h"

static cn_dataset_info image_info(int64_t c, int64_t h, int64_t w, cn_target_kind tk)
{
    cn_dataset_info info;
    memset(&info, 0, sizeof info);
    info.n = 1;
    info.sample = (cn_shape){3, {c, h, w}};
    info.target_kind = tk;
    if (tk == CN_TARGET_DENSE_CLASS) info.target = (cn_shape){2, {h, w}}, info.num_classes = 4;
    if (tk == CN_TARGET_BOXES) info.target = (cn_shape){2, {4, 5}}, info.num_classes = 3;
    if (tk == CN_TARGET_CLASS) info.num_classes = 10;
    snprintf(info.name, sizeof info.name, "synthetic");
    return info;
}

static cn_dataset_info signal_info(int64_t c, int64_t w)
{
    cn_dataset_info info;
    memset(&info, 0, sizeof info);
    info.n = 1;
    info.sample = (cn_shape){2, {c, w}};
    info.target_kind = CN_TARGET_CLASS;
    info.num_classes = 10;
    snprintf(info.name, sizeof info.name, "signals");
    return info;
}

/* apply `text` to x (and target) with the stream of (seed, epoch 0, index) */
static void run(const char *text, const cn_dataset_info *info, float *x, float *target, uint64_t seed, int64_t index)
{
    cn_augment *a = NULL;
    CHECK_OK(cn_augment_parse(&a, text));
    if (!a) return;
    CHECK_OK(cn_augment_check(a, info));
    float *scratch = malloc((size_t)cn_augment_scratch_size(a, info) * sizeof(float));
    cn_rng r;
    cn_augment_rng(&r, seed, 0, index);
    cn_augment_apply(a, info, x, target, &r, scratch);
    free(scratch);
    cn_augment_destroy(a);
}

static void fill_random(float *x, int64_t n, uint64_t seed)
{
    cn_rng r;
    cn_rng_init(&r, seed, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, x, (size_t)n, 0.05f, 0.95f);
}

/* ---- parsing ---------------------------------------------------------------------------------- */

static void test_parse(void)
{
    cn_augment *a = NULL;
    char buf[1024];
    CHECK_OK(cn_augment_parse(&a, "hflip, rotate=15:crop=0 ,crop=4,jitter=0.3"));
    /* jitter is written out as its three parts */
    CHECK_EQ_INT(cn_augment_count(a), 6);
    cn_augment_str(a, -1, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, "hflip=0.5,rotate=15:min=0:crop=0:fill=0:p=1,crop=4:fill=0:p=1,brightness=0.3:p=1,contrast=0.3:p=1,"
                           "saturation=0.3:p=1"),
              "canonical text: %s", buf);
    /* the canonical text parses back to the same pipeline */
    cn_augment *b = NULL;
    CHECK_OK(cn_augment_parse(&b, buf));
    char buf2[1024];
    cn_augment_str(b, -1, buf2, sizeof buf2);
    CHECK(!strcmp(buf, buf2));
    cn_augment_str(a, 1, buf, sizeof buf);
    CHECK(!strcmp(buf, "rotate=15:min=0:crop=0:fill=0:p=1"));
    /* single: probability forced to 1 */
    cn_augment *s = NULL;
    CHECK_OK(cn_augment_single(&s, a, 0));
    cn_augment_str(s, -1, buf, sizeof buf);
    CHECK(!strcmp(buf, "hflip=1"));
    cn_augment_destroy(s);
    CHECK_ERR(cn_augment_single(&s, a, 6), CN_STATUS_INVALID_ARG, "operation 6 is not in 0..5");
    CHECK(s == NULL);
    cn_augment_destroy(a);
    cn_augment_destroy(b);
    /* the canonical text reproduces a pipeline exactly (rrc's default ratio is 4/3) */
    {
        cn_augment *p1 = NULL, *p2 = NULL;
        char canon[512];
        CHECK_OK(cn_augment_parse(&p1, "rrc=0.3,rotate=7.1"));
        CHECK_OK(cn_augment_parse(&p2, cn_augment_str(p1, -1, canon, sizeof canon)));
        cn_dataset_info info = image_info(1, 12, 12, CN_TARGET_NONE);
        float x1[144], x2[144], scratch[1024];
        fill_random(x1, 144, 3);
        memcpy(x2, x1, sizeof x1);
        cn_rng r;
        cn_augment_rng(&r, 1, 2, 3);
        if (p1 && p2) {
            cn_augment_apply(p1, &info, x1, NULL, &r, scratch);
            cn_augment_apply(p2, &info, x2, NULL, &r, scratch);
        }
        CHECK_MSG(!memcmp(x1, x2, sizeof x1), "canonical text %s does not reproduce the pipeline", canon);
        cn_augment_destroy(p1), cn_augment_destroy(p2);
    }
    /* empty = nothing */
    CHECK_OK(cn_augment_parse(&a, ""));
    CHECK_EQ_INT(cn_augment_count(a), 0);
    cn_augment_destroy(a);
    CHECK(strstr(cn_augment_help(), "rotate") && strstr(cn_augment_help(), "pincushion"));
}

static void test_parse_errors(void)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"rotat=15", "unknown operation 'rotat' — did you mean 'rotate'?"},
        {"frobnicate", "unknown operation 'frobnicate'"},
        {"rotate=400", "rotate deg 400 is not in [0, 180]"},
        {"rotate=abc", "rotate deg 'abc' is not a number"},
        {"rotate=", "is not a number"},
        {"crop=2.5", "crop pad 2.5 must be a whole number"},
        {"crop=4:pda=2", "unknown key 'pda' — did you mean 'pad'? (crop takes pad, fill, p)"},
        {"crop=4:pad=2", "pad is given twice"},
        {"rotate:crop=2", "rotate crop 2 is not in [0, 1]"},
        {"rotate:crop=0.5", "rotate crop 0.5 must be 0 or 1"},
        {"hflip:p", "'p' is not KEY=VALUE"},
        {"hflip,,vflip", "an empty operation between commas"},
        {"rrc=0.5:max=0.2", "min 0.5 is above max 0.2"},
        {"rotate=10:min=20", "min 20 is above deg 10"},
        {"blur=0.5:min=1", "min 1 is above sigma 0.5"},
        {"barrel=0.5", "barrel k 0.5 is not in [0, 0.3]"},
        {"hue=0.7", "hue frac 0.7 is not in [0, 0.5]"},
        {"noise=nan", "is not a number"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        cn_augment *a = (cn_augment *)&a; /* must come back NULL */
        cn_status st = cn_augment_parse(&a, cases[k].text);
        CHECK_MSG(st == CN_STATUS_INVALID_ARG && strstr(cn_last_error(), cases[k].msg) && !a, "'%s': got %s '%s', want '%s'",
                  cases[k].text, cn_status_name(st), cn_last_error(), cases[k].msg);
        /* the message quotes the operation */
        CHECK_MSG(strstr(cn_last_error(), "augment '"), "'%s': %s", cases[k].text, cn_last_error());
    }
    /* more than the maximum number of operations */
    char big[2048] = "";
    for (int k = 0; k < CN_AUGMENT_MAX_OPS + 1; k++) strcat(big, k ? ",hflip" : "hflip");
    cn_augment *a = NULL;
    CHECK_ERR(cn_augment_parse(&a, big), CN_STATUS_LIMIT, "more than 64 operations");
}

static void test_check(void)
{
    cn_augment *a = NULL;
    cn_dataset_info sig = signal_info(1, 40);
    CHECK_OK(cn_augment_parse(&a, "rotate=10"));
    CHECK_ERR(cn_augment_check(a, &sig), CN_STATUS_SHAPE, "rotate needs images (C x H x W); signals samples are 1x40 signals");
    cn_augment_destroy(a);
    CHECK_OK(cn_augment_parse(&a, "brightness=0.1"));
    CHECK_ERR(cn_augment_check(a, &sig), CN_STATUS_SHAPE, "brightness needs images");
    cn_augment_destroy(a);
    /* signal operations fit signals */
    CHECK_OK(cn_augment_parse(&a, "shift=3,scale=0.1,noise=0.1,hflip,translate=0.1,hstretch=0.1,crop=2,erase,blur"));
    CHECK_OK(cn_augment_check(a, &sig));
    cn_augment_destroy(a);
    /* volumes: only value operations */
    cn_dataset_info vol = image_info(1, 4, 4, CN_TARGET_CLASS);
    vol.sample = (cn_shape){4, {1, 3, 4, 4}};
    CHECK_OK(cn_augment_parse(&a, "noise=0.1,scale=0.2"));
    CHECK_OK(cn_augment_check(a, &vol));
    cn_augment_destroy(a);
    CHECK_OK(cn_augment_parse(&a, "hflip"));
    CHECK_ERR(cn_augment_check(a, &vol), CN_STATUS_SHAPE, "it works on images (C x H x W) and signals (C x W)");
    /* masks must have the image's spatial shape for geometric operations */
    cn_dataset_info seg = image_info(3, 8, 8, CN_TARGET_DENSE_CLASS);
    seg.target = (cn_shape){2, {4, 4}};
    CHECK_ERR(cn_augment_check(a, &seg), CN_STATUS_SHAPE, "masks are 4x4 but samples are 3x8x8");
    cn_augment_destroy(a);
    CHECK_OK(cn_augment_parse(&a, "brightness=0.1"));
    CHECK_OK(cn_augment_check(a, &seg)); /* colour only: the mask is not touched */
    cn_augment_destroy(a);
}

/* ---- geometry ------------------------------------------------------------------------------------ */

/* a flip of a flip is the identity, exactly; one flip mirrors exactly */
static void test_flips(void)
{
    const int64_t C = 3, H = 5, W = 7, HW = H * W;
    cn_dataset_info info = image_info(C, H, W, CN_TARGET_NONE);
    float x[3 * 35], y[3 * 35];
    fill_random(x, C * HW, 1);
    memcpy(y, x, sizeof x);
    run("hflip=1", &info, y, NULL, 1, 0);
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < H; i++)
            for (int64_t j = 0; j < W; j++) CHECK(y[c * HW + i * W + j] == x[c * HW + i * W + (W - 1 - j)]);
    run("hflip=1", &info, y, NULL, 9, 3);
    CHECK(!memcmp(x, y, sizeof x));
    memcpy(y, x, sizeof x);
    run("vflip=1", &info, y, NULL, 1, 0);
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < H; i++)
            for (int64_t j = 0; j < W; j++) CHECK(y[c * HW + i * W + j] == x[c * HW + (H - 1 - i) * W + j]);
    /* composed in one resampling: hflip then vflip is a 180-degree turn */
    memcpy(y, x, sizeof x);
    run("hflip=1,vflip=1", &info, y, NULL, 1, 0);
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < H; i++)
            for (int64_t j = 0; j < W; j++) CHECK(y[c * HW + i * W + j] == x[c * HW + (H - 1 - i) * W + (W - 1 - j)]);
    /* p = 0 never applies */
    memcpy(y, x, sizeof x);
    run("hflip=0,vflip=0,rotate=30:p=0", &info, y, NULL, 1, 0);
    CHECK(!memcmp(x, y, sizeof x));
}

/* 90 degrees without crop on a square image permutes the pixels (up to rounding of cos) */
static void test_rotate_90(void)
{
    const int64_t H = 6, W = 6;
    cn_dataset_info info = image_info(1, H, W, CN_TARGET_NONE);
    float x[36], y[36];
    fill_random(x, 36, 2);
    memcpy(y, x, sizeof x);
    run("rotate=90:min=90:crop=0", &info, y, NULL, 5, 0);
    /* a counter-clockwise turn sends source (i, j) to (W-1-j, i); clockwise to (j, H-1-i) */
    double ccw = 0, cw = 0;
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < W; j++) {
            ccw = fmax(ccw, fabs(y[(W - 1 - j) * W + i] - x[i * W + j]));
            cw = fmax(cw, fabs(y[j * W + (H - 1 - i)] - x[i * W + j]));
        }
    /* cos(pi/2) is 6e-17, so the sampling positions are off by ~1e-15 pixel */
    CHECK_MSG(fmin(ccw, cw) < 1e-5, "90-degree rotation: max error %g (ccw) %g (cw)", ccw, cw);
}

/* a white square rotated by +-30 degrees: points just inside the expected corners are white,
 * points just outside are black, and the area is preserved */
static void test_rotate_square(void)
{
    const int64_t H = 64, W = 64;
    cn_dataset_info info = image_info(1, H, W, CN_TARGET_NONE);
    float *x = calloc((size_t)(H * W), sizeof(float));
    for (int64_t i = 22; i < 42; i++)
        for (int64_t j = 22; j < 42; j++) x[i * W + j] = 1;
    run("rotate=30:min=30:crop=0", &info, x, NULL, 3, 0);
    double sum = 0;
    for (int64_t k = 0; k < H * W; k++) sum += x[k];
    /* bilinear resampling keeps the area of a large shape to within its perimeter's worth */
    CHECK_NEAR(sum, 400, 12);
    /* which way did it turn? exactly one of the two must fit */
    int fits = 0;
    for (int sign = -1; sign <= 1; sign += 2) {
        double th = sign * 30 * M_PI / 180, c = cos(th), s = sin(th);
        int ok = 1;
        const double corners[4][2] = {{-10, -10}, {10, -10}, {10, 10}, {-10, 10}};
        for (int k = 0; k < 4; k++) {
            /* forward map about the centre (32, 32): q - c = [cos sin; -sin cos] (p - c) */
            double px = corners[k][0], py = corners[k][1];
            double qx = c * px + s * py, qy = -s * px + c * py;
            double len = sqrt(qx * qx + qy * qy);
            double in_x = 32 + qx * (len - 2.5) / len, in_y = 32 + qy * (len - 2.5) / len;
            double out_x = 32 + qx * (len + 2.5) / len, out_y = 32 + qy * (len + 2.5) / len;
            float vin = x[(int64_t)in_y * W + (int64_t)in_x], vout = x[(int64_t)out_y * W + (int64_t)out_x];
            if (!(vin > 0.9f && vout < 0.1f)) ok = 0;
        }
        fits += ok;
    }
    CHECK_MSG(fits == 1, "the rotated square's corners fit %d of the two 30-degree turns", fits);
    free(x);
}

/* rotate with crop: no corner is left empty (fill never shows) */
static void test_rotate_crop_fills(void)
{
    const int64_t H = 20, W = 30;
    cn_dataset_info info = image_info(1, H, W, CN_TARGET_NONE);
    float x[600];
    for (int k = 0; k < 600; k++) x[k] = 1;
    run("rotate=40:min=35:fill=-5", &info, x, NULL, 7, 0);
    for (int k = 0; k < 600; k++) CHECK_MSG(x[k] > 0.999f, "pixel %d is %g: the fill shows through a cropped rotation", k, x[k]);
    for (int k = 0; k < 600; k++) x[k] = 1;
    run("rotate=40:min=35:crop=0:fill=-5", &info, x, NULL, 7, 0);
    CHECK(x[0] == -5 && x[599] == -5); /* without crop the corners are fill */
}

/* crop=P is an integer shift in [-P, P] on each axis with fill outside */
static void test_crop_offsets(void)
{
    const int64_t H = 9, W = 11;
    cn_dataset_info info = image_info(1, H, W, CN_TARGET_NONE);
    int seen[9][9] = {{0}};
    for (int64_t index = 0; index < 60; index++) {
        float x[99], y[99];
        fill_random(x, 99, 3);
        memcpy(y, x, sizeof x);
        run("crop=4:fill=-1", &info, y, NULL, 11, index);
        int found = 0;
        for (int dy = -4; dy <= 4 && !found; dy++)
            for (int dx = -4; dx <= 4 && !found; dx++) {
                int same = 1;
                for (int64_t i = 0; i < H && same; i++)
                    for (int64_t j = 0; j < W && same; j++) {
                        int64_t si = i + dy, sj = j + dx;
                        float want = si >= 0 && si < H && sj >= 0 && sj < W ? x[si * W + sj] : -1.0f;
                        same = y[i * W + j] == want;
                    }
                if (same) found = 1, seen[dy + 4][dx + 4]++;
            }
        CHECK_MSG(found, "sample %lld: the crop is not an integer shift within 4 pixels", (long long)index);
    }
    /* offsets vary: at least a dozen different ones in 60 draws */
    int distinct = 0;
    for (int a = 0; a < 9; a++)
        for (int b = 0; b < 9; b++) distinct += seen[a][b] > 0;
    CHECK_MSG(distinct >= 12, "only %d distinct crop offsets", distinct);
}

/* an image whose value encodes the mask: the mask follows the image exactly under integer
 * maps, and nearly everywhere under rotations and scalings */
static void test_mask_follows(void)
{
    const int64_t H = 24, W = 24, HW = H * W;
    cn_dataset_info info = image_info(1, H, W, CN_TARGET_DENSE_CLASS);
    static const char *const exact[] = {"hflip=1", "vflip=1", "crop=5", "hflip=1,crop=3,vflip=1", "shift=4:wrap=1"};
    static const char *const approx[] = {"rotate=30:crop=0", "rrc=0.3", "zoom=0.3,translate=0.1", "stretch=0.5", "distort=0.3"};
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < 5; k++) {
            const char *text = pass ? approx[k] : exact[k];
            float x[576], m[576];
            /* blocks of 6x6 pixels of one class each */
            for (int64_t i = 0; i < H; i++)
                for (int64_t j = 0; j < W; j++) {
                    int cls = (int)((i / 6 + j / 6) % 3) + 1;
                    m[i * W + j] = (float)cls, x[i * W + j] = (float)cls / 3;
                }
            run(text, &info, x, m, 21, (int64_t)k);
            int64_t agree = 0, filled = 0;
            for (int64_t p = 0; p < HW; p++) {
                if (m[p] == 0) { /* outside the source: image shows fill 0 */
                    filled++;
                    agree += fabsf(x[p]) < 0.34f;
                    continue;
                }
                agree += fabsf(x[p] * 3 - m[p]) < 0.5f;
            }
            double frac = (double)agree / HW;
            if (!pass) CHECK_MSG(agree == HW, "%s: the mask disagrees with the image at %lld pixels", text, (long long)(HW - agree));
            else CHECK_MSG(frac > 0.85, "%s: the mask agrees with the image at only %.1f%% of pixels", text, 100 * frac);
            (void)filled;
        }
}

/* a box drawn as a bright rectangle: after geometric operations the moved box bounds the
 * bright pixels (to within bilinear blur and clipping) */
static void test_boxes_follow(void)
{
    const int64_t H = 48, W = 64;
    cn_dataset_info info = image_info(1, H, W, CN_TARGET_BOXES);
    static const char *const texts[] = {"hflip=1", "vflip=1", "crop=6", "rotate=25", "rotate=30:crop=0", "rrc=0.4:ratio=1.5", "translate=0.15",
                                        "zoom=0.3", "stretch=0.4", "hstretch=0.3,vstretch=0.3", "barrel=0.3", "pincushion=0.3",
                                        "hflip=1,rotate=20,rrc=0.5,distort=0.2", "shift=10:wrap=0"};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++)
        for (int64_t index = 0; index < 6; index++) {
            float x[48 * 64] = {0};
            /* one box x 20..40, y 14..30 (pixels), class 2; padding rows */
            for (int64_t i = 14; i < 30; i++)
                for (int64_t j = 20; j < 40; j++) x[i * W + j] = 1;
            float t[20] = {2, 30.0f / W, 22.0f / H, 20.0f / W, 16.0f / H, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0};
            run(texts[k], &info, x, t, 33, index);
            /* bounding box of pixels brighter than 0.5 */
            double lo_x = 1e9, lo_y = 1e9, hi_x = -1, hi_y = -1;
            for (int64_t i = 0; i < H; i++)
                for (int64_t j = 0; j < W; j++)
                    if (x[i * W + j] > 0.5f) lo_x = fmin(lo_x, j), hi_x = fmax(hi_x, j + 1), lo_y = fmin(lo_y, i), hi_y = fmax(hi_y, i + 1);
            for (int r = 1; r < 4; r++) CHECK(t[5 * r] == -1);
            if (t[0] < 0) { /* dropped: only when the object was pushed against an edge */
                CHECK_MSG(hi_x < 0 || lo_x == 0 || lo_y == 0 || hi_x == W || hi_y == H, "%s #%lld: box dropped inside the image",
                          texts[k], (long long)index);
                continue;
            }
            CHECK(t[0] == 2);
            double bx0 = (t[1] - t[3] / 2) * W, bx1 = (t[1] + t[3] / 2) * W, by0 = (t[2] - t[4] / 2) * H, by1 = (t[2] + t[4] / 2) * H;
            CHECK_MSG(bx0 >= -1e-4 && by0 >= -1e-4 && bx1 <= W + 1e-4 && by1 <= H + 1e-4, "%s: box outside the image", texts[k]);
            /* the box holds the bright pixels (to the half pixel a 0.5 threshold can be off by, plus
             * bilinear blur), and is tight: the corners of a rotated rectangle are thin, so there the
             * bright pixels stop up to ~2 pixels short of the box */
            double out = fmax(fmax(bx0 - lo_x, hi_x - bx1), fmax(by0 - lo_y, hi_y - by1));
            double slack = fmax(fmax(lo_x - bx0, bx1 - hi_x), fmax(lo_y - by0, by1 - hi_y));
            double tol = strstr(texts[k], "rotate") ? 3.0 : 1.6;
            double err = fmax(out, slack);
            CHECK_MSG(out <= 1.0, "%s #%lld: bright pixels reach %.2f pixels outside the box", texts[k], (long long)index, out);
            CHECK_MSG(err <= tol, "%s #%lld: box %.1f..%.1f x %.1f..%.1f, bright pixels %.0f..%.0f x %.0f..%.0f (error %.2f)", texts[k],
                      (long long)index, bx0, bx1, by0, by1, lo_x, hi_x, lo_y, hi_y, err);
        }
}

/* boxes that leave the image become padding and the rest move to the front */
static void test_boxes_dropped(void)
{
    const int64_t H = 32, W = 32;
    cn_dataset_info info = image_info(1, H, W, CN_TARGET_BOXES);
    float x[32 * 32] = {0};
    /* box 0 near the left edge, box 1 in the middle */
    float t[20] = {0, 2.0f / W, 0.5f, 4.0f / W, 4.0f / H, 1, 0.5f, 0.5f, 0.25f, 0.25f, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0};
    /* a shift of exactly 12 to the right would keep both; find an index that shifts left by >= 4 */
    int tried = 0, dropped = 0;
    for (int64_t index = 0; index < 40 && !dropped; index++) {
        float tt[20];
        memcpy(tt, t, sizeof t);
        float xx[32 * 32];
        memcpy(xx, x, sizeof x);
        run("shift=8", &info, xx, tt, 5, index);
        tried++;
        if (tt[0] == 1) { /* box 0 left the image: box 1 moved to row 0 */
            dropped = 1;
            CHECK(tt[5] == -1 && tt[10] == -1);
            CHECK_NEAR(tt[3], 0.25, 1e-6);
        }
    }
    CHECK_MSG(dropped, "no shift in %d tries dropped the edge box", tried);
}

/* 1-D: shift with wrap rotates the signal circularly; without wrap it fills */
static void test_signal_shift(void)
{
    cn_dataset_info info = signal_info(2, 10);
    float x[20], y[20];
    fill_random(x, 20, 4);
    int nonzero = 0;
    for (int64_t index = 0; index < 20; index++) {
        memcpy(y, x, sizeof x);
        run("shift=3:wrap=1", &info, y, NULL, 2, index);
        int found = 0;
        for (int d = -3; d <= 3 && !found; d++) {
            int same = 1;
            for (int c = 0; c < 2; c++)
                for (int j = 0; j < 10; j++) same &= y[c * 10 + ((j + d) % 10 + 10) % 10] == x[c * 10 + j];
            if (same) found = 1, nonzero += d != 0;
        }
        CHECK(found);
        memcpy(y, x, sizeof x);
        run("shift=3:fill=7", &info, y, NULL, 2, index);
        found = 0;
        for (int d = -3; d <= 3 && !found; d++) {
            int same = 1;
            for (int c = 0; c < 2; c++)
                for (int j = 0; j < 10; j++) {
                    int s = j - d;
                    same &= y[c * 10 + j] == (s >= 0 && s < 10 ? x[c * 10 + s] : 7.0f);
                }
            found = same;
        }
        CHECK(found);
    }
    CHECK(nonzero > 10);
}

/* ---- colour and value operations ----------------------------------------------------------------- */

static double mean_of(const float *x, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    return s / n;
}

static void test_colour(void)
{
    const int64_t C = 3, H = 8, W = 8, HW = H * W, n = C * HW;
    cn_dataset_info info = image_info(C, H, W, CN_TARGET_NONE);
    float x[192], y[192];
    fill_random(x, n, 5);
    /* everything stays in [0, 1] */
    static const char *const ops[] = {"brightness=1", "contrast=1", "saturation=1", "hue=0.5", "exposure=3", "balance=1", "jitter=0.8",
                                      "vignette=1"};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        for (int64_t index = 0; index < 5; index++) {
            memcpy(y, x, sizeof x);
            run(ops[k], &info, y, NULL, 3, index);
            int in = 1;
            for (int64_t i = 0; i < n; i++) in &= y[i] >= 0 && y[i] <= 1;
            CHECK_MSG(in, "%s left values outside [0, 1]", ops[k]);
        }
    /* a gray image: saturation and hue change nothing (to float rounding: YIQ round trip) */
    float g[192];
    for (int64_t i = 0; i < HW; i++) g[i] = g[HW + i] = g[2 * HW + i] = x[i];
    memcpy(y, g, sizeof g);
    run("saturation=0.9", &info, y, NULL, 3, 1);
    CHECK_ALLCLOSE(y, g, n, 1e-6, 0, "saturation of gray");
    memcpy(y, g, sizeof g);
    run("hue=0.5", &info, y, NULL, 3, 1);
    CHECK_ALLCLOSE(y, g, n, 2e-4, 0, "hue of gray"); /* the YIQ matrices are given to 4-6 digits */
    /* hue rotation keeps the luma (pixels away from clipping) */
    float mid[192];
    for (int64_t i = 0; i < n; i++) mid[i] = 0.4f + 0.2f * x[i];
    memcpy(y, mid, sizeof mid);
    run("hue=0.5", &info, y, NULL, 3, 2);
    for (int64_t i = 0; i < HW; i++) {
        double l0 = 0.299 * mid[i] + 0.587 * mid[HW + i] + 0.114 * mid[2 * HW + i];
        double l1 = 0.299 * y[i] + 0.587 * y[HW + i] + 0.114 * y[2 * HW + i];
        CHECK_NEAR(l1, l0, 3e-4);
    }
    /* contrast of a constant image is the identity */
    float k5[192];
    for (int64_t i = 0; i < n; i++) k5[i] = 0.3f;
    memcpy(y, k5, sizeof k5);
    run("contrast=0.9", &info, y, NULL, 3, 4);
    CHECK_ALLCLOSE(y, k5, n, 1e-6, 0, "contrast of a constant");
    /* brightness shifts every unclipped value by the same amount */
    memcpy(y, mid, sizeof mid);
    run("brightness=0.1", &info, y, NULL, 3, 5);
    double d0 = y[0] - mid[0];
    for (int64_t i = 0; i < n; i++) CHECK_NEAR(y[i] - mid[i], d0, 1e-6);
    CHECK(fabs(d0) <= 0.1 + 1e-6);
    /* exposure multiplies by one factor in [2^-1, 2^1] */
    memcpy(y, mid, sizeof mid);
    run("exposure=1", &info, y, NULL, 3, 6);
    double f0 = y[0] / mid[0];
    CHECK(f0 >= 0.5 - 1e-6 && f0 <= 2 + 1e-6);
    for (int64_t i = 0; i < n; i++)
        if (y[i] < 1) CHECK_NEAR(y[i] / mid[i], f0, 1e-5);
    /* balance: one gain per channel */
    memcpy(y, mid, sizeof mid);
    run("balance=0.3", &info, y, NULL, 3, 7);
    for (int64_t c = 0; c < C; c++) {
        double gc = y[c * HW] / mid[c * HW];
        CHECK(gc >= 0.7 - 1e-6 && gc <= 1.3 + 1e-6);
        for (int64_t i = 0; i < HW; i++) CHECK_NEAR(y[c * HW + i] / mid[c * HW + i], gc, 1e-5);
    }
    /* vignette: corners darker than the centre, never brighter than before */
    for (int64_t i = 0; i < n; i++) y[i] = 1;
    run("vignette=1:p=1", &info, y, NULL, 3, 8);
    double centre = y[(H / 2) * W + W / 2], corner = y[0];
    CHECK(corner <= centre);
    for (int64_t i = 0; i < n; i++) CHECK(y[i] <= 1);
}

static void test_values(void)
{
    const int64_t C = 1, H = 64, W = 64, n = C * H * W;
    cn_dataset_info info = image_info(C, H, W, CN_TARGET_NONE);
    float *x = malloc((size_t)n * sizeof(float)), *y = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) x[i] = 0.5f;
    /* noise: mean 0, std as asked (4096 draws: the std of the sample std is ~1.1%) */
    memcpy(y, x, (size_t)n * sizeof(float));
    run("noise=0.1", &info, y, NULL, 3, 0);
    double m = 0, v = 0;
    for (int64_t i = 0; i < n; i++) m += y[i] - 0.5;
    m /= n;
    for (int64_t i = 0; i < n; i++) v += (y[i] - 0.5 - m) * (y[i] - 0.5 - m);
    CHECK_NEAR(m, 0, 0.01);
    CHECK_NEAR(sqrt(v / n), 0.1, 0.005);
    /* blur keeps a constant and smooths noise */
    memcpy(y, x, (size_t)n * sizeof(float));
    run("blur=2", &info, y, NULL, 3, 1);
    CHECK_ALLCLOSE(y, x, n, 1e-6, 0, "blur of a constant");
    fill_random(y, n, 8);
    double v0 = 0, v1 = 0, m0 = mean_of(y, n);
    for (int64_t i = 0; i < n; i++) v0 += (y[i] - m0) * (y[i] - m0);
    run("blur=2:min=1.5", &info, y, NULL, 3, 2);
    double m1 = mean_of(y, n);
    for (int64_t i = 0; i < n; i++) v1 += (y[i] - m1) * (y[i] - m1);
    CHECK_NEAR(m1, m0, 0.01);
    CHECK_MSG(v1 < 0.2 * v0, "blur reduced the variance only from %g to %g", v0, v1);
    /* scale multiplies everything by one factor */
    memcpy(y, x, (size_t)n * sizeof(float));
    run("scale=0.5", &info, y, NULL, 3, 3);
    for (int64_t i = 1; i < n; i++) CHECK(y[i] == y[0]);
    CHECK(y[0] >= 0.25f && y[0] <= 0.75f);
    /* erase: one rectangle of the given value, of 2..33% of the area */
    int erased_some = 0;
    for (int64_t index = 0; index < 8; index++) {
        memcpy(y, x, (size_t)n * sizeof(float));
        run("erase=1:value=-1", &info, y, NULL, 3, index);
        int64_t cnt = 0, lo_x = W, hi_x = -1, lo_y = H, hi_y = -1;
        for (int64_t i = 0; i < H; i++)
            for (int64_t j = 0; j < W; j++)
                if (y[i * W + j] == -1) {
                    cnt++;
                    lo_x = j < lo_x ? j : lo_x, hi_x = j > hi_x ? j : hi_x, lo_y = i < lo_y ? i : lo_y, hi_y = i > hi_y ? i : hi_y;
                } else CHECK(y[i * W + j] == 0.5f);
        if (!cnt) continue; /* ten failed attempts: allowed, rare */
        erased_some++;
        CHECK_EQ_INT(cnt, (hi_x - lo_x + 1) * (hi_y - lo_y + 1)); /* a filled rectangle */
        CHECK(cnt >= (int64_t)(0.02 * n * 0.5) && cnt <= (int64_t)(0.33 * n * 1.5));
    }
    CHECK(erased_some >= 6);
    free(x);
    free(y);
}

/* every operation with its defaults gives finite values of the right count, and the same
 * stream gives the same result; another sample index gives another */
static void test_every_op_deterministic(void)
{
    static const char *const ops[] = {"hflip", "vflip", "rotate", "crop", "rrc", "translate", "zoom", "stretch", "hstretch", "vstretch",
                                      "barrel", "pincushion", "distort", "balance", "brightness", "contrast", "saturation", "hue",
                                      "exposure", "jitter", "vignette", "blur", "noise", "scale", "erase", "shift"};
    const int64_t C = 3, H = 16, W = 20, n = C * H * W;
    cn_dataset_info info = image_info(C, H, W, CN_TARGET_DENSE_CLASS);
    float x[960], a[960], b[960], ma[320], mb[320];
    fill_random(x, n, 9);
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        char text[64];
        snprintf(text, sizeof text, "%s:p=1", ops[k]);
        if (!strcmp(ops[k], "hflip") || !strcmp(ops[k], "vflip") || !strcmp(ops[k], "erase")) snprintf(text, sizeof text, "%s=1", ops[k]);
        int differs_somewhere = 0;
        for (int64_t index = 0; index < 4; index++) {
            memcpy(a, x, sizeof x), memcpy(b, x, sizeof x);
            for (int i = 0; i < 320; i++) ma[i] = mb[i] = (float)(i % 4);
            run(text, &info, a, ma, 77, index);
            run(text, &info, b, mb, 77, index);
            CHECK_MSG(!memcmp(a, b, sizeof a) && !memcmp(ma, mb, sizeof ma), "%s: the same stream gave different results", text);
            int finite = 1;
            for (int64_t i = 0; i < n; i++) finite &= isfinite(a[i]);
            CHECK_MSG(finite, "%s: non-finite output", text);
            for (int i = 0; i < 320; i++) CHECK(ma[i] >= 0 && ma[i] <= 3 && ma[i] == floorf(ma[i]));
            differs_somewhere |= memcmp(a, x, sizeof x) != 0;
        }
        CHECK_MSG(differs_somewhere, "%s never changed the image in 4 samples", text);
    }
    /* different epochs draw differently */
    cn_augment *p = NULL;
    CHECK_OK(cn_augment_parse(&p, "rotate=30,noise=0.1"));
    float *scratch = malloc((size_t)cn_augment_scratch_size(p, &info) * sizeof(float));
    cn_rng r0, r1;
    cn_augment_rng(&r0, 5, 0, 3);
    cn_augment_rng(&r1, 5, 1, 3);
    memcpy(a, x, sizeof x), memcpy(b, x, sizeof x);
    cn_augment_apply(p, &info, a, NULL, &r0, scratch);
    cn_augment_apply(p, &info, b, NULL, &r1, scratch);
    CHECK(memcmp(a, b, sizeof a) != 0);
    free(scratch);
    cn_augment_destroy(p);
}

/* ---- test-time augmentation ---------------------------------------------------------------------- */

static void test_tta(void)
{
    /* 2 inputs, 1 channel, 4x5; crops 3x3 with no padding */
    cn_tta_geom g = {2, 1, 4, 5, 3, 3, 0, 1};
    CHECK_OK(cn_tta_check(&g));
    CHECK_EQ_INT(cn_tta_views(&g), 10);
    float x[40], out[10 * 2 * 9];
    for (int i = 0; i < 40; i++) x[i] = (float)i;
    cn_tta_crops(out, x, &g);
    /* view v of input n at (i, j): offsets TL (0,0) TR (0,2) BL (1,0) BR (1,2) centre (0,1) */
    const int oy[5] = {0, 0, 1, 1, 0}, ox[5] = {0, 2, 0, 2, 1};
    for (int v = 0; v < 10; v++)
        for (int n = 0; n < 2; n++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) {
                    int b = v % 5, jj = v >= 5 ? 2 - j : j;
                    float want = x[n * 20 + (oy[b] + i) * 5 + ox[b] + jj];
                    CHECK_MSG(out[((v * 2 + n) * 3 + i) * 3 + j] == want, "view %d input %d (%d,%d)", v, n, i, j);
                }
    /* full-size crops of a padded input are shifts */
    cn_tta_geom p = {1, 1, 4, 5, 4, 5, 1, 0};
    CHECK_OK(cn_tta_check(&p));
    float o2[5 * 20];
    cn_tta_crops(o2, x, &p);
    CHECK(o2[0] == 0 && o2[6] == x[0]);            /* top-left: shifted down-right by one, zero border */
    CHECK(o2[4 * 20 + 0] == x[0]);                 /* centre: offset floor(2/2) = 1 - pad = 0: unshifted */
    CHECK(o2[3 * 20 + 19] == 0 && o2[3 * 20 + 13] == x[19]); /* bottom-right */
    /* averaging */
    float preds[3 * 2 * 2] = {1, 2, 3, 4, 3, 4, 5, 6, 5, 6, 7, 8}, avg[4];
    cn_tta_average(avg, preds, 3, 2, 2);
    CHECK(avg[0] == 3 && avg[1] == 4 && avg[2] == 5 && avg[3] == 6);
    /* bad geometry */
    cn_tta_geom bad = {1, 1, 4, 5, 6, 5, 0, 0};
    CHECK_ERR(cn_tta_check(&bad), CN_STATUS_SHAPE, "a 6x5 crop does not fit a 4x5 input padded by 0");
    bad = (cn_tta_geom){0, 1, 4, 5, 2, 2, 0, 0};
    CHECK_ERR(cn_tta_check(&bad), CN_STATUS_INVALID_ARG, "n 0");
}

int main(void)
{
    RUN(test_parse);
    RUN(test_parse_errors);
    RUN(test_check);
    RUN(test_flips);
    RUN(test_rotate_90);
    RUN(test_rotate_square);
    RUN(test_rotate_crop_fills);
    RUN(test_crop_offsets);
    RUN(test_mask_follows);
    RUN(test_boxes_follow);
    RUN(test_boxes_dropped);
    RUN(test_signal_shift);
    RUN(test_colour);
    RUN(test_values);
    RUN(test_every_op_deterministic);
    RUN(test_tta);
    return cn_test_finish();
}
