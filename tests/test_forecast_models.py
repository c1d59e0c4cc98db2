"""Models: the ARIMA recursion against statsmodels, causality, Seq2Seq determinism and learning, SVR."""
import pickle
import warnings

import numpy as np
import pytest
from statsmodels.tsa.arima.model import ARIMA

from forecast.model_arima import arima_forecast, fit_arima, recursion_forecast
from forecast.model_svr import SVRForecaster


@pytest.mark.parametrize("order", [(1, 1, 1), (2, 0, 2), (0, 1, 1)])
def test_arima_recursion_matches_statsmodels(order):
    rng = np.random.default_rng(sum(order))
    e = rng.normal(0, 0.1, 400)
    w = np.zeros(400)
    for t in range(1, 400):
        w[t] = 0.5 * w[t - 1] + e[t] + 0.3 * e[t - 1]
    y = np.cumsum(w) + 5 if order[1] == 1 else w + 3
    params = fit_arima(y[:300], order)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ARIMA(y[:300], order=order, trend="c" if order[1] == 0 else "n").fit()
    np.testing.assert_allclose(recursion_forecast(y, params, np.array([299]))[0], res.forecast(5), atol=1e-6)
    # same parameters, 50 more observations: statsmodels' Kalman filter vs our recursion
    np.testing.assert_allclose(recursion_forecast(y, params, np.array([349]))[0], res.apply(y[:350]).forecast(5), atol=1e-6)


def test_arima_forecast_uses_no_future_data():
    rng = np.random.default_rng(0)
    y = np.exp(8 + np.cumsum(rng.normal(0, 0.1, 200)))
    origins = np.arange(40, 150)
    f1 = arima_forecast(y, origins, refit_every=15)
    y2 = y.copy()
    y2[100:] *= 3.0
    f2 = arima_forecast(y2, origins, refit_every=15)
    early = origins < 100
    np.testing.assert_array_equal(f1[early], f2[early])
    assert not np.allclose(f1[~early], f2[~early])
    # too little history: the random walk
    np.testing.assert_allclose(arima_forecast(y, np.array([5]))[0], np.full(5, y[5]), rtol=1e-12)


def _toy(n, seed):
    rng = np.random.default_rng(seed)
    past = rng.normal(size=(n, 10, 3))
    fut = rng.normal(size=(n, 5, 2))
    # target depends on the past mean of feature 0 and on the known-future feature 1
    Z = np.stack([past[:, :, 0].mean(axis=1)[:, None] + 0.5 * fut[:, :, 1],
                  -past[:, -1, 2][:, None] + 0.2 * fut[:, :, 0]], axis=1)
    return past, fut, Z


def test_seq2seq_reproducible_and_learns():
    pytest.importorskip("torch")
    from forecast.model_seq2seq import Seq2SeqForecaster

    past, fut, Z = _toy(600, 0)
    vp, vf, vz = _toy(200, 1)
    kw = dict(hidden=16, epochs=25, seed=7, threads=1)
    a = Seq2SeqForecaster(**kw).fit(past, fut, Z).predict_change(vp, vf)
    b = Seq2SeqForecaster(**kw).fit(past, fut, Z).predict_change(vp, vf)
    np.testing.assert_array_equal(a, b)  # bit-identical under the same seed
    c = Seq2SeqForecaster(**{**kw, "seed": 8}).fit(past, fut, Z).predict_change(vp, vf)
    assert not np.array_equal(a, c)
    # it learns: held-out error well below the variance of the target
    assert np.mean((a - vz) ** 2) < 0.3 * np.var(vz)
    m = Seq2SeqForecaster(**kw).fit(past, fut, Z)
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m2.predict_change(vp, vf), a)


def test_svr_learns_known_function():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(800, 4))
    fut = np.repeat(np.linspace(0.2, 1, 5)[None, :, None], 800, axis=0)
    Z = np.stack([np.tanh(X[:, 0])[:, None] * np.linspace(1, 2, 5)[None, :]], axis=1)
    m = SVRForecaster(epsilon=0.05).fit(X[:600], fut[:600], Z[:600])
    pred = m.predict_change(X[600:], fut[600:])
    assert np.mean((pred - Z[600:]) ** 2) < 0.05 * np.var(Z[600:])
    with pytest.raises(ValueError, match="C > 0"):
        SVRForecaster(C=0)
