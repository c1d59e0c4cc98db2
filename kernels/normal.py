"""Inverse standard normal CDF: Wichura's AS241 (PPND16), in Numba and in numpy.

Reference: M. J. Wichura, "Algorithm AS 241: The percentage points of the
normal distribution", Applied Statistics 37 (1988) 477-484. Relative accuracy
about 1e-16 over (0, 1). The float64 Monte Carlo engines (Numba ``cpu`` and the
plain ``numpy`` reference) both use it with the same operation order, so they
turn the same uniforms into the same normals (see ``kernels/RNG.md``).

Uniforms of the RNG contract, ``u = (w + 0.5) / 2**32``, never leave
``[1.16e-10, 1 - 1.16e-10]``, so only the central and the first tail branch
(``r <= 5``) are ever reached by the Monte Carlo kernels; the far tail is kept
for completeness of the function.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from kernels.vector_width import prefer_512_bit

SPLIT1 = 0.425
SPLIT2 = 5.0
CONST1 = 0.180625
CONST2 = 1.6

# Central region |u - 0.5| <= 0.425: z = q * A(r) / B(r), r = 0.180625 - q^2.
A = (3.3871328727963666080e0, 1.3314166789178437745e2, 1.9715909503065514427e3,
     1.3731693765509461125e4, 4.5921953931549871457e4, 6.7265770927008700853e4,
     3.3430575583588128105e4, 2.5090809287301226727e3)
B = (1.0, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3,
     2.1213794301586595867e4, 3.9307895800092710610e4, 2.8729085735721942674e4,
     5.2264952788528545610e3)
# Intermediate tail r = sqrt(-ln(min(u, 1-u))) <= 5: polynomials in r - 1.6.
C = (1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
     3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
     2.27238449892691845833e-2, 7.74545014278341407640e-4)
D = (1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
     1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
     1.05075007164441684324e-9)
# Far tail r > 5: polynomials in r - 5.
E = (6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
     2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
     2.71155556874348757815e-5, 2.01033439929228813265e-7)
F = (1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
     7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
     2.04426310338993978564e-15)

a0, a1, a2, a3, a4, a5, a6, a7 = A
b1, b2, b3, b4, b5, b6, b7 = B[1:]
c0, c1, c2, c3, c4, c5, c6, c7 = C
d1, d2, d3, d4, d5, d6, d7 = D[1:]
e0, e1, e2, e3, e4, e5, e6, e7 = E
f1, f2, f3, f4, f5, f6, f7 = F[1:]


@njit(inline="always", cache=True)
def central(q):
    """AS241 central branch for q = u - 0.5 with |q| <= 0.425 (branch-free, vectorisable)."""
    r = CONST1 - q * q
    num = (((((((a7 * r + a6) * r + a5) * r + a4) * r + a3) * r + a2) * r + a1) * r + a0)
    den = (((((((b7 * r + b6) * r + b5) * r + b4) * r + b3) * r + b2) * r + b1) * r + 1.0)
    return q * num / den


@njit(inline="always", cache=True)
def tail(q, u):
    """AS241 tail branches for |q| > 0.425 (u = q + 0.5)."""
    r = u if q < 0.0 else 1.0 - u
    r = math.sqrt(-math.log(r))
    if r <= SPLIT2:
        r = r - CONST2
        num = (((((((c7 * r + c6) * r + c5) * r + c4) * r + c3) * r + c2) * r + c1) * r + c0)
        den = (((((((d7 * r + d6) * r + d5) * r + d4) * r + d3) * r + d2) * r + d1) * r + 1.0)
    else:
        r = r - SPLIT2
        num = (((((((e7 * r + e6) * r + e5) * r + e4) * r + e3) * r + e2) * r + e1) * r + e0)
        den = (((((((f7 * r + f6) * r + f5) * r + f4) * r + f3) * r + f2) * r + f1) * r + 1.0)
    z = num / den
    return -z if q < 0.0 else z


@njit(cache=True)
def ppnd16(u):
    """Inverse standard normal CDF of u in (0, 1) (AS241 PPND16), Numba scalar."""
    q = u - 0.5
    if abs(q) <= SPLIT1:
        return central(q)
    return tail(q, u)


def _horner(coef, r):
    acc = coef[7] * r + coef[6]
    for c in coef[5::-1]:
        acc = acc * r + c
    return acc


def ppnd16_np(u: np.ndarray) -> np.ndarray:
    """Inverse standard normal CDF (AS241 PPND16), vectorised numpy, same operation order as Numba."""
    u = np.asarray(u, dtype=np.float64)
    q = u - 0.5
    r = CONST1 - q * q
    z = q * _horner(A, r) / _horner(B, r)
    tail_mask = np.abs(q) > SPLIT1
    if tail_mask.any():
        qt = q[tail_mask]
        ut = u[tail_mask]
        rt = np.sqrt(-np.log(np.where(qt < 0.0, ut, 1.0 - ut)))
        near = rt <= SPLIT2
        rn = rt - CONST2
        rf = rt - SPLIT2
        zt = np.where(near, _horner(C, rn) / _horner(D, rn), _horner(E, rf) / _horner(F, rf))
        z[tail_mask] = np.where(qt < 0.0, -zt, zt)
    return z


# --- Vectorisable tail (used by the Numba Monte Carlo kernel) -------------------------------
# glibc's log is a scalar call that stops LLVM from vectorising the tail loop; this
# log (fdlibm's e_log.c reduction and minimax polynomial, error < 1 ulp) is plain
# arithmetic on the float's bits, so the whole tail vectorises.
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
LG1, LG2, LG3, LG4 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, \
    2.222219843214978396e-01
LG5, LG6, LG7 = 1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01
_MANT = 0x000FFFFFFFFFFFFF
_SQRT2_BITS_M = 0x6A09E667F3BCD  # mantissa bits of sqrt(2)


@njit(cache=True, error_model="numpy")
def log_batch(x, n, e_work):
    """In-place natural log of x[:n] (positive normal floats), vectorisable; e_work: int64 scratch [>= n]."""
    prefer_512_bit()
    bits = x.view(np.int64)
    for k in range(n):
        b = bits[k]
        m = b & _MANT
        # reduce the mantissa to [sqrt(2)/2, sqrt(2)): exponent 1022 when above sqrt(2)
        big = m > _SQRT2_BITS_M
        e_work[k] = ((b >> 52) & 0x7FF) - 1023 + (1 if big else 0)
        bits[k] = m | ((0x3FE if big else 0x3FF) << 52)
    for k in range(n):
        f = x[k] - 1.0
        s = f / (2.0 + f)
        z = s * s
        w = z * z
        t1 = w * (LG2 + w * (LG4 + w * LG6))
        t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)))
        R = t2 + t1
        hfsq = 0.5 * f * f
        dk = np.float64(e_work[k])
        x[k] = dk * LN2_HI - ((hfsq - (s * (hfsq + R) + dk * LN2_LO)) - f)


@njit(cache=True, error_model="numpy")
def tail_batch(u, idx, n, z, r_work, e_work):
    """z[idx[k]] = AS241 tail value of u[idx[k]] for k < n (all |u - 0.5| > 0.425, min(u, 1-u) > 1e-300)."""
    for k in range(n):
        i = idx[k]
        r_work[k] = min(u[i], 1.0 - u[i])
    log_batch(r_work, n, e_work)
    for k in range(n):
        r = math.sqrt(-r_work[k])
        rn = r - CONST2
        rf = r - SPLIT2
        num = (((((((c7 * rn + c6) * rn + c5) * rn + c4) * rn + c3) * rn + c2) * rn + c1) * rn + c0)
        den = (((((((d7 * rn + d6) * rn + d5) * rn + d4) * rn + d3) * rn + d2) * rn + d1) * rn + 1.0)
        numf = (((((((e7 * rf + e6) * rf + e5) * rf + e4) * rf + e3) * rf + e2) * rf + e1) * rf + e0)
        denf = (((((((f7 * rf + f6) * rf + f5) * rf + f4) * rf + f3) * rf + f2) * rf + f1) * rf + 1.0)
        r_work[k] = num / den if r <= SPLIT2 else numf / denf
    for k in range(n):
        i = idx[k]
        z[i] = math.copysign(r_work[k], u[i] - 0.5)


def _tail_word_limit() -> int:
    """Largest ``min(w, ~w)`` whose uniform ``(w + 0.5) / 2**32`` is in the AS241 tail (``|u - 0.5| > SPLIT1``)."""
    w = int(0.075 * 2**32)
    while abs((w + 1 + 0.5) / 2**32 - 0.5) > SPLIT1:
        w += 1
    while abs((w + 0.5) / 2**32 - 0.5) <= SPLIT1:
        w -= 1
    return w


#: The AS241 branch test of an RNG word as one exact integer compare: tail iff min(w, ~w) <= this
#: (u - 0.5 is exact for u = (w + 0.5) / 2**32, so the float test and this one agree on every word).
TAIL_WORD_LIMIT = _tail_word_limit()
_INV_2_32 = 1.0 / 4294967296.0


# FMA contraction in the rational (14 FMAs instead of 14 multiplies and 14 adds); the
# numpy reference rounds each operation, so the two agree to rounding, as in the central branch.
@njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="never")
def tail_words_u32(tw, n, out, e_work):
    """out[:n] = AS241 tail value of the RNG words tw[:n] (all in the tail), u = (w + 0.5) / 2**32.

    min(u, 1 - u) is ``(min(w, ~w) + 0.5) / 2**32`` exactly and the sign is that
    of ``w - 2**31``; min(u, 1 - u) >= 2**-33, so r = sqrt(-ln(.)) <= 4.78 and the
    far-tail branch (r > 5) is never needed. ``e_work``: int64 scratch [>= n].
    """
    prefer_512_bit()
    for k in range(n):
        x = tw[k]
        out[k] = (np.float64(min(x, ~x)) + 0.5) * _INV_2_32
    log_batch(out, n, e_work)
    for k in range(n):
        rn = math.sqrt(-out[k]) - CONST2
        num = (((((((c7 * rn + c6) * rn + c5) * rn + c4) * rn + c3) * rn + c2) * rn + c1) * rn + c0)
        den = (((((((d7 * rn + d6) * rn + d5) * rn + d4) * rn + d3) * rn + d2) * rn + d1) * rn + 1.0)
        v = num / den
        out[k] = -v if tw[k] < np.uint32(0x80000000) else v
