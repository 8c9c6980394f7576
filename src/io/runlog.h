/* runlog.h — the files of a run directory and checkpoints (internal; JSON through libcjson).
 *   RUNDIR/log.jsonl       one JSON object per epoch (cn_epoch_record)
 *   RUNDIR/metrics.json    the final evaluation (cn_metrics)
 *   checkpoint files       safetensors: every model parameter under its own name (so a
 *                          checkpoint is also a weights file), the optimizer's buffers as
 *                          "optim.<param index>.<buffer>", and in __metadata__ the model text
 *                          ("convnet.model") and the training state ("convnet.checkpoint":
 *                          JSON with epoch, batch within the epoch, step, model step, optimizer
 *                          steps, schedule state, seed, best metric, patience, history). */
#ifndef CN_IO_RUNLOG_H
#define CN_IO_RUNLOG_H

#include "convnet/train.h"

cn_status cn_runlog_append(const char *dir, const cn_epoch_record *r);
cn_status cn_runlog_write_metrics(const char *path, const cn_metrics *m, const char *dataset);

typedef struct cn_ckpt_state {
    int64_t epoch;          /* the epoch in progress (or the next one when batch == 0) */
    int64_t batch;          /* batches of `epoch` already done */
    int64_t step;           /* optimizer steps so far */
    uint64_t model_step;    /* cn_model_step */
    uint64_t optim_steps;
    uint64_t seed;
    cn_schedule_state sched;
    double best;            /* best validation metric so far */
    int64_t bad_epochs;     /* epochs without improvement (early stopping) */
    double run_loss, run_acc_hits, run_count; /* the epoch's running sums (mid-epoch resume) */
    int64_t n_history;
    cn_epoch_record *history; /* owned by the caller */
} cn_ckpt_state;

/* Save: the model's parameters, the optimizer's buffers (optimizer parameter i is model
 * parameter opt_param[i]; named "optim.<model param name>.<buffer>") and the state, atomically. */
cn_status cn_checkpoint_save(const char *path, const cn_model *m, const cn_optim *o, const int *opt_param, const cn_ckpt_state *s);
/* Load into a planned model and an optimizer built for the same parameters; s->history is
 * allocated with cn_malloc (caller frees). Nothing is changed on failure. */
cn_status cn_checkpoint_load(const char *path, cn_model *m, cn_optim *o, const int *opt_param, cn_ckpt_state *s);

#endif
