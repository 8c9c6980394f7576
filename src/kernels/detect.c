/* detect.c — YOLO-v1 detection kernels (see convnet/detect.h for the definitions): IoU, the
 * loss and its gradient, decoding the grid into scored boxes, greedy non-maximum suppression
 * and average precision. Sums in double; the loss gradient is written, not accumulated (a loss starts
 * backpropagation). Nothing here allocates, prints or fails. */
#include "convnet/detect.h"

#include <math.h>

static const char *label(const char *name) { return name ? name : "?"; }

float cn_box_iou(const cn_box *a, const cn_box *b)
{
    if (!(a->w > 0 && a->h > 0 && b->w > 0 && b->h > 0)) return 0.0f;
    double iw = fmin((double)a->cx + 0.5 * a->w, (double)b->cx + 0.5 * b->w) -
                fmax((double)a->cx - 0.5 * a->w, (double)b->cx - 0.5 * b->w);
    double ih = fmin((double)a->cy + 0.5 * a->h, (double)b->cy + 0.5 * b->h) -
                fmax((double)a->cy - 0.5 * a->h, (double)b->cy - 0.5 * b->h);
    if (iw <= 0 || ih <= 0) return 0.0f;
    double inter = iw * ih, uni = (double)a->w * a->h + (double)b->w * b->h - inter;
    return uni > 0 ? (float)(inter / uni) : 0.0f;
}

/* ---- the loss ---- */

cn_yolo_geom cn_yolo_geom_make(int64_t n, int64_t sh, int64_t sw, int64_t b, int64_t c, int64_t max_boxes)
{
    cn_yolo_geom g = {n, sh, sw, b, c, max_boxes, 5.0f, 0.5f, 1};
    return g;
}

int64_t cn_yolo_channels(const cn_yolo_geom *g) { return 5 * g->b + g->c; }

cn_status cn_yolo_check(const cn_yolo_geom *g, const char *name)
{
    const struct {
        const char *what;
        int64_t v;
    } sizes[] = {{"images", g->n}, {"grid rows", g->sh}, {"grid columns", g->sw}, {"boxes", g->b}, {"classes", g->c},
                 {"max_boxes", g->max_boxes}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i].v < 1 || sizes[i].v > (int64_t)1 << 30)
            return cn_set_error(CN_STATUS_SHAPE, "yolo '%s': %s=%lld must be in [1, 2^30]", label(name), sizes[i].what,
                                (long long)sizes[i].v);
    if (!(isfinite(g->lambda_coord) && g->lambda_coord >= 0 && isfinite(g->lambda_noobj) && g->lambda_noobj >= 0))
        return cn_set_error(CN_STATUS_INVALID_ARG, "yolo '%s': lambda_coord=%g and lambda_noobj=%g must be finite and >= 0",
                            label(name), g->lambda_coord, g->lambda_noobj);
    return CN_OK;
}

cn_status cn_yolo_check_targets(const float *t, const cn_yolo_geom *g, const char *name)
{
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t r = 0; r < g->max_boxes; r++) {
            const float *row = t + (n * g->max_boxes + r) * 5;
            float k = row[0];
            if (k == -1.0f) continue;
            if (!isfinite(k) || k != floorf(k) || k < 0 || k >= (float)g->c)
                return cn_set_error(CN_STATUS_INVALID_ARG,
                                    "yolo '%s': image %lld, target row %lld: class %g is not in [0, %lld) or -1 (padding)",
                                    label(name), (long long)n, (long long)r, k, (long long)g->c);
            if (!(row[1] >= 0 && row[1] <= 1 && row[2] >= 0 && row[2] <= 1 && row[3] > 0 && row[3] <= 1 && row[4] > 0 &&
                  row[4] <= 1))
                return cn_set_error(CN_STATUS_INVALID_ARG,
                                    "yolo '%s': image %lld, target row %lld: box (cx %g, cy %g, w %g, h %g) is not "
                                    "normalized (centre in [0, 1], size in (0, 1])",
                                    label(name), (long long)n, (long long)r, row[1], row[2], row[3], row[4]);
        }
    return CN_OK;
}

/* the grid cell holding a normalized coordinate: min(floor(v * cells), cells - 1) */
static int64_t cell_of(float v, int64_t cells)
{
    int64_t k = (int64_t)floor((double)v * (double)cells);
    return k < cells ? k : cells - 1;
}

/* the first target row of this image whose centre lies in cell (i, j), or -1 */
static int64_t object_in_cell(const float *t, const cn_yolo_geom *g, int64_t i, int64_t j)
{
    for (int64_t r = 0; r < g->max_boxes; r++) {
        const float *row = t + r * 5;
        if (row[0] >= 0 && cell_of(row[2], g->sh) == i && cell_of(row[1], g->sw) == j) return r;
    }
    return -1;
}

double cn_yolo_loss(float *dpred, const float *pred, const float *targets, const cn_yolo_geom *g)
{
    const int64_t D = cn_yolo_channels(g), HW = g->sh * g->sw, B = g->b;
    const double lc = g->lambda_coord, ln = g->lambda_noobj, inv_n = 1.0 / (double)g->n;
    double total = 0;
    for (int64_t n = 0; n < g->n; n++) {
        const float *t = targets + n * g->max_boxes * 5;
        for (int64_t i = 0; i < g->sh; i++)
            for (int64_t j = 0; j < g->sw; j++) {
                const float *p = pred + n * D * HW + i * g->sw + j; /* channel ch at p[ch * HW] */
                float *dp = dpred ? dpred + n * D * HW + i * g->sw + j : NULL;
                int64_t obj = object_in_cell(t, g, i, j);
                int64_t r = -1; /* the responsible box */
                double tx = 0, ty = 0, tw = 0, th = 0, best_iou = 0;
                if (obj >= 0) {
                    const float *row = t + obj * 5;
                    cn_box truth = {row[1], row[2], row[3], row[4]};
                    tx = (double)row[1] * g->sw - j, ty = (double)row[2] * g->sh - i;
                    tw = sqrt((double)row[3]), th = sqrt((double)row[4]);
                    double best_err = INFINITY;
                    for (int64_t b = 0; b < B; b++) { /* highest IoU first */
                        const float *q = p + 5 * b * HW;
                        cn_box box = {(float)((j + q[0]) / (double)g->sw), (float)((i + q[HW]) / (double)g->sh),
                                      q[2 * HW] * q[2 * HW], q[3 * HW] * q[3 * HW]};
                        double iou = cn_box_iou(&box, &truth);
                        if (iou > best_iou) best_iou = iou, r = b;
                    }
                    if (r < 0) /* no overlap anywhere: the box closest in (x, y, sw, sh) */
                        for (int64_t b = 0; b < B; b++) {
                            const float *q = p + 5 * b * HW;
                            double ex = q[0] - tx, ey = q[HW] - ty, ew = q[2 * HW] - tw, eh = q[3 * HW] - th;
                            double err = ex * ex + ey * ey + ew * ew + eh * eh;
                            if (err < best_err) best_err = err, r = b;
                        }
                }
                for (int64_t b = 0; b < B; b++) {
                    const float *q = p + 5 * b * HW;
                    float *dq = dp ? dp + 5 * b * HW : NULL;
                    double conf = q[4 * HW];
                    if (b != r) {
                        /* l = ln conf^2  →  dl/dconf = 2 ln conf; the coordinates are free */
                        total += ln * conf * conf;
                        if (dq) {
                            for (int k = 0; k < 4; k++) dq[k * HW] = 0.0f;
                            dq[4 * HW] = (float)(2 * ln * conf * inv_n);
                        }
                        continue;
                    }
                    double e[4] = {q[0] - tx, q[HW] - ty, q[2 * HW] - tw, q[3 * HW] - th};
                    double target_conf = g->rescore ? best_iou : 1.0, ec = conf - target_conf;
                    /* l = lc sum_k e_k^2 + (conf - c*)^2  →  dl/de_k = 2 lc e_k, dl/dconf = 2 (conf - c*)
                     * (c* = IoU held fixed) */
                    total += lc * (e[0] * e[0] + e[1] * e[1] + e[2] * e[2] + e[3] * e[3]) + ec * ec;
                    if (dq) {
                        for (int k = 0; k < 4; k++) dq[k * HW] = (float)(2 * lc * e[k] * inv_n);
                        dq[4 * HW] = (float)(2 * ec * inv_n);
                    }
                }
                int64_t cls = obj >= 0 ? (int64_t)t[obj * 5] : -1;
                for (int64_t k = 0; k < g->c; k++) {
                    double pk = p[(5 * B + k) * HW];
                    double ek = pk - (k == cls ? 1.0 : 0.0);
                    /* l = sum_k (p_k - [k = class])^2 in object cells only  →  dl/dp_k = 2 e_k */
                    if (obj >= 0) total += ek * ek;
                    if (dp) dp[(5 * B + k) * HW] = obj >= 0 ? (float)(2 * ek * inv_n) : 0.0f;
                }
            }
    }
    return total * inv_n;
}

/* ---- decoding and suppression ---- */

static float clamp01(float v) { return v > 0 ? (v < 1 ? v : 1) : 0; }

int64_t cn_yolo_decode(cn_detection *out, int64_t cap, const float *pred, const cn_yolo_geom *g, int64_t image,
                       float threshold)
{
    const int64_t D = cn_yolo_channels(g), HW = g->sh * g->sw;
    int64_t count = 0;
    for (int64_t i = 0; i < g->sh; i++)
        for (int64_t j = 0; j < g->sw; j++) {
            const float *p = pred + image * D * HW + i * g->sw + j;
            for (int64_t b = 0; b < g->b; b++) {
                const float *q = p + 5 * b * HW;
                cn_box box = {(float)((j + q[0]) / (double)g->sw), (float)((i + q[HW]) / (double)g->sh),
                              q[2 * HW] * q[2 * HW], q[3 * HW] * q[3 * HW]};
                float conf = clamp01(q[4 * HW]);
                for (int64_t k = 0; k < g->c; k++) {
                    float score = conf * clamp01(p[(5 * g->b + k) * HW]);
                    if (!(score >= threshold && score > 0)) continue;
                    if (count < cap) out[count] = (cn_detection){box, score, (int)k};
                    count++;
                }
            }
        }
    return count;
}

int64_t cn_nms(cn_detection *d, int64_t n, float iou_threshold, int per_class)
{
    /* insertion sort, highest score first; strict comparison keeps equal scores in order */
    for (int64_t i = 1; i < n; i++) {
        cn_detection key = d[i];
        int64_t j = i - 1;
        while (j >= 0 && d[j].score < key.score) {
            d[j + 1] = d[j];
            j--;
        }
        d[j + 1] = key;
    }
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) {
        cn_detection cand = d[i];
        int keep = 1;
        for (int64_t m = 0; m < kept && keep; m++)
            if ((!per_class || d[m].cls == cand.cls) && cn_box_iou(&d[m].box, &cand.box) > iou_threshold) keep = 0;
        if (keep) d[kept++] = cand;
    }
    return kept;
}

/* ---- average precision ---- */

/* detection a ranks before b: higher score, then lower index (a total order, so the result
 * does not depend on the sort) */
static int before(const cn_detection *det, int64_t a, int64_t b)
{
    return det[a].score > det[b].score || (det[a].score == det[b].score && a < b);
}

static void sift_down(int64_t *h, int64_t root, int64_t n, const cn_detection *det)
{
    /* a heap whose top ranks LAST, so popping to the end leaves the array in rank order */
    for (;;) {
        int64_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && before(det, h[child], h[child + 1])) child++;
        if (!before(det, h[root], h[child])) return;
        int64_t t = h[root];
        h[root] = h[child], h[child] = t;
        root = child;
    }
}

double cn_detection_ap(const cn_detection *det, const int64_t *image, int64_t n, const float *targets, int64_t n_images,
                       int64_t max_boxes, int cls, float iou_threshold, int64_t *order, unsigned char *matched)
{
    int64_t truths = 0, m = 0;
    for (int64_t i = 0; i < n_images * max_boxes; i++) {
        matched[i] = 0;
        truths += targets[i * 5] == (float)cls;
    }
    if (truths == 0) return NAN;
    for (int64_t i = 0; i < n; i++)
        if (det[i].cls == cls) order[m++] = i;
    for (int64_t i = m / 2 - 1; i >= 0; i--) sift_down(order, i, m, det); /* heapsort by rank */
    for (int64_t end = m - 1; end > 0; end--) {
        int64_t t = order[0];
        order[0] = order[end], order[end] = t;
        sift_down(order, 0, end, det);
    }
    /* pass 1, down the ranking: match each detection, marking true positives in order[] */
    double ap = 0, best_p = 0;
    int64_t tp = 0;
    for (int64_t r = 0; r < m; r++) {
        const cn_detection *d = &det[order[r]];
        int64_t img = image[order[r]], hit = -1;
        float best = -1;
        for (int64_t k = 0; k < max_boxes; k++) {
            const float *row = targets + (img * max_boxes + k) * 5;
            if (row[0] != (float)cls) continue;
            cn_box truth = {row[1], row[2], row[3], row[4]};
            float iou = cn_box_iou(&d->box, &truth);
            if (iou > best) best = iou, hit = k;
        }
        int is_tp = hit >= 0 && best >= iou_threshold && !matched[img * max_boxes + hit];
        if (is_tp) matched[img * max_boxes + hit] = 1, tp++;
        order[r] = is_tp ? -1 - order[r] : order[r]; /* negative: a true positive */
    }
    /* pass 2, from the lowest rank up: precision at rank r is tp_r / (r + 1); the envelope is
     * the running maximum; recall grows by 1/truths at each true positive */
    for (int64_t r = m - 1; r >= 0; r--) {
        double p = (double)tp / (double)(r + 1);
        if (p > best_p) best_p = p;
        if (order[r] < 0) {
            ap += best_p / (double)truths;
            tp--;
        }
    }
    return ap;
}
