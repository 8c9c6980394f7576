/* model.c — the graph of named layers: building, planning (topological order, shape
 * inference, parameter and arena allocation) and running forward and backward. */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/text.h"
#include "model_internal.h"

/* ---- building ---- */

cn_status cn_model_create(cn_model **out)
{
    *out = cn_calloc(1, sizeof(cn_model), "model");
    if (!*out) return CN_STATUS_NOMEM;
    cn_arena_init(&(*out)->arena);
    return CN_OK;
}

static void node_free(cn_node *nd)
{
    cn_free(nd->layer.cfg);
    cn_free(nd->layer.state);
}

void cn_model_destroy(cn_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->n; i++) node_free(&m->nodes[i]);
    cn_free(m->nodes);
    cn_free(m->name_slots);
    cn_free(m->order);
    cn_free(m->params);
    if (!m->shared) cn_free(m->param_block); /* a shared model borrows its parameters */
    cn_free(m->grad_block);
    cn_free(m->inputs);
    cn_arena_free(&m->arena);
    cn_free(m);
}

/* Layer names are found through an open-addressing hash index (FNV-1a, linear probing), so
 * loading and resolving a model of n layers costs O(n), not O(n^2). */
static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

int cn_model_find(const cn_model *m, const char *name)
{
    if (!m->slot_cap) return -1;
    for (uint32_t k = name_hash(name) & (uint32_t)(m->slot_cap - 1);; k = (k + 1) & (uint32_t)(m->slot_cap - 1)) {
        int v = m->name_slots[k];
        if (!v) return -1;
        if (!strcmp(m->nodes[v - 1].layer.name, name)) return v - 1;
    }
}

static void index_insert(int *slots, int cap, const char *name, int node)
{
    uint32_t k = name_hash(name) & (uint32_t)(cap - 1);
    while (slots[k]) k = (k + 1) & (uint32_t)(cap - 1);
    slots[k] = node + 1;
}

/* room in the index for one more name (kept at most half full) */
static cn_status index_reserve(cn_model *m)
{
    if (2 * (m->n + 1) <= m->slot_cap) return CN_OK;
    int cap = m->slot_cap ? 2 * m->slot_cap : 64;
    int *slots = cn_calloc((size_t)cap, sizeof(int), "layer name index");
    if (!slots) return CN_STATUS_NOMEM;
    for (int i = 0; i < m->n; i++) index_insert(slots, cap, m->nodes[i].layer.name, i);
    cn_free(m->name_slots);
    m->name_slots = slots;
    m->slot_cap = cap;
    return CN_OK;
}

const char *cn_model_where(const cn_model *m, const cn_node *nd, char *buf, size_t cap)
{
    if (nd && nd->line && m->source[0]) snprintf(buf, cap, "%s:%d", m->source, nd->line);
    else if (nd) snprintf(buf, cap, "layer '%s'", nd->layer.name);
    else snprintf(buf, cap, "%s", m->source[0] ? m->source : "model");
    return buf;
}

static int valid_name(const char *s)
{
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_')) return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.')) return 0;
    return 1;
}

static cn_status invalidate_plan(cn_model *m)
{
    if (m->params)
        return cn_set_error(CN_STATUS_INVALID_STATE, "model: cannot add layers after the first plan (parameters exist)");
    m->planned = 0;
    return CN_OK;
}

cn_status cn_model_add_node(cn_model *m, const char *type, const char *name, const char *const *inputs, int n_inputs,
                            const char *const *keys, const char *const *values, int n_opts, int line, const int *opt_lines)
{
    char where[320];
    cn_status st = invalidate_plan(m);
    if (st != CN_OK) return st;
    if (line && m->source[0]) snprintf(where, sizeof where, "%s:%d", m->source, line);
    else snprintf(where, sizeof where, "layer '%s'", name ? name : type);
    const cn_layer_ops *ops = cn_layer_ops_find(type);
    if (!ops) {
        const char *hint = cn_closest(type, cn_layer_type_names());
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: unknown layer type '%s'%s%s%s (see 'convnet layers')", where, type,
                            hint ? " — did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
    }
    char autoname[CN_NAME_MAX];
    if (!name) {
        int k = 1;
        for (int i = 0; i < m->n; i++) k += m->nodes[i].layer.ops == ops;
        do snprintf(autoname, sizeof autoname, "%s%d", type, k++);
        while (cn_model_find(m, autoname) >= 0);
        name = autoname;
    }
    if (strlen(name) >= CN_NAME_MAX || !valid_name(name))
        return cn_set_error(CN_STATUS_INVALID_ARG,
                            "%s: layer name '%s' is not valid (letters, digits, '_', '-', '.', starting with a letter or '_', "
                            "at most %d characters)",
                            where, name, CN_NAME_MAX - 1);
    if (cn_model_find(m, name) >= 0)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: a layer named '%s' already exists", where, name);
    if (n_inputs > CN_MAX_INPUTS)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: %d inputs given; at most %d", where, n_inputs, CN_MAX_INPUTS);
    if ((st = index_reserve(m)) != CN_OK) return st;
    if (m->n == m->cap) {
        if (m->cap > INT_MAX / 4) return cn_set_error(CN_STATUS_LIMIT, "%s: more than %d layers", where, m->cap);
        int ncap = m->cap ? 2 * m->cap : 16;
        cn_node *nn = cn_calloc((size_t)ncap, sizeof *nn, "model layers");
        if (!nn) return CN_STATUS_NOMEM;
        if (m->n) memcpy(nn, m->nodes, (size_t)m->n * sizeof *nn);
        cn_free(m->nodes);
        m->nodes = nn;
        m->cap = ncap;
    }
    cn_node *nd = &m->nodes[m->n];
    memset(nd, 0, sizeof *nd);
    strcpy(nd->layer.name, name);
    nd->layer.ops = ops;
    nd->line = line;
    nd->layer.cfg = cn_malloc(ops->cfg_size ? ops->cfg_size : 1, "layer options");
    nd->layer.state = cn_calloc(1, ops->state_size ? ops->state_size : 1, "layer state");
    if (!nd->layer.cfg || !nd->layer.state) {
        node_free(nd);
        return CN_STATUS_NOMEM;
    }
    cn_opts_defaults(ops, nd->layer.cfg);
    unsigned given = 0;
    for (int i = 0; i < n_opts; i++) {
        char at[320]; /* an option's own line when it came from a file */
        if (opt_lines && opt_lines[i] && m->source[0]) snprintf(at, sizeof at, "%s:%d", m->source, opt_lines[i]);
        else snprintf(at, sizeof at, "%s", where);
        if ((st = cn_opts_set(ops, nd->layer.cfg, keys[i], values[i], at)) != CN_OK) goto fail;
        given |= 1u << cn_opts_index(ops, keys[i]);
    }
    if ((st = cn_opts_require(ops, given, where)) != CN_OK) goto fail;
    if (ops->check && (st = ops->check(&nd->layer)) != CN_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", cn_last_error());
        st = cn_set_error(st, "%s: %s", where, msg);
        goto fail;
    }
    for (int i = 0; i < n_inputs; i++) {
        if (strlen(inputs[i]) >= CN_NAME_MAX) {
            st = cn_set_error(CN_STATUS_INVALID_ARG, "%s: input name '%s' is too long", where, inputs[i]);
            goto fail;
        }
        if (!valid_name(inputs[i])) { /* no layer can have it: a typo or stray characters */
            char shown[3 * CN_NAME_MAX];
            size_t u = 0;
            for (const char *c = inputs[i]; *c && u + 5 < sizeof shown; c++)
                u += (size_t)(isprint((unsigned char)*c) ? snprintf(shown + u, sizeof shown - u, "%c", *c)
                                                         : snprintf(shown + u, sizeof shown - u, "\\x%02x", (unsigned char)*c));
            st = cn_set_error(CN_STATUS_INVALID_ARG, "%s: input name '%s' is not a valid layer name (letters, digits, '_', '-', '.')",
                              where, shown);
            goto fail;
        }
        strcpy(nd->in_names[i], inputs[i]);
    }
    nd->n_in = n_inputs;
    nd->explicit_inputs = n_inputs > 0;
    if (!n_inputs && ops->min_inputs > 0) {
        if (m->n == 0) {
            st = cn_set_error(CN_STATUS_INVALID_ARG, "%s: [%s] '%s' needs an input, and it is the first layer (add an [input] first)",
                              where, ops->name, name);
            goto fail;
        }
        strcpy(nd->in_names[0], m->nodes[m->n - 1].layer.name);
        nd->n_in = 1;
    }
    if (nd->n_in < ops->min_inputs || nd->n_in > ops->max_inputs) {
        st = cn_set_error(CN_STATUS_INVALID_ARG, "%s: [%s] takes %d to %d inputs, %d given", where, ops->name, ops->min_inputs,
                          ops->max_inputs, nd->n_in);
        goto fail;
    }
    index_insert(m->name_slots, m->slot_cap, nd->layer.name, m->n);
    m->n++;
    return CN_OK;
fail:
    node_free(nd);
    return st;
}

cn_status cn_model_add(cn_model *m, const char *type, const char *name, const char *inputs, const char *options)
{
    if (!m || !type) return cn_set_error(CN_STATUS_INVALID_ARG, "cn_model_add: model and type are required");
    char ibuf[CN_MAX_INPUTS * CN_NAME_MAX + 64], obuf[4096];
    const char *in_list[CN_MAX_INPUTS + 1];
    const char *keys[CN_MAX_OPTS], *vals[CN_MAX_OPTS];
    int n_in = 0, n_opts = 0;
    if (inputs) {
        if (strlen(inputs) >= sizeof ibuf) return cn_set_error(CN_STATUS_INVALID_ARG, "cn_model_add: inputs list too long");
        strcpy(ibuf, inputs);
        char *isave = NULL;
        for (char *tok = strtok_r(ibuf, ", ", &isave); tok; tok = strtok_r(NULL, ", ", &isave)) {
            if (n_in == CN_MAX_INPUTS)
                return cn_set_error(CN_STATUS_INVALID_ARG, "layer '%s': more than %d inputs", name ? name : type, CN_MAX_INPUTS);
            in_list[n_in++] = tok;
        }
    }
    if (options) {
        if (strlen(options) >= sizeof obuf) return cn_set_error(CN_STATUS_INVALID_ARG, "cn_model_add: options too long");
        strcpy(obuf, options);
        char *save = NULL;
        for (char *tok = strtok_r(obuf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
            char *eq = strchr(tok, '=');
            if (!eq || eq == tok || !eq[1])
                return cn_set_error(CN_STATUS_INVALID_ARG, "layer '%s': option '%s' is not of the form key=value",
                                    name ? name : type, tok);
            if (n_opts == CN_MAX_OPTS) return cn_set_error(CN_STATUS_INVALID_ARG, "layer '%s': too many options", name ? name : type);
            *eq = '\0';
            keys[n_opts] = tok;
            vals[n_opts++] = eq + 1;
        }
    }
    return cn_model_add_node(m, type, name, in_list, n_in, keys, vals, n_opts, 0, NULL);
}

cn_status cn_model_set_option(cn_model *m, const char *layer, const char *key, const char *value)
{
    cn_status st = invalidate_plan(m);
    if (st != CN_OK) return st;
    int i = cn_model_find(m, layer);
    if (i < 0) return cn_set_error(CN_STATUS_NOT_FOUND, "set_option: no layer named '%s'", layer);
    cn_layer *l = &m->nodes[i].layer;
    char where[320];
    cn_model_where(m, &m->nodes[i], where, sizeof where);
    void *backup = cn_malloc(l->ops->cfg_size ? l->ops->cfg_size : 1, "options");
    if (!backup) return CN_STATUS_NOMEM;
    memcpy(backup, l->cfg, l->ops->cfg_size);
    if ((st = cn_opts_set(l->ops, l->cfg, key, value, where)) == CN_OK && l->ops->check) st = l->ops->check(l);
    if (st != CN_OK) memcpy(l->cfg, backup, l->ops->cfg_size); /* unchanged on failure */
    cn_free(backup);
    return st;
}

cn_status cn_model_share(cn_model **out, const cn_model *src)
{
    *out = NULL;
    if (!src || !src->params) return cn_set_error(CN_STATUS_INVALID_STATE, "share: the source model is not planned");
    char *text;
    cn_status st = cn_model_to_text(src, &text);
    if (st != CN_OK) return st;
    cn_model *m;
    st = cn_model_parse(&m, text, src->source[0] ? src->source : "shared model");
    cn_free(text);
    if (st != CN_OK) return st;
    m->shared = src;
    if ((st = cn_model_plan(m, src->batch, CN_PLAN_INFER)) != CN_OK) {
        cn_model_destroy(m);
        return st;
    }
    *out = m;
    return CN_OK;
}

/* ---- planning ---- */

/* resolve input names and sort topologically (Kahn's algorithm, iterative) */
static cn_status resolve_graph(cn_model *m)
{
    char where[320];
    for (int i = 0; i < m->n; i++) {
        cn_node *nd = &m->nodes[i];
        for (int k = 0; k < nd->n_in; k++) {
            int j = cn_model_find(m, nd->in_names[k]);
            if (j < 0) {
                const char *names[1024];
                int c = 0;
                for (int q = 0; q < m->n && c < 1023; q++) names[c++] = m->nodes[q].layer.name;
                names[c] = NULL;
                const char *hint = cn_closest(nd->in_names[k], names);
                return cn_set_error(CN_STATUS_NOT_FOUND, "%s: layer '%s' takes input '%s', which no layer is named%s%s%s",
                                    cn_model_where(m, nd, where, sizeof where), nd->layer.name, nd->in_names[k],
                                    hint ? " — did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
            }
            if (j == i)
                return cn_set_error(CN_STATUS_INVALID_ARG, "%s: layer '%s' takes itself as input (a cycle)",
                                    cn_model_where(m, nd, where, sizeof where), nd->layer.name);
            nd->in_idx[k] = j;
        }
    }
    /* consumers of each node (CSR: first[j]..first[j+1] in users), then Kahn's algorithm
     * with a min-heap of ready nodes: always the first ready node in insertion order, which
     * keeps the file's order when it is already valid; O(E + n log n) */
    cn_free(m->order);
    m->order = cn_malloc((size_t)m->n * sizeof(int) + 1, "model order");
    int *pending = cn_calloc((size_t)m->n + 1, sizeof(int), "model order");
    int *first = cn_calloc((size_t)m->n + 2, sizeof(int), "model order");
    int *users = cn_malloc(((size_t)m->n * CN_MAX_INPUTS + 1) * sizeof(int), "model order");
    int *heap = cn_malloc(((size_t)m->n + 1) * sizeof(int), "model order");
    if (!m->order || !pending || !first || !users || !heap) {
        cn_free(pending), cn_free(first), cn_free(users), cn_free(heap);
        return CN_STATUS_NOMEM;
    }
    for (int i = 0; i < m->n; i++)
        for (int k = 0; k < m->nodes[i].n_in; k++) first[m->nodes[i].in_idx[k] + 2]++;
    for (int j = 0; j < m->n; j++) first[j + 2] += first[j + 1];
    for (int i = 0; i < m->n; i++)
        for (int k = 0; k < m->nodes[i].n_in; k++) users[first[m->nodes[i].in_idx[k] + 1]++] = i;
    /* now users of j are users[first[j] .. first[j + 1]) */
    int nheap = 0, done = 0;
    for (int i = 0; i < m->n; i++)
        if (!(pending[i] = m->nodes[i].n_in)) heap[nheap++] = i; /* ascending: already a heap */
    while (nheap) {
        int pick = heap[0], last = heap[--nheap], at = 0;
        for (;;) { /* sift the last element down from the root */
            int c = 2 * at + 1;
            if (c >= nheap) break;
            if (c + 1 < nheap && heap[c + 1] < heap[c]) c++;
            if (last <= heap[c]) break;
            heap[at] = heap[c], at = c;
        }
        if (nheap) heap[at] = last;
        pending[pick] = -1;
        m->order[done++] = pick;
        for (int u = first[pick]; u < first[pick + 1]; u++)
            if (--pending[users[u]] == 0) { /* ready: sift it up */
                int v = users[u], c = nheap++;
                while (c && heap[(c - 1) / 2] > v) heap[c] = heap[(c - 1) / 2], c = (c - 1) / 2;
                heap[c] = v;
            }
    }
    cn_free(first), cn_free(users), cn_free(heap);
    if (done < m->n) {
        char list[512] = "";
        size_t used = 0;
        for (int i = 0; i < m->n && used < sizeof list - 80; i++)
            if (pending[i] > 0) used += (size_t)snprintf(list + used, sizeof list - used, "%s'%s'", used ? ", " : "", m->nodes[i].layer.name);
        cn_free(pending);
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: the layers %s form a cycle (each waits for another's output)",
                            m->source[0] ? m->source : "model", list);
    }
    cn_free(pending);
    return CN_OK;
}

static int same_param_specs(const cn_layer_plan *a, const cn_layer_plan *b)
{
    if (a->n_params != b->n_params) return 0;
    for (int i = 0; i < a->n_params; i++)
        if (!cn_shape_equal(&a->params[i].shape, &b->params[i].shape)) return 0;
    return 1;
}

static cn_status alloc_params(cn_model *m, int train)
{
    if (!m->params) {
        int total = 0;
        size_t floats = 0;
        for (int i = 0; i < m->n; i++) total += m->nodes[i].layer.plan.n_params;
        m->params = cn_calloc((size_t)total + 1, sizeof(cn_param_entry), "parameter list");
        if (!m->params) return CN_STATUS_NOMEM;
        for (int i = 0; i < m->n; i++) {
            cn_node *nd = &m->nodes[i];
            nd->param_base = m->n_params;
            for (int k = 0; k < nd->layer.plan.n_params; k++) {
                cn_param_entry *e = &m->params[m->n_params++];
                snprintf(e->name, sizeof e->name, "%s.%s", nd->layer.name, nd->layer.plan.params[k].name);
                e->node = i;
                e->slot = k;
                e->offset = floats;
                floats += (size_t)cn_shape_numel(&nd->layer.plan.params[k].shape);
                floats = (floats + 15) & ~(size_t)15; /* keep every tensor 64-byte aligned */
            }
        }
        m->param_floats = floats;
        if (m->shared) {
            if (floats != m->shared->param_floats || m->n_params != m->shared->n_params)
                return cn_set_error(CN_STATUS_INTERNAL, "model: a shared copy does not match its source's parameters");
            m->param_block = m->shared->param_block;
        } else {
            m->param_block = cn_calloc(floats + 16, sizeof(float), "parameters");
            if (!m->param_block) return CN_STATUS_NOMEM;
        }
    }
    if (train && m->shared)
        return cn_set_error(CN_STATUS_INVALID_STATE, "plan: a model sharing another's parameters is for inference only");
    if (train && !m->grad_block) {
        m->grad_block = cn_calloc(m->param_floats + 16, sizeof(float), "parameter gradients");
        if (!m->grad_block) return CN_STATUS_NOMEM;
    }
    for (int p = 0; p < m->n_params; p++) {
        cn_param_entry *e = &m->params[p];
        cn_layer *l = &m->nodes[e->node].layer;
        l->param[e->slot] = m->param_block + e->offset;
        l->grad[e->slot] = m->grad_block ? m->grad_block + e->offset : NULL;
    }
    return CN_OK;
}

/* Receptive field of each node on the model input (Araujo et al., "Computing receptive
 * fields of convolutional neural networks", Distill 2019): per axis,
 *   size_out = size_in + (kernel - 1) * jump_in,   jump_out = jump_in * stride.
 * A node with several inputs takes the largest field (and that input's jump). A global
 * layer sees the whole input; after it, the field is the whole input on every axis. */
static void receptive_fields(cn_model *m)
{
    for (int oi = 0; oi < m->n; oi++) {
        cn_node *nd = &m->nodes[m->order[oi]];
        const cn_layer_plan *p = &nd->layer.plan;
        if (nd->n_in == 0) { /* an input: one pixel, unit jump, on each spatial axis */
            nd->rf_ndim = p->out.ndim - 2 > 0 ? p->out.ndim - 2 : 0;
            if (nd->rf_ndim > 3) nd->rf_ndim = 3;
            for (int a = 0; a < 3; a++) nd->rf_size[a] = nd->rf_jump[a] = 1;
            continue;
        }
        const cn_node *src = &m->nodes[nd->in_idx[0]];
        for (int k = 1; k < nd->n_in; k++) {
            const cn_node *o = &m->nodes[nd->in_idx[k]];
            if (o->rf_size[0] > src->rf_size[0]) src = o;
        }
        nd->rf_ndim = src->rf_ndim;
        for (int a = 0; a < 3; a++) {
            double kern = p->rf_kernel[a] ? (double)p->rf_kernel[a] : 1, stride = p->rf_stride[a] ? p->rf_stride[a] : 1;
            if (p->rf_global) {
                /* the whole input: size of the model input on this axis */
                double whole = src->rf_size[a] + ((double)(a < nd->layer.in[0].ndim - 2 ? nd->layer.in[0].dim[2 + a] : 1) - 1) * src->rf_jump[a];
                nd->rf_size[a] = whole;
                nd->rf_jump[a] = src->rf_jump[a];
            } else {
                nd->rf_size[a] = src->rf_size[a] + (kern - 1) * src->rf_jump[a];
                nd->rf_jump[a] = src->rf_jump[a] * stride;
            }
        }
    }
}

static size_t out_bytes(const cn_node *nd) { return (size_t)cn_shape_numel(&nd->layer.plan.out) * sizeof(float); }

/* Output regions. Without reuse, one per node, all kept. With reuse, an output lives from its
 * node's place in the order to its last reader's (nothing reads it, or a loss layer does: to
 * the end, "kept"); each is placed first-fit in the gaps between the live ones (by offset),
 * allocated before the node's dead inputs are released (an output never overlaps an input),
 * and the whole lot is one arena region as large as the highest end. */
static cn_status reserve_outputs(cn_model *m, int reuse)
{
    const int n = m->n;
    cn_status st;
    for (int i = 0; i < n; i++) m->mem.activations_sum += (out_bytes(&m->nodes[i]) + 63) & ~(size_t)63;
    if (!reuse) {
        for (int i = 0; i < n; i++) {
            cn_node *nd = &m->nodes[i];
            nd->kept = 1;
            if ((st = cn_arena_reserve(&m->arena, out_bytes(nd), &nd->out_off, nd->layer.name)) != CN_OK) return st;
        }
        m->mem.activations = m->mem.activations_sum;
        return CN_OK;
    }
    typedef struct {
        size_t off, size;
        int node;
    } block;
    int *pos = cn_malloc((size_t)n * sizeof(int), "output plan"), *last = cn_malloc((size_t)n * sizeof(int), "output plan");
    size_t *off = cn_malloc((size_t)n * sizeof(size_t), "output plan");
    block *live = cn_malloc((size_t)n * sizeof(block), "output plan");
    if (!pos || !last || !off || !live) {
        cn_free(pos), cn_free(last), cn_free(off), cn_free(live);
        return CN_STATUS_NOMEM;
    }
    for (int oi = 0; oi < n; oi++) pos[m->order[oi]] = oi, last[m->order[oi]] = -1;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < m->nodes[i].n_in; k++) {
            int j = m->nodes[i].in_idx[k];
            int until = m->nodes[i].layer.ops->is_loss ? n : pos[i]; /* a loss reads the prediction */
            if (until > last[j]) last[j] = until;
        }
    int nlive = 0;
    size_t top = 0;
    for (int oi = 0; oi < n; oi++) {
        const int i = m->order[oi];
        cn_node *nd = &m->nodes[i];
        if (last[i] < 0) last[i] = n; /* nothing reads it: an output of the model */
        nd->kept = last[i] == n;
        const size_t size = (out_bytes(nd) + 63) & ~(size_t)63;
        size_t at = 0;
        int b = 0;
        for (; b < nlive && live[b].off < at + size; b++) at = live[b].off + live[b].size;
        memmove(live + b + 1, live + b, (size_t)(nlive - b) * sizeof *live);
        live[b] = (block){at, size, i};
        nlive++;
        off[i] = at;
        if (at + size > top) top = at + size;
        for (int k = 0; k < nd->n_in; k++) { /* release the inputs this node read last */
            const int j = nd->in_idx[k];
            if (last[j] != oi) continue;
            for (int q = 0; q < nlive; q++)
                if (live[q].node == j) {
                    memmove(live + q, live + q + 1, (size_t)(nlive - q - 1) * sizeof *live);
                    nlive--;
                    break;
                }
        }
    }
    size_t base = 0;
    st = cn_arena_reserve(&m->arena, top, &base, "activations");
    for (int i = 0; i < n && st == CN_OK; i++) m->nodes[i].out_off = base + off[i];
    m->mem.activations = top;
    cn_free(pos), cn_free(last), cn_free(off), cn_free(live);
    return st;
}

cn_status cn_model_plan(cn_model *m, int64_t batch, int flags)
{
    char where[320];
    cn_status st;
    if (!m) return cn_set_error(CN_STATUS_INVALID_ARG, "cn_model_plan: model is NULL");
    if (batch < 1 || batch > CN_MAX_DIM_EXTENT)
        return cn_set_error(CN_STATUS_INVALID_ARG, "model: batch size %lld is not in 1..%lld", (long long)batch,
                            (long long)CN_MAX_DIM_EXTENT);
    if (m->n == 0) return cn_set_error(CN_STATUS_INVALID_STATE, "model: it has no layers");
    const int known = CN_PLAN_TRAIN | CN_PLAN_REUSE | CN_PLAN_NO_INPUT_GRAD | CN_PLAN_PREPARED;
    if (flags & ~known)
        return cn_set_error(CN_STATUS_INVALID_ARG, "model: plan flags 0x%x have unknown bits 0x%x (known: CN_PLAN_TRAIN, "
                                                   "CN_PLAN_REUSE, CN_PLAN_NO_INPUT_GRAD, CN_PLAN_PREPARED)",
                            (unsigned)flags, (unsigned)(flags & ~known));
    m->planned = 0;
    m->forward_train_done = 0;
    if ((st = resolve_graph(m)) != CN_OK) return st;
    int train = (flags & CN_PLAN_TRAIN) != 0;
    int had_params = m->params != NULL;
    /* shape inference in topological order */
    for (int oi = 0; oi < m->n; oi++) {
        cn_node *nd = &m->nodes[m->order[oi]];
        cn_layer *l = &nd->layer;
        cn_layer_plan old = l->plan;
        l->batch = batch;
        l->train = train;
        l->prepared = !train && (flags & CN_PLAN_PREPARED) != 0;
        l->n_in = nd->n_in;
        for (int k = 0; k < nd->n_in; k++) {
            l->in[k] = m->nodes[nd->in_idx[k]].layer.plan.out;
            l->in_layer[k] = &m->nodes[nd->in_idx[k]].layer;
        }
        memset(l->state, 0, l->ops->state_size ? l->ops->state_size : 1);
        memset(&l->plan, 0, sizeof l->plan);
        if ((st = l->ops->plan(l, &l->plan)) != CN_OK) {
            char msg[1024], ins[512] = "";
            size_t used = 0;
            snprintf(msg, sizeof msg, "%s", cn_last_error());
            for (int k = 0; k < nd->n_in && used < sizeof ins - 100; k++)
                used += (size_t)snprintf(ins + used, sizeof ins - used, "%s'%s' %s", k ? ", " : "", nd->in_names[k],
                                         cn_shape_text(&l->in[k]));
            return cn_set_error(st, "%s: %s%s%s%s", cn_model_where(m, nd, where, sizeof where), msg, nd->n_in ? " (inputs: " : "",
                                ins, nd->n_in ? ")" : "");
        }
        if ((st = cn_shape_check(&l->plan.out, l->name)) != CN_OK) return st;
        if (had_params && !same_param_specs(&old, &l->plan))
            return cn_set_error(CN_STATUS_SHAPE, "%s: the new input shapes change the parameter shapes of '%s'",
                                cn_model_where(m, nd, where, sizeof where), l->name);
    }
    receptive_fields(m);
    if ((st = alloc_params(m, train)) != CN_OK) return st;
    /* arena: activations for every node; with training, their gradients and the caches; with
     * CN_PLAN_PREPARED, the prepared weights */
    cn_arena_reset(&m->arena);
    memset(&m->mem, 0, sizeof m->mem);
    if ((st = reserve_outputs(m, (flags & CN_PLAN_REUSE) && !train)) != CN_OK) return st;
    size_t scratch = 0;
    for (int i = 0; i < m->n; i++)
        if (m->nodes[i].layer.plan.scratch_bytes > scratch) scratch = m->nodes[i].layer.plan.scratch_bytes;
    if (train)
        for (int i = 0; i < m->n; i++) {
            cn_node *nd = &m->nodes[i];
            size_t bytes = out_bytes(nd);
            if ((st = cn_arena_reserve(&m->arena, bytes, &nd->grad_off, nd->layer.name)) != CN_OK) return st;
            m->mem.gradients += bytes;
        }
    for (int i = 0; i < m->n; i++) {
        cn_node *nd = &m->nodes[i];
        size_t c = train || nd->layer.plan.cache_always ? nd->layer.plan.cache_bytes : 0;
        if ((st = cn_arena_reserve(&m->arena, c, &nd->cache_off, nd->layer.name)) != CN_OK) return st;
        m->mem.caches += c;
        const size_t b = nd->layer.prepared ? nd->layer.plan.prepared_bytes : 0;
        if ((st = cn_arena_reserve(&m->arena, b, &nd->prepared_off, nd->layer.name)) != CN_OK) return st;
        m->mem.prepared += b;
    }
    if ((st = cn_arena_reserve(&m->arena, scratch, &m->scratch_off, "scratch")) != CN_OK) return st;
    m->scratch_bytes = scratch;
    m->mem.scratch = scratch;
    m->mem.params = m->param_floats * sizeof(float);
    m->mem.param_grads = m->grad_block ? m->mem.params : 0;
    if ((st = cn_arena_commit(&m->arena)) != CN_OK) return st;
    cn_free(m->inputs);
    m->inputs = cn_calloc((size_t)m->n + 1, sizeof(const float *), "model inputs");
    if (!m->inputs) return CN_STATUS_NOMEM;
    m->batch = batch;
    m->flags = flags;
    m->planned = 1;
    return CN_OK;
}

/* ---- running ---- */

static cn_status need_plan(const cn_model *m, const char *what)
{
    if (!m) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: model is NULL", what);
    if (!m->planned) return cn_set_error(CN_STATUS_INVALID_STATE, "%s: the model is not planned (call cn_model_plan first)", what);
    return CN_OK;
}

static int is_input(const cn_node *nd) { return nd->layer.ops->max_inputs == 0; }

cn_status cn_model_set_input(cn_model *m, const char *input_name, const float *x)
{
    cn_status st = need_plan(m, "set_input");
    if (st != CN_OK) return st;
    int i = cn_model_find(m, input_name);
    if (i < 0 || !is_input(&m->nodes[i]))
        return cn_set_error(CN_STATUS_NOT_FOUND, "set_input: no input layer named '%s'", input_name);
    m->inputs[i] = x;
    return CN_OK;
}

static int has_cache(const cn_model *m, const cn_node *nd)
{
    return nd->layer.plan.cache_bytes && ((m->flags & CN_PLAN_TRAIN) || nd->layer.plan.cache_always);
}

static void layer_run(cn_model *m, cn_node *nd, cn_layer_run *r, int train)
{
    memset(r, 0, sizeof *r);
    r->n_in = nd->n_in;
    for (int k = 0; k < nd->n_in; k++) r->x[k] = cn_arena_at(&m->arena, m->nodes[nd->in_idx[k]].out_off);
    r->y = cn_arena_at(&m->arena, nd->out_off);
    r->cache = has_cache(m, nd) ? cn_arena_at(&m->arena, nd->cache_off) : NULL;
    for (int k = 0; k < nd->n_in; k++) {
        const cn_node *src = &m->nodes[nd->in_idx[k]];
        r->in_cache[k] = has_cache(m, src) ? cn_arena_at(&m->arena, src->cache_off) : NULL;
    }
    r->scratch = m->scratch_bytes ? cn_arena_at(&m->arena, m->scratch_off) : NULL;
    r->prepared = nd->layer.prepared && nd->layer.plan.prepared_bytes ? cn_arena_at(&m->arena, nd->prepared_off) : NULL;
    r->train = train;
    r->target = m->target;
    /* each layer its own stream; 2^40 words per step */
    cn_rng_init(&r->rng, m->seed, (uint64_t)(nd - m->nodes) + 1);
    cn_rng_seek(&r->rng, m->step << 40);
}

cn_status cn_model_forward(cn_model *m, const float *x, int train)
{
    cn_status st = need_plan(m, "forward");
    if (st != CN_OK) return st;
    if (train && !(m->flags & CN_PLAN_TRAIN))
        return cn_set_error(CN_STATUS_INVALID_STATE, "forward: training forward needs a plan with CN_PLAN_TRAIN");
    int first = 1;
    for (int oi = 0; oi < m->n; oi++) {
        cn_node *nd = &m->nodes[m->order[oi]];
        if (!is_input(nd)) continue;
        const float *src = m->inputs[m->order[oi]];
        if (first && x) src = x;
        first = 0;
        if (!src) return cn_set_error(CN_STATUS_INVALID_STATE, "forward: no data for input '%s'", nd->layer.name);
        m->inputs[m->order[oi]] = src;
    }
    int has_loss = 0;
    for (int i = 0; i < m->n; i++) has_loss |= m->nodes[i].layer.ops->is_loss;
    if (train && has_loss && !m->target)
        return cn_set_error(CN_STATUS_INVALID_STATE, "forward: the model has a loss layer; give targets with cn_model_set_target "
                                                     "before a training forward");
    if (m->target)
        for (int i = 0; i < m->n; i++) {
            cn_layer *l = &m->nodes[i].layer;
            if (l->ops->is_loss && l->ops->check_target && (st = l->ops->check_target(l, m->target)) != CN_OK) {
                m->target = NULL;
                return st;
            }
        }
    for (int oi = 0; oi < m->n; oi++) {
        cn_node *nd = &m->nodes[m->order[oi]];
        if (nd->layer.ops->is_loss && !m->target) continue; /* inference without targets */
        cn_layer_run r;
        layer_run(m, nd, &r, train);
        if (is_input(nd)) {
            r.n_in = 1;
            r.x[0] = m->inputs[m->order[oi]];
        }
        double t0 = m->profiling ? cn_now_s() : 0;
        nd->layer.ops->forward(&nd->layer, &r);
        if (m->profiling) nd->prof_s[0] += cn_now_s() - t0, nd->prof_calls[0]++;
    }
    for (int i = 0; i < m->n; i++) m->inputs[i] = NULL; /* borrowed for this call only */
    m->loss_valid = has_loss && m->target;
    m->target = NULL;
    m->forward_train_done = train;
    return CN_OK;
}

/* the prediction: the last layer, or the input of a trailing loss layer */
static const cn_node *output_node(const cn_model *m)
{
    const cn_node *nd = &m->nodes[m->n - 1];
    return nd->layer.ops->is_loss && nd->n_in ? &m->nodes[nd->in_idx[0]] : nd;
}

cn_status cn_model_set_target(cn_model *m, const float *target)
{
    cn_status st = need_plan(m, "set_target");
    if (st != CN_OK) return st;
    m->target = target;
    return CN_OK;
}

double cn_model_loss(const cn_model *m)
{
    if (!m || !m->planned || !m->loss_valid) return NAN;
    const cn_node *nd = &m->nodes[m->n - 1];
    if (!nd->layer.ops->is_loss) return NAN;
    return ((const float *)cn_arena_at(&m->arena, nd->out_off))[0];
}

const float *cn_model_output(const cn_model *m, cn_shape *shape)
{
    if (!m || !m->planned) return NULL;
    const cn_node *nd = output_node(m);
    if (shape) *shape = nd->layer.plan.out;
    return cn_arena_at(&m->arena, nd->out_off);
}

cn_status cn_model_layer_output(const cn_model *m, const char *name, const float **y, cn_shape *shape)
{
    cn_status st = need_plan(m, "layer_output");
    if (st != CN_OK) return st;
    int i = cn_model_find(m, name);
    if (i < 0) return cn_set_error(CN_STATUS_NOT_FOUND, "layer_output: no layer named '%s'", name);
    if (!m->nodes[i].kept)
        return cn_set_error(CN_STATUS_INVALID_STATE, "layer_output: the output of layer '%s' is not kept: the model was "
                                                     "planned with CN_PLAN_REUSE, which lets later layers overwrite it",
                            name);
    *y = cn_arena_at(&m->arena, m->nodes[i].out_off);
    if (shape) *shape = m->nodes[i].layer.plan.out;
    return CN_OK;
}

cn_status cn_model_backward(cn_model *m, const float *dy)
{
    cn_status st = need_plan(m, "backward");
    if (st != CN_OK) return st;
    if (!m->forward_train_done)
        return cn_set_error(CN_STATUS_INVALID_STATE, "backward: needs a training forward (cn_model_forward with train=1) first");
    cn_node *last = &m->nodes[m->n - 1];
    static const float one = 1.0f;
    if (!dy && last->layer.ops->is_loss) {
        if (!m->loss_valid) return cn_set_error(CN_STATUS_INVALID_STATE, "backward: the last forward had no targets for the loss");
        dy = &one; /* dL/dL */
    }
    if (!dy) return cn_set_error(CN_STATUS_INVALID_ARG, "backward: dy is NULL and the model has no loss layer");
    for (int i = 0; i < m->n; i++) {
        cn_node *nd = &m->nodes[i];
        memset(cn_arena_at(&m->arena, nd->grad_off), 0, (size_t)cn_shape_numel(&nd->layer.plan.out) * sizeof(float));
    }
    memcpy(cn_arena_at(&m->arena, last->grad_off), dy, (size_t)cn_shape_numel(&last->layer.plan.out) * sizeof(float));
    for (int oi = m->n - 1; oi >= 0; oi--) {
        cn_node *nd = &m->nodes[m->order[oi]];
        if (is_input(nd)) continue;
        cn_layer_run r;
        layer_run(m, nd, &r, 1);
        r.dy = cn_arena_at(&m->arena, nd->grad_off);
        for (int k = 0; k < nd->n_in; k++) {
            const cn_node *src = &m->nodes[nd->in_idx[k]];
            const int skip = (m->flags & CN_PLAN_NO_INPUT_GRAD) && is_input(src) && nd->layer.ops->dx_optional;
            r.dx[k] = skip ? NULL : cn_arena_at(&m->arena, src->grad_off);
        }
        double t0 = m->profiling ? cn_now_s() : 0;
        nd->layer.ops->backward(&nd->layer, &r);
        if (m->profiling) nd->prof_s[1] += cn_now_s() - t0, nd->prof_calls[1]++;
        if (m->backward_hook) m->backward_hook(m->backward_hook_user, nd->param_base, nd->layer.plan.n_params);
    }
    m->step++; /* the next forward draws fresh random numbers (dropout masks, pooling samples) */
    return CN_OK;
}

const float *cn_model_input_grad(const cn_model *m)
{
    if (!m || !m->planned || !(m->flags & CN_PLAN_TRAIN) || (m->flags & CN_PLAN_NO_INPUT_GRAD)) return NULL;
    for (int oi = 0; oi < m->n; oi++)
        if (is_input(&m->nodes[m->order[oi]])) return cn_arena_at(&m->arena, m->nodes[m->order[oi]].grad_off);
    return NULL;
}

void cn_model_zero_grad(cn_model *m)
{
    if (m && m->grad_block) memset(m->grad_block, 0, m->param_floats * sizeof(float));
}

uint64_t cn_model_step(const cn_model *m) { return m ? m->step : 0; }
void cn_model_set_step(cn_model *m, uint64_t step)
{
    if (m) m->step = step;
}

void cn_model_set_seed(cn_model *m, uint64_t seed)
{
    if (m) m->seed = seed;
}

void cn_model_set_backward_hook(cn_model *m, cn_backward_hook fn, void *user)
{
    if (!m) return;
    m->backward_hook = fn;
    m->backward_hook_user = user;
}

/* ---- introspection ---- */

int cn_model_param_count(const cn_model *m) { return m ? m->n_params : 0; }

cn_status cn_model_param(const cn_model *m, int i, cn_param *p)
{
    if (!m || !m->params) return cn_set_error(CN_STATUS_INVALID_STATE, "param: the model is not planned");
    if (i < 0 || i >= m->n_params)
        return cn_set_error(CN_STATUS_INVALID_ARG, "param: index %d is not in 0..%d", i, m->n_params - 1);
    const cn_param_entry *e = &m->params[i];
    const cn_layer *l = &m->nodes[e->node].layer;
    p->name = e->name;
    p->shape = l->plan.params[e->slot].shape;
    p->value = m->param_block + e->offset;
    p->grad = m->grad_block ? m->grad_block + e->offset : NULL;
    p->trainable = l->plan.params[e->slot].trainable;
    return CN_OK;
}

int cn_model_layer_count(const cn_model *m) { return m ? m->n : 0; }

cn_status cn_model_layer(const cn_model *m, int i, cn_layer_info *info)
{
    if (!m || i < 0 || i >= m->n)
        return cn_set_error(CN_STATUS_INVALID_ARG, "layer: index %d is not in 0..%d", i, m ? m->n - 1 : -1);
    const cn_node *nd = &m->nodes[i];
    memset(info, 0, sizeof *info);
    info->name = nd->layer.name;
    info->type = nd->layer.ops->name;
    info->n_inputs = nd->n_in;
    for (int k = 0; k < nd->n_in; k++) info->inputs[k] = nd->in_names[k];
    if (m->planned) {
        info->out = nd->layer.plan.out;
        info->macs = nd->layer.plan.macs;
        for (int k = 0; k < nd->layer.plan.n_params; k++)
            if (nd->layer.plan.params[k].trainable) info->params += cn_shape_numel(&nd->layer.plan.params[k].shape);
        info->rf_ndim = nd->rf_ndim;
        for (int a = 0; a < 3; a++) info->rf_size[a] = nd->rf_size[a], info->rf_jump[a] = nd->rf_jump[a];
    }
    info->forward_s = nd->prof_s[0], info->backward_s = nd->prof_s[1];
    info->forward_calls = nd->prof_calls[0], info->backward_calls = nd->prof_calls[1];
    return CN_OK;
}

cn_status cn_model_memory_of(const cn_model *m, cn_model_memory *out)
{
    cn_status st = need_plan(m, "memory_of");
    if (st != CN_OK) return st;
    *out = m->mem;
    return CN_OK;
}

void cn_model_set_profiling(cn_model *m, int on)
{
    if (m) m->profiling = on != 0;
}

int cn_model_profiling(const cn_model *m) { return m ? m->profiling : 0; }

void cn_model_clear_profile(cn_model *m)
{
    for (int i = 0; m && i < m->n; i++) {
        cn_node *nd = &m->nodes[i];
        nd->prof_s[0] = nd->prof_s[1] = 0;
        nd->prof_calls[0] = nd->prof_calls[1] = 0;
    }
}
