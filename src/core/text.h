/* text.h — small text helpers shared by the parsers and the CLI (internal). */
#ifndef CN_CORE_TEXT_H
#define CN_CORE_TEXT_H

#include <stddef.h>

/* Levenshtein distance between a and b (capped at 255). */
int cn_edit_distance(const char *a, const char *b);
/* The candidate closest to `word` within distance max(1, strlen(word)/3), or NULL.
 * For "did you mean ...?" hints. `candidates` ends with NULL. */
const char *cn_closest(const char *word, const char *const *candidates);

#endif
