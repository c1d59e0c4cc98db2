"""VaR/ES against independent references: empyrical-reloaded, closed forms, the arch package, pandas."""
from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

import risk
from risk_fixtures import t_returns


@pytest.mark.parametrize("c", [0.9, 0.95, 0.975, 0.99])
@pytest.mark.parametrize("n", [250, 251, 1000])
def test_historical_matches_empyrical(c, n):
    # empyrical: VaR = np.percentile(r, 100 * cutoff), CVaR = mean of the floor((n-1)*cutoff)+1 lowest returns.
    x = t_returns(n, seed=n)
    res = risk.value_at_risk(x, method="historical", confidence=c)
    assert res.var == pytest.approx(-empyrical.value_at_risk(x, cutoff=1 - c), rel=1e-12)
    assert res.es == pytest.approx(-empyrical.conditional_value_at_risk(x, cutoff=1 - c), rel=1e-12)


def test_historical_small_worked_example():
    # Ten returns, 90% VaR: quantile at 0.1 -> position (10-1)*0.1 = 0.9 between the
    # two lowest (-5% and -3%): -5 + 0.9 * 2 = -3.2%, so VaR = 3.2%. ES: floor(0.9)+1 = 1 lowest -> 5%.
    x = np.array([0.01, -0.03, 0.02, -0.05, 0.0, 0.015, -0.01, 0.005, 0.03, -0.02])
    res = risk.value_at_risk(x, confidence=0.9)
    assert res.var == pytest.approx(0.032)
    assert res.es == pytest.approx(0.05)


def test_parametric_matches_quantstats_formula_and_covariance():
    # quantstats' parametric VaR: norm.ppf(1 - c, mean, std(ddof=1)) of the series.
    r = t_returns(500, k=6, seed=3)
    w = np.array([0.3, 0.2, 0.1, 0.15, 0.15, 0.1])
    port = r @ w
    c = 0.99
    ref = -stats.norm.ppf(1 - c, port.mean(), port.std(ddof=1))
    res = risk.value_at_risk(r, weights=w, method="parametric", confidence=c)
    assert res.var == pytest.approx(ref, rel=1e-10)
    # Same from an explicit covariance matrix and mean vector: w' mu, sqrt(w' S w).
    cov = np.cov(r, rowvar=False)
    res2 = risk.value_at_risk(None, weights=w, method="parametric", confidence=c, cov=cov, mean=r.mean(0))
    assert res2.var == pytest.approx(ref, rel=1e-10)
    # ES: numerical integral of the normal tail quantile, (1/(1-c)) * int_c^1 VaR_u du.
    mu, sd = port.mean(), port.std(ddof=1)
    es_ref = integrate.quad(lambda u: -(mu + sd * stats.norm.ppf(1 - u)), c, 1)[0] / (1 - c)
    assert res.es == pytest.approx(es_ref, rel=1e-6)


def test_parametric_horizon_scaling_closed_form():
    x = t_returns(400, seed=5) + 0.0005
    mu, sd, z = x.mean(), x.std(ddof=1), stats.norm.ppf(0.99)
    res = risk.value_at_risk(x, method="parametric", confidence=0.99, horizon=10)
    assert res.var == pytest.approx(-10 * mu + z * sd * np.sqrt(10), rel=1e-10)
    zero = risk.value_at_risk(x, method="parametric", confidence=0.99, horizon=10, zero_mean=True)
    assert zero.var == pytest.approx(z * sd * np.sqrt(10), rel=1e-10)


def test_historical_sqrt_and_overlapping_horizons():
    x = t_returns(300, seed=8)
    one = risk.value_at_risk(x, confidence=0.95)
    ten = risk.value_at_risk(x, confidence=0.95, horizon=10)
    assert ten.var == pytest.approx(one.var * np.sqrt(10))
    # Overlapping 10-day compounded returns computed a second way, with pandas rolling products.
    h = (1 + pd.Series(x)).rolling(10).apply(np.prod, raw=True).dropna().to_numpy() - 1
    ov = risk.value_at_risk(x, confidence=0.95, horizon=10, scaling="overlapping")
    assert ov.var == pytest.approx(-np.quantile(h, 0.05), rel=1e-10)
    pnl = risk.value_at_risk(x * 1e6, confidence=0.95, horizon=10, scaling="overlapping", returns=False)
    sums = pd.Series(x * 1e6).rolling(10).sum().dropna().to_numpy()
    assert pnl.var == pytest.approx(-np.quantile(sums, 0.05), rel=1e-10)


def test_monte_carlo_normal_converges_to_parametric():
    r = t_returns(500, k=4, seed=11)
    w = np.full(4, 0.25)
    p = risk.value_at_risk(r, weights=w, method="parametric", confidence=0.99)
    mc = risk.value_at_risk(r, weights=w, method="mc-normal", confidence=0.99, n_sims=400_000, seed=1)
    # Quantile standard error of the 1% quantile with 400k draws is about 0.3% of sigma.
    sd = (r @ w).std(ddof=1)
    assert abs(mc.var - p.var) < 0.01 * sd
    assert abs(mc.es - p.es) < 0.015 * sd


def test_monte_carlo_student_t_matches_closed_form():
    r = t_returns(500, k=3, seed=12)
    w = np.array([0.5, 0.3, 0.2])
    df = 5.0
    port = r @ w
    mu, sd = port.mean(), port.std(ddof=1)
    # Standardised t with the sample variance: quantile sd * sqrt((df-2)/df) * t_df^-1(c).
    ref = -(mu + sd * np.sqrt((df - 2) / df) * stats.t.ppf(0.01, df))
    mc = risk.value_at_risk(r, weights=w, method="mc-t", df=df, confidence=0.99, n_sims=400_000, seed=2)
    assert mc.var == pytest.approx(ref, rel=0.02)


def test_fhs_ewma_matches_pandas_ewm():
    x = t_returns(300, seed=21)
    lam = 0.94
    s2, f = risk.ewma_variance(x, lam)
    seed = np.mean(x[:30] ** 2)
    ref = pd.Series(np.r_[seed, x ** 2]).ewm(alpha=1 - lam, adjust=False).mean().to_numpy()
    np.testing.assert_allclose(s2, ref[:-1], rtol=1e-12)
    assert f == pytest.approx(ref[-1], rel=1e-12)
    res = risk.value_at_risk(x, method="fhs-ewma", confidence=0.99)
    scen = x / np.sqrt(ref[:-1]) * np.sqrt(ref[-1])
    assert res.var == pytest.approx(-empyrical.value_at_risk(scen, 0.01), rel=1e-10)


def test_garch_fit_agrees_with_arch_package():
    from arch import arch_model

    rng = np.random.default_rng(4)
    n, omega, alpha, beta = 3000, 2e-6, 0.08, 0.9
    x, s2 = np.empty(n), omega / (1 - alpha - beta)
    for t in range(n):
        x[t] = np.sqrt(s2) * rng.standard_normal()
        s2 = omega + alpha * x[t] ** 2 + beta * s2
    g = risk.garch11_fit(x)
    ref = arch_model(x * 100, mean="Zero", vol="GARCH", p=1, q=1, dist="normal").fit(disp="off")
    assert g.alpha == pytest.approx(ref.params["alpha[1]"], abs=0.02)
    assert g.beta == pytest.approx(ref.params["beta[1]"], abs=0.03)
    f_ref = ref.forecast(horizon=1).variance.to_numpy()[-1, 0] / 1e4
    assert g.forecast == pytest.approx(f_ref, rel=0.05)


def test_vectorised_equals_per_portfolio_loop():
    r = t_returns(250, k=20, seed=30)
    w = np.random.default_rng(1).dirichlet(np.ones(20), size=7).T
    for m in ("historical", "parametric", "fhs-ewma"):
        batch = risk.value_at_risk(r, weights=w, method=m, confidence=0.975)
        for j in range(7):
            one = risk.value_at_risk(r @ w[:, j], method=m, confidence=0.975)
            assert batch.var[j] == pytest.approx(one.var, rel=1e-12)
            assert batch.es[j] == pytest.approx(one.es, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(30, 400), st.floats(0.8, 0.995), st.integers(0, 10_000))
def test_es_at_least_var_and_var_monotone(n, c, seed):
    x = t_returns(n, seed=seed)
    a = risk.value_at_risk(x, confidence=c)
    assert a.es >= a.var - 1e-12
    b = risk.value_at_risk(x, confidence=min(c + 0.004, 0.999))
    assert b.var >= a.var - 1e-12


@pytest.mark.parametrize("kwargs,field", [
    ({"data": [0.01, float("nan"), 0.02]}, "data"),
    ({"data": [0.01, 0.02, -0.01], "confidence": 1.0}, "confidence"),
    ({"data": [0.01, 0.02, -0.01], "horizon": 0}, "horizon"),
    ({"data": [0.01, 0.02, -0.01], "method": "magic"}, "method"),
    ({"data": [0.01, 0.02, -0.01], "method": "fhs", "scaling": "overlapping"}, "scaling"),
    ({"data": np.zeros((5, 2)) + 0.01, "weights": [0.5, 0.4]}, "weights"),
    ({"data": np.zeros((5, 2)) + 0.01, "weights": [0.5, 0.3, 0.2]}, "weights"),
    ({"data": [[0.01]]}, "data"),
])
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        risk.value_at_risk(**kwargs)


def test_unnormalised_weights_allowed_when_asked():
    r = t_returns(100, k=2, seed=2)
    res = risk.value_at_risk(r, weights=[1.5, -0.5], check_weights=False)
    assert res.var == pytest.approx(risk.value_at_risk(r @ np.array([1.5, -0.5])).var)


def test_api_imports_neither_dask_nor_duckdb():
    import subprocess
    import sys

    code = "import risk, sys; print('dask' in sys.modules, 'duckdb' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.split() == ["False", "False", "False"]
