"""Realistic synthetic order flow and start-of-day state for the risk gate (demos and benchmarks).

The stream looks like a broker's A-share flow: Zipf-hot accounts and
instruments, buys and sells around the reference price (a few outside the
price cage or the daily limits), cancels and partial fills, day boundaries,
and a trickle of bad rows. Fills and cancels only reference orders the gate
accepted and that are still open, as the exchange would: the stream is
generated in rounds, each round decided by the CPU gate before the next
round picks orders to fill or cancel. At the close the exchange expires most
open day orders (CANCEL) before the EOD message.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kernels import riskgate_spec as S

DAY_US = 86_400_000_000
OPEN_US = 9 * 3_600_000_000 + 30 * 60_000_000  # 09:30
SESSION_US = 4 * 3_600_000_000  # four trading hours


def _zipf_weights(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s
    return w / w.sum()


def generate_state(n_accounts: int = 100_000, n_instruments: int = 4_000, seed: int = 0,
                   positions_per_account: float = 2.0, hot: float = 1.1) -> dict[str, pd.DataFrame]:
    """Start-of-day instruments, accounts and positions (no open orders)."""
    if n_accounts < 1:
        raise ValueError(f"accounts: must be >= 1, got {n_accounts}")
    if not 1 <= n_instruments <= 9_000:
        raise ValueError(f"instruments: must be in 1..9000, got {n_instruments}")
    if positions_per_account < 0:
        raise ValueError(f"positions_per_account: must be >= 0, got {positions_per_account}")
    rng = np.random.default_rng(seed)
    # Board mix: SH main 600000.., STAR 688000.., SZ main 000001.., ChiNext 300001..
    boards = [(600000, 6000, 0.40, 1000), (688000, 1000, 0.12, 2000), (1, 3999, 0.35, 1000), (300001, 1999, 0.13, 2000)]
    codes, limit_bp = [], []
    for i, (start, span, share, lim) in enumerate(boards):
        k = int(round(n_instruments * share)) if i < 3 else n_instruments - sum(len(c) for c in codes)
        k = max(0, min(k, span))
        codes.append(start + rng.choice(span, k, replace=False))
        limit_bp.append(np.full(k, lim))
    code = np.concatenate(codes)[:n_instruments]
    lim = np.concatenate(limit_bp)[:n_instruments]
    n_i = len(code)
    ref = np.clip(np.round(np.exp(rng.normal(np.log(1500), 0.8, n_i))), 100, 200_000).astype(np.int64)
    instruments = pd.DataFrame({
        "code": code.astype(np.int64),
        "status": (rng.random(n_i) < 0.005).astype(np.int64),
        "ref_price": ref,
        "limit_up": ref + ref * lim // 10_000,
        "limit_down": ref - ref * lim // 10_000,
        "lot": np.where((code >= 688000) & (code < 689000), 200, 100).astype(np.int64),
        "cage_bps": np.full(n_i, 200, dtype=np.int64),
        "fee_q16": np.full(n_i, 17, dtype=np.int64),  # about 2.6 bp commission
    })
    # Account i is the i-th hottest (the stream draws accounts with Zipf weights by index);
    # hot accounts are institutions: more cash, more and larger holdings.
    w_acc = _zipf_weights(n_accounts, hot)
    acc_ids = (3_000_000_000 + np.arange(n_accounts, dtype=np.uint64) * np.uint64(7919)).astype(np.uint64)
    u = rng.random(n_accounts)
    u[: max(1, n_accounts // 1000)] = 1.0  # the very hottest accounts are active
    cash = np.exp(rng.normal(np.log(2e7), 1.2, n_accounts)) + w_acc * 2e12
    accounts = pd.DataFrame({
        "account": acc_ids,
        "status": np.where(u < 0.005, 1, np.where(u < 0.01, 2, 0)).astype(np.int64),
        "cash": np.clip(cash, 0, 1e15).astype(np.int64),
        "cash_frozen": np.zeros(n_accounts, dtype=np.int64),
        "max_order_qty": np.full(n_accounts, 1_000_000, dtype=np.int64),
        "max_order_value": np.full(n_accounts, 1_000_000_000, dtype=np.int64),  # 10M CNY
        "max_orders_per_window": np.full(n_accounts, 300, dtype=np.int64),  # 300 per second
        "window_us": np.full(n_accounts, 1_000_000, dtype=np.int64),
    })
    n_p = int(n_accounts * positions_per_account)
    p_acc = rng.choice(n_accounts, n_p, p=0.5 * w_acc + 0.5 / n_accounts)
    p_ins = rng.choice(n_i, n_p, p=_zipf_weights(n_i, hot * 0.8))
    lots = instruments["lot"].to_numpy()[p_ins]
    scale = np.minimum(1 + w_acc[p_acc] * n_accounts * 0.05, 10_000).astype(np.int64)
    avail = lots * rng.integers(1, 60, n_p) * scale
    avail = np.where(rng.random(n_p) < 0.02, avail + rng.integers(1, 100, n_p), avail)  # odd lots
    positions = pd.DataFrame({"account": acc_ids[p_acc], "code": code[p_ins].astype(np.int64),
                              "available": avail.astype(np.int64)})
    positions = positions.drop_duplicates(["account", "code"]).reset_index(drop=True)
    positions["frozen"] = 0
    positions["pending"] = 0
    return {"instruments": instruments, "accounts": accounts, "positions": positions}


def generate_stream(state: dict[str, pd.DataFrame], n_messages: int = 1_000_000, days: int = 5, seed: int = 0,
                    hot: float = 1.1, round_size: int = 4096, progress=None) -> np.ndarray:
    """A MESSAGE_DTYPE stream of ``n_messages`` over ``days`` trading days (EOD after each day)."""
    from host.riskgate import RiskGate

    if n_messages < 1:
        raise ValueError(f"messages: must be >= 1, got {n_messages}")
    if days < 1:
        raise ValueError(f"days: must be >= 1, got {days}")
    if round_size < 16:
        raise ValueError(f"round_size: must be >= 16, got {round_size}")
    rng = np.random.default_rng(seed + 1)
    ins, acc, pos = state["instruments"], state["accounts"], state["positions"]
    per_day = max(1, n_messages // days)
    gate = RiskGate("cpu", order_rows=per_day).load(ins, acc, pos)

    acc_ids = acc["account"].to_numpy(np.uint64)
    n_a = len(acc_ids)
    acc_p = _zipf_weights(n_a, hot)
    perm = np.arange(n_a)  # account i is the i-th hottest (see generate_state)
    codes = ins["code"].to_numpy(np.int64)
    ins_p = _zipf_weights(len(codes), hot)
    iperm = np.arange(len(codes))  # instrument order = board order; hotness by index
    ref, lot = ins["ref_price"].to_numpy(), ins["lot"].to_numpy()
    up, down = ins["limit_up"].to_numpy(), ins["limit_down"].to_numpy()
    code_row = pd.Series(np.arange(len(codes)), index=codes)
    # sells come from held positions, weighted by the holder's hotness
    acc_rank = np.empty(n_a, dtype=np.int64)
    acc_rank[perm] = np.arange(n_a)
    acc_row = pd.Series(np.arange(n_a), index=acc_ids)
    p_acc = acc_row.reindex(pos["account"].to_numpy(np.uint64)).to_numpy()
    p_code = pos["code"].to_numpy(np.int64)
    pw = acc_p[acc_rank[p_acc]] if len(pos) else np.zeros(0)
    pw = pw / pw.sum() if len(pos) else pw

    out = S.empty_messages(n_messages)
    # open orders the generator knows of: id, code row, remaining qty
    o_id = np.zeros(0, dtype=np.uint64)
    o_row = np.zeros(0, dtype=np.int64)
    o_qty = np.zeros(0, dtype=np.int64)
    next_id = np.uint64(10_000_000 + 1000 * seed)
    k = 0
    for day in range(days):
        day_n = per_day if day < days - 1 else n_messages - k
        day_end = k + day_n
        t0 = day * DAY_US + OPEN_US
        start = k
        while k < day_end:
            # reserve room at the close for expiries and the EOD message
            closing = int(round(len(o_id) * 0.9)) + 1
            r = min(round_size, day_end - k - closing)
            if r <= 0:
                break
            msgs = S.empty_messages(r)
            n_ref = min(len(o_id), int(r * 0.35))
            n_fill = int(n_ref * 0.6)
            pick = rng.choice(len(o_id), n_ref, replace=False) if n_ref else np.zeros(0, dtype=np.int64)
            fpick, cpick = pick[:n_fill], pick[n_fill:]
            n_new = r - n_ref
            # NEWs
            side = np.where(rng.random(n_new) < 0.55, S.SIDE_BUY, S.SIDE_SELL)
            a_idx = perm[rng.choice(n_a, n_new, p=acc_p)]
            i_idx = iperm[rng.choice(len(codes), n_new, p=ins_p)]
            sells = np.flatnonzero(side == S.SIDE_SELL)
            if len(pos) and len(sells):
                pr = rng.choice(len(pos), len(sells), p=pw)
                a_idx[sells] = p_acc[pr]
                i_idx[sells] = code_row.reindex(p_code[pr]).to_numpy()
            px = np.round(ref[i_idx] * (1 + 0.004 * rng.standard_normal(n_new))).astype(np.int64)
            px = np.clip(px, np.maximum(down[i_idx], 1), up[i_idx])
            wild = rng.random(n_new) < 0.01  # fat fingers: outside the cage or the limits
            px = np.where(wild, np.round(ref[i_idx] * rng.choice([0.85, 0.95, 1.05, 1.15], n_new)).astype(np.int64), px)
            q = lot[i_idx] * np.minimum(rng.geometric(0.25, n_new), 50)
            ids = next_id + np.arange(n_new, dtype=np.uint64)
            next_id += np.uint64(n_new)
            dup = rng.random(n_new) < 0.001
            ids[1:] = np.where(dup[1:], ids[:-1], ids[1:])
            bad = rng.random(n_new)
            q = np.where(bad < 0.001, -q, q)
            side = np.where((bad >= 0.001) & (bad < 0.002), 0, side)
            accounts_new = acc_ids[a_idx]
            accounts_new = np.where((bad >= 0.002) & (bad < 0.003), np.uint64(1), accounts_new)  # unknown account
            # fills: partial, at most what is open; cancels: the rest of the picks
            fq = np.minimum(o_qty[fpick], lot[o_row[fpick]] * rng.integers(1, 6, len(fpick)))
            fq = np.where(rng.random(len(fpick)) < 0.3, o_qty[fpick], fq)
            kinds = np.r_[np.full(n_new, S.MSG_NEW), np.full(len(fpick), S.MSG_FILL), np.full(len(cpick), S.MSG_CANCEL)]
            order = rng.permutation(r)
            msgs["type"][order] = kinds
            sl = order[:n_new]
            msgs["side"][sl] = side
            msgs["code"][sl] = codes[i_idx]
            msgs["account"][sl] = accounts_new
            msgs["order_id"][sl] = ids
            msgs["price"][sl] = px
            msgs["qty"][sl] = q
            fl = order[n_new:n_new + len(fpick)]
            msgs["order_id"][fl] = o_id[fpick]
            msgs["qty"][fl] = fq
            cl = order[n_new + len(fpick):]
            msgs["order_id"][cl] = o_id[cpick]
            pos_in_day = (k - start) + np.arange(r)
            msgs["ts_us"] = (t0 + pos_in_day * SESSION_US // max(day_n, 1)).astype(np.uint64)
            dec = gate.process_array(msgs)
            # bookkeeping: fills reduce, closing fills and cancels remove, accepted NEWs open
            o_qty[fpick] -= fq
            keep = np.ones(len(o_id), dtype=bool)
            keep[cpick] = False
            keep &= o_qty > 0
            acc_new = dec["accepted"][sl].astype(bool)
            o_id = np.r_[o_id[keep], ids[acc_new]]
            o_row = np.r_[o_row[keep], i_idx[acc_new]]
            o_qty = np.r_[o_qty[keep], q[acc_new]]
            out[k:k + r] = msgs
            k += r
            if progress is not None:
                progress(r)
        # close: the exchange expires about 90% of open day orders (what room is left), then one EOD
        n_exp = day_end - k - 1
        exp = rng.choice(len(o_id), n_exp, replace=False)
        tail = S.empty_messages(day_end - k)
        tail["type"][:n_exp] = S.MSG_CANCEL
        tail["order_id"][:n_exp] = o_id[exp]
        tail["type"][n_exp] = S.MSG_EOD
        tail["ts_us"] = np.uint64(t0 + SESSION_US)
        gate.process_array(tail)
        keep = np.ones(len(o_id), dtype=bool)
        keep[exp] = False
        o_id, o_row, o_qty = o_id[keep], o_row[keep], o_qty[keep]
        out[k:day_end] = tail
        if progress is not None:
            progress(day_end - k)
        k = day_end
    return out
