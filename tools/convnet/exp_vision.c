/* exp_vision.c — dense prediction on the synthetic datasets (include/convnet/dataset.h):
 *  segmentation: a U-Net (Ronneberger et al. 2015; models/unet-tiny.cfg, unet-small.cfg at half
 *     width) on "synthetic-seg" (1 x 64 x 64 gray images of discs, rectangles and triangles; 4
 *     classes with the background), scored by pixel accuracy and mean IoU on the held-out part,
 *     with a picture of inputs, true masks, predicted masks and errors;
 *  detection: a YOLO-v1-style detector (Redmon et al. 2016; models/yolo-conv.cfg, yolo.cfg's
 *     backbone with a conv head on an 8x8 grid, yolo_loss unchanged) on "synthetic-det" (1 x 64
 *     x 64 canvases with 1-4 objects of 3 classes), scored by mAP@0.5 (VOC all-point AP) on the
 *     held-out part after per-class non-maximum suppression, with a picture of predicted and
 *     true boxes.
 * Why the two smaller zoo variants: at a fixed CPU budget they reach the targets and the
 * originals do not (docs/EXPERIMENTS.md has the runs that compared them).
 * The synthetic samples are generated on request from (seed, part, index), so a large
 * training set costs no memory; the test part is drawn from another stream (held out).
 * --quick trains briefly on 32 x 32 inputs (for the tests); the targets are not expected there. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "experiment.h"

/* the results.json object of one run: what was trained, how, and its last training loss */
static cJSON *run_json(exp_ctx *x, const char *key, const char *model, const char *shape, const char *spec, int64_t params,
                       int64_t epochs, int64_t steps, int64_t batch, double lr, double train_loss)
{
    cJSON *o = cJSON_AddObjectToObject(x->json, key);
    cJSON_AddStringToObject(o, "model", model);
    cJSON_AddStringToObject(o, "input", shape);
    cJSON_AddStringToObject(o, "data", spec);
    cJSON_AddNumberToObject(o, "params", (double)params);
    cJSON_AddNumberToObject(o, "epochs", (double)epochs);
    cJSON_AddNumberToObject(o, "steps", (double)steps);
    cJSON_AddNumberToObject(o, "batch", (double)batch);
    cJSON_AddNumberToObject(o, "lr", lr);
    if (isfinite(train_loss)) cJSON_AddNumberToObject(o, "train_loss", train_loss);
    return o;
}

/* ---- drawing on an RGB canvas ------------------------------------------------------------ */
static void put_px(cn_image *im, int x, int y, const unsigned char rgb[3])
{
    if (x < 0 || y < 0 || x >= im->w || y >= im->h) return;
    unsigned char *q = im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 3;
    q[0] = rgb[0], q[1] = rgb[1], q[2] = rgb[2];
}

/* a gray tile (values in [0, 1]) of h x w values, each zoom x zoom pixels, top-left (ox, oy) */
static void draw_gray(cn_image *im, int ox, int oy, const float *v, int h, int w, int zoom)
{
    for (int i = 0; i < h * zoom; i++)
        for (int j = 0; j < w * zoom; j++) {
            float t = v[(i / zoom) * w + j / zoom];
            unsigned char g = (unsigned char)lrintf(255.0f * (t < 0 ? 0 : t > 1 ? 1 : t));
            unsigned char rgb[3] = {g, g, g};
            put_px(im, ox + j, oy + i, rgb);
        }
}

/* background, disc, rectangle, triangle */
static const unsigned char seg_palette[4][3] = {{24, 24, 32}, {230, 75, 60}, {60, 180, 90}, {70, 120, 230}};

static void draw_mask(cn_image *im, int ox, int oy, const unsigned char *mask, int h, int w, int zoom)
{
    for (int i = 0; i < h * zoom; i++)
        for (int j = 0; j < w * zoom; j++) put_px(im, ox + j, oy + i, seg_palette[mask[(i / zoom) * w + j / zoom] & 3]);
}

/* the outline of box b (fractions of a tile of tw x th pixels at (ox, oy)), `thick` pixels */
static void draw_box(cn_image *im, int ox, int oy, int tw, int th, const cn_box *b, const unsigned char rgb[3], int thick)
{
    int x0 = ox + (int)lrint((b->cx - b->w / 2) * tw), x1 = ox + (int)lrint((b->cx + b->w / 2) * tw) - 1;
    int y0 = oy + (int)lrint((b->cy - b->h / 2) * th), y1 = oy + (int)lrint((b->cy + b->h / 2) * th) - 1;
    if (x0 < ox) x0 = ox;
    if (y0 < oy) y0 = oy;
    if (x1 > ox + tw - 1) x1 = ox + tw - 1;
    if (y1 > oy + th - 1) y1 = oy + th - 1;
    for (int k = 0; k < thick; k++) {
        for (int x = x0; x <= x1; x++) put_px(im, x, y0 + k, rgb), put_px(im, x, y1 - k, rgb);
        for (int y = y0; y <= y1; y++) put_px(im, x0 + k, y, rgb), put_px(im, x1 - k, y, rgb);
    }
}

static const unsigned char white[3] = {255, 255, 255};

/* ================================ segmentation ============================================ */
/* a recipe of both experiments: model, data size, Adam with a cosine decay per step */
typedef struct {
    const char *model;
    int size;                /* input side */
    int64_t n_train, n_test; /* samples */
    int64_t epochs, batch;
    double lr;
} vision_recipe;

/* Adam at r's lr, cosine per step over the whole run down to 1% of it; *steps gets the run's
 * optimizer steps */
static cn_train_config recipe_config(const exp_ctx *x, const vision_recipe *r, int64_t *steps)
{
    cn_train_config tc = cn_train_defaults();
    tc.batch = r->batch;
    tc.epochs = r->epochs;
    tc.seed = x->seed;
    tc.checkpoint_epochs = x->quick ? 0 : 1;
    tc.optim = cn_optim_defaults(CN_OPTIM_ADAM);
    *steps = r->epochs * (r->n_train / r->batch);
    tc.schedule = cn_schedule_defaults(CN_SCHED_COSINE, r->lr);
    tc.schedule.unit = CN_SCHED_PER_STEP;
    tc.schedule.t_max = *steps;
    tc.schedule.eta_min = r->lr * 0.01;
    return tc;
}

/* argmax over the classes of logits (n, k, h*w) into mask (n, h*w) */
static void argmax_classes(unsigned char *mask, const float *logits, int64_t n, int k, int64_t hw)
{
    for (int64_t s = 0; s < n; s++)
        for (int64_t p = 0; p < hw; p++) {
            int best = 0;
            for (int c = 1; c < k; c++)
                if (logits[(s * k + c) * hw + p] > logits[(s * k + best) * hw + p]) best = c;
            mask[s * hw + p] = (unsigned char)best;
        }
}

/* the picture: one row per test sample: input, true mask, predicted mask, errors (white) */
static cn_status seg_picture(cn_model *m, const cn_dataset *test, int size, int shows, const char *path)
{
    const int zoom = size >= 64 ? 2 : 4, tile = size * zoom, gap = 6, head = 16, cols = 4;
    int64_t hw = (int64_t)size * size;
    float *in = cn_malloc((size_t)(shows * hw) * sizeof(float), "segmentation picture inputs");
    float *tg = cn_malloc((size_t)(shows * hw) * sizeof(float), "segmentation picture masks");
    unsigned char *truth = cn_malloc((size_t)(shows * hw), "segmentation picture masks");
    unsigned char *pred = cn_malloc((size_t)(shows * hw), "segmentation picture predictions");
    cn_image im = {0};
    cn_status st = in && tg && truth && pred ? CN_OK : CN_STATUS_NOMEM;
    for (int s = 0; s < shows && st == CN_OK; s++) st = cn_dataset_get(test, s, in + s * hw, tg + s * hw);
    if (st == CN_OK) st = cn_model_plan(m, shows, CN_PLAN_INFER);
    if (st == CN_OK) st = cn_model_forward(m, in, 0);
    if (st == CN_OK) {
        cn_shape ps;
        const float *out = cn_model_output(m, &ps);
        if (ps.ndim != 4 || ps.dim[1] != 4 || ps.dim[2] * ps.dim[3] != hw)
            st = cn_set_error(CN_STATUS_SHAPE, "segmentation: the model predicts %lldx%lldx%lld per image, expected 4x%dx%d",
                              (long long)ps.dim[1], (long long)(ps.ndim > 2 ? ps.dim[2] : 0),
                              (long long)(ps.ndim > 3 ? ps.dim[3] : 0), size, size);
        else argmax_classes(pred, out, shows, 4, hw);
    }
    for (int64_t k = 0; st == CN_OK && k < shows * hw; k++) truth[k] = (unsigned char)tg[k];
    int W = gap + cols * (tile + gap), H = head + gap + shows * (tile + gap) + 14;
    if (st == CN_OK) st = cn_image_alloc(&im, W, H, 3, 255);
    if (st == CN_OK) {
        static const unsigned char ink[3] = {0, 0, 0};
        const char *titles[4] = {"INPUT", "TRUE MASK", "PREDICTED", "ERRORS"};
        for (int c = 0; c < cols; c++) cn_image_text(&im, gap + c * (tile + gap), 4, titles[c], 1, ink);
        for (int s = 0; s < shows; s++) {
            int oy = head + gap + s * (tile + gap);
            draw_gray(&im, gap, oy, in + s * hw, size, size, zoom);
            draw_mask(&im, gap + (tile + gap), oy, truth + s * hw, size, size, zoom);
            draw_mask(&im, gap + 2 * (tile + gap), oy, pred + s * hw, size, size, zoom);
            for (int i = 0; i < tile; i++)
                for (int j = 0; j < tile; j++) {
                    int64_t p = s * hw + (int64_t)(i / zoom) * size + j / zoom;
                    static const unsigned char ok[3] = {40, 40, 40};
                    put_px(&im, gap + 3 * (tile + gap) + j, oy + i, truth[p] == pred[p] ? ok : white);
                }
        }
        /* legend */
        const char *names[4] = {"BACKGROUND", "DISC", "RECTANGLE", "TRIANGLE"};
        int lx = gap, ly = H - 11;
        for (int c = 0; c < 4; c++) {
            for (int i = 0; i < 7; i++)
                for (int j = 0; j < 7; j++) put_px(&im, lx + j, ly + i, seg_palette[c]);
            cn_image_text(&im, lx + 10, ly, names[c], 1, ink);
            lx += 10 + cn_image_text_width(names[c], 1) + 12;
        }
        st = cn_image_save(&im, path);
    }
    cn_image_free(&im);
    cn_free(in), cn_free(tg), cn_free(truth), cn_free(pred);
    return st;
}

cn_status exp_segmentation(exp_ctx *x)
{
    /* full: unet-tiny (unet-small at half width: a quarter of the MACs) at 64 x 64 on 12,000
     * generated training images seen 6 times, Adam 2e-3 with a cosine decay per step;
     * quick: the same at 32 x 32 on 3,000 images, 2 epochs */
    vision_recipe r = x->quick ? (vision_recipe){"unet-tiny", 32, 3000, 100, 2, 16, 3e-3}
                            : (vision_recipe){"unet-tiny", 64, 12000, 400, 6, 16, 2e-3};
    char spec[256], shape[32];
    snprintf(spec, sizeof spec, "synthetic-seg:channels=1,size=%d,n=%lld,test=%lld", r.size, (long long)r.n_train,
             (long long)r.n_test);
    snprintf(shape, sizeof shape, "1x%dx%d", r.size, r.size);
    cn_model *m = NULL;
    cn_dataset *train = NULL, *test = NULL;
    cn_metrics mt;
    memset(&mt, 0, sizeof mt);
    double seconds = 0, train_loss = NAN;
    cn_status st = exp_load_model(&m, r.model);
    if (st == CN_OK) st = cn_model_set_option(m, "image", "shape", shape);
    if (st == CN_OK) st = cn_dataset_open(&train, &test, spec);
    if (st != CN_OK) goto done;
    int64_t steps;
    cn_train_config tc = recipe_config(x, &r, &steps);

    exp_printf(x, "Segmentation: %s on synthetic shapes%s\n", r.model, x->quick ? " -- QUICK RUN, not the full recipe" : "");
    exp_printf(x, "data: %s (gray, up to 4 shapes, noise 0.05; test = held-out part)\n", spec);
    exp_printf(x, "training: Adam lr %g, cosine per step to %g, batch %lld, %lld epochs (%lld steps), seed %llu\n\n", r.lr,
               tc.schedule.eta_min, (long long)r.batch, (long long)r.epochs, (long long)steps, (unsigned long long)x->seed);
    exp_fit_result fr;
    st = exp_fit(x, r.model, m, train, test, &tc, 1, &fr);
    seconds = fr.seconds, train_loss = fr.train_loss;
    if (st == CN_OK) st = cn_evaluate(m, test, 50, &mt);
    if (st != CN_OK) goto done;

    static const char *const names[4] = {"background", "disc", "rectangle", "triangle"};
    double iou[4];
    exp_printf(x, "%-12s %9s %9s\n", "class", "IoU", "recall");
    for (int c = 0; c < 4; c++) {
        int64_t row = 0, col = 0, hit = mt.confusion[c * 4 + c];
        for (int j = 0; j < 4; j++) row += mt.confusion[c * 4 + j], col += mt.confusion[j * 4 + c];
        iou[c] = row + col - hit > 0 ? (double)hit / (double)(row + col - hit) : NAN;
        exp_printf(x, "%-12s %9.4f %9.4f\n", names[c], iou[c], mt.per_class[c]);
    }
    int64_t params = exp_model_params(m);
    exp_printf(x, "\n%-12s %8s %8s %10s %9s %9s %8s  %s\n", "model", "params", "input", "train_loss", "pixel_acc", "mean_IoU",
               "time_s", "target");
    exp_printf(x, "%-12s %8lld %8s %10.4f %9.4f %9.4f %8.1f  mIoU >= 0.90: %s\n", r.model, (long long)params, shape,
               train_loss, mt.pixel_acc, mt.mean_iou, seconds, x->quick ? "not checked (quick)" : mt.mean_iou >= 0.9 ? "met" : "MISSED");

    char pic[4200];
    snprintf(pic, sizeof pic, "%s/segmentation.png", x->out);
    st = seg_picture(m, test, r.size, 8, pic);
    if (st != CN_OK) goto done;
    exp_printf(x, "\nPicture: %s (held-out inputs, true masks, predicted masks, wrong pixels in white)\n", pic);
    exp_printf(x, "Curves: %s/%s/log.jsonl (convnet plot %s/%s --out curves.svg)\n", x->out, r.model, x->out, r.model);

    cJSON *o = run_json(x, "segmentation", r.model, shape, spec, params, r.epochs, steps, r.batch, r.lr, train_loss);
    cJSON_AddNumberToObject(o, "test_loss", mt.loss);
    cJSON_AddNumberToObject(o, "pixel_acc", mt.pixel_acc);
    cJSON_AddNumberToObject(o, "mean_iou", mt.mean_iou);
    cJSON *ci = cJSON_AddObjectToObject(o, "iou");
    for (int c = 0; c < 4; c++)
        if (isfinite(iou[c])) cJSON_AddNumberToObject(ci, names[c], iou[c]);
    cJSON_AddNumberToObject(o, "seconds", seconds);
    cJSON_AddStringToObject(o, "picture", "segmentation.png");
    if (!x->quick) cJSON_AddBoolToObject(o, "target_met", mt.mean_iou >= 0.9);
done:
    cn_metrics_free(&mt);
    cn_dataset_destroy(train);
    cn_dataset_destroy(test);
    cn_model_destroy(m);
    return st;
}

/* ================================ detection =============================================== */

enum { DET_BOXES = 2, DET_CLASSES = 3, DET_MAX_BOXES = 8 };

typedef struct {
    int64_t n;            /* detections kept */
    cn_detection *d;      /* after NMS, all images */
    int64_t *image;       /* image of each */
    float *targets;       /* (n_test, max_boxes, 5) */
    float *inputs;        /* the first `keep_inputs` images (for the picture) */
} det_results;

/* The grid of a prediction: (N, 5B+C, S, S) from a conv head, or (N, S*S*(5B+C)) from a dense
 * one (yolo.cfg); 0 when it is neither. */
static int64_t det_grid(const cn_shape *ps)
{
    const int64_t d = 5 * DET_BOXES + DET_CLASSES;
    if (ps->ndim == 4) return ps->dim[1] == d && ps->dim[2] == ps->dim[3] ? ps->dim[2] : 0;
    if (ps->ndim != 2 || ps->dim[1] % d) return 0;
    int64_t s = (int64_t)lrint(sqrt((double)(ps->dim[1] / d)));
    return s * s * d == ps->dim[1] ? s : 0;
}

/* Detections on the whole test set: decode every image's grid (score >= thresh), per-class NMS
 * at IoU 0.5, keep the best `per_image`. */
static cn_status det_predict(cn_model *m, const cn_dataset *test, int size, float thresh, int per_image, int keep_inputs,
                             det_results *res)
{
    const int64_t nt = cn_dataset_info_of(test)->n, batch = 50, hw = (int64_t)size * size;
    memset(res, 0, sizeof *res);
    float *xb = cn_malloc((size_t)(batch * hw) * sizeof(float), "detection batch");
    cn_detection *tmp = NULL;
    int64_t cap = 0;
    res->d = cn_malloc((size_t)(nt * per_image) * sizeof(cn_detection), "detections");
    res->image = cn_malloc((size_t)(nt * per_image) * sizeof(int64_t), "detection images");
    res->targets = cn_malloc((size_t)(nt * DET_MAX_BOXES * 5) * sizeof(float), "detection targets");
    res->inputs = cn_malloc((size_t)(keep_inputs * hw) * sizeof(float), "detection picture inputs");
    cn_status st = xb && res->d && res->image && res->targets && res->inputs ? CN_OK : CN_STATUS_NOMEM;
    int64_t planned = 0;
    for (int64_t b0 = 0; b0 < nt && st == CN_OK; b0 += batch) {
        int64_t nb = nt - b0 < batch ? nt - b0 : batch;
        for (int64_t s = 0; s < nb && st == CN_OK; s++)
            st = cn_dataset_get(test, b0 + s, xb + s * hw, res->targets + (b0 + s) * DET_MAX_BOXES * 5);
        if (st == CN_OK && nb != planned) st = cn_model_plan(m, nb, CN_PLAN_INFER), planned = nb;
        if (st == CN_OK) st = cn_model_forward(m, xb, 0);
        if (st != CN_OK) break;
        cn_shape ps;
        const float *pred = cn_model_output(m, &ps);
        int64_t grid = det_grid(&ps);
        if (!grid) {
            char buf[96];
            st = cn_set_error(CN_STATUS_SHAPE, "detection: the model predicts %s; expected (N, 13, S, S) or (N, S*S*13) "
                              "(2 boxes, 3 classes)", cn_shape_str(&ps, buf, sizeof buf));
            break;
        }
        if (!tmp) {
            cap = grid * grid * DET_BOXES * DET_CLASSES;
            tmp = cn_malloc((size_t)cap * sizeof(cn_detection), "detection decode");
            if (!tmp) {
                st = CN_STATUS_NOMEM;
                break;
            }
        }
        cn_yolo_geom g = cn_yolo_geom_make(nb, grid, grid, DET_BOXES, DET_CLASSES, DET_MAX_BOXES);
        for (int64_t s = 0; s < nb; s++) {
            int64_t k = cn_yolo_decode(tmp, cap, pred, &g, s, thresh);
            if (k > cap) k = cap;
            k = cn_nms(tmp, k, 0.5f, 1);
            if (k > per_image) k = per_image;
            for (int64_t e = 0; e < k; e++) res->d[res->n] = tmp[e], res->image[res->n++] = b0 + s;
            if (b0 + s < keep_inputs) memcpy(res->inputs + (b0 + s) * hw, xb + s * hw, (size_t)hw * sizeof(float));
        }
    }
    cn_free(xb);
    cn_free(tmp);
    return st;
}

static void det_results_free(det_results *r)
{
    cn_free(r->d), cn_free(r->image), cn_free(r->targets), cn_free(r->inputs);
    memset(r, 0, sizeof *r);
}

/* AP per class at an IoU threshold and their mean over the classes present */
static cn_status det_map(const det_results *r, int64_t n_images, float iou, double ap[DET_CLASSES], double *map)
{
    int64_t *order = cn_malloc((size_t)(r->n ? r->n : 1) * sizeof(int64_t), "AP order");
    unsigned char *matched = cn_malloc((size_t)(n_images * DET_MAX_BOXES), "AP matches");
    if (!order || !matched) {
        cn_free(order), cn_free(matched);
        return CN_STATUS_NOMEM;
    }
    double sum = 0;
    int n = 0;
    for (int c = 0; c < DET_CLASSES; c++) {
        ap[c] = cn_detection_ap(r->d, r->image, r->n, r->targets, n_images, DET_MAX_BOXES, c, iou, order, matched);
        if (!isnan(ap[c])) sum += ap[c], n++;
    }
    *map = n ? sum / n : NAN;
    cn_free(order), cn_free(matched);
    return CN_OK;
}

/* class colours of predicted boxes: disc, rectangle, triangle; truth is green */
static const unsigned char det_palette[3][3] = {{235, 60, 50}, {255, 170, 0}, {60, 110, 255}};
static const unsigned char truth_rgb[3] = {40, 200, 70};

static cn_status det_picture(const det_results *r, int size, int shows, float show_score, const char *path)
{
    const int zoom = size >= 64 ? 4 : 8, tile = size * zoom, gap = 6, cols = 4, head = 16;
    const int rows = (shows + cols - 1) / cols;
    int64_t hw = (int64_t)size * size;
    int W = gap + cols * (tile + gap), H = head + gap + rows * (tile + gap) + 14;
    cn_image im = {0};
    cn_status st = cn_image_alloc(&im, W, H, 3, 255);
    if (st != CN_OK) return st;
    static const unsigned char ink[3] = {0, 0, 0};
    char title[128];
    snprintf(title, sizeof title, "HELD-OUT CANVASES: TRUE BOXES GREEN, PREDICTED (SCORE >= %.2f, AFTER NMS)", show_score);
    cn_image_text(&im, gap, 4, title, 1, ink);
    for (int s = 0; s < shows; s++) {
        int ox = gap + (s % cols) * (tile + gap), oy = head + gap + (s / cols) * (tile + gap);
        draw_gray(&im, ox, oy, r->inputs + s * hw, size, size, zoom);
        const float *t = r->targets + (int64_t)s * DET_MAX_BOXES * 5;
        for (int b = 0; b < DET_MAX_BOXES; b++)
            if (t[5 * b] >= 0) {
                cn_box tb = {t[5 * b + 1], t[5 * b + 2], t[5 * b + 3], t[5 * b + 4]};
                draw_box(&im, ox, oy, tile, tile, &tb, truth_rgb, 3);
            }
        for (int64_t e = 0; e < r->n; e++)
            if (r->image[e] == s && r->d[e].score >= show_score) {
                const cn_detection *d = &r->d[e];
                draw_box(&im, ox, oy, tile, tile, &d->box, det_palette[d->cls], 2);
            }
        /* scores on dark tags inside each box's top-left corner, after all the outlines */
        for (int64_t e = 0; e < r->n; e++)
            if (r->image[e] == s && r->d[e].score >= show_score) {
                const cn_detection *d = &r->d[e];
                char lab[16];
                snprintf(lab, sizeof lab, "%.2f", d->score);
                int lx = ox + (int)lrint((d->box.cx - d->box.w / 2) * tile) + 2;
                int ly = oy + (int)lrint((d->box.cy - d->box.h / 2) * tile) + 2;
                int tw = cn_image_text_width(lab, 1);
                static const unsigned char tag[3] = {0, 0, 0};
                for (int i = 0; i < 9; i++)
                    for (int j = 0; j < tw + 2; j++)
                        if (lx + j < ox + tile && ly + i < oy + tile) put_px(&im, lx + j, ly + i, tag);
                cn_image_text(&im, lx + 1, ly + 1, lab, 1, det_palette[d->cls]);
            }
    }
    const char *names[4] = {"TRUTH", "DISC", "RECTANGLE", "TRIANGLE"};
    int lx = gap, ly = H - 11;
    for (int c = 0; c < 4; c++) {
        const unsigned char *rgb = c ? det_palette[c - 1] : truth_rgb;
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 7; j++) put_px(&im, lx + j, ly + i, rgb);
        cn_image_text(&im, lx + 10, ly, names[c], 1, ink);
        lx += 10 + cn_image_text_width(names[c], 1) + 12;
    }
    st = cn_image_save(&im, path);
    cn_image_free(&im);
    return st;
}

cn_status exp_detection(exp_ctx *x)
{
    /* full: yolo-conv (yolo.cfg's backbone with a conv head, 8x8 grid) at 64 x 64 on 10,000
     * generated canvases seen 6 times, Adam 2e-3, 2% linear warmup then cosine per step;
     * quick: the same at 32 x 32 (4x4 grid) on 2,000 canvases, 3 epochs */
    vision_recipe r = x->quick ? (vision_recipe){"yolo-conv", 32, 2000, 100, 3, 16, 2e-3}
                            : (vision_recipe){"yolo-conv", 64, 10000, 400, 6, 16, 2e-3};
    char spec[256], shape[32];
    /* objects scale with the canvas: 12..32 pixels at 64 */
    snprintf(spec, sizeof spec, "synthetic-det:channels=1,size=%d,n=%lld,test=%lld,min_size=%d,max_size=%d", r.size,
             (long long)r.n_train, (long long)r.n_test, 12 * r.size / 64, 32 * r.size / 64);
    snprintf(shape, sizeof shape, "1x%dx%d", r.size, r.size);
    cn_model *m = NULL;
    cn_dataset *train = NULL, *test = NULL;
    det_results res;
    memset(&res, 0, sizeof res);
    double seconds = 0, train_loss = NAN;
    cn_status st = exp_load_model(&m, r.model);
    if (st == CN_OK) st = cn_model_set_option(m, "image", "shape", shape);
    if (st == CN_OK) st = cn_dataset_open(&train, &test, spec);
    if (st != CN_OK) goto done;
    const cn_dataset_info *ti = cn_dataset_info_of(test);
    if (ti->target_kind != CN_TARGET_BOXES || ti->target.ndim != 2 || ti->target.dim[0] != DET_MAX_BOXES ||
        ti->num_classes != DET_CLASSES) {
        st = cn_set_error(CN_STATUS_SHAPE, "detection: %s gives %d classes and targets of %lld rows; yolo.cfg expects %d classes, %d rows",
                          spec, ti->num_classes, (long long)(ti->target.ndim ? ti->target.dim[0] : 0), DET_CLASSES, DET_MAX_BOXES);
        goto done;
    }
    int64_t steps;
    cn_train_config tc = recipe_config(x, &r, &steps);
    tc.schedule.warmup = steps / 50 > 0 ? steps / 50 : 1;

    exp_printf(x, "Detection: %s (YOLO-v1 loss, 2 boxes per cell, 3 classes) on synthetic canvases%s\n", r.model,
               x->quick ? " -- QUICK RUN, not the full recipe" : "");
    exp_printf(x, "data: %s (gray, 1-4 objects; test = held-out part)\n", spec);
    exp_printf(x, "training: Adam lr %g, %lld warmup steps then cosine per step to %g, batch %lld, %lld epochs (%lld steps), seed %llu\n\n",
               r.lr, (long long)tc.schedule.warmup, tc.schedule.eta_min, (long long)r.batch, (long long)r.epochs,
               (long long)steps, (unsigned long long)x->seed);
    exp_fit_result fr;
    st = exp_fit(x, r.model, m, train, test, &tc, 1, &fr);
    seconds = fr.seconds, train_loss = fr.train_loss;
    if (st != CN_OK) goto done;
    const int shows = 8;
    st = det_predict(m, test, r.size, 0.005f, 100, shows, &res);
    if (st != CN_OK) goto done;
    double ap50[DET_CLASSES], ap75[DET_CLASSES], map50, map75;
    if ((st = det_map(&res, ti->n, 0.5f, ap50, &map50)) != CN_OK) goto done;
    if ((st = det_map(&res, ti->n, 0.75f, ap75, &map75)) != CN_OK) goto done;

    static const char *const names[DET_CLASSES] = {"disc", "rectangle", "triangle"};
    exp_printf(x, "%-12s %9s %9s\n", "class", "AP@0.5", "AP@0.75");
    for (int c = 0; c < DET_CLASSES; c++) exp_printf(x, "%-12s %9.4f %9.4f\n", names[c], ap50[c], ap75[c]);
    int64_t params = exp_model_params(m);
    exp_printf(x, "\n%-10s %8s %8s %10s %8s %8s %8s  %s\n", "model", "params", "input", "train_loss", "mAP@0.5", "mAP@0.75",
               "time_s", "target");
    exp_printf(x, "%-10s %8lld %8s %10.4f %8.4f %8.4f %8.1f  mAP@0.5 >= 0.80: %s\n", r.model, (long long)params, shape, train_loss,
               map50, map75, seconds, x->quick ? "not checked (quick)" : map50 >= 0.8 ? "met" : "MISSED");
    exp_printf(x, "(decoding: score = conf x P(class) >= 0.005, per-class NMS at IoU 0.5, best 100 per image; "
                  "VOC all-point AP over %lld held-out canvases)\n", (long long)ti->n);

    char pic[4200];
    snprintf(pic, sizeof pic, "%s/detection.png", x->out);
    st = det_picture(&res, r.size, shows, 0.25f, pic);
    if (st != CN_OK) goto done;
    exp_printf(x, "\nPicture: %s (held-out canvases; true boxes green, predictions with score >= 0.25 coloured by class)\n", pic);
    exp_printf(x, "Curves: %s/%s/log.jsonl (convnet plot %s/%s --out curves.svg)\n", x->out, r.model, x->out, r.model);

    cJSON *o = run_json(x, "detection", r.model, shape, spec, params, r.epochs, steps, r.batch, r.lr, train_loss);
    if (isfinite(map50)) cJSON_AddNumberToObject(o, "map50", map50);
    if (isfinite(map75)) cJSON_AddNumberToObject(o, "map75", map75);
    cJSON *ca = cJSON_AddObjectToObject(o, "ap50");
    for (int c = 0; c < DET_CLASSES; c++)
        if (isfinite(ap50[c])) cJSON_AddNumberToObject(ca, names[c], ap50[c]);
    cJSON_AddNumberToObject(o, "detections", (double)res.n);
    cJSON_AddNumberToObject(o, "seconds", seconds);
    cJSON_AddStringToObject(o, "picture", "detection.png");
    if (!x->quick) cJSON_AddBoolToObject(o, "target_met", map50 >= 0.8);
done:
    det_results_free(&res);
    cn_dataset_destroy(train);
    cn_dataset_destroy(test);
    cn_model_destroy(m);
    return st;
}
