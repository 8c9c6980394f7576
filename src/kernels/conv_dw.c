/* conv_dw.c — depthwise convolution straight from the tensors (conv_dw.h): one task per input
 * plane (forward, backward data) or per block of channels over all images (backward weights,
 * each dw element summed over images in order), no scratch. Used by conv_fast.c when the
 * geometry allows (cf_plan.dw) and the active ISA has plane kernels. */
#include "kernels/conv_dw.h"
#include "kernels/conv_fast.h"

#ifdef CN_HAVE_AVX512
extern const cn_dw_ops cn_dw_avx512;
#endif

const cn_dw_ops *cn_dw(void)
{
#ifdef CN_HAVE_AVX512
    if (cn_isa_active() == CN_ISA_AVX512) return &cn_dw_avx512;
#endif
    return NULL;
}

/* Ask for a plane that the next step reads (hardware prefetchers restart at every plane; a
 * plane is a few KB, so this hides most of the memory latency). */
static void prefetch_plane(const float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i += 16) __builtin_prefetch(p + i, 0, 3);
}
static void prefetch_plane_w(float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i += 16) __builtin_prefetch(p + i, 1, 3);
}
#define AHEAD 2 /* tasks: a plane's latency is about the time of two planes' work */

static cn_dw_geom geom_of(const cf_plan *p)
{
    cn_dw_geom g = {p->big[1], p->big[2], p->small[1], p->small[2], p->k[1], p->k[2],
                    p->pb[1], p->pb[2], p->dl[1], p->dl[2]};
    return g;
}

typedef struct {
    const cf_plan *p;
    const cn_dw_ops *o;
    cn_dw_geom g;
    float *out;
    const float *in, *w, *bias, *x;
    int64_t gblk;
} dw_job;

/* forward: y[n, g*csg + s] = b + x[n, g] (*) w[g*csg + s] */
static void fwd_task(void *ctx, int64_t t, int slot)
{
    (void)slot;
    const dw_job *j = ctx;
    const cf_plan *p = j->p;
    const int64_t n = t / p->groups, g = t % p->groups;
    if (t + AHEAD < p->n * p->groups) { /* planes of x and y are in task order */
        prefetch_plane(j->in + (t + AHEAD) * p->bsz, p->bsz);
        prefetch_plane_w(j->out + (t + AHEAD) * p->csg * p->ssz, p->csg * p->ssz);
    }
    for (int64_t s = 0; s < p->csg; s++) {
        const int64_t oc = g * p->csg + s;
        j->o->plane(j->out + (n * p->cs + oc) * p->ssz, j->in + (n * p->cb + g) * p->bsz, j->w + oc * p->kt,
                    j->bias ? j->bias[oc] : 0.0f, 0, &j->g);
    }
}

/* backward data. forward: y[oc][o] += w[oc][j] * x[g][o - pad + j*dil]
 * so dx[g][i] += sum_{s, j} w[oc][j] * dy[oc][i + pad - j*dil]: the same plane kernel over dy with
 * the kernel flipped and padding (k-1)*dil - pad */
static void bwd_data_task(void *ctx, int64_t t, int slot)
{
    (void)slot;
    const dw_job *j = ctx;
    const cf_plan *p = j->p;
    const int64_t n = t / p->groups, g = t % p->groups;
    float flipped[256];
    if (t + AHEAD < p->n * p->groups) { /* dx and dy planes in task order */
        prefetch_plane_w(j->out + (t + AHEAD) * p->bsz, p->bsz);
        prefetch_plane(j->in + (t + AHEAD) * p->csg * p->ssz, p->csg * p->ssz);
    }
    for (int64_t s = 0; s < p->csg; s++) {
        const int64_t oc = g * p->csg + s;
        for (int64_t q = 0; q < p->kt; q++) flipped[q] = j->w[oc * p->kt + p->kt - 1 - q];
        j->o->plane(j->out + (n * p->cb + g) * p->bsz, j->in + (n * p->cs + oc) * p->ssz, flipped, 0.0f, 1, &j->g);
    }
}

/* backward weights: dw[oc][j] += sum_{n, o} dy[n, oc][o] * x[n, g][o - pad + j*dil], images in order */
static void wgrad_task(void *ctx, int64_t t, int slot)
{
    (void)slot;
    const dw_job *j = ctx;
    const cf_plan *p = j->p;
    const int64_t g0 = t * j->gblk, g1 = g0 + j->gblk < p->groups ? g0 + j->gblk : p->groups;
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t g = g0; g < g1; g++) {
            /* the next (image, group) pair's planes */
            const int64_t nn = g + 1 < g1 ? n : n + 1, ng = g + 1 < g1 ? g + 1 : g0;
            if (nn < p->n) {
                prefetch_plane(j->x + (nn * p->cb + ng) * p->bsz, p->bsz);
                prefetch_plane(j->in + (nn * p->cs + ng * p->csg) * p->ssz, p->csg * p->ssz);
            }
            for (int64_t s = 0; s < p->csg; s++) {
                const int64_t oc = g * p->csg + s;
                j->o->wgrad(j->out + oc * p->kt, j->in + (n * p->cs + oc) * p->ssz, j->x + (n * p->cb + g) * p->bsz, &j->g);
            }
        }
}

static int slots_of(const cf_plan *p) { return cn_gemm_threads_for((double)(p->n * p->cs * p->ssz * p->kt), p->slots); }

void cf_dw_forward(const cf_plan *p, float *y, const float *x, const float *w, const float *b)
{
    dw_job j = {p, cn_dw(), geom_of(p), y, x, w, b, NULL, 0};
    cn_run_tasks(p->n * p->groups, slots_of(p), fwd_task, &j);
}

void cf_dw_backward_data(const cf_plan *p, float *dx, const float *dy, const float *w)
{
    dw_job j = {p, cn_dw(), geom_of(p), dx, dy, w, NULL, NULL, 0};
    /* the plane kernel's view: input dy (oh x ow), output dx (h x w) */
    j.g.h = p->small[1], j.g.w = p->small[2], j.g.oh = p->big[1], j.g.ow = p->big[2];
    j.g.ph = (p->k[1] - 1) * p->dl[1] - p->pb[1];
    j.g.pw = (p->k[2] - 1) * p->dl[2] - p->pb[2];
    cn_run_tasks(p->n * p->groups, slots_of(p), bwd_data_task, &j);
}

void cf_dw_backward_weights(const cf_plan *p, float *dw, const float *dy, const float *x)
{
    dw_job j = {p, cn_dw(), geom_of(p), dw, dy, NULL, NULL, x, 1};
    const int slots = slots_of(p);
    j.gblk = p->groups / (4 * slots) > 1 ? p->groups / (4 * slots) : 1;
    if (j.gblk > 16) j.gblk = 16;
    cn_run_tasks((p->groups + j.gblk - 1) / j.gblk, slots, wgrad_task, &j);
}
