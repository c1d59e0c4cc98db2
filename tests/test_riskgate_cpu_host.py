"""Host API of the risk gate on the CPU backend: loading and its validation, the message codec,
Parquet/DuckDB state, the single-message path, carrying open orders over, the CLI."""
import numpy as np
import pandas as pd
import pytest

from host.riskgate import RiskGate, resolve_backend
from host.riskgate_messages import frame_from_messages, messages_from_frame
from kernels import riskgate_numba as K
from kernels import riskgate_spec as S
from kernels.riskgate_model import fee as model_fee
from riskgate_fixtures import (ACCOUNTS, INSTRUMENTS, POSITIONS, assert_same_snapshot, model_gate,
                               random_database, random_stream, rows, to_array, new)


# ---------------------------------------------------------------- arithmetic
def test_kernel_fee_equals_exact_formula():
    # the kernel splits v to avoid a 78-bit product; Python ints compute it directly
    rng = np.random.default_rng(3)
    vs = np.r_[rng.integers(0, 2**62, 2000), [0, 1, 65535, 65536, 65537, 2**62 - 1]]
    fs = np.r_[rng.integers(0, 65536, 2000), [1, 1, 1, 1, 1, 65535]]
    for v, f in zip(vs.tolist(), fs.tolist()):
        assert K.fee(v, f) == (v * f + 65535) >> 16 == model_fee(v, f)
    assert K.fee(1, 1) == 1 and K.fee(65536, 1) == 1 and K.fee(65537, 1) == 2  # rounded up



def test_kernel_window_equals_integer_floor_division():
    # the kernel divides in float64 below 2**53 and corrects by one; Python ints are exact
    rng = np.random.default_rng(4)
    top = 2**63 - 1
    ts = np.r_[rng.integers(0, 2**53, 3000), rng.integers(2**53, top, 500), rng.integers(0, 10**13, 1000),
               [0, 1, 2**53 - 1, 2**53, 2**53 + 1, top, 10**15 - 1, 10**15, 2**52 + 1]]
    ws = np.r_[rng.integers(1, 2**63, 1000), rng.integers(1, 10**7, 2000), rng.integers(1, 2**40, 500),
               rng.choice([1, 3, 500, 1_000_000], 1000), [1, 1, 3, 3, 7, 1, 1000, 1000, 2**52 + 1]]
    for t, w in zip(ts.tolist(), ws.tolist()):
        assert K.window_of(t, w) == t // w, (t, w)
    for w in (3, 1000, 1_000_000, 2**30 + 3, 2**40 + 1, 2**45 + 7):  # at and around window edges below 2**53
        for k in (1, 10**6, (2**53 - 1) // w):
            for t in (k * w - 1, k * w, k * w + 1):
                if t < 2**63:
                    assert K.window_of(t, w) == t // w, (t, w)


def test_throttle_windows_near_float_precision_equal_model():
    # timestamps crossing 2**53, where the kernel switches from float to integer division
    rng = np.random.default_rng(11)
    ins, acc, pos = random_database(rng)
    msgs = random_stream(rng, 3000, ins, acc)
    msgs["ts_us"] = (2**53 - 400 * 1500 + msgs["ts_us"].astype(np.int64)).astype(np.uint64)
    model = model_gate(ins, acc, pos)
    want = model.process(msgs)
    gate = RiskGate("cpu").load(ins, acc, pos)
    got = gate.process_array(msgs)
    assert (msgs["ts_us"][0] < 2**53 <= msgs["ts_us"][-1])
    assert (got["reason"] == want["reason"]).all()
    assert (got["reason"] == S.THROTTLED).any()
    assert_same_snapshot(gate.snapshot(), model.snapshot())

# ---------------------------------------------------------------- loading
@pytest.mark.parametrize("table,column,value,match", [
    ("instruments", "fee_q16", 65536, "instruments.fee_q16"),
    ("instruments", "cage_bps", 10000, "instruments.cage_bps"),
    ("instruments", "ref_price", 0, "instruments.ref_price"),
    ("instruments", "code", 1_000_000, "instruments.code"),
    ("instruments", "status", 2, "instruments.status"),
    ("accounts", "cash", -1, "accounts.cash"),
    ("accounts", "cash", 2**62, "accounts.cash"),
    ("accounts", "window_us", 0, "accounts.window_us"),
    ("accounts", "max_orders_per_window", 65536, "accounts.max_orders_per_window"),
    ("accounts", "status", 3, "accounts.status"),
    ("positions", "available", 2**31, "positions.available"),
    ("positions", "available", -5, "positions.available"),
])
def test_out_of_range_field_names_it(table, column, value, match):
    tabs = {"instruments": INSTRUMENTS.copy(), "accounts": ACCOUNTS.copy(), "positions": POSITIONS.copy()}
    tabs[table][column] = tabs[table][column].astype(object)
    tabs[table].loc[1, column] = value
    with pytest.raises(ValueError, match=match):
        RiskGate("cpu").load(tabs["instruments"], tabs["accounts"], tabs["positions"])


def test_bad_tables_raise_value_error_naming_the_problem():
    with pytest.raises(ValueError, match="missing column"):
        RiskGate("cpu").load(INSTRUMENTS.drop(columns="lot"), ACCOUNTS, POSITIONS)
    with pytest.raises(ValueError, match="duplicate key"):
        RiskGate("cpu").load(pd.concat([INSTRUMENTS, INSTRUMENTS.iloc[:1]]), ACCOUNTS, POSITIONS)
    bad = INSTRUMENTS.copy()
    bad.loc[0, "limit_down"] = 1200
    with pytest.raises(ValueError, match="limit_down"):
        RiskGate("cpu").load(bad, ACCOUNTS, POSITIONS)
    nan = ACCOUNTS.copy()
    nan["cash"] = nan["cash"].astype(float)
    nan.loc[2, "cash"] = np.nan
    with pytest.raises(ValueError, match="accounts.cash: missing"):
        RiskGate("cpu").load(INSTRUMENTS, nan, POSITIONS)
    frac = ACCOUNTS.copy()
    frac["cash"] = frac["cash"].astype(float) + 0.5
    with pytest.raises(ValueError, match="accounts.cash"):
        RiskGate("cpu").load(INSTRUMENTS, frac, POSITIONS)
    frozen = ACCOUNTS.copy()
    frozen.loc[0, "cash_frozen"] = 5
    with pytest.raises(ValueError, match="cash_frozen"):
        RiskGate("cpu").load(INSTRUMENTS, frozen, POSITIONS)
    orphan = POSITIONS.copy()
    orphan.loc[0, "account"] = 4242
    with pytest.raises(ValueError, match="positions.account"):
        RiskGate("cpu").load(INSTRUMENTS, ACCOUNTS, orphan)
    with pytest.raises(ValueError, match="backend"):
        RiskGate("fpga")
    with pytest.raises(RuntimeError, match="load"):
        RiskGate("cpu").process(pd.DataFrame({"type": ["EOD"], "ts_us": [0]}))


def test_auto_backend_is_cpu_unless_rtl_requested(monkeypatch):
    monkeypatch.delenv("FORELAND_BACKEND", raising=False)
    assert resolve_backend("auto") == "cpu"
    assert resolve_backend("cpu") == "cpu"


# ---------------------------------------------------------------- codec
def test_codec_round_trip_and_wire_words():
    rng = np.random.default_rng(5)
    ins, acc, pos = random_database(rng)
    msgs = random_stream(rng, 2000, ins, acc)
    msgs["type"] = np.where(msgs["type"] > 4, 0, msgs["type"])  # names exist only for 0..4
    back = messages_from_frame(frame_from_messages(msgs))
    keep = back["type"] != 0
    assert (back[keep] == msgs[keep]).all()
    words = S.messages_to_words(msgs)
    assert words.shape == (2000, 12)
    # spot-check the documented layout against independent byte arithmetic
    i = int(np.flatnonzero(msgs["type"] == S.MSG_NEW)[0])
    w = [int(x) for x in words[i]]
    assert w[0] & 0xFF == msgs["type"][i] and (w[0] >> 8) & 0xFF == msgs["side"][i] and w[0] >> 16 == 0
    assert w[1] == msgs["code"][i]
    assert w[2] | (w[3] << 32) == int(msgs["account"][i])
    assert w[4] | (w[5] << 32) == int(msgs["order_id"][i])
    assert (w[6] | (w[7] << 32)) == int(msgs["price"][i]) % 2**64
    assert (w[8] | (w[9] << 32)) == int(msgs["qty"][i]) % 2**64
    assert w[10] | (w[11] << 32) == int(msgs["ts_us"][i])
    assert (S.words_to_messages(words) == msgs).all()


def test_bad_rows_are_malformed_and_change_nothing():
    g = RiskGate("cpu").load(INSTRUMENTS, ACCOUNTS, POSITIONS)
    before = g.snapshot()
    df = pd.DataFrame({
        "type":     ["NEW", "NEW", "NEW", "BOGUS", "FILL", "CANCEL", "NEW", None, "NEW"],
        "ts_us":    [1, 2, 3, 4, 5, 6, 7, 8, -1],
        "order_id": [1, 2, 3, 4, np.nan, np.nan, 7, 8, 9],
        "account":  [1, np.nan, 1, 1, 0, 0, 1, 1, 1],
        "code":     [600000, 600000, 600000, 600000, 0, 0, 600000, 600000, 600000],
        "side":     [1, 1, 1, 1, 0, 0, 1, 1, 1],
        "price":    [1000.5, 1000, 1000, 1000, 0, 0, 1000, 1000, 1000],
        "qty":      [100, 100, -100, 100, 100, 0, np.nan, 100, 100],
    })
    d = g.process(df)
    # fractional price, missing account, negative qty, unknown type, FILL/CANCEL without id,
    # NEW without qty, missing type, negative timestamp
    assert list(d["reason"]) == ["MALFORMED"] * 9
    assert not d["accepted"].any()
    after = g.snapshot()
    for t in before:
        assert before[t].equals(after[t])
    # unused fields may be missing: a CANCEL needs only ts_us and order_id
    d = g.process(pd.DataFrame({"type": ["CANCEL", "EOD"], "ts_us": [9, 10], "order_id": [5, np.nan]}))
    assert list(d["reason"]) == ["UNKNOWN_ORDER", "OK"]


def test_single_message_path_equals_batch():
    rng = np.random.default_rng(11)
    ins, acc, pos = random_database(rng)
    msgs = random_stream(rng, 600, ins, acc)
    a = RiskGate("cpu").load(ins, acc, pos)
    b = RiskGate("cpu").load(ins, acc, pos)
    want = a.process_array(msgs)
    names = {1: "NEW", 2: "CANCEL", 3: "FILL", 4: "EOD"}
    got = [b.check(names.get(int(m["type"]), int(m["type"])), order_id=int(m["order_id"]),
                   account=int(m["account"]), code=int(m["code"]), side=int(m["side"]), price=int(m["price"]),
                   qty=int(m["qty"]), ts_us=int(m["ts_us"])) for m in msgs]
    assert [r for _, r in got] == [S.REASON_NAMES[x] for x in want["reason"]]
    assert_same_snapshot(a.snapshot(), b.snapshot())
    assert b.check("NEW", order_id=1, account=2**64, code=1, side=1, price=1, qty=1) == (False, "MALFORMED")


# ---------------------------------------------------------------- state files
@pytest.mark.parametrize("fmt", ["parquet", "duckdb"])
def test_state_from_files_gives_same_decisions(tmp_path, fmt):
    from host.riskgate_load import write_state

    rng = np.random.default_rng(21)
    ins, acc, pos = random_database(rng)
    msgs = random_stream(rng, 1500, ins, acc)
    path = tmp_path / ("state.duckdb" if fmt == "duckdb" else "state")
    write_state({"instruments": ins, "accounts": acc, "positions": pos}, path)
    a = RiskGate("cpu").load(ins, acc, pos)
    b = RiskGate("cpu").load_state(path)
    assert (a.process_array(msgs) == b.process_array(msgs)).all()
    assert_same_snapshot(a.snapshot(), b.snapshot())


def test_open_orders_carried_over_continue_identically():
    # Snapshot mid-stream (after an EOD), load it into a fresh gate with the open orders,
    # and continue: decisions must equal the uninterrupted gate's, except that the
    # restarted gate has forgotten the throttle windows (reset to window 0).
    rng = np.random.default_rng(8)
    ins, acc, pos = random_database(rng)
    acc["max_orders_per_window"] = 1000  # keep throttling out of the comparison
    msgs = random_stream(rng, 3000, ins, acc, p_eod=0.0)
    msgs["type"][1500] = S.MSG_EOD
    whole = RiskGate("cpu").load(ins, acc, pos)
    first = whole.process_array(msgs[:1501])
    snap = whole.snapshot()
    assert len(snap["orders"]) > 10
    resumed = RiskGate("cpu").load(ins, snap["accounts"], snap["positions"], orders=snap["orders"])
    rest_whole = whole.process_array(msgs[1501:])
    rest_resumed = resumed.process_array(msgs[1501:])
    assert (rest_whole["reason"] == rest_resumed["reason"]).all()
    assert first["accepted"].any()
    a, b = whole.snapshot(), resumed.snapshot()
    for t in ("positions", "orders"):
        assert a[t].equals(b[t])


# ---------------------------------------------------------------- CLI
def test_cli_generate_and_replay(tmp_path, capsys):
    from foreland.cli import main

    out = tmp_path / "demo"
    assert main(["riskgate", "generate", str(out), "--messages", "3000", "--accounts", "200",
                 "--instruments", "50", "--days", "2", "--seed", "3"]) == 0
    assert main(["riskgate", "replay", str(out / "messages.parquet"), "--db", str(out / "state"),
                 "--backend", "cpu", "--out", str(tmp_path / "dec.parquet")]) == 0
    text = capsys.readouterr().out
    assert "3,000 messages" in text and "throughput" in text and "OK" in text
    dec = pd.read_parquet(tmp_path / "dec.parquet")
    # the CLI's decisions equal the library's on the same files
    g = RiskGate("cpu").load_state(out / "state")
    lib = g.process(pd.read_parquet(out / "messages.parquet"))
    assert (dec["reason"].astype(str) == lib["reason"].astype(str)).all()
    # the stream is realistic: fills and cancels only of accepted orders -> never UNKNOWN_ORDER
    assert "UNKNOWN_ORDER" not in set(lib["reason"].astype(str))
    assert {"NEW", "CANCEL", "FILL", "EOD"} <= set(pd.read_parquet(out / "messages.parquet")["type"])


def test_cli_errors_are_one_line(tmp_path, capsys):
    from foreland.cli import main

    assert main(["riskgate", "replay", str(tmp_path / "none.parquet"), "--db", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "foreland riskgate: error:" in err
    pd.DataFrame({"type": ["EOD"], "ts_us": [0]}).to_parquet(tmp_path / "m.parquet")
    assert main(["riskgate", "replay", str(tmp_path / "m.parquet"), "--db", str(tmp_path / "nodb")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["riskgate", "generate", str(tmp_path / "x"), "--messages", "0"]) == 2
    assert "--messages" in capsys.readouterr().err


def test_auto_backend_honours_environment(monkeypatch):
    monkeypatch.setenv("FORELAND_BACKEND", "rtl")
    try:
        import host.riskgate_rtl  # noqa: F401
    except ImportError:
        assert resolve_backend("auto") == "cpu"  # requested but unavailable: the CPU fallback
    else:
        assert resolve_backend("auto") == "rtl"
    monkeypatch.setenv("FORELAND_BACKEND", "cpu")
    assert resolve_backend("auto") == "cpu"


def test_process_keeps_the_callers_index():
    g = RiskGate("cpu").load(INSTRUMENTS, ACCOUNTS, POSITIONS)
    df = pd.DataFrame({"type": ["CANCEL", "EOD"], "ts_us": [1, 2], "order_id": [9, 0]}, index=[17, 4])
    d = g.process(df)
    assert list(d.index) == [17, 4] and list(d["reason"]) == ["UNKNOWN_ORDER", "OK"]


def test_packed_account_fields_round_trip_at_their_limits():
    """status and max_orders_per_window share a word in the kernel's account line: the extremes survive."""
    acc = ACCOUNTS.copy()
    n = len(acc)
    acc["status"] = [0, 1, 2][:n] + [2] * max(0, n - 3)
    acc["max_orders_per_window"] = [65535, 0, 1][:n] + [65534] * max(0, n - 3)
    acc["max_order_value"] = 2**62 - 1
    gate = RiskGate("cpu").load(INSTRUMENTS, acc, POSITIONS)
    got = gate.snapshot()["accounts"].set_index("account")
    want = acc.set_index("account").loc[got.index]
    for c in ("status", "max_orders_per_window", "max_order_value", "cash", "window_us"):
        assert (got[c].to_numpy() == want[c].to_numpy()).all(), c
    assert set(got["max_orders_per_window"]) >= {65535, 0} and set(got["status"]) >= {0, 1, 2}


def test_auto_sizing_is_bounded_for_few_ways():
    """Auto-sized tables follow the Poisson overflow target up to 16 slots per row: the 16-way default is exactly
    that target (computed here independently), 1 and 2 ways stop at the cap instead of asking for hundreds of GiB."""
    from scipy.stats import poisson

    from kernels.riskgate_cpu import MAX_SLOTS_PER_ROW, buckets_for, tables_bytes

    def poisson_only(rows, ways, minimum):
        b = 1 << max(0, (minimum - 1).bit_length())
        while b * poisson.sf(ways, rows / b) >= 0.01:
            b *= 2
        return b

    for rows, minimum in ((100_000, 64), (300_000, 256), (1_000_000, 1), (20, 1)):
        assert buckets_for(rows, 16, minimum) == poisson_only(rows, 16, minimum)
    for ways in (1, 2, 4):
        b = buckets_for(100_000, ways)
        assert MAX_SLOTS_PER_ROW * 100_000 <= b * ways < 2 * MAX_SLOTS_PER_ROW * 100_000
    assert buckets_for(10, 1, minimum=4096) == 4096  # the minimum still holds
    assert tables_bytes(buckets_for(100_000, 2), buckets_for(500_000, 2), buckets_for(100_000, 2), 2) < 2 << 30


def test_auto_sizing_over_the_memory_budget_names_ways(monkeypatch):
    """One-way buckets cannot hold 2,000 accounts without collisions until the table is huge: the loader's doubling
    stops at the budget with an error naming ``ways``; sizes given by the caller are taken as they are."""
    import host.riskgate as H

    monkeypatch.setattr(H, "MAX_AUTO_TABLE_BYTES", 64 << 20)
    acc = pd.concat([ACCOUNTS.iloc[:1]] * 2000, ignore_index=True)
    acc["account"] = np.arange(1, 2001) * 7919
    with pytest.raises(ValueError, match=r"^ways: 1 ways need .* GiB .* over the 0.0625 GiB allowed .*account_buckets"):
        RiskGate("cpu", ways=1).load(INSTRUMENTS, acc, POSITIONS.iloc[:0])
    gate = RiskGate("cpu", ways=16).load(INSTRUMENTS, acc, POSITIONS.iloc[:0])  # the default ways: well inside
    assert len(gate.snapshot()["accounts"]) == 2000
