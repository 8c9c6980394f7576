/* convnet/model.h — networks: a DAG of named layers, planned once and run many times.
 *
 * Build a model from a file (see docs/FORMAT.md) or with the builder, plan it for a batch
 * size (shape inference, parameter and arena allocation), then run forward and backward:
 *
 *     cn_model *m;
 *     cn_model_create(&m);
 *     cn_model_add(m, "input", "x", NULL, "shape=1x28x28");
 *     cn_model_add(m, "conv", "c1", NULL, "filters=6 kernel=5 padding=2");
 *     cn_model_add(m, "act", NULL, NULL, "kind=relu");
 *     if (cn_model_plan(m, 64, CN_PLAN_TRAIN) != CN_OK) puts(cn_last_error());
 *     cn_model_init(m, 42);
 *     cn_model_forward(m, x, 1);            // x: 64x1x28x28 floats, borrowed for the call
 *     const float *y = cn_model_output(m, &shape);
 *     cn_model_zero_grad(m);
 *     cn_model_backward(m, dy);             // dy: same shape as the output
 *
 * Ownership: the model owns its layers, parameters, gradients and arena. Pointers it returns
 * (outputs, parameter views, names) stay valid until the next cn_model_plan with a different
 * batch size, or cn_model_destroy. Inputs passed to forward/backward are borrowed for the call.
 * A model is not safe to run from two threads at once; plan one model per thread.
 */
#ifndef CONVNET_MODEL_H
#define CONVNET_MODEL_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cn_model cn_model;

/* ---- layer types (the registry) ----------------------------------------------------- */
typedef struct cn_option_info {
    const char *name;
    const char *type;    /* "int", "float", "bool", "enum", "ints" (per-axis list), "string", "shape", "padding" */
    const char *def;     /* default as it would be written in a model file; NULL = required */
    const char *choices; /* enum values separated by '|', else NULL */
    const char *help;
} cn_option_info;

typedef struct cn_layer_type_info {
    const char *name;    /* as written in model files: "conv", "conv_transpose", ... */
    const char *summary;
    int min_inputs, max_inputs;
    int is_loss;         /* a loss layer: takes targets, outputs the scalar loss */
    int n_options;
    const cn_option_info *options;
} cn_layer_type_info;

int cn_layer_type_count(void);
/* i in [0, count); NULL otherwise. Static data, never freed. */
const cn_layer_type_info *cn_layer_type_at(int i);
const cn_layer_type_info *cn_layer_type_find(const char *name);

/* ---- building ------------------------------------------------------------------------- */
cn_status cn_model_create(cn_model **out);
void cn_model_destroy(cn_model *m);
/* Add a layer. `name` NULL → "<type><k>". `inputs` NULL → the previously added layer;
 * otherwise layer names separated by commas. `options` is "key=value key=value ..." with the
 * same syntax as model files. Errors name the layer, the option and the value. */
cn_status cn_model_add(cn_model *m, const char *type, const char *name, const char *inputs, const char *options);

/* Change one option of a named layer ("c1", "stride", "2"), e.g. to override an input
 * shape from the command line. Allowed until the first plan. */
cn_status cn_model_set_option(cn_model *m, const char *layer, const char *key, const char *value);

/* Model files (docs/FORMAT.md). `filename` labels error messages ("model.cfg:14: ..."). */
cn_status cn_model_parse(cn_model **out, const char *text, const char *filename);
cn_status cn_model_load(cn_model **out, const char *path);
/* The model as text that cn_model_parse reads back into an identical network. *text is
 * allocated with cn_malloc; free it with cn_free. */
cn_status cn_model_to_text(const cn_model *m, char **text);
cn_status cn_model_save(const cn_model *m, const char *path); /* atomic */

/* A model with the same network that reads `src`'s parameters (without copying them) and has
 * its own activations and workspace: one per thread serves predictions concurrently. It is
 * planned for src's batch size (re-plan it for others, inference only). src must stay planned
 * and outlive it; updating src's weights is seen by it. */
cn_status cn_model_share(cn_model **out, const cn_model *src);

/* ---- planning ------------------------------------------------------------------------- */
enum { CN_PLAN_INFER = 0, CN_PLAN_TRAIN = 1, CN_PLAN_REUSE = 2, CN_PLAN_NO_INPUT_GRAD = 4, CN_PLAN_PREPARED = 8 };
/* Infer every shape for this batch size, allocate parameters (first plan only) and the arena
 * (activations, and with CN_PLAN_TRAIN caches and gradients). Errors name the layer, its
 * inputs and their shapes.
 * CN_PLAN_REUSE (inference only; ignored with CN_PLAN_TRAIN): layers whose outputs are not
 * alive at the same time share memory — an output lives from its layer's forward to its last
 * reader's — so the activations take the peak of the live set instead of the sum. Only the
 * outputs nothing reads (the model's outputs; a trailing loss layer's input counts as one)
 * survive a forward: cn_model_layer_output refuses the others.
 * CN_PLAN_NO_INPUT_GRAD (with CN_PLAN_TRAIN; the trainer uses it): backward does not compute
 * the gradient with respect to the model's input layers where the layer reading them can skip
 * it (convolutions, dense: the first layer's backward-data pass); parameter gradients are
 * the same bits, and cn_model_input_grad returns NULL.
 * CN_PLAN_PREPARED (inference only; ignored with CN_PLAN_TRAIN): the weights are fixed from
 * the first forward on. Layers may then prepare a form of their weights once, at that first
 * forward, and reuse it (convolutions: Winograd's transformed filters, cn_conv_prepare, which
 * also lets them pick Winograd for layers where transforming the filters in every call would
 * not pay). Parameter changes after the first forward are NOT seen until the next
 * cn_model_plan. Costs memory (cn_model_memory_of: prepared). */
cn_status cn_model_plan(cn_model *m, int64_t batch, int flags);
/* Bytes of the planned arena by purpose (requires a plan). activations: what the outputs
 * take (with CN_PLAN_REUSE the shared region); activations_sum: the sum of every layer's
 * output (what they take without reuse); prepared: the layers' prepared weights
 * (CN_PLAN_PREPARED). */
typedef struct cn_model_memory {
    size_t params, activations, activations_sum, gradients, caches, scratch, param_grads, prepared;
} cn_model_memory;
cn_status cn_model_memory_of(const cn_model *m, cn_model_memory *out);
/* Initialize parameters (He/Xavier per layer as the layer declares; biases zero), from
 * stream CN_STREAM_INIT of `seed`. Requires a plan. */
cn_status cn_model_init(cn_model *m, uint64_t seed);

/* ---- running -------------------------------------------------------------------------- */
/* x: the (first) input layer's tensor, batch x its shape, borrowed for the call. train=1
 * uses training behaviour (dropout, batch statistics) and keeps caches for backward. */
cn_status cn_model_forward(cn_model *m, const float *x, int train);
/* Set the data of a named input layer (models with several inputs), then call forward with x = NULL. */
cn_status cn_model_set_input(cn_model *m, const char *input_name, const float *x);
/* Targets for the model's loss layer (the last layer, e.g. [softmax_cross_entropy]),
 * borrowed until the next forward: floats shaped as that loss documents (class indices as
 * floats for cross-entropy). Forwards without targets skip the loss layer. */
cn_status cn_model_set_target(cn_model *m, const float *target);
/* The loss computed by the last forward that had targets; NAN otherwise. */
double cn_model_loss(const cn_model *m);
/* The prediction: the output of the last layer, or of the layer feeding a trailing loss
 * layer (or of `name`), valid until the next forward or plan. */
const float *cn_model_output(const cn_model *m, cn_shape *shape);
cn_status cn_model_layer_output(const cn_model *m, const char *name, const float **y, cn_shape *shape);
/* Backward from dy (the last layer's output gradient). With a loss layer last, pass NULL:
 * backward starts from dL/dL = 1. Accumulates into the parameter gradients (call
 * cn_model_zero_grad first). Requires a training forward. */
cn_status cn_model_backward(cn_model *m, const float *dy);
/* Gradient with respect to the (first) input, after backward; NULL unless planned with
 * CN_PLAN_TRAIN and without CN_PLAN_NO_INPUT_GRAD. */
const float *cn_model_input_grad(const cn_model *m);
void cn_model_zero_grad(cn_model *m);
/* The training step counter: run-time randomness (dropout masks, pooling samples) is drawn
 * at this position; it advances after each backward. Checkpoints save it; gradient checks
 * rewind it so repeated forwards see the same masks. */
uint64_t cn_model_step(const cn_model *m);
void cn_model_set_step(cn_model *m, uint64_t step);
/* The seed of run-time randomness (dropout masks, pooling samples); cn_model_init sets it to
 * its seed. Data-parallel training gives each process its own. */
void cn_model_set_seed(cn_model *m, uint64_t seed);
/* Called by cn_model_backward right after each layer's backward, in the order they run, with
 * that layer's parameters [first_param, first_param + n_params) (n_params may be 0): their
 * gradients are complete. Data parallelism starts averaging them while backward goes on.
 * fn NULL removes the hook. */
typedef void (*cn_backward_hook)(void *user, int first_param, int n_params);
void cn_model_set_backward_hook(cn_model *m, cn_backward_hook fn, void *user);

/* ---- introspection -------------------------------------------------------------------- */
typedef struct cn_param {
    const char *name;    /* "<layer>.<param>", e.g. "c1.weight" */
    cn_shape shape;
    float *value;        /* owned by the model */
    float *grad;         /* owned by the model; NULL when planned without CN_PLAN_TRAIN */
    int trainable;       /* 0 for running statistics and frozen layers */
} cn_param;
int cn_model_param_count(const cn_model *m);
/* The i-th parameter tensor (requires a plan). */
cn_status cn_model_param(const cn_model *m, int i, cn_param *p);

typedef struct cn_layer_info {
    const char *name, *type;
    int n_inputs;
    const char *inputs[8];
    cn_shape out;        /* batch included */
    int64_t params;      /* learnable values */
    int64_t macs;        /* multiply-accumulates for the planned batch */
    int rf_ndim;         /* spatial axes of the receptive field (0: none, e.g. dense input) */
    double rf_size[3];   /* receptive field on the model input, per axis (D, H, W as present) */
    double rf_jump[3];   /* distance on the input between neighbouring outputs (stride product) */
    double forward_s, backward_s;         /* with profiling on: wall seconds summed over calls */
    int64_t forward_calls, backward_calls; /* with profiling on: calls since it was turned on */
} cn_layer_info;
int cn_model_layer_count(const cn_model *m);
/* Profiling: while on, each layer's forward and backward calls are timed (two clock reads
 * a call) and summed; cn_model_layer reports the sums. Turning it off keeps them;
 * cn_model_clear_profile zeroes them. The trainer pauses it while it evaluates, so the sums
 * are those of the training steps:
 *     cn_model_set_profiling(m, 1);  ...steps...  cn_model_layer(m, i, &li);  li.backward_s */
void cn_model_set_profiling(cn_model *m, int on);
int cn_model_profiling(const cn_model *m);
void cn_model_clear_profile(cn_model *m);
cn_status cn_model_layer(const cn_model *m, int i, cn_layer_info *info);

#ifdef __cplusplus
}
#endif
#endif
