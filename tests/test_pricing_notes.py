"""Dated schedules on the XSHG calendar, and loading notes from TOML/JSON."""
from __future__ import annotations

import json

import pytest

from pricing import Market, Snowball
from pricing.calendar import day_indices, schedule_from_dates, trading_days_in_year
from pricing.notes import DEFAULT_NOTE, default_trade, load_trade


def test_xshg_session_counts_are_the_published_ones():
    # Shanghai A-share trading days per year as published by the exchange
    assert trading_days_in_year(2024) == 242
    assert trading_days_in_year(2023) == 242


def test_spring_festival_2025_is_skipped_and_holidays_roll_following():
    # 2025-01-02 is day 0; January has 18 sessions to the 27th; the exchange was closed 28 Jan - 4 Feb 2025
    idx = day_indices("2025-01-02", ["2025-01-03", "2025-01-27", "2025-02-05", "2025-02-01"])
    assert idx == [1, 17, 18, 18]


def test_schedule_from_dates_and_errors():
    d = schedule_from_dates("2024-01-02", "2024-12-31", ["2024-04-02", "2024-12-31"], valuation_date="2024-01-05")
    assert d["maturity_days"] == 241  # 242 sessions in 2024, day 0 is the first
    assert d["ko_days"][-1] == 241 and d["elapsed_days"] == 3
    with pytest.raises(ValueError, match="start_date"):
        day_indices("2024-01-01", ["2024-02-01"])  # New Year's Day: not a trading day
    with pytest.raises(ValueError, match="maturity_date"):
        schedule_from_dates("2025-01-02", "2031-01-02")  # past the recorded holidays
    with pytest.raises(ValueError, match="ko_dates"):
        schedule_from_dates("2024-01-02", "2024-06-28", ["2024-07-31"])
    with pytest.raises(ValueError, match="maturity_date"):
        schedule_from_dates("2024-01-02", "bad-date")
    ext = schedule_from_dates("2025-01-02", "2031-01-02", extend_weekdays=True)
    assert ext["maturity_days"] > 5 * 240


def test_default_trade_is_the_standard_note():
    t = default_trade()
    assert t.note == Snowball(**DEFAULT_NOTE)
    assert t.note.ko_days == tuple(range(63, 253, 21))
    assert t.market == Market(1.0, 0.02, 0.04, 0.16) and t.elapsed_days == 0 and not t.knocked_in


def test_load_toml_and_json(tmp_path):
    f = tmp_path / "n.toml"
    f.write_text('[note]\nko_barrier = [1.03, 1.02, 1.01]\nko_days = [63, 126, 252]\ncoupon = 0.2\n'
                 '[market]\nvol = 0.3\n[trade]\nelapsed_days = 10\nknocked_in = true\n')
    t = load_trade(f)
    assert t.note.ko_barrier == (1.03, 1.02, 1.01) and t.note.coupon == 0.2
    assert t.market.vol == 0.3 and t.market.rate == 0.02 and t.elapsed_days == 10 and t.knocked_in
    j = tmp_path / "n.json"
    j.write_text(json.dumps({"note": {"coupon": 0.1, "floor": 0.0}, "market": {"spot": 0.95}}))
    t = load_trade(j)
    assert t.note.floor == 0.0 and t.market.spot == 0.95


def test_load_dated_note(tmp_path):
    f = tmp_path / "d.toml"
    f.write_text('[dates]\nstart = "2025-01-02"\nmaturity = "2025-07-02"\nko = "monthly"\nko_first_month = 1\n'
                 'valuation = "2025-02-05"\n')
    t = load_trade(f)
    assert t.elapsed_days == 18
    assert t.note.ko_days[0] == day_indices("2025-01-02", ["2025-02-05"])[0]  # 2 Feb is a Sunday -> 5 Feb
    assert len(t.note.ko_days) == 6 and t.note.ko_days[-1] == t.note.maturity_days


@pytest.mark.parametrize("text,field", [
    ("[note]\nvol = 0.2\n", "vol"),
    ("[market]\nvol = -1\n", "vol"),
    ("[trade]\nknocked_in = 'yes'\n", "knocked_in"),
    ("[colour]\nx = 1\n", "colour"),
    ("[dates]\nstart = '2025-01-02'\n", "dates.maturity"),
    ("not toml [", "TOML"),
])
def test_bad_files_raise_valueerror_naming_the_field(tmp_path, text, field):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ValueError, match=field):
        load_trade(f)
    with pytest.raises(ValueError, match="toml or .json"):
        load_trade(tmp_path.joinpath("x.yaml").write_text("a: 1") and tmp_path / "x.yaml")
