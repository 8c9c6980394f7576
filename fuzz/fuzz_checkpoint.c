/* fuzz_checkpoint.c — training checkpoints (safetensors with the model text, the weights, the
 * optimizer's buffers and the "convnet.checkpoint" state JSON) through cn_checkpoint_load,
 * as `convnet train --resume` and `convnet inspect` read them: the model is built from the
 * file's own text and planned at batch 1, then the checkpoint is loaded into it (weights and
 * state; no optimizer, so the buffers are only checked to exist as safetensors). The input is
 * the whole file; cn_checkpoint_load takes a path, so it goes through cn_fuzz_as_file. */
#include "fuzz.h"
#include "io/runlog.h"

static int fuzz_checkpoint(const uint8_t *data, size_t size)
{
    cn_safetensors *f = NULL;
    cn_status st = cn_safetensors_parse(&f, data, size, "fuzz.ckpt");
    if (st != CN_OK) return 0; /* the safetensors target covers this */
    const char *text = cn_safetensors_metadata(f, CN_WEIGHTS_MODEL_KEY);
    cn_model *m = NULL;
    int accepted = 0;
    if (!text || cn_model_parse(&m, text, "fuzz.ckpt:convnet.model") != CN_OK || cn_model_plan(m, 1, CN_PLAN_INFER) != CN_OK)
        goto done;
    const char *path = cn_fuzz_as_file(data, size);
    cn_ckpt_state s;
    st = cn_checkpoint_load(path, m, NULL, NULL, &s);
    if (st != CN_OK) {
        cn_fuzz_expect_error(st, path);
        CN_FUZZ_ASSERT(s.history == NULL, "a failed load left the history allocated");
        goto done;
    }
    CN_FUZZ_ASSERT(s.epoch >= 0 && s.batch >= 0 && s.step >= 0, "epoch %lld, batch %lld, step %lld", (long long)s.epoch,
                   (long long)s.batch, (long long)s.step);
    CN_FUZZ_ASSERT(s.n_history >= 0 && (s.history || !s.n_history), "history of %lld", (long long)s.n_history);
    for (int64_t i = 0; i < s.n_history; i++) (void)s.history[i].train_loss; /* in bounds */
    cn_free(s.history);
    accepted = 1;
done:
    cn_model_destroy(m);
    cn_safetensors_destroy(f);
    return accepted;
}

CN_FUZZ_TARGET(checkpoint)
