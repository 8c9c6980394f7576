/* metrics.c — evaluation: loss, top-1/top-5 accuracy, confusion matrix, per-class accuracy;
 * pixel accuracy and mean IoU for segmentation. */
#include <math.h>
#include <string.h>

#include "convnet/augment.h"
#include "convnet/train.h"

static const char *shape_text(const cn_shape *s)
{
    static _Thread_local char buf[96];
    return cn_shape_str(s, buf, sizeof buf);
}

void cn_metrics_free(cn_metrics *m)
{
    if (!m) return;
    cn_free(m->confusion);
    cn_free(m->per_class);
    memset(m, 0, sizeof *m);
}

/* accumulate a batch: pred (count, K, S) logits or scores; targets (count) or (count, S) */
typedef struct {
    int k;
    int64_t *conf;
    int64_t top1, top5, n, pixels, pixel_hits;
} acc_t;

static void accumulate(acc_t *a, const float *pred, const float *target, int64_t count, int64_t s, int dense)
{
    int k = a->k;
    for (int64_t i = 0; i < count; i++)
        for (int64_t p = 0; p < s; p++) {
            const float *row = pred + i * k * s + p; /* stride s between classes */
            float t = dense ? target[i * s + p] : target[i];
            if (t < 0 || t >= (float)k) continue; /* ignored (e.g. ignore_index) */
            int truth = (int)t, best = 0, rank = 0;
            for (int c = 1; c < k; c++)
                if (row[c * s] > row[best * s]) best = c;
            for (int c = 0; c < k; c++)
                if (row[c * s] > row[truth * s] || (row[c * s] == row[truth * s] && c < truth)) rank++;
            a->conf[(int64_t)truth * k + best]++;
            if (dense) {
                a->pixels++;
                a->pixel_hits += best == truth;
            } else {
                a->n++;
                a->top1 += best == truth;
                a->top5 += rank < 5;
            }
        }
}

cn_status cn_evaluate(cn_model *m, const cn_dataset *d, int64_t batch, cn_metrics *out)
{
    memset(out, 0, sizeof *out);
    const cn_dataset_info *info = cn_dataset_info_of(d);
    if (batch < 1) return cn_set_error(CN_STATUS_INVALID_ARG, "evaluate: batch %lld must be >= 1", (long long)batch);
    cn_loader *ld = NULL;
    cn_loader_config lc = cn_loader_defaults();
    lc.batch = batch;
    lc.shuffle = 0;
    cn_status st = cn_loader_create(&ld, d, &lc);
    if (st != CN_OK) return st;
    int dense = info->target_kind == CN_TARGET_DENSE_CLASS;
    int classes = (info->target_kind == CN_TARGET_CLASS || dense) ? info->num_classes : 0;
    acc_t a = {classes, NULL, 0, 0, 0, 0, 0};
    if (classes) {
        a.conf = cn_calloc((size_t)classes * (size_t)classes, sizeof(int64_t), "confusion matrix");
        if (!a.conf) {
            cn_loader_destroy(ld);
            return CN_STATUS_NOMEM;
        }
    }
    double loss_sum = 0;
    int64_t loss_n = 0, planned = 0;
    cn_loader_start_epoch(ld, 0);
    cn_batch b;
    int r;
    while ((r = cn_loader_next(ld, &b)) == 1) {
        if (b.count != planned) {
            if ((st = cn_model_plan(m, b.count, CN_PLAN_INFER | CN_PLAN_REUSE)) != CN_OK) goto done;
            planned = b.count;
        }
        if (b.target && (st = cn_model_set_target(m, b.target)) != CN_OK) goto done;
        if ((st = cn_model_forward(m, b.x, 0)) != CN_OK) goto done;
        double l = cn_model_loss(m);
        if (!isnan(l)) loss_sum += l * (double)b.count, loss_n += b.count;
        cn_shape ps;
        const float *pred = cn_model_output(m, &ps);
        if (classes) {
            if (ps.ndim < 2 || ps.dim[1] != classes) {
                st = cn_set_error(CN_STATUS_SHAPE, "evaluate: the model predicts %s, but %s has %d classes", shape_text(&ps),
                                  info->name, classes);
                goto done;
            }
            int64_t s = cn_shape_numel(&ps) / (ps.dim[0] * classes);
            accumulate(&a, pred, b.target, b.count, s, dense);
        }
        out->count += b.count;
    }
    if (r < 0) {
        st = CN_STATUS_IO;
        goto done;
    }
    out->loss = loss_n ? loss_sum / (double)loss_n : NAN;
    out->num_classes = classes;
    out->top1 = out->top5 = out->pixel_acc = out->mean_iou = NAN;
    if (classes) {
        out->confusion = a.conf;
        a.conf = NULL;
        out->per_class = cn_malloc((size_t)classes * sizeof(double), "per-class accuracy");
        if (!out->per_class) {
            st = CN_STATUS_NOMEM;
            goto done;
        }
        double iou_sum = 0;
        int iou_n = 0;
        for (int c = 0; c < classes; c++) {
            int64_t row = 0, col = 0, hit = out->confusion[(int64_t)c * classes + c];
            for (int j = 0; j < classes; j++) row += out->confusion[(int64_t)c * classes + j], col += out->confusion[(int64_t)j * classes + c];
            out->per_class[c] = row ? (double)hit / (double)row : NAN;
            if (row + col - hit > 0) iou_sum += (double)hit / (double)(row + col - hit), iou_n++;
        }
        if (dense) {
            out->pixel_acc = a.pixels ? (double)a.pixel_hits / (double)a.pixels : NAN;
            out->mean_iou = iou_n ? iou_sum / iou_n : NAN;
        } else {
            out->top1 = a.n ? (double)a.top1 / (double)a.n : NAN;
            out->top5 = classes >= 5 && a.n ? (double)a.top5 / (double)a.n : NAN;
        }
    }
done:
    cn_free(a.conf);
    cn_loader_destroy(ld);
    if (st != CN_OK) cn_metrics_free(out);
    return st;
}

/* ---- test-time augmentation ---- */
cn_status cn_evaluate_tta(cn_model *m, const cn_dataset *d, int64_t batch, int64_t pad, int flip, cn_metrics *out)
{
    memset(out, 0, sizeof *out);
    const cn_dataset_info *info = cn_dataset_info_of(d);
    if (info->target_kind != CN_TARGET_CLASS)
        return cn_set_error(CN_STATUS_UNSUPPORTED, "tta: %s does not have class targets", info->name);
    const cn_shape *s = &info->sample;
    if (s->ndim != 2 && s->ndim != 3)
        return cn_set_error(CN_STATUS_SHAPE, "tta: %s samples are %s; test-time crops need C x W signals or C x H x W images",
                            info->name, shape_text(s));
    int64_t c = s->dim[0], h = s->ndim == 3 ? s->dim[1] : 1, w = s->dim[s->ndim - 1];
    int classes = info->num_classes;
    cn_tta_geom g = {batch, c, h, w, h, w, pad, flip};
    cn_status st = cn_tta_check(&g);
    if (st != CN_OK) return st;
    int views = cn_tta_views(&g);
    int64_t sample = c * h * w;
    float *crops = cn_malloc((size_t)(views * batch * sample) * sizeof(float), "tta views");
    float *preds = cn_malloc((size_t)(views * batch * classes) * sizeof(float), "tta predictions");
    float *avg = cn_malloc((size_t)(batch * classes) * sizeof(float), "tta average");
    acc_t a = {classes, cn_calloc((size_t)classes * (size_t)classes, sizeof(int64_t), "confusion matrix"), 0, 0, 0, 0, 0};
    cn_loader *ld = NULL;
    cn_loader_config lc = cn_loader_defaults();
    lc.batch = batch;
    lc.shuffle = 0;
    if (!crops || !preds || !avg || !a.conf) st = CN_STATUS_NOMEM;
    if (st == CN_OK) st = cn_loader_create(&ld, d, &lc);
    double nll = 0;
    int64_t planned = 0;
    if (st == CN_OK) cn_loader_start_epoch(ld, 0);
    cn_batch b;
    int r = 0;
    while (st == CN_OK && (r = cn_loader_next(ld, &b)) == 1) {
        g.n = b.count;
        cn_tta_crops(crops, b.x, &g);
        if (b.count != planned) {
            if ((st = cn_model_plan(m, b.count, CN_PLAN_INFER | CN_PLAN_REUSE)) != CN_OK) break;
            planned = b.count;
        }
        for (int v = 0; v < views && st == CN_OK; v++) {
            if ((st = cn_model_forward(m, crops + (int64_t)v * b.count * sample, 0)) != CN_OK) break;
            cn_shape ps;
            const float *y = cn_model_output(m, &ps);
            if (cn_shape_numel(&ps) != b.count * classes) {
                st = cn_set_error(CN_STATUS_SHAPE, "tta: the model predicts %s, not %d classes", shape_text(&ps), classes);
                break;
            }
            /* softmax probabilities, averaged over the views below */
            for (int64_t i = 0; i < b.count; i++) {
                const float *row = y + i * classes;
                float *p = preds + ((int64_t)v * b.count + i) * classes;
                double mx = row[0], z = 0;
                for (int k = 1; k < classes; k++) mx = row[k] > mx ? row[k] : mx;
                for (int k = 0; k < classes; k++) z += exp(row[k] - mx);
                for (int k = 0; k < classes; k++) p[k] = (float)(exp(row[k] - mx) / z);
            }
        }
        if (st != CN_OK) break;
        cn_tta_average(avg, preds, views, b.count, classes);
        for (int64_t i = 0; i < b.count; i++) nll += -log(fmax(avg[i * classes + (int)b.target[i]], 1e-30));
        accumulate(&a, avg, b.target, b.count, 1, 0);
        out->count += b.count;
    }
    if (st == CN_OK && r < 0) st = CN_STATUS_IO;
    if (st == CN_OK) {
        out->num_classes = classes;
        out->loss = out->count ? nll / (double)out->count : NAN;
        out->top1 = a.n ? (double)a.top1 / (double)a.n : NAN;
        out->top5 = classes >= 5 && a.n ? (double)a.top5 / (double)a.n : NAN;
        out->pixel_acc = out->mean_iou = NAN;
        out->confusion = a.conf;
        a.conf = NULL;
        out->per_class = cn_malloc((size_t)classes * sizeof(double), "per-class accuracy");
        if (!out->per_class) st = CN_STATUS_NOMEM;
        for (int k = 0; st == CN_OK && k < classes; k++) {
            int64_t row = 0;
            for (int j = 0; j < classes; j++) row += out->confusion[(int64_t)k * classes + j];
            out->per_class[k] = row ? (double)out->confusion[(int64_t)k * classes + k] / (double)row : NAN;
        }
    }
    cn_free(crops), cn_free(preds), cn_free(avg), cn_free(a.conf);
    cn_loader_destroy(ld);
    if (st != CN_OK) cn_metrics_free(out);
    return st;
}
