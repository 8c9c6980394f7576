/* json_cost.h — a bound on what cJSON allocates to parse a text, checked against the memory
 * cap before parsing (cJSON allocates with malloc, outside cn_malloc's cap). Internal. */
#ifndef CN_IO_JSON_COST_H
#define CN_IO_JSON_COST_H

#include <stddef.h>
#include <stdint.h>

#include "convnet/core.h"

/* Upper bound of the bytes cJSON allocates for text[0..len): one cJSON node per value (values
 * are at most the commas and opening brackets outside strings, plus one) and a copy of every
 * string. */
uint64_t cn_json_cost(const char *text, size_t len);

/* CN_STATUS_LIMIT naming `what` when cn_json_cost exceeds the memory cap, else CN_OK. */
cn_status cn_json_check_cost(const char *text, size_t len, const char *what);

#endif
