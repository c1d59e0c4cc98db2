"""Kernel SVR on the feature table predicting the log change of each target at each horizon."""
from __future__ import annotations

import numpy as np

from .schema import HORIZON


class SVRForecaster:
    """One RBF-kernel SVR per (target, horizon) on [features at T, known-future features at T+h]."""

    def __init__(self, C: float = 1.0, epsilon: float = 0.1, max_train: int = 4000, seed: int = 0):
        if C <= 0 or epsilon < 0 or max_train < 10:
            raise ValueError("C > 0, epsilon >= 0 and max_train >= 10 are required")
        self.C, self.epsilon, self.max_train, self.seed = C, epsilon, max_train, seed
        self.models: dict[tuple[int, int], object] = {}
        self.scales: dict[tuple[int, int], float] = {}

    @staticmethod
    def design(X: np.ndarray, future: np.ndarray, h: int) -> np.ndarray:
        """Input matrix for horizon index h (0-based): features at T plus known-future features at T+h+1."""
        return np.hstack([X, future[:, h, :]])

    def fit(self, X: np.ndarray, future: np.ndarray, Z: np.ndarray) -> "SVRForecaster":
        """Fit on X (n, F), future (n, 5, G) and log-change targets Z (n, n_targets, 5)."""
        from threadpoolctl import threadpool_limits

        n = len(X)
        if n < 10:
            raise ValueError("training data: need at least 10 forecast origins for the SVR")
        # keep the most recent samples: SVR training is quadratic in n and recent data matter most
        idx = np.arange(max(0, n - self.max_train), n)
        with threadpool_limits(1):
            self._fit_all(X[idx], future[idx], Z[idx])
        self.n_targets = Z.shape[1]
        return self

    def _fit_all(self, X: np.ndarray, future: np.ndarray, Z: np.ndarray) -> None:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVR

        for k in range(Z.shape[1]):
            for h in range(HORIZON):
                z = Z[:, k, h]
                scale = float(np.std(z)) or 1.0
                m = make_pipeline(StandardScaler(), SVR(C=self.C, epsilon=self.epsilon, gamma="scale"))
                m.fit(self.design(X, future, h), z / scale)
                self.models[(k, h)], self.scales[(k, h)] = m, scale

    def predict_change(self, X: np.ndarray, future: np.ndarray) -> np.ndarray:
        """Predicted log changes, shape (n, n_targets, 5)."""
        if not self.models:
            raise RuntimeError("SVR model is not trained")
        out = np.empty((len(X), self.n_targets, HORIZON))
        for (k, h), m in self.models.items():
            out[:, k, h] = m.predict(self.design(X, future, h)) * self.scales[(k, h)]
        return out

    def predict_one(self, k: int, h: int, design_rows: np.ndarray) -> np.ndarray:
        """Predicted log change of target k at horizon index h for ready-made design rows (used by LIME)."""
        return self.models[(k, h)].predict(design_rows) * self.scales[(k, h)]
