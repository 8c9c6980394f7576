/* options.c — parsing and formatting layer options from their declaration tables. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "layer.h"

static void *field(void *cfg, const cn_opt_spec *o) { return (char *)cfg + o->offset; }
static const void *cfield(const void *cfg, const cn_opt_spec *o) { return (const char *)cfg + o->offset; }

int cn_opts_index(const cn_layer_ops *ops, const char *key)
{
    for (int i = 0; ops->opts && ops->opts[i].name; i++)
        if (!strcmp(ops->opts[i].name, key)) return i;
    return -1;
}

static int enum_index(const char *choices, const char *value)
{
    int idx = 0;
    size_t vlen = strlen(value);
    for (const char *p = choices; *p; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == vlen && !strncmp(p, value, len)) return idx;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

static void enum_name(const char *choices, int idx, char *out, size_t cap)
{
    const char *p = choices;
    for (int i = 0; i < idx && p; i++) {
        p = strchr(p, '|');
        if (p) p++;
    }
    if (!p) {
        snprintf(out, cap, "?");
        return;
    }
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len >= cap) len = cap - 1;
    memcpy(out, p, len);
    out[len] = '\0';
}

/* "3", "3x5", "3,5,7" (spaces allowed after commas) */
static int parse_int_list(const char *s, int64_t *v, int max, int *n)
{
    *n = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t') s++;
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (end == s || errno) return 0;
        if (*n == max) return 0;
        v[(*n)++] = x;
        s = end;
        while (*s == ' ' || *s == '\t') s++;
        if (!*s) break;
        if (*s != 'x' && *s != ',') return 0;
        s++;
        if (!*s) return 0;
    }
    return *n > 0;
}

cn_status cn_opts_set(const cn_layer_ops *ops, void *cfg, const char *key, const char *value, const char *where)
{
    int i = cn_opts_index(ops, key);
    if (i < 0) {
        const char *names[CN_MAX_OPTS + 4];
        int n = 0;
        for (int k = 0; ops->opts && ops->opts[k].name && n < CN_MAX_OPTS; k++) names[n++] = ops->opts[k].name;
        names[n++] = "name";
        names[n++] = "input";
        names[n] = NULL;
        const char *hint = cn_closest(key, names);
        if (hint)
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s: unknown option '%s' in [%s] — did you mean '%s'?", where, key,
                                ops->name, hint);
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: unknown option '%s' in [%s]", where, key, ops->name);
    }
    const cn_opt_spec *o = &ops->opts[i];
    char *end;
    switch (o->type) {
    case CN_OPT_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (!*value || *end || errno) goto bad;
        *(int64_t *)field(cfg, o) = v;
        return CN_OK;
    }
    case CN_OPT_FLOAT: {
        /* "inf", "-inf" are bounds (clip); "nan" means "the layer's own default" */
        errno = 0;
        double v = strtod(value, &end);
        if (!*value || *end || (errno && isfinite(v))) goto bad;
        *(double *)field(cfg, o) = v;
        return CN_OK;
    }
    case CN_OPT_BOOL: {
        int v;
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes")) v = 1;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no")) v = 0;
        else goto bad;
        *(int *)field(cfg, o) = v;
        return CN_OK;
    }
    case CN_OPT_ENUM: {
        int v = enum_index(o->choices, value);
        if (v < 0)
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s: [%s] %s = '%s' is not one of %s", where, ops->name, key, value,
                                o->choices);
        *(int *)field(cfg, o) = v;
        return CN_OK;
    }
    case CN_OPT_INTS: {
        cn_ints *a = field(cfg, o);
        cn_ints t = {0};
        if (!parse_int_list(value, t.v, 6, &t.n)) goto bad;
        *a = t;
        return CN_OK;
    }
    case CN_OPT_FLOATS: {
        cn_floats t = {0};
        const char *s = value;
        while (*s) {
            while (*s == ' ') s++;
            errno = 0;
            double x = strtod(s, &end);
            if (end == s || errno || !isfinite(x) || t.n == 32) goto bad;
            t.v[t.n++] = x;
            s = end;
            while (*s == ' ') s++;
            if (!*s) break;
            if (*s != ',' && *s != 'x') goto bad;
            s++;
        }
        if (!t.n) goto bad;
        *(cn_floats *)field(cfg, o) = t;
        return CN_OK;
    }
    case CN_OPT_STRING: {
        if (strlen(value) >= CN_NAME_MAX)
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s: [%s] %s: value longer than %d characters", where, ops->name, key,
                                CN_NAME_MAX - 1);
        strcpy(field(cfg, o), value);
        return CN_OK;
    }
    case CN_OPT_PADDING: {
        cn_padding p = {0};
        if (!strcmp(value, "same") || !strcmp(value, "same_upper")) p.mode = CN_PADSPEC_SAME_UPPER;
        else if (!strcmp(value, "same_lower")) p.mode = CN_PADSPEC_SAME_LOWER;
        else if (!strcmp(value, "valid")) p.mode = CN_PADSPEC_VALID;
        else if (!parse_int_list(value, p.v.v, 6, &p.v.n)) goto bad;
        *(cn_padding *)field(cfg, o) = p;
        return CN_OK;
    }
    }
bad:;
    static const char *const expect[] = {
        [CN_OPT_INT] = "an integer", [CN_OPT_FLOAT] = "a number", [CN_OPT_BOOL] = "true or false",
        [CN_OPT_ENUM] = "a choice", [CN_OPT_INTS] = "integers like 3 or 3x5 or 1,2,1,2",
        [CN_OPT_FLOATS] = "up to 32 numbers like 2 or 1.5,2", [CN_OPT_STRING] = "a name",
        [CN_OPT_PADDING] = "same, same_lower, valid, or integers like 1 or 1x2 or 0,1,1,0",
    };
    return cn_set_error(CN_STATUS_INVALID_ARG, "%s: [%s] %s = '%s': expected %s", where, ops->name, key, value,
                        expect[o->type]);
}

void cn_opts_defaults(const cn_layer_ops *ops, void *cfg)
{
    memset(cfg, 0, ops->cfg_size);
    for (int i = 0; ops->opts && ops->opts[i].name; i++)
        if (ops->opts[i].def && ops->opts[i].def[0]) cn_opts_set(ops, cfg, ops->opts[i].name, ops->opts[i].def, "default");
}

cn_status cn_opts_require(const cn_layer_ops *ops, unsigned given, const char *where)
{
    for (int i = 0; ops->opts && ops->opts[i].name; i++)
        if (!ops->opts[i].def && !(given & (1u << i)))
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s: [%s] needs option '%s' (%s)", where, ops->name,
                                ops->opts[i].name, ops->opts[i].help);
    return CN_OK;
}

static void ints_text(const cn_ints *a, char sep, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < a->n && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%lld", i ? (char[]){sep, 0} : "", (long long)a->v[i]);
}

void cn_opts_value_text(const cn_opt_spec *o, const void *cfg, char *out, size_t cap)
{
    const void *f = cfield(cfg, o);
    switch (o->type) {
    case CN_OPT_INT: snprintf(out, cap, "%lld", (long long)*(const int64_t *)f); break;
    case CN_OPT_FLOAT: snprintf(out, cap, "%.9g", *(const double *)f); break;
    case CN_OPT_BOOL: snprintf(out, cap, "%s", *(const int *)f ? "true" : "false"); break;
    case CN_OPT_ENUM: enum_name(o->choices, *(const int *)f, out, cap); break;
    case CN_OPT_INTS: ints_text(f, 'x', out, cap); break;
    case CN_OPT_FLOATS: {
        const cn_floats *a = f;
        size_t used = 0;
        out[0] = '\0';
        for (int i = 0; i < a->n && used < cap; i++) used += (size_t)snprintf(out + used, cap - used, "%s%.9g", i ? "," : "", a->v[i]);
        break;
    }
    case CN_OPT_STRING: snprintf(out, cap, "%s", (const char *)f); break;
    case CN_OPT_PADDING: {
        const cn_padding *p = f;
        if (p->mode == CN_PADSPEC_SAME_UPPER) snprintf(out, cap, "same");
        else if (p->mode == CN_PADSPEC_SAME_LOWER) snprintf(out, cap, "same_lower");
        else if (p->mode == CN_PADSPEC_VALID) snprintf(out, cap, "valid");
        else ints_text(&p->v, ',', out, cap);
        break;
    }
    }
}

cn_status cn_opts_format(const cn_layer_ops *ops, const void *cfg, char **buf, size_t *len, size_t *cap)
{
    void *def = cn_malloc(ops->cfg_size ? ops->cfg_size : 1, "options");
    if (!def) return CN_STATUS_NOMEM;
    cn_opts_defaults(ops, def);
    for (int i = 0; ops->opts && ops->opts[i].name; i++) {
        const cn_opt_spec *o = &ops->opts[i];
        char v[256], d[256];
        cn_opts_value_text(o, cfg, v, sizeof v);
        cn_opts_value_text(o, def, d, sizeof d);
        if (o->def && !strcmp(v, d)) continue;
        size_t need = strlen(o->name) + strlen(v) + 8;
        if (*len + need >= *cap) {
            size_t ncap = (*cap + need) * 2;
            char *nb = cn_malloc(ncap, "model text");
            if (!nb) {
                cn_free(def);
                return CN_STATUS_NOMEM;
            }
            if (*buf) memcpy(nb, *buf, *len + 1);
            cn_free(*buf);
            *buf = nb;
            *cap = ncap;
        }
        *len += (size_t)snprintf(*buf + *len, *cap - *len, "%s = %s\n", o->name, v);
    }
    cn_free(def);
    return CN_OK;
}

int64_t cn_ints_axis(const cn_ints *a, int ndim, int axis, int64_t dflt)
{
    if (a->n == 0) return dflt;
    if (a->n == 1) return a->v[0];
    return axis < a->n && a->n == ndim ? a->v[axis] : dflt;
}

cn_status cn_ints_check(const cn_ints *a, int ndim, const char *layer, const char *opt)
{
    if (a->n == 0 || a->n == 1 || a->n == ndim) return CN_OK;
    char t[64];
    ints_text(a, 'x', t, sizeof t);
    return cn_set_error(CN_STATUS_SHAPE, "layer '%s': %s = %s has %d values, but the input has %d spatial dimension%s (give 1 or %d)",
                        layer, opt, t, a->n, ndim, ndim == 1 ? "" : "s", ndim);
}

cn_status cn_padding_resolve(const cn_padding *p, int ndim, const char *layer, int *mode, int64_t *begin, int64_t *end)
{
    *mode = p->mode;
    for (int i = 0; i < ndim; i++) begin[i] = end[i] = 0;
    if (p->mode != CN_PADSPEC_EXPLICIT) return CN_OK;
    const cn_ints *v = &p->v;
    if (v->n == 0) return CN_OK;
    if (v->n == 1 || v->n == ndim) {
        for (int i = 0; i < ndim; i++) begin[i] = end[i] = v->v[v->n == 1 ? 0 : i];
    } else if (v->n == 2 * ndim) {
        for (int i = 0; i < ndim; i++) begin[i] = v->v[i], end[i] = v->v[ndim + i];
    } else {
        char t[64];
        ints_text(v, ',', t, sizeof t);
        return cn_set_error(CN_STATUS_SHAPE,
                            "layer '%s': padding = %s has %d values; for %d spatial dimension%s give 1, %d, or %d (all begins, then all ends)",
                            layer, t, v->n, ndim, ndim == 1 ? "" : "s", ndim, 2 * ndim);
    }
    for (int i = 0; i < ndim; i++)
        if (begin[i] < 0 || end[i] < 0)
            return cn_set_error(CN_STATUS_INVALID_ARG, "layer '%s': padding must be >= 0 (axis %d: %lld, %lld)", layer, i,
                                (long long)begin[i], (long long)end[i]);
    return CN_OK;
}

const char *cn_shape_text(const cn_shape *s)
{
    static _Thread_local char ring[4][96];
    static _Thread_local int next;
    char *b = ring[next++ & 3];
    return cn_shape_str(s, b, sizeof ring[0]);
}
