/* fuzz_image.c — images (PNG, JPEG, BMP, GIF, PGM/PPM, TGA, PSD, HDR) through cn_image_decode
 * (stb_image behind convnet's own header checks). Byte 0 picks the channel count asked for
 * (0 = the file's, 1..4 = converted); the rest is the file. An accepted image has sides in
 * 1..CN_IMAGE_MAX_SIDE, the channels asked for, and w*h*c readable pixels; it converts to
 * planar floats in [0, 1]. */
#include "fuzz.h"

static int fuzz_image(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int channels = data[0] % 5;
    cn_image im;
    memset(&im, 0x5a, sizeof im); /* the decoder must set every field */
    cn_status st = cn_image_decode(&im, data + 1, size - 1, channels, "fuzz.img");
    if (st != CN_OK) {
        cn_fuzz_expect_error(st, "fuzz.img");
        CN_FUZZ_ASSERT(im.px == NULL, "a failed decode left pixels allocated");
        return 0;
    }
    CN_FUZZ_ASSERT(im.w >= 1 && im.h >= 1 && im.w <= CN_IMAGE_MAX_SIDE && im.h <= CN_IMAGE_MAX_SIDE, "size %dx%d", im.w, im.h);
    CN_FUZZ_ASSERT(channels ? im.c == channels : im.c >= 1 && im.c <= 4, "asked %d channels, got %d", channels, im.c);
    size_t n = (size_t)im.w * (size_t)im.h * (size_t)im.c;
    CN_FUZZ_ASSERT(n <= CN_FUZZ_MEMORY_CAP, "%zu pixel bytes above the memory cap", n);
    float *chw = malloc(n * sizeof *chw);
    if (!chw) abort();
    cn_image_to_chw(chw, &im); /* reads every pixel */
    for (size_t i = 0; i < n; i++) CN_FUZZ_ASSERT(chw[i] >= 0 && chw[i] <= 1, "value %g at %zu", chw[i], i);
    free(chw);
    cn_image_free(&im);
    return 1;
}

CN_FUZZ_TARGET(image)
