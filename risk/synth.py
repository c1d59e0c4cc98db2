"""Synthetic, realistic data for the risk store: equities by industry, indices, bonds on a curve, portfolios.

Everything is drawn from a seeded generator, so demos, tests and benchmarks need
no downloads (see docs/risk.md, "Synthetic data", for the model). Equity returns
follow a one-market-factor plus 31-industry-factor model with GARCH(1,1) market
volatility and Student-t shocks, capped at the +/-10% daily price limit;
government yields follow a Nelson-Siegel curve whose factors random-walk;
credit spreads move by rating plus an issuer component; bonds are priced from
their cash flows, so prices, durations and returns agree with each other.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk.bondmath import bond_analytics
from risk.schema import GOV_CURVE
from risk.store import create_schema, insert_frame

# Shenwan (SW) level-1 industries, 2021 classification: 31 sectors.
SW_L1 = [
    "Agriculture", "Basic Chemicals", "Steel", "Nonferrous Metals", "Electronics", "Automobiles",
    "Household Appliances", "Food & Beverage", "Textiles & Apparel", "Light Manufacturing",
    "Pharmaceuticals & Biotech", "Utilities", "Transportation", "Real Estate", "Commerce & Retail",
    "Social Services", "Banks", "Non-bank Financials", "Building Materials", "Building Decoration",
    "Power Equipment", "Machinery", "Defense", "Computers", "Media", "Telecommunications", "Coal",
    "Petroleum & Petrochemicals", "Environmental Protection", "Beauty Care", "Conglomerates",
]
LARGE_CAP_INDEX, SMALL_CAP_INDEX, BOND_INDEX = "SSE50", "CSI1000", "CBOND"
TENORS = np.array([0.25, 0.5, 1, 2, 3, 5, 7, 10, 15, 20, 30], dtype=float)
RATINGS = {"GOV": 0.0, "AAA": 0.0040, "AA+": 0.0070, "AA": 0.0120}
PRICE_LIMIT = 0.10


@dataclass(frozen=True)
class SynthConfig:
    """Sizes and dates of a synthetic data set (defaults: about two years, a mid-size manager)."""

    seed: int = 0
    start: str = "2024-01-02"
    end: str = "2025-12-31"
    n_equities: int = 600
    n_bonds: int = 240
    n_equity_portfolios: int = 86
    n_bond_portfolios: int = 52
    n_mixed_portfolios: int = 20
    n_books: int = 2
    trades_per_book: int = 8
    rebalance: str = "monthly"  # or "none": one holdings snapshot at the start

    def __post_init__(self) -> None:
        for f in ("n_equities", "n_bonds"):
            if getattr(self, f) < 60:
                raise ValueError(f"{f}: must be at least 60, got {getattr(self, f)}")
        for f in ("n_equity_portfolios", "n_bond_portfolios", "n_mixed_portfolios", "n_books", "trades_per_book"):
            if getattr(self, f) < 0:
                raise ValueError(f"{f}: must be non-negative, got {getattr(self, f)}")
        if self.rebalance not in ("monthly", "none"):
            raise ValueError(f"rebalance: must be 'monthly' or 'none', got {self.rebalance!r}")


def trading_calendar(start: str, end: str) -> np.ndarray:
    """Shanghai Stock Exchange sessions between two dates (datetime64[D])."""
    import exchange_calendars as xc

    try:
        s, e = pd.Timestamp(start), pd.Timestamp(end)
    except ValueError:
        raise ValueError(f"start/end: must be dates YYYY-MM-DD, got {start!r}, {end!r}") from None
    with warnings.catch_warnings():  # exchange_calendars trips a pandas deprecation warning of its own
        warnings.simplefilter("ignore")
        cal = xc.get_calendar("XSHG")
    s, e = max(s, cal.first_session), min(e, cal.last_session)
    days = cal.sessions_in_range(s, e).values.astype("datetime64[D]")
    if len(days) < 60:
        raise ValueError(f"start/end: need at least 60 trading days, {start}..{end} has {len(days)}")
    return days


def _garch_path(rng, n, omega, alpha, beta, df):
    z = rng.standard_t(df, n) * np.sqrt((df - 2) / df)
    s2 = omega / (1 - alpha - beta)
    out = np.empty(n)
    for t in range(n):
        out[t] = np.sqrt(s2) * z[t]
        s2 = omega + alpha * out[t] ** 2 + beta * s2
    return out


def _equities(rng, cfg, days):
    n, t = cfg.n_equities, len(days)
    sector = rng.choice(len(SW_L1), n, p=rng.dirichlet(np.full(len(SW_L1), 4.0)))
    beta = np.clip(rng.normal(1.0, 0.25, n), 0.3, 1.8)
    load = rng.uniform(0.6, 1.2, n)
    idio = rng.uniform(0.012, 0.025, n)
    mkt = _garch_path(rng, t - 1, omega=3e-6, alpha=0.08, beta=0.90, df=5) + 0.0002
    sec = rng.standard_t(6, (t - 1, len(SW_L1))) * 0.007
    eps = rng.standard_t(4, (t - 1, n)) * np.sqrt(0.5) * idio
    r = mkt[:, None] * beta + sec[:, sector] * load + eps
    r = np.clip(r, -PRICE_LIMIT, PRICE_LIMIT)
    p0 = np.exp(rng.uniform(np.log(4), np.log(120), n))
    close = np.round(p0 * np.vstack([np.ones(n), np.cumprod(1 + r, axis=0)]), 2)
    close = np.maximum(close, 0.01)
    shares = np.exp(rng.normal(np.log(8e8), 1.0, n))
    cap0 = shares * close[0]
    large = np.argsort(-cap0)[:50]
    index_id = np.full(n, SMALL_CAP_INDEX, dtype=object)
    index_id[large] = LARGE_CAP_INDEX
    ids = np.array([f"EQ{600000 + i:06d}" for i in range(n)])
    assets = pd.DataFrame({"asset_id": ids, "asset_class": "equity", "name": [f"Equity {i}" for i in range(n)],
                           "sector": np.array(SW_L1)[sector], "index_id": index_id, "beta": np.round(beta, 3)})
    return assets, close, shares, large


def _curve(rng, t):
    b = np.empty((t, 3))
    b[0] = (0.028, -0.012, 0.005)
    steps = rng.normal(0, [0.0002, 0.0003, 0.0004], (t - 1, 3))
    for i in range(1, t):  # weak mean reversion keeps the curve plausible over years
        b[i] = b[i - 1] + 0.01 * (b[0] - b[i - 1]) + steps[i - 1]
    return b


def ns_yield(b: np.ndarray, tau_years: np.ndarray, lam: float = 2.0) -> np.ndarray:
    """Nelson-Siegel yields for factor rows ``b`` (D x 3) at maturities (D x N or N)."""
    x = np.maximum(np.asarray(tau_years, dtype=float), 1e-6) / lam
    f1 = (1 - np.exp(-x)) / x
    f2 = f1 - np.exp(-x)
    b = b.reshape(b.shape[0], 1, 3) if x.ndim == 2 or b.ndim == 2 else b
    return b[..., 0] + b[..., 1] * f1 + b[..., 2] * f2


def _bonds(rng, cfg, days):
    n, t = cfg.n_bonds, len(days)
    rating_names = list(RATINGS)
    rating = rng.choice(len(rating_names), n, p=[0.25, 0.35, 0.25, 0.15])
    end = days[-1]
    years = rng.uniform(1.0, 15.0, n)
    mat = (end + (years * 365).astype(int).astype("timedelta64[D]")).astype("datetime64[M]")
    mat = mat.astype("datetime64[D]") + rng.integers(0, 28, n).astype("timedelta64[D]")
    freq = rng.choice([1, 2], n, p=[0.7, 0.3])
    factors = _curve(rng, t)
    tau = (mat[None, :] - days[:, None]).astype(np.int64) / 365.0
    gov = ns_yield(factors, tau)
    base = np.array([RATINGS[r] for r in rating_names])[rating]
    rating_move = np.cumsum(rng.normal(0, [0.0, 0.0001, 0.00015, 0.00025], (t, 4)), axis=0)
    issuer = np.zeros((t, n))
    shocks = rng.normal(0, 0.0001, (t, n)) * (rating > 0)
    for i in range(1, t):  # mean-reverting issuer spread around its rating's level
        issuer[i] = 0.97 * issuer[i - 1] + shocks[i]
    spread = np.maximum(base + rating_move[:, rating] + issuer + rng.uniform(-0.001, 0.002, n) * (rating > 0), 0.0)
    spread[:, rating == 0] = 0.0
    ytm = gov + spread
    coupon = np.round(np.clip(ytm[0] + rng.normal(0, 0.003, n), 0.01, None) * 400) / 400
    an = bond_analytics(days, coupon, freq, mat, ytm, n_coupons=int(np.ceil(years.max() + 3)) * 2 + 2)
    ids = np.array([f"BD{100000 + i:06d}" for i in range(n)])
    bonds = pd.DataFrame({"asset_id": ids, "issuer": [f"Issuer {i // 2}" for i in range(n)],
                          "rating": np.array(rating_names)[rating], "coupon_rate": coupon, "frequency": freq,
                          "maturity_date": mat})
    # Issued one to four years before the data start, at a coupon near the yield then.
    bonds["issue_date"] = (pd.to_datetime(bonds["maturity_date"])
                           - pd.to_timedelta(np.round((years + rng.integers(1, 5, n)) * 365.25), unit="D"))
    assets = pd.DataFrame({"asset_id": ids, "asset_class": "bond", "name": [f"Bond {i}" for i in range(n)],
                           "sector": None, "index_id": BOND_INDEX, "beta": None})
    curve_rows = ns_yield(factors, np.broadcast_to(TENORS, (t, len(TENORS))))
    return assets, bonds, an, gov, spread, ytm, curve_rows


def _melt(day, ids, mat, col, pid):
    nz = np.nonzero(mat)
    return pd.DataFrame({col: np.asarray(pid)[nz[0]], "date": day, "asset_id": ids[nz[1]], "quantity": mat[nz]})


def _portfolio_weights(rng, p, universe, pick, concentration=1.5):
    w = np.zeros((p, len(universe)))
    for j in range(p):  # a few dozen names each, drawn with replacement-free choice
        k = min(int(rng.integers(pick[0], pick[1] + 1)), len(universe) // 2)
        sel = rng.choice(len(universe), k, replace=False, p=universe)
        w[j, sel] = rng.dirichlet(np.full(k, concentration))
    return w


def generate(con, cfg: SynthConfig | None = None, progress_bar: bool = False) -> dict[str, int]:
    """Fill (replace) every input table of the risk store with a synthetic data set; returns row counts."""
    cfg = cfg or SynthConfig()
    rng = np.random.default_rng(cfg.seed)
    days = trading_calendar(cfg.start, cfg.end)
    t = len(days)
    create_schema(con)
    for tbl in ("assets", "prices", "asset_returns", "portfolios", "holdings", "benchmark_weights", "bonds",
                "bond_analytics", "curves", "stress_scenarios", "snowball_trades", "market_params"):
        con.execute(f"DELETE FROM {tbl}")

    eq_assets, eq_close, shares, large = _equities(rng, cfg, days)
    bd_assets, bonds, an, gov, spread, ytm, curve = _bonds(rng, cfg, days)
    eq_ids, bd_ids = eq_assets.asset_id.to_numpy(), bd_assets.asset_id.to_numpy()
    bd_close = an["dirty_price"]
    bd_ret = np.vstack([np.zeros(len(bd_ids)), (bd_close[1:] + an["coupon_paid"][1:]) / bd_close[:-1] - 1])

    # Index levels (cap-weighted, base 1000) serve as snowball underlyings.
    cap = eq_close * shares
    eq_ret = np.vstack([np.zeros(len(eq_ids)), eq_close[1:] / eq_close[:-1] - 1])
    small = np.setdiff1d(np.arange(len(eq_ids)), large)
    idx_levels = {}
    for name, members in ((LARGE_CAP_INDEX, large), (SMALL_CAP_INDEX, small)):
        w = cap[:-1, members] / cap[:-1, members].sum(1, keepdims=True)
        r = np.concatenate([[0.0], (w * eq_ret[1:, members]).sum(1)])
        idx_levels[name] = np.round(1000 * np.cumprod(1 + r), 4)
    idx_assets = pd.DataFrame({"asset_id": list(idx_levels), "asset_class": "index", "name": list(idx_levels),
                               "sector": None, "index_id": list(idx_levels), "beta": 1.0})
    all_assets = pd.concat([eq_assets, bd_assets, idx_assets], ignore_index=True)
    all_assets["asset_key"] = np.arange(len(all_assets), dtype=np.int32)
    insert_frame(con, "assets", all_assets)

    close = np.hstack([eq_close, bd_close, np.column_stack(list(idx_levels.values()))])
    ids = all_assets.asset_id.to_numpy()
    keys = all_assets.asset_key.to_numpy()
    ret = np.vstack([np.zeros(len(ids)), close[1:] / close[:-1] - 1])
    ret[:, len(eq_ids):len(eq_ids) + len(bd_ids)] = bd_ret  # bond total return includes coupons
    dates = np.repeat(days, len(ids))
    insert_frame(con, "prices", pd.DataFrame({"date": dates, "asset_key": np.tile(keys, t), "close": close.ravel()}))
    insert_frame(con, "asset_returns", pd.DataFrame({"date": dates[len(ids):], "asset_key": np.tile(keys, t - 1),
                                                     "ret": ret[1:].ravel()}))
    nb = len(bd_ids)
    insert_frame(con, "bonds", bonds)
    insert_frame(con, "bond_analytics", pd.DataFrame({
        "date": np.repeat(days, nb), "asset_key": np.tile(keys[len(eq_ids):len(eq_ids) + nb], t),
        **{k: an[k].ravel() for k in ("dirty_price", "clean_price", "accrued", "coupon_paid", "mod_duration", "convexity")},
        "ytm": ytm.ravel(), "gov_yield": gov.ravel(), "spread": spread.ravel(),
        "spread_duration": an["mod_duration"].ravel()}))
    insert_frame(con, "curves", pd.DataFrame({"curve_id": GOV_CURVE, "date": np.repeat(days, len(TENORS)),
                                              "tenor_years": np.tile(TENORS, t), "yield": curve.ravel()}))

    # Rebalance dates: first trading day of each month (or only the first day).
    month = days.astype("datetime64[M]")
    reb = np.flatnonzero(np.r_[True, month[1:] != month[:-1]]) if cfg.rebalance == "monthly" else np.array([0])

    # Benchmarks: cap-weighted large-cap index and a face-value-weighted bond index.
    bench_rows = []
    for i in reb:
        w = cap[i, large] / cap[i, large].sum()
        bench_rows.append(pd.DataFrame({"benchmark_id": LARGE_CAP_INDEX, "date": days[i], "asset_id": eq_ids[large], "weight": w}))
        face = rng.uniform(5, 50, nb) if i == reb[0] else face
        wb = face * bd_close[i] / (face * bd_close[i]).sum()
        bench_rows.append(pd.DataFrame({"benchmark_id": BOND_INDEX, "date": days[i], "asset_id": bd_ids, "weight": wb}))
    insert_frame(con, "benchmark_weights", pd.concat(bench_rows, ignore_index=True))

    # Portfolios: equity (benchmarked to the large-cap index, tilted to it), bond, mixed 60/40.
    pe, pb, pm = cfg.n_equity_portfolios, cfg.n_bond_portfolios, cfg.n_mixed_portfolios
    pop_eq = np.full(len(eq_ids), 1.0); pop_eq[large] = 12.0; pop_eq /= pop_eq.sum()
    pop_bd = np.full(nb, 1.0 / nb)
    w_eq = _portfolio_weights(rng, pe + pm, pop_eq, (30, 80))
    w_bd = _portfolio_weights(rng, pb + pm, pop_bd, (15, 40))
    ports = ([(f"EQ-{j + 1:05d}", "equity", LARGE_CAP_INDEX) for j in range(pe)]
             + [(f"FI-{j + 1:05d}", "bond", BOND_INDEX) for j in range(pb)]
             + [(f"MX-{j + 1:05d}", "mixed", None) for j in range(pm)])
    pids = [p[0] for p in ports]
    insert_frame(con, "portfolios", pd.DataFrame({"portfolio_id": pids, "kind": [p[1] for p in ports],
                                                  "benchmark_id": [p[2] for p in ports],
                                                  "name": [f"Synthetic {p[1]} portfolio {p[0]}" for p in ports]}))
    n_all = len(ids)
    target = np.zeros((len(pids), n_all))
    target[:pe, : len(eq_ids)] = w_eq[:pe]
    target[pe:pe + pb, len(eq_ids):len(eq_ids) + nb] = w_bd[:pb]
    target[pe + pb:, : len(eq_ids)] = 0.6 * w_eq[pe:]
    target[pe + pb:, len(eq_ids):len(eq_ids) + nb] = 0.4 * w_bd[pb:]
    nav = np.exp(rng.uniform(np.log(1e8), np.log(5e9), len(pids)))
    q = None
    hold_rows = []
    for i in reb:
        if q is not None:
            nav = q @ close[i]  # no flows: the NAV carried into a rebalance is the drifted value
            drift = np.exp(rng.normal(0, 0.1, target.shape)) * (target > 0)
            target = drift * target / np.maximum((drift * target).sum(1, keepdims=True), 1e-300)
        q = np.round(target * nav[:, None] / close[i], 0)
        hold_rows.append(_melt(days[i], ids, q, "portfolio_id", pids))
    insert_frame(con, "holdings", pd.concat(hold_rows, ignore_index=True))
    insert_frame(con, "stress_scenarios", default_scenarios())

    # Snowball books on the two indices, struck over the last year.
    trades, mkt_rows = [], []
    for b in range(cfg.n_books):
        pid = f"BOOK-{b + 1:03d}"
        con.execute("INSERT INTO portfolios VALUES (?, 'book', NULL, ?)", [pid, f"Synthetic snowball book {b + 1}"])
        for k in range(cfg.trades_per_book):
            und = [LARGE_CAP_INDEX, SMALL_CAP_INDEX][k % 2]
            s = int(rng.integers(max(0, t - 250), t - 5))
            trades.append({"trade_id": f"SB-{b + 1:03d}-{k + 1:03d}", "portfolio_id": pid, "underlying_id": und,
                           "notional": float(rng.choice([1e7, 2e7, 5e7])), "start_date": days[s],
                           "initial_price": float(idx_levels[und][s]), "ko_barrier": 1.03,
                           "ki_barrier": float(rng.choice([0.75, 0.80])), "coupon": float(rng.choice([0.12, 0.15, 0.18])),
                           "maturity_days": int(rng.choice([252, 504])), "lockup_days": 63, "ki_strike": 1.0, "floor": None})
    if trades:
        insert_frame(con, "snowball_trades", pd.DataFrame(trades))
    for und, lvl in idx_levels.items():
        r = np.diff(np.log(lvl))
        vol = pd.Series(r).rolling(60, min_periods=20).std().bfill().to_numpy() * np.sqrt(252) + 0.02
        vol = np.r_[vol[0], vol]
        mkt_rows.append(pd.DataFrame({"date": days, "underlying_id": und, "vol": vol,
                                      "dividend": 0.02 if und == LARGE_CAP_INDEX else 0.06}))
    insert_frame(con, "market_params", pd.concat(mkt_rows, ignore_index=True))
    from risk.packed import pack

    pack(con)  # the jobs read the packed copies (risk/packed.py)
    return {tb: con.execute(f"SELECT count(*) FROM {tb}").fetchall()[0][0]
            for tb in ("assets", "prices", "asset_returns", "portfolios", "holdings", "benchmark_weights",
                       "bonds", "bond_analytics", "curves", "stress_scenarios", "snowball_trades", "market_params")}


def default_scenarios() -> pd.DataFrame:
    """A standard set of factor-shock scenarios in long form (scenario_id, factor_type, factor_key, shock)."""
    rows = [
        ("EQUITY_CRASH", "index", LARGE_CAP_INDEX, -0.15), ("EQUITY_CRASH", "index", SMALL_CAP_INDEX, -0.25),
        ("BANKS_DOWN", "sector", "Banks", -0.12), ("BANKS_DOWN", "sector", "Non-bank Financials", -0.08),
        ("TECH_SELLOFF", "sector", "Electronics", -0.15), ("TECH_SELLOFF", "sector", "Computers", -0.18),
        ("TECH_SELLOFF", "sector", "Telecommunications", -0.12), ("TECH_SELLOFF", "sector", "Media", -0.15),
        ("RATES_UP_100", "parallel", None, 100.0), ("RATES_DOWN_50", "parallel", None, -50.0),
        ("BEAR_STEEPENER", "parallel", None, 25.0), ("BEAR_STEEPENER", "twist", None, 50.0),
        ("BULL_FLATTENER", "parallel", None, -25.0), ("BULL_FLATTENER", "twist", None, -40.0),
        ("CREDIT_WIDENING", "spread", "AAA", 30.0), ("CREDIT_WIDENING", "spread", "AA+", 60.0),
        ("CREDIT_WIDENING", "spread", "AA", 150.0),
        ("CRASH_2015_LIKE", "index", LARGE_CAP_INDEX, -0.30), ("CRASH_2015_LIKE", "index", SMALL_CAP_INDEX, -0.45),
        ("CRASH_2015_LIKE", "spread", "*", 80.0), ("CRASH_2015_LIKE", "spread", "GOV", 0.0),
        ("CRASH_2015_LIKE", "parallel", None, -30.0),
    ]
    return pd.DataFrame(rows, columns=["scenario_id", "factor_type", "factor_key", "shock"])
