"""Shared small data and settings for the forecast tests (kept small: the area's CI budget is 3 minutes)."""
from __future__ import annotations

from functools import lru_cache

from forecast.engine import Config
from forecast.synthetic import generate_market

SMALL = Config(epochs=3, hidden=8, val_days=20, test_days=20, train_days=150, max_train=600, min_volume=1000.0)


@lru_cache(maxsize=None)
def small_market(seed: int = 3, n_products: int = 2, n_days: int = 300):
    """A small synthetic market (panel, calendar); callers must copy before mutating."""
    return generate_market(n_products=n_products, n_days=n_days, seed=seed)
