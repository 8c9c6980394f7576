/* test_pool_spec.h — one test configuration per line of text, shared by the pooling,
 * upsampling and PyTorch-fixture tests (tests/fixtures/gen_pool.py parses the same lines).
 *
 *   "op=max nd=2 n=1 c=3 in=8x9 k=3x3 s=2x2 p=1x1 d=2x1 ceil=1"
 *
 * Keys: op, nd, n, c, in, k, s, d, p (both pads), pb, pe, ceil, cip, lp, global, auto
 * (explicit|valid|upper|lower), os (unpool output size; 0 = default), ov (fractional overlap),
 * mode (nearest|nearest-exact|linear), ac (align_corners, PyTorch), coord (half|pyhalf|align|
 * asym|hps), near (rpf|rpc|floor|ceil), sc (scales), sz (sizes), b (block), order (crd|dcr),
 * inv. Multi-axis values are written AxBxC with nd entries. Unknown keys fail the parse. */
#ifndef CN_TEST_POOL_SPEC_H
#define CN_TEST_POOL_SPEC_H

#include <stdlib.h>
#include <string.h>

#include "convnet/pool.h"

typedef struct pool_spec {
    char op[16], mode[16], order[8], coord[8], near_[8], autopad[12];
    int nd;
    int64_t n, c, in[3], k[3], s[3], d[3], pb[3], pe[3], os[3], sz[3], b;
    double sc[3], lp;
    int ceil, cip, ac, inv, global, ov, has_sc, has_sz;
} pool_spec;

/* parse "AxBxC" into v[0..max) (doubles); returns the count or -1. Pieces are cut at 'x'
 * first, so strtod never sees "0x..." (which it would read as hexadecimal). */
static int spec_dims(const char *s, double *v, int max)
{
    int cnt = 0;
    while (cnt < max) {
        char piece[32], *end;
        size_t len = strcspn(s, "x");
        if (!len || len >= sizeof piece) return -1;
        memcpy(piece, s, len);
        piece[len] = 0;
        v[cnt++] = strtod(piece, &end);
        if (*end) return -1;
        s += len;
        if (!*s) return cnt;
        s++;
    }
    return -1;
}

/* Returns 1 on success; on failure 0 with the bad token in *bad (static). */
static __attribute__((unused)) int spec_parse(pool_spec *sp, const char *line, const char **bad)
{
    static char tok[128];
    memset(sp, 0, sizeof *sp);
    sp->nd = 2, sp->n = sp->c = 1, sp->b = 1, sp->lp = 2;
    for (int a = 0; a < 3; a++) sp->k[a] = sp->s[a] = sp->d[a] = 1;
    strcpy(sp->op, "max");
    strcpy(sp->autopad, "explicit");
    /* nd first: the dims of every other key are checked against it */
    const char *nd = strstr(line, "nd=");
    if (nd) sp->nd = atoi(nd + 3);
    const char *p = line;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        size_t len = strcspn(p, " ");
        if (len >= sizeof tok) len = sizeof tok - 1;
        memcpy(tok, p, len);
        tok[len] = 0;
        p += len;
        *bad = tok;
        char *eq = strchr(tok, '=');
        if (!eq) return 0;
        *eq = 0;
        const char *key = tok, *val = eq + 1;
        double v[3];
        int nv = spec_dims(val, v, 3);
        int is_dims = nv == sp->nd || (nv == 1 && !strcmp(val, "0"));
#define DIMS(field)                                                                                                    \
    do {                                                                                                               \
        if (!is_dims) {                                                                                                \
            *eq = '=';                                                                                                 \
            return 0;                                                                                                  \
        }                                                                                                              \
        for (int a_ = 0; a_ < sp->nd; a_++) field[a_] = nv == sp->nd ? (int64_t)v[a_] : 0;                                \
    } while (0)
        if (!strcmp(key, "op")) snprintf(sp->op, sizeof sp->op, "%s", val);
        else if (!strcmp(key, "nd")) sp->nd = atoi(val);
        else if (!strcmp(key, "n")) sp->n = atoll(val);
        else if (!strcmp(key, "c")) sp->c = atoll(val);
        else if (!strcmp(key, "in")) DIMS(sp->in);
        else if (!strcmp(key, "k")) DIMS(sp->k);
        else if (!strcmp(key, "s")) DIMS(sp->s);
        else if (!strcmp(key, "d")) DIMS(sp->d);
        else if (!strcmp(key, "p")) {
            DIMS(sp->pb);
            DIMS(sp->pe);
        } else if (!strcmp(key, "pb")) DIMS(sp->pb);
        else if (!strcmp(key, "pe")) DIMS(sp->pe);
        else if (!strcmp(key, "os")) DIMS(sp->os);
        else if (!strcmp(key, "sz")) {
            DIMS(sp->sz);
            sp->has_sz = 1;
        } else if (!strcmp(key, "sc")) {
            if (nv != sp->nd) return 0;
            for (int a = 0; a < sp->nd; a++) sp->sc[a] = v[a];
            sp->has_sc = 1;
        } else if (!strcmp(key, "ceil")) sp->ceil = atoi(val);
        else if (!strcmp(key, "cip")) sp->cip = atoi(val);
        else if (!strcmp(key, "lp")) sp->lp = atof(val);
        else if (!strcmp(key, "global")) sp->global = atoi(val);
        else if (!strcmp(key, "ov")) sp->ov = atoi(val);
        else if (!strcmp(key, "ac")) sp->ac = atoi(val);
        else if (!strcmp(key, "inv")) sp->inv = atoi(val);
        else if (!strcmp(key, "b")) sp->b = atoll(val);
        else if (!strcmp(key, "mode")) snprintf(sp->mode, sizeof sp->mode, "%s", val);
        else if (!strcmp(key, "order")) snprintf(sp->order, sizeof sp->order, "%s", val);
        else if (!strcmp(key, "coord")) snprintf(sp->coord, sizeof sp->coord, "%s", val);
        else if (!strcmp(key, "near")) snprintf(sp->near_, sizeof sp->near_, "%s", val);
        else if (!strcmp(key, "auto")) snprintf(sp->autopad, sizeof sp->autopad, "%s", val);
        else {
            *eq = '=';
            return 0;
        }
#undef DIMS
    }
    return sp->nd >= 1 && sp->nd <= 3;
}

/* The pooling geometry a spec describes (not yet resolved). */
static __attribute__((unused)) void spec_pool_geom(const pool_spec *sp, cn_pool_geom *g)
{
    cn_pool_geom_init(g, sp->nd);
    g->n = sp->n, g->c = sp->c;
    for (int a = 0; a < sp->nd; a++) {
        g->in[a] = sp->in[a], g->k[a] = sp->k[a], g->stride[a] = sp->s[a], g->dilation[a] = sp->d[a];
        g->pad_begin[a] = sp->pb[a], g->pad_end[a] = sp->pe[a], g->output_shape[a] = sp->os[a];
    }
    g->ceil_mode = sp->ceil, g->count_include_pad = sp->cip, g->p = sp->lp, g->global = sp->global;
    g->overlap = sp->ov;
    g->auto_pad = !strcmp(sp->autopad, "valid")   ? CN_POOL_AUTO_PAD_VALID
                  : !strcmp(sp->autopad, "upper") ? CN_POOL_AUTO_PAD_SAME_UPPER
                  : !strcmp(sp->autopad, "lower") ? CN_POOL_AUTO_PAD_SAME_LOWER
                                                  : CN_POOL_AUTO_PAD_EXPLICIT;
}

/* The resize geometry a spec describes (not yet resolved): PyTorch's mapping unless coord/near
 * name an ONNX one. */
static __attribute__((unused)) void spec_upsample_geom(const pool_spec *sp, cn_upsample_geom *g)
{
    cn_upsample_geom_init(g, sp->nd);
    g->n = sp->n, g->c = sp->c;
    for (int a = 0; a < sp->nd; a++) {
        g->in[a] = sp->in[a];
        if (sp->has_sz) g->size[a] = sp->sz[a];
        if (sp->has_sc) g->scale[a] = sp->sc[a];
    }
    if (!strcmp(sp->mode, "nearest-exact")) {
        g->mode = CN_RESIZE_NEAREST, g->coord = CN_COORD_HALF_PIXEL, g->nearest = CN_NEAREST_ROUND_PREFER_CEIL;
    } else {
        cn_upsample_geom_pytorch(g, !strcmp(sp->mode, "linear") ? CN_RESIZE_LINEAR : CN_RESIZE_NEAREST, sp->ac);
    }
    static const char *const coords[] = {"half", "pyhalf", "align", "asym", "hps"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(sp->coord, coords[i])) g->coord = (cn_resize_coord)i;
    static const char *const nears[] = {"rpf", "rpc", "floor", "ceil"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(sp->near_, nears[i])) g->nearest = (cn_resize_nearest)i;
}

static __attribute__((unused)) void spec_shuffle_geom(const pool_spec *sp, cn_shuffle_geom *g)
{
    cn_shuffle_geom_init(g, sp->nd);
    g->n = sp->n, g->c = sp->c, g->block = sp->b, g->inverse = sp->inv;
    for (int a = 0; a < sp->nd; a++) g->in[a] = sp->in[a];
    g->order = !strcmp(sp->order, "crd") ? CN_SHUFFLE_CRD : CN_SHUFFLE_DCR;
}

#endif
