"""Futures volume and open-interest forecaster: ARIMA, SVR and Seq2Seq fused per horizon (issue 6).

Importing the package is light: PyTorch is imported only by the Seq2Seq model
(forecast.model_seq2seq), statsmodels/scikit-learn/LIME only when used.
"""
from .engine import Config, Evaluation, Trained, evaluate, forecast_latest, train_final
from .features import FEATURE_TABLE, build_features
from .fusion import best_scale, fuse, grid_search_weights, simplex_grid
from .loaders import load_calendar, load_quotes
from .metrics import acc, acc_interval, mape, win_share
from .synthetic import generate_market, sp500_volume_panel

__all__ = [
    "acc", "acc_interval", "mape", "win_share",
    "load_quotes", "load_calendar", "generate_market", "sp500_volume_panel",
    "build_features", "FEATURE_TABLE",
    "simplex_grid", "grid_search_weights", "best_scale", "fuse",
    "Config", "Evaluation", "Trained", "evaluate", "train_final", "forecast_latest",
]
