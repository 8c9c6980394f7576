/* darknet_layers.c — Darknet's layers with semantics of their own:
 *   shortcut  y = a, then y[c, h*s_out, w*s_out] += b[c, h*s_in, w*s_in] over the channels and
 *             positions both have (Darknet's shortcut_cpu): with equal shapes a residual sum;
 *             from a larger b it samples every s_in-th position (s_in = b.W / a.W), into a larger
 *             a it writes every s_out-th (s_out = a.W / b.W), and the extra channels of the wider
 *             one are left alone. Inputs: a (the previous layer, whose shape y takes), b (`from`).
 *   crop      the centre crop Darknet applies at inference ((H - height)/2, (W - width)/2), with
 *             its rescaling y = x * scale + shift (Darknet: 2 and -1, i.e. [0,1] → [-1,1];
 *             noadjust: 1 and 0).
 *   yolo, region  Darknet's detection output layers (below). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layer.h"

/* ---- shortcut ---- */
typedef struct {
    int64_t n, c1, h1, w1, c2, h2, w2; /* a (output) and b (added) */
    int64_t stride, sample, minc, minh, minw;
} shortcut_state;

static const cn_opt_spec shortcut_opts[] = {{NULL}};

static cn_status shortcut_plan(cn_layer *l, cn_layer_plan *p)
{
    shortcut_state *s = l->state;
    const cn_shape *a = &l->in[0], *b = &l->in[1];
    if (a->ndim != 4 || b->ndim != 4 || a->dim[0] != b->dim[0])
        return cn_set_error(CN_STATUS_SHAPE, "shortcut '%s': inputs %s and %s must be NCHW with one batch size", l->name, cn_shape_text(a),
                            cn_shape_text(b));
    s->n = a->dim[0], s->c1 = a->dim[1], s->h1 = a->dim[2], s->w1 = a->dim[3];
    s->c2 = b->dim[1], s->h2 = b->dim[2], s->w2 = b->dim[3];
    s->stride = s->w2 / s->w1, s->sample = s->w1 / s->w2;
    if (s->stride < 1) s->stride = 1;
    if (s->sample < 1) s->sample = 1;
    if (s->h2 / s->h1 != (s->w2 / s->w1) || s->h1 / s->h2 != (s->w1 / s->w2))
        return cn_set_error(CN_STATUS_SHAPE, "shortcut '%s': %s and %s scale differently in height and width", l->name, cn_shape_text(a),
                            cn_shape_text(b));
    s->minc = s->c1 < s->c2 ? s->c1 : s->c2;
    s->minh = s->h1 < s->h2 ? s->h1 : s->h2;
    s->minw = s->w1 < s->w2 ? s->w1 : s->w2;
    p->out = *a;
    p->macs = cn_shape_numel(a);
    return CN_OK;
}

/* the offsets of the pairs (out, add) that shortcut_cpu combines */
#define SHORTCUT_EACH(body)                                                                                               \
    for (int64_t b = 0; b < s->n; b++)                                                                                    \
        for (int64_t k = 0; k < s->minc; k++)                                                                             \
            for (int64_t j = 0; j < s->minh; j++)                                                                         \
                for (int64_t i = 0; i < s->minw; i++) {                                                                   \
                    int64_t oi = i * s->sample + s->w1 * (j * s->sample + s->h1 * (k + s->c1 * b));                       \
                    int64_t ai = i * s->stride + s->w2 * (j * s->stride + s->h2 * (k + s->c2 * b));                       \
                    body;                                                                                                 \
                }

static void shortcut_forward(cn_layer *l, const cn_layer_run *r)
{
    const shortcut_state *s = l->state;
    memcpy(r->y, r->x[0], (size_t)(s->n * s->c1 * s->h1 * s->w1) * sizeof(float));
    const float *add = r->x[1];
    float *y = r->y;
    SHORTCUT_EACH(y[oi] += add[ai])
}

static void shortcut_backward(cn_layer *l, const cn_layer_run *r)
{
    const shortcut_state *s = l->state;
    /* y = a; y[oi] += b[ai]  →  da += dy;  db[ai] += dy[oi] */
    if (r->dx[0])
        for (int64_t q = 0; q < s->n * s->c1 * s->h1 * s->w1; q++) r->dx[0][q] += r->dy[q];
    float *db = r->dx[1];
    const float *dy = r->dy;
    if (db) SHORTCUT_EACH(db[ai] += dy[oi])
}

const cn_layer_ops cn_layer_shortcut = {
    .name = "shortcut", .summary = "Darknet shortcut: a + b over the channels and positions both have (b sampled to a's grid)",
    .min_inputs = 2, .max_inputs = 2, .opts = shortcut_opts, .cfg_size = 1, .state_size = sizeof(shortcut_state),
    .plan = shortcut_plan, .forward = shortcut_forward, .backward = shortcut_backward,
};

/* ---- crop ---- */
typedef struct {
    int64_t height, width;
    double scale, shift;
} crop_cfg;

typedef struct {
    int64_t planes, h, w, oh, ow, dh, dw;
} crop_state;

static const cn_opt_spec crop_opts[] = {
    {"height", CN_OPT_INT, offsetof(crop_cfg, height), NULL, NULL, "output height (centre crop)"},
    {"width", CN_OPT_INT, offsetof(crop_cfg, width), NULL, NULL, "output width (centre crop)"},
    {"scale", CN_OPT_FLOAT, offsetof(crop_cfg, scale), "2", NULL, "y = x * scale + shift (Darknet: 2)"},
    {"shift", CN_OPT_FLOAT, offsetof(crop_cfg, shift), "-1", NULL, "y = x * scale + shift (Darknet: -1)"},
    {NULL},
};

static cn_status crop_plan(cn_layer *l, cn_layer_plan *p)
{
    const crop_cfg *c = l->cfg;
    crop_state *s = l->state;
    const cn_shape *in = &l->in[0];
    if (in->ndim != 4) return cn_set_error(CN_STATUS_SHAPE, "crop '%s': input %s must be NCHW", l->name, cn_shape_text(in));
    if (c->height < 1 || c->width < 1 || c->height > in->dim[2] || c->width > in->dim[3])
        return cn_set_error(CN_STATUS_SHAPE, "crop '%s': %lldx%lld does not fit in input %s", l->name, (long long)c->height,
                            (long long)c->width, cn_shape_text(in));
    s->planes = in->dim[0] * in->dim[1], s->h = in->dim[2], s->w = in->dim[3];
    s->oh = c->height, s->ow = c->width;
    s->dh = (s->h - s->oh) / 2, s->dw = (s->w - s->ow) / 2;
    p->out = (cn_shape){4, {in->dim[0], in->dim[1], s->oh, s->ow}};
    return CN_OK;
}

static void crop_forward(cn_layer *l, const cn_layer_run *r)
{
    const crop_cfg *c = l->cfg;
    const crop_state *s = l->state;
    float sc = (float)c->scale, sh = (float)c->shift;
    for (int64_t q = 0; q < s->planes; q++)
        for (int64_t i = 0; i < s->oh; i++)
            for (int64_t j = 0; j < s->ow; j++)
                r->y[(q * s->oh + i) * s->ow + j] = r->x[0][(q * s->h + i + s->dh) * s->w + j + s->dw] * sc + sh;
}

static void crop_backward(cn_layer *l, const cn_layer_run *r)
{
    const crop_cfg *c = l->cfg;
    const crop_state *s = l->state;
    /* y[i, j] = x[i + dh, j + dw] * scale + shift  →  dx[i + dh, j + dw] += dy[i, j] * scale */
    if (!r->dx[0]) return;
    for (int64_t q = 0; q < s->planes; q++)
        for (int64_t i = 0; i < s->oh; i++)
            for (int64_t j = 0; j < s->ow; j++)
                r->dx[0][(q * s->h + i + s->dh) * s->w + j + s->dw] += r->dy[(q * s->oh + i) * s->ow + j] * (float)c->scale;
}

const cn_layer_ops cn_layer_crop = {
    .name = "crop", .summary = "centre crop with rescaling (Darknet's [crop] at inference)",
    .min_inputs = 1, .max_inputs = 1, .opts = crop_opts, .cfg_size = sizeof(crop_cfg), .state_size = sizeof(crop_state),
    .plan = crop_plan, .forward = crop_forward, .backward = crop_backward,
};

/* ---- yolo and region ----
 * Darknet's detection output layers, as output layers that carry their anchors
 * (for whoever decodes the boxes) and apply Darknet's output activations:
 *   yolo    (YOLOv3) input (N, n*(5 + classes), H, W), n = the number of `mask` entries:
 *           for each of the n boxes, the logistic of entries 0, 1 (x, y) and 4.. (objectness and
 *           classes); w, h (entries 2, 3) pass through. As forward_yolo_layer does.
 *   region  (YOLOv2) input (N, num*(coords + 1 + classes), H, W): per box the logistic of
 *           entries 0, 1 (x, y) and of the objectness (entry `coords`), then with softmax = true
 *           a softmax over the classes at each position (else their logistic). As
 *           forward_region_layer does (background = 0, no softmax tree).
 * Training losses for them are other layers' business (yolo_loss); these are the inference
 * outputs, differentiable (dx = dy times the activations' derivatives). */
typedef struct {
    int64_t classes, num, coords;
    cn_ints mask;
    cn_floats anchors;
    int softmax;
} detect_cfg;

typedef struct {
    int region;
    int64_t n, boxes, entries, hw, c; /* batch, boxes per position, entries per box, H*W, channels */
} detect_state;

static const cn_opt_spec yolo_opts[] = {
    {"classes", CN_OPT_INT, offsetof(detect_cfg, classes), NULL, NULL, "object classes"},
    {"mask", CN_OPT_INTS, offsetof(detect_cfg, mask), NULL, NULL, "indices of the anchors this layer predicts (one box each)"},
    {"anchors", CN_OPT_FLOATS, offsetof(detect_cfg, anchors), NULL, NULL, "anchor sizes w,h,w,h,... in input pixels (all of them)"},
    {"num", CN_OPT_INT, offsetof(detect_cfg, num), "0", NULL, "total anchors (0 = anchors / 2)"},
    {NULL},
};

static const cn_opt_spec region_opts[] = {
    {"classes", CN_OPT_INT, offsetof(detect_cfg, classes), NULL, NULL, "object classes"},
    {"num", CN_OPT_INT, offsetof(detect_cfg, num), NULL, NULL, "boxes per position (anchors)"},
    {"coords", CN_OPT_INT, offsetof(detect_cfg, coords), "4", NULL, "box coordinates per box"},
    {"anchors", CN_OPT_FLOATS, offsetof(detect_cfg, anchors), "", NULL, "anchor sizes w,h,... in grid cells"},
    {"softmax", CN_OPT_BOOL, offsetof(detect_cfg, softmax), "true", NULL, "softmax over the classes (else logistic)"},
    {NULL},
};

static cn_status plan_kind(cn_layer *l, cn_layer_plan *p, int region)
{
    const detect_cfg *c = l->cfg;
    detect_state *s = l->state;
    const cn_shape *in = &l->in[0];
    const char *t = region ? "region" : "yolo";
    if (in->ndim != 4)
        return cn_set_error(CN_STATUS_SHAPE, "%s '%s': input %s must be NCHW", t, l->name, cn_shape_text(in));
    if (c->classes < 1) return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': classes = %lld; must be >= 1", t, l->name, (long long)c->classes);
    s->region = region;
    if (region) {
        if (c->num < 1 || c->coords < 2)
            return cn_set_error(CN_STATUS_INVALID_ARG, "region '%s': num = %lld and coords = %lld; need num >= 1, coords >= 2", l->name,
                                (long long)c->num, (long long)c->coords);
        if (c->anchors.n && c->anchors.n != 2 * c->num)
            return cn_set_error(CN_STATUS_INVALID_ARG, "region '%s': %d anchor values for num = %lld boxes (want %lld)", l->name,
                                c->anchors.n, (long long)c->num, (long long)(2 * c->num));
        s->boxes = c->num;
        s->entries = c->coords + 1 + c->classes;
    } else {
        int64_t total = c->num ? c->num : c->anchors.n / 2;
        if (c->anchors.n % 2 || c->anchors.n / 2 < total)
            return cn_set_error(CN_STATUS_INVALID_ARG, "yolo '%s': %d anchor values for num = %lld anchors (want pairs w,h)", l->name,
                                c->anchors.n, (long long)total);
        for (int i = 0; i < c->mask.n; i++)
            if (c->mask.v[i] < 0 || c->mask.v[i] >= total)
                return cn_set_error(CN_STATUS_INVALID_ARG, "yolo '%s': mask entry %lld is not an anchor index in 0..%lld", l->name,
                                    (long long)c->mask.v[i], (long long)total - 1);
        s->boxes = c->mask.n;
        s->entries = 5 + c->classes;
    }
    s->n = in->dim[0];
    s->c = in->dim[1];
    s->hw = in->dim[2] * in->dim[3];
    if (s->c != s->boxes * s->entries)
        return cn_set_error(CN_STATUS_SHAPE, "%s '%s': input %s has %lld channels; %lld boxes of %lld entries need %lld", t, l->name,
                            cn_shape_text(in), (long long)s->c, (long long)s->boxes, (long long)s->entries,
                            (long long)(s->boxes * s->entries));
    p->out = *in;
    return CN_OK;
}

static cn_status plan_yolo(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, 0); }
static cn_status plan_region(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, 1); }

/* entry e of box b: 0 pass through, 1 logistic, 2 softmax over the classes */
static int entry_kind(const detect_cfg *c, const detect_state *s, int64_t e)
{
    if (e < 2) return 1;
    if (!s->region) return e >= 4;
    if (e < c->coords) return 0;
    if (e == c->coords) return 1;
    return c->softmax ? 2 : 1;
}

static void forward(cn_layer *l, const cn_layer_run *r)
{
    const detect_cfg *c = l->cfg;
    const detect_state *s = l->state;
    const float *x = r->x[0];
    float *y = r->y;
    for (int64_t n = 0; n < s->n; n++)
        for (int64_t b = 0; b < s->boxes; b++) {
            int64_t base = (n * s->c + b * s->entries) * s->hw;
            for (int64_t e = 0; e < s->entries; e++) {
                int k = entry_kind(c, s, e);
                const float *xe = x + base + e * s->hw;
                float *ye = y + base + e * s->hw;
                for (int64_t q = 0; q < s->hw; q++) ye[q] = k == 1 ? 1.0f / (1.0f + expf(-xe[q])) : xe[q];
            }
            if (s->region && c->softmax) {
                int64_t first = c->coords + 1;
                for (int64_t q = 0; q < s->hw; q++) {
                    const float *xc = x + base + first * s->hw + q;
                    float *yc = y + base + first * s->hw + q;
                    float big = -INFINITY;
                    for (int64_t k = 0; k < c->classes; k++) big = xc[k * s->hw] > big ? xc[k * s->hw] : big;
                    double sum = 0;
                    for (int64_t k = 0; k < c->classes; k++) sum += exp((double)xc[k * s->hw] - big);
                    for (int64_t k = 0; k < c->classes; k++) yc[k * s->hw] = (float)(exp((double)xc[k * s->hw] - big) / sum);
                }
            }
        }
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    const detect_cfg *c = l->cfg;
    const detect_state *s = l->state;
    if (!r->dx[0]) return;
    const float *y = r->y, *dy = r->dy;
    float *dx = r->dx[0];
    /* y = sigmoid(x) → dx += dy y (1 - y);  y = x → dx += dy;  y = softmax(x) → dx_k += y_k (dy_k - sum_j dy_j y_j) */
    for (int64_t n = 0; n < s->n; n++)
        for (int64_t b = 0; b < s->boxes; b++) {
            int64_t base = (n * s->c + b * s->entries) * s->hw;
            for (int64_t e = 0; e < s->entries; e++) {
                int k = entry_kind(c, s, e);
                if (k == 2) continue;
                int64_t o = base + e * s->hw;
                for (int64_t q = 0; q < s->hw; q++) dx[o + q] += k == 1 ? dy[o + q] * y[o + q] * (1 - y[o + q]) : dy[o + q];
            }
            if (s->region && c->softmax) {
                int64_t o = base + (c->coords + 1) * s->hw;
                for (int64_t q = 0; q < s->hw; q++) {
                    double dot = 0;
                    for (int64_t k = 0; k < c->classes; k++) dot += (double)dy[o + k * s->hw + q] * y[o + k * s->hw + q];
                    for (int64_t k = 0; k < c->classes; k++)
                        dx[o + k * s->hw + q] += (float)(y[o + k * s->hw + q] * (dy[o + k * s->hw + q] - dot));
                }
            }
        }
}

const cn_layer_ops cn_layer_yolo = {
    .name = "yolo", .summary = "Darknet YOLOv3 output: logistic x, y, objectness and classes per box; carries the anchors",
    .min_inputs = 1, .max_inputs = 1, .opts = yolo_opts, .cfg_size = sizeof(detect_cfg), .state_size = sizeof(detect_state),
    .plan = plan_yolo, .forward = forward, .backward = backward,
};
const cn_layer_ops cn_layer_region = {
    .name = "region", .summary = "Darknet YOLOv2 output: logistic x, y, objectness, softmax classes per box; carries the anchors",
    .min_inputs = 1, .max_inputs = 1, .opts = region_opts, .cfg_size = sizeof(detect_cfg), .state_size = sizeof(detect_state),
    .plan = plan_region, .forward = forward, .backward = backward,
};
