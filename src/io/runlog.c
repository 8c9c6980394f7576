/* runlog.c — run-directory logs and checkpoints (see runlog.h). */
#include "runlog.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "convnet/safetensors.h"
#include "file.h"
#include "json_cost.h"

/* NAN/inf are not JSON: such fields are left out */
static void add_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
}

static cJSON *record_json(const cn_epoch_record *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "epoch", (double)r->epoch);
    cJSON_AddNumberToObject(o, "step", (double)r->step);
    add_num(o, "lr", r->lr);
    add_num(o, "train_loss", r->train_loss);
    add_num(o, "train_acc", r->train_acc);
    add_num(o, "val_loss", r->val_loss);
    add_num(o, "val_acc", r->val_acc);
    add_num(o, "time_s", r->time_s);
    add_num(o, "samples_per_s", r->samples_per_s);
    return o;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

cn_status cn_runlog_append(const char *dir, const cn_epoch_record *r)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/log.jsonl", dir);
    cJSON *o = record_json(r);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s) return cn_set_error(CN_STATUS_NOMEM, "%s: out of memory formatting the log", path);
    FILE *f = fopen(path, "a");
    cn_status st = CN_OK;
    if (!f || fprintf(f, "%s\n", s) < 0 || fflush(f) != 0) st = cn_set_error(CN_STATUS_IO, "%s: cannot append: %s", path, strerror(errno));
    if (f) fclose(f);
    cJSON_free(s);
    return st;
}

static cn_status write_json(const char *path, cJSON *o)
{
    char *s = o ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!s) return cn_set_error(CN_STATUS_NOMEM, "%s: out of memory formatting JSON", path);
    cn_atomic_file af;
    cn_status st = cn_atomic_open(&af, path);
    if (st == CN_OK) {
        if ((st = cn_atomic_write(&af, s, strlen(s))) == CN_OK && (st = cn_atomic_write(&af, "\n", 1)) == CN_OK)
            st = cn_atomic_commit(&af);
        else cn_atomic_abort(&af);
    }
    cJSON_free(s);
    return st;
}

cn_status cn_runlog_write_metrics(const char *path, const cn_metrics *m, const char *dataset)
{
    cJSON *o = cJSON_CreateObject();
    if (dataset) cJSON_AddStringToObject(o, "dataset", dataset);
    cJSON_AddNumberToObject(o, "count", (double)m->count);
    add_num(o, "loss", m->loss);
    add_num(o, "top1", m->top1);
    add_num(o, "top5", m->top5);
    add_num(o, "pixel_acc", m->pixel_acc);
    add_num(o, "mean_iou", m->mean_iou);
    if (m->num_classes) {
        cJSON_AddNumberToObject(o, "classes", m->num_classes);
        cJSON *pc = cJSON_AddArrayToObject(o, "per_class"), *cm = cJSON_AddArrayToObject(o, "confusion");
        for (int c = 0; c < m->num_classes; c++) {
            cJSON_AddItemToArray(pc, isfinite(m->per_class[c]) ? cJSON_CreateNumber(m->per_class[c]) : cJSON_CreateNull());
            cJSON *row = cJSON_CreateArray();
            for (int j = 0; j < m->num_classes; j++)
                cJSON_AddItemToArray(row, cJSON_CreateNumber((double)m->confusion[(int64_t)c * m->num_classes + j]));
            cJSON_AddItemToArray(cm, row);
        }
    }
    return write_json(path, o);
}

/* ---- checkpoints ---- */
#define CKPT_KEY "convnet.checkpoint"

static char *state_json(const cn_ckpt_state *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "format", 1);
    cJSON_AddNumberToObject(o, "epoch", (double)s->epoch);
    cJSON_AddNumberToObject(o, "batch", (double)s->batch);
    cJSON_AddNumberToObject(o, "step", (double)s->step);
    /* 64-bit counters as strings: JSON numbers are doubles */
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)s->model_step);
    cJSON_AddStringToObject(o, "model_step", buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)s->optim_steps);
    cJSON_AddStringToObject(o, "optim_steps", buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)s->seed);
    cJSON_AddStringToObject(o, "seed", buf);
    cJSON *sc = cJSON_AddObjectToObject(o, "schedule");
    /* doubles round-trip exactly through %.17g */
    char d[40];
#define PUT_D(obj, key, v) (snprintf(d, sizeof d, "%.17g", (double)(v)), cJSON_AddStringToObject(obj, key, d))
    PUT_D(sc, "lr", s->sched.lr);
    PUT_D(sc, "best", s->sched.best);
    cJSON_AddNumberToObject(sc, "num_bad", (double)s->sched.num_bad);
    cJSON_AddNumberToObject(sc, "cooldown_counter", (double)s->sched.cooldown_counter);
    cJSON_AddNumberToObject(sc, "last_epoch", (double)s->sched.last_epoch);
    PUT_D(o, "best", s->best);
    cJSON_AddNumberToObject(o, "bad_epochs", (double)s->bad_epochs);
    PUT_D(o, "run_loss", s->run_loss);
    PUT_D(o, "run_acc_hits", s->run_acc_hits);
    PUT_D(o, "run_count", s->run_count);
#undef PUT_D
    cJSON *h = cJSON_AddArrayToObject(o, "history");
    for (int64_t i = 0; i < s->n_history; i++) cJSON_AddItemToArray(h, record_json(&s->history[i]));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

cn_status cn_checkpoint_save(const char *path, const cn_model *m, const cn_optim *o, const int *opt_param, const cn_ckpt_state *s)
{
    int np = cn_model_param_count(m), ns = o ? cn_optim_state_count(o) : 0;
    cn_st_tensor *t = cn_calloc((size_t)(np + ns) + 1, sizeof *t, "checkpoint");
    char (*names)[160] = cn_calloc((size_t)ns + 1, 160, "checkpoint");
    char *model_text = NULL, *state = NULL;
    cn_status st = CN_OK;
    if (!t || !names) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    for (int i = 0; i < np; i++) {
        cn_param p;
        cn_model_param(m, i, &p);
        t[i].name = p.name;
        t[i].dtype = CN_ST_DTYPE_F32;
        t[i].ndim = p.shape.ndim;
        for (int k = 0; k < p.shape.ndim; k++) t[i].shape[k] = p.shape.dim[k];
        t[i].numel = cn_shape_numel(&p.shape);
        t[i].data = p.value;
        t[i].nbytes = (size_t)t[i].numel * sizeof(float);
    }
    for (int i = 0; i < ns; i++) {
        cn_optim_state_info si;
        cn_optim_state(o, i, &si);
        cn_param p;
        cn_model_param(m, opt_param[si.param], &p);
        snprintf(names[i], 160, "optim.%s.%s", p.name, si.name);
        cn_st_tensor *e = &t[np + i];
        e->name = names[i];
        e->dtype = CN_ST_DTYPE_F32;
        e->ndim = 1;
        e->shape[0] = e->numel = si.n;
        e->data = si.data;
        e->nbytes = (size_t)si.n * sizeof(float);
    }
    if ((st = cn_model_to_text(m, &model_text)) != CN_OK) goto done;
    state = state_json(s);
    if (!state) {
        st = cn_set_error(CN_STATUS_NOMEM, "%s: out of memory formatting the checkpoint state", path);
        goto done;
    }
    const char *keys[2] = {CN_WEIGHTS_MODEL_KEY, CKPT_KEY}, *vals[2] = {model_text, state};
    st = cn_safetensors_save(path, t, np + ns, keys, vals, 2);
done:
    cn_free(t);
    cn_free(names);
    cn_free(model_text);
    if (state) cJSON_free(state);
    return st;
}

static cn_status bad_state(const char *path, const char *what)
{
    return cn_set_error(CN_STATUS_FORMAT, "%s: checkpoint state: %s", path, what);
}

static int get_u64(const cJSON *o, const char *key, uint64_t *v)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(j)) return 0;
    char *end;
    errno = 0;
    *v = strtoull(j->valuestring, &end, 10);
    return !errno && !*end && end != j->valuestring;
}

static int get_d(const cJSON *o, const char *key, double *v)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(j)) return 0;
    char *end;
    *v = strtod(j->valuestring, &end);
    return !*end && end != j->valuestring;
}

static int get_i(const cJSON *o, const char *key, int64_t *v)
{
    double d = num(o, key);
    if (isnan(d) || d != floor(d) || fabs(d) > 9e15) return 0;
    *v = (int64_t)d;
    return 1;
}

cn_status cn_checkpoint_load(const char *path, cn_model *m, cn_optim *o, const int *opt_param, cn_ckpt_state *s)
{
    memset(s, 0, sizeof *s);
    cn_safetensors *f = NULL;
    cJSON *j = NULL;
    cn_status st = cn_safetensors_load(&f, path);
    if (st != CN_OK) return st;
    const char *text = cn_safetensors_metadata(f, CKPT_KEY);
    if (!text) {
        st = cn_set_error(CN_STATUS_FORMAT, "%s: not a checkpoint (no '%s' metadata; a weights file?)", path, CKPT_KEY);
        goto done;
    }
    if ((st = cn_json_check_cost(text, strlen(text), path)) != CN_OK) goto done;
    j = cJSON_Parse(text);
    const cJSON *sc = j ? cJSON_GetObjectItemCaseSensitive(j, "schedule") : NULL;
    const cJSON *h = j ? cJSON_GetObjectItemCaseSensitive(j, "history") : NULL;
    if (!j || !cJSON_IsObject(j) || !cJSON_IsObject(sc) || !cJSON_IsArray(h)) {
        st = bad_state(path, "not a JSON object with 'schedule' and 'history'");
        goto done;
    }
    if (!get_i(j, "epoch", &s->epoch) || !get_i(j, "batch", &s->batch) || !get_i(j, "step", &s->step) ||
        !get_u64(j, "model_step", &s->model_step) || !get_u64(j, "optim_steps", &s->optim_steps) || !get_u64(j, "seed", &s->seed) ||
        !get_d(sc, "lr", &s->sched.lr) || !get_d(sc, "best", &s->sched.best) || !get_i(sc, "num_bad", &s->sched.num_bad) ||
        !get_i(sc, "cooldown_counter", &s->sched.cooldown_counter) || !get_i(sc, "last_epoch", &s->sched.last_epoch) ||
        !get_d(j, "best", &s->best) || !get_i(j, "bad_epochs", &s->bad_epochs) || !get_d(j, "run_loss", &s->run_loss) ||
        !get_d(j, "run_acc_hits", &s->run_acc_hits) || !get_d(j, "run_count", &s->run_count)) {
        st = bad_state(path, "a field is missing or has the wrong type");
        goto done;
    }
    if (s->epoch < 0 || s->batch < 0 || s->step < 0) {
        st = bad_state(path, "negative epoch, batch or step");
        goto done;
    }
    /* check every tensor before changing anything */
    int ns = o ? cn_optim_state_count(o) : 0;
    for (int i = 0; i < ns; i++) {
        cn_optim_state_info si;
        cn_optim_state(o, i, &si);
        cn_param p;
        cn_model_param(m, opt_param[si.param], &p);
        char name[160];
        snprintf(name, sizeof name, "optim.%s.%s", p.name, si.name);
        cn_st_tensor t;
        if (cn_safetensors_find(f, name, &t) != CN_OK) {
            st = cn_set_error(CN_STATUS_NOT_FOUND, "%s: the checkpoint lacks optimizer state '%s' (a different optimizer or model?)",
                              path, name);
            goto done;
        }
        if (t.dtype != CN_ST_DTYPE_F32 || t.numel != si.n) {
            st = cn_set_error(CN_STATUS_SHAPE, "%s: optimizer state '%s' has %lld %s values, expected %lld F32", path, name,
                              (long long)t.numel, cn_st_dtype_name(t.dtype), (long long)si.n);
            goto done;
        }
    }
    int64_t nh = cJSON_GetArraySize(h);
    s->history = cn_calloc((size_t)nh + 1, sizeof *s->history, "checkpoint history");
    if (!s->history) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, h)
    {
        cn_epoch_record *r = &s->history[s->n_history++];
        if (!get_i(e, "epoch", &r->epoch) || !get_i(e, "step", &r->step)) {
            cn_free(s->history);
            s->history = NULL;
            st = bad_state(path, "a history entry lacks an integer epoch or step");
            goto done;
        }
        r->lr = num(e, "lr");
        r->train_loss = num(e, "train_loss");
        r->train_acc = num(e, "train_acc");
        r->val_loss = num(e, "val_loss");
        r->val_acc = num(e, "val_acc");
        r->time_s = num(e, "time_s");
        r->samples_per_s = num(e, "samples_per_s");
    }
    if ((st = cn_model_load_weights_from(m, f, NULL, 0, CN_WEIGHTS_ALLOW_EXTRA)) != CN_OK) {
        cn_free(s->history);
        s->history = NULL;
        goto done;
    }
    for (int i = 0; i < ns; i++) {
        cn_optim_state_info si;
        cn_optim_state(o, i, &si);
        cn_param p;
        cn_model_param(m, opt_param[si.param], &p);
        char name[160];
        snprintf(name, sizeof name, "optim.%s.%s", p.name, si.name);
        cn_st_tensor t;
        cn_safetensors_find(f, name, &t);
        memcpy(si.data, t.data, (size_t)si.n * sizeof(float));
    }
done:
    cJSON_Delete(j);
    cn_safetensors_destroy(f);
    return st;
}
