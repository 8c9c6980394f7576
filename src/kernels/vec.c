/* vec.c — picks the vector table for the active ISA. */
#include "vec.h"

const cn_vec_ops *cn_vec_for(cn_isa isa)
{
    if (!cn_isa_available(isa)) return NULL;
    switch (isa) {
#ifdef CN_HAVE_AVX512
    case CN_ISA_AVX512: return &cn_vec_avx512;
#endif
#ifdef CN_HAVE_AVX2
    case CN_ISA_AVX2: return &cn_vec_avx2;
#endif
    default: return &cn_vec_generic;
    }
}

const cn_vec_ops *cn_vec(void) { return cn_vec_for(cn_isa_active()); }
