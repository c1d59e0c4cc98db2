"""Shared fixtures of the risk gate tests: a small hand-made database, message builders, runners.

The base database is small enough that every expected number in the directed
tests is worked out by hand from the spec text (the comments show the sums).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kernels import riskgate_spec as S
from kernels.riskgate_model import ReferenceGate

# instruments: 600000 normal (fee 20/65536), 600001 halted, 1 (000001) cheap
# stock without fee, 300001 without price cage and a huge fee rate.
INSTRUMENTS = pd.DataFrame({
    "code":       [600000, 600001, 1, 300001],
    "status":     [0, 1, 0, 0],
    "ref_price":  [1000, 1000, 300, 1000],
    "limit_up":   [1100, 1100, 330, 1200],
    "limit_down": [900, 900, 270, 800],
    "lot":        [100, 100, 100, 100],
    "cage_bps":   [200, 200, 200, 0],
    "fee_q16":    [20, 20, 0, 65535],
})

# accounts: 1 normal, 2 blocked, 3 sell-only, 4 throttled (2 NEWs per 1000 us),
# 5 small limits, 6 rich.
ACCOUNTS = pd.DataFrame({
    "account":               np.array([1, 2, 3, 4, 5, 6], dtype=np.uint64),
    "status":                [0, 1, 2, 0, 0, 0],
    "cash":                  [1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000, 10_000_000],
    "cash_frozen":           [0, 0, 0, 0, 0, 0],
    "max_order_qty":         [100_000, 100_000, 100_000, 100_000, 500, 100_000],
    "max_order_value":       [10**9, 10**9, 10**9, 10**9, 200_000, 10**9],
    "max_orders_per_window": [1000, 1000, 1000, 2, 1000, 1000],
    "window_us":             [1_000_000, 1_000_000, 1_000_000, 1000, 1_000_000, 1_000_000],
})

# positions: account 1 holds 1000 of 600000; account 3 an odd 250 of 600000;
# account 2 (blocked) holds some too.
POSITIONS = pd.DataFrame({
    "account":   np.array([1, 3, 2], dtype=np.uint64),
    "code":      [600000, 600000, 600000],
    "available": [1000, 250, 500],
    "frozen":    [0, 0, 0],
    "pending":   [0, 0, 0],
})


def new(order_id, account, code, side, price, qty, ts=0):
    """A NEW message tuple (type, side, code, account, order_id, price, qty, ts_us)."""
    return (S.MSG_NEW, side, code, account, order_id, price, qty, ts)


def cancel(order_id, ts=0):
    """A CANCEL message tuple."""
    return (S.MSG_CANCEL, 0, 0, 0, order_id, 0, 0, ts)


def fill(order_id, qty, ts=0):
    """A FILL message tuple."""
    return (S.MSG_FILL, 0, 0, 0, order_id, 0, qty, ts)


def eod(ts=0):
    """An EOD message tuple."""
    return (S.MSG_EOD, 0, 0, 0, 0, 0, 0, ts)


def to_array(msgs) -> np.ndarray:
    """MESSAGE_DTYPE array of message tuples."""
    arr = S.empty_messages(len(msgs))
    for i, m in enumerate(msgs):
        arr[i] = m
    return arr


def rows(df: pd.DataFrame) -> list[dict]:
    """DataFrame rows as dicts of Python ints."""
    return [{k: int(v) for k, v in r.items()} for r in df.to_dict("records")]


def model_gate(instruments=INSTRUMENTS, accounts=ACCOUNTS, positions=POSITIONS) -> ReferenceGate:
    """Reference model loaded with the given tables."""
    return ReferenceGate.from_tables(rows(instruments), rows(accounts), rows(positions))


def cpu_gate(instruments=INSTRUMENTS, accounts=ACCOUNTS, positions=POSITIONS, **sizes):
    """Host RiskGate on the CPU backend loaded with the given tables."""
    from host.riskgate import RiskGate

    return RiskGate("cpu", **sizes).load(instruments, accounts, positions)


class Runner:
    """Uniform driver over the model and the CPU gate: ``run(msgs) -> reasons``, ``snapshot()``."""

    def __init__(self, kind: str, **sizes):
        self.kind = kind
        self.gate = model_gate() if kind == "model" else cpu_gate(**sizes)

    def run(self, msgs) -> list[str]:
        arr = to_array(msgs)
        if self.kind == "model":
            d = self.gate.process(arr)
        else:
            d = self.gate.process_array(arr)
        return [S.REASON_NAMES[r] for r in d["reason"]]

    def snapshot(self) -> dict[str, pd.DataFrame]:
        return self.gate.snapshot()

    def account(self, acc: int) -> dict:
        a = self.snapshot()["accounts"]
        return {k: int(v) for k, v in a[a["account"] == acc].iloc[0].items()}

    def position(self, acc: int, code: int) -> dict | None:
        p = self.snapshot()["positions"]
        r = p[(p["account"] == acc) & (p["code"] == code)]
        return None if r.empty else {k: int(v) for k, v in r.iloc[0].items()}

    def orders(self) -> pd.DataFrame:
        return self.snapshot()["orders"]


def assert_same_snapshot(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    """Tables equal value for value (dtypes normalised to int64/uint64 by column)."""
    for t in ("accounts", "positions", "orders"):
        x, y = a[t].reset_index(drop=True), b[t].reset_index(drop=True)
        assert list(x.columns) == list(y.columns), t
        assert len(x) == len(y), f"{t}: {len(x)} rows vs {len(y)}"
        for c in x.columns:
            xv = x[c].to_numpy().astype(np.uint64 if c in ("account", "order_id") else np.int64)
            yv = y[c].to_numpy().astype(np.uint64 if c in ("account", "order_id") else np.int64)
            bad = np.flatnonzero(xv != yv)
            assert len(bad) == 0, f"{t}.{c} differs at row {bad[0]}: {xv[bad[0]]} vs {yv[bad[0]]}\n{x.iloc[bad[0]]}\n{y.iloc[bad[0]]}"


def check_invariants(g: ReferenceGate) -> None:
    """The spec's invariants on the model's state (cash + frozen flows are checked by the callers)."""
    cf = {a: 0 for a in g.accounts}
    fz: dict[tuple[int, int], int] = {}
    for o in g.orders.values():
        assert o.open_qty > 0
        if o.side == S.SIDE_BUY:
            cf[o.account] += o.frozen_cash
            assert o.frozen_cash >= 0
        else:
            assert o.frozen_cash == 0
            fz[(o.account, o.code)] = fz.get((o.account, o.code), 0) + o.open_qty
    for k, a in g.accounts.items():
        assert a.cash >= 0 and a.cash_frozen >= 0, (k, a)
        assert a.cash_frozen == cf[k], (k, a.cash_frozen, cf[k])
    for k, p in g.positions.items():
        assert p.available >= 0 and p.frozen >= 0 and p.pending >= 0, (k, p)
        assert p.frozen == fz.get(k, 0), (k, p.frozen, fz.get(k, 0))


# ---------------------------------------------------------------------------
# Random adversarial streams (not realistic: every path, hot keys, bad rows)
# ---------------------------------------------------------------------------

def random_database(rng: np.random.Generator, n_accounts: int = 40, n_codes: int = 12):
    """Random instruments/accounts/positions DataFrames with varied limits, fees and statuses."""
    codes = rng.choice(np.r_[np.arange(600000, 600100), np.arange(1, 100), np.arange(300001, 300100)],
                       n_codes, replace=False)
    ref = rng.integers(200, 5000, n_codes)
    ins = pd.DataFrame({
        "code": codes, "status": (rng.random(n_codes) < 0.1).astype(int), "ref_price": ref,
        "limit_up": ref + ref // 10, "limit_down": ref - ref // 10,
        "lot": rng.choice([1, 100, 100, 100, 200], n_codes),
        "cage_bps": rng.choice([0, 200, 200, 500], n_codes),
        "fee_q16": rng.choice([0, 17, 20, 300, 65535], n_codes),
    })
    accs = np.unique(rng.integers(1, 2**64 - 1, n_accounts, dtype=np.uint64))
    n = len(accs)
    acc = pd.DataFrame({
        "account": accs, "status": rng.choice([0, 0, 0, 0, 0, 0, 1, 2], n),
        "cash": rng.integers(0, 50_000_000, n), "cash_frozen": np.zeros(n, dtype=np.int64),
        "max_order_qty": rng.choice([500, 5_000, 100_000], n),
        "max_order_value": rng.choice([1_000_000, 10_000_000, 10**12], n),
        "max_orders_per_window": rng.choice([1, 3, 10, 1000], n),
        "window_us": rng.choice([1, 500, 2_000, 1_000_000], n),
    })
    k = 3 * n
    pos = pd.DataFrame({"account": rng.choice(accs, k), "code": rng.choice(codes, k),
                        "available": rng.choice([0, 50, 100, 250, 1000, 10_000], k)})
    pos = pos.drop_duplicates(["account", "code"]).reset_index(drop=True)
    pos["frozen"] = 0
    pos["pending"] = 0
    return ins, acc, pos


def random_stream(rng: np.random.Generator, n: int, ins: pd.DataFrame, acc: pd.DataFrame, hot: float = 1.2,
                  p_eod: float = 0.003) -> np.ndarray:
    """Adversarial stream: Zipf-hot accounts/codes, reused ids, fills/cancels of recent ids, bad rows."""
    m = S.empty_messages(n)
    u = rng.random(n)
    t = np.where(u < 0.55, S.MSG_NEW, np.where(u < 0.72, S.MSG_CANCEL, np.where(u < 0.97, S.MSG_FILL, 0)))
    t = np.where(u > 0.985, rng.choice([0, 5, 255], n), t)
    t = np.where(rng.random(n) < p_eod, S.MSG_EOD, t)
    m["type"] = t
    accs = acc["account"].to_numpy(np.uint64)
    w = 1.0 / np.arange(1, len(accs) + 1) ** hot
    ai = rng.choice(len(accs), n, p=w / w.sum())
    m["account"] = np.where(rng.random(n) < 0.01, np.uint64(12345), accs[ai])
    codes = ins["code"].to_numpy()
    wc = 1.0 / np.arange(1, len(codes) + 1) ** hot
    ci = rng.choice(len(codes), n, p=wc / wc.sum())
    m["code"] = np.where(rng.random(n) < 0.01, 999_998, codes[ci])
    m["side"] = np.where(rng.random(n) < 0.01, rng.choice([0, 3], n), rng.choice([1, 2], n))
    ref = ins["ref_price"].to_numpy()[ci]
    m["price"] = np.maximum(ref + rng.integers(-ref // 8 - 1, ref // 8 + 2), 1)
    m["price"] = np.where(rng.random(n) < 0.01, rng.choice([0, -1, 2**31], n), m["price"])
    lots = ins["lot"].to_numpy()[ci]
    qty = lots * rng.integers(1, 30, n)
    qty = np.where(rng.random(n) < 0.05, rng.choice([1, 50, 250, 1000, 10_000], n), qty)
    qty = np.where(rng.random(n) < 0.01, rng.choice([0, -100], n), qty)
    m["qty"] = qty
    # ids: NEWs draw from a pool that makes duplicates common; FILL/CANCEL mostly reuse a recent NEW id
    pool = max(n // 3, 8)
    ids = rng.integers(1, pool, n).astype(np.uint64)
    recent = np.maximum(np.arange(n) - rng.integers(1, 60, n), 0)
    ids = np.where((t != S.MSG_NEW) & (rng.random(n) < 0.9), ids[recent], ids)
    m["order_id"] = ids
    fill_qty = np.where(rng.random(n) < 0.5, lots * rng.integers(1, 5, n), rng.integers(-2, 3000, n))
    m["qty"] = np.where(t == S.MSG_FILL, fill_qty, m["qty"])
    m["ts_us"] = np.cumsum(rng.integers(0, 400, n)).astype(np.uint64)
    return m


# ---------------------------------------------------------------------------
# Hypothesis strategies over the base database
# ---------------------------------------------------------------------------

def message_strategy():
    """Hypothesis strategy of one message tuple over the base database (good, bad and unknown refs)."""
    from hypothesis import strategies as st

    acc = st.sampled_from([1, 2, 3, 4, 5, 6, 99])
    code = st.sampled_from([600000, 600001, 1, 300001, 999999])
    oid = st.integers(1, 6)
    price = st.one_of(st.integers(250, 1250), st.sampled_from([0, -1, 2**31, 980, 1020, 310, 290]))
    qty = st.one_of(st.integers(1, 20).map(lambda k: 100 * k), st.integers(-100, 1500), st.sampled_from([250, 0]))
    side = st.sampled_from([1, 1, 2, 2, 0, 3])
    dt = st.integers(0, 700)
    news = st.tuples(st.just(S.MSG_NEW), side, code, acc, oid, price, qty, dt)
    cancels = st.tuples(st.just(S.MSG_CANCEL), st.just(0), st.just(0), st.just(0), oid, st.just(0), st.just(0), dt)
    fills = st.tuples(st.just(S.MSG_FILL), st.just(0), st.just(0), st.just(0), oid, st.just(0), qty, dt)
    eods = st.tuples(st.just(S.MSG_EOD), st.just(0), st.just(0), st.just(0), st.just(0), st.just(0), st.just(0), dt)
    junk = st.tuples(st.sampled_from([0, 5, 200]), side, code, acc, oid, price, qty, dt)
    return st.one_of(news, news, news, cancels, fills, fills, eods, junk)


def stream_from(draws) -> list[tuple]:
    """Message tuples with the strategy's time increments turned into non-decreasing timestamps."""
    out, ts = [], 0
    for m in draws:
        ts += m[7]
        out.append(m[:7] + (ts,))
    return out
