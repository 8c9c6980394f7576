/* progress.c — progress bar / lines on stderr. */
#include "progress.h"
#include "core/clock.h"

#include <math.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

void cn_progress_init(cn_progress *p, int enabled, int64_t epochs, int64_t batches)
{
    p->mode = !enabled ? 0 : isatty(STDERR_FILENO) ? 2 : 1;
    p->epochs = epochs;
    p->batches = batches;
    p->last_draw = 0;
}

void cn_progress_step(cn_progress *p, int64_t epoch, int64_t batch, double loss, double acc, double elapsed, int64_t samples)
{
    if (p->mode != 2) return;
    double t = cn_now_s();
    if (t - p->last_draw < 0.1 && batch < p->batches) return; /* redraw at most 10 times a second */
    p->last_draw = t;
    char bar[31];
    int filled = (int)(30 * batch / (p->batches ? p->batches : 1));
    for (int i = 0; i < 30; i++) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
    bar[30] = '\0';
    double rate = elapsed > 0 ? (double)samples / elapsed : 0;
    double eta = batch ? elapsed / (double)batch * (double)(p->batches - batch) : 0;
    fprintf(stderr, "\repoch %lld/%lld [%s] %lld/%lld loss %.4f", (long long)epoch + 1, (long long)p->epochs, bar, (long long)batch,
            (long long)p->batches, loss);
    if (!isnan(acc)) fprintf(stderr, " acc %5.1f%%", 100 * acc);
    fprintf(stderr, " %.0f samples/s ETA %d:%02d  ", rate, (int)eta / 60, (int)eta % 60);
    fflush(stderr);
}

void cn_progress_epoch(cn_progress *p, const cn_epoch_record *r)
{
    if (!p->mode) return;
    if (p->mode == 2) fprintf(stderr, "\r\033[K");
    fprintf(stderr, "epoch %lld/%lld  step %lld  lr %.4g  loss %.4f", (long long)r->epoch, (long long)p->epochs, (long long)r->step,
            r->lr, r->train_loss);
    if (!isnan(r->train_acc)) fprintf(stderr, "  acc %.2f%%", 100 * r->train_acc);
    if (!isnan(r->val_loss)) fprintf(stderr, "  val_loss %.4f", r->val_loss);
    if (!isnan(r->val_acc)) fprintf(stderr, "  val_acc %.2f%%", 100 * r->val_acc);
    fprintf(stderr, "  %.1fs  %.0f samples/s\n", r->time_s, r->samples_per_s);
    fflush(stderr);
}

void cn_progress_end(cn_progress *p)
{
    if (p->mode == 2) fflush(stderr);
}
