/* synthetic.c — seeded synthetic datasets for dense prediction: segmentation (random shapes
 * with a per-pixel class mask) and detection (objects on a canvas with classes and boxes).
 *
 * Sample i of part p (0 train, 1 test) is drawn from the Philox stream keyed by the seed,
 * stream CN_STREAM_DATA + ((2 kind + p + 1) << 32), words from i << 32: it is generated on
 * request, costs no memory, and is the same at any thread count or access order. Shapes are
 * drawn by testing pixel centres against their exact outlines; a detection box is the bounds
 * of the pixels its object painted (whole pixels), or of an item's pixels above 0.1. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convnet/data.h"
#include "data/fastrand.h"
#include "data/spec.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum { KIND_SEG = 0, KIND_DET = 1 };
enum { SHAPE_DISC, SHAPE_RECT, SHAPE_TRI, SHAPE_COUNT };

typedef struct {
    int kind, part;
    uint64_t seed;
    int64_t n, h, w, c;
    int64_t shapes;    /* seg: at most this many shapes; det: objects */
    double noise;
    int64_t max_boxes, min_size, max_size;
    int fashion;       /* det: paste Fashion-MNIST items */
    const unsigned char *items; /* fashion: n_items x 28 x 28 items of this part */
    const int64_t *item_labels;
    int64_t n_items;
    unsigned char *items_owned; /* the same, owned */
    int64_t *labels_owned;
} synth;

static void rng_for(const synth *s, int64_t i, cn_rng *r)
{
    cn_rng_init(r, s->seed, (uint64_t)CN_STREAM_DATA + ((uint64_t)(2 * s->kind + s->part + 1) << 32));
    cn_rng_seek(r, (uint64_t)i << 32);
}

static double u(cn_rng *r, double lo, double hi) { return lo + (hi - lo) * cn_rng_uniform_f64(r); }

/* a shape in pixel coordinates */
typedef struct {
    int type;
    double cx, cy, rx, ry; /* disc: radius rx; rect: half sizes rx, ry */
    double tx[3], ty[3];   /* triangle */
} shape;

static int inside(const shape *s, double x, double y)
{
    switch (s->type) {
    case SHAPE_DISC: return (x - s->cx) * (x - s->cx) + (y - s->cy) * (y - s->cy) <= s->rx * s->rx;
    case SHAPE_RECT: return fabs(x - s->cx) <= s->rx && fabs(y - s->cy) <= s->ry;
    default: {
        double d[3];
        for (int k = 0; k < 3; k++) {
            int m = (k + 1) % 3;
            d[k] = (s->tx[m] - s->tx[k]) * (y - s->ty[k]) - (s->ty[m] - s->ty[k]) * (x - s->tx[k]);
        }
        return (d[0] >= 0 && d[1] >= 0 && d[2] >= 0) || (d[0] <= 0 && d[1] <= 0 && d[2] <= 0);
    }
    }
}

static void background(const synth *s, cn_rng *r, float *x, float base[4])
{
    int64_t H = s->h, W = s->w, HW = H * W;
    double gx = u(r, -0.2, 0.2), gy = u(r, -0.2, 0.2);
    /* base +- 0.2 of gradient stays inside [0.05, 0.95]: nothing clips before the noise */
    for (int64_t c = 0; c < s->c; c++) base[c] = (float)u(r, 0.25, 0.75);
    for (int64_t c = 0; c < s->c; c++)
        for (int64_t i = 0; i < H; i++)
            for (int64_t j = 0; j < W; j++)
                x[c * HW + i * W + j] = base[c] + (float)(gx * ((j + 0.5) / W - 0.5) + gy * ((i + 0.5) / H - 0.5));
}

/* a colour at least 0.3 away (max over channels) from the background's */
static void colour(const synth *s, cn_rng *r, const float base[4], float col[4])
{
    for (int attempt = 0; attempt < 16; attempt++) {
        float d = 0;
        for (int64_t c = 0; c < s->c; c++) {
            col[c] = (float)u(r, 0, 1);
            d = fmaxf(d, fabsf(col[c] - base[c]));
        }
        if (d >= 0.3f) return;
    }
    for (int64_t c = 0; c < s->c; c++) col[c] = base[c] > 0.5f ? 0.0f : 1.0f;
}

/* the pixel rows and columns a shape can touch */
static void shape_bounds(const shape *sh, int64_t H, int64_t W, int64_t *i0, int64_t *i1, int64_t *j0, int64_t *j1)
{
    double x0, x1, y0, y1;
    if (sh->type == SHAPE_TRI) {
        x0 = fmin(sh->tx[0], fmin(sh->tx[1], sh->tx[2])), x1 = fmax(sh->tx[0], fmax(sh->tx[1], sh->tx[2]));
        y0 = fmin(sh->ty[0], fmin(sh->ty[1], sh->ty[2])), y1 = fmax(sh->ty[0], fmax(sh->ty[1], sh->ty[2]));
    } else {
        double ry = sh->type == SHAPE_DISC ? sh->rx : sh->ry;
        x0 = sh->cx - sh->rx, x1 = sh->cx + sh->rx, y0 = sh->cy - ry, y1 = sh->cy + ry;
    }
    *j0 = (int64_t)floor(x0) - 1, *j1 = (int64_t)ceil(x1) + 1, *i0 = (int64_t)floor(y0) - 1, *i1 = (int64_t)ceil(y1) + 1;
    if (*j0 < 0) *j0 = 0;
    if (*i0 < 0) *i0 = 0;
    if (*j1 > W) *j1 = W;
    if (*i1 > H) *i1 = H;
}

/* paint the pixels whose centres are inside the shape; box[4] receives the painted pixels'
 * bounds x0, y0, x1, y1 (x1, y1 exclusive); returns 0 if no pixel was painted */
static int paint(const synth *s, const shape *sh, const float col[4], float *x, float *mask, float cls, double box[4])
{
    int64_t H = s->h, W = s->w, HW = H * W;
    int64_t x0 = W, y0 = H, x1 = -1, y1 = -1, ib, ie, jb, je;
    shape_bounds(sh, H, W, &ib, &ie, &jb, &je);
    for (int64_t i = ib; i < ie; i++)
        for (int64_t j = jb; j < je; j++)
            if (inside(sh, j + 0.5, i + 0.5)) {
                for (int64_t c = 0; c < s->c; c++) x[c * HW + i * W + j] = col[c];
                if (mask) mask[i * W + j] = cls;
                x0 = j < x0 ? j : x0, x1 = j > x1 ? j : x1, y0 = i < y0 ? i : y0, y1 = i > y1 ? i : y1;
            }
    if (x1 < 0) return 0;
    box[0] = (double)x0, box[1] = (double)y0, box[2] = (double)(x1 + 1), box[3] = (double)(y1 + 1);
    return 1;
}

/* a shape of `type` filling the box [x0, x0+bw] x [y0, y0+bh] as tightly as its outline allows */
static shape shape_in_box(int type, double x0, double y0, double bw, double bh, cn_rng *r)
{
    shape sh = {type, x0 + bw / 2, y0 + bh / 2, bw / 2, bh / 2, {0}, {0}};
    if (type == SHAPE_DISC) sh.rx = sh.ry = fmin(bw, bh) / 2;
    if (type == SHAPE_TRI) {
        /* apex on the top edge, base on the bottom edge */
        double apex = x0 + bw * u(r, 0.2, 0.8);
        sh.tx[0] = apex, sh.ty[0] = y0;
        sh.tx[1] = x0 + bw, sh.ty[1] = y0 + bh;
        sh.tx[2] = x0, sh.ty[2] = y0 + bh;
    }
    return sh;
}

static void add_noise(const synth *s, cn_rng *r, float *x)
{
    int64_t n = s->c * s->h * s->w;
    if (s->noise > 0) cn_noise_fill(r, x, n, 0.0f, (float)s->noise, 0);
    for (int64_t k = 0; k < n; k++) x[k] = x[k] < 0 ? 0 : x[k] > 1 ? 1 : x[k];
}


static cn_status seg_get(void *self, int64_t i, float *x, float *t)
{
    const synth *s = self;
    cn_rng r;
    rng_for(s, i, &r);
    float base[4], col[4];
    background(s, &r, x, base);
    if (t) memset(t, 0, (size_t)(s->h * s->w) * sizeof(float));
    int64_t k = 1 + cn_rng_below(&r, (uint32_t)s->shapes);
    double side = (double)(s->h < s->w ? s->h : s->w);
    for (int64_t q = 0; q < k; q++) {
        int type = (int)cn_rng_below(&r, SHAPE_COUNT);
        double rad = u(&r, 0.08, 0.25) * side;
        double cx = u(&r, 0, s->w), cy = u(&r, 0, s->h);
        shape sh = {type, cx, cy, rad, rad * u(&r, 0.5, 1), {0}, {0}};
        if (type == SHAPE_RECT) sh.rx = rad * u(&r, 0.5, 1);
        if (type == SHAPE_TRI) {
            double a0 = u(&r, 0, 2 * M_PI);
            for (int v = 0; v < 3; v++) {
                double a = a0 + v * 2 * M_PI / 3 + u(&r, -0.3, 0.3);
                sh.tx[v] = cx + rad * cos(a), sh.ty[v] = cy + rad * sin(a);
            }
        }
        colour(s, &r, base, col);
        double unused[4];
        paint(s, &sh, col, x, t, (float)(type + 1), unused);
    }
    add_noise(s, &r, x);
    return CN_OK;
}

static double iou(const double *a, const double *b)
{
    double ix = fmin(a[2], b[2]) - fmax(a[0], b[0]), iy = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    if (ix <= 0 || iy <= 0) return 0;
    double in = ix * iy, ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - in;
    return in / ua;
}

/* paste a Fashion-MNIST item scaled to `size` pixels with its top-left at (x0, y0) (bilinear,
 * max-blended); returns its tight box (pixels above 0.1) in box[4] = x0, y0, x1, y1, or 0 if
 * nothing shows */
static int paste_item(const synth *s, const unsigned char *item, double x0, double y0, double size, float *x, double box[4])
{
    int64_t H = s->h, W = s->w;
    double lo_x = INFINITY, lo_y = INFINITY, hi_x = -INFINITY, hi_y = -INFINITY;
    int64_t i0 = (int64_t)floor(y0), i1 = (int64_t)ceil(y0 + size), j0 = (int64_t)floor(x0), j1 = (int64_t)ceil(x0 + size);
    for (int64_t i = i0 < 0 ? 0 : i0; i < i1 && i < H; i++)
        for (int64_t j = j0 < 0 ? 0 : j0; j < j1 && j < W; j++) {
            double sx = (j + 0.5 - x0) / size * 28 - 0.5, sy = (i + 0.5 - y0) / size * 28 - 0.5;
            if (sx < -0.5 || sy < -0.5 || sx > 27.5 || sy > 27.5) continue;
            int a = (int)floor(sx), b = (int)floor(sy);
            double fx = sx - a, fy = sy - b;
            double v = 0;
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) {
                    int yy = b + dy, xx = a + dx;
                    if (yy < 0 || yy > 27 || xx < 0 || xx > 27) continue;
                    v += (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy) * item[yy * 28 + xx] / 255.0;
                }
            if (v > x[i * W + j]) x[i * W + j] = (float)v;
            if (v > 0.1) lo_x = fmin(lo_x, j), hi_x = fmax(hi_x, j + 1), lo_y = fmin(lo_y, i), hi_y = fmax(hi_y, i + 1);
        }
    if (!(hi_x > lo_x)) return 0;
    box[0] = lo_x, box[1] = lo_y, box[2] = hi_x, box[3] = hi_y;
    return 1;
}

static cn_status det_get(void *self, int64_t i, float *x, float *t)
{
    const synth *s = self;
    cn_rng r;
    rng_for(s, i, &r);
    int64_t H = s->h, W = s->w;
    float base[4], col[4];
    if (s->fashion) {
        memset(x, 0, (size_t)(H * W) * sizeof(float));
        base[0] = 0;
    } else background(s, &r, x, base);
    float *rows = t; /* (max_boxes, 5) */
    double boxes[64][4];
    int nb = 0;
    int64_t k = 1 + cn_rng_below(&r, (uint32_t)s->shapes);
    for (int64_t q = 0; q < k && nb < s->max_boxes && nb < 64; q++) {
        /* place without overlapping an earlier box by more than IoU 0.3 */
        double b[4] = {0}, size = 0, bw = 0, bh = 0;
        int ok = 0;
        for (int attempt = 0; attempt < 20 && !ok; attempt++) {
            size = u(&r, (double)s->min_size, (double)s->max_size);
            bw = s->fashion ? size : size * u(&r, 0.6, 1), bh = size;
            if (bw > W) bw = W;
            if (bh > H) bh = H;
            b[0] = u(&r, 0, W - bw), b[1] = u(&r, 0, H - bh), b[2] = b[0] + bw, b[3] = b[1] + bh;
            ok = 1;
            for (int e = 0; e < nb; e++)
                if (iou(b, boxes[e]) > 0.3) ok = 0;
        }
        if (!ok) continue;
        int cls;
        if (s->fashion) {
            int64_t item = (int64_t)cn_rng_below(&r, (uint32_t)s->n_items);
            cls = (int)s->item_labels[item];
            double tight[4];
            if (!paste_item(s, s->items + item * 784, b[0], b[1], size, x, tight)) continue;
            memcpy(b, tight, sizeof tight);
        } else {
            cls = (int)cn_rng_below(&r, SHAPE_COUNT);
            shape sh = shape_in_box(cls, b[0], b[1], bw, bh, &r);
            colour(s, &r, base, col);
            /* the box is the painted pixels' bounds (tight, whole pixels) */
            if (!paint(s, &sh, col, x, NULL, 0, b)) continue;
        }
        memcpy(boxes[nb], b, sizeof b);
        if (rows) {
            float *row = rows + 5 * nb;
            row[0] = (float)cls;
            row[1] = (float)((b[0] + b[2]) / 2 / W), row[2] = (float)((b[1] + b[3]) / 2 / H);
            row[3] = (float)((b[2] - b[0]) / W), row[4] = (float)((b[3] - b[1]) / H);
        }
        nb++;
    }
    if (rows)
        for (int64_t e = nb; e < s->max_boxes; e++) rows[5 * e] = -1, rows[5 * e + 1] = rows[5 * e + 2] = rows[5 * e + 3] = rows[5 * e + 4] = 0;
    add_noise(s, &r, x);
    return CN_OK;
}

static void synth_destroy(void *self)
{
    synth *s = self;
    if (!s) return;
    cn_free(s->items_owned);
    cn_free(s->labels_owned);
    cn_free(s);
}

static const char *const seg_names[4] = {"background", "disc", "rectangle", "triangle"};
static const char *const det_names[3] = {"disc", "rectangle", "triangle"};

/* a dataset over `proto` for one part; takes ownership of items and labels (fashion) */
static cn_status make(cn_dataset **out, const synth *proto, int part, int64_t n, const char *name, unsigned char *items,
                      int64_t *labels, int64_t n_items)
{
    synth *s = cn_malloc(sizeof *s, name);
    if (!s) {
        cn_free(items), cn_free(labels);
        return CN_STATUS_NOMEM;
    }
    *s = *proto;
    s->part = part, s->n = n;
    s->items = s->items_owned = items;
    s->item_labels = s->labels_owned = labels;
    s->n_items = n_items;
    cn_dataset_info info = {0};
    info.n = n;
    info.sample = (cn_shape){3, {s->c, s->h, s->w}};
    snprintf(info.name, sizeof info.name, "%s", name);
    if (s->kind == KIND_SEG) {
        info.target_kind = CN_TARGET_DENSE_CLASS;
        info.target = (cn_shape){2, {s->h, s->w}};
        info.num_classes = 4;
    } else {
        info.target_kind = CN_TARGET_BOXES;
        info.target = (cn_shape){2, {s->max_boxes, 5}};
        info.num_classes = s->fashion ? 10 : SHAPE_COUNT;
    }
    static const cn_dataset_ops seg_ops = {seg_get, synth_destroy}, det_ops = {det_get, synth_destroy};
    cn_status st = cn_dataset_create(out, &info, s->kind == KIND_SEG ? &seg_ops : &det_ops, s);
    if (st != CN_OK) return st;
    if (s->kind == KIND_SEG) st = cn_dataset_set_class_names(*out, seg_names, 4);
    else st = cn_dataset_set_class_names(*out, s->fashion ? cn_fashion_classes : det_names, info.num_classes);
    if (st != CN_OK) {
        cn_dataset_destroy(*out);
        *out = NULL;
    }
    return st;
}

/* Fashion-MNIST items of one part as bytes */
static cn_status load_items(const char *prefix, unsigned char **items, int64_t **labels, int64_t *n)
{
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", CN_FASHION_DIR, prefix);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", CN_FASHION_DIR, prefix);
    cn_idx img, lab;
    cn_status st = cn_idx_load_pair(&img, &lab, ip, lp);
    if (st != CN_OK)
        return cn_set_error(st, "synthetic-det: source=fashion needs Debian's dataset-fashion-mnist: %s", cn_last_error());
    if (img.ndim != 3 || img.dims[1] != 28 || img.dims[2] != 28) {
        st = cn_set_error(CN_STATUS_SHAPE, "%s: expected 28 x 28 images", ip);
    } else {
        *n = img.dims[0];
        *items = cn_malloc((size_t)img.numel, "fashion items");
        *labels = cn_malloc((size_t)*n * sizeof(int64_t), "fashion items");
        if (!*items || !*labels) {
            cn_free(*items), cn_free(*labels);
            *items = NULL, *labels = NULL;
            st = CN_STATUS_NOMEM;
        } else {
            for (int64_t k = 0; k < img.numel; k++) (*items)[k] = (unsigned char)img.f32[k];
            for (int64_t k = 0; k < *n; k++) (*labels)[k] = lab.i64[k] >= 0 && lab.i64[k] < 10 ? lab.i64[k] : 0;
        }
    }
    cn_idx_free(&img);
    cn_idx_free(&lab);
    return st;
}

static cn_status open_synth(cn_dataset **train, cn_dataset **test, const char *opts, int kind)
{
    const char *what = kind == KIND_SEG ? "synthetic-seg" : "synthetic-det";
    static const char *const seg_keys[] = {"n", "test", "size", "channels", "seed", "shapes", "noise", NULL};
    static const char *const det_keys[] = {"n", "test", "size", "channels", "seed", "objects", "max_boxes", "source", "min_size", "max_size",
                                           "noise", NULL};
    static const char *const sources[] = {"shapes", "fashion", NULL};
    spec_opts o;
    cn_status st = spec_parse(&o, what, opts, kind == KIND_SEG ? seg_keys : det_keys);
    if (st != CN_OK) return st;
    synth s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    int64_t ntr, nte, seed;
    int source = 0;
    if ((st = spec_int(&o, "n", 2000, 1, 100000000, &ntr)) != CN_OK || (st = spec_int(&o, "test", 400, 0, 100000000, &nte)) != CN_OK ||
        (st = spec_size(&o, "size", 64, 64, &s.h, &s.w)) != CN_OK || (st = spec_int(&o, "seed", 1, 0, INT64_MAX, &seed)) != CN_OK ||
        (st = spec_double(&o, "noise", 0.05, 0, 1, &s.noise)) != CN_OK)
        return st;
    s.seed = (uint64_t)seed;
    if (kind == KIND_SEG) {
        if ((st = spec_int(&o, "channels", 3, 1, 4, &s.c)) != CN_OK || (st = spec_int(&o, "shapes", 4, 1, 64, &s.shapes)) != CN_OK) return st;
    } else {
        if ((st = spec_choice(&o, "source", sources, 0, &source)) != CN_OK ||
            (st = spec_int(&o, "objects", 4, 1, 64, &s.shapes)) != CN_OK ||
            (st = spec_int(&o, "max_boxes", 8, 1, 64, &s.max_boxes)) != CN_OK ||
            (st = spec_int(&o, "min_size", 12, 2, 16384, &s.min_size)) != CN_OK ||
            (st = spec_int(&o, "max_size", 32, 2, 16384, &s.max_size)) != CN_OK ||
            (st = spec_int(&o, "channels", source == 1 ? 1 : 3, 1, 4, &s.c)) != CN_OK)
            return st;
        if (s.min_size > s.max_size)
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s: min_size=%lld is above max_size=%lld", what, (long long)s.min_size,
                                (long long)s.max_size);
        if (s.max_size > s.h || s.max_size > s.w)
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s: max_size=%lld does not fit a %lldx%lld canvas", what, (long long)s.max_size,
                                (long long)s.h, (long long)s.w);
        if (s.shapes > s.max_boxes)
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s: objects=%lld is above max_boxes=%lld", what, (long long)s.shapes,
                                (long long)s.max_boxes);
        s.fashion = source == 1;
        if (s.fashion && s.c != 1)
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s: source=fashion draws gray items; channels must be 1", what);
    }
    char tn[64], vn[64];
    snprintf(tn, sizeof tn, "%s/train", what);
    snprintf(vn, sizeof vn, "%s/test", what);
    unsigned char *items[2] = {NULL, NULL};
    int64_t *labels[2] = {NULL, NULL}, nitems[2] = {0, 0};
    if (s.fashion) {
        if ((st = load_items("train", &items[0], &labels[0], &nitems[0])) != CN_OK) return st;
        if (test && nte > 0 && (st = load_items("t10k", &items[1], &labels[1], &nitems[1])) != CN_OK) {
            cn_free(items[0]), cn_free(labels[0]);
            return st;
        }
    }
    st = make(train, &s, 0, ntr, tn, items[0], labels[0], nitems[0]);
    if (st != CN_OK || !test || nte == 0) {
        cn_free(items[1]), cn_free(labels[1]);
        return st;
    }
    if ((st = make(test, &s, 1, nte, vn, items[1], labels[1], nitems[1])) != CN_OK) {
        cn_dataset_destroy(*train);
        *train = NULL;
    }
    return st;
}

cn_status cn_open_synthetic_seg(cn_dataset **train, cn_dataset **test, const char *opts)
{
    return open_synth(train, test, opts, KIND_SEG);
}

cn_status cn_open_synthetic_det(cn_dataset **train, cn_dataset **test, const char *opts)
{
    return open_synth(train, test, opts, KIND_DET);
}
