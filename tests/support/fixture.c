/* fixture.c — loads .npy fixtures from CN_FIXTURE_DIR (set by the build). */
#include "fixture.h"

#include <stdio.h>

#include "test.h"

const char *cn_fixture_path(const char *name)
{
    static _Thread_local char path[1024];
    snprintf(path, sizeof path, "%s/%s.npy", CN_FIXTURE_DIR, name);
    return path;
}

cn_npy cn_fixture_load(const char *name)
{
    cn_npy a;
    if (cn_npy_load(&a, cn_fixture_path(name)) != CN_OK) cn_test_fail(__FILE__, __LINE__, "fixture %s: %s", name, cn_last_error());
    return a;
}
