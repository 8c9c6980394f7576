/* json_cost.c — see json_cost.h. */
#include "json_cost.h"

#include <cjson/cJSON.h>

uint64_t cn_json_cost(const char *text, size_t len)
{
    uint64_t values = 1;
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\') i++; /* the escaped character cannot end the string */
            else if (c == '"') in_string = 0;
        } else if (c == '"') in_string = 1;
        else if (c == ',' || c == '[' || c == '{') values++;
    }
    return values * (uint64_t)sizeof(cJSON) + (uint64_t)len;
}

cn_status cn_json_check_cost(const char *text, size_t len, const char *what)
{
    uint64_t cost = cn_json_cost(text, len);
    if (cost > cn_memory_limit())
        return cn_set_error(CN_STATUS_LIMIT, "%s: parsing this JSON (%zu bytes) would take about %llu bytes, above the memory cap of %llu bytes",
                            what, len, (unsigned long long)cost, (unsigned long long)cn_memory_limit());
    return CN_OK;
}
