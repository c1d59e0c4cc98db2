"""The results report: training + evaluation on the synthetic demo market and on S&P 500 volume."""
from __future__ import annotations

import platform
import time

from .engine import Config, evaluate
from .report import render
from .synthetic import generate_market, sp500_volume_panel

# The demo configuration: what 'foreland forecast evaluate demo' runs by default, two folds.
DEMO_CONFIG = Config(folds=2)
# S&P 500: one long series; no minimum volume, a longer training window and test year.
SP500_CONFIG = Config(min_volume=0.0, val_days=120, test_days=125, folds=2, train_days=1000)


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


def results_report(quick: bool = False, seed: int = 0, skip_folds: int = 0) -> str:
    """Markdown report of both runs with the source's figures alongside."""
    demo_cfg = DEMO_CONFIG.with_(folds=1, epochs=10) if quick else DEMO_CONFIG
    sp_cfg = SP500_CONFIG.with_(folds=1, epochs=10) if quick else SP500_CONFIG
    if skip_folds:
        # development run: the held-out test windows of the report are never touched
        demo_cfg, sp_cfg = demo_cfg.with_(skip_folds=skip_folds), sp_cfg.with_(skip_folds=skip_folds)
    ev_d, t_d, c_d = run_demo(demo_cfg, seed)
    ev_s, t_s, c_s = run_sp500(sp_cfg, seed)
    head = [f"## Forecast results ({platform.machine()}, {platform.python_version()}, seed {seed}"
            f"{', quick' if quick else ''}{f', development folds (skip {skip_folds})' if skip_folds else ''})", ""]
    return "\n".join(head) + "\n" + render("Synthetic market (demo)", ev_d, t_d, c_d) + "\n" + render("S&P 500 volume (arch)", ev_s, t_s, c_s)
