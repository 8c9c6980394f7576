/* exp_bias.c — what convolution's built-in assumptions buy, measured:
 *  - inductive-bias: a conv net and a fully connected net with the same parameter budget,
 *    trained on centred Fashion-MNIST items and tested on horizontally shifted copies:
 *    accuracy vs shift, translation equivariance of the conv feature maps
 *    ||f(Sx) - S'f(x)|| / ||f(x)||, and invariance ||g(Sx) - g(x)|| / ||g(x)|| of every
 *    stage of both nets (conv maps, pooled maps, global pooling, logits);
 *  - random-features: the MNIST-1D paper's CNN with its convolutions left at their random
 *    initialisation and only the classifier trained (Goodfellow et al., Deep Learning,
 *    section 9.9), against the fully trained network, a linear classifier on the raw
 *    samples and chance;
 *  - mnist1d-best: a 1D CNN designed here (models/mnist1d-best.cfg: stride-1 convolutions
 *    with batch norm, max pooling, global average pooling; AdamW, cosine schedule, shift /
 *    noise / amplitude augmentation) past the MNIST-1D paper's CNN (94%) and its human
 *    baseline (96%), over several seeds.
 * --quick shortens every run (for the tests). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"

static double mean_of(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return n ? s / n : NAN;
}

/* sample standard deviation (n - 1), 0 for one value */
static double sd_of(const double *v, int n)
{
    if (n < 2) return 0;
    double m = mean_of(v, n), s = 0;
    for (int i = 0; i < n; i++) s += (v[i] - m) * (v[i] - m);
    return sqrt(s / (n - 1));
}

static void json_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

/* ============================================================================================
 * inductive-bias */

/* The conv net: 5x5 and 3x3 "same" convolutions, two 2x2 max pools, global average pooling:
 * 416 + 4,640 + 18,496 + 650 = 24,202 parameters. */
static const char conv_net[] = "[input]\nname = x\nshape = 1x28x28\n\n"
                               "[conv]\nname = c1\nfilters = 16\nkernel = 5\npadding = 2\n\n"
                               "[act]\nname = c1r\nkind = relu\n\n"
                               "[max_pool]\nname = p1\nkernel = 2\n\n"
                               "[conv]\nname = c2\nfilters = 32\nkernel = 3\npadding = 1\n\n"
                               "[act]\nname = c2r\nkind = relu\n\n"
                               "[max_pool]\nname = p2\nkernel = 2\n\n"
                               "[conv]\nname = c3\nfilters = 64\nkernel = 3\npadding = 1\n\n"
                               "[act]\nname = c3r\nkind = relu\n\n"
                               "[global_avg_pool]\nname = gap\n\n"
                               "[dense]\nname = fc\nunits = 10\n\n"
                               "[softmax_cross_entropy]\nname = loss\n";
/* The fully connected net with (nearly) the same budget: 784 -> 30 -> 10,
 * 23,550 + 310 = 23,860 parameters (31 hidden units would give 24,655). */
static const char fc_net[] = "[input]\nname = x\nshape = 1x28x28\n\n"
                             "[dense]\nname = h1\nunits = 30\n\n"
                             "[act]\nname = h1r\nkind = relu\n\n"
                             "[dense]\nname = fc\nunits = 10\n\n"
                             "[softmax_cross_entropy]\nname = loss\n";

/* A layer whose output is compared between x and its shifted copy. */
typedef struct {
    const char *layer;
    int equiv;         /* 1: a spatial map, equivariance is measured */
    int64_t size;      /* floats per sample */
    int64_t c, h, w;   /* spatial maps: channels, height, width */
    double rf, jump;   /* receptive field and jump along the width, on the input */
    float *base;       /* B x size: the unshifted output of the current chunk */
    double inv_num, inv_den;
    double eq_num[2], eq_den[2]; /* candidate shifts floor(s/jump), ceil(s/jump) */
} probe;

/* Shift images (n, 1, h, w) right by s columns, zero fill. */
static void shift_right(float *out, const float *in, int64_t n, int64_t h, int64_t w, int64_t s)
{
    for (int64_t r = 0; r < n * h; r++) {
        const float *a = in + r * w;
        float *b = out + r * w;
        for (int64_t j = 0; j < w; j++) b[j] = j >= s ? a[j - s] : 0.0f;
    }
}

static cn_status probe_init(probe *p, cn_model *m, const char *layer, int equiv)
{
    memset(p, 0, sizeof *p);
    p->layer = layer;
    p->equiv = equiv;
    for (int i = 0; i < cn_model_layer_count(m); i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        if (strcmp(li.name, layer)) continue;
        p->size = 1;
        for (int d = 1; d < li.out.ndim; d++) p->size *= li.out.dim[d];
        if (equiv) {
            if (li.out.ndim != 4 || li.rf_ndim != 2)
                return cn_set_error(CN_STATUS_SHAPE, "inductive-bias: layer '%s' is not a 2-D map (%d dims)", layer, li.out.ndim);
            p->c = li.out.dim[1], p->h = li.out.dim[2], p->w = li.out.dim[3];
            p->rf = li.rf_size[1], p->jump = li.rf_jump[1];
        }
        p->base = cn_malloc((size_t)(li.out.dim[0] * p->size) * sizeof(float), "inductive-bias: layer outputs");
        return p->base ? CN_OK : cn_set_error(CN_STATUS_NOMEM, "inductive-bias: no memory for layer '%s' outputs", layer);
    }
    return cn_set_error(CN_STATUS_NOT_FOUND, "inductive-bias: no layer '%s'", layer);
}

/* Accumulate one chunk: y = the layer's output for the shifted inputs, base for the originals. */
static void probe_add(probe *p, const float *y, int64_t count, int64_t s)
{
    const float *b = p->base;
    for (int64_t i = 0; i < count * p->size; i++) {
        double d = (double)y[i] - b[i];
        p->inv_num += d * d;
        p->inv_den += (double)b[i] * b[i];
    }
    if (!p->equiv) return;
    /* equivariance: f(Sx)[.., j] against f(x)[.., j - t] for t = floor(s / jump) and
     * ceil(s / jump), over the columns whose receptive field (half of it on each side, plus
     * the shift on the left) stays inside the image in both inputs */
    int64_t tk[2] = {(int64_t)floor((double)s / p->jump), (int64_t)ceil((double)s / p->jump)};
    int64_t ml = (int64_t)ceil(((double)s + p->rf / 2) / p->jump), mr = (int64_t)ceil(p->rf / 2 / p->jump);
    for (int k = 0; k < 2; k++)
        for (int64_t r = 0; r < count * p->c * p->h; r++) {
            const float *fy = y + r * p->w, *fb = b + r * p->w;
            for (int64_t j = ml; j < p->w - mr; j++) {
                double d = (double)fy[j] - fb[j - tk[k]];
                p->eq_num[k] += d * d;
                p->eq_den[k] += (double)fb[j - tk[k]] * fb[j - tk[k]];
            }
        }
}

static double probe_equiv(const probe *p)
{
    double e = INFINITY;
    for (int k = 0; k < 2; k++)
        if (p->eq_den[k] > 0) e = fmin(e, sqrt(p->eq_num[k] / p->eq_den[k]));
    return isfinite(e) ? e : NAN;
}

static double probe_inv(const probe *p) { return p->inv_den > 0 ? sqrt(p->inv_num / p->inv_den) : NAN; }

static void probe_reset(probe *p)
{
    p->inv_num = p->inv_den = 0;
    p->eq_num[0] = p->eq_num[1] = p->eq_den[0] = p->eq_den[1] = 0;
}

/* Predicted class of each of `count` logit rows. */
static void argmax_rows(const float *z, int64_t count, int64_t k, int *out)
{
    for (int64_t i = 0; i < count; i++) {
        int best = 0;
        for (int64_t j = 1; j < k; j++)
            if (z[i * k + j] > z[i * k + best]) best = (int)j;
        out[i] = best;
    }
}

/* per-net measurements at one shift */
typedef struct {
    double acc, agree;
} shift_score;

/* Run the test images (n = multiple of chunk) and their copies shifted by s through m,
 * filling the probes and the accuracy on the shifted copies / agreement with the unshifted
 * predictions. */
static cn_status measure_shift(cn_model *m, probe *pr, int np, const float *xs, const float *ys, int64_t n, int64_t chunk,
                               int64_t h, int64_t w, int64_t s, float *shifted, int *pred0, int *pred1, shift_score *sc)
{
    int64_t correct = 0, agree = 0;
    for (int i = 0; i < np; i++) probe_reset(&pr[i]);
    for (int64_t at = 0; at < n; at += chunk) {
        const float *xc = xs + at * h * w;
        cn_status st = cn_model_forward(m, xc, 0);
        if (st != CN_OK) return st;
        cn_shape sh;
        const float *y;
        for (int i = 0; i < np; i++) {
            if ((st = cn_model_layer_output(m, pr[i].layer, &y, &sh)) != CN_OK) return st;
            memcpy(pr[i].base, y, (size_t)(chunk * pr[i].size) * sizeof(float));
        }
        const float *z = cn_model_output(m, &sh);
        int64_t k = sh.dim[sh.ndim - 1];
        argmax_rows(z, chunk, k, pred0);
        shift_right(shifted, xc, chunk, h, w, s);
        if ((st = cn_model_forward(m, shifted, 0)) != CN_OK) return st;
        for (int i = 0; i < np; i++) {
            if ((st = cn_model_layer_output(m, pr[i].layer, &y, &sh)) != CN_OK) return st;
            probe_add(&pr[i], y, chunk, s);
        }
        z = cn_model_output(m, &sh);
        argmax_rows(z, chunk, k, pred1);
        for (int64_t i = 0; i < chunk; i++) {
            correct += pred1[i] == (int)ys[at + i];
            agree += pred1[i] == pred0[i];
        }
    }
    sc->acc = (double)correct / (double)n;
    sc->agree = (double)agree / (double)n;
    return CN_OK;
}

/* The first n samples of d as arrays (caller frees with cn_free). */
static cn_status take_arrays(const cn_dataset *d, int64_t n, float **xs, float **ys)
{
    const cn_dataset_info *info = cn_dataset_info_of(d);
    int64_t ss = cn_dataset_info_sample_size(info);
    *xs = cn_malloc((size_t)(n * ss) * sizeof(float), "experiment: test samples");
    *ys = cn_malloc((size_t)n * sizeof(float), "experiment: test labels");
    if (!*xs || !*ys) {
        cn_free(*xs), cn_free(*ys);
        *xs = *ys = NULL;
        return cn_set_error(CN_STATUS_NOMEM, "%s: no memory for %lld samples", info->name, (long long)n);
    }
    for (int64_t i = 0; i < n; i++) {
        cn_status st = cn_dataset_get(d, i, *xs + i * ss, *ys + i);
        if (st != CN_OK) {
            cn_free(*xs), cn_free(*ys);
            *xs = *ys = NULL;
            return st;
        }
    }
    return CN_OK;
}

enum { IB_CONV_PROBES = 6, IB_FC_PROBES = 2 };

cn_status exp_inductive_bias(exp_ctx *x)
{
    const int64_t n_train = x->quick ? 2000 : 10000, n_test = x->quick ? 200 : 2000, chunk = 100;
    const int64_t epochs = x->quick ? 2 : 10;
    static const int64_t shifts_full[] = {0, 1, 2, 3, 4, 6, 8}, shifts_quick[] = {0, 1, 2, 4};
    const int64_t *shifts = x->quick ? shifts_quick : shifts_full;
    const int nshift = x->quick ? 4 : 7;
    static const char *const conv_layers[IB_CONV_PROBES] = {"c1r", "p1", "c2r", "p2", "gap", "fc"};
    static const int conv_equiv[IB_CONV_PROBES] = {1, 1, 1, 1, 0, 0};
    static const char *const fc_layers[IB_FC_PROBES] = {"h1r", "fc"};

    cn_dataset *full_train = NULL, *full_test = NULL, *train = NULL;
    cn_model *nets[2] = {NULL, NULL};
    probe pc[IB_CONV_PROBES], pf[IB_FC_PROBES];
    memset(pc, 0, sizeof pc), memset(pf, 0, sizeof pf);
    float *xs = NULL, *ys = NULL, *shifted = NULL;
    int *pred0 = NULL, *pred1 = NULL;
    int64_t *idx = NULL;
    exp_fit_result fr[2];
    shift_score sc[2][8];
    double eq[IB_CONV_PROBES][8], inv_c[IB_CONV_PROBES][8], inv_f[IB_FC_PROBES][8];

    cn_status st = cn_dataset_open(&full_train, &full_test, "fashion-mnist");
    if (st == CN_OK && !full_test) st = cn_set_error(CN_STATUS_NOT_FOUND, "inductive-bias: fashion-mnist has no test part");
    if (st == CN_OK) {
        idx = cn_malloc((size_t)n_train * sizeof(int64_t), "inductive-bias: subset indices");
        if (!idx) st = cn_set_error(CN_STATUS_NOMEM, "inductive-bias: no memory for the subset");
    }
    if (st == CN_OK) {
        for (int64_t i = 0; i < n_train; i++) idx[i] = i;
        st = cn_dataset_subset(&train, full_train, idx, n_train);
    }
    const int64_t h = 28, w = 28;
    if (st == CN_OK) {
        const cn_dataset_info *ti = cn_dataset_info_of(full_test);
        const cn_shape *sh = &ti->sample;
        if (sh->ndim != 3 || sh->dim[0] != 1 || sh->dim[1] != h || sh->dim[2] != w || ti->n < n_test)
            st = cn_set_error(CN_STATUS_SHAPE, "inductive-bias: %s has %lld samples of %d dims; expected at least %lld of 1x28x28",
                              ti->name, (long long)ti->n, sh->ndim, (long long)n_test);
    }
    if (st == CN_OK) st = take_arrays(full_test, n_test, &xs, &ys);
    if (st == CN_OK) {
        shifted = cn_malloc((size_t)(chunk * h * w) * sizeof(float), "inductive-bias: shifted images");
        pred0 = cn_malloc((size_t)chunk * sizeof(int), "inductive-bias: predictions");
        pred1 = cn_malloc((size_t)chunk * sizeof(int), "inductive-bias: predictions");
        if (!shifted || !pred0 || !pred1) st = cn_set_error(CN_STATUS_NOMEM, "inductive-bias: no memory for the shifted copies");
    }
    if (st == CN_OK) st = cn_model_parse(&nets[0], conv_net, "inductive-bias conv");
    if (st == CN_OK) st = cn_model_parse(&nets[1], fc_net, "inductive-bias fc");

    exp_printf(x, "Inductive bias: conv vs fully connected at (nearly) equal parameters%s\n", x->quick ? " -- QUICK RUN" : "");
    exp_printf(x, "Fashion-MNIST (centred items), trained on the first %lld training images for %lld epochs (Adam 3e-3, "
                  "batch 64, no augmentation),\ntested on the first %lld test images shifted right by s pixels (zero fill).\n\n",
               (long long)n_train, (long long)epochs, (long long)n_test);
    static const char *const tags[2] = {"conv", "fc"};
    static const char *const what[2] = {"conv 16@5x5-pool-32@3x3-pool-64@3x3-GAP-10", "fc 784-30-10"};
    for (int k = 0; k < 2 && st == CN_OK; k++) {
        cn_train_config tc = cn_train_defaults();
        tc.epochs = epochs;
        tc.batch = 64;
        tc.seed = x->seed;
        tc.optim = cn_optim_defaults(CN_OPTIM_ADAM);
        tc.schedule = cn_schedule_defaults(CN_SCHED_CONSTANT, 3e-3);
        tc.checkpoint_epochs = 0;
        tc.workers = 0;
        st = exp_fit(x, tags[k], nets[k], train, NULL, &tc, 0, &fr[k]);
        if (st == CN_OK) st = cn_model_plan(nets[k], chunk, CN_PLAN_INFER);
    }
    for (int i = 0; i < IB_CONV_PROBES && st == CN_OK; i++) st = probe_init(&pc[i], nets[0], conv_layers[i], conv_equiv[i]);
    for (int i = 0; i < IB_FC_PROBES && st == CN_OK; i++) st = probe_init(&pf[i], nets[1], fc_layers[i], 0);
    for (int si = 0; si < nshift && st == CN_OK; si++) {
        st = measure_shift(nets[0], pc, IB_CONV_PROBES, xs, ys, n_test, chunk, h, w, shifts[si], shifted, pred0, pred1, &sc[0][si]);
        for (int i = 0; i < IB_CONV_PROBES && st == CN_OK; i++) eq[i][si] = probe_equiv(&pc[i]), inv_c[i][si] = probe_inv(&pc[i]);
        if (st == CN_OK)
            st = measure_shift(nets[1], pf, IB_FC_PROBES, xs, ys, n_test, chunk, h, w, shifts[si], shifted, pred0, pred1, &sc[1][si]);
        for (int i = 0; i < IB_FC_PROBES && st == CN_OK; i++) inv_f[i][si] = probe_inv(&pf[i]);
    }

    if (st == CN_OK) {
        exp_printf(x, "%-6s %-44s %8s %9s %8s\n", "net", "layers", "params", "train%", "time_s");
        cJSON *nj = cJSON_AddArrayToObject(x->json, "nets");
        for (int k = 0; k < 2; k++) {
            exp_printf(x, "%-6s %-44s %8lld %9.2f %8.1f\n", tags[k], what[k], (long long)fr[k].params, 100 * fr[k].train_acc,
                       fr[k].seconds);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "net", tags[k]);
            cJSON_AddStringToObject(o, "layers", what[k]);
            cJSON_AddNumberToObject(o, "params", (double)fr[k].params);
            json_num(o, "train_acc", fr[k].train_acc);
            cJSON_AddNumberToObject(o, "seconds", fr[k].seconds);
            cJSON_AddItemToArray(nj, o);
        }
        exp_printf(x, "\n1. Test accuracy on shifted copies; 'same' = the prediction is unchanged by the shift\n");
        exp_printf(x, "%5s %10s %10s %10s %10s\n", "shift", "conv acc%", "fc acc%", "conv same%", "fc same%");
        for (int si = 0; si < nshift; si++)
            exp_printf(x, "%5lld %10.2f %10.2f %10.2f %10.2f\n", (long long)shifts[si], 100 * sc[0][si].acc, 100 * sc[1][si].acc,
                       100 * sc[0][si].agree, 100 * sc[1][si].agree);
        exp_printf(x, "\n2. Equivariance error of the conv net's maps, ||f(Sx) - S'f(x)|| / ||f(x)||: S' shifts the map by\n"
                      "   s / jump columns (the better of the two nearest whole shifts when that is not whole), over the\n"
                      "   columns whose receptive field stays inside both images; ~1e-7 is float rounding\n");
        exp_printf(x, "%5s", "shift");
        for (int i = 0; i < 4; i++) exp_printf(x, " %9s(j%g)", pc[i].layer, pc[i].jump);
        exp_printf(x, "\n");
        for (int si = 0; si < nshift; si++) {
            exp_printf(x, "%5lld", (long long)shifts[si]);
            for (int i = 0; i < 4; i++) exp_printf(x, " %13.2e", eq[i][si]);
            exp_printf(x, "\n");
        }
        exp_printf(x, "\n3. Invariance error ||g(Sx) - g(x)|| / ||g(x)|| of each stage (0 = invariant)\n");
        exp_printf(x, "%5s %9s %9s %9s %9s %9s %11s | %9s %9s\n", "shift", "conv:c1r", "p1", "c2r", "p2", "gap", "logits", "fc:h1r",
                   "logits");
        for (int si = 0; si < nshift; si++) {
            exp_printf(x, "%5lld", (long long)shifts[si]);
            for (int i = 0; i < IB_CONV_PROBES; i++) exp_printf(x, i == 5 ? " %11.4f" : " %9.4f", inv_c[i][si]);
            exp_printf(x, " | %9.4f %9.4f\n", inv_f[0][si], inv_f[1][si]);
        }
        cJSON *rows = cJSON_AddArrayToObject(x->json, "shifts");
        for (int si = 0; si < nshift; si++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "shift", (double)shifts[si]);
            json_num(o, "conv_acc", sc[0][si].acc);
            json_num(o, "fc_acc", sc[1][si].acc);
            json_num(o, "conv_same_prediction", sc[0][si].agree);
            json_num(o, "fc_same_prediction", sc[1][si].agree);
            cJSON *e = cJSON_AddObjectToObject(o, "conv_equivariance_error");
            for (int i = 0; i < 4; i++) json_num(e, pc[i].layer, eq[i][si]);
            cJSON *ic = cJSON_AddObjectToObject(o, "conv_invariance_error");
            for (int i = 0; i < IB_CONV_PROBES; i++) json_num(ic, pc[i].layer, inv_c[i][si]);
            cJSON *iff = cJSON_AddObjectToObject(o, "fc_invariance_error");
            for (int i = 0; i < IB_FC_PROBES; i++) json_num(iff, pf[i].layer, inv_f[i][si]);
            cJSON_AddItemToArray(rows, o);
        }
    }

    for (int i = 0; i < IB_CONV_PROBES; i++) cn_free(pc[i].base);
    for (int i = 0; i < IB_FC_PROBES; i++) cn_free(pf[i].base);
    cn_model_destroy(nets[0]);
    cn_model_destroy(nets[1]);
    cn_free(xs), cn_free(ys), cn_free(shifted), cn_free(pred0), cn_free(pred1), cn_free(idx);
    cn_dataset_destroy(train);
    cn_dataset_destroy(full_train);
    cn_dataset_destroy(full_test);
    return st;
}

/* ============================================================================================
 * random-features */

typedef struct {
    const char *tag, *model;
    int filters;    /* conv1..conv3 filters (0: as in the file) */
    int frozen;     /* 1: conv1..conv3 keep their random initialisation */
    const char *published;
} rf_case;

static const rf_case rf_cases[] = {
    {"linear-pixels", "mnist1d-logistic", 0, 0, "paper: 32% (logistic regression)"},
    {"cnn25-random", "mnist1d-cnn", 0, 1, "-"},
    {"cnn25-trained", "mnist1d-cnn", 0, 0, "paper: 94%"},
    {"cnn100-random", "mnist1d-cnn", 100, 1, "-"},
    {"cnn100-trained", "mnist1d-cnn", 100, 0, "-"},
};

/* Every parameter's values, copied, to measure afterwards what training changed. */
typedef struct {
    float *v;
    int64_t total;
} snapshot;

static int64_t param_size(const cn_param *p)
{
    int64_t n = 1;
    for (int d = 0; d < p->shape.ndim; d++) n *= p->shape.dim[d];
    return n;
}

static cn_status snap_take(snapshot *s, const cn_model *m)
{
    cn_param p;
    s->total = 0;
    s->v = NULL;
    for (int i = 0; i < cn_model_param_count(m); i++) {
        cn_status st = cn_model_param(m, i, &p);
        if (st != CN_OK) return st;
        s->total += param_size(&p);
    }
    s->v = cn_malloc((size_t)s->total * sizeof(float), "random-features: parameter snapshot");
    if (!s->v) return CN_STATUS_NOMEM;
    int64_t at = 0;
    for (int i = 0; i < cn_model_param_count(m); i++) {
        cn_model_param(m, i, &p);
        memcpy(s->v + at, p.value, (size_t)param_size(&p) * sizeof(float));
        at += param_size(&p);
    }
    return CN_OK;
}

/* *changed = values in parameter tensors that differ from the snapshot anywhere (running
 * statistics included: this model has none); *conv_dw = the largest change of a weight or
 * bias of the layers conv1..conv3 (NAN if the model has none). */
static void snap_compare(const snapshot *s, const cn_model *m, int64_t *changed, double *conv_dw)
{
    cn_param p;
    int64_t at = 0;
    int conv = 0;
    *changed = 0;
    *conv_dw = 0;
    for (int i = 0; i < cn_model_param_count(m); i++) {
        cn_model_param(m, i, &p);
        int64_t n = param_size(&p);
        int is_conv = !strncmp(p.name, "conv", 4);
        double dmax = 0;
        for (int64_t j = 0; j < n; j++) dmax = fmax(dmax, fabs((double)p.value[j] - s->v[at + j]));
        if (dmax > 0) *changed += n;
        if (is_conv) conv = 1, *conv_dw = fmax(*conv_dw, dmax);
        at += n;
    }
    if (!conv) *conv_dw = NAN;
}

cn_status exp_random_features(exp_ctx *x)
{
    const int nseeds = x->quick ? 1 : 3;
    const int64_t steps = x->quick ? 120 : 6000;
    static const char *const frozen[] = {"conv1", "conv2", "conv3"};
    cn_dataset *train = NULL, *test = NULL;
    cn_status st = cn_dataset_open(&train, &test, "mnist1d");
    if (st == CN_OK && !test) st = cn_set_error(CN_STATUS_NOT_FOUND, "random-features: mnist1d has no test part");
    if (st != CN_OK) {
        cn_dataset_destroy(train);
        return st;
    }
    /* chance: the most frequent test class */
    const cn_dataset_info *ti = cn_dataset_info_of(test);
    int64_t counts[256] = {0}, most = 0;
    float *xbuf = cn_malloc((size_t)cn_dataset_info_sample_size(ti) * sizeof(float), "random-features: one sample"), y;
    if (!xbuf) st = cn_set_error(CN_STATUS_NOMEM, "random-features: no memory for a sample");
    if (st == CN_OK && (ti->num_classes < 1 || ti->num_classes > 256))
        st = cn_set_error(CN_STATUS_FORMAT, "random-features: %s has %d classes; expected 1..256", ti->name, ti->num_classes);
    for (int64_t i = 0; i < ti->n && st == CN_OK; i++) {
        st = cn_dataset_get(test, i, xbuf, &y);
        if (st == CN_OK && y >= 0 && y < ti->num_classes) counts[(int)y]++;
    }
    cn_free(xbuf);
    if (st != CN_OK) {
        cn_dataset_destroy(train);
        cn_dataset_destroy(test);
        return st;
    }
    for (int k = 0; k < 256; k++) most = counts[k] > most ? counts[k] : most;
    double chance = (double)most / (double)ti->n;

    exp_printf(x, "Random conv features vs trained (Goodfellow et al. section 9.9) on MNIST-1D%s\n", x->quick ? " -- QUICK RUN" : "");
    exp_printf(x, "Every run: Adam lr 1e-2, batch 100, %lld steps (the MNIST-1D paper's recipe); 'random' keeps conv1..conv3 at\n"
                  "their random initialisation and trains only the final dense layer. %d seed%s each (mean +- sd).\n"
                  "'trained' counts the parameters that training changed and 'conv|dw|' is the largest change of a\n"
                  "conv weight or bias (over the seeds), both measured against a copy taken at initialisation.\n\n",
               (long long)steps, nseeds, nseeds > 1 ? "s" : "");
    exp_printf(x, "%-15s %-16s %8s %9s %10s %17s %17s %8s  %s\n", "run", "model", "params", "trained", "conv|dw|", "train%", "test%",
               "time_s", "published");
    exp_printf(x, "%-15s %-16s %8s %9s %10s %17s %17.2f %8s  %s\n", "chance", "-", "0", "0", "-", "-", 100 * chance, "-",
               "most frequent test class");
    cJSON *rows = cJSON_AddArrayToObject(x->json, "runs");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "run", "chance");
    cJSON_AddNumberToObject(o, "test_acc", chance);
    cJSON_AddItemToArray(rows, o);

    for (size_t c = 0; c < sizeof rf_cases / sizeof rf_cases[0] && st == CN_OK; c++) {
        const rf_case *rc = &rf_cases[c];
        double tr[8], te[8], secs = 0, conv_dw = NAN;
        int64_t params = 0, trainable = 0;
        for (int s = 0; s < nseeds && st == CN_OK; s++) {
            cn_model *m = NULL;
            st = exp_load_model(&m, rc->model);
            if (st == CN_OK && rc->filters) {
                char f[16];
                snprintf(f, sizeof f, "%d", rc->filters);
                for (int l = 0; l < 3 && st == CN_OK; l++) st = cn_model_set_option(m, frozen[l], "filters", f);
            }
            cn_train_config tc = cn_train_defaults();
            tc.batch = 100;
            tc.seed = x->seed + (uint64_t)s;
            tc.max_steps = steps;
            tc.epochs = (steps + 39) / 40;
            tc.optim = cn_optim_defaults(CN_OPTIM_ADAM);
            tc.schedule = cn_schedule_defaults(CN_SCHED_CONSTANT, 1e-2);
            tc.checkpoint_epochs = 0;
            tc.workers = 0;
            if (rc->frozen) tc.frozen = frozen, tc.n_frozen = 3;
            /* initialise here (the trainer's own way: cn_model_init from the seed) and keep a
             * copy, so the table shows what training changed, measured */
            snapshot snap = {NULL, 0};
            tc.init = 0;
            if (st == CN_OK) st = cn_model_plan(m, tc.batch, CN_PLAN_TRAIN);
            if (st == CN_OK) st = cn_model_init(m, tc.seed);
            if (st == CN_OK) st = snap_take(&snap, m);
            char tag[64];
            snprintf(tag, sizeof tag, "%s-seed%d", rc->tag, s);
            exp_fit_result r;
            if (st == CN_OK) st = exp_fit(x, tag, m, train, test, &tc, 0, &r);
            if (st == CN_OK) {
                tr[s] = r.train_acc, te[s] = r.val_acc, secs += r.seconds, params = r.params;
                double dw;
                snap_compare(&snap, m, &trainable, &dw);
                conv_dw = s ? fmax(conv_dw, dw) : dw;
            }
            cn_free(snap.v);
            cn_model_destroy(m);
        }
        if (st != CN_OK) break;
        char trs[32], tes[32];
        snprintf(trs, sizeof trs, "%.2f +- %.2f", 100 * mean_of(tr, nseeds), 100 * sd_of(tr, nseeds));
        snprintf(tes, sizeof tes, "%.2f +- %.2f", 100 * mean_of(te, nseeds), 100 * sd_of(te, nseeds));
        char dws[32];
        if (isnan(conv_dw)) snprintf(dws, sizeof dws, "-");
        else snprintf(dws, sizeof dws, "%.3g", conv_dw);
        exp_printf(x, "%-15s %-16s %8lld %9lld %10s %17s %17s %8.1f  %s\n", rc->tag, rc->model, (long long)params, (long long)trainable,
                   dws, trs, tes, secs / nseeds, rc->published);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "run", rc->tag);
        cJSON_AddStringToObject(o, "model", rc->model);
        if (rc->filters) cJSON_AddNumberToObject(o, "filters", rc->filters);
        cJSON_AddBoolToObject(o, "conv_frozen_at_init", rc->frozen);
        cJSON_AddNumberToObject(o, "params", (double)params);
        cJSON_AddNumberToObject(o, "trained_params", (double)trainable);
        json_num(o, "conv_max_abs_weight_change", conv_dw);
        cJSON_AddNumberToObject(o, "steps", (double)steps);
        cJSON *a = cJSON_AddArrayToObject(o, "test_acc_per_seed");
        for (int s = 0; s < nseeds; s++) cJSON_AddItemToArray(a, cJSON_CreateNumber(te[s]));
        json_num(o, "test_acc_mean", mean_of(te, nseeds));
        json_num(o, "test_acc_sd", sd_of(te, nseeds));
        json_num(o, "train_acc_mean", mean_of(tr, nseeds));
        cJSON_AddNumberToObject(o, "seconds_per_run", secs / nseeds);
        cJSON_AddStringToObject(o, "published", rc->published);
        cJSON_AddItemToArray(rows, o);
    }
    cn_dataset_destroy(train);
    cn_dataset_destroy(test);
    if (st == CN_OK) exp_printf(x, "\nEach run's curves: <run>-seed<k>/log.jsonl.\n");
    return st;
}

/* ============================================================================================
 * mnist1d-best */

/* The recipe (docs/EXPERIMENTS.md): models/mnist1d-best.cfg, AdamW lr 3e-3 (weight decay
 * 0.01), cosine decay to 0 over the run, batch 64, 40 epochs, this augmentation. */
static const char best_augment[] = "shift=4,noise=0.05,scale=0.1";

cn_status exp_mnist1d_best(exp_ctx *x)
{
    const int nseeds = x->quick ? 1 : 5;
    const int64_t epochs = x->quick ? 3 : 40;
    cn_augment *aug = NULL;
    cn_status st = cn_augment_parse(&aug, best_augment);
    if (st != CN_OK) return st;
    exp_printf(x, "MNIST-1D past the human baseline (96%%) with a convnet-designed 1D CNN%s\n", x->quick ? " -- QUICK RUN" : "");
    exp_printf(x, "mnist1d-best: 5 stride-1 convs (32,32 | 64,64 | 128) with batch norm, 2 max pools, global average pooling;\n"
                  "AdamW lr 3e-3 wd 0.01, cosine to 0, batch 64, %lld epochs, augment \"%s\".\n\n",
               (long long)epochs, best_augment);
    exp_printf(x, "%-22s %-14s %7s %7s %8s %8s %7s\n", "run", "model", "params", "steps", "train%", "test%", "time_s");
    cJSON *rows = cJSON_AddArrayToObject(x->json, "runs");
    double te[8] = {0};
    int nbest = 0;
    /* runs: [0] the paper's CNN and recipe (reference), [1] mnist1d-best without augmentation,
     * [2..] mnist1d-best with augmentation, one per seed */
    int nrun = x->quick ? 1 : 2 + nseeds;
    for (int k = 0; k < nrun && st == CN_OK; k++) {
        int kind = x->quick ? 2 : (k < 2 ? k : 2);
        int seed = kind == 2 ? (x->quick ? 0 : k - 2) : 0;
        char tag[64];
        if (kind == 0) snprintf(tag, sizeof tag, "paper-cnn");
        else if (kind == 1) snprintf(tag, sizeof tag, "best-noaug-seed0");
        else snprintf(tag, sizeof tag, "best-seed%d", seed);
        exp_run r = {tag, kind == 0 ? "mnist1d-cnn" : "mnist1d-best", "mnist1d", cn_train_defaults(), 0, 0, 0, 0};
        r.tc.seed = x->seed + (uint64_t)seed;
        r.tc.checkpoint_epochs = 0;
        r.tc.workers = 0;
        int64_t steps;
        if (kind == 0) {
            r.tc.batch = 100;
            r.tc.max_steps = steps = 6000;
            r.tc.epochs = 150;
            r.tc.optim = cn_optim_defaults(CN_OPTIM_ADAM);
            r.tc.schedule = cn_schedule_defaults(CN_SCHED_CONSTANT, 1e-2);
        } else {
            r.tc.batch = 64;
            r.tc.epochs = epochs;
            steps = epochs * (4000 / 64);
            r.tc.optim = cn_optim_defaults(CN_OPTIM_ADAMW);
            r.tc.schedule = cn_schedule_defaults(CN_SCHED_COSINE, 3e-3);
            r.tc.schedule.t_max = epochs;
            if (kind == 2) r.tc.augment = aug;
        }
        st = exp_train(x, &r);
        if (st != CN_OK) break;
        exp_printf(x, "%-22s %-14s %7lld %7lld %8.2f %8.2f %7.1f\n", tag, r.model, (long long)r.params, (long long)steps,
                   100 * r.train_acc, 100 * r.test_acc, r.seconds);
        if (kind == 2) te[nbest++] = r.test_acc;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "run", tag);
        cJSON_AddStringToObject(o, "model", r.model);
        cJSON_AddNumberToObject(o, "params", (double)r.params);
        cJSON_AddNumberToObject(o, "steps", (double)steps);
        cJSON_AddStringToObject(o, "augment", kind == 2 ? best_augment : "");
        json_num(o, "train_acc", r.train_acc);
        json_num(o, "test_acc", r.test_acc);
        cJSON_AddNumberToObject(o, "seconds", r.seconds);
        cJSON_AddItemToArray(rows, o);
    }
    cn_augment_destroy(aug);
    if (st != CN_OK) return st;
    double m = mean_of(te, nbest), sd = sd_of(te, nbest), lo = te[0];
    for (int i = 1; i < nbest; i++) lo = fmin(lo, te[i]);
    exp_printf(x, "\nmnist1d-best test accuracy over %d seed%s: %.2f +- %.2f%% (lowest %.2f%%); paper CNN 94%%, human 96%%: %s\n", nbest,
               nbest > 1 ? "s" : "", 100 * m, 100 * sd, 100 * lo, lo >= 0.96 ? "every seed at or above 96%" : "BELOW 96% on some seed");
    cJSON *s = cJSON_AddObjectToObject(x->json, "summary");
    cJSON_AddNumberToObject(s, "seeds", nbest);
    json_num(s, "test_acc_mean", m);
    json_num(s, "test_acc_sd", sd);
    json_num(s, "test_acc_min", lo);
    cJSON_AddNumberToObject(s, "target", 0.96);
    cJSON_AddBoolToObject(s, "every_seed_reaches_target", lo >= 0.96);
    return CN_OK;
}
