/* npz.c — NumPy .npz archives (zip files of .npy arrays), read with libzip. Each entry is
 * inflated into a buffer of exactly the size the directory declares (checked first against
 * the memory cap and against the most its compressed size can expand to); libzip verifies
 * the CRC when the entry has been read to its end; the .npy inside is parsed by cn_npy_parse. */
#include <stdio.h>
#include <string.h>
#include <zip.h>

#include "convnet/data.h"

/* deflate cannot expand more than 1032:1 */
#define DEFLATE_MAX_RATIO 1032

struct cn_npz {
    zip_t *za;
    char *path;
    int64_t n;
    char **names; /* array names: entry names without ".npy" */
};

static cn_status zip_status(int code)
{
    switch (code) {
    case ZIP_ER_MEMORY: return CN_STATUS_NOMEM;
    case ZIP_ER_NOENT:
    case ZIP_ER_OPEN:
    case ZIP_ER_READ:
    case ZIP_ER_SEEK: return CN_STATUS_IO;
    default: return CN_STATUS_FORMAT;
    }
}

void cn_npz_close(cn_npz *z)
{
    if (!z) return;
    if (z->za) zip_discard(z->za);
    if (z->names)
        for (int64_t i = 0; i < z->n; i++) cn_free(z->names[i]);
    cn_free(z->names);
    cn_free(z->path);
    cn_free(z);
}

static char *dup_str(const char *s, const char *what)
{
    size_t n = strlen(s) + 1;
    char *d = cn_malloc(n, what);
    if (d) memcpy(d, s, n);
    return d;
}

cn_status cn_npz_open(cn_npz **out, const char *path)
{
    *out = NULL;
    if (!path || !*path) return cn_set_error(CN_STATUS_INVALID_ARG, "npz: no file name given");
    cn_npz *z = cn_calloc(1, sizeof *z, "npz archive");
    if (!z) return CN_STATUS_NOMEM;
    cn_status st = CN_OK;
    if (!(z->path = dup_str(path, "npz archive"))) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    int err = 0;
    z->za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!z->za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, err);
        const char *why = err == ZIP_ER_NOZIP ? "not a zip archive (an .npz file is one): no end-of-central-directory record found"
                                              : zip_error_strerror(&ze);
        st = cn_set_error(zip_status(err), "%s: cannot open as an .npz archive: %s", path, why);
        zip_error_fini(&ze);
        goto done;
    }
    zip_int64_t n = zip_get_num_entries(z->za, 0);
    if (n < 0) {
        st = cn_set_error(CN_STATUS_FORMAT, "%s: cannot read the zip directory", path);
        goto done;
    }
    z->n = n;
    if (!(z->names = cn_calloc((size_t)(n ? n : 1), sizeof(char *), "npz names"))) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(z->za, (zip_uint64_t)i, 0);
        if (!name) {
            st = cn_set_error(CN_STATUS_FORMAT, "%s: entry %lld has no readable name: %s", path, (long long)i, zip_strerror(z->za));
            goto done;
        }
        if (!(z->names[i] = dup_str(name, "npz names"))) {
            st = CN_STATUS_NOMEM;
            goto done;
        }
        size_t len = strlen(z->names[i]);
        if (len > 4 && !strcmp(z->names[i] + len - 4, ".npy")) z->names[i][len - 4] = '\0';
    }
done:
    if (st != CN_OK) cn_npz_close(z);
    else *out = z;
    return st;
}

int64_t cn_npz_count(const cn_npz *z) { return z->n; }

const char *cn_npz_name(const cn_npz *z, int64_t i) { return i >= 0 && i < z->n ? z->names[i] : NULL; }

static int64_t find(const cn_npz *z, const char *name)
{
    size_t len = strlen(name);
    char base[512];
    if (len > 4 && !strcmp(name + len - 4, ".npy")) len -= 4;
    if (len >= sizeof base) return -1;
    memcpy(base, name, len);
    base[len] = '\0';
    for (int64_t i = 0; i < z->n; i++)
        if (!strcmp(z->names[i], base)) return i;
    return -1;
}

int cn_npz_has(const cn_npz *z, const char *name) { return find(z, name) >= 0; }

cn_status cn_npz_read(cn_npz *z, const char *name, cn_npy *out)
{
    memset(out, 0, sizeof *out);
    int64_t i = find(z, name);
    if (i < 0) {
        char list[512] = "";
        size_t used = 0;
        for (int64_t k = 0; k < z->n && used + 4 < sizeof list; k++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", z->names[k]);
        if (used >= sizeof list) used = sizeof list - 1;
        return cn_set_error(CN_STATUS_NOT_FOUND, "%s: no array '%s' in the archive (it holds: %s)", z->path, name,
                            z->n ? list : "nothing");
    }
    const char *entry = zip_get_name(z->za, (zip_uint64_t)i, 0);
    zip_stat_t sb;
    zip_stat_init(&sb);
    if (zip_stat_index(z->za, (zip_uint64_t)i, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE) || !(sb.valid & ZIP_STAT_COMP_SIZE))
        return cn_set_error(CN_STATUS_FORMAT, "%s: entry '%s': cannot read its size: %s", z->path, entry, zip_strerror(z->za));
    if ((sb.valid & ZIP_STAT_ENCRYPTION_METHOD) && sb.encryption_method != ZIP_EM_NONE)
        return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: entry '%s' is encrypted", z->path, entry);
    int stored = (sb.valid & ZIP_STAT_COMP_METHOD) && sb.comp_method == ZIP_CM_STORE;
    uint64_t most = stored ? (uint64_t)sb.comp_size
                           : (sb.comp_size > UINT64_MAX / DEFLATE_MAX_RATIO ? UINT64_MAX : (uint64_t)sb.comp_size * DEFLATE_MAX_RATIO + 64);
    if ((uint64_t)sb.size > most)
        return cn_set_error(CN_STATUS_FORMAT,
                            "%s: entry '%s' declares %llu bytes but holds %llu %s bytes, which cannot expand to that (the archive is corrupt)",
                            z->path, entry, (unsigned long long)sb.size, (unsigned long long)sb.comp_size,
                            stored ? "stored" : "compressed");
    if ((uint64_t)sb.size > cn_memory_limit() || (uint64_t)sb.size > SIZE_MAX - 1)
        return cn_set_error(CN_STATUS_LIMIT, "%s: entry '%s' declares %llu bytes, over the memory cap of %llu bytes", z->path, entry,
                            (unsigned long long)sb.size, (unsigned long long)cn_memory_limit());
    if (sb.size == 0) return cn_set_error(CN_STATUS_FORMAT, "%s: entry '%s' is empty, expected a .npy array", z->path, entry);
    unsigned char *buf = cn_malloc((size_t)sb.size, entry);
    if (!buf) return CN_STATUS_NOMEM;
    cn_status st = CN_OK;
    zip_file_t *zf = zip_fopen_index(z->za, (zip_uint64_t)i, 0);
    if (!zf) {
        st = cn_set_error(CN_STATUS_FORMAT, "%s: entry '%s': cannot open: %s", z->path, entry, zip_strerror(z->za));
        goto done;
    }
    uint64_t got = 0;
    while (got < (uint64_t)sb.size) {
        zip_int64_t r = zip_fread(zf, buf + got, (zip_uint64_t)sb.size - got);
        if (r < 0) {
            st = cn_set_error(CN_STATUS_FORMAT, "%s: entry '%s': read failed at byte %llu of %llu: %s (the archive is corrupt)", z->path,
                              entry, (unsigned long long)got, (unsigned long long)sb.size, zip_file_strerror(zf));
            goto done;
        }
        if (r == 0) {
            st = cn_set_error(CN_STATUS_FORMAT, "%s: entry '%s': data ends at byte %llu, the directory declares %llu (truncated)",
                              z->path, entry, (unsigned long long)got, (unsigned long long)sb.size);
            goto done;
        }
        got += (uint64_t)r;
    }
    /* one more read reaches the end of the entry, where libzip checks the CRC */
    unsigned char extra;
    zip_int64_t r = zip_fread(zf, &extra, 1);
    if (r < 0) {
        st = cn_set_error(CN_STATUS_FORMAT, "%s: entry '%s': %s (the archive is corrupt)", z->path, entry, zip_file_strerror(zf));
        goto done;
    }
    if (r > 0) {
        st = cn_set_error(CN_STATUS_FORMAT, "%s: entry '%s' holds more than the %llu bytes the directory declares", z->path, entry,
                          (unsigned long long)sb.size);
        goto done;
    }
    char label[1024];
    snprintf(label, sizeof label, "%s:%s", z->path, entry);
    st = cn_npy_parse(out, buf, (size_t)sb.size, label);
done:
    if (zf) zip_fclose(zf);
    cn_free(buf);
    return st;
}
