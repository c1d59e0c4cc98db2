"""Risk gate tables: validation of loaded rows and readers for Parquet and DuckDB state.

Every loaded value is checked against ``riskgate_spec.TABLE_RANGES`` (the
hardware's field widths); a bad one raises ValueError naming the table, the
field, the row and what is allowed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kernels import riskgate_spec as S

TABLES = ("instruments", "accounts", "positions", "orders")
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "instruments": ("code",),
    "accounts": ("account",),
    "positions": ("account", "code"),
    "orders": ("order_id",),
}


def _int_column(df: pd.DataFrame, table: str, col: str) -> np.ndarray:
    """Column as exact Python-int-safe numpy ints (uint64 when any value needs it)."""
    s = df[col]
    if s.isna().any():
        row = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise ValueError(f"{table}.{col}: missing value in row {row}")
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=np.int64)
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.to_numpy(dtype=np.uint64 if pd.api.types.is_unsigned_integer_dtype(s.dtype) else np.int64)
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(v) | (v != np.floor(v))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{table}.{col}: row {row} holds {v[row]!r}, an integer is required")
        if np.abs(v).max(initial=0) >= 2**53:
            raise ValueError(f"{table}.{col}: float values beyond 2**53 lose precision; pass an integer column")
        return v.astype(np.int64)
    try:
        vals = [int(x) for x in s.tolist()]
    except (TypeError, ValueError):
        raise ValueError(f"{table}.{col}: values must be integers, got dtype {s.dtype}") from None
    if any(x < 0 for x in vals):
        return np.array(vals, dtype=object)  # range check below names the row
    return np.array(vals, dtype=np.uint64 if max(vals, default=0) >= 2**63 else np.int64)


def validate_table(df: pd.DataFrame | None, table: str) -> dict[str, np.ndarray]:
    """Checked integer columns of one table (optional columns default to 0)."""
    if table not in S.TABLE_RANGES:
        raise ValueError(f"table: unknown table {table!r}; choose from {', '.join(S.TABLE_RANGES)}")
    ranges = S.TABLE_RANGES[table]
    if df is None:
        df = pd.DataFrame({c: pd.Series([], dtype=np.int64) for c in ranges})
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{table}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in S.TABLE_REQUIRED[table] if c not in df.columns]
    if missing:
        raise ValueError(f"{table}: missing column(s) {', '.join(missing)}; required: {', '.join(S.TABLE_REQUIRED[table])}")
    out: dict[str, np.ndarray] = {}
    n = len(df)
    for col, (lo, hi) in ranges.items():
        if col not in df.columns:
            out[col] = np.zeros(n, dtype=np.int64)
            continue
        v = _int_column(df, table, col)
        if v.dtype == object:
            bad = np.array([not lo <= x < hi for x in v])
        elif v.dtype == np.uint64:
            bad = v < np.uint64(lo)
            if hi < 2**64:
                bad |= v >= np.uint64(hi)
        else:
            bad = v < lo
            if hi < 2**63:
                bad |= v >= hi
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{table}.{col}: row {row} holds {int(v[row])}, allowed {lo} <= {col} < {hi}")
        out[col] = v.astype(np.uint64) if col in ("account", "order_id") else v.astype(np.int64)
    _check_keys_unique(out, table)
    if table == "instruments":
        bad = out["limit_down"] > out["limit_up"]
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(f"instruments.limit_down: row {row} is above limit_up ({out['limit_down'][row]} > "
                             f"{out['limit_up'][row]}); allowed limit_down <= limit_up")
    return out


def _check_keys_unique(cols: dict[str, np.ndarray], table: str) -> None:
    keys = TABLE_KEYS[table]
    frame = pd.DataFrame({k: cols[k] for k in keys})
    dup = frame.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        key = ", ".join(str(int(cols[k][row])) for k in keys)
        raise ValueError(f"{table}.{'/'.join(keys)}: duplicate key ({key}) in row {row}; keys must be unique")


def check_consistency(acc: dict, pos: dict, orders: dict) -> None:
    """Frozen cash and shares must be backed by loaded open orders (the spec's invariants)."""
    cf = pd.Series(0, index=pd.Index(acc["account"], dtype=np.uint64), dtype=np.int64)
    buys = orders["side"] == S.SIDE_BUY
    if len(orders["order_id"]):
        sums = pd.Series(orders["frozen_cash"][buys]).groupby(orders["account"][buys]).sum()
        cf = cf.add(sums, fill_value=0).astype(np.int64)
        if (orders["frozen_cash"][~buys] != 0).any():
            raise ValueError("orders.frozen_cash: must be 0 for sell orders")
    unknown = np.setdiff1d(orders["account"], acc["account"])
    if len(unknown):
        raise ValueError(f"orders.account: account {int(unknown[0])} is not in accounts")
    have = pd.Series(acc["cash_frozen"], index=pd.Index(acc["account"], dtype=np.uint64))
    diff = have.sub(cf.reindex(have.index, fill_value=0))
    if (diff != 0).any():
        a = int(diff.index[np.flatnonzero(diff.to_numpy())[0]])
        raise ValueError(f"accounts.cash_frozen: account {a} holds {int(have[a])}, but its open buy orders freeze "
                         f"{int(cf.get(a, 0))}; allowed: the sum of frozen_cash over its loaded open buy orders")
    sells = ~buys
    key = pd.MultiIndex.from_arrays([pos["account"], pos["code"]])
    fz = pd.Series(pos["frozen"], index=key)
    want = pd.Series(orders["open_qty"][sells], index=pd.MultiIndex.from_arrays(
        [orders["account"][sells], orders["code"][sells]])).groupby(level=[0, 1]).sum()
    missing = want.index.difference(key)
    if len(missing):
        a, c = missing[0]
        raise ValueError(f"orders: sell order on ({int(a)}, {int(c):06d}) has no positions row")
    diff = fz.sub(want.reindex(fz.index, fill_value=0))
    if (diff != 0).any():
        a, c = diff.index[np.flatnonzero(diff.to_numpy())[0]]
        raise ValueError(f"positions.frozen: ({int(a)}, {int(c):06d}) holds {int(fz[(a, c)])}, allowed: the sum of "
                         f"open_qty over its loaded open sell orders ({int(want.get((a, c), 0))})")


def read_state(path: str | Path) -> dict[str, pd.DataFrame | None]:
    """Tables from a directory of ``<table>.parquet`` files or a DuckDB file (orders optional)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"--db: no such file or directory: {p}")
    if p.is_dir():
        out: dict[str, pd.DataFrame | None] = {}
        for t in TABLES:
            f = p / f"{t}.parquet"
            if not f.exists():
                if t in ("instruments", "accounts"):
                    raise FileNotFoundError(f"state directory {p}: missing {t}.parquet")
                out[t] = None
                continue
            out[t] = pd.read_parquet(f)
        return out
    return read_duckdb(p)


def read_duckdb(path: str | Path) -> dict[str, pd.DataFrame | None]:
    """Tables instruments, accounts (required), positions, orders (optional) from a DuckDB file."""
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ValueError(f"--db: {path} is neither a directory of parquet tables nor a DuckDB file ({exc})") from None
    try:
        names = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        out: dict[str, pd.DataFrame | None] = {}
        for t in TABLES:
            if t not in names:
                if t in ("instruments", "accounts"):
                    raise ValueError(f"DuckDB file {path}: missing table {t}")
                out[t] = None
                continue
            out[t] = con.execute(f'select * from "{t}"').df()
        return out
    finally:
        con.close()


def write_state(tables: dict[str, pd.DataFrame], path: str | Path) -> None:
    """Write tables to a directory of parquet files, or to a DuckDB file when ``path`` ends in .duckdb."""
    p = Path(path)
    if p.suffix == ".duckdb":
        import duckdb

        if p.exists():
            p.unlink()
        con = duckdb.connect(str(p))
        try:
            for name, df in tables.items():
                con.register("_df", df)
                con.execute(f'create table "{name}" as select * from _df')
                con.unregister("_df")
        finally:
            con.close()
        return
    p.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_parquet(p / f"{name}.parquet", index=False)
