/* file.h — whole-file reads and atomic writes (internal to the library). */
#ifndef CN_IO_FILE_H
#define CN_IO_FILE_H

#include <stdio.h>

#include "convnet/core.h"

/* Read a whole file into a new buffer (cn_malloc; caller frees with cn_free). Refuses files
 * larger than the memory cap. Errors name the path and the OS reason. */
cn_status cn_file_read_all(const char *path, unsigned char **buf, size_t *len);

/* Atomic writer: data goes to "<path>.tmp.<pid>.<n>" in the same folder; commit flushes,
 * fsyncs and renames it over `path`; abort (or a failed commit) removes it. So readers see
 * the old file or the new one, never half of one. Caller-owned struct. */
typedef struct cn_atomic_file {
    FILE *f;
    char path[4096];
    char tmp[4200];
} cn_atomic_file;

cn_status cn_atomic_open(cn_atomic_file *af, const char *path);
cn_status cn_atomic_write(cn_atomic_file *af, const void *data, size_t len);
cn_status cn_atomic_commit(cn_atomic_file *af);
void cn_atomic_abort(cn_atomic_file *af);

/* Remove the temporaries that writers killed before commit or abort left in `dir` (names
 * "<file>.tmp.<pid>.<n>" whose process no longer runs); those of live processes stay.
 * Returns how many were removed. */
int cn_atomic_sweep(const char *dir);

/* mkdir -p: create `dir` and any missing parents. Fails (naming the directory that could not
 * be made and the OS reason) unless dir ends up an existing directory. */
cn_status cn_make_dirs(const char *dir);

#endif
