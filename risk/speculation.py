"""Speculative load: a job's input statement and its decode run on a second cursor while the guard and the plan run.

On a warm process a rerun usually loads what the last run of the same job, parameters, portfolio request and date
loaded on the same connection: same as-of day, same window, same portfolios to do. ``start`` runs the job's
``load`` with those arguments on a cursor of the connection (a second connection to the same database instance)
in a worker thread, so DuckDB reads on the other core while the guard and the plan run on the first (DuckDB
releases the GIL while a statement runs, through ``con.sql`` and the build's statement runner alike: measured), and
the decode runs while the plan's statements hold no GIL. ``take`` hands the result over only if it is what the
normal path would load now: the guard rebuilt no pack (else the guess may have read a stale one) and the plan's
as-of day, chunks of portfolios and load parameters (window start, benchmark ids, ...) equal the guessed ones.
Otherwise the guess is dropped and ``load`` runs as usual. The guess never supplies remembered data, only
remembered arguments, with which it read the current database, so a wrong or stale cache costs a wasted read,
never a wrong number.

The cache is keyed by the connection object (held weakly: a reopened file is a new connection, so it never reuses
another's guess), the job and what selects the statement (parameters, requested portfolios, date, ``--force``).
Wrapped connections (a service's proxy, the statement counter) and runs that open the file themselves are not
speculated.
"""
from __future__ import annotations

import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Sequence

MAX_ENTRIES = 32  # distinct (connection, job, request) guesses kept; the oldest is forgotten first

_LOCK = threading.Lock()
_POOL: list[ThreadPoolExecutor] = []
_CACHE: dict[tuple, "_Entry"] = {}


@dataclass
class _Entry:
    con: weakref.ref
    args: tuple | None  # (as-of day, chunks, load parameters) of the last run, None when it had nothing to do


@dataclass
class Guess:
    """A speculative load under way: the (day, chunks, load parameters) it guessed and the future of its result."""

    args: tuple
    future: Future


def _pool() -> ThreadPoolExecutor:
    with _LOCK:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="risk-speculate"))
        return _POOL[0]


def eligible(con: Any) -> bool:
    """Whether runs on ``con`` may be speculated: a plain DuckDB connection (its cursors share its database)."""
    import duckdb

    return isinstance(con, duckdb.DuckDBPyConnection)


def _load(load: Callable, cur, day, chunks, params):
    try:
        return load(cur, day, chunks, params)
    except Exception:  # noqa: BLE001 - a failed guess is no error: the normal path loads (and reports) instead
        return None
    finally:
        try:
            cur.close()
        except Exception:  # noqa: BLE001 - the parent connection may have closed meanwhile
            pass


def start(con: Any, job: str, key: tuple, load: Callable) -> Guess | None:
    """Run ``load`` (the job's) with the arguments last remembered for (``con``, ``job``, ``key``) on a cursor of
    ``con`` in the worker thread; None when there is nothing to guess (no entry, another connection, nothing was
    left to do last time)."""
    if not eligible(con):
        return None
    e = _CACHE.get((id(con), job, key))
    if e is None or e.con() is not con or e.args is None:
        return None
    try:
        cur = con.cursor()
    except Exception:  # noqa: BLE001 - a closed connection: no guess
        return None
    return Guess(e.args, _pool().submit(_load, load, cur, *e.args))


def _copy(args: tuple) -> tuple:
    day, chunks, params = args
    return day, [list(c) for c in chunks], dict(params)


def take(guess: Guess | None, args: tuple, repacked: Sequence[str]) -> tuple[Any, str]:
    """The guessed load's result if it loaded what the normal path would load now: no pack rebuilt (else it may
    have read a stale one) and the same (as-of day, chunks, load parameters); with "hit". Else (None, "miss");
    (None, "") when nothing was guessed."""
    if guess is None:
        return None, ""
    if repacked or _copy(args) != guess.args:
        return None, "miss"  # left to finish in the worker: it closes its own cursor
    result = guess.future.result()
    return (result, "hit") if result is not None else (None, "miss")


def settle(guess: Guess | None) -> None:
    """Wait for a guess to finish (its cursor closed), used or not: no cursor of the caller's connection outlives
    the run that made it, so the caller may close the connection as soon as the run returns."""
    if guess is not None:
        guess.future.result()  # _load swallows its own errors


def remember(con: Any, job: str, key: tuple, args: tuple | None) -> None:
    """Keep this run's load arguments (as-of day, chunks, load parameters; None when nothing was left to do) for
    the next run of (``con``, ``job``, ``key``)."""
    if not eligible(con):
        return
    k = (id(con), job, key)
    with _LOCK:
        _CACHE.pop(k, None)
        # id() is reused once a connection is gone: the weak reference tells a live entry from a dead one's.
        _CACHE[k] = _Entry(weakref.ref(con), None if args is None else _copy(args))
        while len(_CACHE) > MAX_ENTRIES:
            _CACHE.pop(next(iter(_CACHE)))


def forget() -> None:
    """Drop every remembered guess (tests)."""
    with _LOCK:
        _CACHE.clear()
