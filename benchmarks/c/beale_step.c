/* One optimizer on Beale's function, 10,000 steps, float64, the loss recorded every step:
 * the same computation as adambench's compiled run loop (adambench/kernels.py and the fused
 * runner of adambench/codegen.py): the same formulas in the same order, hyperparameters read
 * at run time (not constants the compiler could fold, as adambench's are not), and the same
 * per-step bookkeeping (finite loss, |x| within the divergence bound, best loss, first step at
 * the target). Compiled with gcc -O3 -march=native; prints the median ns/step of REPS runs.
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
        if (!(isfinite(f) && fabs(x[0]) <= bound && fabs(x[1]) <= bound)) return f;
        loss[t - 1] = f;
        if (f < best) { best = f; best_step = t - 1; }
        if (f <= target && hit < 0) hit = t - 1;
#if OPT == ADAM
        const double lr = HP[0], b1 = HP[1], b2 = HP[2], eps = HP[3];
        p1 *= b1; p2 *= b2;
        double step = lr / (1.0 - p1), bc2s = sqrt(1.0 - p2);
        for (int i = 0; i < 2; i++) {
            double m = b1 * s[i] + (1.0 - b1) * g[i];
            double v = b2 * s[2 + i] + (1.0 - b2) * g[i] * g[i];
            s[i] = m; s[2 + i] = v;
            x[i] -= step * m / (sqrt(v) / bc2s + eps);
        }
#elif OPT == ADAMAX
        const double lr = HP[0], b1 = HP[1], b2 = HP[2], eps = HP[3];
        p1 *= b1;
        double clr = lr / (1.0 - p1);
        for (int i = 0; i < 2; i++) {
            double m = b1 * s[i] + (1.0 - b1) * g[i];
            double u = fmax(b2 * s[2 + i], fabs(g[i]) + eps);
            s[i] = m; s[2 + i] = u;
            x[i] -= clr * m / u;
        }
#elif OPT == SGD
        const double lr = HP[0];
        for (int i = 0; i < 2; i++) x[i] -= lr * g[i];
#elif OPT == MOMENTUM || OPT == NESTEROV
        const double lr = HP[0], mu = HP[1];
        for (int i = 0; i < 2; i++) {
            double buf = t == 1 ? g[i] : mu * s[i] + g[i];
            s[i] = buf;
#if OPT == NESTEROV
            x[i] -= lr * (g[i] + mu * buf);
#else
            x[i] -= lr * buf;
#endif
        }
#elif OPT == ADAGRAD
        const double lr = HP[0], eps = HP[2];
        for (int i = 0; i < 2; i++) {
            double acc = s[i] + g[i] * g[i];
            s[i] = acc;
            x[i] -= lr * g[i] / (sqrt(acc) + eps);
        }
#elif OPT == RMSPROP
        const double lr = HP[0], a = HP[1], eps = HP[2];
        for (int i = 0; i < 2; i++) {
            double v = a * s[i] + (1.0 - a) * g[i] * g[i];
            s[i] = v;
            x[i] -= lr * g[i] / (sqrt(v) + eps);
        }
#endif
    }
    return x[0] + x[1] + 0 * (best + hit + best_step);
}

static int cmp(const void *a, const void *b) {
    double d = *(const double *)a - *(const double *)b;
    return (d > 0) - (d < 0);
}

int main(void) {
    static double loss[STEPS];
#if OPT == ADAM
    const double hp[] = {1e-3, 0.9, 0.999, 1e-8};
#elif OPT == ADAMAX
    const double hp[] = {2e-3, 0.9, 0.999, 1e-8};
#elif OPT == SGD
    const double hp[] = {1e-3};
#elif OPT == MOMENTUM || OPT == NESTEROV
    const double hp[] = {1e-3, 0.9};
#elif OPT == ADAGRAD
    const double hp[] = {1e-2, 0.0, 1e-10};
#else
    const double hp[] = {1e-2, 0.99, 1e-8};
#endif
    for (unsigned k = 0; k < sizeof hp / sizeof hp[0]; k++) HP[k] = hp[k];
    BOUND = 4.5e6;
    TARGET = 1e-6;
    double times[REPS], check = 0;
    for (int k = 0; k < REPS; k++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        check += run(loss);
        clock_gettime(CLOCK_MONOTONIC, &b);
        times[k] = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / STEPS;
    }
    qsort(times, REPS, sizeof(double), cmp);
    printf("%.2f %.17g\n", times[REPS / 2], check / REPS + loss[STEPS - 1] * 0);
    return 0;
}
