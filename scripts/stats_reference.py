#!/usr/bin/python3
"""Reference numbers for bend's statistics tests (tests/test_stats.cpp), from SciPy.

Run once (/usr/bin/python3 scripts/stats_reference.py; Debian's python3-scipy) and paste the printed
numbers into tests/test_stats.cpp; the tests themselves do not need SciPy.
"""
import warnings

import numpy as np
from scipy import special, stats

# SciPy warns about the noncentral t at df = 1 (n = 2 pairs); the values it returns there are fine.
warnings.filterwarnings("ignore", category=RuntimeWarning)

print("// Student's t quantiles: (p, df, t)")
for p, df in [(0.975, 1), (0.975, 2), (0.975, 4), (0.975, 30), (0.8, 9), (0.999, 3), (0.6, 2.5),
              (0.025, 7), (0.9995, 1), (0.975, 1000)]:
    print(f"{{{p}, {df}, {stats.t.ppf(p, df):.15g}}},")

print("// Student's t CDF: (t, df, cdf)")
for t, df in [(0.0, 3), (0.1, 1), (-1.5, 2), (2.0, 10), (4.0, 4), (-12.0, 6), (35.0, 1), (1e-5, 50), (3.0, 0.7)]:
    print(f"{{{t}, {df}, {stats.t.cdf(t, df):.17g}}},")

print("// regularized incomplete beta: (a, b, x, I)")
for a, b, x in [(0.5, 0.5, 0.3), (2, 3, 0.4), (10, 0.5, 0.95), (0.5, 15, 0.01), (50, 60, 0.45), (1, 1, 0.7)]:
    print(f"{{{a}, {b}, {x}, {special.betainc(a, b, x):.17g}}},")

# Student (1908) / Cushny & Peebles: extra hours of sleep under two drugs, same ten patients (R's `sleep`).
drug1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
drug2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
r = stats.ttest_rel(drug1, drug2)
ci = r.confidence_interval(0.95)
d = np.subtract(drug1, drug2)
print("// sleep: mean, std, t, p, ci_low, ci_high")
print(f"{d.mean():.17g}, {d.std(ddof=1):.17g}, {r.statistic:.17g}, {r.pvalue:.17g}, {ci.low:.17g}, {ci.high:.17g}")

# Accuracy-like example: 5 seeds, gelu vs relu.
gelu = [0.9786, 0.9791, 0.9779, 0.9801, 0.9783]
relu = [0.9771, 0.9790, 0.9752, 0.9789, 0.9760]
r = stats.ttest_rel(gelu, relu)
ci = r.confidence_interval(0.95)
d = np.subtract(gelu, relu)
print("// gelu - relu: mean, std, t, p, ci_low, ci_high")
print(f"{d.mean():.17g}, {d.std(ddof=1):.17g}, {r.statistic:.17g}, {r.pvalue:.17g}, {ci.low:.17g}, {ci.high:.17g}")
m = np.mean(gelu)
s = np.std(gelu, ddof=1)
lo, hi = stats.t.interval(0.95, len(gelu) - 1, loc=m, scale=s / np.sqrt(len(gelu)))
print(f"// gelu summary: mean, std, ci_low, ci_high\n{m:.17g}, {s:.17g}, {lo:.17g}, {hi:.17g}")


def holm(p):
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    out = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


print("// Holm")
for p in [[0.01, 0.04, 0.03, 0.005], [0.2, 0.001, 0.6, 0.02, 0.04, 0.3]]:
    print(p, "->", [float(f"{v:.12g}") for v in holm(p)])


def exact_paired_n(d, alpha=0.05, power=0.8):
    """Smallest n whose exact (noncentral t) power reaches `power` for effect size d = gap / std."""
    n = 2
    while True:
        df = n - 1
        crit = stats.t.ppf(1 - alpha / 2, df)
        nc = d * np.sqrt(n)
        achieved = stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc)
        if achieved >= power:
            return n
        n += 1


def approx_paired_n(d, alpha=0.05, power=0.8):
    n = 2
    while True:
        df = n - 1
        z = stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)
        if n >= (z / d) ** 2:
            return n
        n += 1


print("// sample size: (effect size, t-quantile iteration n, exact noncentral-t n)")
for d in [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0]:
    print(f"{{{d}, {approx_paired_n(d)}, {exact_paired_n(d)}}},")
