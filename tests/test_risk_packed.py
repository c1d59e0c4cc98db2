"""Packed copies of the input tables (risk/packed.py) against the long tables read with pandas, the row-count
guard that rebuilds them, and the vectorised helpers of the fast path against plain per-portfolio loops."""
from __future__ import annotations

import datetime as dt
from typing import Sequence

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from risk.jobs.common import (benchmark_snapshots, daily_matrices, daily_quantities, daily_window, holdings_asof,
                              holdings_snapshots)
from risk.packed import ensure_packed, pack, packed_name
from risk.packed_reads import snapshot_positions
from risk_fixtures import small_db


@pytest.fixture()
def con(tmp_path):
    c = duckdb.connect(str(small_db(tmp_path)))
    yield c
    c.close()


def _long(con, table, col):
    return con.execute(f"SELECT date, asset_key, {col} FROM {table}").df().pivot(index="date", columns="asset_key",
                                                                                 values=col)


def test_daily_packs_equal_the_long_tables(con):
    keys = np.array(sorted(con.execute("SELECT asset_key FROM bond_analytics GROUP BY 1").df().asset_key))[::3]
    day = con.execute("SELECT max(date) FROM asset_returns").fetchall()[0][0]
    days, got = daily_window(con, keys, day, 40, "asset_returns", ["ret"])
    ref = _long(con, "asset_returns", "ret")
    want_days = np.sort(ref.index.to_numpy().astype("datetime64[D]"))[-40:]
    np.testing.assert_array_equal(days, want_days)
    np.testing.assert_array_equal(got["ret"], ref.loc[pd.to_datetime(want_days), keys].to_numpy())
    cols = ["dirty_price", "spread", "mod_duration"]
    got = daily_matrices(con, keys, want_days[5:9], "bond_analytics", cols)
    for c in cols:
        np.testing.assert_array_equal(got[c], _long(con, "bond_analytics", c).loc[pd.to_datetime(want_days[5:9]), keys]
                                      .to_numpy())


def test_missing_cell_is_named_after_the_long_table(con):
    key, asset = con.execute("SELECT asset_key, asset_id FROM assets WHERE asset_class = 'equity' LIMIT 1").fetchall()[0]
    day = con.execute("SELECT max(date) FROM prices").fetchall()[0][0]
    con.execute("UPDATE prices SET close = NULL WHERE asset_key = ? AND date = ?", [key, day])
    pack(con, ["prices"])
    with pytest.raises(ValueError, match=f"prices.close: missing or NaN value for asset '{asset}' on {day}"):
        daily_matrices(con, np.array([key]), np.array([np.datetime64(day, "D")]), "prices", ["close"])


def _asof_pandas(h, owners, owner_col, value, start, end):
    """Snapshots in effect over [start, end], per owner, from the long table with pandas."""
    a = h[h[owner_col].isin(owners)]
    first = a[a.date <= pd.Timestamp(start)].groupby(owner_col).date.max()
    a = a[(a.date >= a[owner_col].map(first)) & (a.date <= pd.Timestamp(end))]
    return a.assign(p_idx=a[owner_col].map({o: i for i, o in enumerate(owners)}))[["p_idx", "date", "asset_key", value]]


def _same_rows(got, want, cols):
    k = cols[:-1]
    day = (lambda f: f.assign(date=np.asarray(f.date.to_numpy(), "datetime64[D]").astype(np.int64))) if "date" in cols else (lambda f: f)
    g = day(got[cols]).sort_values(k).reset_index(drop=True)
    w = day(want[cols]).sort_values(k).reset_index(drop=True)
    np.testing.assert_array_equal(g[k].to_numpy(dtype="int64"), w[k].to_numpy(dtype="int64"))
    np.testing.assert_array_equal(g[cols[-1]].to_numpy(), w[cols[-1]].to_numpy())


def test_snapshot_packs_equal_pandas_as_of(con):
    h = con.execute("SELECT h.*, a.asset_key FROM holdings h JOIN assets a USING (asset_id)").df()
    pids = ["MX-00002", "EQ-00003", "FI-00001", "EQ-00001"]
    dates = sorted(h.date.unique())
    mid, late = dates[len(dates) // 3].date(), dates[-1].date() + dt.timedelta(days=3)
    want = _asof_pandas(h, pids, "portfolio_id", "quantity", late, late)
    want = want[want.quantity != 0]
    _same_rows(holdings_asof(con, pids, late).assign(date=0), want.assign(date=0), ["p_idx", "asset_key", "quantity"])
    got = holdings_snapshots(con, pids, mid, late)
    _same_rows(got.assign(date=pd.to_datetime(got.date)), _asof_pandas(h, pids, "portfolio_id", "quantity", mid, late),
               ["p_idx", "date", "asset_key", "quantity"])
    b = con.execute("SELECT w.*, a.asset_key FROM benchmark_weights w JOIN assets a USING (asset_id)").df()
    bids = sorted(b.benchmark_id.unique())
    got = benchmark_snapshots(con, bids, mid, late)
    _same_rows(got.assign(date=pd.to_datetime(got.date)), _asof_pandas(b, bids, "benchmark_id", "weight", mid, late),
               ["p_idx", "date", "asset_key", "weight"])


def test_guard_rebuilds_after_rows_are_added_or_removed(con):
    assert ensure_packed(con, ["holdings", "prices", "asset_returns"]) == []  # generate() packed everything
    day = con.execute("SELECT max(date) FROM holdings").fetchall()[0][0] + dt.timedelta(days=1)
    asset = con.execute("SELECT asset_id FROM assets WHERE asset_class = 'equity' ORDER BY 1 LIMIT 1").fetchall()[0][0]
    con.execute("INSERT INTO holdings VALUES ('EQ-00001', ?, ?, 1234)", [day, asset])
    assert ensure_packed(con, ["holdings", "prices"]) == ["holdings"]
    got = holdings_asof(con, ["EQ-00001"], day)
    assert got.quantity.tolist() == [1234.0]
    con.execute("DELETE FROM holdings WHERE portfolio_id = 'EQ-00001' AND date = ?", [day])
    assert ensure_packed(con, ["holdings"]) == ["holdings"]
    assert len(holdings_asof(con, ["EQ-00001"], day)) > 1
    # A row change to assets re-keys holdings: every pack built on it is rebuilt.
    con.execute("INSERT INTO assets SELECT 'NEW-ONE', max(asset_key) + 1, 'equity', NULL, NULL, NULL, NULL FROM assets")
    assert set(ensure_packed(con, ["holdings", "benchmark_weights", "prices"])) == {"holdings", "benchmark_weights", "prices"}


def test_in_place_update_needs_a_repack(con):
    """The documented limit of the guard: an UPDATE keeps row counts, so the writer must call pack()."""
    row = con.execute("SELECT portfolio_id, date, asset_id FROM holdings WHERE portfolio_id = 'EQ-00002' "
                      "ORDER BY date DESC, asset_id LIMIT 1").fetchall()[0]
    day = row[1]
    con.execute("UPDATE holdings SET quantity = 777 WHERE portfolio_id = ? AND date = ? AND asset_id = ?", list(row))
    assert ensure_packed(con, ["holdings"]) == []
    assert 777.0 not in holdings_asof(con, ["EQ-00002"], day).quantity.tolist()
    pack(con, ["holdings"])
    assert 777.0 in holdings_asof(con, ["EQ-00002"], day).quantity.tolist()


def test_loader_invalidates_its_packs(con, tmp_path):
    from risk.store import load_file

    f = tmp_path / "h.parquet"
    con.execute(f"COPY (SELECT * FROM holdings WHERE portfolio_id = 'EQ-00004') TO '{f}' (FORMAT parquet)")
    con.execute("DELETE FROM holdings WHERE portfolio_id = 'EQ-00004'")
    pack(con, ["holdings"])
    with pytest.raises(ValueError, match="has no holdings"):
        holdings_asof(con, ["EQ-00004"], dt.date(2025, 12, 31))
    load_file(con, "holdings", f)
    assert ensure_packed(con, ["holdings"]) == ["holdings"]
    assert len(holdings_asof(con, ["EQ-00004"], dt.date(2025, 12, 31))) > 0


def test_sparse_asset_keys_are_refused(con):
    con.execute("INSERT INTO assets (asset_id, asset_key, asset_class) VALUES ('FAR', 50000000, 'equity')")
    con.execute("INSERT INTO prices SELECT max(date), 50000000, 1.0 FROM prices")
    with pytest.raises(ValueError, match="prices.asset_key: asset keys must be dense non-negative integers"):
        pack(con, ["prices"])


def test_daily_quantities_match_a_per_portfolio_loop():
    rng = np.random.default_rng(3)
    keys = np.arange(5, 25)
    days = np.arange(np.datetime64("2025-01-01"), np.datetime64("2025-03-01"))
    rows = []
    for p in range(4):
        snaps = np.sort(rng.choice(np.arange(-20, 50), size=3, replace=False))
        snaps[0] = min(snaps[0], 0)  # every portfolio has a snapshot on or before the first day
        for s in snaps:
            held = rng.choice(keys, size=6, replace=False)
            rows += [(p, days[0] + s, k, rng.normal()) for k in held]
    snap = pd.DataFrame(rows, columns=["p_idx", "date", "asset_key", "quantity"])
    got = daily_quantities(snap, 4, keys, days)
    ref = np.zeros_like(got)
    for p in range(4):
        for t, d in enumerate(days):
            mine = snap[(snap.p_idx == p) & (snap.date <= d)]
            last = mine[mine.date == mine.date.max()]
            for k, q in zip(last.asset_key, last.quantity):
                ref[p, t, np.searchsorted(keys, k)] += q
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(daily_quantities(snap, 4, keys, days, time_major=True), ref.transpose(1, 0, 2))
    with pytest.raises(ValueError, match="no holdings on or before"):
        daily_quantities(snap, 4, keys, days - 400)


def test_campisi_pair_kernel_matches_dense_einsum():
    from risk.jobs.campisi import BOND_EFFECTS, _pair_kernel

    rng = np.random.default_rng(5)
    t, p, n = 30, 4, 9
    q = rng.uniform(0, 2, (t, p, n)) * (rng.uniform(size=(1, p, n)) < 0.6)
    price = rng.uniform(90, 110, (t, n))
    nav = np.einsum("tpn,tn->tp", q, price)
    coef = rng.uniform(0.9, 1.1, (t, p))
    e7 = rng.normal(size=(t, n, 7))
    p_idx, n_idx = np.nonzero(np.abs(q).sum(0))
    qp = np.ascontiguousarray(q[:, p_idx, n_idx])  # the kernel takes the held pairs' quantities (T x K)
    got = _pair_kernel()(qp, price, nav, coef, e7, p_idx, n_idx, np.array(BOND_EFFECTS))
    w = q * price[:, None, :] / nav[..., None] * coef[..., None]  # t x p x n linked weights
    dense = np.einsum("tpn,tnj->pnj", w, e7[..., BOND_EFFECTS])
    np.testing.assert_allclose(got, dense[p_idx, n_idx], rtol=1e-12, atol=1e-15)


def _random_snapshots(rng, n_owners, keys, days, per=3):
    rows = []
    for p in range(n_owners):
        snaps = np.sort(rng.choice(np.arange(-20, 50), size=per, replace=False))
        snaps[0] = min(snaps[0], 0)  # every owner has a snapshot on or before the first day
        for s in snaps:
            held = rng.choice(keys, size=6, replace=False)
            rows += [(p, days[0] + s, k, rng.uniform(0.5, 2.0)) for k in held]
    return pd.DataFrame(rows, columns=["p_idx", "date", "asset_key", "quantity"])


def test_sparse_sector_panel_matches_dense_forward_fill():
    """Brinson's sector sums from sparse (position, day) pairs, with the closes and returns gathered key-major from
    packed matrices whose rows and columns are offset (as the packs come: earlier days, other assets), against the
    dense forward-filled quantities; the gather's gap check; the weights and returns built from the sums."""
    from risk.jobs.brinson import _sector_weights_returns
    from risk.jobs.common import gather_columns, key_positions, sector_panel, span_days

    rng = np.random.default_rng(7)
    keys = np.arange(5, 25)
    days = np.arange(np.datetime64("2025-01-01"), np.datetime64("2025-03-01"))
    snap = _random_snapshots(rng, 4, keys, days)
    close = rng.uniform(5, 50, (len(days), len(keys)))
    ret = rng.normal(0, 0.02, (len(days), len(keys)))
    sector = rng.integers(0, 3, len(keys))
    # Packed layouts: closes from 3 days earlier, keys from 2 (lo = 2); returns from 1 day earlier, keys from 0.
    px = np.full((len(days) + 3, 30), np.nan)
    px[3:, keys - 2] = close
    rets = np.full((len(days) + 1, 40), np.nan)
    rets[1:, keys] = ret
    close_k, ok_c = gather_columns(px, 1, len(px), keys - 2)  # from two rows before the window: c0 = 2
    ret_k, ok_r = gather_columns(rets, 1, len(rets), keys)
    assert ok_r and not ok_c  # rows 1 and 2 of the closes are gaps
    close_k, ok_c = gather_columns(px, 3, len(px), keys - 2)
    assert ok_c and not gather_columns(px, 3, len(px), np.r_[keys - 2, 30])[1]  # a key beyond the pack: a gap
    np.testing.assert_array_equal(close_k, close.T)
    padded = np.concatenate([np.full((len(keys), 2), 1.0), close_k], axis=1)  # day t at column 2 + t
    d = np.asarray(snap.date.to_numpy(), dtype="datetime64[D]")
    j0, j1 = span_days(snap.p_idx.to_numpy(), d, days)
    at = key_positions(keys, snap.asset_key.to_numpy())
    mv, pnl = sector_panel(snap.p_idx.to_numpy(), at, sector[at], snap.quantity.to_numpy(), j0, j1, padded, 2,
                           ret_k, 0, 4, len(days), 3)
    q = daily_quantities(snap, 4, keys, days)  # independent: the dense fill, checked against a loop above
    onehot = np.eye(3)[sector]
    np.testing.assert_allclose(mv, (q * close[None]) @ onehot, rtol=1e-12)
    np.testing.assert_allclose(pnl, (q * close[None] * ret[None]) @ onehot, rtol=1e-12, atol=1e-15)
    w, r = _sector_weights_returns(mv, pnl)
    np.testing.assert_allclose(w, mv / mv.sum(-1, keepdims=True), rtol=1e-14)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(r, np.where(mv > 0, pnl / mv, np.nan), rtol=1e-14)
    assert np.isnan(r[mv <= 0]).all() and (mv <= 0).any()  # unheld sectors exist and have no return
    with pytest.raises(ValueError, match="non-positive value"):
        _sector_weights_returns(-mv, pnl)


# --- The earlier two-statement snapshot read (index chosen in numpy, rows by rowid): the reference below ---

def _index_part(source: str):
    """The (rowid, owner, date) index of a packed snapshot table (small: no blobs)."""
    return f"SELECT rowid, owner, date FROM {packed_name(source)}", {}


def _choose_snapshots(idx: pa.Table, owners: Sequence[str], start: dt.date, end: dt.date):
    """From an ``_index_part``'s rows: rowids, owner positions and dates of the snapshots of ``owners`` in effect
    over [start, end] (each owner's latest on or before ``start`` and every later one up to ``end``)."""
    # Owner ids to positions in ``owners`` in Arrow (no per-row Python lookups); -1 for other owners.
    pos = pc.fill_null(pc.index_in(idx.column("owner"), value_set=pa.array(list(owners), pa.string())), -1)
    pos = np.asarray(pos.to_numpy(zero_copy_only=False), dtype=np.int64)
    d = idx.column("date").to_numpy().astype("datetime64[D]")
    rowid = np.asarray(idx.column("rowid").to_numpy(), dtype=np.int64)
    s, e = np.datetime64(start, "D"), np.datetime64(end, "D")
    mine = pos >= 0
    lowest = np.datetime64("0001-01-01")
    latest = np.full(len(owners), lowest)
    cand = np.flatnonzero(mine & (d <= s))
    cand = cand[np.lexsort((d[cand], pos[cand]))]  # by owner, then date: each owner's last row is its latest
    last = cand[np.r_[pos[cand][1:] != pos[cand][:-1], True]] if len(cand) else cand
    latest[pos[last]] = d[last]
    take = mine & (d >= np.where(latest > lowest, latest, np.datetime64("9999-12-31"))[np.maximum(pos, 0)]) & (d <= e)
    return rowid[take], pos[take], d[take]


def _rows_part(source: str, rowids: np.ndarray):
    """The chosen rows (keys, vals, unknown) of a packed snapshot table by rowid."""
    return (f"SELECT rowid, keys, vals, unknown FROM {packed_name(source)} WHERE rowid IN (SELECT unnest($r))",
            {"r": sorted(set(np.asarray(rowids, dtype=np.int64).tolist()))})


def _decode_snapshots(t: pa.Table, chosen) -> tuple:
    """Positions of chosen snapshots (``_choose_snapshots``) from a ``_rows_part``'s rows: per position the owner
    position, date, asset_key and value, and the first (owner position, asset id) not in ``assets`` (or None)."""
    rid, pos, day = chosen
    t_rid = np.asarray(t.column("rowid").to_numpy(), dtype=np.int64)
    rows = np.flatnonzero(np.isin(t_rid, rid))
    by_rid = np.argsort(rid)
    at = by_rid[np.searchsorted(rid[by_rid], t_rid[rows])]  # each fetched row's index entry
    part = t.take(pa.array(rows, type=pa.int64())) if len(rows) != len(t) else t
    # The reference is the snapshot choice (index, then rows by rowid); the blob expansion is the shared one.
    return snapshot_positions(part, pos[at], day[at])


def test_effective_snapshots_equal_the_index_and_rowid_reads(con):
    """The one-statement read of snapshots in effect (next_date range test) against the earlier two-statement
    read (the (owner, date) index chosen in numpy, then the rows by rowid)."""
    from risk.packed_reads import decode_effective, effective_part, run_parts

    pids = [r[0] for r in con.execute("SELECT DISTINCT portfolio_id FROM holdings ORDER BY 1").fetchall()]
    dates = sorted(r[0] for r in con.execute("SELECT DISTINCT date FROM holdings").fetchall())
    for owners in (pids, pids[:2], [pids[0], pids[-1]]):  # all; a range in SQL; a range wider than the owners
        for s, e in ((dates[1], dates[1]), (dates[1] + dt.timedelta(days=3), dates[-1]), (dates[0], dates[0])):
            [t] = run_parts(con, [effective_part("holdings", s, e, owners)])
            got = decode_effective(t, owners, s)
            [idx] = run_parts(con, [_index_part("holdings")])
            pick = _choose_snapshots(idx, owners, s, e)
            [rows] = run_parts(con, [_rows_part("holdings", pick[0])])
            ref = _decode_snapshots(rows, pick)
            og, orf = np.lexsort((got[2], got[1], got[0])), np.lexsort((ref[2], ref[1], ref[0]))
            for a, b in zip(got[:4], ref[:4]):
                np.testing.assert_array_equal(a[og], b[orf])
            assert got[4] == ref[4]



def test_campisi_sparse_pair_quantities_and_values_match_the_dense_fill():
    """Campisi's sparse (pair, day) quantities and per-owner values against the dense forward fill and a dense
    batched product."""
    from risk.jobs.campisi import _kernels, _pair_quantities
    from risk.jobs.common import key_positions

    rng = np.random.default_rng(13)
    keys = np.arange(5, 25)
    days = np.arange(np.datetime64("2025-01-01"), np.datetime64("2025-03-01"))
    snap = _random_snapshots(rng, 4, keys, days)
    p_idx, n_idx, qp = _pair_quantities(snap.p_idx.to_numpy(), np.asarray(snap.date.to_numpy(), dtype="datetime64[D]"),
                                        key_positions(keys, snap.asset_key.to_numpy()), snap.quantity.to_numpy(),
                                        days, len(keys))
    dense = daily_quantities(snap, 4, keys, days, time_major=True)  # T x P x N, checked against a loop above
    ref_p, ref_n = np.nonzero(np.abs(dense).sum(0))
    np.testing.assert_array_equal(p_idx, ref_p)
    np.testing.assert_array_equal(n_idx, ref_n)
    np.testing.assert_array_equal(qp, dense[:, ref_p, ref_n])
    priced = rng.normal(size=(len(days), len(keys), 8))
    got = _kernels()["values"](qp, priced, p_idx.astype(np.int64), n_idx.astype(np.int64), 4)
    np.testing.assert_allclose(got, np.matmul(dense, priced), rtol=1e-12, atol=1e-12)


def test_fast_and_public_statement_paths_return_the_same_rows(con):
    """The input statement's fast runner (DuckDB's internal one on a plain connection) and the public relation
    API it falls back to (any wrapped connection) give the same parts, row for row and byte for byte."""
    from risk.packed_reads import daily_part, effective_part, run_parts

    class Wrapped:  # not a DuckDBPyConnection: takes the public path
        def __init__(self, c):
            self._c = c

        def __getattr__(self, name):
            return getattr(self._c, name)

    ensure_packed(con, ["asset_returns", "holdings"])
    day = con.execute("SELECT max(date) FROM asset_returns").fetchall()[0][0]
    owners = [r[0] for r in con.execute("SELECT portfolio_id FROM portfolios ORDER BY 1 LIMIT 3").fetchall()]
    parts = [daily_part("asset_returns", ["ret"], day - dt.timedelta(days=30), day),
             effective_part("holdings", day - dt.timedelta(days=30), day, owners)]
    fast, public = run_parts(con, parts), run_parts(Wrapped(con), parts)
    assert [len(t) for t in fast] == [len(t) for t in public] and all(len(t) for t in fast)
    for a, b in zip(fast, public):
        assert a.equals(b)
