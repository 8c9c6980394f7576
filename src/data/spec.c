/* spec.c — option lists of dataset specs ("k=v,k=v"), checked against the keys a source takes. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "data/spec.h"

static void list_keys(const char *const *allowed, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; allowed[k] && used + 1 < cap; k++) used += (size_t)snprintf(buf + used, cap - used, "%s%s", k ? ", " : "", allowed[k]);
}

cn_status spec_parse(spec_opts *o, const char *what, const char *text, const char *const *allowed)
{
    memset(o, 0, sizeof *o);
    o->what = what;
    if (!text || !*text) return CN_OK;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || eq == p)
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s: option '%.*s' is not key=value", what, (int)len, p);
        size_t kl = (size_t)(eq - p), vl = len - kl - 1;
        if (o->n >= SPEC_MAX_OPTS || kl >= sizeof o->key[0] || vl >= sizeof o->val[0])
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s: option '%.*s' is too long, or too many options", what, (int)len, p);
        memcpy(o->key[o->n], p, kl);
        o->key[o->n][kl] = '\0';
        memcpy(o->val[o->n], eq + 1, vl);
        o->val[o->n][vl] = '\0';
        int known = 0;
        for (int k = 0; allowed[k]; k++) known |= !strcmp(allowed[k], o->key[o->n]);
        if (!known) {
            char keys[256];
            list_keys(allowed, keys, sizeof keys);
            const char *near = cn_closest(o->key[o->n], allowed);
            if (near)
                return cn_set_error(CN_STATUS_INVALID_ARG, "%s: unknown option '%s' — did you mean '%s'? (options: %s)", what, o->key[o->n],
                                    near, keys);
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s: unknown option '%s' (options: %s)", what, o->key[o->n], keys);
        }
        for (int k = 0; k < o->n; k++)
            if (!strcmp(o->key[k], o->key[o->n])) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: option '%s' is given twice", what, o->key[k]);
        o->n++;
        if (!end) break;
        p = end + 1;
    }
    return CN_OK;
}

const char *spec_get(const spec_opts *o, const char *key)
{
    for (int k = 0; k < o->n; k++)
        if (!strcmp(o->key[k], key)) return o->val[k];
    return NULL;
}

cn_status spec_int(const spec_opts *o, const char *key, int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
    const char *v = spec_get(o, key);
    if (!v) {
        *out = def;
        return CN_OK;
    }
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: %s='%s' is not an integer", o->what, key, v);
    if (x < lo || x > hi)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: %s=%lld is not in %lld..%lld", o->what, key, x, (long long)lo, (long long)hi);
    *out = x;
    return CN_OK;
}

cn_status spec_double(const spec_opts *o, const char *key, double def, double lo, double hi, double *out)
{
    const char *v = spec_get(o, key);
    if (!v) {
        *out = def;
        return CN_OK;
    }
    char *end = NULL;
    double x = strtod(v, &end);
    if (!*v || *end || !isfinite(x)) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: %s='%s' is not a number", o->what, key, v);
    if (x < lo || x > hi) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: %s=%g is not in [%g, %g]", o->what, key, x, lo, hi);
    *out = x;
    return CN_OK;
}

cn_status spec_size(const spec_opts *o, const char *key, int64_t def_h, int64_t def_w, int64_t *h, int64_t *w)
{
    const char *v = spec_get(o, key);
    *h = def_h, *w = def_w;
    if (!v) return CN_OK;
    char *end = NULL;
    long long a = strtoll(v, &end, 10), b = a;
    if (end != v && (*end == 'x' || *end == 'X')) {
        const char *q = end + 1;
        b = strtoll(q, &end, 10);
        if (end == q) end = (char *)q - 1; /* force the error below */
    }
    if (!*v || *end || a < 1 || b < 1 || a > 16384 || b > 16384)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: %s='%s' is not a size HxW or S with sides in 1..16384", o->what, key, v);
    *h = a, *w = b;
    return CN_OK;
}

cn_status spec_choice(const spec_opts *o, const char *key, const char *const *choices, int def, int *out)
{
    const char *v = spec_get(o, key);
    *out = def;
    if (!v) return CN_OK;
    for (int k = 0; choices[k]; k++)
        if (!strcmp(choices[k], v)) {
            *out = k;
            return CN_OK;
        }
    char list[256];
    size_t used = 0;
    list[0] = '\0';
    for (int k = 0; choices[k] && used + 1 < sizeof list; k++) used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", choices[k]);
    return cn_set_error(CN_STATUS_INVALID_ARG, "%s: %s='%s' is not one of %s", o->what, key, v, list);
}

void spec_split(const char *text, char *loc, size_t loc_cap, char *opts, size_t opts_cap)
{
    const char *cut = NULL;
    for (const char *p = strchr(text, ':'); p; p = strchr(p + 1, ':')) {
        const char *q = p + 1;
        while (isalnum((unsigned char)*q) || *q == '_') q++;
        if (q > p + 1 && *q == '=') cut = p;
    }
    size_t n = cut ? (size_t)(cut - text) : strlen(text);
    snprintf(loc, loc_cap, "%.*s", (int)n, text);
    snprintf(opts, opts_cap, "%s", cut ? cut + 1 : "");
}
