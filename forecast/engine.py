"""Training, forecasting and rolling-origin evaluation of ARIMA, SVR, Seq2Seq and their fusion."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .features import Features, build_features
from .fusion import best_scale, fuse, grid_search_weights
from .metrics import acc, mape
from .model_arima import arima_forecast
from .model_svr import SVRForecaster
from .schema import HORIZON, SEQ_IN

ALL_MODELS = ("seq2seq", "arima", "svr")  # the source's order of fusion weights
_LAGGED = re.compile(r"_l[1-9]\d*$")


@dataclass(frozen=True)
class Config:
    """Settings of a forecasting run; every field is validated by ``check``."""

    models: tuple[str, ...] = ALL_MODELS
    min_volume: float = 1000.0  # forecast a contract only when its 5-day mean volume reaches this
    val_days: int = 40
    test_days: int = 40
    folds: int = 1
    train_days: int = 500  # most recent origin days used for training
    step: float = 0.05
    epochs: int = 30
    hidden: int = 32
    seed: int = 0
    threads: int = 1
    max_train: int = 4000
    arima_refit: int = 20
    arima_window: int = 250
    lags: int = 5
    # after fitting fusion weights, retrain SVR/Seq2Seq on train + validation; off: development folds scored
    # the same either way, and without it the weights are used with the very learners they were fitted on
    refit: bool = False
    val_blocks: int = 2  # validation windows from successive rolling origins, pooled to fit the fusion weights
    fuse_persistence: bool = True  # persistence is a fusion candidate: fused is never worse than it on validation
    # each grid point also gets its Acc-optimal level (non-negative weights of any sum), see fusion.py
    fusion_scale: bool = True
    skip_folds: int = 0  # development runs: leave out the most recent test windows (docs/forecast.md, Results)

    def check(self) -> "Config":
        """Raise ValueError naming the first bad field."""
        bad = [m for m in self.models if m not in ALL_MODELS]
        if bad or not self.models or len(set(self.models)) != len(self.models):
            raise ValueError(f"models: choose distinct names from {', '.join(ALL_MODELS)}, got {', '.join(self.models) or 'none'}")
        for name, lo in (("val_days", 5), ("test_days", 1), ("folds", 1), ("train_days", 20), ("epochs", 1),
                         ("hidden", 1), ("threads", 1), ("max_train", 10), ("arima_refit", 1), ("arima_window", 20), ("lags", 1),
                         ("val_blocks", 1), ("skip_folds", 0)):
            if getattr(self, name) < lo:
                raise ValueError(f"{name}: must be >= {lo}, got {getattr(self, name)}")
        if self.min_volume < 0:
            raise ValueError(f"min_volume: must be >= 0, got {self.min_volume}")
        if not 0 < self.step <= 0.5:
            raise ValueError(f"step: must be in (0, 0.5], got {self.step}")
        return self

    @property
    def candidates(self) -> tuple[str, ...]:
        """The forecasts the fusion weights apply to, in the order of the weight vectors."""
        return self.models + (("persistence",) if self.fuse_persistence else ())

    def with_(self, **kw) -> "Config":
        """A copy with some fields replaced, checked."""
        return replace(self, **kw).check()


@dataclass
class Dataset:
    """Features plus the arrays the models consume, for every panel row."""

    feat: Features
    enc_cols: np.ndarray
    vol5: np.ndarray
    eligible: np.ndarray  # enough history and activity to forecast from this row
    labeled: np.ndarray  # all T+1..T+5 targets observed
    positive: np.ndarray  # all T+1..T+5 targets observed and > 0 (Acc is defined)


def make_dataset(panel: pd.DataFrame, calendar: pd.DataFrame | None, cfg: Config) -> Dataset:
    """Build features and the eligibility masks of forecast origins."""
    feat = build_features(panel, calendar, lags=cfg.lags)
    enc = np.array([i for i, n in enumerate(feat.names) if not _LAGGED.search(n)])
    vol = feat.panel["volume"].astype(float)
    vol5 = vol.groupby(feat.panel["contract"]).transform(lambda s: s.rolling(5, min_periods=1).mean()).values
    eligible = (feat.position >= SEQ_IN - 1) & (vol5 >= cfg.min_volume)
    labeled = eligible & np.all(np.isfinite(feat.ahead), axis=(1, 2))
    positive = labeled & np.all(feat.ahead > 0, axis=(1, 2))
    return Dataset(feat, enc, vol5, eligible, labeled, positive)


def encoder_input(ds: Dataset, rows: np.ndarray) -> np.ndarray:
    """Past SEQ_IN days of the unlagged features for each origin row, shape (n, 10, E)."""
    offs = np.arange(-(SEQ_IN - 1), 1)
    return ds.feat.X[(rows[:, None] + offs[None, :])][:, :, ds.enc_cols]


def log_change(ds: Dataset, rows: np.ndarray) -> np.ndarray:
    """Targets of the learning models: log1p(y_{T+h}) - log1p(y_T), shape (n, n_targets, 5)."""
    return np.log1p(ds.feat.ahead[rows]) - np.log1p(ds.feat.levels[rows])[:, :, None]


@dataclass
class Trained:
    """A trained forecaster: learning models, fusion weights and the settings used."""

    cfg: Config
    feature_names: list[str]
    future_names: list[str]
    targets: list[str]
    svr: SVRForecaster | None = None
    seq2seq: object | None = None
    weights: np.ndarray | None = None  # (n_targets, 5, n_models), models in cfg.models order
    val_objective: np.ndarray | None = None
    info: dict = field(default_factory=dict)


def predict_models(tr: Trained, ds: Dataset, rows: np.ndarray, on_step=None) -> dict[str, np.ndarray]:
    """Level forecasts (n, n_targets, 5) of every model of ``tr`` plus persistence, from origin rows."""
    feat = ds.feat
    rows = np.asarray(rows, dtype=int)
    base = np.log1p(feat.levels[rows])[:, :, None]
    out = {"persistence": np.repeat(feat.levels[rows][:, :, None], HORIZON, axis=2)}
    if "svr" in tr.cfg.models:
        out["svr"] = np.maximum(np.expm1(base + tr.svr.predict_change(feat.X[rows], feat.future[rows])), 0.0)
    if "seq2seq" in tr.cfg.models:
        out["seq2seq"] = np.maximum(np.expm1(base + tr.seq2seq.predict_change(encoder_input(ds, rows), feat.future[rows])), 0.0)
    if "arima" in tr.cfg.models:
        pred = np.empty((len(rows), len(feat.targets), HORIZON))
        contracts = feat.panel["contract"].values
        start = {c: i for c, i in zip(*np.unique(contracts, return_index=True))}
        for c in np.unique(contracts[rows]):
            sel = np.flatnonzero(contracts[rows] == c)
            order = sel[np.argsort(rows[sel])]
            s0 = start[c]
            pos = rows[order] - s0
            n_c = int(np.sum(contracts == c))
            for k, t in enumerate(feat.targets):
                series = feat.levels[s0:s0 + n_c, k]
                pred[order, k] = arima_forecast(series, pos, refit_every=tr.cfg.arima_refit,
                                                window=tr.cfg.arima_window, on_step=on_step)
        out["arima"] = np.maximum(pred, 0.0)
    return out


def _origin_dates(ds: Dataset) -> np.ndarray:
    return np.unique(ds.feat.panel["date"].values)


def _fit_learners(tr: "Trained", ds: Dataset, rows: np.ndarray, cfg: Config, val_rows: np.ndarray | None,
                  epochs: int | None = None) -> None:
    feat = ds.feat
    Z = log_change(ds, rows)
    if "svr" in cfg.models:
        tr.svr = SVRForecaster(max_train=cfg.max_train, seed=cfg.seed).fit(feat.X[rows], feat.future[rows], Z)
    if "seq2seq" in cfg.models:
        from .model_seq2seq import Seq2SeqForecaster

        val = None if val_rows is None else (encoder_input(ds, val_rows), feat.future[val_rows], log_change(ds, val_rows))
        # the most recent origins, like the SVR: recent regimes matter most
        r = rows[-cfg.max_train * 2:]
        tr.seq2seq = Seq2SeqForecaster(hidden=cfg.hidden, epochs=epochs or cfg.epochs, seed=cfg.seed, threads=cfg.threads).fit(
            encoder_input(ds, r), feat.future[r], log_change(ds, r), val=val)


def fit_models(ds: Dataset, train_rows: np.ndarray, val_rows: np.ndarray, cfg: Config, bar=None,
               earlier: list[tuple[np.ndarray, np.ndarray]] = ()) -> Trained:
    """Fit SVR and Seq2Seq on train rows, fusion weights on validation rows, then (``cfg.refit``) retrain on both.

    ``earlier`` holds (train, validation) row pairs of earlier rolling origins
    (``fold_windows``): learners trained on each pair's training window
    forecast its validation window, and all validation forecasts are pooled
    to fit the weights, so that they rest on more than one window's regime.
    The learners kept are those of the latest block (trained just before the
    validation window), or with ``cfg.refit`` learners retrained on training
    + validation (fresher, but not the learners the weights were fitted on).
    ARIMA is always re-estimated on data up to each origin.
    """
    feat = ds.feat
    tr = Trained(cfg, list(feat.names), list(feat.future_names), list(feat.targets))
    blocks = [(np.asarray(train_rows, dtype=int), np.asarray(val_rows, dtype=int))] + [
        (np.asarray(t, dtype=int), np.asarray(v, dtype=int)) for t, v in earlier]
    for k, (t, v) in enumerate(blocks):
        if len(t) < 10:
            raise ValueError(f"training window{f' of validation block {k}' if k else ''}: only {len(t)} forecast "
                             "origins (need >= 10); lower min_volume, val_blocks or val/test days")
        if len(v) < 5:
            raise ValueError(f"validation window{f' block {k}' if k else ''}: only {len(v)} forecast origins (need >= 5)")
    cands = cfg.candidates
    stacks, actuals = [], []
    # earliest block first: the block-0 learners (fitted last) are the ones kept when there is no refit
    for t, v in reversed(blocks):
        _fit_learners(tr, ds, t, cfg, v)
        vpos = v[ds.positive[v]]
        if len(vpos):
            preds = predict_models(tr, ds, vpos)
            stacks.append(np.stack([preds[m] for m in cands]))  # (n_candidates, n, n_targets, 5)
            actuals.append(feat.ahead[vpos])
        if bar is not None:
            bar.update(1)
    n_val = sum(len(a) for a in actuals)
    if n_val < 5:
        raise ValueError(f"validation window: only {n_val} origins with positive targets (need >= 5)")
    stack, actual = np.concatenate(stacks, axis=1), np.concatenate(actuals)
    W, obj = [], []
    for k in range(len(feat.targets)):
        w, o = grid_search_weights(stack[:, :, k, :], actual[:, k, :], step=cfg.step, free_scale=cfg.fusion_scale)
        W.append(w)
        obj.append(o)
    tr.weights, tr.val_objective = np.stack(W), np.stack(obj)
    # each candidate alone with its own Acc-optimal level: a diagnostic of how much of the fusion gain is the level
    own_scale = np.array([[best_scale(stack[:, :, k, h], actual[:, k, h])[0] for h in range(HORIZON)]
                       for k in range(len(feat.targets))])
    # a sample of training inputs: LIME perturbs around an instance using these feature distributions
    bg = train_rows[np.random.default_rng(cfg.seed).permutation(len(train_rows))[:500]]
    tr.info = {"n_train": int(len(train_rows)), "n_val": int(n_val), "val_blocks": len(blocks), "own_scale": own_scale,
               "lime_background": (feat.X[bg].copy(), feat.future[bg].copy())}
    if cfg.refit and any(m in cfg.models for m in ("svr", "seq2seq")):
        # same training length in days, moved forward over the validation window; Seq2Seq for its best epoch count
        dates = _origin_dates(ds)
        idx = np.searchsorted(dates, feat.panel["date"].values)
        both = np.union1d(train_rows, val_rows)
        both = both[idx[both] > idx[val_rows].max() - cfg.train_days]
        epochs = tr.seq2seq.best_epochs if tr.seq2seq is not None else None
        _fit_learners(tr, ds, both, cfg, None, epochs=epochs)
        tr.info["n_refit"] = int(len(both))
        if bar is not None:
            bar.update(1)
    return tr


def n_trainings(cfg: Config) -> int:
    """Learner trainings per ``fit_models`` call (progress-bar steps)."""
    refit = cfg.refit and any(m in cfg.models for m in ("svr", "seq2seq"))
    return cfg.val_blocks + int(refit)


def fused_forecast(tr: Trained, preds: dict[str, np.ndarray]) -> np.ndarray:
    """Apply the fusion weights to the candidates' forecasts: (n, n_targets, 5)."""
    cands = tr.cfg.candidates
    if tr.weights.shape[-1] != len(cands):
        raise ValueError(f"model: {tr.weights.shape[-1]} fusion weights for {len(cands)} candidates "
                         f"({', '.join(cands)}); the bundle was written by an older version, retrain it")
    stack = np.stack([preds[m] for m in cands])
    return np.stack([fuse(stack[:, :, k, :], tr.weights[k]) for k in range(len(tr.targets))], axis=1)


def _day_index(ds: Dataset) -> np.ndarray:
    return np.searchsorted(_origin_dates(ds), ds.feat.panel["date"].values)


def _rows(idx: np.ndarray, lo: int, hi: int, mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero((idx >= lo) & (idx <= hi) & mask)


def _blocks(ds: Dataset, cfg: Config, val_hi: int, what: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, validation) rows of the ``val_blocks`` validation windows ending on day index ``val_hi``, latest first.

    Block k covers the val_days days before block k-1; its training window
    ends HORIZON days before it, so every training target is observed by the
    block's first origin.
    """
    idx = _day_index(ds)
    out = []
    for k in range(cfg.val_blocks):
        hi = val_hi - k * cfg.val_days
        lo = hi - cfg.val_days + 1
        train_hi = lo - HORIZON
        train_lo = max(0, train_hi - cfg.train_days + 1)
        if train_hi - train_lo < 20 or lo < 0:
            raise ValueError(f"{what}: not enough history ({idx.max() + 1} days) for val_days={cfg.val_days}, "
                             f"val_blocks={cfg.val_blocks}, test_days={cfg.test_days}, folds={cfg.folds}, "
                             f"skip_folds={cfg.skip_folds}")
        out.append((_rows(idx, train_lo, train_hi, ds.labeled), _rows(idx, lo, hi, ds.labeled)))
    return out


def fold_windows(ds: Dataset, cfg: Config, fold: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Validation blocks (train, validation rows; latest first) and test rows of ``fold`` (0 = most recent).

    Folds are counted after the ``skip_folds`` most recent test windows.
    A sample's targets (T+1..T+5) all lie on or before the first origin of the
    next window, so no training or validation target is observed after the
    window it is used to prepare.
    """
    idx = _day_index(ds)
    last = int(idx.max()) - HORIZON  # the last origin whose five targets are observed
    test_hi = last - (fold + cfg.skip_folds) * cfg.test_days
    test_lo = test_hi - cfg.test_days + 1
    blocks = _blocks(ds, cfg, test_lo - HORIZON, f"fold {fold}")
    return blocks, _rows(idx, test_lo, test_hi, ds.positive)


def split_fold(ds: Dataset, cfg: Config, fold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train / validation / test origin rows of ``fold`` (0 = most recent), strictly in time order (latest block)."""
    blocks, test = fold_windows(ds, cfg, fold)
    return blocks[0][0], blocks[0][1], test


@dataclass
class Evaluation:
    """Per-case scores and the forecasts behind them."""

    cases: pd.DataFrame  # fold, date, contract, product, target, model, acc, mape
    forecasts: dict  # fold -> {"rows", "actual", model -> (n, n_targets, 5)}
    weights: dict  # fold -> (n_targets, 5, n_models)
    targets: list[str]
    models: tuple[str, ...]
    notes: list[str]
    candidates: tuple[str, ...] = ()  # the order of the fusion weights' last axis
    own_scale: dict = field(default_factory=dict)  # fold -> (n_targets, 5, n_candidates): each candidate's own level


def evaluate(panel: pd.DataFrame, calendar: pd.DataFrame | None, cfg: Config, progress_bar=None) -> Evaluation:
    """Rolling-origin evaluation: per fold, train, fit fusion weights on validation, score on test."""
    cfg.check()
    ds = make_dataset(panel, calendar, cfg)
    feat = ds.feat
    records, forecasts, weights, own_scale = [], {}, {}, {}
    splits = [fold_windows(ds, cfg, fold) for fold in range(cfg.folds)]  # fail on bad settings before any training
    for fold, (blocks, te_rows) in enumerate(splits):
        if len(te_rows) == 0:
            raise ValueError(f"fold {fold}: no test origins with positive targets; lower min_volume")
        (tr_rows, va_rows), earlier = blocks[0], blocks[1:]
        tr = fit_models(ds, tr_rows, va_rows, cfg, bar=progress_bar, earlier=earlier)
        preds = predict_models(tr, ds, te_rows)
        preds["fused"] = fused_forecast(tr, preds)
        actual = feat.ahead[te_rows]
        forecasts[fold] = {"rows": te_rows, "actual": actual, **preds}
        weights[fold] = tr.weights
        own_scale[fold] = tr.info["own_scale"]
        sub = feat.panel.iloc[te_rows]
        for name, p in preds.items():
            for k, t in enumerate(feat.targets):
                records.append(pd.DataFrame({
                    "fold": fold, "date": sub["date"].values, "contract": sub["contract"].values,
                    "product": sub["product"].values, "target": t, "model": name,
                    "acc": acc(p[:, k, :], actual[:, k, :]), "mape": mape(p[:, k, :], actual[:, k, :]),
                }))
        if progress_bar is not None:
            progress_bar.update(1)
    return Evaluation(pd.concat(records, ignore_index=True), forecasts, weights, feat.targets, cfg.models, feat.notes,
                      cfg.candidates, own_scale)


def train_final(panel: pd.DataFrame, calendar: pd.DataFrame | None, cfg: Config, progress_bar=None) -> Trained:
    """Train on all the data: the last ``val_days`` labelled origin days fit the fusion weights."""
    cfg.check()
    ds = make_dataset(panel, calendar, cfg)
    last = int(_day_index(ds).max()) - HORIZON
    blocks = _blocks(ds, cfg, last, "val_days")
    return fit_models(ds, blocks[0][0], blocks[0][1], cfg, bar=progress_bar, earlier=blocks[1:])


def forecast_latest(tr: Trained, panel: pd.DataFrame, calendar: pd.DataFrame | None, as_of: str | None = None) -> pd.DataFrame:
    """Forecasts for T+1..T+5 of every eligible contract from day ``as_of`` (default: the last day in the data).

    Returns a long table: date, contract, product, target, model, h, forecast.
    """
    ds = make_dataset(panel, calendar, tr.cfg)
    check_compatible(tr, ds)
    d = ds.feat.panel["date"]
    day = d.max() if as_of is None else pd.Timestamp(as_of)
    rows = np.flatnonzero((d == day).values & ds.eligible)
    if len(rows) == 0:
        raise ValueError(f"as_of: no contract on {day.date()} has {SEQ_IN} days of history and "
                         f"5-day mean volume >= min_volume={tr.cfg.min_volume}")
    preds = predict_models(tr, ds, rows)
    preds["fused"] = fused_forecast(tr, preds)
    sub = ds.feat.panel.iloc[rows]
    recs = []
    for name, p in preds.items():
        for k, t in enumerate(tr.targets):
            for h in range(HORIZON):
                recs.append(pd.DataFrame({"date": sub["date"].values, "contract": sub["contract"].values,
                                          "product": sub["product"].values, "target": t, "model": name,
                                          "h": h + 1, "forecast": p[:, k, h]}))
    return pd.concat(recs, ignore_index=True)


def check_compatible(tr: Trained, ds: Dataset) -> None:
    """Raise ValueError if the data's features or targets differ from those the model was trained on."""
    if list(ds.feat.names) != tr.feature_names or list(ds.feat.future_names) != tr.future_names:
        missing = sorted(set(tr.feature_names) - set(ds.feat.names))
        extra = sorted(set(ds.feat.names) - set(tr.feature_names))
        raise ValueError(f"data: features differ from the trained model's (missing {missing[:5]}, extra {extra[:5]}); "
                         "pass the same kind of data and calendar as at training")
    if list(ds.feat.targets) != tr.targets:
        raise ValueError(f"data: targets {ds.feat.targets} differ from the trained model's {tr.targets}")
