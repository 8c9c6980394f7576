/* mnist1d.c — the MNIST-1D generator (SPEC: /work/shared/mnist1d/SPEC.md, section 1) and its
 * .npy export/import.
 *
 * Bit-exactness: every step does the same float64 operations in the same order as the
 * upstream NumPy/SciPy code, so the raw data agree to the last bit or nearly (a different
 * libm exp() in the Gaussian weights could move an ulp):
 *   - random draws: the legacy RandomState emulation in mt19937.c;
 *   - linspace(a, b, n)[i] = i * ((b - a) / (n - 1)) + a, last point = b exactly;
 *   - linear resampling as np.interp (what scipy's interp1d delegates to for 1-D float64):
 *     j = last node with xp[j] <= x; y = y[j] if x == xp[j], else slope_j * (x - xp[j]) + y[j];
 *   - scipy.ndimage.gaussian_filter(sigma 2): 17 taps exp(-0.125 k^2) / sum, 'reflect'
 *     borders, symmetric accumulation c*w0 + sum_{k=8..1} (x[-k] + x[+k]) * w_k;
 *   - sums (template and dataset mean/std, kernel weights) as numpy's pairwise summation.
 * This relies on the build not contracting a*b + c into fused multiply-adds: the library is
 * compiled as ISO C11 (GCC: -ffp-contract=off) for baseline x86-64. With these, the .npy files
 * of the default dataset are byte-identical to the frozen ones (tests/unit/test_mnist1d.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "convnet/npy.h"
#include "data/mnist1d_impl.h"

#define TEMPLATE_POINTS 12
#define N_CLASSES 10
#define GAUSS_RADIUS 8 /* int(truncate 4.0 * sigma 2 + 0.5) */

/* the raw digit templates (SPEC 1.3) */
static const double raw_templates[N_CLASSES][TEMPLATE_POINTS] = {
    {5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5},
    {5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5},
    {5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5},
    {5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5},
    {5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5},
    {5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5},
    {5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5},
    {5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5},
    {5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5},
    {5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5},
};

/* ---- numpy arithmetic ------------------------------------------------------------------ */

/* numpy's pairwise_sum for float64 (8 accumulators up to 128 elements, then halving) */
static double pairwise_sum(const double *a, int64_t n)
{
    if (n < 8) {
        double s = 0.0;
        for (int64_t i = 0; i < n; i++) s += a[i];
        return s;
    }
    if (n <= 128) {
        double r[8];
        for (int k = 0; k < 8; k++) r[k] = a[k];
        int64_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int k = 0; k < 8; k++) r[k] += a[i + k];
        double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) s += a[i];
        return s;
    }
    int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

double cn_np_sum(const double *a, int64_t n)
{
    /* a reduction over a contiguous array reaches the inner loop in buffer-sized (8192) blocks */
    double s = 0.0;
    for (int64_t i = 0; i < n; i += 8192) s += pairwise_sum(a + i, n - i < 8192 ? n - i : 8192);
    return s;
}

/* mean and population std as numpy's a.mean() and a.std() (std re-derives its own mean) */
static void np_mean_std(const double *a, int64_t n, double *tmp, double *mean, double *std)
{
    double m = cn_np_sum(a, n) / (double)n;
    for (int64_t i = 0; i < n; i++) {
        double d = a[i] - m;
        tmp[i] = d * d;
    }
    *mean = m;
    *std = sqrt(cn_np_sum(tmp, n) / (double)n);
}

static void linspace(double *out, double a, double b, int64_t n)
{
    if (n == 1) {
        out[0] = a;
        return;
    }
    double step = (b - a) / (double)(n - 1);
    for (int64_t i = 0; i < n; i++) out[i] = (double)i * step + a;
    out[n - 1] = b;
}

/* y_out (n_out) = np.interp(linspace(0,1,n_out), xp = linspace(0,1,n_in), y_in (n_in));
 * xp (n_in) and xq (n_out) are scratch */
static void resample(double *y_out, int64_t n_out, const double *y_in, int64_t n_in, double *xp, double *xq)
{
    linspace(xp, 0.0, 1.0, n_in);
    linspace(xq, 0.0, 1.0, n_out);
    int64_t j = 0;
    for (int64_t i = 0; i < n_out; i++) {
        double x = xq[i];
        /* both grids increase: advance j to the last node with xp[j] <= x */
        while (j + 1 < n_in && xp[j + 1] <= x) j++;
        if (j == n_in - 1 || xp[j] == x) {
            y_out[i] = y_in[j];
        } else {
            double slope = (y_in[j + 1] - y_in[j]) / (xp[j + 1] - xp[j]);
            y_out[i] = slope * (x - xp[j]) + y_in[j];
        }
    }
}

/* 'reflect' border: ... x1 x0 | x0 x1 ... x(n-1) | x(n-1) x(n-2) ... */
static double reflect_at(const double *x, int64_t n, int64_t i)
{
    int64_t period = 2 * n;
    i %= period;
    if (i < 0) i += period;
    return i < n ? x[i] : x[period - 1 - i];
}

/* y (n) = scipy.ndimage.gaussian_filter(x (n), sigma=2), mode 'reflect' */
static void gaussian_filter2(double *y, const double *x, int64_t n)
{
    double phi[2 * GAUSS_RADIUS + 1], w[GAUSS_RADIUS + 1];
    for (int k = -GAUSS_RADIUS; k <= GAUSS_RADIUS; k++) phi[k + GAUSS_RADIUS] = exp(-0.5 / 4.0 * (double)(k * k));
    double total = pairwise_sum(phi, 2 * GAUSS_RADIUS + 1);
    for (int k = 0; k <= GAUSS_RADIUS; k++) w[k] = phi[k + GAUSS_RADIUS] / total;
    for (int64_t i = 0; i < n; i++) {
        double acc = x[i] * w[0];
        for (int k = GAUSS_RADIUS; k >= 1; k--) acc += (reflect_at(x, n, i - k) + reflect_at(x, n, i + k)) * w[k];
        y[i] = acc;
    }
}

/* ---- templates and parameters -------------------------------------------------------- */

void cn_mnist1d_templates(double *x, double *t)
{
    if (x) {
        for (int c = 0; c < N_CLASSES; c++) {
            double r[TEMPLATE_POINTS], sq[TEMPLATE_POINTS];
            memcpy(r, raw_templates[c], sizeof r);
            double m = pairwise_sum(r, TEMPLATE_POINTS) / TEMPLATE_POINTS; /* x -= x.mean(1) */
            for (int i = 0; i < TEMPLATE_POINTS; i++) r[i] -= m;
            double mean, sd;                                              /* x /= x.std(1) */
            np_mean_std(r, TEMPLATE_POINTS, sq, &mean, &sd);
            for (int i = 0; i < TEMPLATE_POINTS; i++) r[i] /= sd;
            double first = r[0];                                          /* x -= x[:, :1] */
            for (int i = 0; i < TEMPLATE_POINTS; i++) x[c * TEMPLATE_POINTS + i] = (r[i] - first) / 6.0;
        }
    }
    if (t) {
        linspace(t, -5.0, 5.0, TEMPLATE_POINTS);
        for (int i = 0; i < TEMPLATE_POINTS; i++) t[i] /= 6.0;
    }
}

void cn_mnist1d_params_default(cn_mnist1d_params *p)
{
    *p = (cn_mnist1d_params){
        .num_samples = 5000,
        .train_split = 0.8,
        .template_len = 12,
        .padding_min = 36,
        .padding_max = 60,
        .scale_coeff = 0.4,
        .max_translation = 48,
        .corr_noise_scale = 0.25,
        .iid_noise_scale = 0.02,
        .shear_scale = 0.75,
        .shuffle_seq = 0,
        .final_seq_length = 40,
        .seed = 42,
    };
}

#define MAX_LENGTH (1 << 24) /* cap on the working and output lengths */

cn_status cn_mnist1d_params_check(const cn_mnist1d_params *p)
{
    if (p->num_samples < N_CLASSES)
        return cn_set_error(CN_STATUS_INVALID_ARG, "mnist1d: num_samples = %lld, need at least %d (one per class)",
                            (long long)p->num_samples, N_CLASSES);
    if (!(p->train_split > 0.0 && p->train_split < 1.0))
        return cn_set_error(CN_STATUS_INVALID_ARG, "mnist1d: train_split = %g, expected a fraction in (0, 1)",
                            p->train_split);
    int64_t total = p->num_samples / N_CLASSES * N_CLASSES, n_train = (int64_t)((double)total * p->train_split);
    if (n_train < 1 || n_train >= total)
        return cn_set_error(CN_STATUS_INVALID_ARG,
                            "mnist1d: train_split = %g of %lld examples gives %lld train and %lld test; both must be >= 1",
                            p->train_split, (long long)total, (long long)n_train, (long long)(total - n_train));
    if (p->template_len < 1 || p->template_len > MAX_LENGTH)
        return cn_set_error(CN_STATUS_INVALID_ARG, "mnist1d: template_len = %d, expected 1..%d", p->template_len, MAX_LENGTH);
    if (p->padding_min < 0 || p->padding_max < p->padding_min || p->padding_max > MAX_LENGTH)
        return cn_set_error(CN_STATUS_INVALID_ARG, "mnist1d: padding = [%d, %d], expected 0 <= min <= max <= %d",
                            p->padding_min, p->padding_max, MAX_LENGTH);
    if (p->template_len + p->padding_max < 2)
        return cn_set_error(CN_STATUS_INVALID_ARG,
                            "mnist1d: template_len + padding_max = %d, the working length must be at least 2",
                            p->template_len + p->padding_max);
    if (p->max_translation < 1)
        return cn_set_error(CN_STATUS_INVALID_ARG, "mnist1d: max_translation = %d, expected >= 1 (shift drawn from 0..max-1)",
                            p->max_translation);
    if (p->final_seq_length < 2 || p->final_seq_length > MAX_LENGTH)
        return cn_set_error(CN_STATUS_INVALID_ARG, "mnist1d: final_seq_length = %d, expected 2..%d", p->final_seq_length,
                            MAX_LENGTH);
    const struct {
        const char *name;
        double v;
    } reals[] = {{"scale_coeff", p->scale_coeff},
                 {"corr_noise_scale", p->corr_noise_scale},
                 {"iid_noise_scale", p->iid_noise_scale},
                 {"shear_scale", p->shear_scale}};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        if (!isfinite(reals[i].v))
            return cn_set_error(CN_STATUS_INVALID_ARG, "mnist1d: %s = %g, expected a finite number", reals[i].name, reals[i].v);
    if (p->shuffle_seq != 0 && p->shuffle_seq != 1)
        return cn_set_error(CN_STATUS_INVALID_ARG, "mnist1d: shuffle_seq = %d, expected 0 or 1", p->shuffle_seq);
    return CN_OK;
}

/* scratch: padded signal (12 + padding_max), x, noise, smoothed noise, t (W each), two grids */
size_t cn_mnist1d_scratch_len(const cn_mnist1d_params *p)
{
    size_t w = (size_t)p->template_len + (size_t)p->padding_max;
    size_t padded = TEMPLATE_POINTS + (size_t)p->padding_max;
    size_t grid = padded > w ? padded : w;
    if ((size_t)p->final_seq_length > grid) grid = (size_t)p->final_seq_length;
    return padded + 4 * w + 2 * grid;
}

/* ---- one example (SPEC 1.4) ------------------------------------------------------------ */

void cn_mnist1d_example(double *x_out, double *t_out, const double *tmpl_x, const double *tmpl_t, const cn_mnist1d_params *p,
                        cn_mt19937 *rng, double *scratch, cn_mnist1d_trace *trace)
{
    const int64_t W = (int64_t)p->template_len + p->padding_max, L = p->final_seq_length;
    const int64_t padded_cap = TEMPLATE_POINTS + (int64_t)p->padding_max;
    int64_t grid = padded_cap > W ? padded_cap : W;
    if (L > grid) grid = L;
    double *padded = scratch, *x = padded + padded_cap, *noise = x + W, *smooth = noise + W, *t = smooth + W;
    double *ga = t + W, *gb = ga + grid;

    /* 1-2. occupy the template (eps) and append p zeros; draw A */
    int span = p->padding_max - p->padding_min + 1;
    int pad = p->padding_min + (int)(cn_mt19937_random_sample(rng) * (double)span);
    for (int i = 0; i < TEMPLATE_POINTS; i++) padded[i] = tmpl_x[i] + 1e-8;
    for (int i = 0; i < pad; i++) padded[TEMPLATE_POINTS + i] = 0.0;
    /* 3. dilate to the working length W */
    resample(x, W, padded, TEMPLATE_POINTS + pad, ga, gb);
    if (t_out) resample(t, W, tmpl_t, TEMPLATE_POINTS, ga, gb);
    /* 4. scale; draw B */
    double scale = 1.0 + p->scale_coeff * (cn_mt19937_random_sample(rng) - 0.5);
    for (int64_t i = 0; i < W; i++) x[i] *= scale;
    /* 5. translate: roll right by k; draw C = choice(max_translation). As Python's
     * concatenate([x[-k:], x[:-k]]), k = 0 and k >= W leave x unchanged. */
    int64_t k = cn_mt19937_randint(rng, 0, p->max_translation);
    if (k > 0 && k < W) {
        memcpy(noise, x, (size_t)W * sizeof *x);
        for (int64_t i = 0; i < W; i++) x[(i + k) % W] = noise[i];
    }
    /* 6. correlated noise where the signal is exactly 0; draws D (W normals) */
    double first_corr = 0, first_iid = 0;
    for (int64_t i = 0; i < W; i++) {
        double g = cn_mt19937_gauss(rng);
        if (i == 0) first_corr = g;
        noise[i] = p->corr_noise_scale * g;
    }
    gaussian_filter2(smooth, noise, W);
    for (int64_t i = 0; i < W; i++)
        if (x[i] == 0.0) x[i] = smooth[i]; /* mask*x + (1-mask)*smooth, exactly */
    /* 7. iid noise; draws E (W normals) */
    for (int64_t i = 0; i < W; i++) {
        double g = cn_mt19937_gauss(rng);
        if (i == 0) first_iid = g;
        x[i] = x[i] + p->iid_noise_scale * g;
    }
    /* 8. shear; draw F */
    double c = p->shear_scale * (cn_mt19937_random_sample(rng) - 0.5);
    linspace(noise, -0.5, 0.5, W);
    for (int64_t i = 0; i < W; i++) x[i] = x[i] - c * noise[i];
    /* 9. downsample to L */
    resample(x_out, L, x, W, ga, gb);
    if (t_out) resample(t_out, L, t, W, ga, gb);
    if (trace)
        *trace = (cn_mnist1d_trace){.padding = pad, .scale = scale, .shift = k, .first_corr_normal = first_corr,
                                    .first_iid_normal = first_iid, .shear = c};
}

/* ---- the dataset (SPEC 1.5) ------------------------------------------------------------ */

void cn_mnist1d_free(cn_mnist1d *d)
{
    if (!d) return;
    cn_free(d->x_train);
    cn_free(d->y_train);
    cn_free(d->x_test);
    cn_free(d->y_test);
    cn_free(d->t);
    cn_free(d->seq_perm);
    memset(d, 0, sizeof *d);
}

/* allocate count*size bytes with the overflow and memory-cap checks */
static void *alloc_array(int64_t count, size_t size, const char *what, cn_status *st)
{
    uint64_t bytes;
    if (*st != CN_OK) return NULL;
    if ((*st = cn_mul_size((uint64_t)count, size, &bytes, what)) != CN_OK) return NULL;
    if (bytes > SIZE_MAX) {
        *st = cn_set_error(CN_STATUS_LIMIT, "%s: %llu bytes do not fit in memory", what, (unsigned long long)bytes);
        return NULL;
    }
    void *p = cn_malloc((size_t)bytes, what);
    if (!p) *st = bytes > cn_memory_limit() ? CN_STATUS_LIMIT : CN_STATUS_NOMEM;
    return p;
}

cn_status cn_mnist1d_generate(const cn_mnist1d_params *params, cn_mnist1d *out)
{
    cn_mnist1d_params p;
    if (params) p = *params;
    else cn_mnist1d_params_default(&p);
    memset(out, 0, sizeof *out);
    cn_status st = cn_mnist1d_params_check(&p);
    if (st != CN_OK) return st;

    const int64_t per_class = p.num_samples / N_CLASSES, total = per_class * N_CLASSES, L = p.final_seq_length;
    const int64_t n_train = (int64_t)((double)total * p.train_split), n_test = total - n_train;
    uint64_t numel;
    if ((st = cn_mul_size((uint64_t)total, (uint64_t)L, &numel, "mnist1d: num_samples x final_seq_length")) != CN_OK) return st;

    cn_mt19937 *rng = alloc_array(1, sizeof *rng, "mnist1d: RNG state", &st);
    double *raw = alloc_array((int64_t)numel, sizeof(double), "mnist1d: raw examples", &st);
    double *xs = alloc_array((int64_t)numel, sizeof(double), "mnist1d: shuffled examples", &st);
    int64_t *labels = alloc_array(total, sizeof(int64_t), "mnist1d: labels", &st);
    int64_t *perm = alloc_array(total, sizeof(int64_t), "mnist1d: example permutation", &st);
    double *scratch = alloc_array((int64_t)cn_mnist1d_scratch_len(&p), sizeof(double), "mnist1d: scratch", &st);
    double *t = alloc_array(L, sizeof(double), "mnist1d: t", &st);
    out->x_train = alloc_array(n_train * L, sizeof(float), "mnist1d: x_train", &st);
    out->y_train = alloc_array(n_train, sizeof(int64_t), "mnist1d: y_train", &st);
    out->x_test = alloc_array(n_test * L, sizeof(float), "mnist1d: x_test", &st);
    out->y_test = alloc_array(n_test, sizeof(int64_t), "mnist1d: y_test", &st);
    out->t = alloc_array(L, sizeof(float), "mnist1d: t", &st);
    if (p.shuffle_seq) out->seq_perm = alloc_array(L, sizeof(int64_t), "mnist1d: seq_perm", &st);
    if (st != CN_OK) goto done;

    double tmpl_x[N_CLASSES * TEMPLATE_POINTS], tmpl_t[TEMPLATE_POINTS];
    cn_mnist1d_templates(tmpl_x, tmpl_t);
    cn_mt19937_seed(rng, p.seed);
    for (int c = 0; c < N_CLASSES; c++)
        for (int64_t r = 0; r < per_class; r++) {
            int64_t row = c * per_class + r;
            cn_mnist1d_example(raw + row * L, t, tmpl_x + c * TEMPLATE_POINTS, tmpl_t, &p, rng, scratch, NULL);
            labels[row] = c;
        }
    /* shuffle the examples, then (ablation) the positions, from the same stream */
    cn_mt19937_permutation(rng, perm, total);
    if (p.shuffle_seq) cn_mt19937_permutation(rng, out->seq_perm, L);
    for (int64_t i = 0; i < total; i++)
        for (int64_t j = 0; j < L; j++) xs[i * L + j] = raw[perm[i] * L + (p.shuffle_seq ? out->seq_perm[j] : j)];

    /* standardise with the statistics of all examples (train and test together) */
    double mean, std;
    np_mean_std(xs, (int64_t)numel, raw, &mean, &std);
    if (!(std > 0.0) || !isfinite(std) || !isfinite(mean)) {
        st = cn_set_error(CN_STATUS_INVALID_ARG, "mnist1d: the generated data have mean %g and std %g; cannot standardise",
                          mean, std);
        goto done;
    }
    for (int64_t j = 0; j < L; j++) out->t[j] = (float)(t[j] / std);
    for (int64_t i = 0; i < total; i++) {
        float *dst = i < n_train ? out->x_train + i * L : out->x_test + (i - n_train) * L;
        for (int64_t j = 0; j < L; j++) dst[j] = (float)((xs[i * L + j] - mean) / std);
        if (i < n_train) out->y_train[i] = labels[perm[i]];
        else out->y_test[i - n_train] = labels[perm[i]];
    }
    out->n_train = n_train;
    out->n_test = n_test;
    out->length = L;
    out->mean = mean;
    out->std = std;
done:
    cn_free(rng);
    cn_free(raw);
    cn_free(xs);
    cn_free(labels);
    cn_free(perm);
    cn_free(scratch);
    cn_free(t);
    if (st != CN_OK) cn_mnist1d_free(out);
    return st;
}

/* ---- .npy export / import ------------------------------------------------------------- */

static const char *const npy_names[5] = {"x_train", "y_train", "x_test", "y_test", "t"};

static cn_status join(char *buf, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s.npy", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return cn_set_error(CN_STATUS_INVALID_ARG, "mnist1d: directory path is too long (%zu characters)", strlen(dir));
    return CN_OK;
}

static cn_status check_dir(const char *dir)
{
    struct stat sb;
    if (!dir || !*dir) return cn_set_error(CN_STATUS_INVALID_ARG, "mnist1d: empty directory name");
    if (stat(dir, &sb) != 0) return cn_set_error(CN_STATUS_IO, "mnist1d: directory '%s' does not exist", dir);
    if (!S_ISDIR(sb.st_mode)) return cn_set_error(CN_STATUS_IO, "mnist1d: '%s' is not a directory", dir);
    return CN_OK;
}

cn_status cn_mnist1d_save_npy(const cn_mnist1d *d, const char *dir)
{
    if (!d || !d->x_train || !d->y_train || !d->x_test || !d->y_test || !d->t || d->n_train < 1 || d->n_test < 1 ||
        d->length < 1)
        return cn_set_error(CN_STATUS_INVALID_ARG, "mnist1d: cannot save an empty or incomplete dataset");
    cn_status st = check_dir(dir);
    if (st != CN_OK) return st;
    char path[4096];
    const void *data[5] = {d->x_train, d->y_train, d->x_test, d->y_test, d->t};
    const int64_t shapes[5][2] = {{d->n_train, d->length}, {d->n_train, 0}, {d->n_test, d->length}, {d->n_test, 0}, {d->length, 0}};
    const int ndims[5] = {2, 1, 2, 1, 1};
    for (int i = 0; i < 5; i++) {
        if ((st = join(path, sizeof path, dir, npy_names[i])) != CN_OK) return st;
        cn_dtype dt = (i == 1 || i == 3) ? CN_DTYPE_I64 : CN_DTYPE_F32;
        if ((st = cn_npy_save(path, dt, ndims[i], shapes[i], data[i])) != CN_OK) return st;
    }
    return CN_OK;
}

static int is_int_dtype(cn_dtype t)
{
    return t == CN_DTYPE_I8 || t == CN_DTYPE_I16 || t == CN_DTYPE_I32 || t == CN_DTYPE_I64 || t == CN_DTYPE_U8 ||
           t == CN_DTYPE_U16 || t == CN_DTYPE_U32 || t == CN_DTYPE_U64;
}

cn_status cn_mnist1d_load_npy(cn_mnist1d *out, const char *dir)
{
    memset(out, 0, sizeof *out);
    cn_status st = check_dir(dir);
    if (st != CN_OK) return st;
    cn_npy a[5];
    memset(a, 0, sizeof a);
    char paths[5][4096];
    for (int i = 0; i < 5 && st == CN_OK; i++)
        if ((st = join(paths[i], sizeof paths[i], dir, npy_names[i])) == CN_OK) st = cn_npy_load(&a[i], paths[i]);
    if (st != CN_OK) goto done;

    /* dtypes and ranks */
    for (int i = 0; i < 5; i++) {
        int want_int = (i == 1 || i == 3), want_ndim = (i == 0 || i == 2) ? 2 : 1;
        int ok_dtype = want_int ? is_int_dtype(a[i].dtype) : (a[i].dtype == CN_DTYPE_F32 || a[i].dtype == CN_DTYPE_F64);
        if (!ok_dtype) {
            st = cn_set_error(CN_STATUS_FORMAT, "%s: dtype %s, expected %s", paths[i], cn_dtype_name(a[i].dtype),
                              want_int ? "an integer dtype (int64)" : "float32 or float64");
            goto done;
        }
        if (a[i].ndim != want_ndim) {
            st = cn_set_error(CN_STATUS_SHAPE, "%s: %d dimensions, expected %d (%s)", paths[i], a[i].ndim, want_ndim,
                              want_ndim == 2 ? "[examples, length]" : i == 4 ? "[length]" : "[examples]");
            goto done;
        }
        if (a[i].shape[0] < 1) {
            st = cn_set_error(CN_STATUS_SHAPE, "%s: is empty (shape[0] = 0)", paths[i]);
            goto done;
        }
    }
    const int64_t L = a[0].shape[1];
    if (L < 1 || a[2].shape[1] != L || a[4].shape[0] != L) {
        st = cn_set_error(CN_STATUS_SHAPE, "mnist1d: lengths disagree: x_train has %lld columns, x_test %lld, t %lld values",
                          (long long)L, (long long)a[2].shape[1], (long long)a[4].shape[0]);
        goto done;
    }
    for (int s = 0; s < 2; s++) {
        const cn_npy *x = &a[2 * s], *y = &a[2 * s + 1];
        if (x->shape[0] != y->shape[0]) {
            st = cn_set_error(CN_STATUS_SHAPE, "mnist1d: %s has %lld examples but %s has %lld labels", paths[2 * s],
                              (long long)x->shape[0], paths[2 * s + 1], (long long)y->shape[0]);
            goto done;
        }
        for (int64_t i = 0; i < y->numel; i++)
            if (y->i64[i] < 0 || y->i64[i] >= N_CLASSES) {
                st = cn_set_error(CN_STATUS_FORMAT, "%s: label [%lld] = %lld, expected 0..%d", paths[2 * s + 1], (long long)i,
                                  (long long)y->i64[i], N_CLASSES - 1);
                goto done;
            }
    }
    /* take ownership of the converted arrays */
    out->n_train = a[0].shape[0];
    out->n_test = a[2].shape[0];
    out->length = L;
    out->x_train = a[0].f32, a[0].f32 = NULL;
    out->y_train = a[1].i64, a[1].i64 = NULL;
    out->x_test = a[2].f32, a[2].f32 = NULL;
    out->y_test = a[3].i64, a[3].i64 = NULL;
    out->t = a[4].f32, a[4].f32 = NULL;
done:
    for (int i = 0; i < 5; i++) cn_npy_free(&a[i]);
    if (st != CN_OK) cn_mnist1d_free(out);
    return st;
}
