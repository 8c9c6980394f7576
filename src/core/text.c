/* text.c — edit distance and "did you mean" lookups. */
#include "text.h"

#include <string.h>

int cn_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 255;
    unsigned char row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = (unsigned char)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned char diag = row[0];
        row[0] = (unsigned char)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned char up = row[j];
            unsigned best = diag + (a[i - 1] != b[j - 1]);
            if ((unsigned)up + 1 < best) best = up + 1u;
            if ((unsigned)row[j - 1] + 1 < best) best = row[j - 1] + 1u;
            row[j] = (unsigned char)best;
            diag = up;
        }
    }
    return row[lb];
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
