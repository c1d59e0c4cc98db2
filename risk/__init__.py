"""Portfolio risk: VaR/ES and backtests, stress tests, Brinson and Campisi attribution, batch jobs.

The metric functions take numpy/pandas inputs and import neither Dask nor
DuckDB; the storage (``risk.store``), synthetic data (``risk.synth``) and
batch layers (``risk.batch``) are imported only when used.
"""
from risk.backtest import BaselZone, ChristoffersenResult, TestResult, basel_zone, christoffersen, exceptions, kupiec
from risk.brinson import LinkedAttribution, brinson, brinson_arrays, brinson_linked
from risk.campisi import CampisiResult, campisi, link_absolute
from risk.linking import link_coefficients
from risk.stress import Scenario, factor_stress, historical_stress, position_returns
from risk.var import VaRResult, empirical_var_es, value_at_risk
from risk.volatility import Garch11, ewma_variance, garch11_fit

__all__ = [
    "BaselZone", "CampisiResult", "ChristoffersenResult", "Garch11", "LinkedAttribution", "Scenario",
    "TestResult", "VaRResult", "basel_zone", "brinson", "brinson_arrays", "brinson_linked", "campisi",
    "christoffersen", "empirical_var_es", "ewma_variance", "exceptions", "factor_stress", "garch11_fit",
    "historical_stress", "kupiec", "link_absolute", "link_coefficients", "position_returns", "value_at_risk",
]
