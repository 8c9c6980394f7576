/* cpu.c — CPU feature detection (cpuid + xgetbv) and the choice of kernel ISA. */
#include "convnet/core.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define CN_X86 1
#endif

static cn_cpu_info info;
static pthread_once_t info_once = PTHREAD_ONCE_INIT;

#ifdef CN_X86
static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

static void detect(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    info.logical_cores = cores > 0 ? (int)cores : 1;
    strcpy(info.vendor, "unknown");
    strcpy(info.brand, "unknown");
#ifdef CN_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    unsigned max_leaf = a;
    memcpy(info.vendor + 0, &b, 4);
    memcpy(info.vendor + 4, &d, 4);
    memcpy(info.vendor + 8, &c, 4);
    info.vendor[12] = '\0';
    __get_cpuid(1, &a, &b, &c, &d);
    info.sse2 = !!(d & (1u << 26));
    info.sse41 = !!(c & (1u << 19));
    int osxsave = !!(c & (1u << 27));
    int avx_hw = !!(c & (1u << 28));
    int fma_hw = !!(c & (1u << 12));
    info.f16c = !!(c & (1u << 29));
    uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    int ymm_os = (xcr0 & 0x6) == 0x6;      /* XMM and YMM state */
    int zmm_os = (xcr0 & 0xe6) == 0xe6;    /* plus opmask, ZMM_Hi256, Hi16_ZMM */
    info.avx = avx_hw && ymm_os;
    info.fma = fma_hw && ymm_os;
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        info.avx2 = info.avx && !!(b & (1u << 5));
        info.avx512f = zmm_os && !!(b & (1u << 16));
        info.avx512dq = info.avx512f && !!(b & (1u << 17));
        info.avx512bw = info.avx512f && !!(b & (1u << 30));
        info.avx512vl = info.avx512f && !!(b & (1u << 31));
    }
    if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
        unsigned *w = (unsigned *)info.brand;
        for (unsigned leaf = 0; leaf < 3; leaf++)
            __get_cpuid(0x80000002 + leaf, &w[leaf * 4], &w[leaf * 4 + 1], &w[leaf * 4 + 2], &w[leaf * 4 + 3]);
        info.brand[48] = '\0';
        /* trim leading/trailing spaces */
        char *s = info.brand;
        while (*s == ' ') s++;
        memmove(info.brand, s, strlen(s) + 1);
        for (size_t n = strlen(info.brand); n && info.brand[n - 1] == ' ';) info.brand[--n] = '\0';
    }
#endif
}

const cn_cpu_info *cn_cpu(void)
{
    pthread_once(&info_once, detect);
    return &info;
}

/* ---- ISA choice ---- */
static const char *const isa_names[CN_ISA_COUNT_] = {"generic", "avx2", "avx512"};
static cn_isa active = CN_ISA_COUNT_; /* not chosen yet */
static pthread_once_t isa_once = PTHREAD_ONCE_INIT;

const char *cn_isa_name(cn_isa isa) { return (unsigned)isa < CN_ISA_COUNT_ ? isa_names[isa] : "unknown"; }

int cn_isa_available(cn_isa isa)
{
    const cn_cpu_info *c = cn_cpu();
    switch (isa) {
    case CN_ISA_GENERIC: return 1;
#ifdef CN_HAVE_AVX2
    case CN_ISA_AVX2: return c->avx2 && c->fma;
#endif
#ifdef CN_HAVE_AVX512
    case CN_ISA_AVX512: return c->avx512f && c->avx2 && c->fma;
#endif
    default: return 0;
    }
}

static void choose_isa(void)
{
    cn_isa best = CN_ISA_GENERIC;
    for (int i = CN_ISA_COUNT_ - 1; i > 0; i--)
        if (cn_isa_available((cn_isa)i)) {
            best = (cn_isa)i;
            break;
        }
    const char *env = getenv("CONVNET_ISA");
    if (env && *env) {
        int found = -1;
        for (int i = 0; i < CN_ISA_COUNT_; i++)
            if (!strcmp(env, isa_names[i])) found = i;
        if (found < 0)
            cn_log(CN_LOG_WARN, "CONVNET_ISA='%s' is not one of generic, avx2, avx512; using %s", env, isa_names[best]);
        else if (!cn_isa_available((cn_isa)found))
            cn_log(CN_LOG_WARN, "CONVNET_ISA='%s' is not supported by this CPU or build; using %s", env, isa_names[best]);
        else
            best = (cn_isa)found;
    }
    active = best;
}

cn_isa cn_isa_active(void)
{
    pthread_once(&isa_once, choose_isa);
    return active;
}

cn_status cn_isa_select(cn_isa isa)
{
    pthread_once(&isa_once, choose_isa);
    if ((unsigned)isa >= CN_ISA_COUNT_ || !cn_isa_available(isa))
        return cn_set_error(CN_STATUS_UNSUPPORTED, "isa: %s is not supported by this CPU or build", cn_isa_name(isa));
    active = isa;
    return CN_OK;
}
