/* text.c — edit distance and "did you mean" lookups. */
#include "text.h"

#include <string.h>

int cn_edit_distance(const char *a, const char *b)
{
    /* optimal string alignment: insertions, deletions, substitutions and adjacent
     * transpositions ("strde" -> "stride" is 1, "cnov" -> "conv" is 1) */
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 255;
    unsigned char d[65][65];
    for (size_t i = 0; i <= la; i++) d[i][0] = (unsigned char)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (unsigned char)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            unsigned best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1u < best) best = d[i - 1][j] + 1u;
            if (d[i][j - 1] + 1u < best) best = d[i][j - 1] + 1u;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1u < best)
                best = d[i - 2][j - 2] + 1u;
            d[i][j] = (unsigned char)best;
        }
    return d[la][lb];
}

const char *cn_closest(const char *word, const char *const *candidates)
{
    int limit = (int)(strlen(word) / 3);
    if (limit < 1) limit = 1;
    const char *best = NULL;
    int best_d = limit + 1;
    for (; *candidates; candidates++) {
        int d = cn_edit_distance(word, *candidates);
        if (d < best_d) best_d = d, best = *candidates;
    }
    return best;
}
