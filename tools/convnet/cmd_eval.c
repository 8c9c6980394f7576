/* cmd_eval.c — `convnet eval MODEL [--weights W] --data DATASET`: loss, accuracy, per-class
 * accuracy and the confusion matrix (or pixel accuracy and mean IoU for segmentation). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_eval(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *weights = NULL, *data = NULL, *split = "test";
    int batch = 64, tta = 0, tta_pad = 2, no_flip = 0;
    cli_opt opts[] = {
        {"--weights", OPT_STR, &weights, "W", "weights (or checkpoint) file; not needed when MODEL is one", 0},
        {"--data", OPT_STR, &data, "SPEC", "dataset (see convnet train --help)", 0},
        {"--split", OPT_STR, &split, "NAME", "test | train (default test)", 0},
        {"--batch", OPT_INT, &batch, "N", "batch size (default 64)", 0},
        {"--tta", OPT_FLAG, &tta, NULL, "test-time augmentation: average over 5 crops and their mirror images", 0},
        {"--tta-pad", OPT_INT, &tta_pad, "P", "with --tta: crops of the input padded by P pixels (default 2)", 0},
        {"--tta-no-flip", OPT_FLAG, &no_flip, NULL, "with --tta: the five crops only", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (npos != 1) return cli_usage_error(cmd, "expected one MODEL");
    if (!data) return cli_usage_error(cmd, "--data is required");
    if (strcmp(split, "test") && strcmp(split, "train")) return cli_usage_error(cmd, "--split '%s': expected test or train", split);
    if (batch < 1) return cli_usage_error(cmd, "--batch %d: must be >= 1", batch);
    cn_model *m = NULL;
    cn_dataset *train = NULL, *test = NULL;
    cn_metrics mt = {0};
    cn_status st = cli_load_model(pos[0], &weights, &m);
    if (st == CN_OK && !weights)
        st = cn_set_error(CN_STATUS_INVALID_ARG, "%s is a model without weights: give --weights W", pos[0]);
    if (st == CN_OK) st = cn_dataset_open(&train, &test, data);
    const cn_dataset *d = !strcmp(split, "train") ? train : test;
    if (st == CN_OK && !d) st = cn_set_error(CN_STATUS_NOT_FOUND, "%s has no %s part", data, split);
    if (st == CN_OK) st = cli_ensure_loss(m, cn_dataset_info_of(d));
    if (st == CN_OK) st = cn_model_plan(m, batch, CN_PLAN_INFER);
    if (st == CN_OK) st = cli_load_weights(m, weights);
    if (st == CN_OK) st = tta ? cn_evaluate_tta(m, d, batch, tta_pad, !no_flip, &mt) : cn_evaluate(m, d, batch, &mt);
    if (st != CN_OK) {
        rc = cli_fail(cmd, g, st);
        goto done;
    }
    int k = mt.num_classes;
    if (g->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "dataset", cn_dataset_info_of(d)->name);
        cJSON_AddNumberToObject(o, "count", (double)mt.count);
        if (isfinite(mt.loss)) cJSON_AddNumberToObject(o, "loss", mt.loss);
        if (isfinite(mt.top1)) cJSON_AddNumberToObject(o, "top1", mt.top1);
        if (isfinite(mt.top5)) cJSON_AddNumberToObject(o, "top5", mt.top5);
        if (isfinite(mt.pixel_acc)) cJSON_AddNumberToObject(o, "pixel_acc", mt.pixel_acc);
        if (isfinite(mt.mean_iou)) cJSON_AddNumberToObject(o, "mean_iou", mt.mean_iou);
        if (k) {
            cJSON *pc = cJSON_AddArrayToObject(o, "per_class"), *cm = cJSON_AddArrayToObject(o, "confusion");
            for (int c = 0; c < k; c++) {
                cJSON_AddItemToArray(pc, isfinite(mt.per_class[c]) ? cJSON_CreateNumber(mt.per_class[c]) : cJSON_CreateNull());
                cJSON *row = cJSON_CreateArray();
                for (int j = 0; j < k; j++) cJSON_AddItemToArray(row, cJSON_CreateNumber((double)mt.confusion[(int64_t)c * k + j]));
                cJSON_AddItemToArray(cm, row);
            }
        }
        rc = cli_print_json(o);
        goto done;
    }
    printf("%s: %lld samples, loss %.4f", cn_dataset_info_of(d)->name, (long long)mt.count, mt.loss);
    if (isfinite(mt.top1)) printf(", top-1 %.2f%%", 100 * mt.top1);
    if (isfinite(mt.top5)) printf(", top-5 %.2f%%", 100 * mt.top5);
    if (isfinite(mt.pixel_acc)) printf(", pixel accuracy %.2f%%, mean IoU %.4f", 100 * mt.pixel_acc, mt.mean_iou);
    printf("\n");
    if (k && k <= 50) {
        printf("\nper class:\n  class   samples  accuracy\n");
        for (int c = 0; c < k; c++) {
            int64_t row = 0;
            for (int j = 0; j < k; j++) row += mt.confusion[(int64_t)c * k + j];
            printf("  %5d  %8lld  %7.2f%%\n", c, (long long)row, 100 * mt.per_class[c]);
        }
        printf("\nconfusion matrix (rows: true class, columns: predicted):\n     ");
        for (int j = 0; j < k; j++) printf(" %5d", j);
        printf("\n");
        for (int c = 0; c < k; c++) {
            printf("  %2d ", c);
            for (int j = 0; j < k; j++) printf(" %5lld", (long long)mt.confusion[(int64_t)c * k + j]);
            printf("\n");
        }
    }
    rc = CLI_OK;
done:
    cn_metrics_free(&mt);
    cn_dataset_destroy(train);
    cn_dataset_destroy(test);
    cn_model_destroy(m);
    return rc;
}
