/* augment.c — the augmentation pipeline: parsing, checking, applying; test-time crops.
 *
 * Geometry. Each geometric operation is a mapping between continuous pixel coordinates
 * (x to the right, y down, pixel (i, j) covering [j, j+1) x [i, i+1), centre c = (W/2, H/2)).
 * It is kept both ways: the inverse (output position -> source position), used to resample
 * the image and the mask, and the forward one (source -> output), used to move boxes.
 * Consecutive affine operations are multiplied into one matrix, so a run of geometric
 * operations is a short chain (affine, radial, affine, ...) evaluated once per output pixel:
 * the image is resampled once per run. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convnet/augment.h"
#include "core/text.h"
#include "data/fastrand.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- the operation table ------------------------------------------------------------------ */

enum {
    OP_HFLIP, OP_VFLIP, OP_ROTATE, OP_CROP, OP_RRC, OP_TRANSLATE, OP_ZOOM, OP_STRETCH, OP_HSTRETCH, OP_VSTRETCH,
    OP_BARREL, OP_PINCUSHION, OP_DISTORT, OP_BALANCE, OP_BRIGHTNESS, OP_CONTRAST, OP_SATURATION, OP_HUE, OP_EXPOSURE,
    OP_JITTER, OP_VIGNETTE, OP_BLUR, OP_NOISE, OP_SCALE, OP_ERASE, OP_SHIFT, OP_COUNT_
};

enum { K_GEOM, K_COLOR, K_ANY };
/* where an operation applies */
enum { ON_ANY = 0, ON_IMAGE = 1 };

#define MAX_PARAMS 6

typedef struct {
    const char *key;
    double def, lo, hi;
    int integer; /* 1: must be a whole number; 2: must be 0 or 1 */
} param_def;

typedef struct {
    const char *name;
    int kind, on;
    param_def prm[MAX_PARAMS]; /* prm[0] is the main parameter (NAME=VALUE) */
} op_def;

#define P_FILL {"fill", 0, -1e6, 1e6, 0}
#define P_PROB(d) {"p", d, 0, 1, 0}

static const op_def OPS[OP_COUNT_] = {
    [OP_HFLIP] = {"hflip", K_GEOM, ON_ANY, {P_PROB(0.5)}},
    [OP_VFLIP] = {"vflip", K_GEOM, ON_IMAGE, {P_PROB(0.5)}},
    [OP_ROTATE] = {"rotate", K_GEOM, ON_IMAGE, {{"deg", 15, 0, 180, 0}, {"min", 0, 0, 180, 0}, {"crop", 1, 0, 1, 2}, P_FILL, P_PROB(1)}},
    [OP_CROP] = {"crop", K_GEOM, ON_ANY, {{"pad", 4, 0, 65536, 1}, P_FILL, P_PROB(1)}},
    [OP_RRC] = {"rrc", K_GEOM, ON_IMAGE,
                {{"min", 0.08, 1e-4, 1, 0}, {"max", 1, 1e-4, 1, 0}, {"ratio", 4.0 / 3.0, 1, 100, 0}, {"pad", 0, 0, 65536, 1}, P_FILL,
                 P_PROB(1)}},
    [OP_TRANSLATE] = {"translate", K_GEOM, ON_ANY, {{"frac", 0.1, 0, 1, 0}, P_FILL, P_PROB(1)}},
    [OP_ZOOM] = {"zoom", K_GEOM, ON_ANY, {{"frac", 0.1, 0, 0.9, 0}, P_FILL, P_PROB(1)}},
    [OP_STRETCH] = {"stretch", K_GEOM, ON_IMAGE, {{"frac", 0.2, 0, 4, 0}, P_FILL, P_PROB(1)}},
    [OP_HSTRETCH] = {"hstretch", K_GEOM, ON_ANY, {{"frac", 0.2, 0, 0.9, 0}, P_FILL, P_PROB(1)}},
    [OP_VSTRETCH] = {"vstretch", K_GEOM, ON_IMAGE, {{"frac", 0.2, 0, 0.9, 0}, P_FILL, P_PROB(1)}},
    [OP_BARREL] = {"barrel", K_GEOM, ON_IMAGE, {{"k", 0.2, 0, 0.3, 0}, P_FILL, P_PROB(1)}},
    [OP_PINCUSHION] = {"pincushion", K_GEOM, ON_IMAGE, {{"k", 0.2, 0, 0.3, 0}, P_FILL, P_PROB(1)}},
    [OP_DISTORT] = {"distort", K_GEOM, ON_IMAGE, {{"k", 0.2, 0, 0.3, 0}, P_FILL, P_PROB(1)}},
    [OP_BALANCE] = {"balance", K_COLOR, ON_IMAGE, {{"frac", 0.1, 0, 1, 0}, P_PROB(1)}},
    [OP_BRIGHTNESS] = {"brightness", K_COLOR, ON_IMAGE, {{"frac", 0.2, 0, 1, 0}, P_PROB(1)}},
    [OP_CONTRAST] = {"contrast", K_COLOR, ON_IMAGE, {{"frac", 0.2, 0, 1, 0}, P_PROB(1)}},
    [OP_SATURATION] = {"saturation", K_COLOR, ON_IMAGE, {{"frac", 0.2, 0, 1, 0}, P_PROB(1)}},
    [OP_HUE] = {"hue", K_COLOR, ON_IMAGE, {{"frac", 0.05, 0, 0.5, 0}, P_PROB(1)}},
    [OP_EXPOSURE] = {"exposure", K_COLOR, ON_IMAGE, {{"stops", 0.5, 0, 8, 0}, P_PROB(1)}},
    [OP_JITTER] = {"jitter", K_COLOR, ON_IMAGE, {{"frac", 0.2, 0, 1, 0}, P_PROB(1)}},
    [OP_VIGNETTE] = {"vignette", K_COLOR, ON_IMAGE, {{"frac", 0.5, 0, 1, 0}, P_PROB(1)}},
    [OP_BLUR] = {"blur", K_COLOR, ON_ANY, {{"sigma", 1, 0.01, 20, 0}, {"min", 0.1, 0.01, 20, 0}, P_PROB(1)}},
    [OP_NOISE] = {"noise", K_ANY, ON_ANY, {{"std", 0.05, 0, 1e3, 0}, P_PROB(1)}},
    [OP_SCALE] = {"scale", K_ANY, ON_ANY, {{"frac", 0.1, 0, 1, 0}, P_PROB(1)}},
    [OP_ERASE] = {"erase", K_ANY, ON_ANY,
                  {P_PROB(0.5), {"min", 0.02, 1e-4, 1, 0}, {"max", 0.33, 1e-4, 1, 0}, {"ratio", 3.3, 1, 100, 0}, {"value", 0, -1e6, 1e6, 0},
                   {"random", 0, 0, 1, 2}}},
    [OP_SHIFT] = {"shift", K_GEOM, ON_ANY, {{"n", 4, 0, 1e6, 1}, {"wrap", 0, 0, 1, 2}, P_FILL, P_PROB(1)}},
};

typedef struct {
    int id;
    double v[MAX_PARAMS];
} op;

struct cn_augment {
    int n;
    op ops[CN_AUGMENT_MAX_OPS];
};

static int nparams(const op_def *d)
{
    int k = 0;
    while (k < MAX_PARAMS && d->prm[k].key) k++;
    return k;
}

static int param_index(const op_def *d, const char *key)
{
    for (int k = 0; k < nparams(d); k++)
        if (!strcmp(d->prm[k].key, key)) return k;
    return -1;
}

static double pv(const op *o, const char *key) { return o->v[param_index(&OPS[o->id], key)]; }

/* ---- parsing ------------------------------------------------------------------------------- */

void cn_augment_destroy(cn_augment *a) { cn_free(a); }

int cn_augment_count(const cn_augment *a) { return a ? a->n : 0; }

static cn_status parse_number(const char *item, const char *opname, const char *key, const char *text, const param_def *pd,
                              double *out)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (!*text || end == text || *end || !isfinite(v))
        return cn_set_error(CN_STATUS_INVALID_ARG, "augment '%s': %s %s '%s' is not a number", item, opname, key, text);
    if (v < pd->lo || v > pd->hi)
        return cn_set_error(CN_STATUS_INVALID_ARG, "augment '%s': %s %s %g is not in [%g, %g]", item, opname, key, v, pd->lo, pd->hi);
    if (pd->integer == 1 && v != floor(v))
        return cn_set_error(CN_STATUS_INVALID_ARG, "augment '%s': %s %s %g must be a whole number", item, opname, key, v);
    if (pd->integer == 2 && v != 0 && v != 1)
        return cn_set_error(CN_STATUS_INVALID_ARG, "augment '%s': %s %s %g must be 0 or 1", item, opname, key, v);
    *out = v;
    return CN_OK;
}

static cn_status add_op(cn_augment *a, const op *o, const char *item)
{
    if (a->n >= CN_AUGMENT_MAX_OPS)
        return cn_set_error(CN_STATUS_LIMIT, "augment '%s': more than %d operations", item, CN_AUGMENT_MAX_OPS);
    a->ops[a->n++] = *o;
    return CN_OK;
}

static cn_status parse_item(cn_augment *a, char *item)
{
    char whole[256];
    snprintf(whole, sizeof whole, "%s", item);
    char *colon = strchr(item, ':');
    if (colon) *colon = '\0';
    char *eq = strchr(item, '=');
    if (eq) *eq = '\0';
    const char *names[OP_COUNT_ + 1];
    int id = -1;
    for (int k = 0; k < OP_COUNT_; k++) {
        names[k] = OPS[k].name;
        if (!strcmp(OPS[k].name, item)) id = k;
    }
    names[OP_COUNT_] = NULL;
    if (id < 0) {
        const char *near = cn_closest(item, names);
        if (near) return cn_set_error(CN_STATUS_INVALID_ARG, "augment '%s': unknown operation '%s' — did you mean '%s'?", whole, item, near);
        return cn_set_error(CN_STATUS_INVALID_ARG, "augment '%s': unknown operation '%s' (convnet augment --help lists them)", whole, item);
    }
    const op_def *d = &OPS[id];
    op o = {id, {0}};
    for (int k = 0; k < nparams(d); k++) o.v[k] = d->prm[k].def;
    cn_status st;
    if (eq && (st = parse_number(whole, d->name, d->prm[0].key, eq + 1, &d->prm[0], &o.v[0])) != CN_OK) return st;
    int seen[MAX_PARAMS] = {0};
    for (char *kv = colon ? colon + 1 : NULL; kv;) {
        char *next = strchr(kv, ':');
        if (next) *next++ = '\0';
        char *e = strchr(kv, '=');
        if (!e || e == kv)
            return cn_set_error(CN_STATUS_INVALID_ARG, "augment '%s': '%s' is not KEY=VALUE", whole, kv);
        *e = '\0';
        int k = param_index(d, kv);
        if (k < 0) {
            char keys[128] = "";
            size_t used = 0;
            const char *cand[MAX_PARAMS + 1];
            for (int j = 0; j < nparams(d); j++) {
                cand[j] = d->prm[j].key;
                used += (size_t)snprintf(keys + used, sizeof keys - used, "%s%s", j ? ", " : "", d->prm[j].key);
            }
            cand[nparams(d)] = NULL;
            const char *near = cn_closest(kv, cand);
            if (near)
                return cn_set_error(CN_STATUS_INVALID_ARG, "augment '%s': unknown key '%s' — did you mean '%s'? (%s takes %s)", whole, kv,
                                    near, d->name, keys);
            return cn_set_error(CN_STATUS_INVALID_ARG, "augment '%s': unknown key '%s' (%s takes %s)", whole, kv, d->name, keys);
        }
        if (seen[k]++ || (k == 0 && eq))
            return cn_set_error(CN_STATUS_INVALID_ARG, "augment '%s': %s is given twice", whole, kv);
        if ((st = parse_number(whole, d->name, kv, e + 1, &d->prm[k], &o.v[k])) != CN_OK) return st;
        kv = next;
    }
    /* cross-parameter rules */
    if ((id == OP_RRC || id == OP_ERASE) && pv(&o, "min") > pv(&o, "max"))
        return cn_set_error(CN_STATUS_INVALID_ARG, "augment '%s': min %g is above max %g", whole, pv(&o, "min"), pv(&o, "max"));
    if (id == OP_ROTATE && pv(&o, "min") > pv(&o, "deg"))
        return cn_set_error(CN_STATUS_INVALID_ARG, "augment '%s': min %g is above deg %g", whole, pv(&o, "min"), pv(&o, "deg"));
    if (id == OP_BLUR && pv(&o, "min") > pv(&o, "sigma"))
        return cn_set_error(CN_STATUS_INVALID_ARG, "augment '%s': min %g is above sigma %g", whole, pv(&o, "min"), pv(&o, "sigma"));
    if (id == OP_JITTER) { /* written out as its three parts */
        static const int parts[3] = {OP_BRIGHTNESS, OP_CONTRAST, OP_SATURATION};
        for (int k = 0; k < 3; k++) {
            op p = {parts[k], {o.v[0], o.v[1]}};
            if ((st = add_op(a, &p, whole)) != CN_OK) return st;
        }
        return CN_OK;
    }
    return add_op(a, &o, whole);
}

cn_status cn_augment_parse(cn_augment **out, const char *text)
{
    *out = NULL;
    cn_augment *a = cn_calloc(1, sizeof *a, "augmentation pipeline");
    if (!a) return CN_STATUS_NOMEM;
    size_t len = text ? strlen(text) : 0;
    char *buf = cn_malloc(len + 1, "augmentation text");
    if (!buf) {
        cn_free(a);
        return CN_STATUS_NOMEM;
    }
    memcpy(buf, text ? text : "", len + 1);
    cn_status st = CN_OK;
    char *p = buf;
    while (st == CN_OK && p) {
        char *next = strchr(p, ',');
        if (next) *next++ = '\0';
        /* trim spaces */
        while (*p == ' ' || *p == '\t') p++;
        char *e = p + strlen(p);
        while (e > p && (e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
        if (*p) st = parse_item(a, p);
        else if (next || p != buf) st = cn_set_error(CN_STATUS_INVALID_ARG, "augment '%s': an empty operation between commas", text);
        p = next;
    }
    cn_free(buf);
    if (st != CN_OK) cn_free(a);
    else *out = a;
    return st;
}

/* the shortest text that parses back to exactly v (so canonical text reproduces a run) */
static const char *num(char *buf, size_t cap, double v)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

static size_t op_str(const op *o, char *buf, size_t cap)
{
    const op_def *d = &OPS[o->id];
    char nb[32];
    size_t used = (size_t)snprintf(buf, cap, "%s=%s", d->name, num(nb, sizeof nb, o->v[0]));
    for (int k = 1; k < nparams(d) && used < cap; k++)
        used += (size_t)snprintf(buf + used, cap - used, ":%s=%s", d->prm[k].key, num(nb, sizeof nb, o->v[k]));
    return used;
}

char *cn_augment_str(const cn_augment *a, int i, char *buf, size_t cap)
{
    if (!cap) return buf;
    buf[0] = '\0';
    if (i >= 0) {
        if (i < a->n) op_str(&a->ops[i], buf, cap);
        return buf;
    }
    size_t used = 0;
    for (int k = 0; k < a->n && used + 1 < cap; k++) {
        if (k) buf[used++] = ',', buf[used] = '\0';
        used += op_str(&a->ops[k], buf + used, cap - used);
    }
    return buf;
}

cn_status cn_augment_single(cn_augment **out, const cn_augment *a, int i)
{
    *out = NULL;
    if (i < 0 || i >= a->n) return cn_set_error(CN_STATUS_INVALID_ARG, "augment: operation %d is not in 0..%d", i, a->n - 1);
    cn_augment *s = cn_calloc(1, sizeof *s, "augmentation pipeline");
    if (!s) return CN_STATUS_NOMEM;
    s->n = 1;
    s->ops[0] = a->ops[i];
    int pk = param_index(&OPS[s->ops[0].id], "p");
    if (pk >= 0) s->ops[0].v[pk] = 1;
    *out = s;
    return CN_OK;
}

static char help_text[6000];
static pthread_once_t help_once = PTHREAD_ONCE_INIT;

static void build_help(void)
{
    size_t used = 0;
    for (int id = 0; id < OP_COUNT_; id++) {
        const op_def *d = &OPS[id];
        used += (size_t)snprintf(help_text + used, sizeof help_text - used, "  %-11s", d->name);
        for (int k = 0; k < nparams(d); k++)
            used += (size_t)snprintf(help_text + used, sizeof help_text - used, "%s%s=%g", k ? " :" : " ", d->prm[k].key, d->prm[k].def);
        used += (size_t)snprintf(help_text + used, sizeof help_text - used, "\n");
    }
}

const char *cn_augment_help(void)
{
    pthread_once(&help_once, build_help);
    return help_text;
}

/* ---- checking ------------------------------------------------------------------------------ */

typedef struct {
    int64_t c, h, w; /* h = 1 for signals */
    int image;       /* 1: C x H x W */
} geom;

static int sample_geom(const cn_dataset_info *info, geom *g)
{
    const cn_shape *s = &info->sample;
    if (s->ndim == 1) *g = (geom){1, 1, s->dim[0], 0};
    else if (s->ndim == 2) *g = (geom){s->dim[0], 1, s->dim[1], 0};
    else if (s->ndim == 3) *g = (geom){s->dim[0], s->dim[1], s->dim[2], 1};
    else return 0;
    return 1;
}

cn_status cn_augment_check(const cn_augment *a, const cn_dataset_info *info)
{
    if (!a || !a->n) return CN_OK;
    char sb[64], tb[64], ob[160];
    cn_shape_str(&info->sample, sb, sizeof sb);
    geom g = {0};
    int known = sample_geom(info, &g);
    for (int k = 0; k < a->n; k++) {
        const op *o = &a->ops[k];
        const op_def *d = &OPS[o->id];
        op_str(o, ob, sizeof ob);
        if (!known && d->kind != K_ANY)
            return cn_set_error(CN_STATUS_SHAPE, "augment '%s': %s samples are %s; it works on images (C x H x W) and signals (C x W)",
                                ob, info->name, sb);
        if (!known && o->id == OP_ERASE)
            return cn_set_error(CN_STATUS_SHAPE, "augment '%s': %s samples are %s; erasing works on images and signals", ob, info->name, sb);
        if (known && d->on == ON_IMAGE && !g.image)
            return cn_set_error(CN_STATUS_SHAPE, "augment '%s': %s needs images (C x H x W); %s samples are %s signals", ob, d->name,
                                info->name, sb);
    }
    int geometric = 0;
    for (int k = 0; k < a->n; k++) geometric |= OPS[a->ops[k].id].kind == K_GEOM;
    if (!geometric) return CN_OK;
    if (info->target_kind == CN_TARGET_DENSE_CLASS) {
        cn_shape want = g.image ? (cn_shape){2, {g.h, g.w}} : (cn_shape){1, {g.w}};
        if (!cn_shape_equal(&info->target, &want))
            return cn_set_error(CN_STATUS_SHAPE, "augment: %s masks are %s but samples are %s; geometric operations need a mask of the "
                                "sample's spatial shape", info->name, cn_shape_str(&info->target, tb, sizeof tb), sb);
    }
    if (info->target_kind == CN_TARGET_BOXES && (info->target.ndim != 2 || info->target.dim[1] != 5 || !g.image))
        return cn_set_error(CN_STATUS_SHAPE, "augment: %s boxes are %s for samples %s; expected (max_boxes, 5) and images", info->name,
                            cn_shape_str(&info->target, tb, sizeof tb), sb);
    return CN_OK;
}

int64_t cn_augment_scratch_size(const cn_augment *a, const cn_dataset_info *info)
{
    geom g;
    if (!sample_geom(info, &g)) g = (geom){1, 1, cn_shape_numel(&info->sample), 0};
    (void)a;
    /* a copy of the sample, a copy of the mask, and a blur kernel */
    return g.c * g.h * g.w + g.h * g.w + 256;
}

void cn_augment_rng(cn_rng *r, uint64_t seed, int64_t epoch, int64_t index)
{
    cn_rng_init(r, seed, (uint64_t)CN_STREAM_AUGMENT + ((uint64_t)epoch << 32));
    cn_rng_seek(r, (uint64_t)index << 32);
}

/* ---- geometry ------------------------------------------------------------------------------ */

typedef struct {
    double m[6]; /* (x, y) -> (m0 x + m1 y + m2, m3 x + m4 y + m5) */
} affine;

static affine aff(double a, double b, double c, double d, double e, double f) { return (affine){{a, b, c, d, e, f}}; }

/* a after b */
static affine compose(affine a, affine b)
{
    const double *A = a.m, *B = b.m;
    return aff(A[0] * B[0] + A[1] * B[3], A[0] * B[1] + A[1] * B[4], A[0] * B[2] + A[1] * B[5] + A[2], A[3] * B[0] + A[4] * B[3],
               A[3] * B[1] + A[4] * B[4], A[3] * B[2] + A[4] * B[5] + A[5]);
}

static void apply_aff(const affine *t, double x, double y, double *ox, double *oy)
{
    *ox = t->m[0] * x + t->m[1] * y + t->m[2];
    *oy = t->m[3] * x + t->m[4] * y + t->m[5];
}

/* x -> c + s (x - c) on each axis, both ways */
static void scale_about(double cx, double cy, double sx, double sy, affine *fwd, affine *inv)
{
    *fwd = aff(sx, 0, cx - sx * cx, 0, sy, cy - sy * cy);
    *inv = aff(1 / sx, 0, cx - cx / sx, 0, 1 / sy, cy - cy / sy);
}

typedef struct {
    int radial;          /* 0: affine; 1: radial distortion */
    affine fwd, inv;     /* affine */
    double k, cx, cy, R; /* radial: r_src = r (1 + k r^2), r = |p - c| / R */
} link;

typedef struct {
    int n;
    double fill;
    link l[CN_AUGMENT_MAX_OPS];
} chain;

static void chain_affine(chain *ch, affine fwd, affine inv, double fill)
{
    if (!ch->n) ch->fill = fill;
    if (ch->n && !ch->l[ch->n - 1].radial) {
        link *t = &ch->l[ch->n - 1];
        t->fwd = compose(fwd, t->fwd); /* the new mapping runs after the tail's */
        t->inv = compose(t->inv, inv);
        return;
    }
    ch->l[ch->n++] = (link){0, fwd, inv, 0, 0, 0, 0};
}

static void chain_radial(chain *ch, double k, double cx, double cy, double R, double fill)
{
    if (!ch->n) ch->fill = fill;
    link l = {1, {{0}}, {{0}}, k, cx, cy, R};
    ch->l[ch->n++] = l;
}

/* output position -> source position */
static void chain_inverse(const chain *ch, double x, double y, double *sx, double *sy)
{
    for (int i = ch->n - 1; i >= 0; i--) {
        const link *l = &ch->l[i];
        if (!l->radial) apply_aff(&l->inv, x, y, &x, &y);
        else {
            double dx = x - l->cx, dy = y - l->cy, r2 = (dx * dx + dy * dy) / (l->R * l->R);
            double f = 1 + l->k * r2;
            x = l->cx + dx * f, y = l->cy + dy * f;
        }
    }
    *sx = x, *sy = y;
}

/* r such that r (1 + k r^2) = rs, on the branch through 0; a large value where none exists */
static double radial_solve(double k, double rs)
{
    if (rs <= 0) return 0;
    double rmax = k < 0 ? 1 / sqrt(-3 * k) : INFINITY; /* where r + k r^3 stops increasing */
    if (k < 0 && rs >= rmax * (1 + k * rmax * rmax)) return 1e6;
    double r = k < 0 ? fmin(rs, rmax) : rs;
    for (int it = 0; it < 50; it++) {
        double f = r * (1 + k * r * r) - rs, fp = 1 + 3 * k * r * r;
        double step = f / fp;
        r -= step;
        if (r < 0) r = 0;
        if (k < 0 && r > rmax) r = rmax;
        if (fabs(step) < 1e-12) break;
    }
    return r;
}

/* source position -> output position */
static void chain_forward(const chain *ch, double x, double y, double *ox, double *oy)
{
    for (int i = 0; i < ch->n; i++) {
        const link *l = &ch->l[i];
        if (!l->radial) apply_aff(&l->fwd, x, y, &x, &y);
        else {
            double dx = x - l->cx, dy = y - l->cy, rs = sqrt(dx * dx + dy * dy) / l->R;
            if (rs > 0) {
                double r = radial_solve(l->k, rs);
                x = l->cx + dx * (r / rs), y = l->cy + dy * (r / rs);
            }
        }
    }
    *ox = x, *oy = y;
}

typedef struct {
    geom g;
    float *x;             /* the sample */
    float *mask;          /* DENSE_CLASS target or NULL */
    float *boxes;         /* BOXES target or NULL */
    int64_t nbox;
    float *tmp, *tmpmask; /* scratch */
    float *kernel;        /* 256 floats */
} sample;

/* A single affine link that maps pixel centres onto pixel centres (flips, integer shifts and
 * crops, their compositions): 1 if so, with the source pixel of output (i, j) being
 * (si + sy i, sj + sx j) for sx, sy in {-1, 1}. Such maps are copies; no arithmetic. */
static int integer_map(const chain *ch, int64_t *sj, int64_t *sx, int64_t *si, int64_t *sy)
{
    if (ch->n != 1 || ch->l[0].radial) return 0;
    const double *m = ch->l[0].inv.m;
    if (m[1] != 0 || m[3] != 0 || fabs(m[0]) != 1 || fabs(m[4]) != 1) return 0;
    /* u = m0 (j + 0.5) + m2 lands on the centre of column u - 0.5 = j + m2 (m0 = 1) or
     * m2 - 1 - j (m0 = -1): a whole number when m2 is; the same for rows */
    double bj = m[0] > 0 ? m[2] : m[2] - 1, bi = m[4] > 0 ? m[5] : m[5] - 1;
    if (bj != floor(bj) || bi != floor(bi)) return 0;
    *sj = (int64_t)bj, *sx = (int64_t)m[0], *si = (int64_t)bi, *sy = (int64_t)m[4];
    return 1;
}

static void resample(sample *s, const chain *ch)
{
    const int64_t C = s->g.c, H = s->g.h, W = s->g.w, HW = H * W;
    const float fill = (float)ch->fill;
    memcpy(s->tmp, s->x, (size_t)(C * HW) * sizeof(float));
    if (s->mask) memcpy(s->tmpmask, s->mask, (size_t)HW * sizeof(float));
    int64_t sj, sx, si, sy;
    if (integer_map(ch, &sj, &sx, &si, &sy)) {
        for (int64_t i = 0; i < H; i++) {
            int64_t y = si + sy * i;
            for (int64_t j = 0; j < W; j++) {
                int64_t xx = sj + sx * j, o = i * W + j;
                int in = y >= 0 && y < H && xx >= 0 && xx < W;
                for (int64_t c = 0; c < C; c++) s->x[c * HW + o] = in ? s->tmp[c * HW + y * W + xx] : fill;
                if (s->mask) s->mask[o] = in ? s->tmpmask[y * W + xx] : 0;
            }
        }
        return;
    }
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < W; j++) {
            double u, v;
            chain_inverse(ch, (double)j + 0.5, (double)i + 0.5, &u, &v);
            int64_t o = i * W + j;
            if (!(u >= 0 && u <= (double)W && v >= 0 && v <= (double)H)) {
                for (int64_t c = 0; c < C; c++) s->x[c * HW + o] = fill;
                if (s->mask) s->mask[o] = 0;
                continue;
            }
            double fx = u - 0.5, fy = v - 0.5;
            double x0f = floor(fx), y0f = floor(fy);
            float tx = (float)(fx - x0f), ty = (float)(fy - y0f);
            int64_t x0 = (int64_t)x0f, y0 = (int64_t)y0f, x1 = x0 + 1, y1 = y0 + 1;
            x0 = x0 < 0 ? 0 : x0 >= W ? W - 1 : x0;
            x1 = x1 < 0 ? 0 : x1 >= W ? W - 1 : x1;
            y0 = y0 < 0 ? 0 : y0 >= H ? H - 1 : y0;
            y1 = y1 < 0 ? 0 : y1 >= H ? H - 1 : y1;
            for (int64_t c = 0; c < C; c++) {
                const float *p = s->tmp + c * HW;
                float top = (1 - tx) * p[y0 * W + x0] + tx * p[y0 * W + x1];
                float bot = (1 - tx) * p[y1 * W + x0] + tx * p[y1 * W + x1];
                s->x[c * HW + o] = (1 - ty) * top + ty * bot;
            }
            if (s->mask) {
                int64_t mx = (int64_t)floor(u), my = (int64_t)floor(v);
                if (mx >= W) mx = W - 1;
                if (my >= H) my = H - 1;
                s->mask[o] = s->tmpmask[my * W + mx];
            }
        }
}

/* move the boxes through the chain's forward mapping, clip them, drop the ones mostly gone */
static void move_boxes(sample *s, const chain *ch)
{
    if (!s->boxes) return;
    const int64_t H = s->g.h, W = s->g.w;
    int radial = 0;
    for (int i = 0; i < ch->n; i++) radial |= ch->l[i].radial;
    const double Wd = (double)W, Hd = (double)H;
    for (int64_t b = 0; b < s->nbox; b++) {
        float *r = s->boxes + 5 * b;
        if (r[0] < 0) continue;
        double bx0 = (r[1] - r[3] / 2) * Wd, bx1 = (r[1] + r[3] / 2) * Wd;
        double by0 = (r[2] - r[4] / 2) * Hd, by1 = (r[2] + r[4] / 2) * Hd;
        double lo_x = INFINITY, lo_y = INFINITY, hi_x = -INFINITY, hi_y = -INFINITY;
        int steps = radial ? 8 : 1; /* points per edge */
        for (int e = 0; e < 4; e++)
            for (int t = 0; t < steps; t++) {
                double f = (double)t / steps, px, py;
                switch (e) {
                case 0: px = bx0 + f * (bx1 - bx0), py = by0; break;
                case 1: px = bx1, py = by0 + f * (by1 - by0); break;
                case 2: px = bx1 - f * (bx1 - bx0), py = by1; break;
                default: px = bx0, py = by1 - f * (by1 - by0);
                }
                double qx, qy;
                chain_forward(ch, px, py, &qx, &qy);
                lo_x = fmin(lo_x, qx), hi_x = fmax(hi_x, qx), lo_y = fmin(lo_y, qy), hi_y = fmax(hi_y, qy);
            }
        double area = (hi_x - lo_x) * (hi_y - lo_y);
        double cx0 = fmax(lo_x, 0), cx1 = fmin(hi_x, Wd), cy0 = fmax(lo_y, 0), cy1 = fmin(hi_y, Hd);
        double carea = (cx1 - cx0) * (cy1 - cy0);
        if (cx1 - cx0 < 1 || cy1 - cy0 < 1 || !(carea >= 0.25 * area)) {
            r[0] = -1, r[1] = r[2] = r[3] = r[4] = 0;
            continue;
        }
        r[1] = (float)((cx0 + cx1) / 2 / Wd), r[2] = (float)((cy0 + cy1) / 2 / Hd);
        r[3] = (float)((cx1 - cx0) / Wd), r[4] = (float)((cy1 - cy0) / Hd);
    }
    /* valid boxes first, padding after */
    int64_t k = 0;
    for (int64_t b = 0; b < s->nbox; b++)
        if (s->boxes[5 * b] >= 0) {
            if (k != b) memcpy(s->boxes + 5 * k, s->boxes + 5 * b, 5 * sizeof(float));
            k++;
        }
    for (; k < s->nbox; k++) s->boxes[5 * k] = -1, s->boxes[5 * k + 1] = s->boxes[5 * k + 2] = s->boxes[5 * k + 3] = s->boxes[5 * k + 4] = 0;
}

static void flush(sample *s, chain *ch)
{
    if (ch->n) resample(s, ch), move_boxes(s, ch);
    ch->n = 0;
}

/* circular shift by d along x */
static void wrap_shift(sample *s, int64_t d)
{
    const int64_t C = s->g.c, H = s->g.h, W = s->g.w;
    d %= W;
    if (d < 0) d += W;
    if (!d) return;
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < H; i++) {
            float *row = s->x + (c * H + i) * W;
            memcpy(s->tmp, row, (size_t)W * sizeof(float));
            for (int64_t j = 0; j < W; j++) row[(j + d) % W] = s->tmp[j];
        }
    if (s->mask)
        for (int64_t i = 0; i < H; i++) {
            float *row = s->mask + i * W;
            memcpy(s->tmp, row, (size_t)W * sizeof(float));
            for (int64_t j = 0; j < W; j++) row[(j + d) % W] = s->tmp[j];
        }
}

/* ---- colour and value operations ----------------------------------------------------------- */

static float clamp01(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

static float uniform(cn_rng *r, double lo, double hi) { return (float)(lo + (hi - lo) * cn_rng_uniform_f64(r)); }

static void blur(sample *s, double sigma)
{
    const int64_t C = s->g.c, H = s->g.h, W = s->g.w, HW = H * W;
    int rad = (int)ceil(3 * sigma);
    if (rad > 120) rad = 120;
    float *k = s->kernel;
    double sum = 0;
    for (int i = -rad; i <= rad; i++) sum += exp(-(double)i * i / (2 * sigma * sigma));
    for (int i = -rad; i <= rad; i++) k[i + rad] = (float)(exp(-(double)i * i / (2 * sigma * sigma)) / sum);
    for (int64_t c = 0; c < C; c++) {
        float *p = s->x + c * HW;
        /* horizontal into tmp, vertical back; edges repeat */
        for (int64_t i = 0; i < H; i++)
            for (int64_t j = 0; j < W; j++) {
                float acc = 0;
                for (int t = -rad; t <= rad; t++) {
                    int64_t jj = j + t;
                    jj = jj < 0 ? 0 : jj >= W ? W - 1 : jj;
                    acc += k[t + rad] * p[i * W + jj];
                }
                s->tmp[i * W + j] = acc;
            }
        for (int64_t i = 0; i < H; i++)
            for (int64_t j = 0; j < W; j++) {
                float acc = 0;
                for (int t = -rad; t <= rad; t++) {
                    int64_t ii = i + t;
                    ii = ii < 0 ? 0 : ii >= H ? H - 1 : ii;
                    acc += k[t + rad] * s->tmp[ii * W + j];
                }
                p[i * W + j] = acc;
            }
    }
}

static void erase(sample *s, const op *o, cn_rng *r)
{
    const int64_t C = s->g.c, H = s->g.h, W = s->g.w, HW = H * W;
    double lo = pv(o, "min"), hi = pv(o, "max"), lr = log(pv(o, "ratio"));
    for (int attempt = 0; attempt < 10; attempt++) {
        double area = (double)HW * uniform(r, lo, hi), ratio = exp(uniform(r, -lr, lr));
        int64_t eh, ew;
        if (H == 1) eh = 1, ew = (int64_t)llround(area);
        else eh = (int64_t)llround(sqrt(area / ratio)), ew = (int64_t)llround(sqrt(area * ratio));
        if (eh < 1 || ew < 1 || eh > H || ew > W) continue;
        int64_t y0 = (int64_t)cn_rng_below(r, (uint32_t)(H - eh + 1)), x0 = (int64_t)cn_rng_below(r, (uint32_t)(W - ew + 1));
        int rnd = pv(o, "random") != 0;
        float value = (float)pv(o, "value");
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = y0; i < y0 + eh; i++) {
                float *row = s->x + c * HW + i * W + x0;
                if (rnd) cn_noise_fill(r, row, ew, 0.0f, 1.0f, 1);
                else
                    for (int64_t j = 0; j < ew; j++) row[j] = value;
            }
        return;
    }
}

/* ---- applying ------------------------------------------------------------------------------ */

static void apply_op(sample *s, chain *ch, const op *o, cn_rng *r)
{
    const int64_t C = s->g.c, H = s->g.h, W = s->g.w, HW = H * W, n = C * HW;
    const double Wd = (double)W, Hd = (double)H, cx = Wd / 2, cy = Hd / 2;
    const op_def *d = &OPS[o->id];
    int pk = param_index(d, "p");
    if (cn_rng_uniform_f64(r) >= o->v[pk]) return; /* one word decides, always drawn */
    int fk = param_index(d, "fill");
    double fill = fk >= 0 ? o->v[fk] : 0;
    affine fwd, inv;
    float *x = s->x;
    if (d->kind != K_GEOM) flush(s, ch);
    switch (o->id) {
    case OP_HFLIP: chain_affine(ch, aff(-1, 0, Wd, 0, 1, 0), aff(-1, 0, Wd, 0, 1, 0), fill); break;
    case OP_VFLIP: chain_affine(ch, aff(1, 0, 0, 0, -1, Hd), aff(1, 0, 0, 0, -1, Hd), fill); break;
    case OP_ROTATE: {
        double mag = uniform(r, pv(o, "min"), o->v[0]);
        double th = (cn_rng_u32(r) & 1 ? -mag : mag) * M_PI / 180, c = cos(th), sn = sin(th), z = 1;
        if (pv(o, "crop") != 0) z = fabs(c) + fmax(Hd / Wd, Wd / Hd) * fabs(sn);
        /* forward: q - centre = z [c s; -s c] (p - centre): positive angles turn counter-clockwise on screen */
        affine R = aff(z * c, z * sn, 0, -z * sn, z * c, 0), Ri = aff(c / z, -sn / z, 0, sn / z, c / z, 0);
        affine to0 = aff(1, 0, -cx, 0, 1, -cy), back = aff(1, 0, cx, 0, 1, cy);
        chain_affine(ch, compose(back, compose(R, to0)), compose(back, compose(Ri, to0)), fill);
        break;
    }
    case OP_CROP: {
        int64_t P = (int64_t)o->v[0];
        double dx = (double)((int64_t)cn_rng_below(r, (uint32_t)(2 * P + 1)) - P);
        double dy = H > 1 ? (double)((int64_t)cn_rng_below(r, (uint32_t)(2 * P + 1)) - P) : 0;
        chain_affine(ch, aff(1, 0, -dx, 0, 1, -dy), aff(1, 0, dx, 0, 1, dy), fill);
        break;
    }
    case OP_RRC: {
        double P = pv(o, "pad"), lr = log(pv(o, "ratio"));
        double area = uniform(r, pv(o, "min"), pv(o, "max")), ratio = exp(uniform(r, -lr, lr));
        double cw = Wd * sqrt(area * ratio), chh = Hd * sqrt(area / ratio);
        if (cw > Wd + 2 * P) cw = Wd + 2 * P;
        if (chh > Hd + 2 * P) chh = Hd + 2 * P;
        double x0 = uniform(r, -P, Wd + P - cw), y0 = uniform(r, -P, Hd + P - chh);
        double sx = cw / Wd, sy = chh / Hd;
        chain_affine(ch, aff(1 / sx, 0, -x0 / sx, 0, 1 / sy, -y0 / sy), aff(sx, 0, x0, 0, sy, y0), fill);
        break;
    }
    case OP_TRANSLATE: {
        double dx = uniform(r, -o->v[0] * Wd, o->v[0] * Wd), dy = H > 1 ? uniform(r, -o->v[0] * Hd, o->v[0] * Hd) : 0;
        chain_affine(ch, aff(1, 0, dx, 0, 1, dy), aff(1, 0, -dx, 0, 1, -dy), fill);
        break;
    }
    case OP_ZOOM: {
        double z = uniform(r, 1 - o->v[0], 1 + o->v[0]);
        scale_about(cx, cy, z, H > 1 ? z : 1, &fwd, &inv);
        chain_affine(ch, fwd, inv, fill);
        break;
    }
    case OP_STRETCH: {
        double a = exp(uniform(r, -log1p(o->v[0]), log1p(o->v[0])));
        scale_about(cx, cy, a, 1 / a, &fwd, &inv);
        chain_affine(ch, fwd, inv, fill);
        break;
    }
    case OP_HSTRETCH:
    case OP_VSTRETCH: {
        double f = uniform(r, 1 - o->v[0], 1 + o->v[0]);
        scale_about(cx, cy, o->id == OP_HSTRETCH ? f : 1, o->id == OP_VSTRETCH ? f : 1, &fwd, &inv);
        chain_affine(ch, fwd, inv, fill);
        break;
    }
    case OP_BARREL:
    case OP_PINCUSHION:
    case OP_DISTORT: {
        double K = o->v[0];
        double k = o->id == OP_BARREL ? uniform(r, 0, K) : o->id == OP_PINCUSHION ? uniform(r, -K, 0) : uniform(r, -K, K);
        chain_radial(ch, k, cx, cy, sqrt(Wd * Wd + Hd * Hd) / 2, fill);
        break;
    }
    case OP_SHIFT: {
        int64_t N = (int64_t)o->v[0];
        int64_t dx = (int64_t)cn_rng_below(r, (uint32_t)(2 * N + 1)) - N;
        if (pv(o, "wrap") != 0) {
            flush(s, ch);
            wrap_shift(s, dx);
            /* boxes cannot wrap round: they move and are clipped */
            chain t = {0};
            chain_affine(&t, aff(1, 0, (double)dx, 0, 1, 0), aff(1, 0, (double)-dx, 0, 1, 0), 0);
            move_boxes(s, &t);
        } else chain_affine(ch, aff(1, 0, (double)dx, 0, 1, 0), aff(1, 0, (double)-dx, 0, 1, 0), fill);
        break;
    }
    case OP_BALANCE:
        for (int64_t c = 0; c < C; c++) {
            float gain = uniform(r, 1 - o->v[0], 1 + o->v[0]);
            for (int64_t i = 0; i < HW; i++) x[c * HW + i] = clamp01(x[c * HW + i] * gain);
        }
        break;
    case OP_BRIGHTNESS: {
        float b = uniform(r, -o->v[0], o->v[0]);
        for (int64_t i = 0; i < n; i++) x[i] = clamp01(x[i] + b);
        break;
    }
    case OP_CONTRAST: {
        float f = uniform(r, 1 - o->v[0], 1 + o->v[0]);
        double m = 0;
        if (C == 3)
            for (int64_t i = 0; i < HW; i++) m += 0.299 * x[i] + 0.587 * x[HW + i] + 0.114 * x[2 * HW + i];
        else
            for (int64_t i = 0; i < n; i++) m += x[i];
        float mean = (float)(m / (double)(C == 3 ? HW : n));
        for (int64_t i = 0; i < n; i++) x[i] = clamp01(mean + (x[i] - mean) * f);
        break;
    }
    case OP_SATURATION: {
        float f = uniform(r, 1 - o->v[0], 1 + o->v[0]);
        if (C != 3) break;
        for (int64_t i = 0; i < HW; i++) {
            float g = 0.299f * x[i] + 0.587f * x[HW + i] + 0.114f * x[2 * HW + i];
            for (int64_t c = 0; c < 3; c++) x[c * HW + i] = clamp01(g + (x[c * HW + i] - g) * f);
        }
        break;
    }
    case OP_HUE: {
        double h = uniform(r, -o->v[0], o->v[0]) * 2 * M_PI;
        if (C != 3) break;
        float ch_ = (float)cos(h), sh = (float)sin(h);
        for (int64_t i = 0; i < HW; i++) {
            float R = x[i], G = x[HW + i], B = x[2 * HW + i];
            float Y = 0.299f * R + 0.587f * G + 0.114f * B;
            float I = 0.595716f * R - 0.274453f * G - 0.321263f * B;
            float Q = 0.211456f * R - 0.522591f * G + 0.311135f * B;
            float I2 = ch_ * I - sh * Q, Q2 = sh * I + ch_ * Q;
            x[i] = clamp01(Y + 0.9563f * I2 + 0.6210f * Q2);
            x[HW + i] = clamp01(Y - 0.2721f * I2 - 0.6474f * Q2);
            x[2 * HW + i] = clamp01(Y - 1.1070f * I2 + 1.7046f * Q2);
        }
        break;
    }
    case OP_EXPOSURE: {
        float f = (float)exp2(uniform(r, -o->v[0], o->v[0]));
        for (int64_t i = 0; i < n; i++) x[i] = clamp01(x[i] * f);
        break;
    }
    case OP_VIGNETTE: {
        float sv = uniform(r, 0, o->v[0]);
        double R2 = (Wd * Wd + Hd * Hd) / 4;
        for (int64_t i = 0; i < H; i++)
            for (int64_t j = 0; j < W; j++) {
                double dx = j + 0.5 - cx, dy = i + 0.5 - cy;
                float f = 1 - sv * (float)((dx * dx + dy * dy) / R2);
                for (int64_t c = 0; c < C; c++) x[c * HW + i * W + j] *= f;
            }
        break;
    }
    case OP_BLUR: blur(s, uniform(r, pv(o, "min"), o->v[0])); break;
    case OP_NOISE: cn_noise_fill(r, x, n, 0.0f, (float)o->v[0], 0); break;
    case OP_SCALE: {
        float f = uniform(r, 1 - o->v[0], 1 + o->v[0]);
        for (int64_t i = 0; i < n; i++) x[i] *= f;
        break;
    }
    case OP_ERASE: erase(s, o, r); break;
    default: break;
    }
}

void cn_augment_apply(const cn_augment *a, const cn_dataset_info *info, float *x, float *target, const cn_rng *r, float *scratch)
{
    if (!a || !a->n) return;
    sample s = {{0}, x, NULL, NULL, 0, NULL, NULL, NULL};
    if (!sample_geom(info, &s.g)) s.g = (geom){1, 1, cn_shape_numel(&info->sample), 0};
    int64_t HW = s.g.h * s.g.w;
    s.tmp = scratch;
    s.tmpmask = scratch + s.g.c * HW;
    s.kernel = s.tmpmask + HW;
    if (target && info->target_kind == CN_TARGET_DENSE_CLASS) s.mask = target;
    if (target && info->target_kind == CN_TARGET_BOXES) s.boxes = target, s.nbox = info->target.dim[0];
    chain ch;
    ch.n = 0, ch.fill = 0;
    for (int k = 0; k < a->n; k++) {
        cn_rng rk = *r;
        cn_rng_seek(&rk, r->counter + ((uint64_t)k << 26));
        apply_op(&s, &ch, &a->ops[k], &rk);
    }
    flush(&s, &ch);
}

/* ---- test-time augmentation ------------------------------------------------------------------ */

cn_status cn_tta_check(const cn_tta_geom *g)
{
    if (g->n < 1 || g->c < 1 || g->h < 1 || g->w < 1 || g->pad < 0)
        return cn_set_error(CN_STATUS_INVALID_ARG, "tta: n %lld, c %lld, h %lld, w %lld and pad %lld must be positive (pad >= 0)",
                            (long long)g->n, (long long)g->c, (long long)g->h, (long long)g->w, (long long)g->pad);
    if (g->crop_h < 1 || g->crop_w < 1 || g->crop_h > g->h + 2 * g->pad || g->crop_w > g->w + 2 * g->pad)
        return cn_set_error(CN_STATUS_SHAPE, "tta: a %lldx%lld crop does not fit a %lldx%lld input padded by %lld", (long long)g->crop_h,
                            (long long)g->crop_w, (long long)g->h, (long long)g->w, (long long)g->pad);
    return CN_OK;
}

int cn_tta_views(const cn_tta_geom *g) { return g->flip ? 10 : 5; }

void cn_tta_crops(float *out, const float *x, const cn_tta_geom *g)
{
    const int64_t H = g->h, W = g->w, P = g->pad, ch = g->crop_h, cw = g->crop_w;
    const int64_t oy[5] = {0, 0, H + 2 * P - ch, H + 2 * P - ch, (H + 2 * P - ch) / 2};
    const int64_t ox[5] = {0, W + 2 * P - cw, 0, W + 2 * P - cw, (W + 2 * P - cw) / 2};
    const int64_t view = g->n * g->c * ch * cw;
    for (int v = 0; v < cn_tta_views(g); v++) {
        int base = v % 5, mirror = v >= 5;
        float *o = out + (int64_t)v * view;
        for (int64_t nc = 0; nc < g->n * g->c; nc++) {
            const float *src = x + nc * H * W;
            float *dst = o + nc * ch * cw;
            for (int64_t i = 0; i < ch; i++)
                for (int64_t j = 0; j < cw; j++) {
                    int64_t si = oy[base] + i - P, sj = ox[base] + (mirror ? cw - 1 - j : j) - P;
                    dst[i * cw + j] = si >= 0 && si < H && sj >= 0 && sj < W ? src[si * W + sj] : 0.0f;
                }
        }
    }
}

void cn_tta_average(float *out, const float *preds, int views, int64_t n, int64_t k)
{
    for (int64_t i = 0; i < n * k; i++) {
        double acc = 0;
        for (int v = 0; v < views; v++) acc += preds[(int64_t)v * n * k + i];
        out[i] = (float)(acc / views);
    }
}
