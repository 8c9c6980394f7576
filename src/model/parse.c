/* parse.c — the model text format (docs/FORMAT.md): read and write.
 *
 *   # comments start with '#' or ';'
 *   [input]
 *   name = x
 *   shape = 1x28x28
 *
 *   [conv]            # a block per layer: its type in brackets
 *   name = c1         # optional; default <type><k>
 *   input = x         # optional; default: the previous block. Several: input = a, b
 *   filters = 6
 *   kernel = 5
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "io/file.h"
#include "model_internal.h"

typedef struct {
    char type[CN_NAME_MAX];
    char name[CN_NAME_MAX];
    int has_name, line;
    int n_in;
    char inputs[CN_MAX_INPUTS][CN_NAME_MAX];
    int n_opts;
    char keys[CN_MAX_OPTS][CN_NAME_MAX];
    char vals[CN_MAX_OPTS][256];
    int opt_lines[CN_MAX_OPTS]; /* the line of each option, for messages */
} block;

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static cn_status flush(cn_model *m, block *b)
{
    if (!b->type[0]) return CN_OK;
    const char *keys[CN_MAX_OPTS], *vals[CN_MAX_OPTS], *ins[CN_MAX_INPUTS];
    for (int i = 0; i < b->n_opts; i++) keys[i] = b->keys[i], vals[i] = b->vals[i];
    for (int i = 0; i < b->n_in; i++) ins[i] = b->inputs[i];
    cn_status st = cn_model_add_node(m, b->type, b->has_name ? b->name : NULL, ins, b->n_in, keys, vals, b->n_opts, b->line, b->opt_lines);
    memset(b, 0, sizeof *b);
    return st;
}

static cn_status parse_into(cn_model *m, const char *text, const char *filename)
{
    snprintf(m->source, sizeof m->source, "%s", filename ? filename : "model");
    block *b = cn_calloc(1, sizeof *b, "model parser");
    if (!b) return CN_STATUS_NOMEM;
    cn_status st = CN_OK;
    char line[1024];
    int lineno = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (len >= sizeof line) {
            st = cn_set_error(CN_STATUS_FORMAT, "%s:%d: line longer than %zu characters", m->source, lineno, sizeof line - 1);
            goto done;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (nl ? 1 : 0);
        for (char *c = line; *c; c++)
            if (*c == '#' || *c == ';') {
                *c = '\0';
                break;
            }
        char *s = trim(line);
        if (!*s) continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || trim(close + 1)[0]) {
                st = cn_set_error(CN_STATUS_FORMAT, "%s:%d: expected a block header like [conv], found '%s'", m->source, lineno, s);
                goto done;
            }
            *close = '\0';
            char *type = trim(s + 1);
            if ((st = flush(m, b)) != CN_OK) goto done;
            if (!*type || strlen(type) >= CN_NAME_MAX) {
                st = cn_set_error(CN_STATUS_FORMAT, "%s:%d: empty or overlong layer type in '[%s]'", m->source, lineno, type);
                goto done;
            }
            strcpy(b->type, type);
            b->line = lineno;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            st = cn_set_error(CN_STATUS_FORMAT, "%s:%d: expected 'key = value' or '[type]', found '%s'", m->source, lineno, s);
            goto done;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (!b->type[0]) {
            st = cn_set_error(CN_STATUS_FORMAT, "%s:%d: option '%s' before any [layer] block", m->source, lineno, key);
            goto done;
        }
        if (!*key || !*val) {
            st = cn_set_error(CN_STATUS_FORMAT, "%s:%d: expected 'key = value', found an empty %s", m->source, lineno,
                              *key ? "value" : "key");
            goto done;
        }
        if (!strcmp(key, "name")) {
            if (strlen(val) >= CN_NAME_MAX) {
                st = cn_set_error(CN_STATUS_FORMAT, "%s:%d: name longer than %d characters", m->source, lineno, CN_NAME_MAX - 1);
                goto done;
            }
            strcpy(b->name, val);
            b->has_name = 1;
        } else if (!strcmp(key, "input") || !strcmp(key, "inputs")) {
            b->n_in = 0;
            char *save = NULL;
            for (char *tok = strtok_r(val, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
                if (b->n_in == CN_MAX_INPUTS || strlen(tok) >= CN_NAME_MAX) {
                    st = cn_set_error(CN_STATUS_FORMAT, "%s:%d: too many or overlong input names", m->source, lineno);
                    goto done;
                }
                strcpy(b->inputs[b->n_in++], tok);
            }
        } else {
            for (int i = 0; i < b->n_opts; i++)
                if (!strcmp(b->keys[i], key)) {
                    st = cn_set_error(CN_STATUS_FORMAT, "%s:%d: option '%s' given twice in this block", m->source, lineno, key);
                    goto done;
                }
            if (b->n_opts == CN_MAX_OPTS || strlen(key) >= CN_NAME_MAX || strlen(val) >= 256) {
                st = cn_set_error(CN_STATUS_FORMAT, "%s:%d: too many options or an overlong key/value", m->source, lineno);
                goto done;
            }
            strcpy(b->keys[b->n_opts], key);
            b->opt_lines[b->n_opts] = lineno;
            strcpy(b->vals[b->n_opts++], val);
        }
    }
    st = flush(m, b);
    if (st == CN_OK && m->n == 0) st = cn_set_error(CN_STATUS_FORMAT, "%s: no layers (expected blocks like [input] and [conv])", m->source);
done:
    cn_free(b);
    return st;
}

cn_status cn_model_parse(cn_model **out, const char *text, const char *filename)
{
    *out = NULL;
    cn_model *m;
    cn_status st = cn_model_create(&m);
    if (st != CN_OK) return st;
    if ((st = parse_into(m, text, filename)) != CN_OK) {
        cn_model_destroy(m);
        return st;
    }
    *out = m;
    return CN_OK;
}

cn_status cn_model_load(cn_model **out, const char *path)
{
    *out = NULL;
    unsigned char *buf;
    size_t len;
    cn_status st = cn_file_read_all(path, &buf, &len);
    if (st != CN_OK) return st;
    if (memchr(buf, 0, len)) {
        cn_free(buf);
        return cn_set_error(CN_STATUS_FORMAT, "%s: contains NUL bytes; a model file is text", path);
    }
    st = cn_model_parse(out, (const char *)buf, path);
    cn_free(buf);
    return st;
}

static cn_status append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t ncap = (*cap + n + 1) * 2;
        char *nb = cn_malloc(ncap, "model text");
        if (!nb) return CN_STATUS_NOMEM;
        if (*buf) memcpy(nb, *buf, *len + 1);
        cn_free(*buf);
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
    return CN_OK;
}

cn_status cn_model_to_text(const cn_model *m, char **text)
{
    *text = NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    cn_status st = append(&buf, &len, &cap, "# convnet model\n");
    for (int i = 0; i < m->n && st == CN_OK; i++) {
        const cn_node *nd = &m->nodes[i];
        char line[CN_MAX_INPUTS * CN_NAME_MAX + 128];
        snprintf(line, sizeof line, "\n[%s]\nname = %s\n", nd->layer.ops->name, nd->layer.name);
        st = append(&buf, &len, &cap, line);
        int implicit = nd->n_in == 1 && i > 0 && !strcmp(nd->in_names[0], m->nodes[i - 1].layer.name);
        if (st == CN_OK && nd->n_in && !implicit) {
            size_t u = (size_t)snprintf(line, sizeof line, "input = ");
            for (int k = 0; k < nd->n_in; k++) u += (size_t)snprintf(line + u, sizeof line - u, "%s%s", k ? ", " : "", nd->in_names[k]);
            snprintf(line + u, sizeof line - u, "\n");
            st = append(&buf, &len, &cap, line);
        }
        if (st == CN_OK) st = cn_opts_format(nd->layer.ops, nd->layer.cfg, &buf, &len, &cap);
    }
    if (st != CN_OK) {
        cn_free(buf);
        return st;
    }
    *text = buf;
    return CN_OK;
}

cn_status cn_model_save(const cn_model *m, const char *path)
{
    char *text;
    cn_status st = cn_model_to_text(m, &text);
    if (st != CN_OK) return st;
    cn_atomic_file af;
    if ((st = cn_atomic_open(&af, path)) == CN_OK) {
        if ((st = cn_atomic_write(&af, text, strlen(text))) == CN_OK) st = cn_atomic_commit(&af);
        else cn_atomic_abort(&af);
    }
    cn_free(text);
    return st;
}
