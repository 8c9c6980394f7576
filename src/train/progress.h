/* progress.h — the training progress display (internal): a bar redrawn on a terminal, or
 * one plain line per epoch when stderr is not a terminal. */
#ifndef CN_TRAIN_PROGRESS_H
#define CN_TRAIN_PROGRESS_H

#include "convnet/train.h"

typedef struct cn_progress {
    int mode;            /* 0 off, 1 lines, 2 bar */
    int64_t epochs, batches;
    double last_draw;
} cn_progress;

void cn_progress_init(cn_progress *p, int enabled, int64_t epochs, int64_t batches);
void cn_progress_step(cn_progress *p, int64_t epoch, int64_t batch, double loss, double acc, double elapsed, int64_t samples);
void cn_progress_epoch(cn_progress *p, const cn_epoch_record *r);
void cn_progress_end(cn_progress *p);

#endif
