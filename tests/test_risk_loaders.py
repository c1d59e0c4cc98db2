"""Batch loaders' data checks: unknown assets, missing holdings, non-bonds in Campisi, unclassified sectors."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from risk.batch import run_job
from risk.store import read_results
from risk_fixtures import small_db

VAR = {"confidences": [0.99], "window": 60}


def _var_after(tmp_path, sql: str, params: list, portfolios: list[str]) -> None:
    """Run the VaR job on a small store after one corrupting SQL statement."""
    db = str(small_db(tmp_path))
    con = duckdb.connect(db)
    con.execute(sql, params)
    con.close()
    run_job(db, "var", scheduler="sync", portfolios=portfolios, params=VAR, show_progress=False)


def test_unknown_held_asset_is_named(tmp_path):
    with pytest.raises(ValueError, match="holdings: asset 'NO-SUCH-ASSET' of portfolio 'EQ-00002' is not in the assets table"):
        _var_after(tmp_path, "INSERT INTO holdings SELECT 'EQ-00002', max(date), 'NO-SUCH-ASSET', 100 FROM holdings "
                   "WHERE portfolio_id = 'EQ-00002'", [], ["EQ-00001", "EQ-00002"])


def test_portfolio_without_holdings_is_named(tmp_path):
    with pytest.raises(ValueError, match="holdings: portfolio 'EQ-00003' has no holdings on or before"):
        _var_after(tmp_path, "DELETE FROM holdings WHERE portfolio_id = 'EQ-00003'", [], ["EQ-00001", "EQ-00003"])


def test_campisi_rejects_a_held_non_bond(tmp_path):
    db = str(small_db(tmp_path))
    con = duckdb.connect(db)
    pid = con.execute("SELECT portfolio_id FROM portfolios WHERE kind = 'bond' ORDER BY 1 LIMIT 1").fetchall()[0][0]
    eq = con.execute("SELECT asset_id FROM assets WHERE asset_class = 'equity' ORDER BY 1 LIMIT 1").fetchall()[0][0]
    con.execute("INSERT INTO holdings SELECT portfolio_id, date, ?, 10 FROM holdings WHERE portfolio_id = ? "
                "GROUP BY portfolio_id, date", [eq, pid])
    con.close()
    with pytest.raises(ValueError, match=f"bonds: held asset '{eq}' is not a bond"):
        run_job(db, "campisi", scheduler="sync", portfolios=[pid], params={"periods": 10}, show_progress=False)


def _brinson(db, pid):
    run_job(db, "brinson", scheduler="sync", portfolios=[pid], params={"periods": 20}, show_progress=False, force=True)
    con = duckdb.connect(db)
    try:
        return read_results(con, "brinson").set_index(["item", "metric"]).value
    finally:
        con.close()


def test_missing_sector_is_unclassified(tmp_path):
    # A NULL sector must give exactly the results of naming the sector 'Unclassified' explicitly.
    pid = "EQ-00001"
    a, b = str(small_db(tmp_path, "a.duckdb")), str(small_db(tmp_path, "b.duckdb"))
    con = duckdb.connect(a)
    held = con.execute("SELECT asset_id FROM holdings WHERE portfolio_id = ? ORDER BY date DESC, asset_id LIMIT 1",
                       [pid]).fetchall()[0][0]
    con.execute("UPDATE assets SET sector = NULL WHERE asset_id = ?", [held])
    con.close()
    con = duckdb.connect(b)
    con.execute("UPDATE assets SET sector = 'Unclassified' WHERE asset_id = ?", [held])
    con.close()
    ra, rb = _brinson(a, pid), _brinson(b, pid)
    assert "Unclassified" in ra.index.get_level_values("item")
    pd.testing.assert_series_equal(ra.sort_index(), rb.sort_index())
