"""Forecaster benchmarks (pytest-benchmark); compare each pair within its group, in the same run.

    python -m pytest bench/bench_forecast.py --benchmark-enable

* group "arima-origins": forecasting one contract at 100 origins, our scheme
  (statsmodels estimate every 20 origins + causal ARMA recursion) against the
  peer (same estimates, statsmodels' Kalman filter re-run at every origin).
* group "fusion": grid search on the 0.05 simplex (three models, and the
  default three models + persistence) against scipy's LP solver on the
  three models' validation data (the LP gives the continuous optimum).
* group "fusion-level": the default search, the 0.05 grid of four
  candidates with each point's Acc-optimal level (a weighted median),
  against scipy's LP for non-negative weights of any sum (the continuous
  optimum of the same problem).
* group "evaluate-quick": a quick demo evaluation, all three models against
  ARIMA alone (the source's simplest single model). The full results table
  and its wall time come from ``foreland forecast report``.
"""
import warnings

import numpy as np
import pytest

from forecast.benchmark import DEMO_CONFIG
from forecast.engine import evaluate
from forecast.fusion import grid_search_weights
from forecast.model_arima import arima_forecast
from forecast.synthetic import generate_market


def _series():
    rng = np.random.default_rng(0)
    return np.exp(9 + np.cumsum(rng.normal(0, 0.1, 300)))


ORIGINS = np.arange(200, 300)


def _peer_kalman(y):
    from statsmodels.tsa.arima.model import ARIMA

    ly = np.log1p(y)
    out = []
    res = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, o in enumerate(ORIGINS):
            hist = ly[max(0, o + 1 - 250): o + 1]
            if k % 20 == 0:
                res = ARIMA(hist, order=(1, 1, 1)).fit()
                f = res.forecast(5)
            else:
                f = ARIMA(hist, order=(1, 1, 1)).filter(res.params).forecast(5)
            out.append(np.expm1(f))
    return np.array(out)


@pytest.mark.benchmark(group="arima-origins")
def test_arima_recursion(benchmark):
    y = _series()
    out = benchmark.pedantic(lambda: arima_forecast(y, ORIGINS, refit_every=20), rounds=3, iterations=1)
    assert out.shape == (100, 5)


@pytest.mark.benchmark(group="arima-origins")
def test_arima_kalman_peer(benchmark):
    y = _series()
    out = benchmark.pedantic(lambda: _peer_kalman(y), rounds=3, iterations=1)
    # same estimates and the same answers up to the filter's start-up, so the timing compares like with like
    ours = arima_forecast(y, ORIGINS, refit_every=20)
    np.testing.assert_allclose(ours, out, rtol=1e-3)


def _fusion_data():
    rng = np.random.default_rng(1)
    truth = rng.uniform(100, 1000, (1000, 5))
    preds = np.stack([truth * np.exp(rng.normal(b, s, truth.shape)) for b, s in ((0.1, 0.3), (-0.1, 0.2), (0, 0.4))])
    return preds, truth


@pytest.mark.benchmark(group="fusion")
def test_fusion_grid(benchmark):
    preds, truth = _fusion_data()
    benchmark(lambda: grid_search_weights(preds, truth, 0.05))


@pytest.mark.benchmark(group="fusion")
def test_fusion_grid_with_persistence(benchmark):
    # the default fusion: three models plus persistence, 1,771 grid points
    preds, truth = _fusion_data()
    four = np.concatenate([preds, truth[None] * np.exp(np.random.default_rng(2).normal(0, 0.3, truth.shape))[None]])
    benchmark(lambda: grid_search_weights(four, truth, 0.05))


@pytest.mark.benchmark(group="fusion")
def test_fusion_lp_peer(benchmark):
    from scipy.optimize import linprog

    preds, truth = _fusion_data()

    def lp():
        for h in range(5):
            P, t = preds[:, :, h], truth[:, h]
            m, n = P.shape
            A = np.block([[P.T / t[:, None], -np.eye(n)], [-P.T / t[:, None], -np.eye(n)]])
            linprog(np.r_[np.zeros(m), np.ones(n) / n], A_ub=A, b_ub=np.r_[np.ones(n), -np.ones(n)],
                    A_eq=np.r_[np.ones(m), np.zeros(n)][None, :], b_eq=[1.0], bounds=[(0, None)] * (m + n), method="highs")

    benchmark.pedantic(lp, rounds=3, iterations=1)


def _four():
    preds, truth = _fusion_data()
    return np.concatenate([preds, truth[None] * np.exp(np.random.default_rng(2).normal(0, 0.3, truth.shape))[None]]), truth


def _lp_nonneg(P, t):
    from scipy.optimize import linprog

    m, n = P.shape
    A = np.block([[P.T / t[:, None], -np.eye(n)], [-P.T / t[:, None], -np.eye(n)]])
    return linprog(np.r_[np.zeros(m), np.ones(n) / n], A_ub=A, b_ub=np.r_[np.ones(n), -np.ones(n)],
                   bounds=[(0, None)] * (m + n), method="highs").fun


@pytest.mark.benchmark(group="fusion-level")
def test_fusion_grid_free_scale(benchmark):
    # the default fusion: 1,771 grid points of four candidates, each with its Acc-optimal level
    four, truth = _four()
    w, obj = benchmark.pedantic(lambda: grid_search_weights(four, truth, 0.05, free_scale=True), rounds=3, iterations=1)
    lp = np.array([_lp_nonneg(four[:, :, h], truth[:, h]) for h in range(5)])
    assert np.all(lp <= obj + 1e-9) and np.all(obj - lp < 0.005)
    benchmark.extra_info["gap_to_lp"] = float(np.max(obj - lp))


@pytest.mark.benchmark(group="fusion-level")
def test_fusion_lp_nonneg_peer(benchmark):
    # the continuous optimum over non-negative weights of any sum, by scipy's HiGHS
    four, truth = _four()
    benchmark.pedantic(lambda: [_lp_nonneg(four[:, :, h], truth[:, h]) for h in range(5)], rounds=3, iterations=1)


QUICK = DEMO_CONFIG.with_(folds=1, epochs=10)


@pytest.mark.benchmark(group="evaluate-quick")
def test_evaluate_all_models(benchmark):
    panel, cal = generate_market(seed=0)
    ev = benchmark.pedantic(lambda: evaluate(panel, cal, QUICK), rounds=1, iterations=1)
    fused = ev.cases[ev.cases["model"] == "fused"].groupby("target")["acc"].mean()
    benchmark.extra_info["fused_acc"] = {k: round(float(v), 4) for k, v in fused.items()}


@pytest.mark.benchmark(group="evaluate-quick")
def test_evaluate_arima_only_peer(benchmark):
    panel, cal = generate_market(seed=0)
    benchmark.pedantic(lambda: evaluate(panel, cal, QUICK.with_(models=("arima",))), rounds=1, iterations=1)
