"""Loaders for exchange daily-quote files, plain CSV/Parquet panels and margin/fee calendars.

Every malformed input raises ValueError naming the file, the line (or row)
and the column, so an analyst can open the file at the right place.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .contracts import product_of
from .schema import (
    ALIASES,
    CALENDAR_KEYS,
    CALENDAR_VALUES,
    CLIENT_COLUMNS,
    NONNEGATIVE_COLUMNS,
    QUOTE_COLUMNS,
    REQUIRED_COLUMNS,
    SUBTOTAL_MARKERS,
)

_NUMERIC = set(QUOTE_COLUMNS) | set(CLIENT_COLUMNS) | {"change1", "change2", "oi_change"} | set(CALENDAR_VALUES)
_DATE_IN_TITLE = re.compile(r"(\d{4})[-/]?(\d{2})[-/]?(\d{2})")


def _norm(name: str) -> str:
    key = str(name).strip().replace("\ufeff", "")
    low = key.lower().replace(" ", "_")
    if key in ALIASES:
        return ALIASES[key]
    if low in ALIASES:
        return ALIASES[low]
    return low


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ValueError(f"{path}: not UTF-8 or GB18030 text")


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in ("|", "\t", ",", ";")}
    return max(counts, key=counts.get)


def _parse_number(cell: str, where: str, col: str) -> float:
    s = cell.strip().replace(",", "")
    if s in ("", "-", "--", "nan", "NaN", "NA"):
        return np.nan
    try:
        return float(s)
    except ValueError:
        raise ValueError(f"{where}, column '{col}': {cell.strip()!r} is not a number") from None


def _parse_date(cell: str, where: str, col: str) -> pd.Timestamp:
    s = cell.strip()
    m = _DATE_IN_TITLE.fullmatch(s) if s else None
    if not m:
        raise ValueError(f"{where}, column '{col}': {s!r} is not a date (use YYYY-MM-DD or YYYYMMDD)")
    try:
        return pd.Timestamp(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValueError(f"{where}, column '{col}': {s!r} is not a valid calendar date") from None


def _table_from_text(path: Path, trade_date: str | None, known: set[str], date_cols: set[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Parse delimited text with optional title lines; return the frame and each row's file line number."""
    lines = _read_text(path).splitlines()
    header_idx, delim, header = None, ",", []
    title_date = None
    for i, line in enumerate(lines[:20]):
        if not line.strip():
            continue
        d = _sniff_delimiter(line)
        cells = [_norm(c) for c in next(csv.reader([line], delimiter=d))]
        if sum(c in known for c in cells) >= 2:
            header_idx, delim, header = i, d, cells
            break
        m = _DATE_IN_TITLE.search(line)
        if m and title_date is None:
            title_date = m.group(0)
    if header_idx is None:
        raise ValueError(f"{path}: no header line found in the first 20 lines (need column names such as "
                         f"{', '.join(REQUIRED_COLUMNS)} or the exchange's Chinese headers)")
    dup = {c for c in header if header.count(c) > 1 and c}
    if dup:
        raise ValueError(f"{path}: line {header_idx + 1}: duplicate column(s) {sorted(dup)}")
    records, line_no = [], []
    reader = csv.reader(io.StringIO("\n".join(lines[header_idx + 1:])), delimiter=delim)
    for k, cells in enumerate(reader):
        lineno = header_idx + 2 + k
        if not any(c.strip() for c in cells):
            continue
        first = cells[0].strip().lower()
        if any(first.startswith(m) for m in SUBTOTAL_MARKERS):
            continue
        # exchange files often end each line with the delimiter: drop one empty trailing cell
        if len(cells) == len(header) + 1 and not cells[-1].strip():
            cells = cells[:-1]
        if len(cells) != len(header):
            raise ValueError(f"{path}: line {lineno}: expected {len(header)} fields, got {len(cells)}")
        row = {}
        for col, cell in zip(header, cells):
            where = f"{path}: line {lineno}"
            if col in date_cols:
                row[col] = _parse_date(cell, where, col)
            elif col in _NUMERIC:
                row[col] = _parse_number(cell, where, col)
            else:
                row[col] = cell.strip()
        records.append(row)
        line_no.append(lineno)
    df = pd.DataFrame.from_records(records, columns=header)
    if "date" in known and "date" not in df.columns:
        td = trade_date or title_date
        if td is None:
            raise ValueError(f"{path}: no 'date' column and no date in the title line; pass trade_date")
        df["date"] = _parse_date(td, f"{path}: trade_date", "date")
    return df, np.asarray(line_no, dtype=int)


def _table_from_frame(df: pd.DataFrame, path: Path, date_cols: set[str], row_label: str, offset: int) -> tuple[pd.DataFrame, np.ndarray]:
    df = df.rename(columns={c: _norm(c) for c in df.columns})
    lines = np.arange(len(df)) + offset
    for col in df.columns:
        if col in date_cols:
            parsed = pd.to_datetime(df[col].astype(str).str.strip(), errors="coerce", format="mixed")
            bad = parsed.isna() & df[col].notna()
            if bad.any():
                i = int(np.flatnonzero(bad.values)[0])
                raise ValueError(f"{path}: {row_label} {lines[i]}, column '{col}': {df[col].iloc[i]!r} is not a date")
            df[col] = parsed
        elif col in _NUMERIC and not pd.api.types.is_numeric_dtype(df[col]):
            s = df[col].astype(str).str.replace(",", "", regex=False).str.strip()
            num = pd.to_numeric(s.replace({"": np.nan, "-": np.nan, "nan": np.nan, "None": np.nan}), errors="coerce")
            bad = num.isna() & df[col].notna() & ~s.isin(["", "-", "nan", "None"])
            if bad.any():
                i = int(np.flatnonzero(bad.values)[0])
                raise ValueError(f"{path}: {row_label} {lines[i]}, column '{col}': {df[col].iloc[i]!r} is not a number")
            df[col] = num
    return df, lines


def _validate_quotes(df: pd.DataFrame, lines: np.ndarray, path: Path, row_label: str) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing required column(s) {missing}; accepted columns: {', '.join(QUOTE_COLUMNS)} "
                         f"(plus date, contract, optional client columns {', '.join(CLIENT_COLUMNS)})")
    if len(df) == 0:
        raise ValueError(f"{path}: no data rows")
    df = df.copy()
    df["contract"] = df["contract"].astype(str).str.strip()
    empty = (df["contract"] == "") | (df["contract"].str.lower() == "nan")
    if empty.any():
        i = int(np.flatnonzero(empty.values)[0])
        raise ValueError(f"{path}: {row_label} {lines[i]}, column 'contract': empty contract code")
    for col in ("close", "volume"):
        bad = df[col].isna()
        if bad.any():
            i = int(np.flatnonzero(bad.values)[0])
            raise ValueError(f"{path}: {row_label} {lines[i]}, column '{col}': missing value")
    for col in NONNEGATIVE_COLUMNS:
        if col in df.columns:
            bad = df[col] < 0
            if bad.any():
                i = int(np.flatnonzero(bad.values)[0])
                raise ValueError(f"{path}: {row_label} {lines[i]}, column '{col}': {df[col].iloc[i]} is negative (must be >= 0)")
    if "high" in df.columns and "low" in df.columns:
        bad = (df["high"] < df["low"]).fillna(False)
        if bad.any():
            i = int(np.flatnonzero(bad.values)[0])
            raise ValueError(f"{path}: {row_label} {lines[i]}, column 'high': {df['high'].iloc[i]} is below low {df['low'].iloc[i]}")
    dup = df.duplicated(["date", "contract"], keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.values)[0])
        raise ValueError(f"{path}: {row_label} {lines[i]}, column 'contract': duplicate row for "
                         f"{df['contract'].iloc[i]} on {pd.Timestamp(df['date'].iloc[i]).date()}")
    return finalize_panel(df)


def finalize_panel(df: pd.DataFrame) -> pd.DataFrame:
    """Add the product column, fill prev_settle from the previous settle, sort by contract and date."""
    out = df.copy()
    out["date"] = pd.to_datetime(out["date"])
    if "product" not in out.columns:
        out["product"] = out["contract"].map(product_of)
    out = out.sort_values(["contract", "date"], kind="mergesort").reset_index(drop=True)
    if "prev_settle" not in out.columns:
        # index and stock data have no settlement price: the previous close is the reference
        ref = "settle" if "settle" in out.columns else "close"
        out["prev_settle"] = out.groupby("contract")[ref].shift(1)
    drop = [c for c in ("change1", "change2", "oi_change") if c in out.columns]
    return out.drop(columns=drop)


def load_quotes(path: str | Path, trade_date: str | None = None) -> pd.DataFrame:
    """Load a daily-quote panel from an exchange quote file, a CSV or a Parquet file (see docs/forecast.md)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    known = set(QUOTE_COLUMNS) | {"date", "contract", "product", "change1", "change2", "oi_change"} | set(CLIENT_COLUMNS)
    if p.suffix.lower() in (".parquet", ".pq"):
        try:
            raw = pd.read_parquet(p)
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            raise ValueError(f"{p}: not a readable Parquet file ({exc.__class__.__name__})") from None
        df, lines = _table_from_frame(raw, p, {"date"}, "row", 0)
        return _validate_quotes(df, lines, p, "row")
    df, lines = _table_from_text(p, trade_date, known, {"date"})
    return _validate_quotes(df, lines, p, "line")


def load_calendar(path: str | Path) -> pd.DataFrame:
    """Load a margin/fee calendar: product or contract, effective_date, optional announce_date, margin_rate, fee, close_today_fee."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    date_cols = {"effective_date", "announce_date"}
    known = date_cols | set(CALENDAR_VALUES) | set(CALENDAR_KEYS)
    if p.suffix.lower() in (".parquet", ".pq"):
        df, lines = _table_from_frame(pd.read_parquet(p), p, date_cols, "row", 0)
        label = "row"
    else:
        df, lines = _table_from_text(p, None, known - {"date"}, date_cols)
        label = "line"
    return validate_calendar(df, str(p), lines, label)


def validate_calendar(df: pd.DataFrame, source: str = "calendar", lines: np.ndarray | None = None, label: str = "row") -> pd.DataFrame:
    """Check a margin/fee calendar frame and normalise it (announce_date defaults to effective_date)."""
    if lines is None:
        lines = np.arange(len(df))
    if "effective_date" not in df.columns:
        raise ValueError(f"{source}: missing required column 'effective_date'")
    if not any(k in df.columns for k in CALENDAR_KEYS):
        raise ValueError(f"{source}: need a 'product' or 'contract' column")
    vals = [c for c in CALENDAR_VALUES if c in df.columns]
    if not vals:
        raise ValueError(f"{source}: need at least one of {', '.join(CALENDAR_VALUES)}")
    out = df.copy()
    out["effective_date"] = pd.to_datetime(out["effective_date"])
    out["announce_date"] = pd.to_datetime(out["announce_date"]) if "announce_date" in out.columns else out["effective_date"]
    late = out["announce_date"] > out["effective_date"]
    if late.any():
        i = int(np.flatnonzero(late.values)[0])
        raise ValueError(f"{source}: {label} {lines[i]}, column 'announce_date': after effective_date")
    for c in vals:
        bad = (out[c] < 0) | out[c].isna()
        if bad.any():
            i = int(np.flatnonzero(bad.values)[0])
            raise ValueError(f"{source}: {label} {lines[i]}, column '{c}': {out[c].iloc[i]!r} must be a number >= 0")
    if "margin_rate" in out.columns:
        bad = out["margin_rate"] > 1
        if bad.any():
            i = int(np.flatnonzero(bad.values)[0])
            raise ValueError(f"{source}: {label} {lines[i]}, column 'margin_rate': {out['margin_rate'].iloc[i]} must be a fraction in [0, 1]")
    if "product" in out.columns:
        out["product"] = out["product"].astype(str).str.strip().str.upper()
    return out.sort_values(["effective_date", "announce_date"], kind="mergesort").reset_index(drop=True)


def save_panel(df: pd.DataFrame, path: str | Path) -> None:
    """Write a panel as Parquet (by suffix) or CSV."""
    p = Path(path)
    if p.suffix.lower() in (".parquet", ".pq"):
        df.to_parquet(p, index=False)
    else:
        df.to_csv(p, index=False, date_format="%Y-%m-%d")
