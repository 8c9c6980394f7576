/* report.c — one self-contained HTML page for a training run: metrics, curves (inline SVG),
 * model summary, filter grids and example predictions (inline PNG data URIs), confusion
 * matrix heat map. No scripts and no external resources, so it opens anywhere. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "convnet/dataset.h"
#include "convnet/safetensors.h"
#include "convnet/viz.h"
#include "io/file.h"
#include "viz/buf.h"

#define MAX_CLASSES 1000

cn_report_config cn_report_defaults(void)
{
    cn_report_config c;
    memset(&c, 0, sizeof c);
    c.examples = 16;
    c.max_filter_layers = 4;
    return c;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

typedef struct report {
    vbuf *h;
    const char *dir;
    char path[4200];
    const cn_report_config *cfg;
    cn_model *model;          /* planned for batch 1 with weights, or NULL */
    cn_model *plain;          /* planned for batch 1 without weights (summary only), or NULL */
    const char *weights_name; /* the file the model's weights came from */
    cJSON *metrics;           /* metrics.json, or NULL */
    const char *data;         /* dataset spec for examples (the config's, or metrics.json's), or NULL */
    int data_auto;            /* 1 when `data` came from metrics.json */
    char data_buf[128];
    char *classes[MAX_CLASSES];
    int n_classes;
} report;

static const char *file_in(report *r, const char *name)
{
    snprintf(r->path, sizeof r->path, "%s/%s", r->dir, name);
    return r->path;
}

static void class_label(const report *r, int k, char *out, size_t cap)
{
    if (k >= 0 && k < r->n_classes && r->classes[k])
        snprintf(out, cap, "%s", r->classes[k]);
    else
        snprintf(out, cap, "%d", k);
}

static cn_status set_classes(report *r, const char *list)
{
    r->n_classes = 0;
    for (const char *p = list; p && *p && r->n_classes < MAX_CLASSES;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *s = cn_malloc(n + 1, "class name");
        if (!s) return CN_STATUS_NOMEM;
        memcpy(s, p, n);
        s[n] = '\0';
        r->classes[r->n_classes++] = s;
        p = e ? e + 1 : p + n;
    }
    return CN_OK;
}

static void section(report *r, const char *id, const char *title)
{
    vbuf_printf(r->h, "<section id=\"%s\"><h2>", id);
    vbuf_escape(r->h, title);
    vbuf_puts(r->h, "</h2>\n");
}

static void note(report *r, const char *text)
{
    vbuf_puts(r->h, "<p class=\"note\">");
    vbuf_escape(r->h, text);
    vbuf_puts(r->h, "</p>\n");
}

static cn_status img_tag(report *r, const cn_image *im, const char *alt, const char *cls)
{
    unsigned char *png;
    size_t len;
    cn_status st = cn_image_encode_png(im, &png, &len);
    if (st != CN_OK) return st;
    vbuf_printf(r->h, "<img class=\"%s\" width=\"%d\" height=\"%d\" alt=\"", cls, im->w, im->h);
    vbuf_escape(r->h, alt);
    vbuf_puts(r->h, "\" src=\"data:image/png;base64,");
    vbuf_base64(r->h, png, len);
    vbuf_puts(r->h, "\">");
    cn_free(png);
    return CN_OK;
}

/* ---- metrics.json ---- */
static cn_status load_metrics(report *r)
{
    const char *p = file_in(r, "metrics.json");
    if (!exists(p)) return CN_OK;
    unsigned char *buf;
    size_t len;
    cn_status st = cn_file_read_all(p, &buf, &len);
    if (st != CN_OK) return st;
    r->metrics = cJSON_ParseWithLength((const char *)buf, len);
    cn_free(buf);
    if (!r->metrics || !cJSON_IsObject(r->metrics)) {
        cJSON_Delete(r->metrics);
        r->metrics = NULL;
        return cn_set_error(CN_STATUS_FORMAT, "%s: not a JSON object", p);
    }
    return CN_OK;
}

/* the confusion matrix: "confusion" (or "confusion_matrix"): K lists of K numbers */
static const cJSON *confusion(const report *r, int *K)
{
    if (!r->metrics) return NULL;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(r->metrics, "confusion");
    if (!c) c = cJSON_GetObjectItemCaseSensitive(r->metrics, "confusion_matrix");
    int k = cJSON_GetArraySize(c);
    if (!cJSON_IsArray(c) || k < 1 || k > MAX_CLASSES) return NULL;
    const cJSON *row;
    cJSON_ArrayForEach(row, c)
    {
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != k) return NULL;
        const cJSON *v;
        cJSON_ArrayForEach(v, row) if (!cJSON_IsNumber(v)) return NULL;
    }
    *K = k;
    return c;
}

static void write_metrics(report *r)
{
    section(r, "metrics", "Final evaluation");
    if (!r->metrics) {
        note(r, "No metrics.json in the run directory.");
        vbuf_puts(r->h, "</section>\n");
        return;
    }
    vbuf_puts(r->h, "<table class=\"kv\">\n");
    const cJSON *it;
    cJSON_ArrayForEach(it, r->metrics)
    {
        if (!cJSON_IsNumber(it) && !cJSON_IsString(it)) continue;
        vbuf_puts(r->h, "<tr><th>");
        vbuf_escape(r->h, it->string);
        vbuf_puts(r->h, "</th><td>");
        if (cJSON_IsNumber(it))
            vbuf_printf(r->h, "%.6g", it->valuedouble);
        else
            vbuf_escape(r->h, it->valuestring);
        vbuf_puts(r->h, "</td></tr>\n");
    }
    vbuf_puts(r->h, "</table>\n");
    /* per-class accuracy: an array of numbers named per_class* */
    cJSON_ArrayForEach(it, r->metrics)
    {
        if (!cJSON_IsArray(it) || strncmp(it->string, "per_class", 9)) continue;
        vbuf_puts(r->h, "<h3>Per-class accuracy</h3>\n<table class=\"bars\">\n");
        int k = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, it)
        {
            char name[128];
            class_label(r, k++, name, sizeof name);
            double a = cJSON_IsNumber(v) ? v->valuedouble : NAN;
            vbuf_puts(r->h, "<tr><th>");
            vbuf_escape(r->h, name);
            if (isfinite(a))
                vbuf_printf(r->h, "</th><td><div class=\"bar\" style=\"width:%.1fpx\"></div></td><td>%.4f</td></tr>\n",
                            fmax(0, fmin(1, a)) * 240, a);
            else
                vbuf_puts(r->h, "</th><td></td><td>n/a</td></tr>\n");
        }
        vbuf_puts(r->h, "</table>\n");
        break;
    }
    vbuf_puts(r->h, "</section>\n");
}

static void write_confusion(report *r)
{
    section(r, "confusion", "Confusion matrix");
    int K = 0;
    const cJSON *c = confusion(r, &K);
    if (!c) {
        note(r, r->metrics ? "metrics.json has no confusion matrix (\"confusion\": K lists of K counts)."
                           : "No metrics.json in the run directory.");
        vbuf_puts(r->h, "</section>\n");
        return;
    }
    vbuf_puts(r->h, "<p>Rows: true class; columns: predicted class. Each cell's colour is its share of the row "
                    "(the fraction of that class predicted so); the number is the count.</p>\n");
    vbuf_puts(r->h, "<table class=\"cm\">\n<tr><th class=\"corner\">true \\ predicted</th>");
    for (int j = 0; j < K; j++) {
        char name[128];
        class_label(r, j, name, sizeof name);
        vbuf_puts(r->h, "<th>");
        vbuf_escape(r->h, name);
        vbuf_puts(r->h, "</th>");
    }
    vbuf_puts(r->h, "</tr>\n");
    int i = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, c)
    {
        double sum = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, row) sum += v->valuedouble;
        char name[128];
        class_label(r, i, name, sizeof name);
        vbuf_puts(r->h, "<tr><th>");
        vbuf_escape(r->h, name);
        vbuf_puts(r->h, "</th>");
        int j = 0;
        cJSON_ArrayForEach(v, row)
        {
            double t = sum > 0 ? v->valuedouble / sum : 0;
            /* white -> deep blue */
            int R = (int)lrint(255 + t * (8 - 255)), G = (int)lrint(255 + t * (69 - 255)),
                B = (int)lrint(255 + t * (148 - 255));
            vbuf_printf(r->h, "<td style=\"background:#%02x%02x%02x;color:%s\"%s>%.10g</td>", R, G, B,
                        t > 0.5 ? "#fff" : "#222", i == j ? " class=\"diag\"" : "", v->valuedouble);
            j++;
        }
        vbuf_puts(r->h, "</tr>\n");
        i++;
    }
    vbuf_puts(r->h, "</table>\n</section>\n");
}

/* ---- curves ---- */
static cn_status write_curves(report *r)
{
    section(r, "curves", "Training curves");
    const char *p = file_in(r, "log.jsonl");
    if (!exists(p)) {
        note(r, "No log.jsonl in the run directory.");
        vbuf_puts(r->h, "</section>\n");
        return CN_OK;
    }
    cn_run_log log;
    cn_status st = cn_run_log_load(&log, p);
    if (st != CN_OK) return st;
    char *svg = NULL;
    if ((st = cn_plot_curves_svg(&svg, &log, 960, 360, NULL)) == CN_OK) {
        vbuf_puts(r->h, "<div class=\"figure\">\n");
        vbuf_puts(r->h, svg);
        vbuf_puts(r->h, "</div>\n");
        const cn_run_epoch *e = &log.e[log.n - 1];
        vbuf_printf(r->h, "<p>%d epochs recorded. Last: ", log.n);
        const char *names[] = {"epoch", "step", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "time_s"};
        double vals[] = {e->epoch, e->step, e->lr, e->train_loss, e->train_acc, e->val_loss, e->val_acc, e->time_s};
        int first = 1;
        for (int k = 0; k < 8; k++)
            if (isfinite(vals[k])) {
                vbuf_printf(r->h, "%s%s = %.6g", first ? "" : ", ", names[k], vals[k]);
                first = 0;
            }
        vbuf_puts(r->h, ".</p>\n");
    } else if (st == CN_STATUS_FORMAT) { /* a log without loss or accuracy: say so, keep going */
        note(r, cn_last_error());
        st = CN_OK;
    }
    cn_free(svg);
    cn_run_log_free(&log);
    vbuf_puts(r->h, "</section>\n");
    return st;
}

/* ---- the model ---- */
static cn_status load_model(report *r)
{
    const char *names[] = {"weights.safetensors", "checkpoint.safetensors"};
    for (int k = 0; k < 2; k++) {
        const char *p = file_in(r, names[k]);
        if (!exists(p)) continue;
        cn_status st = cn_viz_load_model(&r->model, p, NULL, 1, k ? CN_VIZ_LOAD_ALLOW_EXTRA : CN_VIZ_LOAD_INFER);
        if (st != CN_OK && k == 1 &&
            st == CN_STATUS_NOT_FOUND) { /* a checkpoint without the model text: use model.cfg */
            char cfg[4200];
            snprintf(cfg, sizeof cfg, "%s/model.cfg", r->dir);
            if (exists(cfg)) st = cn_viz_load_model(&r->model, cfg, p, 1, CN_VIZ_LOAD_ALLOW_EXTRA);
        }
        if (st != CN_OK) return st;
        r->weights_name = names[k];
        return CN_OK;
    }
    const char *p = file_in(r, "model.cfg");
    if (!exists(p)) return CN_OK;
    cn_status st = cn_model_load(&r->plain, p);
    if (st == CN_OK) st = cn_model_plan(r->plain, 1, CN_PLAN_INFER);
    if (st != CN_OK) {
        cn_model_destroy(r->plain);
        r->plain = NULL;
    }
    return st;
}

static void rf_text(const cn_layer_info *li, const double *v, char *out, size_t cap)
{
    size_t u = 0;
    out[0] = '\0';
    if (!li->rf_ndim) snprintf(out, cap, "-");
    for (int a = 0; a < li->rf_ndim && u < cap; a++)
        u += (size_t)snprintf(out + u, cap - u, "%s%g", a ? "x" : "", v[a]);
}

static void write_model(report *r, const char *weights_name)
{
    section(r, "model", "Model");
    const cn_model *m = r->model ? r->model : r->plain;
    if (!m) {
        note(r, "No weights.safetensors, checkpoint.safetensors or model.cfg in the run directory.");
        vbuf_puts(r->h, "</section>\n");
        return;
    }
    if (r->model) {
        vbuf_puts(r->h, "<p>Weights: ");
        vbuf_escape(r->h, weights_name);
        vbuf_puts(r->h, ".</p>\n");
    } else
        note(r, "Only model.cfg: no trained weights, so no filters or predictions.");
    vbuf_puts(r->h, "<table class=\"summary\">\n<tr><th>layer</th><th>type</th><th>inputs</th><th>output</th>"
                    "<th>params</th><th>MACs</th><th>receptive field</th><th>jump</th></tr>\n");
    int64_t tp = 0, tm = 0;
    for (int i = 0, n = cn_model_layer_count(m); i < n; i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        char shape[96], rf[64], jump[64];
        cn_shape_str(&li.out, shape, sizeof shape);
        rf_text(&li, li.rf_size, rf, sizeof rf);
        rf_text(&li, li.rf_jump, jump, sizeof jump);
        tp += li.params, tm += li.macs;
        vbuf_puts(r->h, "<tr><td>");
        vbuf_escape(r->h, li.name);
        vbuf_puts(r->h, "</td><td>");
        vbuf_escape(r->h, li.type);
        vbuf_puts(r->h, "</td><td>");
        for (int k = 0; k < li.n_inputs; k++) {
            if (k) vbuf_puts(r->h, ", ");
            vbuf_escape(r->h, li.inputs[k]);
        }
        vbuf_printf(
            r->h, "</td><td>%s</td><td class=\"num\">%lld</td><td class=\"num\">%lld</td><td>%s</td><td>%s</td></tr>\n",
            shape, (long long)li.params, (long long)li.macs, rf, jump);
    }
    vbuf_printf(r->h,
                "<tr class=\"total\"><td>total</td><td></td><td></td><td></td><td class=\"num\">%lld</td>"
                "<td class=\"num\">%lld</td><td></td><td></td></tr>\n</table>\n",
                (long long)tp, (long long)tm);
    vbuf_puts(r->h, "<p class=\"note\">Shapes include the batch (1). MACs: multiply-accumulates per sample. Receptive "
                    "field: the input region one output value sees; jump: the input distance between neighbouring "
                    "outputs.</p>\n");
    char *text = NULL;
    if (cn_model_to_text(m, &text) == CN_OK) {
        vbuf_puts(r->h, "<details><summary>Model text</summary><pre>");
        vbuf_escape(r->h, text);
        vbuf_puts(r->h, "</pre></details>\n");
        cn_free(text);
    }
    vbuf_puts(r->h, "</section>\n");
}

static cn_status write_filters(report *r)
{
    section(r, "filters", "Learned filters");
    if (!r->model) {
        note(r, "No weights.");
        vbuf_puts(r->h, "</section>\n");
        return CN_OK;
    }
    int shown = 0;
    for (int i = 0, n = cn_model_layer_count(r->model); i < n && shown < r->cfg->max_filter_layers; i++) {
        cn_layer_info li;
        cn_model_layer(r->model, i, &li);
        if (strcmp(li.type, "conv")) continue;
        cn_image im;
        memset(&im, 0, sizeof im);
        cn_status st = cn_viz_filters(&im, r->model, li.name, 16, 8);
        if (st == CN_STATUS_INVALID_ARG) continue; /* a conv without 1D/2D weights (3D): skip */
        if (st != CN_OK) return st;
        char cap[256];
        snprintf(cap, sizeof cap, "filters of %s", li.name);
        vbuf_puts(r->h, "<figure>");
        st = img_tag(r, &im, cap, "grid");
        cn_image_free(&im);
        if (st != CN_OK) return st;
        for (int p = 0, np = cn_model_param_count(r->model); p < np; p++) {
            cn_param prm;
            char want[160];
            snprintf(want, sizeof want, "%s.weight", li.name);
            if (cn_model_param(r->model, p, &prm) == CN_OK && !strcmp(prm.name, want)) {
                char s[96];
                cn_shape_str(&prm.shape, s, sizeof s);
                vbuf_puts(r->h, "<figcaption>");
                vbuf_escape(r->h, li.name);
                int64_t nf = prm.shape.dim[0], ni = prm.shape.dim[1];
                if (nf > 16) vbuf_printf(r->h, ", the first 16 of %lld filters", (long long)nf);
                if (ni > 8)
                    vbuf_printf(r->h, "%s the first 8 of %lld input channels", nf > 16 ? " and" : ",", (long long)ni);
                vbuf_printf(r->h, ": weight %s (%s)</figcaption>", s,
                            prm.shape.ndim == 4 && prm.shape.dim[1] == 3 ? "one colour tile per filter"
                            : prm.shape.dim[1] == 1
                                ? "one tile per filter; blue &lt; 0 &lt; red"
                                : "a row per filter, a tile per input channel; blue &lt; 0 &lt; red");
            }
        }
        vbuf_puts(r->h, "</figure>\n");
        shown++;
    }
    if (!shown) note(r, "The model has no 1D or 2D conv layers.");
    vbuf_puts(r->h, "</section>\n");
    return CN_OK;
}

/* a 1D signal as a tiny inline SVG */
static void sparkline(report *r, const float *x, int64_t n)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) lo = fmin(lo, x[i]), hi = fmax(hi, x[i]);
    if (!(hi > lo)) hi = lo + 1;
    vbuf_puts(r->h, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"112\" height=\"56\"><polyline fill=\"none\" "
                    "stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"");
    for (int64_t i = 0; i < n; i++)
        vbuf_printf(r->h, "%s%.1f,%.1f", i ? " " : "", 2 + 108.0 * i / (n > 1 ? n - 1 : 1),
                    54 - 52 * (x[i] - lo) / (hi - lo));
    vbuf_puts(r->h, "\"/></svg>");
}

static cn_status write_examples(report *r)
{
    section(r, "examples", "Example predictions");
    if (!r->data) {
        note(r, "No dataset given (convnet report --data SPEC shows test samples with the model's predictions).");
        vbuf_puts(r->h, "</section>\n");
        return CN_OK;
    }
    if (!r->model) {
        note(r, "No weights to predict with.");
        vbuf_puts(r->h, "</section>\n");
        return CN_OK;
    }
    cn_dataset *train = NULL, *test = NULL;
    cn_status st = cn_dataset_open(&train, &test, r->data);
    if (st != CN_OK && r->data_auto) { /* the dataset metrics.json names is not here: say so, go on */
        char msg[600];
        snprintf(msg, sizeof msg,
                 "metrics.json names the dataset '%s', which could not be opened (%s); give --data SPEC.", r->data,
                 cn_last_error());
        note(r, msg);
        vbuf_puts(r->h, "</section>\n");
        cn_clear_error();
        return CN_OK;
    }
    if (st != CN_OK) return st;
    const cn_dataset *d = test ? test : train;
    const cn_dataset_info *info = cn_dataset_info_of(d);
    cn_shape want;
    float *x = NULL, *target = NULL, *probs = NULL;
    if ((st = cn_viz_input_shape(r->model, &want)) != CN_OK) goto done;
    if (!cn_shape_equal(&want, &info->sample)) {
        char a[96], b[96];
        cn_shape_str(&info->sample, a, sizeof a);
        cn_shape_str(&want, b, sizeof b);
        st = cn_set_error(CN_STATUS_SHAPE, "report: dataset '%s' has samples of %s, the model takes %s", r->data, a, b);
        goto done;
    }
    int64_t ss = cn_dataset_info_sample_size(info), ts = cn_dataset_info_target_size(info);
    x = cn_malloc((size_t)ss * sizeof(float), "example");
    target = cn_malloc((size_t)(ts > 0 ? ts : 1) * sizeof(float), "example target");
    probs = cn_malloc(4096 * sizeof(float), "probabilities");
    if (!x || !target || !probs) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    int n = r->cfg->examples;
    if (n > info->n) n = (int)info->n;
    vbuf_printf(r->h, "<p>%d samples of ", n);
    vbuf_escape(r->h, info->name);
    vbuf_puts(r->h,
              ", evenly spaced through it; a red frame marks a wrong prediction.</p>\n<div class=\"examples\">\n");
    int right = 0;
    for (int e = 0; e < n; e++) {
        int64_t idx = (int64_t)e * info->n / n;
        if ((st = cn_dataset_get(d, idx, x, target)) != CN_OK) goto done;
        int K;
        if ((st = cn_viz_predict(r->model, x, NULL, probs, 4096, &K)) != CN_OK) goto done;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (probs[k] > probs[best]) best = k;
        int truth = info->target_kind == CN_TARGET_CLASS ? (int)target[0] : -1;
        right += truth == best;
        vbuf_printf(r->h, "<div class=\"ex %s\">", truth < 0 ? "" : truth == best ? "right" : "wrong");
        const cn_shape *s = &info->sample;
        if (s->ndim == 3 && (s->dim[0] == 1 || s->dim[0] == 3)) {
            double lo = INFINITY, hi = -INFINITY;
            for (int64_t i = 0; i < ss; i++) lo = fmin(lo, x[i]), hi = fmax(hi, x[i]);
            cn_image im, big;
            memset(&im, 0, sizeof im), memset(&big, 0, sizeof big);
            st = cn_image_from_chw(&im, x, (int)s->dim[0], (int)s->dim[1], (int)s->dim[2], (float)lo, (float)hi);
            int z = s->dim[1] >= 96 ? 1 : (int)((96 + s->dim[1] - 1) / s->dim[1]);
            if (st == CN_OK) st = cn_image_zoom(&big, &im, z);
            char alt[64];
            snprintf(alt, sizeof alt, "sample %lld", (long long)idx);
            if (st == CN_OK) st = img_tag(r, &big, alt, "sample");
            cn_image_free(&im), cn_image_free(&big);
            if (st != CN_OK) goto done;
        } else if (s->ndim == 2) {
            sparkline(r, x, s->dim[1]);
        }
        char pn[128], tn[128];
        class_label(r, best, pn, sizeof pn);
        vbuf_puts(r->h, "<div>predicted <b>");
        vbuf_escape(r->h, pn);
        vbuf_printf(r->h, "</b> (%.0f%%)</div>", 100.0 * probs[best]);
        if (truth >= 0) {
            class_label(r, truth, tn, sizeof tn);
            vbuf_puts(r->h, "<div>true ");
            vbuf_escape(r->h, tn);
            vbuf_puts(r->h, "</div>");
        }
        vbuf_puts(r->h, "</div>\n");
    }
    vbuf_printf(r->h, "</div>\n<p>%d of %d right.</p>\n", right, n);
done:
    cn_free(x), cn_free(target), cn_free(probs);
    cn_dataset_destroy(train);
    cn_dataset_destroy(test);
    vbuf_puts(r->h, "</section>\n");
    return st;
}

static const char css[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1040px;color:#222;"
    "background:#fff;line-height:1.4}\n"
    "h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;border-bottom:1px solid #ddd;padding-bottom:4px;"
    "margin-top:32px}h3{font-size:15px}\n"
    "table{border-collapse:collapse;font-size:13px}th,td{padding:3px 8px;border:1px solid #ddd;text-align:left}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:bold}\n"
    "table.kv th{background:#f5f5f5}table.bars td{border:none}div.bar{height:12px;background:#1f77b4}\n"
    "table.cm td{text-align:center;min-width:34px}table.cm td.diag{outline:2px solid #222;outline-offset:-2px}\n"
    "th.corner{font-weight:normal;font-size:11px;color:#666}\n"
    ".note{color:#666;font-size:13px}img.grid,img.sample{image-rendering:pixelated;border:1px solid #ccc}\n"
    "figure{display:inline-block;margin:8px 16px 8px 0;vertical-align:top;max-width:480px}"
    "figcaption{font-size:12px;color:#555}img.grid{max-width:480px;height:auto}\n"
    ".examples{display:flex;flex-wrap:wrap;gap:10px}.ex{border:3px solid #ccc;padding:4px;font-size:12px;"
    "width:118px;text-align:center}.ex.right{border-color:#2ca02c}.ex.wrong{border-color:#d62728}\n"
    "pre{background:#f7f7f7;padding:8px;font-size:12px;overflow:auto}nav a{margin-right:12px}\n";

static const char *const fashion_names = "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot";

cn_status cn_report_write(const char *rundir, const char *out_path, const cn_report_config *cfg)
{
    cn_report_config d = cn_report_defaults();
    if (!cfg) cfg = &d;
    struct stat sb;
    if (stat(rundir, &sb) != 0)
        return cn_set_error(CN_STATUS_IO, "%s: cannot open the run directory: %s", rundir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: not a directory (expected a run directory)", rundir);
    if (cfg->examples < 0 || cfg->examples > 1000)
        return cn_set_error(CN_STATUS_INVALID_ARG, "report: %d examples; expected 0..1000", cfg->examples);
    vbuf h;
    vbuf_init(&h);
    report r;
    memset(&r, 0, sizeof r);
    r.h = &h, r.dir = rundir, r.cfg = cfg;
    const char *known[] = {"log.jsonl", "metrics.json", "weights.safetensors", "checkpoint.safetensors", "model.cfg"};
    int any = 0;
    for (int k = 0; k < 5; k++) any |= exists(file_in(&r, known[k]));
    cn_status st = CN_OK;
    if (!any) {
        st = cn_set_error(CN_STATUS_NOT_FOUND,
                          "%s: not a run directory (none of log.jsonl, metrics.json, weights.safetensors, "
                          "checkpoint.safetensors, model.cfg)",
                          rundir);
        goto done;
    }
    if ((st = load_metrics(&r)) != CN_OK) goto done;
    /* the dataset: --data, else the one metrics.json names ("fashion-mnist/test" -> "fashion-mnist") */
    r.data = cfg->data && *cfg->data ? cfg->data : NULL;
    const cJSON *ds = r.metrics ? cJSON_GetObjectItemCaseSensitive(r.metrics, "dataset") : NULL;
    if (!cfg->data && cJSON_IsString(ds) && ds->valuestring[0]) {
        snprintf(r.data_buf, sizeof r.data_buf, "%s", ds->valuestring);
        r.data_buf[strcspn(r.data_buf, "/[")] = '\0';
        r.data = r.data_buf, r.data_auto = 1;
    }
    if (cfg->classes)
        st = set_classes(&r, cfg->classes);
    else if (r.data && !strncmp(r.data, "fashion-mnist", 13))
        st = set_classes(&r, fashion_names);
    if (st != CN_OK) goto done;
    if ((st = load_model(&r)) != CN_OK) goto done;
    const char *base = strrchr(rundir, '/');
    base = base && base[1] ? base + 1 : rundir;
    vbuf_puts(&h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<link rel=\"icon\" href=\"data:,\">\n<title>convnet run: ");
    vbuf_escape(&h, base);
    vbuf_printf(&h, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>Training run: ", css);
    vbuf_escape(&h, base);
    vbuf_puts(&h, "</h1>\n<p class=\"note\">");
    vbuf_escape(&h, rundir);
    vbuf_printf(&h, " &middot; report by convnet %s</p>\n", cn_version());
    vbuf_puts(&h, "<nav><a href=\"#metrics\">metrics</a><a href=\"#curves\">curves</a><a href=\"#model\">model</a>"
                  "<a href=\"#filters\">filters</a><a href=\"#examples\">examples</a>"
                  "<a href=\"#confusion\">confusion matrix</a></nav>\n");
    write_metrics(&r);
    if ((st = write_curves(&r)) != CN_OK) goto done;
    write_model(&r, r.weights_name);
    if ((st = write_filters(&r)) != CN_OK) goto done;
    if ((st = write_examples(&r)) != CN_OK) goto done;
    write_confusion(&r);
    vbuf_puts(&h, "</body>\n</html>\n");
    st = vbuf_save(&h, out_path);
done:
    vbuf_free(&h);
    cn_model_destroy(r.model);
    cn_model_destroy(r.plain);
    cJSON_Delete(r.metrics);
    for (int k = 0; k < r.n_classes; k++) cn_free(r.classes[k]);
    return st;
}
