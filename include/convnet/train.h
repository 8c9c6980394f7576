/* convnet/train.h — training and evaluation: the loop, metrics, checkpoints and resuming.
 *
 *     cn_train_config tc = cn_train_defaults();
 *     tc.epochs = 10, tc.batch = 64, tc.seed = 1, tc.out_dir = "runs/lenet";
 *     tc.optim.momentum = 0.9, tc.schedule.base_lr = 0.01;
 *     cn_trainer *t;
 *     if (cn_trainer_create(&t, model, &tc) != CN_OK ||
 *         cn_trainer_fit(t, train, test) != CN_OK) fprintf(stderr, "%s\n", cn_last_error());
 *     cn_trainer_destroy(t);
 *
 * The model must end with a loss layer ([softmax_cross_entropy], [mse], ...). The trainer
 * plans the model for the batch size, initializes it from the seed (unless init = 0, e.g.
 * after loading weights), builds the optimizer over the trainable parameters of layers that
 * are not frozen, and runs epochs of shuffled batches: forward, loss, backward, optional
 * clipping, optimizer step, learning-rate schedule. After each epoch it evaluates on the
 * validation set (if given), appends a line to RUNDIR/log.jsonl, prints progress, and
 * writes checkpoints atomically. A checkpoint holds everything a run needs to continue
 * exactly where it stopped (weights, optimizer state, schedule state, epoch, step and the
 * random-stream position): resuming gives the same final weights as an uninterrupted run
 * with the same seed, bit for bit at one thread.
 *
 * Ownership: the trainer borrows the model and datasets (they must outlive it) and owns its
 * optimizer, schedule and loaders.
 */
#ifndef CONVNET_TRAIN_H
#define CONVNET_TRAIN_H

#include "dataset.h"
#include "model.h"
#include "optim.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { CN_NAN_STOP = 0, CN_NAN_SKIP = 1 };

/* ---- data parallelism (docs/DISTRIBUTED.md) ------------------------------------------------
 * With cfg.comm set, `size` processes train one model together. Each runs the same program
 * on the same model and datasets; the trainer then
 *   - starts every process from rank 0's parameters (broadcast after initialization),
 *   - gives each process a disjoint shard of every epoch's shuffled order (the loader's
 *     shard_rank / shard_count): of each global batch of cfg.batch samples, a process takes
 *     cfg.batch / size of them (cfg.batch must be a multiple of size),
 *   - averages the gradients over the processes before every optimizer step, weighting each
 *     process by its share of the batch, so a step equals one process's step on the whole
 *     batch (up to float rounding); the averaging starts, bucket by bucket, while backward
 *     still runs (cn_model_set_backward_hook),
 *   - keeps batch-norm batch statistics per process (each normalizes its own part of the
 *     batch) and averages the running statistics (parameters that are not trainable) over
 *     the processes at the end of every epoch and before every checkpoint,
 *   - evaluates on a shard per process and sums the counts (cn_evaluate_sharded),
 *   - writes the run directory (log, checkpoints) from rank 0 only; resuming reads rank 0's
 *     checkpoint and sends it to all.
 * A failure that every process sees (bad options, data, a non-finite loss) ends every
 * process with the same status; the comm reports which process failed otherwise.
 *
 * The trainer talks to the other processes only through this table, so the library needs
 * no MPI; include/convnet/dist.h makes one over MPI. Every function is collective: all
 * processes call it, in the same order. They return CN_OK or a status with a message; after
 * a failure other than from `agree` the comm cannot be used again (the job must end). */
typedef struct cn_train_comm {
    int rank, size;              /* this process in 0..size-1; size >= 1 */
    void *self;                  /* passed to every function */
    /* Every process passes its own status; CN_OK when every one passed CN_OK, else this
     * process's status (message intact) or one naming the first process that failed. */
    cn_status (*agree)(void *self, cn_status local);
    /* rank 0's `bytes` bytes at buf to every process */
    cn_status (*broadcast)(void *self, void *buf, size_t bytes, const char *what);
    /* element-wise sum over the processes, in place; every process gets the same values */
    cn_status (*sum)(void *self, double *buf, int64_t n, const char *what);
    /* The gradients to average: n tensors grads[i] of sizes[i] floats, gradient i being
     * model parameter model_param[i] (of n_model_params). Called once; views stay valid. */
    cn_status (*grad_bind)(void *self, int n, float *const *grads, const int64_t *sizes, const int *model_param,
                           int n_model_params);
    /* One step: grad_begin (after forward: stats[0..n_stats) are summed over the processes by
     * grad_end, in place; stats must stay valid until then), then backward, which calls
     * grad_ready after each layer as the backward hook, then grad_end: every gradient is now
     * the sum over processes of weight * (that process's gradient). */
    cn_status (*grad_begin)(void *self, int64_t step, float weight, double *stats, int n_stats);
    void (*grad_ready)(void *self, int first_param, int n_params);
    cn_status (*grad_end)(void *self);
} cn_train_comm;

typedef struct cn_train_config {
    int64_t epochs;              /* 10 */
    int64_t max_steps;           /* 0 = no limit; stop after this many optimizer steps */
    int64_t batch;               /* 32 */
    int keep_last;               /* 0: drop each epoch's last partial batch (order reshuffles
                                    every epoch, so every sample is used); 1: keep it */
    uint64_t seed;               /* initialization, shuffling, dropout: everything random */
    int init;                    /* 1: initialize the parameters from the seed (default);
                                    0: keep them (weights loaded beforehand) */
    cn_optim_config optim;       /* default SGD, no momentum */
    cn_schedule_config schedule; /* default constant, base_lr 0.01; unit says whether it counts
                                    epochs or steps */
    double clip_norm;            /* > 0: clip the global gradient norm */
    int nan_policy;              /* CN_NAN_STOP: a non-finite loss or gradient stops the run with
                                    the last checkpoint intact; CN_NAN_SKIP: the step is skipped */
    const char *out_dir;         /* run directory (created), or NULL: no files */
    int64_t checkpoint_epochs;   /* write a checkpoint every this many epochs (default 1) */
    int64_t checkpoint_steps;    /* and every this many steps (0 = off) */
    int early_stop;              /* > 0: stop when the validation metric has not improved for
                                    this many epochs (accuracy for class targets, else loss) */
    int progress;                /* 0 quiet, 1 a bar on a terminal / a line per epoch otherwise */
    const char *const *frozen;   /* names of layers whose parameters are not updated */
    int n_frozen;
    int64_t eval_batch;          /* 0 = batch */
    const struct cn_augment *augment; /* applied to training samples on the fly (augment.h), or
                                    NULL; borrowed, must outlive the trainer */
    int workers;                 /* background loader threads (default: cn_loader_defaults()) */
    const cn_train_comm *comm;   /* data parallelism over several processes (above), or NULL:
                                    this process trains alone (default) */
} cn_train_config;

cn_train_config cn_train_defaults(void);

/* Metrics of a model on a dataset. */
typedef struct cn_metrics {
    int64_t count;               /* samples evaluated */
    double loss;                 /* mean loss (NAN if the model has no loss layer) */
    int num_classes;             /* class targets: K, else 0 */
    double top1, top5;           /* class targets: accuracy (top5 only when K >= 5, else NAN) */
    int64_t *confusion;          /* K x K, rows = true class, columns = predicted; owned */
    double *per_class;           /* K accuracies (NAN for classes without samples); owned */
    double pixel_acc, mean_iou;  /* dense class targets (segmentation), else NAN */
} cn_metrics;
void cn_metrics_free(cn_metrics *m);

/* Evaluate `m` (inference mode) on `d` in batches of `batch`. The model is re-planned for
 * the batch size if needed (and left planned so). */
cn_status cn_evaluate(cn_model *m, const cn_dataset *d, int64_t batch, cn_metrics *out);
/* The same, split over the processes of `comm` (collective): process r evaluates samples r,
 * r + size, r + 2 size, ... in batches of `batch`, and the counts are summed, so every process
 * gets the metrics of the whole dataset: counts, accuracies and the confusion matrix equal
 * one process's, the mean loss equals it up to float rounding. comm NULL or of size 1:
 * cn_evaluate. */
cn_status cn_evaluate_sharded(cn_model *m, const cn_dataset *d, int64_t batch, const cn_train_comm *comm, cn_metrics *out);

/* Test-time augmentation (AlexNet's evaluation): predictions averaged over the five crops
 * (corners and centre) of each input padded by `pad` zeros, and with `flip` their mirror
 * images; crops have the model input's size. Metrics as cn_evaluate, from the averaged
 * softmax probabilities (loss: their negative log-likelihood). Class targets only. */
cn_status cn_evaluate_tta(cn_model *m, const cn_dataset *d, int64_t batch, int64_t pad, int flip, cn_metrics *out);

/* One line per epoch, also written to RUNDIR/log.jsonl. */
typedef struct cn_epoch_record {
    int64_t epoch, step;
    double lr, train_loss, train_acc, val_loss, val_acc, time_s, samples_per_s;
} cn_epoch_record;

typedef struct cn_trainer cn_trainer;
cn_status cn_trainer_create(cn_trainer **out, cn_model *m, const cn_train_config *cfg);
/* Continue from a checkpoint written by a trainer with the same model text and config:
 * restores parameters, optimizer and schedule state, epoch, step and random streams. */
cn_status cn_trainer_resume(cn_trainer *t, const char *checkpoint_path);
/* Train until cfg.epochs (or max_steps, or early stopping). val may be NULL. */
cn_status cn_trainer_fit(cn_trainer *t, const cn_dataset *train, const cn_dataset *val);
/* Write a checkpoint now (atomically). */
cn_status cn_trainer_checkpoint(cn_trainer *t, const char *path);
/* The epochs recorded so far (owned by the trainer). */
const cn_epoch_record *cn_trainer_history(const cn_trainer *t, int64_t *n);
void cn_trainer_destroy(cn_trainer *t);

#ifdef __cplusplus
}
#endif
#endif
