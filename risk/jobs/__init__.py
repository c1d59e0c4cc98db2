"""Batch jobs: each module loads its inputs from DuckDB and computes results for a chunk of portfolios.

A job module exposes KINDS (the portfolio kinds it takes), TABLES (input tables
it needs), DEFAULTS (its parameters), ``load(con, date, chunks, params)`` ->
(shared inputs, one payload per chunk) and ``compute(shared, payload, params)``
-> an Arrow table of (portfolio_id, item, metric, value) rows. ``compute`` is a
pure function of numpy/pandas data, so it runs unchanged in-process or on any
Dask worker.
"""
JOBS = ("var", "stress", "brinson", "campisi", "book")
