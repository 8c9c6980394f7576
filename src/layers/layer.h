/* layer.h — the interface every layer implements (internal to the library).
 *
 * A layer type is one file defining a `const cn_layer_ops` plus one line in layer_list.h.
 * Its options are declared in a table (name, type, offset into the type's config struct,
 * default, help): the same table parses model files and the builder's "key=value" strings,
 * writes models back to text, and lists the layer in `convnet layers --json`. Nothing
 * outside the layer's file switches on the layer type.
 *
 * Life of a layer inside a model:
 *   create: cfg (ops->cfg_size bytes) filled from defaults, then from the user's options;
 *           ops->check validates options that need no shapes.
 *   plan:   the model sets in[0..n_in) (batch included) and calls ops->plan, which resolves
 *           its geometry into `state` (ops->state_size bytes, zeroed first) and fills a
 *           cn_layer_plan: output shape, parameter specs, cache and scratch bytes, MACs.
 *           Errors name the layer, its inputs and the numbers.
 *   run:    forward reads r->x[], writes r->y, fills r->cache when training; backward reads
 *           r->dy and the cache and ACCUMULATES into r->dx[i] (skip if NULL) and l->grad[].
 *           Neither allocates, prints nor fails.
 */
#ifndef CN_LAYERS_LAYER_H
#define CN_LAYERS_LAYER_H

#include <stddef.h>

#include "convnet/model.h"
#include "convnet/rng.h"

#define CN_MAX_INPUTS 8
#define CN_MAX_PARAMS 4
#define CN_MAX_OPTS 32
#define CN_NAME_MAX 64

/* ---- options ---- */
typedef enum {
    CN_OPT_INT,     /* int64_t */
    CN_OPT_FLOAT,   /* double */
    CN_OPT_BOOL,    /* int (0/1): true|false|1|0|yes|no */
    CN_OPT_ENUM,    /* int: index into `choices` ("zero|reflect|replicate") */
    CN_OPT_INTS,    /* cn_ints: "3", "3x5", "3,5,7" (up to 6 values) */
    CN_OPT_FLOATS,  /* cn_floats: "0.5,1.5" (up to 6 values) */
    CN_OPT_STRING,  /* char[CN_NAME_MAX] */
    CN_OPT_PADDING, /* cn_padding: "same" | "same_lower" | "valid" | ints */
} cn_opt_type;

typedef struct cn_ints {
    int n; /* 0 = not given */
    int64_t v[6];
} cn_ints;

typedef struct cn_floats {
    int n;
    double v[32];
} cn_floats;

enum { CN_PADSPEC_EXPLICIT = 0, CN_PADSPEC_SAME_UPPER, CN_PADSPEC_SAME_LOWER, CN_PADSPEC_VALID };
typedef struct cn_padding {
    int mode;  /* CN_PADSPEC_* */
    cn_ints v; /* explicit: 1 value (all sides), ndim values (per axis, both sides) or
                  2*ndim values (ONNX order: all begins, then all ends) */
} cn_padding;

typedef struct cn_opt_spec {
    const char *name;
    cn_opt_type type;
    size_t offset;       /* into the layer's config struct */
    const char *def;     /* default text; NULL = required */
    const char *choices; /* CN_OPT_ENUM only */
    const char *help;
} cn_opt_spec;

/* ---- what plan declares ---- */
typedef enum {
    CN_INIT_ZERO = 0, CN_INIT_ONE, CN_INIT_HE_NORMAL, CN_INIT_HE_UNIFORM, CN_INIT_XAVIER_NORMAL,
    CN_INIT_XAVIER_UNIFORM, CN_INIT_CONST
} cn_init_kind;

typedef struct cn_param_spec {
    const char *name;   /* "weight", "bias", "running_mean", ... */
    cn_shape shape;
    cn_init_kind init;
    double fan_in, fan_out;
    float init_value;   /* CN_INIT_CONST */
    int trainable;      /* 0: state that is saved but not optimized (running statistics) */
} cn_param_spec;

typedef struct cn_layer_plan {
    cn_shape out;
    int n_params;
    cn_param_spec params[CN_MAX_PARAMS];
    size_t cache_bytes;   /* kept from a training forward to its backward */
    size_t scratch_bytes; /* temporary within one call; shared by all layers */
    int cache_always;     /* allocate the cache in inference plans too (another layer reads it) */
    size_t prepared_bytes; /* with l->prepared: kept across forwards for a prepared form of the
                              weights, which the layer fills at its first forward after plan */
    int64_t macs;         /* multiply-accumulates of one forward at this batch size */
    /* receptive-field arithmetic per spatial axis (ordered as the input's D, H, W): the
     * window an output sees on this layer's input (effective kernel extent) and the step
     * between neighbouring outputs in input units (stride; 1/stride for upsampling). Zero
     * means 1 (a pointwise layer). rf_global: each output sees the whole input (global
     * pooling, dense). */
    int64_t rf_kernel[3];
    double rf_stride[3];
    int rf_global;
} cn_layer_plan;

struct cn_layer_ops;

typedef struct cn_layer {
    const struct cn_layer_ops *ops;
    char name[CN_NAME_MAX];
    int64_t batch; /* the planned batch size (set by the model before plan) */
    int train;     /* the plan is for training (CN_PLAN_TRAIN), set by the model before plan */
    int prepared;  /* inference plan with CN_PLAN_PREPARED (weights fixed from the first forward
                      on), set by the model before plan */
    void *cfg;   /* owned: ops->cfg_size bytes of parsed options */
    void *state; /* owned: ops->state_size bytes resolved by plan */
    int n_in;
    cn_shape in[CN_MAX_INPUTS];
    const struct cn_layer *in_layer[CN_MAX_INPUTS]; /* the layers producing the inputs (for layers
                                                       that use another's cache, e.g. max_unpool) */
    cn_layer_plan plan;
    float *param[CN_MAX_PARAMS]; /* views into the model's parameter block */
    float *grad[CN_MAX_PARAMS];  /* views into the model's gradient block, NULL if not training */
} cn_layer;

typedef struct cn_layer_run {
    int n_in;
    const float *x[CN_MAX_INPUTS];
    float *dx[CN_MAX_INPUTS]; /* backward: accumulate here; NULL = not needed */
    float *y;
    const float *dy;
    void *cache;              /* cache_bytes, 64-byte aligned */
    void *scratch;            /* scratch_bytes, 64-byte aligned */
    void *prepared;           /* prepared_bytes (NULL if none), 64-byte aligned, kept across forwards */
    int train;
    cn_rng rng;               /* this layer's own stream, positioned for this step */
    const float *target;      /* loss layers: the targets given to cn_model_set_target */
    const void *in_cache[CN_MAX_INPUTS]; /* the input layers' caches (NULL where they have none) */
} cn_layer_run;

typedef struct cn_layer_ops {
    const char *name;
    const char *summary;
    int min_inputs, max_inputs;
    int is_loss;             /* a loss: output is the scalar loss (shape 1), reads r->target, and
                                is skipped by forwards without targets */
    int dx_optional;         /* backward accepts r->dx[k] == NULL and then skips that input's
                                gradient (CN_PLAN_NO_INPUT_GRAD passes NULL for model inputs) */
    const cn_opt_spec *opts; /* terminated by {NULL} */
    size_t cfg_size, state_size;
    cn_status (*check)(cn_layer *l); /* options alone; may be NULL */
    cn_status (*plan)(cn_layer *l, cn_layer_plan *p);
    void (*forward)(cn_layer *l, const cn_layer_run *r);
    void (*backward)(cn_layer *l, const cn_layer_run *r);
    /* loss layers: validate the targets before a forward uses them; may be NULL */
    cn_status (*check_target)(cn_layer *l, const float *target);
} cn_layer_ops;

/* ---- registry (registry.c, from layer_list.h) ---- */
const cn_layer_ops *cn_layer_ops_find(const char *name);
/* NULL-terminated list of the type names, for "did you mean" hints */
const char *const *cn_layer_type_names(void);

/* ---- options (options.c) ---- */
/* Set cfg to the defaults of ops (the defaults are valid by construction). */
void cn_opts_defaults(const cn_layer_ops *ops, void *cfg);
/* Parse `value` into option `key` of `cfg`. `where` prefixes messages ("model.cfg:14" or
 * "layer 'c1'"). Unknown keys get a "did you mean" hint. */
cn_status cn_opts_set(const cn_layer_ops *ops, void *cfg, const char *key, const char *value, const char *where);
/* Check that every required option (def == NULL) was given; `given` is a bitmask by index. */
cn_status cn_opts_require(const cn_layer_ops *ops, unsigned given, const char *where);
/* Append "key = value\n" for every option whose value differs from its default. */
cn_status cn_opts_format(const cn_layer_ops *ops, const void *cfg, char **buf, size_t *len, size_t *cap);
/* Text of one option's value into out. */
void cn_opts_value_text(const cn_opt_spec *o, const void *cfg, char *out, size_t cap);
int cn_opts_index(const cn_layer_ops *ops, const char *key);

/* ---- helpers shared by layers ---- */
/* Per-axis value i of an INTS option for `ndim` axes: n==1 broadcasts; n==0 gives dflt. */
int64_t cn_ints_axis(const cn_ints *a, int ndim, int axis, int64_t dflt);
/* Check an INTS option has 0, 1 or ndim values; message names layer, option and value. */
cn_status cn_ints_check(const cn_ints *a, int ndim, const char *layer, const char *opt);
/* Resolve a padding spec for `ndim` axes into begin/end arrays (explicit only; "same" and
 * "valid" are left to the geometry resolver via *mode). */
cn_status cn_padding_resolve(const cn_padding *p, int ndim, const char *layer, int *mode, int64_t *begin, int64_t *end);
/* "8x3x32x32" */
const char *cn_shape_text(const cn_shape *s);

#endif
