"""Canonical column names of a daily-quote panel and the aliases the loaders accept.

This is the one place where column names are defined; loaders, features,
the synthetic generator, tests and docs all import from here.
"""
from __future__ import annotations

HORIZON = 5  # T+1 .. T+5, as in the source
SEQ_IN = 10  # Seq2Seq encoder length (days T-9 .. T)

# Canonical panel columns: one row per (date, contract).
KEY_COLUMNS = ("date", "contract")
PRICE_COLUMNS = ("prev_settle", "open", "high", "low", "close", "settle")
QUOTE_COLUMNS = PRICE_COLUMNS + ("volume", "open_interest", "turnover", "delivery_settle")
REQUIRED_COLUMNS = ("date", "contract", "close", "volume")
NONNEGATIVE_COLUMNS = ("volume", "open_interest", "turnover")

# Forecast targets, in output order.
TARGETS = ("volume", "open_interest")

# Client groups of the source (long-term, short-term, large, small). A panel may
# carry per-group volume / open interest as ``vol_<group>`` and ``oi_<group>``.
CLIENT_GROUPS = ("long_term", "short_term", "large", "small")
CLIENT_COLUMNS = tuple(f"vol_{g}" for g in CLIENT_GROUPS) + tuple(f"oi_{g}" for g in CLIENT_GROUPS)

# Margin / fee calendar columns (optional input).
CALENDAR_REQUIRED = ("effective_date",)
CALENDAR_VALUES = ("margin_rate", "fee", "close_today_fee")
CALENDAR_KEYS = ("product", "contract")  # at least one of them

# Aliases: exchange daily-quote headers (ZCE style, Chinese) and common English names.
ALIASES: dict[str, str] = {
    # Chinese headers of the exchange's public daily-quote files
    "交易日期": "date",
    "日期": "date",
    "品种月份": "contract",
    "品种代码": "contract",
    "合约代码": "contract",
    "合约": "contract",
    "昨结算": "prev_settle",
    "前结算": "prev_settle",
    "今开盘": "open",
    "开盘价": "open",
    "最高价": "high",
    "最低价": "low",
    "今收盘": "close",
    "收盘价": "close",
    "今结算": "settle",
    "结算价": "settle",
    "涨跌1": "change1",
    "涨跌2": "change2",
    "成交量(手)": "volume",
    "成交量": "volume",
    "空盘量": "open_interest",
    "持仓量": "open_interest",
    "增减量": "oi_change",
    "成交额(万元)": "turnover",
    "成交额": "turnover",
    "交割结算价": "delivery_settle",
    # English variants
    "trade_date": "date",
    "tradedate": "date",
    "instrument": "contract",
    "symbol": "contract",
    "code": "contract",
    "presettle": "prev_settle",
    "pre_settle": "prev_settle",
    "previous_settle": "prev_settle",
    "prev_settlement": "prev_settle",
    "settlement": "settle",
    "vol": "volume",
    "oi": "open_interest",
    "openinterest": "open_interest",
    "open_int": "open_interest",
    "amount": "turnover",
    "delivery_settlement": "delivery_settle",
}

# Rows of exchange files that are sub-totals, not contracts.
SUBTOTAL_MARKERS = ("小计", "总计", "合计", "subtotal", "total")
