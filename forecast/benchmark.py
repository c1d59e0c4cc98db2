"""The results report: training + evaluation on the synthetic demo market and on S&P 500 volume."""
from __future__ import annotations

import platform
import time

from .engine import Config, evaluate
from .report import render
from .synthetic import generate_market, sp500_volume_panel

# The demo configuration: what 'foreland forecast evaluate demo' runs by default, two folds.
DEMO_CONFIG = Config(folds=2)
# S&P 500: one long series; no minimum volume, a longer training window, half-year test windows.
# Eight held-out folds (2015-2018, about 1,000 forecasts) instead of two: one series gives few forecasts per
# fold, so a fold-level win share needs several folds. Six pooled validation blocks: chosen on the development
# folds (docs/forecast.md, Results); a training costs seconds here, unlike on the demo market.
SP500_CONFIG = Config(min_volume=0.0, val_days=120, test_days=125, folds=8, train_days=1000, val_blocks=6)
# Development folds: the test windows before the report's own (demo: folds 2-3; S&P 500: folds 8-15).
DEV_SKIP = {"demo": 2, "sp500": 8}


def run_demo(cfg: Config = DEMO_CONFIG, seed: int = 0):
    """Evaluate on the synthetic market; returns (Evaluation, wall seconds, CPU seconds), data generation included."""
    t0, c0 = time.perf_counter(), time.process_time()
    panel, cal = generate_market(seed=seed)
    ev = evaluate(panel, cal, cfg.with_(seed=seed))
    return ev, time.perf_counter() - t0, time.process_time() - c0


def run_sp500(cfg: Config = SP500_CONFIG, seed: int = 0):
    """Evaluate on the S&P 500 daily volume; returns (Evaluation, wall seconds, CPU seconds)."""
    t0, c0 = time.perf_counter(), time.process_time()
    ev = evaluate(sp500_volume_panel(), None, cfg.with_(seed=seed))
    return ev, time.perf_counter() - t0, time.process_time() - c0


def results_report(quick: bool = False, seed: int = 0, development: bool = False,
                   datasets: tuple[str, ...] = ("demo", "sp500")) -> str:
    """Markdown report of the chosen runs with the source's figures alongside."""
    bad = [d for d in datasets if d not in DEV_SKIP]
    if bad or not datasets:
        raise ValueError(f"datasets: choose from demo, sp500, got {', '.join(datasets) or 'none'}")
    demo_cfg = DEMO_CONFIG.with_(folds=1, epochs=10) if quick else DEMO_CONFIG
    sp_cfg = SP500_CONFIG.with_(folds=1, epochs=10) if quick else SP500_CONFIG
    if development:
        # development run: the held-out test windows of the report are never touched
        demo_cfg, sp_cfg = demo_cfg.with_(skip_folds=DEV_SKIP["demo"]), sp_cfg.with_(skip_folds=DEV_SKIP["sp500"])
    head = [f"## Forecast results ({platform.machine()}, {platform.python_version()}, seed {seed}"
            f"{', quick' if quick else ''}{', development folds' if development else ''})", ""]
    parts = []
    if "demo" in datasets:
        parts.append(render("Synthetic market (demo)", *run_demo(demo_cfg, seed)))
    if "sp500" in datasets:
        parts.append(render("S&P 500 volume (arch)", *run_sp500(sp_cfg, seed)))
    return "\n".join(head) + "\n" + "\n".join(parts)
