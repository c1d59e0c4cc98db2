"""Loaders: exchange quote files, CSV/Parquet round trips, calendars, and clear errors on malformed files."""
import numpy as np
import pandas as pd
import pytest

from forecast.contracts import delivery_month, last_trading_day, product_of
from forecast.loaders import load_calendar, load_quotes, save_panel
from forecast.schema import QUOTE_COLUMNS
from forecast_fixtures import small_market

ZCE_HEADER = "品种月份|昨结算|今开盘|最高价|最低价|今收盘|今结算|涨跌1|涨跌2|成交量(手)|空盘量|增减量|成交额(万元)|交割结算价"


def _zce_text(rows):
    lines = ["郑州商品交易所期货每日行情表(2021-01-22)", ZCE_HEADER]
    for r in rows:
        lines.append("|".join(r) + "|")
    lines.append("小计|||||||||250,000|||||")
    return "\n".join(lines) + "\n"


GOOD = [
    ["CF105", "15,100.00", "15,120.00", "15,300.00", "15,000.00", "15,250.00", "15,200.00", "150", "100",
     "123,456", "456,789", "1,234", "939,000.12", ""],
    ["CF109", "15,200.00", "15,210.00", "15,400.00", "15,100.00", "15,350.00", "15,300.00", "150", "100",
     "12,345", "45,678", "-234", "94,000.00", ""],
]


def test_exchange_quote_file_parsed(tmp_path):
    f = tmp_path / "FutureDataDaily.txt"
    f.write_text(_zce_text(GOOD), encoding="utf-8")
    df = load_quotes(f)
    assert list(df["contract"]) == ["CF105", "CF109"]
    assert (df["date"] == pd.Timestamp("2021-01-22")).all()  # from the title line
    r = df.iloc[0]
    assert (r["prev_settle"], r["high"], r["settle"], r["volume"], r["open_interest"], r["turnover"]) == (
        15100.0, 15300.0, 15200.0, 123456.0, 456789.0, 939000.12)
    assert np.isnan(r["delivery_settle"]) and r["product"] == "CF"


def test_exchange_file_in_gb18030(tmp_path):
    f = tmp_path / "q.txt"
    f.write_bytes(_zce_text(GOOD).encode("gb18030"))
    assert len(load_quotes(f)) == 2


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip(tmp_path, suffix):
    panel, _ = small_market()
    panel = panel.head(400)
    f = tmp_path / f"panel{suffix}"
    save_panel(panel, f)
    back = load_quotes(f)
    cols = [c for c in QUOTE_COLUMNS if c in panel.columns]
    exp = panel.sort_values(["contract", "date"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back[cols].reset_index(drop=True), exp[cols], check_dtype=False)


@pytest.mark.parametrize("row,col,value,pattern", [
    (1, 9, "12a45", r"line 4, column 'volume': '12a45' is not a number"),
    (0, 10, "-5", r"line 3, column 'open_interest': -5.0 is negative"),
    (1, 3, "14,000.00", r"line 4, column 'high': 14000.0 is below low"),
])
def test_malformed_exchange_file(tmp_path, row, col, value, pattern):
    rows = [list(r) for r in GOOD]
    rows[row][col] = value
    f = tmp_path / "bad.txt"
    f.write_text(_zce_text(rows), encoding="utf-8")
    with pytest.raises(ValueError, match=pattern):
        load_quotes(f)


def test_malformed_csv_names_line_and_column(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("date,contract,close,volume,open_interest\n2021-01-04,CF105,1,10,5\n2021-01-05,CF105,1,10,5\n"
                 "2021-13-06,CF105,1,10,5\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 4, column 'date'"):
        load_quotes(f)
    f.write_text("date,contract,close,volume\n2021-01-04,CF105,1,10\n2021-01-05,CF105,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 3: expected 4 fields, got 3"):
        load_quotes(f)
    f.write_text("date,contract,close\n2021-01-04,CF105,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"missing required column\(s\) \['volume'\]"):
        load_quotes(f)
    f.write_text("date,contract,close,volume\n2021-01-04,CF105,1,10\n2021-01-04,CF105,1,11\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 3, column 'contract': duplicate row"):
        load_quotes(f)
    with pytest.raises(FileNotFoundError):
        load_quotes(tmp_path / "missing.csv")


def test_malformed_parquet_names_row(tmp_path):
    df = pd.DataFrame({"date": ["2021-01-04", "2021-01-05"], "contract": ["CF105", "CF105"],
                       "close": [1.0, 2.0], "volume": ["10", "x"]})
    f = tmp_path / "p.parquet"
    df.to_parquet(f)
    with pytest.raises(ValueError, match=r"row 1, column 'volume': 'x' is not a number"):
        load_quotes(f)


def test_calendar_loader(tmp_path):
    _, cal = small_market()
    f = tmp_path / "cal.csv"
    save_panel(cal, f)
    back = load_calendar(f)
    assert len(back) == len(cal) and back["margin_rate"].max() == cal["margin_rate"].max()
    f.write_text("product,effective_date,announce_date,margin_rate\nCF,2021-01-04,2021-01-01,0.07\n"
                 "CF,2021-02-01,2021-02-03,0.09\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 3, column 'announce_date': after effective_date"):
        load_calendar(f)
    f.write_text("product,effective_date,margin_rate\nCF,2021-01-04,7\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2, column 'margin_rate'.*fraction"):
        load_calendar(f)


def test_contract_codes():
    assert product_of("cf105") == "CF"
    # three-digit ZCE codes: the decade is resolved from the trading date
    assert delivery_month("CF105", pd.Timestamp("2020-12-21")) == pd.Timestamp("2021-05-01")
    assert delivery_month("CF105", pd.Timestamp("2010-06-01")) == pd.Timestamp("2011-05-01")
    assert delivery_month("CF2105", pd.Timestamp("2020-12-21")) == pd.Timestamp("2021-05-01")
    assert delivery_month("SPX", pd.Timestamp("2020-12-21")) is None
    # May 2021 begins on a Saturday: business days 3,4,5,6,7,10,11,12,13,14 -> the 10th is the 14th
    assert last_trading_day("CF105", pd.Timestamp("2020-12-21")) == pd.Timestamp("2021-05-14")
    # September 2021 begins on a Wednesday: 1,2,3,6,7,8,9,10,13,14 -> the 14th
    assert last_trading_day("CF109", pd.Timestamp("2021-01-04")) == pd.Timestamp("2021-09-14")
