"""Register maps: validation, word splitting/packing, and the CSR decoder's semantics.

The decoder is exercised in Amaranth's own simulator (independent of Verilator
and of the C++ binding) against a plain-Python model of the register file.
"""
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from hdl.common.csr import CSRBus
from hdl.common.csr_decoder import CSRDecoder
from hdl.common.regmap import (MAPHASH, Register, RegisterMap, Table, TableWindow, fourcc, header_registers, join64,
                               join_words, pack_rows, split64, split_words, unpack_rows, wide_registers)
from infra_fixtures import csr_sim

# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("regs, tables, match", [
    ([Register("A", 1), Register("B", 1)], [], r"A and B overlap at address 0x0001"),
    ([Register("A", 1), Register("A", 2)], [], r"duplicate register name 'A'"),
    ([*wide_registers("K", 4, 64), Register("X", 5)], [], r"K_HI and X overlap"),
    ([Register("A", 0x21)], [TableWindow("T", 0x20, (Table("X", 0, 4, 8),))], r"A and T_ADDR overlap at address 0x0021"),
    ([], [TableWindow("T", 0x20, (Table("X", 0, 4, 8),)), TableWindow("U", 0x30, (Table("X", 1, 4, 8),))],
     r"duplicate table names \['X'\]"),
    ([Register("A", 0, "ro", const=MAPHASH), Register("B", 1, "ro", const=MAPHASH)], [], "at most one MAPHASH"),
])
def test_map_rejects_conflicts(regs, tables, match):
    with pytest.raises(ValueError, match=match):
        RegisterMap("m", regs, tables=tables)


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="A", addr=0x10000), r"addr must be an integer word address in 0..0xFFFF"),
    (dict(name="A", addr=-1), r"addr must be"),
    (dict(name="A", addr=0, access="rx"), r"access must be one of rw, ro, wo, w1p"),
    (dict(name="A", addr=0, width=33), r"width must be 1..32"),
    (dict(name="A", addr=0, width=0), r"width must be 1..32"),
    (dict(name="A", addr=0, width=4, reset=16), r"reset must fit in 4 unsigned bits"),
    (dict(name="A", addr=0, access="rw", const=1), r"const is only allowed on 'ro'"),
    (dict(name="A", addr=0, access="ro", width=8, const=256), r"const must fit in 8"),
    (dict(name="1A", addr=0), r"register name '1A' is not allowed"),
    (dict(name="class", addr=0), r"register name 'class' is not allowed"),
])
def test_register_rejects_bad_fields(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Register(**kwargs)


def test_table_and_window_validation():
    with pytest.raises(ValueError, match="table ids must be unique"):
        TableWindow("T", 0, (Table("A", 1, 4, 8), Table("B", 1, 4, 8)))
    with pytest.raises(ValueError, match="depth must be a positive"):
        Table("A", 0, 0, 8)
    with pytest.raises(ValueError, match="id must be 0..255"):
        Table("A", 256, 4, 8)
    with pytest.raises(ValueError, match="at least one Table"):
        TableWindow("T", 0, ())
    assert Table("A", 0, 4, 70).words_per_row == 3 and Table("A", 0, 4, 64).words_per_row == 2


def test_wide_register_naming_and_reset_split():
    lohi = wide_registers("K", 8, 64, "rw", reset=0x1122334455667788)
    assert [(r.name, r.addr, r.width, r.reset) for r in lohi] == [
        ("K_LO", 8, 32, 0x55667788), ("K_HI", 9, 32, 0x11223344)]
    w48 = wide_registers("L", 0, 48, "ro")
    assert [(r.name, r.width) for r in w48] == [("L_LO", 32), ("L_HI", 16)]
    w96 = wide_registers("M", 0, 96)
    assert [r.name for r in w96] == ["M_W0", "M_W1", "M_W2"]
    assert [r.name for r in wide_registers("N", 0, 20)] == ["N"]
    rm = RegisterMap("m", [*lohi, *w96])
    assert [r.name for r in rm.parts("K")] == ["K_LO", "K_HI"] and len(rm.parts("M")) == 3
    with pytest.raises(KeyError, match="no register or wide value 'Z'"):
        rm.parts("Z")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=300).flatmap(lambda w: st.tuples(st.just(w), st.integers(0, (1 << w) - 1))))
def test_split_words_matches_little_endian_bytes(wv):
    width, value = wv
    n = -(-width // 32)
    # Independent route: the integer's little-endian bytes viewed as uint32 words.
    ref = np.frombuffer(value.to_bytes(4 * n, "little"), dtype="<u4").tolist()
    assert split_words(value, width) == ref
    assert join_words(ref) == value


def test_split_rejects_out_of_range():
    with pytest.raises(ValueError, match="at most 64 bits"):
        split_words(1 << 64, 64)
    with pytest.raises(ValueError, match="unsigned"):
        split_words(-1, 64)
    assert split64(0xAABBCCDD00112233) == (0x00112233, 0xAABBCCDD) and join64(1, 2) == (2 << 32) | 1


def test_pack_rows_fast_path_equals_python_path():
    rng = np.random.default_rng(5)
    for width in (7, 32, 48, 64):
        vals = rng.integers(0, 1 << min(width, 63), size=50, dtype=np.uint64)
        fast = pack_rows(vals, width)
        slow = np.array([split_words(int(v), width) for v in vals], dtype=np.uint32)
        assert fast.shape == (50, -(-width // 32)) and (fast == slow).all()
        assert unpack_rows(fast) == [int(v) for v in vals]
    rnd = random.Random(1)
    for width in (70, 96, 384):
        big = [rnd.getrandbits(width) for _ in range(20)]
        packed = pack_rows(big, width)
        assert packed.tolist() == [split_words(v, width) for v in big]
        assert unpack_rows(packed) == big
    with pytest.raises(ValueError, match="fit in 70 bits"):
        pack_rows([1 << 70], 70)
    with pytest.raises(ValueError, match="at most 96 bits"):
        pack_rows([1 << 96], 96)
    with pytest.raises(ValueError, match="at most 96 bits"):
        pack_rows([-1], 96)
    with pytest.raises(ValueError, match="fit in 7 bits"):
        pack_rows(np.array([128], dtype=np.uint64), 7)
    with pytest.raises(ValueError, match="unsigned"):
        pack_rows(np.array([-1]), 8)


def test_markdown_hash_and_lookup():
    rm = RegisterMap("m", [*header_registers("ABCD"), Register("CTRL", 2, "w1p", 1, "go")],
                     tables=[TableWindow("T", 0x10, (Table("X", 0, 4, 40, "doc x"),))])
    md = rm.markdown()
    for r in rm:
        assert f"| 0x{r.addr:04X} | {r.name} | {r.access} |" in md
    assert "| T | X | 0 | 4 | 40 | 2 |" in md
    assert rm.const_value(rm["ID"]) == fourcc("ABCD") == int.from_bytes(b"ABCD", "little")
    assert rm.const_value(rm["MAPHASH"]) == rm.hash
    moved = RegisterMap("m", [*header_registers("ABCD"), Register("CTRL", 3, "w1p", 1, "go")],
                        tables=[TableWindow("T", 0x10, (Table("X", 0, 4, 40, "doc x"),))])
    assert moved.hash != rm.hash
    assert rm.at(2).name == "CTRL" and rm.at(5) is None and "CTRL" in rm
    with pytest.raises(KeyError, match="has no register 'NOPE'"):
        rm["NOPE"]
    with pytest.raises(KeyError, match="has no table 'Y'"):
        rm.table("Y")


# ------------------------------------------------------- decoder in simulation

TMAP = RegisterMap("t", [
    *header_registers("TEST"),
    Register("A", 2, "rw", 32),
    Register("B", 3, "rw", 12, reset=0x5A5),
    Register("W", 4, "wo", 16),
    Register("P", 5, "w1p", 8),
    Register("S", 6, "ro", 16, "mirror of W"),
    *wide_registers("V", 8, 64, "rw"),
    *wide_registers("C", 0xA, 64, "ro", "Cat(cnt, cnt)"),
    Register("PSUM", 0xC, "ro", 32, "sum of P pulses"),
    Register("WCOUNT", 0xD, "ro", 16, "writes to W"),
    Register("RB_IDX", 0xE, "rw", 3),
    *wide_registers("RB", 0x40, 70, "ro", "WIDE[RB_IDX]"),
    Register("RB_N", 0x43, "ro", 32, "NARROW[RB_IDX % 4]"),
], tables=[TableWindow("T", 0x20, (Table("WIDE", 1, 8, 70), Table("NARROW", 2, 4, 32)))])


class DecoderDut(wiring.Component):
    csr: In(CSRBus)

    def elaborate(self, platform):
        m = Module()
        m.submodules.regs = regs = CSRDecoder(TMAP)
        wiring.connect(m, wiring.flipped(self.csr), regs.bus)
        cnt, psum, wcount = Signal(32), Signal(32), Signal(16)
        m.d.sync += [cnt.eq(cnt + 1), psum.eq(psum + regs["P"])]
        with m.If(regs.wstrobe["W"]):
            m.d.sync += wcount.eq(wcount + 1)
        m.d.comb += [regs["S"].eq(regs["W"]), regs.value("C").eq(Cat(cnt, cnt)), regs["PSUM"].eq(psum),
                     regs["WCOUNT"].eq(wcount)]
        m.submodules.wide = wide = Memory(shape=70, depth=8, init=[])
        m.submodules.narrow = narrow = Memory(shape=32, depth=4, init=[])
        for mem, name in ((wide, "WIDE"), (narrow, "NARROW")):
            port, wp = regs.table_port(name), mem.write_port()
            m.d.comb += [wp.en.eq(port.en), wp.addr.eq(port.row), wp.data.eq(port.data)]
        rw, rn = wide.read_port(domain="comb"), narrow.read_port(domain="comb")
        m.d.comb += [rw.addr.eq(regs["RB_IDX"]), rn.addr.eq(regs["RB_IDX"][:2]),
                     regs.value("RB").eq(rw.data), regs["RB_N"].eq(rn.data)]
        return m


def test_decoder_matches_python_model_of_register_file():
    rng = random.Random(11)
    A = TMAP.addr

    async def program(ops, out):
        # Reference model: what each readable address must return.
        model = {A("ID"): fourcc("TEST"), A("MAPHASH"): TMAP.hash, A("A"): 0, A("B"): 0x5A5,
                 A("V_LO"): 0, A("V_HI"): 0}
        w_val, psum, wcount = 0, 0, 0
        for _ in range(300):
            kind = rng.choice(["wA", "wB", "wV", "wW", "wP", "r", "r", "rU"])
            if kind == "wA":
                v = rng.getrandbits(32); await ops.write(A("A"), v); model[A("A")] = v
            elif kind == "wB":
                v = rng.getrandbits(32); await ops.write(A("B"), v); model[A("B")] = v & 0xFFF
            elif kind == "wV":
                reg = rng.choice(["V_LO", "V_HI"]); v = rng.getrandbits(32)
                await ops.write(A(reg), v); model[A(reg)] = v
            elif kind == "wW":
                v = rng.getrandbits(32); await ops.write(A("W"), v); w_val = v & 0xFFFF; wcount += 1
            elif kind == "wP":
                v = rng.getrandbits(32); await ops.write(A("P"), v); psum = (psum + (v & 0xFF)) & 0xFFFFFFFF
            elif kind == "rU":  # unmapped, wo and w1p addresses read as 0
                addr = rng.choice([0x7, 0x1F, 0x100, A("W"), A("P"), A("T_DATA")])
                assert await ops.read(addr) == 0, hex(addr)
            else:
                addr = rng.choice(sorted(model))
                assert await ops.read(addr) == model[addr], hex(addr)
            # Design-driven registers reflect every write issued before this read.
            if rng.random() < 0.2:
                assert await ops.read(A("S")) == w_val
                assert await ops.read(A("WCOUNT")) == wcount
                assert await ops.read(A("PSUM")) == psum
        # Wide ro snapshot: HI read a cycle after LO still belongs to the same value (cnt == cnt).
        for _ in range(5):
            lo = await ops.read(A("C_LO"))
            await ops.tick(rng.randrange(3))
            hi = await ops.read(A("C_HI"))
            assert lo == hi
        out["done"] = True

    assert csr_sim(DecoderDut(), program)["done"]


def test_table_window_rows_and_restart():
    rng = random.Random(3)
    A = TMAP.addr
    wide_rows = [rng.getrandbits(70) for _ in range(8)]
    narrow_rows = [rng.getrandbits(32) for _ in range(4)]

    async def program(ops, out):
        await ops.write(A("T_SEL"), 1)
        await ops.write(A("T_ADDR"), 0)
        for w in pack_rows(wide_rows, 70).ravel():
            await ops.write(A("T_DATA"), int(w))
        out["addr_after"] = await ops.read(A("T_ADDR"))
        # A partial row is abandoned by re-writing ADDR: only complete rows are written.
        await ops.write(A("T_ADDR"), 2)
        await ops.write(A("T_DATA"), 0xFFFFFFFF)
        await ops.write(A("T_DATA"), 0xFFFFFFFF)
        await ops.write(A("T_ADDR"), 5)
        replacement = rng.getrandbits(70)
        for w in pack_rows([replacement], 70).ravel():
            await ops.write(A("T_DATA"), int(w))
        wide_rows[5] = replacement
        await ops.write(A("T_SEL"), 2)
        await ops.write(A("T_ADDR"), 0)
        for w in narrow_rows:
            await ops.write(A("T_DATA"), w)
        out["wide"], out["narrow"] = [], []
        for i in range(8):
            await ops.write(A("RB_IDX"), i)
            words = [await ops.read(A(n)) for n in ("RB_W0", "RB_W1", "RB_W2")]
            out["wide"].append(join_words(words))
            if i < 4:
                out["narrow"].append(await ops.read(A("RB_N")))

    out = csr_sim(DecoderDut(), program)
    assert out["addr_after"] == 8
    assert out["wide"] == wide_rows
    assert out["narrow"] == narrow_rows


def test_decoder_rejects_non_map():
    with pytest.raises(ValueError, match="regmap must be a RegisterMap"):
        CSRDecoder({"A": 1})


def test_register_file_device_model():
    from host.device import RegisterFileDevice

    dev = RegisterFileDevice(TMAP)
    A = TMAP.addr
    assert dev.read(A("B")) == 0x5A5 and dev.read(A("ID")) == fourcc("TEST")
    dev.write(A("P"), 0x1FF)
    dev.write(A("S"), 7)  # ro: ignored
    assert dev.pulses == [("P", 0xFF)] and dev.read(A("S")) == 0 and dev.read(A("P")) == 0
    dev.set_ro("S", 0x12345)
    assert dev.read(A("S")) == 0x2345
    with pytest.raises(ValueError, match="register A is rw, not ro"):
        dev.set_ro("A", 1)
    TMAP.load_table(dev, "WIDE", pack_rows([5, 6], 70), start_row=6)
    dev.write_block(A("T_DATA"), np.arange(3, dtype=np.uint32))  # row 8 is past the end: dropped
    assert dev.tables["WIDE"] == {6: 5, 7: 6} and dev.read(A("T_ADDR")) == 9
    assert dev.run_until(A("B"), 0xFFF, 0x5A5, 3) == 1
    with pytest.raises(TimeoutError):
        dev.run_until(A("B"), 0xFFF, 0, 3)
    with pytest.raises(ValueError, match="regmap must be a RegisterMap"):
        RegisterFileDevice({})
