/* conv_case.h — test helper (header-only, included by the test_conv_*.c files): one
 * convolution configuration written as one line of text, parsed into a geometry, and the
 * forward/backward calls of its kernel family. tests/fixtures/gen_conv.py reads the same
 * format. Tokens, in any order after the first (which must be d1, d2 or d3):
 *
 *   d2            spatial dims              n2 ic4 oc6 g2    batch, channels, groups
 *   in7x5         input size                k3x3 s2x1 dil1x2 kernel, stride, dilation
 *   p1            all pads 1                p1x0             per axis, both sides
 *   p1,0,0,1      ONNX order: begins of every axis, then ends (here H: 1,0  W: 0,1)
 *   op1x0         output_padding (tr)       os6x5            explicit output shape (tr)
 *   tile2x3       tiled conv with these tiles   local        locally connected
 *   tr            transposed                flip / flip1     true convolution
 *   bias0 bias1   without / with bias       pad=zero|reflect|replicate
 *   auto=valid|same_upper|same_lower
 *
 * A list of values may be separated by 'x' or ','; a single value is used on every axis. */
#ifndef CN_TEST_CONV_CASE_H
#define CN_TEST_CONV_CASE_H

#include <stdlib.h>
#include <string.h>

#include "test.h"

enum { CASE_CONV = 0, CASE_LOCAL, CASE_TILED };

typedef struct conv_case {
    cn_conv_geom g;
    int bias;
    int kind;
    char line[256];
} conv_case;

/* parse "7x5" / "1,0,0,1" into v; returns the count, or -1 */
static inline int case_list(const char *s, int64_t *v, int cap)
{
    int n = 0;
    while (*s) {
        char *end;
        long long x = strtoll(s, &end, 10);
        if (end == s || n == cap) return -1;
        v[n++] = x;
        s = end;
        if (*s == 'x' || *s == ',') s++;
        else if (*s) return -1;
    }
    return n;
}

/* fill dst[0..nd) from a list token: one value (broadcast) or nd values */
static inline int case_axes(const char *s, int64_t *dst, int nd)
{
    int64_t v[6];
    int n = case_list(s, v, 6);
    if (n == 1) {
        for (int a = 0; a < nd; a++) dst[a] = v[0];
        return 1;
    }
    if (n != nd) return 0;
    for (int a = 0; a < nd; a++) dst[a] = v[a];
    return 1;
}

static inline int case_starts(const char *tok, const char *prefix, const char **rest)
{
    size_t l = strlen(prefix);
    if (strncmp(tok, prefix, l)) return 0;
    *rest = tok + l;
    return 1;
}

/* Parse a line; on a malformed token the test fails (naming line and token) and 0 is returned. */
static inline int conv_case_parse(conv_case *c, const char *line)
{
    memset(c, 0, sizeof *c);
    snprintf(c->line, sizeof c->line, "%s", line);
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", line);
    char *tok = strtok_r(buf, " \t", &save);
    if (!tok || tok[0] != 'd' || tok[1] < '1' || tok[1] > '3' || tok[2]) {
        cn_test_fail(__FILE__, __LINE__, "case \"%s\": must start with d1, d2 or d3", line);
        return 0;
    }
    const int nd = tok[1] - '0';
    cn_conv_geom_init(&c->g, nd);
    c->g.ic = c->g.oc = 1;
    for (int a = 0; a < nd; a++) c->g.in[a] = 1, c->g.k[a] = 1;
    while ((tok = strtok_r(NULL, " \t", &save))) {
        const char *v;
        int ok = 1;
        int64_t l[6];
        if (!strcmp(tok, "tr")) c->g.transposed = 1;
        else if (!strcmp(tok, "local")) c->kind = CASE_LOCAL;
        else if (!strcmp(tok, "flip") || !strcmp(tok, "flip1")) c->g.flip = 1;
        else if (!strcmp(tok, "flip0")) c->g.flip = 0;
        else if (!strcmp(tok, "bias0") || !strcmp(tok, "bias1")) c->bias = tok[4] == '1';
        else if (case_starts(tok, "pad=", &v)) {
            if (!strcmp(v, "zero")) c->g.pad_mode = CN_PAD_ZERO;
            else if (!strcmp(v, "reflect")) c->g.pad_mode = CN_PAD_REFLECT;
            else if (!strcmp(v, "replicate")) c->g.pad_mode = CN_PAD_REPLICATE;
            else ok = 0;
        } else if (case_starts(tok, "auto=", &v)) {
            if (!strcmp(v, "valid")) c->g.auto_pad = CN_AUTO_PAD_VALID;
            else if (!strcmp(v, "same_upper")) c->g.auto_pad = CN_AUTO_PAD_SAME_UPPER;
            else if (!strcmp(v, "same_lower")) c->g.auto_pad = CN_AUTO_PAD_SAME_LOWER;
            else ok = 0;
        } else if (case_starts(tok, "tile", &v)) {
            c->kind = CASE_TILED;
            ok = case_axes(v, c->g.tile, nd);
        } else if (case_starts(tok, "in", &v)) ok = case_axes(v, c->g.in, nd);
        else if (case_starts(tok, "ic", &v)) ok = case_list(v, &c->g.ic, 1) == 1;
        else if (case_starts(tok, "oc", &v)) ok = case_list(v, &c->g.oc, 1) == 1;
        else if (case_starts(tok, "op", &v)) ok = case_axes(v, c->g.output_padding, nd);
        else if (case_starts(tok, "os", &v)) ok = case_axes(v, c->g.output_shape, nd);
        else if (case_starts(tok, "dil", &v)) ok = case_axes(v, c->g.dilation, nd);
        else if (case_starts(tok, "n", &v)) ok = case_list(v, &c->g.n, 1) == 1;
        else if (case_starts(tok, "g", &v)) ok = case_list(v, &c->g.groups, 1) == 1;
        else if (case_starts(tok, "k", &v)) ok = case_axes(v, c->g.k, nd);
        else if (case_starts(tok, "s", &v)) ok = case_axes(v, c->g.stride, nd);
        else if (case_starts(tok, "p", &v)) {
            int n = case_list(v, l, 6);
            if (n == 1 || n == nd)
                for (int a = 0; a < nd; a++) c->g.pad_begin[a] = c->g.pad_end[a] = l[n == 1 ? 0 : a];
            else if (n == 2 * nd)
                for (int a = 0; a < nd; a++) c->g.pad_begin[a] = l[a], c->g.pad_end[a] = l[nd + a];
            else ok = 0;
        } else ok = 0;
        if (!ok) {
            cn_test_fail(__FILE__, __LINE__, "case \"%s\": bad token '%s'", line, tok);
            return 0;
        }
    }
    return 1;
}

static inline cn_status conv_case_resolve(conv_case *c)
{
    if (c->kind == CASE_LOCAL) return cn_local_geom_resolve(&c->g, "case");
    if (c->kind == CASE_TILED) return cn_tiled_geom_resolve(&c->g, "case");
    return cn_conv_geom_resolve(&c->g, "case");
}

static inline int64_t case_prod(const int64_t *v, int nd)
{
    int64_t p = 1;
    for (int a = 0; a < nd; a++) p *= v[a];
    return p;
}

/* element counts of x, y, w, b for a resolved case */
static inline int64_t case_xn(const conv_case *c) { return c->g.n * c->g.ic * case_prod(c->g.in, c->g.ndim); }
static inline int64_t case_yn(const conv_case *c) { return c->g.n * c->g.oc * case_prod(c->g.out, c->g.ndim); }
static inline int64_t case_sets(const conv_case *c)
{
    if (c->kind == CASE_LOCAL) return case_prod(c->g.out, c->g.ndim);
    if (c->kind == CASE_TILED) return case_prod(c->g.tile, c->g.ndim);
    return 1;
}
static inline int64_t case_wn(const conv_case *c)
{
    return case_sets(c) * c->g.oc * (c->g.ic / c->g.groups) * case_prod(c->g.k, c->g.ndim);
}
static inline int64_t case_bn(const conv_case *c) { return case_sets(c) * c->g.oc; }

static inline void case_forward(const conv_case *c, float *y, const float *x, const float *w, const float *b)
{
    if (c->kind == CASE_LOCAL) cn_local_forward(y, x, w, b, &c->g, NULL);
    else if (c->kind == CASE_TILED) cn_tiled_forward(y, x, w, b, &c->g, NULL);
    else cn_conv_forward(y, x, w, b, &c->g, NULL);
}

static inline void case_backward_data(const conv_case *c, float *dx, const float *dy, const float *w)
{
    if (c->kind == CASE_LOCAL) cn_local_backward_data(dx, dy, w, &c->g, NULL);
    else if (c->kind == CASE_TILED) cn_tiled_backward_data(dx, dy, w, &c->g, NULL);
    else cn_conv_backward_data(dx, dy, w, &c->g, NULL);
}

static inline void case_backward_weights(const conv_case *c, float *dw, float *db, const float *dy, const float *x)
{
    if (c->kind == CASE_LOCAL) cn_local_backward_weights(dw, db, dy, x, &c->g, NULL);
    else if (c->kind == CASE_TILED) cn_tiled_backward_weights(dw, db, dy, x, &c->g, NULL);
    else cn_conv_backward_weights(dw, db, dy, x, &c->g, NULL);
}

/* A random valid configuration line: every combination of family (conv 50%, transposed 30%,
 * local, tiled), dimensionality, kernel 1-3, stride 1-3, dilation 1-3, asymmetric pads 0-2,
 * groups (1, 2, depthwise with multiplier 1-2), pad mode, flip, bias, output_padding,
 * auto_pad and explicit output shapes turns up; sizes stay small. */
static inline int64_t case_below(cn_rng *r, int64_t n) { return (int64_t)cn_rng_below(r, (uint32_t)n); }

static inline void conv_case_random_line(char *buf, size_t cap, cn_rng *r)
{
    const int nd = 1 + (int)case_below(r, 3);
    const int64_t fam = case_below(r, 10); /* 0-4 conv, 5-7 transposed, 8 local, 9 tiled */
    const int tr = fam >= 5 && fam <= 7;
    const int64_t gsel = case_below(r, 3), mult_i = 1 + case_below(r, 2), mult_o = 1 + case_below(r, 2);
    int64_t groups = gsel == 0 ? 1 : 2, ic = groups * mult_i, oc = groups * mult_o;
    if (gsel == 2) groups = ic = 1 + case_below(r, 3), oc = ic * (1 + case_below(r, 2)); /* depthwise, multiplier 1-2 */
    const char *modes[3] = {"zero", "reflect", "replicate"};
    const int mode = tr ? 0 : (int)case_below(r, 3);
    const int64_t autop = case_below(r, 6); /* 0: same_upper, 1: same_lower, 2: valid, else explicit */
    int64_t in[3] = {0}, k[3] = {0}, s[3] = {0}, d[3] = {0}, pb[3] = {0}, pe[3] = {0}, op[3] = {0}, t[3] = {0}, os[3] = {0};
    for (int a = 0; a < nd; a++) {
        const int64_t maxk = nd == 3 ? 2 : 3;
        k[a] = 1 + case_below(r, maxk), s[a] = 1 + case_below(r, 3), d[a] = 1 + case_below(r, 3);
        pb[a] = case_below(r, 3), pe[a] = case_below(r, 3), op[a] = 0, t[a] = 1 + case_below(r, 3);
        const int64_t ext = d[a] * (k[a] - 1) + 1;
        if (tr) {
            in[a] = 1 + case_below(r, nd == 3 ? 3 : 4);
            op[a] = case_below(r, s[a] > d[a] ? s[a] : d[a]);
            const int64_t full = s[a] * (in[a] - 1) + op[a] + ext;
            while (pb[a] + pe[a] >= full) pb[a] > 0 ? pb[a]-- : pe[a]--;
            os[a] = full - 2 + case_below(r, 4); /* used when autop == 3: an explicit output shape */
            if (os[a] < 1) os[a] = 1;
        } else {
            int64_t lo = ext - (autop <= 2 ? 0 : pb[a] + pe[a]);
            if (mode == 1 && lo <= (pb[a] > pe[a] ? pb[a] : pe[a])) lo = (pb[a] > pe[a] ? pb[a] : pe[a]) + 1;
            in[a] = (lo > 1 ? lo : 1) + case_below(r, nd == 3 ? 3 : 5);
        }
    }
#define AX(v) (nd == 1 ? snprintf(tmp, sizeof tmp, "%lld", (long long)v[0]) \
              : nd == 2 ? snprintf(tmp, sizeof tmp, "%lldx%lld", (long long)v[0], (long long)v[1]) \
                        : snprintf(tmp, sizeof tmp, "%lldx%lldx%lld", (long long)v[0], (long long)v[1], (long long)v[2]), tmp)
    char tmp[64], pads[96] = "";
    size_t len = 0;
    for (int a = 0; a < nd; a++) len += (size_t)snprintf(pads + len, sizeof pads - len, "%s%lld", a ? "," : "p", (long long)pb[a]);
    for (int a = 0; a < nd; a++) len += (size_t)snprintf(pads + len, sizeof pads - len, ",%lld", (long long)pe[a]);
    int n = snprintf(buf, cap, "d%d n%lld ic%lld oc%lld g%lld", nd, (long long)(1 + case_below(r, 2)), (long long)ic,
                     (long long)oc, (long long)groups);
    n += snprintf(buf + n, cap - (size_t)n, " in%s", AX(in));
    n += snprintf(buf + n, cap - (size_t)n, " k%s", AX(k));
    n += snprintf(buf + n, cap - (size_t)n, " s%s", AX(s));
    n += snprintf(buf + n, cap - (size_t)n, " dil%s", AX(d));
    if (autop <= 2) n += snprintf(buf + n, cap - (size_t)n, " auto=%s", autop == 0 ? "same_upper" : autop == 1 ? "same_lower" : "valid");
    else if (tr && autop == 3) n += snprintf(buf + n, cap - (size_t)n, " os%s", AX(os));
    else n += snprintf(buf + n, cap - (size_t)n, " %s", pads);
    if (tr) n += snprintf(buf + n, cap - (size_t)n, " op%s tr", AX(op));
    if (fam == 8) n += snprintf(buf + n, cap - (size_t)n, " local");
    if (fam == 9) n += snprintf(buf + n, cap - (size_t)n, " tile%s", AX(t));
    snprintf(buf + n, cap - (size_t)n, " bias%d pad=%s%s", (int)case_below(r, 2), modes[mode], case_below(r, 2) ? " flip" : "");
#undef AX
}

static inline float *case_alloc(int64_t n)
{
    float *p = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    return p;
}

#endif
