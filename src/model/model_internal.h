/* model_internal.h — the model's private structure, shared by model.c (graph, plan, run),
 * parse.c (text format) and init.c (parameter initialization). */
#ifndef CN_MODEL_INTERNAL_H
#define CN_MODEL_INTERNAL_H

#include "convnet/model.h"
#include "layers/layer.h"

typedef struct cn_node {
    cn_layer layer;                          /* cfg and state owned by the node */
    int n_in;
    char in_names[CN_MAX_INPUTS][CN_NAME_MAX];
    int explicit_inputs;                     /* inputs were named (vs "the previous layer") */
    int in_idx[CN_MAX_INPUTS];               /* resolved at plan */
    int line;                                /* line in the model file, 0 for the builder */
    size_t out_off, grad_off, cache_off;     /* arena offsets (grad/cache: training plans only) */
    size_t prepared_off;                     /* arena offset (CN_PLAN_PREPARED plans only) */
    int param_base;                          /* index of its first parameter in the model's list */
    double rf_size[3], rf_jump[3];           /* receptive field on the model input, per spatial axis */
    int rf_ndim;                             /* spatial axes tracked (0 after a global layer's flatten) */
    int kept;                                /* its output survives a forward (CN_PLAN_REUSE) */
    double prof_s[2];                        /* profiling: seconds in forward, backward */
    int64_t prof_calls[2];                   /* profiling: calls of forward, backward */
} cn_node;

typedef struct cn_param_entry {
    char name[2 * CN_NAME_MAX];
    int node, slot;                          /* which layer, which of its params */
    size_t offset;                           /* floats into the parameter (and gradient) block */
} cn_param_entry;

struct cn_model {
    cn_node *nodes;                          /* owned, n used of cap */
    int n, cap;
    int *name_slots;                         /* owned: hash index of layer names, slot_cap slots
                                              * (a power of two), each 0 or node index + 1 */
    int slot_cap;
    int *order;                              /* owned: topological order, n entries */
    char source[256];                        /* file name for messages, "" for the builder */

    int planned, flags;
    int64_t batch;
    int forward_train_done;                  /* a training forward ran since the last plan */

    cn_param_entry *params;                  /* owned */
    int n_params;
    float *param_block, *grad_block;         /* owned; grad_block NULL unless training */
    size_t param_floats;

    cn_arena arena;                          /* activations, gradients, caches, scratch */
    cn_model_memory mem;                     /* the plan's byte counts (cn_model_memory_of) */
    size_t scratch_off, scratch_bytes;
    const float **inputs;                    /* owned array (n entries): data set by set_input */
    const float *target;                     /* borrowed until the next forward: set_target */
    int loss_valid;                          /* the last forward computed the loss */

    uint64_t seed, step;                     /* run-time randomness: stream per layer, counter per step */
    const struct cn_model *shared;           /* set by cn_model_share: parameters borrowed from it */
    cn_backward_hook backward_hook;          /* cn_model_set_backward_hook: called after each layer's backward */
    void *backward_hook_user;
    int profiling;                           /* cn_model_set_profiling: time each layer's calls */
};

/* model.c */
cn_status cn_model_add_node(cn_model *m, const char *type, const char *name, const char *const *inputs, int n_inputs,
                            const char *const *keys, const char *const *values, int n_opts, int line, const int *opt_lines);
int cn_model_find(const cn_model *m, const char *name);
/* "model.cfg:14" or "layer 'c1'" into buf */
const char *cn_model_where(const cn_model *m, const cn_node *nd, char *buf, size_t cap);

#endif
