"""The trader API: ``price()`` and ``fair_coupon()`` with backend dispatch.

Backends of ``method="mc"`` (all return :class:`pricing.result.McSums` on the
same random streams, ``kernels/RNG.md``):

* ``"cpu"``: Numba parallel kernel (``kernels.snowball_mc``); Greeks in one pass.
* ``"numpy"``: plain-numpy reference (``kernels.snowball_numpy``).
* ``"bit-true"``: software model of the hardware datapath
  (``kernels.snowball_bittrue.mc_sums_bittrue``).
* ``"rtl"``: the Verilated kernel (``host.snowball_driver.mc_sums_rtl``).
* ``"auto"``: ``"rtl"`` when ``host.snowball_driver.device_available()``
  exists and returns True, else ``"cpu"``.

Backends other than ``"cpu"`` compute Greeks by repricing each bumped
scenario with the same seed (common random numbers).
"""
from __future__ import annotations

import importlib
import math
import time
from dataclasses import replace
from typing import Callable

import numpy as np

from kernels.snowball_schedule import Schedule, lower
from pricing.product import Market, Snowball, _int
from pricing.result import McSums, PriceResult, summarize

METHODS = ("mc", "pde")
BACKENDS = ("auto", "cpu", "numpy", "bit-true", "rtl")
#: Relative spot bump of Monte Carlo delta/gamma (central differences, common random numbers).
SPOT_BUMP = 0.01
#: Vol and rate bumps: the Greek units themselves (+0.01).
VOL_BUMP = 0.01
RATE_BUMP = 0.01
#: Most paths one call accepts (pair index is a 32-bit counter).
MAX_PATHS = 2**33

McFn = Callable[[Schedule, int, int], McSums]


def _check_paths(paths: object) -> int:
    p = _int("paths", paths, 1, MAX_PATHS)
    return p + (p & 1)  # antithetic pairs: an odd request is rounded up by one


def _check_seed(seed: object) -> int:
    from kernels.threefry import split_seed
    split_seed(seed)  # raises ValueError naming 'seed'
    return int(seed)  # type: ignore[arg-type]


def _optional(module: str, attr: str, backend: str):
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"backend {backend!r} is not available: cannot import {module} ({exc})") from None
    fn = getattr(mod, attr, None)
    if fn is None:
        raise ImportError(f"backend {backend!r} is not available: {module} has no {attr}()")
    return fn


def device_present() -> bool:
    """True when a hardware device is present for ``backend="auto"``.

    Requires ``host.snowball_driver.device_available()`` to return True and the
    driver to declare ``SIMULATED = False``: a Verilated simulation answers
    ``device_available()`` too, but it is orders of magnitude slower than the
    CPU kernel, so "auto" never picks it (ask for ``backend="rtl"`` explicitly).
    """
    try:
        mod = importlib.import_module("host.snowball_driver")
    except Exception:  # a missing or broken driver must not stop CPU pricing
        return False
    if getattr(mod, "SIMULATED", True):
        return False
    fn = getattr(mod, "device_available", None)
    try:
        return bool(fn()) if callable(fn) else False
    except Exception:
        return False


def resolve_backend(backend: str) -> str:
    """Map ``"auto"`` to ``"rtl"`` (device present) or ``"cpu"``; validate the name."""
    if backend not in BACKENDS:
        raise ValueError(f"backend: must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        return "rtl" if device_present() else "cpu"
    return backend


def mc_function(backend: str) -> McFn:
    """The ``(sched, n_pairs, seed) -> McSums`` function of a concrete MC backend."""
    if backend == "cpu":
        from kernels.snowball_mc import mc_sums_cpu
        return mc_sums_cpu
    if backend == "numpy":
        from kernels.snowball_numpy import mc_sums_numpy
        return mc_sums_numpy
    if backend == "bit-true":
        return _optional("kernels.snowball_bittrue", "mc_sums_bittrue", backend)
    if backend == "rtl":
        return _optional("host.snowball_driver", "mc_sums_rtl", backend)
    raise ValueError(f"backend: must be one of {BACKENDS[1:]} here, got {backend!r}")


def _scenarios(note: Snowball, market: Market, elapsed_days: int, knocked_in: bool):
    """Bumped schedules of the Greeks (name, schedule, day offset); theta only with >= 2 steps left."""
    lo = lambda m, v=elapsed_days: lower(note, m, v, knocked_in)  # noqa: E731
    h = SPOT_BUMP
    out = [
        ("up", lo(replace(market, spot=market.spot * (1 + h))), 0),
        ("down", lo(replace(market, spot=market.spot * (1 - h))), 0),
        ("vol", lo(replace(market, vol=market.vol + VOL_BUMP)), 0),
        ("rate", lo(replace(market, rate=market.rate + RATE_BUMP)), 0),
    ]
    if elapsed_days + 1 < note.maturity_days:
        out.append(("theta", lo(market, elapsed_days + 1), 1))
    return out


def _greeks_from_values(v0: float, vals: dict[str, float], spot: float, theta_terminal: float | None) -> dict:
    h = SPOT_BUMP * spot
    g = {
        "delta": (vals["up"] - vals["down"]) / (2 * h),
        "gamma": (vals["up"] - 2 * v0 + vals["down"]) / (h * h),
        "vega": vals["vol"] - v0,
        "rho": vals["rate"] - v0,
    }
    g["theta"] = (vals["theta"] if theta_terminal is None else theta_terminal) - v0
    return g


def _theta_terminal(sched: Schedule, market: Market, note: Snowball) -> float | None:
    """V on the maturity day for a trade valued the day before maturity (no step left to simulate)."""
    if sched.n_steps > 1:
        return None
    from kernels.snowball_pde import terminal_value
    return note.notional * terminal_value(sched, market.spot / note.initial_price)


def price(note: Snowball, market: Market, method: str = "mc", paths: int = 1_000_000, seed: int = 0,
          backend: str = "auto", greeks: bool = False, elapsed_days: int = 0, knocked_in: bool = False,
          show_progress: bool = False, pde_steps_per_day: int | None = None,
          pde_nodes_per_day_sd: float | None = None) -> PriceResult:
    """Value a snowball note (price, stderr, probabilities, fair coupon; Greeks on request)."""
    t0 = time.perf_counter()
    if not isinstance(note, Snowball):
        raise ValueError(f"note: must be a pricing.Snowball, got {type(note).__name__}")
    if not isinstance(market, Market):
        raise ValueError(f"market: must be a pricing.Market, got {type(market).__name__}")
    if method not in METHODS:
        raise ValueError(f"method: must be one of {METHODS}, got {method!r}")
    if not isinstance(greeks, (bool, np.bool_)):
        raise ValueError(f"greeks: must be True or False, got {greeks!r}")
    sched = lower(note, market, elapsed_days, knocked_in)
    if method == "pde":
        if backend not in BACKENDS:
            raise ValueError(f"backend: must be one of {BACKENDS}, got {backend!r}")
        from pricing.pde import pde_price
        res = pde_price(note, market, sched, greeks=greeks, steps_per_day=pde_steps_per_day,
                        nodes_per_day_sd=pde_nodes_per_day_sd)
        res.elapsed_s = time.perf_counter() - t0
        return res
    n_paths = _check_paths(paths)
    seed = _check_seed(seed)
    be = resolve_backend(backend)
    n_pairs = n_paths // 2
    scen = _scenarios(note, market, sched.elapsed_days, sched.knocked_in) if greeks else []
    bar = None
    if show_progress:
        from foreland.progress import progress
        bar = progress(total=n_pairs * (1 + (len(scen) if be != "cpu" else 0)), desc=f"mc[{be}]", unit="pair")
    tick = bar.update if bar is not None else None
    try:
        if be == "cpu":
            from kernels.snowball_mc import mc_pass
            sums, values, steps = mc_pass([sched] + [s for _, s, _ in scen], [0] + [o for _, _, o in scen],
                                          n_pairs, seed, tick)
            vals = {name: note.notional * v for (name, _, _), v in zip(scen, values[1:])}
        else:
            fn = mc_function(be)
            sums = _call(fn, sched, n_pairs, seed, tick)
            steps = 0
            vals = {}
            for name, s, _ in scen:
                vals[name] = note.notional * _call(fn, s, n_pairs, seed, tick).sum_pair / n_pairs
    finally:
        if bar is not None:
            bar.close()
    res = summarize(sums, sched, be, seed)
    res.path_steps = int(steps)
    if greeks:
        res.greeks = _greeks_from_values(res.price, vals, market.spot, _theta_terminal(sched, market, note))
    res.elapsed_s = time.perf_counter() - t0
    return res


def _call(fn: McFn, sched: Schedule, n_pairs: int, seed: int, tick) -> McSums:
    import inspect
    try:
        takes_tick = "tick" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        takes_tick = False
    if takes_tick:
        return fn(sched, n_pairs, seed, tick=tick)
    out = fn(sched, n_pairs, seed)  # backends written without the optional progress hook
    if tick is not None:
        tick(n_pairs)
    return out


def fair_coupon(note: Snowball, market: Market, method: str = "mc", paths: int = 1_000_000, seed: int = 0,
                backend: str = "auto", elapsed_days: int = 0, knocked_in: bool = False,
                show_progress: bool = False) -> float:
    """The coupon that makes the note worth zero (exact: the value is linear in the coupon)."""
    if method not in METHODS:
        raise ValueError(f"method: must be one of {METHODS}, got {method!r}")
    if method == "pde":
        from pricing.pde import pde_fair_coupon
        if backend not in BACKENDS:
            raise ValueError(f"backend: must be one of {BACKENDS}, got {backend!r}")
        return pde_fair_coupon(note, market, elapsed_days, knocked_in)
    res = price(note, market, method=method, paths=paths, seed=seed, backend=backend,
                elapsed_days=elapsed_days, knocked_in=knocked_in, show_progress=show_progress)
    if not math.isfinite(res.fair_coupon):
        raise ValueError("coupon: no coupon makes this note worth zero (it never pays a coupon on these paths)")
    return float(res.fair_coupon)
