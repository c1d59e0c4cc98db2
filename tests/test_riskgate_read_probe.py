"""The read-path timing probe (hdl/riskdb/read_probe.py) answers what a Python model of the lookup answers, with
a latency of exactly ``stages`` cycles, one lookup per clock."""
from __future__ import annotations

import numpy as np
import pytest

from hdl.riskdb.read_probe import KEY_BITS, STATE_BITS, ReadProbe, way_bits
from kernels.riskgate_tables import DAY_BITS, ORDER_OPEN, ORDER_USED


def _row(ways: list[tuple[int, int, int]], payload_bits: int = 0) -> int:
    """A bucket row from (id, state, day) per way, way 0 in the lowest bits; each way's payload is its id's low
    ``payload_bits`` bits reversed (distinct per way and not a copy of a lookup field)."""
    out = 0
    for i, (key, state, day) in enumerate(ways):
        rec = (key | state << KEY_BITS | day << (KEY_BITS + STATE_BITS)
               | _payload(key, payload_bits) << (KEY_BITS + STATE_BITS + DAY_BITS))
        out |= rec << (i * way_bits(payload_bits))
    return out


def _payload(key: int, bits: int) -> int:
    return int(format(key % (1 << bits), f"0{bits}b")[::-1], 2) if bits else 0


def _model(table: list[list[tuple[int, int, int]]], bucket: int, key: int, today: int) -> tuple[int, int, int, int]:
    """(hit, way, state, day) of the lowest live way holding ``key`` (live: OPEN, or USED today)."""
    for i, (k, state, day) in enumerate(table[bucket]):
        if k == key and (state == ORDER_OPEN or (state == ORDER_USED and day == today)):
            return 1, i, state, day
    return 0, -1, -1, -1


@pytest.mark.parametrize("outreg,split,payload_bits", [(False, False, 0), (False, True, 0), (True, False, 0),
                                                       (True, True, 0), (True, True, 40)])
def test_read_probe_equals_model(outreg, split, payload_bits):
    from amaranth.sim import Simulator

    stages = 3 + outreg + split
    rng = np.random.default_rng(2 * outreg + split)
    buckets, ways, today = 16, 4, 7
    # Full-width ids (Python ints: numpy's choice over a list of them would round them through float64).
    pool = [int(x) for x in rng.integers(0, 2**64, 24, dtype=np.uint64)] + [2**64 - 1]
    pick = lambda xs: xs[int(rng.integers(0, len(xs)))]  # noqa: E731
    states = [ORDER_OPEN, ORDER_OPEN, ORDER_USED, ORDER_USED, 0, 3]  # every 2-bit value, mostly live ones
    table = [[(pick(pool), pick(states), pick([today, today - 1, 0])) for _ in range(ways)]
             for _ in range(buckets)]
    # Hot keys and misses, one lookup per clock: every bucket, every stored id and some unknown ones.
    lookups = [(int(rng.integers(0, buckets)), pick(pool + [12345, 0])) for _ in range(300)]
    lookups += [(b, k) for b in range(buckets) for k, _, _ in table[b]]
    dut = ReadProbe(buckets=buckets, ways=ways, outreg=outreg, split=split, payload_bits=payload_bits)
    assert dut.stages == stages
    got: dict[int, tuple[int, int, int, int]] = {}

    async def bench(ctx):
        for b in range(buckets):
            ctx.set(dut.w_en, 1)
            ctx.set(dut.w_bucket, b)
            ctx.set(dut.w_row, _row(table[b], payload_bits))
            await ctx.tick()
        ctx.set(dut.w_en, 0)
        ctx.set(dut.today, today)
        for cycle in range(len(lookups) + stages + 2):
            if cycle < len(lookups):
                ctx.set(dut.valid, 1)
                ctx.set(dut.bucket, lookups[cycle][0])
                ctx.set(dut.key, lookups[cycle][1])
            else:
                ctx.set(dut.valid, 0)
            await ctx.tick()
            if ctx.get(dut.out_valid):
                hit = ctx.get(dut.hit)
                if hit:
                    key = table[lookups[cycle - stages + 1][0]][ctx.get(dut.way)][0]
                    assert not payload_bits or ctx.get(dut.payload) == _payload(key, payload_bits)
                got[cycle] = (hit, ctx.get(dut.way), ctx.get(dut.state), ctx.get(dut.day)) if hit else (0, -1, -1, -1)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    # The lookup presented before tick c comes out after tick c + stages - 1.
    assert sorted(got) == list(range(stages - 1, stages - 1 + len(lookups)))
    want = [_model(table, b, k, today) for b, k in lookups]
    assert [got[c + stages - 1] for c in range(len(lookups))] == want
    assert sum(w[0] for w in want) > 25 and sum(1 - w[0] for w in want) > 25  # both outcomes exercised


def test_read_probe_rejects_bad_geometry():
    with pytest.raises(ValueError, match="buckets: must be a power of two"):
        ReadProbe(buckets=100)
    with pytest.raises(ValueError, match="ways: must be >= 1"):
        ReadProbe(ways=0)
    assert DAY_BITS == 32 and way_bits() == KEY_BITS + STATE_BITS + DAY_BITS
