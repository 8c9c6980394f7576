/* fixture.h — golden reference tensors stored as .npy under tests/fixtures/.
 * cn_fixture_load("conv/basic_y") loads tests/fixtures/conv/basic_y.npy; on failure the
 * test fails with the loader's message and the array comes back empty (numel 0). */
#ifndef CN_FIXTURE_H
#define CN_FIXTURE_H

#include "convnet/npy.h"

cn_npy cn_fixture_load(const char *name);
/* Full path of a fixture file (static buffer). */
const char *cn_fixture_path(const char *name);

#endif
