/* folder.c — image folders: DIR/<class>/<image>, or DIR/train/<class>/... with DIR/test (or
 * DIR/val). Class indices follow the sorted subfolder names of the training part. Every file
 * with an image extension is probed at open (its header: size and channels); images are then
 * decoded once into an 8-bit cache (cache=1) or on each read (cache=0), converted to the
 * chosen channel count and resized to the chosen size. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "convnet/data.h"
#include "data/spec.h"

#define CACHE_AUTO_BYTES ((uint64_t)1 << 30)

typedef struct {
    char *path;
    int label;
} entry;

typedef struct {
    entry *e;
    int64_t n, cap;
} entry_list;

typedef struct {
    int64_t h, w, c;
    int bad_skip;
    int cache; /* -1 auto */
} folder_cfg;

/* a folder part as a dataset source */
typedef struct {
    entry *e;
    int64_t n;
    folder_cfg cfg;
    unsigned char *cache; /* n x (h w c), HWC, or NULL */
} folder_src;

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int has_image_ext(const char *name)
{
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".pnm", ".tga", ".psd", ".hdr", NULL};
    size_t n = strlen(name);
    for (int k = 0; ext[k]; k++) {
        size_t m = strlen(ext[k]);
        if (n > m && !strcasecmp(name + n - m, ext[k])) return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* the sorted names in dir that are subfolders (dirs = 1) or image files (dirs = 0) */
static cn_status list_dir(const char *dir, int dirs, char ***out, int64_t *n)
{
    *out = NULL, *n = 0;
    DIR *d = opendir(dir);
    if (!d) return cn_set_error(CN_STATUS_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    char **v = NULL;
    int64_t cap = 0, cnt = 0;
    cn_status st = CN_OK;
    struct dirent *de;
    char path[4096];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        int isd = is_dir(path);
        if (dirs ? !isd : (isd || !has_image_ext(de->d_name))) continue;
        if (cnt == cap) {
            int64_t nc = cap ? cap * 2 : 64;
            char **nv = cn_malloc((size_t)nc * sizeof(char *), "folder listing");
            if (!nv) {
                st = CN_STATUS_NOMEM;
                break;
            }
            if (cnt) memcpy(nv, v, (size_t)cnt * sizeof(char *));
            cn_free(v);
            v = nv, cap = nc;
        }
        size_t len = strlen(de->d_name) + 1;
        if (!(v[cnt] = cn_malloc(len, "folder listing"))) {
            st = CN_STATUS_NOMEM;
            break;
        }
        memcpy(v[cnt++], de->d_name, len);
    }
    closedir(d);
    if (st != CN_OK) {
        for (int64_t i = 0; i < cnt; i++) cn_free(v[i]);
        cn_free(v);
        return st;
    }
    if (cnt) qsort(v, (size_t)cnt, sizeof(char *), cmp_str);
    *out = v, *n = cnt;
    return CN_OK;
}

static void free_names(char **v, int64_t n)
{
    for (int64_t i = 0; i < n; i++) cn_free(v[i]);
    cn_free(v);
}

static void free_entries(entry_list *l)
{
    for (int64_t i = 0; i < l->n; i++) cn_free(l->e[i].path);
    cn_free(l->e);
    l->e = NULL, l->n = l->cap = 0;
}

static cn_status add_entry(entry_list *l, const char *path, int label)
{
    if (l->n == l->cap) {
        int64_t nc = l->cap ? l->cap * 2 : 256;
        entry *ne = cn_malloc((size_t)nc * sizeof(entry), "folder files");
        if (!ne) return CN_STATUS_NOMEM;
        if (l->n) memcpy(ne, l->e, (size_t)l->n * sizeof(entry));
        cn_free(l->e);
        l->e = ne, l->cap = nc;
    }
    size_t len = strlen(path) + 1;
    char *p = cn_malloc(len, "folder files");
    if (!p) return CN_STATUS_NOMEM;
    memcpy(p, path, len);
    l->e[l->n++] = (entry){p, label};
    return CN_OK;
}

/* every image of part `dir`, labelled by the position of its subfolder in `classes` */
static cn_status scan_part(const char *dir, char **classes, int64_t nclasses, int strict, entry_list *out)
{
    char **sub = NULL;
    int64_t nsub = 0;
    cn_status st = list_dir(dir, 1, &sub, &nsub);
    if (st != CN_OK) return st;
    if (!nsub) {
        st = cn_set_error(CN_STATUS_FORMAT, "%s: no class subfolders; expected one folder of images per class (DIR/<class>/<image>)", dir);
        goto done;
    }
    for (int64_t s = 0; s < nsub && st == CN_OK; s++) {
        int label = -1;
        for (int64_t k = 0; k < nclasses; k++)
            if (!strcmp(classes[k], sub[s])) label = (int)k;
        if (label < 0) {
            if (strict) st = cn_set_error(CN_STATUS_FORMAT, "%s/%s: class '%s' does not exist in the training part", dir, sub[s], sub[s]);
            continue;
        }
        char cdir[4096];
        snprintf(cdir, sizeof cdir, "%s/%s", dir, sub[s]);
        char **files = NULL;
        int64_t nf = 0;
        if ((st = list_dir(cdir, 0, &files, &nf)) != CN_OK) break;
        for (int64_t f = 0; f < nf && st == CN_OK; f++) {
            char path[4096 + 256];
            snprintf(path, sizeof path, "%s/%s", cdir, files[f]);
            st = add_entry(out, path, label);
        }
        free_names(files, nf);
    }
    if (st == CN_OK && !out->n) st = cn_set_error(CN_STATUS_FORMAT, "%s: no image files (png, jpg, bmp, gif, pgm, ppm, tga) in its class folders", dir);
done:
    free_names(sub, nsub);
    return st;
}

/* decode one file to the configured size and channels (HWC bytes into px) */
static cn_status decode_to(const folder_cfg *c, const char *path, unsigned char *px)
{
    cn_image im, rs;
    cn_status st = cn_image_load(&im, path, (int)c->c);
    if (st != CN_OK) return st;
    if (im.w == c->w && im.h == c->h) memcpy(px, im.px, (size_t)(c->h * c->w * c->c));
    else if ((st = cn_image_resize(&rs, &im, (int)c->w, (int)c->h)) == CN_OK) {
        memcpy(px, rs.px, (size_t)(c->h * c->w * c->c));
        cn_image_free(&rs);
    }
    cn_image_free(&im);
    return st;
}

static void hwc_to_chw(float *x, const unsigned char *px, int64_t h, int64_t w, int64_t c)
{
    int64_t n = h * w;
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t i = 0; i < n; i++) x[ch * n + i] = (float)px[i * c + ch] * (1.0f / 255.0f);
}

static cn_status folder_get(void *self, int64_t i, float *x, float *t)
{
    folder_src *s = self;
    const folder_cfg *c = &s->cfg;
    if (t) t[0] = (float)s->e[i].label;
    int64_t sz = c->h * c->w * c->c;
    if (s->cache) {
        hwc_to_chw(x, s->cache + i * sz, c->h, c->w, c->c);
        return CN_OK;
    }
    unsigned char *px = cn_malloc((size_t)sz, s->e[i].path);
    if (!px) return CN_STATUS_NOMEM;
    cn_status st = decode_to(c, s->e[i].path, px);
    if (st == CN_OK) hwc_to_chw(x, px, c->h, c->w, c->c);
    cn_free(px);
    return st;
}

static void folder_destroy(void *self)
{
    folder_src *s = self;
    if (!s) return;
    for (int64_t i = 0; i < s->n; i++) cn_free(s->e[i].path);
    cn_free(s->e);
    cn_free(s->cache);
    cn_free(s);
}

/* probing and decoding at open, in parallel: each file writes its own slot */
typedef struct {
    const folder_cfg *cfg;
    entry *e;
    cn_status *st;
    int *w, *h, *c;
    unsigned char *cache; /* NULL: probe only */
} open_job;

static void open_files(void *p, int64_t b, int64_t end)
{
    open_job *j = p;
    int64_t sz = j->cfg->h * j->cfg->w * j->cfg->c;
    for (int64_t i = b; i < end; i++) {
        if (!j->cache) j->st[i] = cn_image_probe(j->e[i].path, &j->w[i], &j->h[i], &j->c[i]);
        else if (j->st[i] == CN_OK) j->st[i] = decode_to(j->cfg, j->e[i].path, j->cache + i * sz);
    }
}

/* re-run file i's step on this thread to get its message */
static cn_status explain(const open_job *j, int64_t i, int decoding, char *msg, size_t cap)
{
    int w, h, c;
    cn_status st;
    if (!decoding) st = cn_image_probe(j->e[i].path, &w, &h, &c);
    else {
        unsigned char *px = cn_malloc((size_t)(j->cfg->h * j->cfg->w * j->cfg->c), "image");
        st = px ? decode_to(j->cfg, j->e[i].path, px) : CN_STATUS_NOMEM;
        cn_free(px);
    }
    snprintf(msg, cap, "%s: %s", j->e[i].path, st != CN_OK ? cn_last_error() : "failed once, then read correctly on a second try");
    if (st != CN_OK) snprintf(msg, cap, "%s", cn_last_error());
    return st != CN_OK ? st : CN_STATUS_IO;
}

/* Mark file i bad: stop (error) or count it for the warning. */
static cn_status bad_file(const folder_cfg *cfg, char *bad, int64_t i, cn_status why, const char *msg, int64_t *nbad, char *first,
                          size_t cap)
{
    if (!cfg->bad_skip) return cn_set_error(why, "%s (bad=skip leaves such files out)", msg);
    bad[i] = 1;
    if (!(*nbad)++) snprintf(first, cap, "%s", msg);
    return CN_OK;
}

/* drop the files marked bad (and their cache rows) */
static void compact(entry_list *l, char *bad, unsigned char *cache, int64_t sz)
{
    int64_t k = 0;
    for (int64_t i = 0; i < l->n; i++) {
        if (bad[i]) {
            cn_free(l->e[i].path);
            continue;
        }
        if (k != i) {
            l->e[k] = l->e[i];
            if (cache) memmove(cache + k * sz, cache + i * sz, (size_t)sz);
        }
        bad[k] = 0;
        k++;
    }
    l->n = k;
}

/* probe, check sizes, decode (cache) and drop bad files; fills cfg's size and channels when 0.
 * On success the entries move into the new source (l is left empty). */
static cn_status load_part(entry_list *l, folder_cfg *cfg, int size_given, const char *dir, folder_src **out)
{
    *out = NULL;
    const int64_t total_files = l->n;
    cn_status st = CN_OK;
    open_job j = {cfg, l->e, NULL, NULL, NULL, NULL, NULL};
    int64_t n = l->n;
    j.st = cn_calloc((size_t)n, sizeof(cn_status), "folder open");
    j.w = cn_calloc((size_t)n, sizeof(int), "folder open");
    j.h = cn_calloc((size_t)n, sizeof(int), "folder open");
    j.c = cn_calloc((size_t)n, sizeof(int), "folder open");
    char *bad = cn_calloc((size_t)n, 1, "folder open");
    folder_src *s = NULL;
    unsigned char *cache = NULL;
    char msg[1200] = "", first_bad[1200] = "";
    int64_t nbad = 0;
    if (!j.st || !j.w || !j.h || !j.c || !bad) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    /* 1. headers */
    cn_parallel_for(n, 16, open_files, &j);
    int64_t first = -1;
    for (int64_t i = 0; i < n && first < 0; i++)
        if (j.st[i] == CN_OK) first = i;
    if (first >= 0 && !cfg->h) cfg->h = j.h[first], cfg->w = j.w[first];
    if (first >= 0 && !cfg->c) cfg->c = j.c[first] <= 2 ? 1 : 3;
    for (int64_t i = 0; i < n && st == CN_OK; i++) {
        cn_status why = j.st[i];
        if (why == CN_STATUS_NOMEM || why == CN_STATUS_LIMIT) { /* not the file's fault */
            st = cn_set_error(why, "%s: out of memory reading it", l->e[i].path);
            goto done;
        }
        if (why != CN_OK) why = explain(&j, i, 0, msg, sizeof msg);
        else if (!size_given && (j.h[i] != cfg->h || j.w[i] != cfg->w)) {
            snprintf(msg, sizeof msg, "%s: %d x %d pixels (W x H), but the first image %s is %lld x %lld; give size=HxW to resize every image",
                     l->e[i].path, j.w[i], j.h[i], l->e[first].path, (long long)cfg->w, (long long)cfg->h);
            why = CN_STATUS_SHAPE;
        }
        if (why != CN_OK) st = bad_file(cfg, bad, i, why, msg, &nbad, first_bad, sizeof first_bad);
    }
    if (st != CN_OK) goto done;
    if (first < 0) {
        st = cn_set_error(CN_STATUS_FORMAT, "%s: none of its %lld image files could be read (first: %s)", dir, (long long)n, first_bad);
        goto done;
    }
    compact(l, bad, NULL, 0);
    n = l->n;
    j.e = l->e;
    for (int64_t i = 0; i < n; i++) j.st[i] = CN_OK;
    /* 2. pixels, when cached */
    int64_t sz = cfg->h * cfg->w * cfg->c;
    uint64_t bytes;
    if (cn_mul_size((uint64_t)n, (uint64_t)sz, &bytes, "folder cache") != CN_OK) {
        st = CN_STATUS_LIMIT;
        goto done;
    }
    int use_cache = cfg->cache < 0 ? bytes <= CACHE_AUTO_BYTES : cfg->cache;
    if (use_cache) {
        if (!(cache = cn_malloc((size_t)bytes, "folder cache"))) {
            st = CN_STATUS_NOMEM;
            goto done;
        }
        j.cache = cache;
        cn_parallel_for(n, 4, open_files, &j);
        for (int64_t i = 0; i < n && st == CN_OK; i++)
            if (j.st[i] == CN_STATUS_NOMEM) {
                st = cn_set_error(CN_STATUS_NOMEM, "%s: out of memory decoding it", l->e[i].path);
                goto done;
            } else if (j.st[i] != CN_OK) {
                cn_status why = explain(&j, i, 1, msg, sizeof msg);
                st = bad_file(cfg, bad, i, why, msg, &nbad, first_bad, sizeof first_bad);
            }
        if (st != CN_OK) goto done;
        compact(l, bad, cache, sz);
        n = l->n;
        if (!n) {
            st = cn_set_error(CN_STATUS_FORMAT, "%s: none of its %lld image files could be decoded (first: %s)", dir, (long long)total_files,
                              first_bad);
            goto done;
        }
    }
    if (nbad)
        cn_log(CN_LOG_WARN, "%s: skipped %lld of %lld image files that could not be read (first: %s)", dir, (long long)nbad,
               (long long)total_files, first_bad);
    if (!(s = cn_calloc(1, sizeof *s, "folder dataset"))) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    s->cfg = *cfg;
    s->e = l->e, s->n = l->n;
    s->cache = cache;
    cache = NULL;
    l->e = NULL, l->n = l->cap = 0;
done:
    cn_free(j.st), cn_free(j.w), cn_free(j.h), cn_free(j.c), cn_free(bad), cn_free(cache);
    if (st == CN_OK) *out = s;
    return st;
}

static cn_status make_part(cn_dataset **out, entry_list *l, folder_cfg *cfg, int size_given, const char *dir, const char *name,
                           char **classes, int64_t nclasses)
{
    folder_src *s;
    cn_status st = load_part(l, cfg, size_given, dir, &s);
    if (st != CN_OK) return st;
    cn_dataset_info info = {0};
    info.n = s->n;
    info.sample = (cn_shape){3, {cfg->c, cfg->h, cfg->w}};
    info.target_kind = CN_TARGET_CLASS;
    info.num_classes = (int)nclasses;
    snprintf(info.name, sizeof info.name, "%s", name);
    static const cn_dataset_ops ops = {folder_get, folder_destroy};
    if ((st = cn_dataset_create(out, &info, &ops, s)) != CN_OK) return st;
    if ((st = cn_dataset_set_class_names(*out, (const char *const *)classes, (int)nclasses)) != CN_OK) {
        cn_dataset_destroy(*out);
        *out = NULL;
    }
    return st;
}

cn_status cn_open_folder(cn_dataset **train, cn_dataset **test, const char *dir, const char *opts)
{
    static const char *const keys[] = {"size", "channels", "bad", "cache", NULL};
    static const char *const bads[] = {"stop", "skip", NULL};
    static const char *const caches[] = {"0", "1", "auto", NULL};
    spec_opts o;
    char what[1100];
    snprintf(what, sizeof what, "folder:%s", dir);
    cn_status st = spec_parse(&o, what, opts, keys);
    folder_cfg cfg = {0, 0, 0, 0, -1};
    int64_t ch;
    int bad_mode, cache_mode;
    if (st == CN_OK) st = spec_size(&o, "size", 0, 0, &cfg.h, &cfg.w);
    if (st == CN_OK) st = spec_int(&o, "channels", 0, 1, 4, &ch);
    if (st == CN_OK) st = spec_choice(&o, "bad", bads, 0, &bad_mode);
    if (st == CN_OK) st = spec_choice(&o, "cache", caches, 2, &cache_mode);
    if (st != CN_OK) return st;
    cfg.c = ch;
    cfg.bad_skip = bad_mode == 1;
    cfg.cache = cache_mode == 2 ? -1 : cache_mode;
    int size_given = cfg.h > 0;
    if (!is_dir(dir)) return cn_set_error(CN_STATUS_IO, "%s: not a folder (folder:DIR expects DIR/<class>/<image>)", dir);

    char trdir[4096], tedir[4096] = "";
    snprintf(trdir, sizeof trdir, "%s/train", dir);
    if (is_dir(trdir)) {
        snprintf(tedir, sizeof tedir, "%s/test", dir);
        if (!is_dir(tedir)) snprintf(tedir, sizeof tedir, "%s/val", dir);
        if (!is_dir(tedir)) tedir[0] = '\0';
    } else snprintf(trdir, sizeof trdir, "%s", dir), tedir[0] = '\0';

    char **classes = NULL;
    int64_t nclasses = 0;
    entry_list tr = {0}, te = {0};
    if ((st = list_dir(trdir, 1, &classes, &nclasses)) != CN_OK) return st;
    if ((st = scan_part(trdir, classes, nclasses, 1, &tr)) != CN_OK) goto done;
    if ((st = make_part(train, &tr, &cfg, size_given, trdir, "folder/train", classes, nclasses)) != CN_OK) goto done;
    if (test && tedir[0]) {
        /* the test part takes the training part's size and channels */
        if ((st = scan_part(tedir, classes, nclasses, 1, &te)) == CN_OK)
            st = make_part(test, &te, &cfg, 1, tedir, "folder/test", classes, nclasses);
        if (st != CN_OK) {
            cn_dataset_destroy(*train);
            *train = NULL;
        }
    }
done:
    free_entries(&tr);
    free_entries(&te);
    free_names(classes, nclasses);
    return st;
}
