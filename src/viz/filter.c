/* filter.c — hand-made image kernels (the lectures' edge detectors, blurs, sharpen, Sobel,
 * the diagonal "angle" detector) and applying them with the library's own conv layer. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convnet/viz.h"
#include "core/text.h"
#include "io/file.h"

/* clang-format off */
#define K3(name, help, a, b, c, d, e, f, g, h, i, s)                                                                   \
    {name, 3, 3, {(a) * (s), (b) * (s), (c) * (s), (d) * (s), (e) * (s), (f) * (s), (g) * (s), (h) * (s), (i) * (s)}, help}

static const cn_filter_kernel kernels[] = {
    K3("identity", "leaves the image as it is", 0, 0, 0, 0, 1, 0, 0, 0, 0, 1.0f),
    K3("edge1", "edge detection: opposite corners [[1,0,-1],[0,0,0],[-1,0,1]]", 1, 0, -1, 0, 0, 0, -1, 0, 1, 1.0f),
    K3("laplacian", "edge detection: 4-neighbour Laplacian [[0,1,0],[1,-4,1],[0,1,0]] (alias edge2)", 0, 1, 0, 1, -4, 1,
       0, 1, 0, 1.0f),
    K3("edge3", "edge detection: 8-neighbour [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]]", -1, -1, -1, -1, 8, -1, -1, -1, -1,
       1.0f),
    K3("sharpen", "sharpen [[0,-1,0],[-1,5,-1],[0,-1,0]]", 0, -1, 0, -1, 5, -1, 0, -1, 0, 1.0f),
    K3("box_blur", "box blur: the 3x3 mean, 1/9 everywhere (alias box)", 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.0f / 9.0f),
    K3("gaussian_blur", "Gaussian blur 1/16 [[1,2,1],[2,4,2],[1,2,1]] (alias gaussian)", 1, 2, 1, 2, 4, 2, 1, 2, 1,
       1.0f / 16.0f),
    K3("sobel_x", "Sobel horizontal gradient [[-1,0,1],[-2,0,2],[-1,0,1]]: responds to vertical edges", -1, 0, 1, -2, 0,
       2, -1, 0, 1, 1.0f),
    K3("sobel_y", "Sobel vertical gradient [[-1,-2,-1],[0,0,0],[1,2,1]]: responds to horizontal edges", -1, -2, -1, 0, 0,
       0, 1, 2, 1, 1.0f),
    K3("angle", "diagonal detector [[2,-1,-1],[-1,2,-1],[-1,-1,2]]: lines running top-left to bottom-right", 2, -1, -1,
       -1, 2, -1, -1, -1, 2, 1.0f),
    K3("angle2", "the other diagonal [[-1,-1,2],[-1,2,-1],[2,-1,-1]]: lines running bottom-left to top-right", -1, -1,
       2, -1, 2, -1, 2, -1, -1, 1.0f),
};
/* clang-format on */
#define N_KERNELS ((int)(sizeof kernels / sizeof kernels[0]))

static const struct {
    const char *alias, *name;
} aliases[] = {
    {"edge2", "laplacian"},        {"box", "box_blur"},        {"blur", "box_blur"},
    {"gaussian", "gaussian_blur"}, {"gauss", "gaussian_blur"}, {"diagonal", "angle"},
};

int cn_filter_kernel_count(void) { return N_KERNELS; }

const cn_filter_kernel *cn_filter_kernel_at(int i) { return i >= 0 && i < N_KERNELS ? &kernels[i] : NULL; }

cn_status cn_filter_kernel_find(cn_filter_kernel *k, const char *name)
{
    const char *want = name ? name : "";
    for (size_t a = 0; a < sizeof aliases / sizeof aliases[0]; a++)
        if (!strcmp(want, aliases[a].alias)) want = aliases[a].name;
    for (int i = 0; i < N_KERNELS; i++)
        if (!strcmp(want, kernels[i].name)) {
            *k = kernels[i];
            return CN_OK;
        }
    const char *cands[N_KERNELS + 8];
    int n = 0;
    for (int i = 0; i < N_KERNELS; i++) cands[n++] = kernels[i].name;
    for (size_t a = 0; a < sizeof aliases / sizeof aliases[0]; a++) cands[n++] = aliases[a].alias;
    cands[n] = NULL;
    const char *hint = cn_closest(want, cands);
    char list[512];
    size_t u = 0;
    list[0] = '\0';
    for (int i = 0; i < N_KERNELS && u < sizeof list; i++)
        u += (size_t)snprintf(list + u, sizeof list - u, "%s%s", i ? ", " : "", kernels[i].name);
    if (hint)
        return cn_set_error(CN_STATUS_NOT_FOUND, "unknown kernel '%s' — did you mean '%s'? (known: %s)", want, hint,
                            list);
    return cn_set_error(CN_STATUS_NOT_FOUND, "unknown kernel '%s' (known: %s)", want, list);
}

/* a number or a fraction a/b at *p; advances *p */
static int parse_value(const char **p, double *v)
{
    char *end;
    errno = 0;
    double a = strtod(*p, &end);
    if (end == *p || errno) return 0;
    if (*end == '/') {
        const char *q = end + 1;
        double b = strtod(q, &end);
        if (end == q || errno || b == 0) return 0;
        a /= b;
    }
    if (!isfinite(a)) return 0;
    *p = end;
    *v = a;
    return 1;
}

cn_status cn_filter_kernel_parse(cn_filter_kernel *k, const char *text, const char *filename)
{
    if (!filename) filename = "kernel";
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s", filename);
    double scale = 1, vals[CN_FILTER_MAX_SIDE * CN_FILTER_MAX_SIDE];
    int rows = 0, cols = 0, line = 0, seen_scale = 0;
    const char *p = text;
    while (*p) {
        line++;
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char buf[4096];
        if (len >= sizeof buf)
            return cn_set_error(CN_STATUS_FORMAT, "%s:%d: line longer than %zu characters", filename, line,
                                sizeof buf - 1);
        memcpy(buf, p, len);
        buf[len] = '\0';
        p = eol ? eol + 1 : p + len;
        char *hash = strchr(buf, '#');
        if (hash) *hash = '\0';
        const char *q = buf;
        while (isspace((unsigned char)*q)) q++;
        if (!*q) continue;
        if (!strncmp(q, "scale", 5) && (isspace((unsigned char)q[5]) || q[5] == '=')) {
            if (rows || seen_scale)
                return cn_set_error(CN_STATUS_FORMAT, "%s:%d: 'scale' must come once, before the first row", filename,
                                    line);
            q += 5;
            while (isspace((unsigned char)*q) || *q == '=') q++;
            if (!parse_value(&q, &scale))
                return cn_set_error(CN_STATUS_FORMAT, "%s:%d: 'scale' needs a number or a fraction like 1/16", filename,
                                    line);
            while (isspace((unsigned char)*q)) q++;
            if (*q) return cn_set_error(CN_STATUS_FORMAT, "%s:%d: unexpected '%s' after the scale", filename, line, q);
            seen_scale = 1;
            continue;
        }
        int n = 0;
        double row[CN_FILTER_MAX_SIDE];
        while (*q) {
            while (isspace((unsigned char)*q) || *q == ',' || *q == '[' || *q == ']' || *q == ';') q++;
            if (!*q) break;
            double v;
            const char *start = q;
            if (!parse_value(&q, &v)) {
                char tok[32];
                size_t t = 0;
                while (start[t] && !isspace((unsigned char)start[t]) && start[t] != ',' && t < sizeof tok - 1) t++;
                memcpy(tok, start, t);
                tok[t] = '\0';
                return cn_set_error(CN_STATUS_FORMAT, "%s:%d: '%s' is not a number (or a fraction like 1/9)", filename,
                                    line, tok);
            }
            if (n >= CN_FILTER_MAX_SIDE)
                return cn_set_error(CN_STATUS_LIMIT, "%s:%d: more than %d entries in a row", filename, line,
                                    CN_FILTER_MAX_SIDE);
            row[n++] = v;
        }
        if (!n) continue; /* a line of only brackets */
        if (rows && n != cols)
            return cn_set_error(CN_STATUS_FORMAT, "%s:%d: row has %d entries, the first row has %d", filename, line, n,
                                cols);
        if (rows >= CN_FILTER_MAX_SIDE)
            return cn_set_error(CN_STATUS_LIMIT, "%s:%d: more than %d rows", filename, line, CN_FILTER_MAX_SIDE);
        cols = n;
        memcpy(vals + rows * cols, row, (size_t)n * sizeof(double));
        rows++;
    }
    if (!rows)
        return cn_set_error(CN_STATUS_FORMAT, "%s: no kernel rows (expected lines of numbers, e.g. '0 -1 0')",
                            filename);
    k->kh = rows, k->kw = cols;
    for (int i = 0; i < rows * cols; i++) {
        k->w[i] = (float)(vals[i] * scale);
        if (!isfinite(k->w[i]))
            return cn_set_error(CN_STATUS_FORMAT, "%s: entry %d times the scale is not finite", filename, i + 1);
    }
    return CN_OK;
}

cn_status cn_filter_kernel_load(cn_filter_kernel *k, const char *path)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    cn_status st = cn_file_read_all(path, &buf, &len);
    if (st != CN_OK) return st;
    char *text = cn_malloc(len + 1, "kernel text");
    if (!text) {
        cn_free(buf);
        return CN_STATUS_NOMEM;
    }
    memcpy(text, buf, len);
    text[len] = '\0';
    cn_free(buf);
    if (strlen(text) != len)
        st = cn_set_error(CN_STATUS_FORMAT, "%s: binary data (a NUL byte) in a kernel text file", path);
    else
        st = cn_filter_kernel_parse(k, text, path);
    cn_free(text);
    return st;
}

cn_filter_config cn_filter_defaults(void)
{
    cn_filter_config c = {1, 0, 0};
    return c;
}

cn_status cn_filter_apply(cn_tensor **y, const float *x, int c, int h, int w, const cn_filter_kernel *k,
                          const cn_filter_config *cfg)
{
    *y = NULL;
    cn_filter_config d = cn_filter_defaults();
    if (!cfg) cfg = &d;
    if (c < 1 || h < 1 || w < 1)
        return cn_set_error(CN_STATUS_SHAPE, "filter: image of %d x %d x %d; every size must be >= 1", c, h, w);
    if (k->kh < 1 || k->kw < 1 || k->kh > CN_FILTER_MAX_SIDE || k->kw > CN_FILTER_MAX_SIDE)
        return cn_set_error(CN_STATUS_INVALID_ARG, "filter: kernel '%s' is %d x %d; each side must be in 1..%d",
                            k->name, k->kh, k->kw, CN_FILTER_MAX_SIDE);
    if (cfg->max_pool < 0 || cfg->max_pool > 4096)
        return cn_set_error(CN_STATUS_INVALID_ARG, "filter: max pool window %d is not in 0..4096", cfg->max_pool);
    cn_model *m = NULL;
    cn_status st = cn_model_create(&m);
    if (st != CN_OK) return st;
    char opt[256];
    snprintf(opt, sizeof opt, "shape=%dx%dx%d", c, h, w);
    if ((st = cn_model_add(m, "input", "image", NULL, opt)) != CN_OK) goto done;
    /* depthwise: each channel filtered by the same kernel, no bias, no mixing */
    snprintf(opt, sizeof opt, "filters=%d groups=%d kernel=%dx%d padding=%s bias=false flip=%s", c, c, k->kh, k->kw,
             cfg->same ? "same" : "valid", cfg->flip ? "true" : "false");
    if ((st = cn_model_add(m, "conv", "filter", NULL, opt)) != CN_OK) goto done;
    if (cfg->max_pool > 1) {
        snprintf(opt, sizeof opt, "kernel=%d", cfg->max_pool);
        if ((st = cn_model_add(m, "max_pool", "pool", NULL, opt)) != CN_OK) goto done;
    }
    if ((st = cn_model_plan(m, 1, CN_PLAN_INFER)) != CN_OK) goto done;
    cn_param p;
    if ((st = cn_model_param(m, 0, &p)) != CN_OK) goto done;
    if (cn_shape_numel(&p.shape) != (int64_t)c * k->kh * k->kw) {
        st = cn_set_error(CN_STATUS_INTERNAL, "filter: conv weight has %lld values, expected %d",
                          (long long)cn_shape_numel(&p.shape), c * k->kh * k->kw);
        goto done;
    }
    for (int ch = 0; ch < c; ch++)
        memcpy(p.value + (size_t)ch * (size_t)(k->kh * k->kw), k->w, sizeof(float) * (size_t)(k->kh * k->kw));
    if ((st = cn_model_forward(m, x, 0)) != CN_OK) goto done;
    cn_shape s;
    const float *out = cn_model_output(m, &s);
    cn_shape chw;
    if ((st = cn_shape_make(&chw, 3, (int64_t[]){s.dim[1], s.dim[2], s.dim[3]})) != CN_OK) goto done;
    if ((st = cn_tensor_create_shape(y, &chw)) != CN_OK) goto done;
    memcpy((*y)->data, out, (size_t)cn_shape_numel(&chw) * sizeof(float));
done:
    cn_model_destroy(m);
    return st;
}
