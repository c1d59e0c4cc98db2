"""Shared helpers of the risk tests: a small synthetic DuckDB store built once per test session."""
from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np

from risk.synth import SynthConfig

SMALL = SynthConfig(seed=7, start="2025-01-02", end="2025-12-31", n_equities=80, n_bonds=60,
                    n_equity_portfolios=6, n_bond_portfolios=4, n_mixed_portfolios=2, n_books=1, trades_per_book=3)
_BUILT: dict[str, Path] = {}


def small_db(tmp_path: Path, name: str = "risk.duckdb") -> Path:
    """A fresh copy of the small synthetic store in ``tmp_path`` (generated once per session, then copied)."""
    if "small" not in _BUILT:
        from risk.store import connect
        from risk.synth import generate

        tmp = Path(tempfile.mkdtemp(prefix="risk_small_"))
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        src = tmp / "small.duckdb"
        con = connect(src, create=True)
        try:
            generate(con, SMALL)
        finally:
            con.close()
        _BUILT["small"] = src
    dst = tmp_path / name
    shutil.copy(_BUILT["small"], dst)
    return dst


def t_returns(n: int, k: int = 1, seed: int = 0, df: float = 4.0, scale: float = 0.01) -> np.ndarray:
    """Heavy-tailed daily returns (n x k, or n when k == 1) for VaR tests."""
    r = np.random.default_rng(seed).standard_t(df, size=(n, k)) * scale
    return r[:, 0] if k == 1 else r
