"""DuckDB schema of the risk store: the one definition of every table and its columns."""
from __future__ import annotations

# Prices: equities at their close, bonds at their dirty price per 100 face; a bond
# holding's quantity is face / 100, so market value is always quantity * close.
# The three large daily fact tables (prices, asset_returns, bond_analytics) key
# assets by the integer asset_key of the assets table: fetching strings would
# cost more than the whole computation (files with asset_id are mapped on load).
TABLES: dict[str, str] = {
    "assets": """asset_id VARCHAR PRIMARY KEY, asset_key INTEGER NOT NULL UNIQUE, asset_class VARCHAR NOT NULL,
                 name VARCHAR, sector VARCHAR, index_id VARCHAR, beta DOUBLE""",
    "prices": "date DATE NOT NULL, asset_key INTEGER NOT NULL, close DOUBLE",
    "asset_returns": "date DATE NOT NULL, asset_key INTEGER NOT NULL, ret DOUBLE",
    "portfolios": "portfolio_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, benchmark_id VARCHAR, name VARCHAR",
    "holdings": "portfolio_id VARCHAR NOT NULL, date DATE NOT NULL, asset_id VARCHAR NOT NULL, quantity DOUBLE NOT NULL",
    "benchmark_weights": "benchmark_id VARCHAR NOT NULL, date DATE NOT NULL, asset_id VARCHAR NOT NULL, weight DOUBLE NOT NULL",
    "bonds": """asset_id VARCHAR PRIMARY KEY, issuer VARCHAR, rating VARCHAR, coupon_rate DOUBLE NOT NULL,
                frequency INTEGER NOT NULL, issue_date DATE, maturity_date DATE NOT NULL""",
    "bond_analytics": """date DATE NOT NULL, asset_key INTEGER NOT NULL, dirty_price DOUBLE, clean_price DOUBLE,
                         accrued DOUBLE, coupon_paid DOUBLE, ytm DOUBLE, gov_yield DOUBLE, spread DOUBLE,
                         mod_duration DOUBLE, spread_duration DOUBLE, convexity DOUBLE""",
    "curves": "curve_id VARCHAR NOT NULL, date DATE NOT NULL, tenor_years DOUBLE NOT NULL, yield DOUBLE NOT NULL",
    "stress_scenarios": "scenario_id VARCHAR NOT NULL, factor_type VARCHAR NOT NULL, factor_key VARCHAR, shock DOUBLE NOT NULL",
    "snowball_trades": """trade_id VARCHAR PRIMARY KEY, portfolio_id VARCHAR NOT NULL, underlying_id VARCHAR NOT NULL,
                          notional DOUBLE NOT NULL, start_date DATE NOT NULL, initial_price DOUBLE NOT NULL,
                          ko_barrier DOUBLE NOT NULL, ki_barrier DOUBLE NOT NULL, coupon DOUBLE NOT NULL,
                          maturity_days INTEGER NOT NULL, lockup_days INTEGER NOT NULL,
                          ki_strike DOUBLE, floor DOUBLE""",
    "market_params": "date DATE NOT NULL, underlying_id VARCHAR NOT NULL, vol DOUBLE NOT NULL, dividend DOUBLE NOT NULL",
    # Results are append-only: every write adds its rows and its run records under a new run number, and the
    # latest run of a (job, portfolio, date) wins (views below); superseded rows are removed lazily
    # (store.compact_results). No primary key: a key would turn every rerun into a delete.
    "risk_result_log": """job VARCHAR NOT NULL, portfolio_id VARCHAR NOT NULL, date DATE NOT NULL,
                          item VARCHAR NOT NULL, metric VARCHAR NOT NULL, value DOUBLE, run BIGINT NOT NULL""",
    "risk_run_log": """job VARCHAR NOT NULL, portfolio_id VARCHAR NOT NULL, date DATE NOT NULL, params VARCHAR NOT NULL,
                       status VARCHAR NOT NULL, error VARCHAR, attempts INTEGER, seconds DOUBLE,
                       finished_at TIMESTAMP, run BIGINT NOT NULL""",
}
INPUT_TABLES = [t for t in TABLES if not t.startswith("risk_")]
# What readers query: the latest run record of each (job, portfolio, date), and the result rows of its latest
# finished ("done") run; a failed rerun leaves the last good results readable, as before.
VIEWS: dict[str, str] = {
    "risk_runs": """SELECT job, portfolio_id, date, params, status, error, attempts, seconds, finished_at, run
                      FROM risk_run_log
                   QUALIFY row_number() OVER (PARTITION BY job, portfolio_id, date ORDER BY run DESC) = 1""",
    "risk_results": """SELECT r.job, r.portfolio_id, r.date, r.item, r.metric, r.value
                         FROM risk_result_log r
                         JOIN (SELECT job, portfolio_id, date, max(run) AS run FROM risk_run_log
                                WHERE status = 'done' GROUP BY job, portfolio_id, date) d
                        USING (job, portfolio_id, date, run)""",
}
# Result layout version: 1 had the tables risk_results (rows replaced in place) and risk_runs (primary key, records
# updated in place); 2 the append-only logs above. A store of version 1 is migrated on first use (store.py).
RESULTS_VERSION = 2
KEYED_TABLES = ("prices", "asset_returns", "bond_analytics")
GOV_CURVE = "GOV"
