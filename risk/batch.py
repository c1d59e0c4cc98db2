"""Run a risk job over many portfolios: in-process, on a Dask LocalCluster, or on an existing Dask cluster.

One task per chunk of portfolios; each finished chunk is written to DuckDB at
once, keyed by (job, portfolio, date), so a rerun skips what is done and a
failed chunk (after its retries) is recorded without losing the others.
The client alone touches the database: tasks receive numpy/pandas inputs and
return result rows, so workers need neither the file nor DuckDB.
"""
from __future__ import annotations

import datetime as dt
import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from risk import speculation
from risk.jobs import JOBS
from risk.packed import guard
from risk.store import (COMPACT_AFTER, connect, drop_superseded, next_run, params_key, plan_for_day, plan_run,
                         resolve_portfolios, window_from_days, write_failure, write_results)

# Portfolios per task: big enough to amortise task overhead, small enough to spread over workers.
CHUNK_SIZE = {"var": 500, "stress": 100, "brinson": 5, "campisi": 13, "book": 1}
SCHEDULERS = ("local", "threads", "sync")


@dataclass
class JobSummary:
    """What a run did: portfolios computed, skipped (already done) and failed (with their errors)."""

    job: str
    date: dt.date
    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    seconds: float = 0.0
    scheduler: str = ""
    # Per stage (connect, plan, load, compute, write): (wall seconds, CPU seconds of this process).
    stages: dict[str, tuple[float, float]] = field(default_factory=dict)
    # The speculative input read (risk.speculation): "hit" (its rows were used), "miss" (dropped: the guard or the
    # plan differed from the guess) or "" (none was tried).
    speculation: str = ""


class _Stages:
    """Accumulates wall (perf_counter) and process CPU (process_time) time per stage of a run."""

    def __init__(self) -> None:
        self.times: dict[str, tuple[float, float]] = {}
        self._open: tuple[str, float, float] | None = None

    def start(self, name: str) -> None:
        self.stop()
        self._open = (name, time.perf_counter(), time.process_time())

    def stop(self) -> None:
        if self._open is not None:
            name, w, c = self._open
            pw, pc = self.times.get(name, (0.0, 0.0))
            self.times[name] = (pw + time.perf_counter() - w, pc + time.process_time() - c)
            self._open = None


class _NoBar:
    """Stands in for a progress bar when none is shown."""

    def update(self, n: int = 1) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


def job_module(job: str):
    """The module implementing a job (risk.jobs.<job>)."""
    if job not in JOBS:
        raise ValueError(f"job: must be one of {', '.join(JOBS)}, got {job!r}")
    return importlib.import_module(f"risk.jobs.{job}")


def run_chunk(job: str, shared: dict, payload: dict, params: dict, compute: Callable | None = None):
    """Compute one chunk (runs on a worker); returns (result rows, seconds)."""
    t0 = time.perf_counter()
    fn = compute or job_module(job).compute
    return fn(shared, payload, params), time.perf_counter() - t0


def _params(mod, given: dict[str, Any] | None) -> dict[str, Any]:
    p = dict(mod.DEFAULTS)
    for k, v in (given or {}).items():
        if k not in mod.DEFAULTS:
            raise ValueError(f"params: unknown parameter {k!r} for this job; allowed: {', '.join(mod.DEFAULTS)}")
        p[k] = v
    mod.validate(p)
    return p


def run_job(db: str | Path | Any, job: str, portfolios: Sequence[str] | None = None, date: str | dt.date | None = None,
            scheduler: str | None = "local", params: dict[str, Any] | None = None, chunk_size: int | None = None,
            force: bool = False, retries: int = 2, workers: int = 2, show_progress: bool = True,
            pricer: Callable | None = None, compute: Callable | None = None) -> JobSummary:
    """Run ``job`` for the portfolios (default: all of the job's kinds) as of ``date`` (default: latest).

    ``db`` is a DuckDB file path or an open DuckDB connection (left open).
    ``scheduler`` is "local" (a Dask LocalCluster of ``workers`` processes),
    "threads" (an in-process LocalCluster), "sync" (no Dask) or the address
    of a running Dask scheduler. ``compute`` replaces the job's compute
    function and ``pricer`` the book job's ``pricing.price`` (for tests).
    """
    t0 = time.perf_counter()
    mod = job_module(job)
    p = _params(mod, params)
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"--chunk-size: must be a positive integer, got {chunk_size!r}")
    if not isinstance(retries, int) or retries < 0:
        raise ValueError(f"--retries: must be a non-negative integer, got {retries!r}")
    own = isinstance(db, (str, Path))
    clock = _Stages()
    clock.start("connect")
    con = connect(db) if own else db  # a long-lived service passes its open connection
    guess = None
    try:
        clock.start("plan")
        # On a warm connection the last run of this request's load (input statement and decode) starts first, on a
        # cursor in a worker thread, overlapping the guard and the plan (risk.speculation); used only if they
        # confirm its arguments.
        spec_key = (params_key(p), tuple(portfolios) if portfolios else None, str(date), bool(force))
        speculate = not own and getattr(mod, "SPECULATIVE_LOAD", False)
        if speculate:
            guess = speculation.start(con, job, spec_key, mod.load)
        # Required tables present and non-empty, packed copies current: one statement when all is in place, which
        # also brings the packed returns' trading days (recorded when they were packed).
        repacked, days = guard(con, mod.PACKS, required=("portfolios",) + tuple(mod.TABLES))
        window = mod.window_length(p) if hasattr(mod, "window_length") else None
        if days is not None:
            # The as-of day and the window's first day from those days; the portfolios and their recorded runs of
            # that day in one statement with a constant date.
            d, first = window_from_days(days, date, window)
            known, states, bmap = plan_for_day(con, job, d, p, with_benchmarks=True)
            planned = (d, known, states) + ((first,) if window is not None else ()) + (bmap,)
        else:
            # Jobs that do not read returns: the date from asset_returns in the plan statement itself.
            planned = plan_run(con, job, date, p, "asset_returns", window, with_benchmarks=True)
        d, known, states = planned[:3]
        pids = resolve_portfolios(con, portfolios, mod.KINDS, known)
        done = set() if force else {x for x, (st, same) in states.items() if st == "done" and same}
        summary = JobSummary(job, d, skipped=[x for x in pids if x in done], scheduler=scheduler or "local")
        todo = [x for x in pids if x not in done]
        if not todo:
            if speculate:
                speculation.remember(con, job, spec_key, None)  # nothing to do: the next run guesses nothing
            summary.speculation = "miss" if guess is not None else ""
            clock.stop()
            summary.stages = clock.times
            summary.seconds = time.perf_counter() - t0
            return summary
        # In-process there is nothing to spread: one chunk, one write (unless asked otherwise).
        size = chunk_size or (len(todo) if scheduler == "sync" else CHUNK_SIZE[job])
        chunks = [todo[i:i + size] for i in range(0, len(todo), size)]
        load_params = dict(p, _pricer=pricer) if job == "book" else p
        if window is not None:
            load_params = dict(load_params, _window_start=planned[3])  # read the window with constant bounds
        if getattr(mod, "USES_BENCHMARKS", False):
            load_params = dict(load_params, _benchmarks=planned[-1])  # from the plan: no statement of its own
        clock.start("load")
        loaded = None
        if speculate:
            loaded, summary.speculation = speculation.take(guess, (d, chunks, load_params), repacked)
            speculation.remember(con, job, spec_key, (d, chunks, load_params))
        shared, payloads = loaded if loaded is not None else mod.load(con, d, chunks, load_params)

        if show_progress:
            from foreland.progress import progress

            bar = progress(total=len(todo), desc=f"risk {job}", unit="portfolio")
        else:
            bar = _NoBar()  # a disabled tqdm still cost 0.2 ms per run (measured)
        # One run number for every chunk of this run (they write different portfolios), above any recorded one.
        run = next_run(getattr(states, "last_run", 0))

        def finish(i: int, result, attempts: int) -> None:
            rows, secs = result
            clock.start("write")
            # Appended under this run's number: nothing is deleted or updated (earlier runs are superseded).
            write_results(con, job, d, p, rows, chunks[i], secs, attempts, run=run)
            if scheduler == "sync":
                clock.stop()
            else:
                clock.start("dask")
            summary.computed.extend(chunks[i])
            summary.rows += len(rows)
            bar.update(len(chunks[i]))

        def fail(i: int, exc: BaseException, attempts: int) -> None:
            msg = f"{type(exc).__name__}: {exc}"
            write_failure(con, job, d, p, chunks[i], msg, attempts, run=run)
            summary.failed.update({x: msg for x in chunks[i]})
            bar.update(len(chunks[i]))

        try:
            if scheduler == "sync":
                for i, payload in enumerate(payloads):
                    for attempt in range(1, retries + 2):
                        clock.start("compute")
                        try:
                            res = run_chunk(job, shared, payload, p, compute)
                        except Exception as exc:  # a task failure is recorded, not fatal to the run
                            clock.stop()
                            if attempt == retries + 1:
                                fail(i, exc, attempt)
                        else:
                            finish(i, res, attempt)
                            break
            else:
                clock.start("dask")  # compute on the workers, overlapped with writes here
                _run_dask(job, shared, payloads, p, compute, scheduler, workers, retries, finish, fail)
        finally:
            bar.close()
        if getattr(states, "most_records", 0) >= COMPACT_AFTER and summary.computed:
            clock.start("write")
            # Superseded runs of this (job, date) have piled up (forced reruns): drop those this run replaced.
            drop_superseded(con, job, d, run, summary.computed)
        clock.stop()
        summary.stages = clock.times
        summary.seconds = time.perf_counter() - t0
        return summary
    finally:
        speculation.settle(guess)
        if own:
            con.close()


def _run_dask(job, shared, payloads, params, compute, scheduler, workers, retries, finish, fail) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise ImportError(f"--scheduler: Dask distributed is not available ({exc}); use --scheduler sync") from None
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers: must be a positive integer, got {workers!r}")
    cluster = None
    if scheduler in (None, "local", "threads"):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=scheduler != "threads",
                               dashboard_address=None, silence_logs=50)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise OSError(f"--scheduler: cannot reach a Dask scheduler at {scheduler!r}: {exc}") from None
    try:
        [shared_f] = client.scatter([shared], broadcast=True)
        futs = {client.submit(run_chunk, job, shared_f, payload, params, compute, retries=retries, pure=False): i
                for i, payload in enumerate(payloads)}
        for fut in as_completed(futs):
            i = futs[fut]
            try:
                res = fut.result()
            except Exception as exc:  # recorded per chunk; the other chunks carry on
                fail(i, exc, retries + 1)
            else:
                finish(i, res, 1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

