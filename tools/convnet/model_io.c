/* model_io.c — loading models for commands: a model text file, or a weights file
 * (safetensors) that carries its model text. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* 1 if the file looks like safetensors: 8-byte length, then '{' */
static int is_safetensors(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char b[9];
    size_t n = fread(b, 1, 9, f);
    fclose(f);
    return n == 9 && b[8] == '{';
}

cn_status cli_load_model(const char *path, const char **weights, cn_model **m)
{
    *m = NULL;
    if (is_safetensors(path)) {
        cn_status st = cn_model_load_file(m, path);
        if (st == CN_OK && weights && !*weights) *weights = path;
        return st;
    }
    return cn_model_load(m, path);
}

cn_status cli_load_weights(cn_model *m, const char *weights)
{
    if (!weights) return CN_OK;
    /* checkpoints carry optimizer state too: accept extra tensors from those */
    cn_safetensors *f;
    cn_status st = cn_safetensors_load(&f, weights);
    if (st != CN_OK) return st;
    int flags = cn_safetensors_metadata(f, "convnet.checkpoint") ? CN_WEIGHTS_ALLOW_EXTRA : CN_WEIGHTS_STRICT;
    st = cn_model_load_weights_from(m, f, NULL, 0, flags);
    cn_safetensors_destroy(f);
    return st;
}

int cli_model_has_loss(const cn_model *m)
{
    cn_layer_info li;
    if (cn_model_layer(m, cn_model_layer_count(m) - 1, &li) != CN_OK) return 0;
    const cn_layer_type_info *t = cn_layer_type_find(li.type);
    return t && t->is_loss;
}

/* Append the loss that fits the dataset's targets, if the model has none. */
cn_status cli_ensure_loss(cn_model *m, const cn_dataset_info *info)
{
    if (cli_model_has_loss(m)) return CN_OK;
    const char *type = info->target_kind == CN_TARGET_TENSOR ? "mse" : "softmax_cross_entropy";
    if (info->target_kind == CN_TARGET_NONE)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s has no targets to train on", info->name);
    cn_log(CN_LOG_INFO, "the model has no loss layer: adding [%s]", type);
    return cn_model_add(m, type, "loss", NULL, NULL);
}
