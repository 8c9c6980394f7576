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
