/* cmd_augment.c — `convnet augment --data SPEC --out DIR`: a PNG grid of samples, the
 * originals in the first row and below them one row per augmentation (and a few draws of the
 * whole pipeline), so a person can see what each operation does. Masks are shown as a colour
 * overlay, boxes as outlines in their class colour, signals as line plots. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "convnet/augment.h"
#include "convnet/viz.h"

/* every operation, with parameters large enough to see */
static const char *const demo_image[] = {
    "hflip=1", "vflip=1", "rotate=30:min=15", "rotate=30:min=15:crop=0", "crop=6", "rrc=0.25", "translate=0.2", "zoom=0.3",
    "stretch=0.5", "hstretch=0.4", "vstretch=0.4", "barrel=0.3", "pincushion=0.3", "balance=0.4", "brightness=0.3",
    "contrast=0.6", "saturation=0.9", "hue=0.4", "exposure=1.5", "vignette=1", "blur=2:min=1", "noise=0.1", "erase=1",
    "erase=1:random=1", NULL};
static const char *const demo_signal[] = {"hflip=1", "shift=6", "shift=10:wrap=1", "translate=0.15", "hstretch=0.3", "crop=4",
                                          "scale=0.5", "noise=0.3", "blur=2:min=1", "erase=1", NULL};

static const unsigned char palette[8][3] = {{255, 80, 80}, {80, 220, 80}, {90, 140, 255}, {255, 220, 60},
                                            {230, 90, 230}, {60, 220, 220}, {255, 150, 50}, {180, 180, 180}};

typedef struct {
    char label[96];
    cn_augment *aug; /* NULL: the original */
    int64_t epoch;
} row;

typedef struct {
    int64_t c, d, h, w; /* sample as C x (D) x H x W; h = 1 for signals */
    int signal;
    int zoom;
    int tw, th;         /* tile size */
    float lo, hi;       /* signal value range */
} layout;

static void put(cn_image *im, int x, int y, const unsigned char *rgb)
{
    if (x < 0 || y < 0 || x >= im->w || y >= im->h) return;
    memcpy(im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 3, rgb, 3);
}

static void line(cn_image *im, int x0, int y0, int x1, int y1, const unsigned char *rgb)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, e = dx + dy;
    for (;;) {
        put(im, x0, y0, rgb);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * e;
        if (e2 >= dy) e += dy, x0 += sx;
        if (e2 <= dx) e += dx, y0 += sy;
    }
}

static unsigned char byte(float v)
{
    if (!(v > 0)) return 0;
    if (v >= 1) return 255;
    return (unsigned char)lrintf(v * 255.0f);
}

static void tile(cn_image *im, int ox, int oy, const layout *L, const cn_dataset_info *info, const float *x, const float *t)
{
    if (L->signal) {
        static const unsigned char bg[3] = {24, 24, 28}, axis[3] = {70, 70, 80};
        for (int y = 0; y < L->th; y++)
            for (int xx = 0; xx < L->tw; xx++) put(im, ox + xx, oy + y, bg);
        float span = L->hi > L->lo ? L->hi - L->lo : 1;
        int zero_y = oy + L->th - 1 - (int)lrintf((0 - L->lo) / span * (float)(L->th - 1));
        if (zero_y > oy && zero_y < oy + L->th) line(im, ox, zero_y, ox + L->tw - 1, zero_y, axis);
        for (int64_t c = 0; c < L->c && c < 8; c++) {
            int px = 0, py = 0;
            for (int64_t j = 0; j < L->w; j++) {
                int qx = ox + (int)(L->w > 1 ? j * (L->tw - 1) / (L->w - 1) : 0);
                float v = x[c * L->w + j];
                float f = (v - L->lo) / span;
                f = f < 0 ? 0 : f > 1 ? 1 : f;
                int qy = oy + L->th - 1 - (int)lrintf(f * (float)(L->th - 1));
                if (j) line(im, px, py, qx, qy, c ? palette[(c - 1) % 8] : (const unsigned char[3]){240, 240, 240});
                px = qx, py = qy;
            }
        }
        return;
    }
    const int64_t H = L->h, W = L->w, HW = H * W;
    const float *plane = x + (L->d > 1 ? (L->d / 2) * HW : 0); /* volumes: the middle slice */
    int64_t cstride = L->d * HW;
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < W; j++) {
            unsigned char rgb[3];
            if (L->c >= 3)
                for (int k = 0; k < 3; k++) rgb[k] = byte(plane[k * cstride + i * W + j]);
            else rgb[0] = rgb[1] = rgb[2] = byte(plane[i * W + j]);
            if (t && info->target_kind == CN_TARGET_DENSE_CLASS) {
                int cls = (int)t[i * W + j];
                if (cls > 0) /* class 0 (background) is left clear */
                    for (int k = 0; k < 3; k++) rgb[k] = (unsigned char)(0.55f * rgb[k] + 0.45f * palette[(cls - 1) % 8][k]);
            }
            for (int a = 0; a < L->zoom; a++)
                for (int b = 0; b < L->zoom; b++) put(im, ox + (int)j * L->zoom + b, oy + (int)i * L->zoom + a, rgb);
        }
    if (t && info->target_kind == CN_TARGET_BOXES)
        for (int64_t b = 0; b < info->target.dim[0]; b++) {
            const float *r = t + 5 * b;
            if (r[0] < 0) continue;
            int x0 = ox + (int)lrint((r[1] - r[3] / 2) * W * L->zoom), x1 = ox + (int)lrint((r[1] + r[3] / 2) * W * L->zoom) - 1;
            int y0 = oy + (int)lrint((r[2] - r[4] / 2) * H * L->zoom), y1 = oy + (int)lrint((r[2] + r[4] / 2) * H * L->zoom) - 1;
            const unsigned char *col = palette[(int)r[0] % 8];
            line(im, x0, y0, x1, y0, col), line(im, x1, y0, x1, y1, col), line(im, x1, y1, x0, y1, col), line(im, x0, y1, x0, y0, col);
        }
}

static void short_label(char *dst, size_t cap, const char *canonical)
{
    /* the operation and its main value: "rotate=30"; keep :crop=0 and :random=1 which change what it does */
    snprintf(dst, cap, "%s", canonical);
    char *colon = strchr(dst, ':');
    if (!colon) return;
    char extra[64] = "";
    if (strstr(canonical, ":crop=0")) snprintf(extra, sizeof extra, " NO CROP");
    if (strstr(canonical, ":random=1")) snprintf(extra, sizeof extra, " NOISE");
    if (strstr(canonical, ":wrap=1")) snprintf(extra, sizeof extra, " WRAP");
    *colon = '\0';
    size_t n = strlen(dst);
    snprintf(dst + n, cap - n, "%s", extra);
}

int cmd_augment(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *data = NULL, *out = NULL, *text = NULL, *split = "train";
    int n = 16, seed = 0, draws = 3, zoom = 0;
    cli_opt opts[] = {
        {"--data", OPT_STR, &data, "SPEC", "dataset (mnist1d, fashion-mnist, folder:DIR, synthetic-seg, ...)", 0},
        {"--out", OPT_STR, &out, "DIR", "folder for augment.png (created if missing)", 0},
        {"--n", OPT_INT, &n, "N", "samples per row (default 16), spread over the dataset", 0},
        {"--augment", OPT_STR, &text, "OPS", "pipeline to show, e.g. \"hflip,rotate=15,crop=4,jitter=0.2\" (default: every operation)", 0},
        {"--draws", OPT_INT, &draws, "K", "with --augment: rows of the whole pipeline, one epoch each (default 3)", 0},
        {"--split", OPT_STR, &split, "NAME", "train | test (default train)", 0},
        {"--seed", OPT_INT, &seed, "S", "augmentation seed (default 0)", 0},
        {"--zoom", OPT_INT, &zoom, "Z", "pixels per image pixel (default: images reach about 64 pixels)", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 0, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (!data) return cli_usage_error(cmd, "--data is required");
    if (!out) return cli_usage_error(cmd, "--out is required");
    if (n < 1 || n > 256) return cli_usage_error(cmd, "--n %d: expected 1..256", n);
    if (draws < 0 || draws > 32) return cli_usage_error(cmd, "--draws %d: expected 0..32", draws);
    if (zoom < 0 || zoom > 32) return cli_usage_error(cmd, "--zoom %d: expected 0..32 (0 = automatic)", zoom);
    if (seed < 0) return cli_usage_error(cmd, "--seed %d: must be >= 0", seed);
    if (strcmp(split, "train") && strcmp(split, "test")) return cli_usage_error(cmd, "--split '%s': expected train or test", split);

    cn_dataset *tr = NULL, *te = NULL;
    cn_augment *pipe = NULL;
    row rows[CN_AUGMENT_MAX_OPS + 40];
    int nrows = 0;
    float *x = NULL, *t = NULL, *scratch = NULL;
    int64_t *idx = NULL;
    cn_image canvas = {0};
    char path[4096];
    cn_status st = cn_dataset_open(&tr, !strcmp(split, "test") ? &te : NULL, data);
    const cn_dataset *d = !strcmp(split, "test") ? te : tr;
    if (st == CN_OK && !d) st = cn_set_error(CN_STATUS_NOT_FOUND, "%s has no test part", data);
    if (st != CN_OK) goto fail;
    const cn_dataset_info *info = cn_dataset_info_of(d);
    if (info->sample.ndim > 4) {
        st = cn_set_error(CN_STATUS_UNSUPPORTED, "%s: samples have %d dimensions; augment shows images, volumes and signals", info->name,
                          info->sample.ndim);
        goto fail;
    }
    /* rows */
    rows[nrows++] = (row){"ORIGINAL", NULL, 0};
    if (text) {
        if ((st = cn_augment_parse(&pipe, text)) != CN_OK || (st = cn_augment_check(pipe, info)) != CN_OK) goto fail;
        for (int k = 0; k < cn_augment_count(pipe); k++) {
            row r = {"", NULL, 0};
            char canon[256];
            if ((st = cn_augment_single(&r.aug, pipe, k)) != CN_OK) goto fail;
            short_label(r.label, sizeof r.label, cn_augment_str(r.aug, 0, canon, sizeof canon));
            rows[nrows++] = r;
        }
        for (int k = 0; k < draws && cn_augment_count(pipe); k++) {
            row r = {"", pipe, k};
            snprintf(r.label, sizeof r.label, "ALL, EPOCH %d", k);
            rows[nrows++] = r;
        }
    } else {
        int signal = info->sample.ndim <= 2;
        for (const char *const *p = signal ? demo_signal : demo_image; *p; p++) {
            row r = {"", NULL, 0};
            char canon[256];
            if ((st = cn_augment_parse(&r.aug, *p)) != CN_OK) goto fail;
            if (cn_augment_check(r.aug, info) != CN_OK) { /* e.g. hue on volumes: leave it out */
                cn_augment_destroy(r.aug);
                continue;
            }
            short_label(r.label, sizeof r.label, cn_augment_str(r.aug, 0, canon, sizeof canon));
            rows[nrows++] = r;
        }
    }
    /* layout */
    layout L;
    memset(&L, 0, sizeof L);
    const cn_shape *s = &info->sample;
    if (s->ndim <= 2) L = (layout){s->ndim == 2 ? s->dim[0] : 1, 1, 1, s->ndim == 2 ? s->dim[1] : s->dim[0], 1, 1, 0, 0, 0, 0};
    else if (s->ndim == 3) L = (layout){s->dim[0], 1, s->dim[1], s->dim[2], 0, 1, 0, 0, 0, 0};
    else L = (layout){s->dim[0], s->dim[1], s->dim[2], s->dim[3], 0, 1, 0, 0, 0, 0};
    if (L.signal) {
        L.tw = (int)(L.w * 3 < 120 ? 120 : L.w * 3 > 400 ? 400 : L.w * 3);
        L.th = 56;
    } else {
        int64_t side = L.h > L.w ? L.h : L.w;
        L.zoom = zoom ? zoom : (int)(side >= 64 ? 1 : (64 + side - 1) / side);
        if (L.zoom > 8 && !zoom) L.zoom = 8;
        if (L.w * L.zoom > 1024 || L.h * L.zoom > 1024) {
            st = cn_set_error(CN_STATUS_UNSUPPORTED, "%s: %lldx%lld images at zoom %d make tiles over 1024 pixels; lower --zoom", info->name,
                              (long long)L.h, (long long)L.w, L.zoom);
            goto fail;
        }
        L.tw = (int)(L.w * L.zoom), L.th = (int)(L.h * L.zoom);
    }
    if (n > info->n) n = (int)info->n;
    int64_t xs = cn_dataset_info_sample_size(info), ts = cn_dataset_info_target_size(info);
    idx = cn_malloc((size_t)n * sizeof(int64_t), "augment");
    x = cn_malloc((size_t)xs * sizeof(float), "augment");
    t = cn_malloc((size_t)(ts + 1) * sizeof(float), "augment");
    int64_t need = 1;
    for (int r = 1; r < nrows; r++) {
        int64_t k = cn_augment_scratch_size(rows[r].aug, info);
        need = k > need ? k : need;
    }
    scratch = cn_malloc((size_t)need * sizeof(float), "augment");
    if (!idx || !x || !t || !scratch) {
        st = CN_STATUS_NOMEM;
        goto fail;
    }
    for (int k = 0; k < n; k++) idx[k] = (int64_t)k * info->n / n;
    if (L.signal) { /* one value range for every tile: the originals', with a margin */
        L.lo = INFINITY, L.hi = -INFINITY;
        for (int k = 0; k < n; k++) {
            if ((st = cn_dataset_get(d, idx[k], x, t)) != CN_OK) goto fail;
            for (int64_t j = 0; j < xs; j++) L.lo = fminf(L.lo, x[j]), L.hi = fmaxf(L.hi, x[j]);
        }
        float m = 0.15f * (L.hi - L.lo);
        L.lo -= m, L.hi += m;
    }
    int label_w = 0;
    for (int r = 0; r < nrows; r++) {
        int w = cn_image_text_width(rows[r].label, 1);
        label_w = w > label_w ? w : label_w;
    }
    label_w += 12;
    const int gap = 3;
    int width = label_w + n * (L.tw + gap) + gap, height = nrows * (L.th + gap) + gap;
    if ((st = cn_image_alloc(&canvas, width, height, 3, 40)) != CN_OK) goto fail;
    static const unsigned char white[3] = {235, 235, 235};
    for (int r = 0; r < nrows; r++) {
        int oy = gap + r * (L.th + gap);
        cn_image_text(&canvas, 6, oy + L.th / 2 - 3, rows[r].label, 1, white);
        for (int k = 0; k < n; k++) {
            if ((st = cn_dataset_get(d, idx[k], x, ts ? t : NULL)) != CN_OK) goto fail;
            if (rows[r].aug) {
                cn_rng rng;
                cn_augment_rng(&rng, (uint64_t)seed, rows[r].epoch, idx[k]);
                cn_augment_apply(rows[r].aug, info, x, ts ? t : NULL, &rng, scratch);
            }
            tile(&canvas, label_w + k * (L.tw + gap), oy, &L, info, x, ts ? t : NULL);
        }
    }
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        st = cn_set_error(CN_STATUS_IO, "%s: cannot create the folder: %s", out, strerror(errno));
        goto fail;
    }
    snprintf(path, sizeof path, "%s/augment.png", out);
    if ((st = cn_image_save_png(path, canvas.px, canvas.w, canvas.h, 3)) != CN_OK) goto fail;
    if (g->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "out", path);
        cJSON_AddStringToObject(o, "dataset", info->name);
        cJSON_AddNumberToObject(o, "width", width);
        cJSON_AddNumberToObject(o, "height", height);
        cJSON *ra = cJSON_AddArrayToObject(o, "rows");
        for (int r = 0; r < nrows; r++) {
            char canon[512] = "";
            if (rows[r].aug) cn_augment_str(rows[r].aug, -1, canon, sizeof canon);
            cJSON_AddItemToArray(ra, cJSON_CreateString(rows[r].aug ? canon : "original"));
        }
        cJSON *sa = cJSON_AddArrayToObject(o, "samples");
        for (int k = 0; k < n; k++) cJSON_AddItemToArray(sa, cJSON_CreateNumber((double)idx[k]));
        rc = cli_print_json(o);
    } else {
        cn_log(CN_LOG_INFO, "wrote %s: %d rows (the originals and %d augmentations) of %d samples of %s", path, nrows, nrows - 1, n,
               info->name);
        rc = CLI_OK;
    }
    goto done;
fail:
    rc = cli_fail(cmd, g, st);
done:
    for (int r = 1; r < nrows; r++)
        if (rows[r].aug != pipe) cn_augment_destroy(rows[r].aug);
    cn_augment_destroy(pipe);
    cn_image_free(&canvas);
    cn_free(idx), cn_free(x), cn_free(t), cn_free(scratch);
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
    return rc;
}
