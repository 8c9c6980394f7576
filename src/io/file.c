/* file.c — whole-file reads and atomic (temp + fsync + rename) writes. */
#include "file.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A pipe, FIFO or character device (e.g. /dev/stdin, <(cmd)): its size is unknown, so read
 * it in growing chunks, still under the memory cap. */
static cn_status read_stream(FILE *f, const char *path, unsigned char **buf, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    unsigned char *p = cn_malloc(cap + 1, path);
    if (!p) return CN_STATUS_NOMEM;
    for (;;) {
        n += fread(p + n, 1, cap - n, f);
        if (ferror(f)) {
            cn_free(p);
            return cn_set_error(CN_STATUS_IO, "%s: read failed after %zu bytes: %s", path, n, strerror(errno));
        }
        if (n < cap) break; /* end of the stream */
        if ((uint64_t)cap * 2 > cn_memory_limit()) {
            cn_free(p);
            return cn_set_error(CN_STATUS_LIMIT, "%s: the stream is longer than the memory cap of %llu bytes", path,
                                (unsigned long long)cn_memory_limit());
        }
        unsigned char *q = cn_malloc(cap * 2 + 1, path);
        if (!q) {
            cn_free(p);
            return CN_STATUS_NOMEM;
        }
        memcpy(q, p, n);
        cn_free(p);
        p = q, cap *= 2;
    }
    p[n] = 0;
    *buf = p;
    *len = n;
    return CN_OK;
}

cn_status cn_file_read_all(const char *path, unsigned char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    cn_status st = CN_OK;
    FILE *f = fopen(path, "rb");
    if (!f) return cn_set_error(CN_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        st = cn_set_error(CN_STATUS_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    if (S_ISDIR(sb.st_mode)) {
        st = cn_set_error(CN_STATUS_IO, "%s: is a directory, expected a file", path);
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = read_stream(f, path, buf, len);
        goto done;
    }
    if ((uint64_t)sb.st_size > cn_memory_limit()) {
        st = cn_set_error(CN_STATUS_LIMIT, "%s: %lld bytes, above the memory cap of %llu bytes", path,
                          (long long)sb.st_size, (unsigned long long)cn_memory_limit());
        goto done;
    }
    size_t size = (size_t)sb.st_size;
    unsigned char *p = cn_malloc(size + 1, path);
    if (!p) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    size_t got = fread(p, 1, size, f);
    if (got != size || ferror(f)) {
        cn_free(p);
        st = cn_set_error(CN_STATUS_IO, "%s: read %zu of %zu bytes: %s", path, got, size,
                          ferror(f) ? strerror(errno) : "file shrank while reading");
        goto done;
    }
    p[size] = 0;
    *buf = p;
    *len = size;
done:
    fclose(f);
    return st;
}

cn_status cn_atomic_open(cn_atomic_file *af, const char *path)
{
    static atomic_uint counter;
    memset(af, 0, sizeof *af);
    if (strlen(path) >= sizeof af->path)
        return cn_set_error(CN_STATUS_INVALID_ARG, "output path is too long (%zu characters)", strlen(path));
    strcpy(af->path, path);
    snprintf(af->tmp, sizeof af->tmp, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&counter, 1));
    af->f = fopen(af->tmp, "wb");
    if (!af->f) return cn_set_error(CN_STATUS_IO, "%s: cannot create: %s", path, strerror(errno));
    return CN_OK;
}

cn_status cn_atomic_write(cn_atomic_file *af, const void *data, size_t len)
{
    if (!af->f) return cn_set_error(CN_STATUS_INVALID_STATE, "%s: write after the file was closed", af->path);
    if (len && fwrite(data, 1, len, af->f) != len)
        return cn_set_error(CN_STATUS_IO, "%s: write failed: %s", af->path, strerror(errno));
    return CN_OK;
}

cn_status cn_atomic_commit(cn_atomic_file *af)
{
    if (!af->f) return cn_set_error(CN_STATUS_INVALID_STATE, "%s: commit after the file was closed", af->path);
    cn_status st = CN_OK;
    if (fflush(af->f) != 0 || fsync(fileno(af->f)) != 0)
        st = cn_set_error(CN_STATUS_IO, "%s: flush failed: %s", af->path, strerror(errno));
    if (fclose(af->f) != 0 && st == CN_OK) st = cn_set_error(CN_STATUS_IO, "%s: close failed: %s", af->path, strerror(errno));
    af->f = NULL;
    if (st == CN_OK && rename(af->tmp, af->path) != 0)
        st = cn_set_error(CN_STATUS_IO, "%s: cannot rename into place: %s", af->path, strerror(errno));
    if (st != CN_OK) remove(af->tmp);
    return st;
}

void cn_atomic_abort(cn_atomic_file *af)
{
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
        remove(af->tmp);
    }
}

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

cn_status cn_make_dirs(const char *dir)
{
    char p[4096];
    if (!dir || !*dir || strlen(dir) >= sizeof p)
        return cn_set_error(CN_STATUS_INVALID_ARG, "cannot create directory '%s': empty or too long a path", dir ? dir : "");
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1;; s++)
        if (*s == '/' || *s == '\0') {
            const char c = *s;
            *s = '\0';
            if (!is_dir(p) && mkdir(p, 0777) != 0 && !is_dir(p))
                return cn_set_error(CN_STATUS_IO, "cannot create directory '%s': %s", p,
                                    errno == EEXIST ? "a file of that name is in the way" : strerror(errno));
            *s = c;
            if (!c) break;
        }
    return CN_OK;
}

int cn_atomic_sweep(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t || t == e->d_name) continue;
        char *end;
        long pid = strtol(t + 5, &end, 10);
        if (pid <= 0 || *end != '.' || end[1] < '0' || end[1] > '9') continue;
        strtoul(end + 1, &end, 10);
        if (*end) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive (or not ours to judge) */
        char path[4600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        removed += unlink(path) == 0;
    }
    closedir(d);
    return removed;
}
