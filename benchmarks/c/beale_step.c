/* One optimizer on Beale's function, 10,000 steps, float64, the loss recorded every step:
 * the same computation as adambench's compiled run loop (adambench/kernels.py and the fused
 * runner of adambench/codegen.py): the same update functions with the same options (weight
 * decay, momentum, Nesterov, AMSGrad, ... read at run time from the hyperparameter vector, not
 * constants the compiler could fold, as adambench's are not), the same order of operations,
 * and the same per-step bookkeeping (finite loss, |x| within the divergence bound, best loss,
 * first step at the target). Compiled with gcc -O3 -march=native; prints the median ns/step of REPS runs.
 * Build: gcc -O3 -march=native -DOPT=ADAM beale_step.c -lm -o beale_adam
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ADAM 1
#define ADAMAX 2
#define SGD 3
#define MOMENTUM 4
#define NESTEROV 5
#define ADAGRAD 6
#define RMSPROP 7
#define BARE_ADAM 8 /* Adam's update alone: constants folded, no check, nothing recorded */
#ifndef OPT
#define OPT ADAM
#endif
#define STEPS 10000
#define REPS 101

static double fg(const double *x, double *g) {
    /* sympy's common-subexpression form, as in adambench's generated p_fg */
    double v0 = x[0], v1 = x[1];
    double c0 = -v0, c1 = v0 * v1, c2 = c0 + c1 + 1.5, c3 = v1 * v1, c4 = c3 * v0;
    double c5 = c0 + c4 + 2.25, c6 = v1 * v1 * v1, c7 = c0 + c6 * v0 + 2.625;
    g[0] = c2 * (2 * v1 - 2) + c5 * (2 * c3 - 2) + c7 * (2 * c6 - 2);
    g[1] = 4 * c1 * c5 + 2 * c2 * v0 + 6 * c4 * c7;
    return c2 * c2 + c5 * c5 + c7 * c7;
}

/* Hyperparameters and the bound are set at run time, in main(). */
static volatile double HP[8];
static volatile double BOUND, TARGET;

static double run(double *loss) {
    double x[2] = {1.0, 1.5}, g[2], s[8] = {0};
    double p1 = 1.0, p2 = 1.0, best = INFINITY;
    const double bound = BOUND, target = TARGET;
    int hit = -1, best_step = -1;
    for (int t = 1; t <= STEPS; t++) {
        double f = fg(x, g);
#if OPT == BARE_ADAM
        /* a plain loop that tracks nothing: the loss unused, lr and the betas constants */
        (void)f;
        p1 *= 0.9; if (p1 < 1e-30) p1 = 0.0; /* no subnormal numbers (100x slower) */
        p2 *= 0.999; if (p2 < 1e-30) p2 = 0.0;
        const double step = 1e-3 / (1.0 - p1), bc2s = sqrt(1.0 - p2);
        for (int i = 0; i < 2; i++) {
            s[i] = 0.9 * s[i] + (1.0 - 0.9) * g[i];
            s[2 + i] = 0.999 * s[2 + i] + (1.0 - 0.999) * g[i] * g[i];
            x[i] = x[i] - step * s[i] / (sqrt(s[2 + i]) / bc2s + 1e-8);
        }
        continue;
#endif
        if (!(isfinite(f) && fabs(x[0]) <= bound && fabs(x[1]) <= bound)) return f;
        loss[t - 1] = f;
        if (f < best) { best = f; best_step = t - 1; }
        if (f <= target && hit < 0) hit = t - 1;
#if OPT == ADAM
        /* adam_prepare / adam_update of adambench/kernels.py, flags read at run time */
        const double lr = HP[0], b1 = HP[1], b2 = HP[2], eps = HP[3], wd = HP[4];
        const double amsgrad = HP[5], bias_correction = HP[6];
        p1 *= b1; if (!(p1 >= 1e-30)) p1 = 0.0;
        p2 *= b2; if (!(p2 >= 1e-30)) p2 = 0.0;
        double bc1 = 1.0, bc2 = 1.0;
        if (bias_correction != 0.0) { bc1 = 1.0 - p1; bc2 = 1.0 - p2; }
        double step = lr / bc1, bc2s = sqrt(bc2);
        for (int i = 0; i < 2; i++) {
            double gi = wd != 0.0 ? g[i] + wd * x[i] : g[i];
            double m = b1 * s[i] + (1.0 - b1) * gi;
            double v = b2 * s[2 + i] + (1.0 - b2) * gi * gi;
            double d = v;
            if (amsgrad != 0.0) { s[4 + i] = fmax(s[4 + i], v); d = s[4 + i]; }
            s[i] = m; s[2 + i] = v;
            x[i] = x[i] - step * m / (sqrt(d) / bc2s + eps);
        }
#elif OPT == ADAMAX
        const double lr = HP[0], b1 = HP[1], b2 = HP[2], eps = HP[3], wd = HP[4];
        p1 *= b1; if (!(p1 >= 1e-30)) p1 = 0.0;
        double clr = lr / (1.0 - p1);
        for (int i = 0; i < 2; i++) {
            double gi = wd != 0.0 ? g[i] + wd * x[i] : g[i];
            double m = b1 * s[i] + (1.0 - b1) * gi;
            double u = fmax(b2 * s[2 + i], fabs(gi) + eps);
            s[i] = m; s[2 + i] = u;
            x[i] = x[i] - clr * m / u;
        }
#elif OPT == SGD || OPT == MOMENTUM || OPT == NESTEROV
        /* torch.optim.SGD: momentum, dampening, nesterov, weight decay read at run time */
        const double lr = HP[0], mu = HP[1], damp = HP[2], nest = HP[3], wd = HP[4];
        const int first = t == 1;
        for (int i = 0; i < 2; i++) {
            double gi = wd != 0.0 ? g[i] + wd * x[i] : g[i];
            double d = gi;
            if (mu != 0.0) {
                double buf = first ? gi : mu * s[i] + (1.0 - damp) * gi;
                s[i] = buf;
                d = nest != 0.0 ? gi + mu * buf : buf;
            }
            x[i] = x[i] - lr * d;
        }
#elif OPT == ADAGRAD
        const double lr = HP[0], lr_decay = HP[1], eps = HP[2], wd = HP[4];
        const double clr = lr / (1.0 + (t - 1) * lr_decay);
        for (int i = 0; i < 2; i++) {
            double gi = wd != 0.0 ? g[i] + wd * x[i] : g[i];
            double acc = s[i] + gi * gi;
            s[i] = acc;
            x[i] = x[i] - clr * gi / (sqrt(acc) + eps);
        }
#elif OPT == RMSPROP
        const double lr = HP[0], a = HP[1], eps = HP[2], mu = HP[3], centered = HP[4], wd = HP[5];
        for (int i = 0; i < 2; i++) {
            double gi = wd != 0.0 ? g[i] + wd * x[i] : g[i];
            double v = a * s[i] + (1.0 - a) * gi * gi;
            double denom;
            s[i] = v;
            if (centered != 0.0) {
                double av = a * s[2 + i] + (1.0 - a) * gi;
                s[2 + i] = av;
                denom = sqrt(v - av * av) + eps;
            } else {
                denom = sqrt(v) + eps;
            }
            if (mu > 0.0) {
                s[4 + i] = mu * s[4 + i] + gi / denom;
                x[i] = x[i] - lr * s[4 + i];
            } else {
                x[i] = x[i] - lr * gi / denom;
            }
        }
#endif
    }
#if OPT == BARE_ADAM
    return x[0] + x[1];
#else
    return x[0] + x[1] + 0 * (best + hit + best_step);
#endif
}

static int cmp(const void *a, const void *b) {
    double d = *(const double *)a - *(const double *)b;
    return (d > 0) - (d < 0);
}

int main(void) {
    static double loss[STEPS];
    /* adambench's defaults, in the order of its hyperparameter vectors */
#if OPT == ADAM || OPT == BARE_ADAM
    const double hp[] = {1e-3, 0.9, 0.999, 1e-8, 0.0, 0.0, 1.0};
#elif OPT == ADAMAX
    const double hp[] = {2e-3, 0.9, 0.999, 1e-8, 0.0};
#elif OPT == SGD
    const double hp[] = {1e-3, 0.0, 0.0, 0.0, 0.0};
#elif OPT == MOMENTUM
    const double hp[] = {1e-3, 0.9, 0.0, 0.0, 0.0};
#elif OPT == NESTEROV
    const double hp[] = {1e-3, 0.9, 0.0, 1.0, 0.0};
#elif OPT == ADAGRAD
    const double hp[] = {1e-2, 0.0, 1e-10, 0.0, 0.0};
#else
    const double hp[] = {1e-2, 0.99, 1e-8, 0.0, 0.0, 0.0};
#endif
    for (unsigned k = 0; k < sizeof hp / sizeof hp[0]; k++) HP[k] = hp[k];
    BOUND = 4.5e6;
    TARGET = 1e-6;
    double times[REPS], check = 0;
    for (int k = 0; k < REPS; k++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        check = run(loss);
        clock_gettime(CLOCK_MONOTONIC, &b);
        times[k] = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / STEPS;
    }
    qsort(times, REPS, sizeof(double), cmp);
    /* the median ns/step, and x[0] + x[1] of the last run (to check it is adambench's) */
    printf("%.2f %.17g\n", times[REPS / 2], check);
    return 0;
}
