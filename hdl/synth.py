"""Open synthesis flow for kernels: Amaranth -> Verilog -> Yosys synth_ecp5 -> nextpnr-ecp5 (LFE5U-85F).

A kernel's own ports (CSR bus, wide stream payloads) far exceed the package's
pins, so the kernel is synthesised inside a *shell* with six pins (clk, rst,
sin, shift, capture, sout): every kernel input is driven by a flip-flop of a
serial-in shift chain and every kernel output is captured into a flip-flop of
a parallel-load shift chain.  This is the usual way to get a kernel-only
resource and Fmax number: all kernel paths become register-to-register, and
the shell's cost is known exactly (one FF per kernel input bit, one FF plus at
most one LUT per output bit), reported as ``shell_ffs``/``shell_luts_max``.
See docs/synthesis.md.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SynthResult", "SynthShell", "synthesize", "DEVICE", "PACKAGE", "DEVICE_CAPACITY"]

DEVICE = "85k"  # LFE5U-85F
PACKAGE = "CABGA381"
# Capacity of the LFE5U-85F (Lattice DS1044): used when nextpnr's report lacks a figure.
DEVICE_CAPACITY = {"luts": 83640, "ffs": 83640, "dsps": 156, "brams": 208}


@dataclass
class SynthResult:
    """Resources and timing of one synthesis run (totals include the I/O shell)."""

    design: str
    luts: int  # LUT4s after packing (logic + carry-chain LUTs)
    ffs: int  # TRELLIS_FF
    dsps: int  # MULT18X18D
    brams: int  # DP16KD
    utilisation: dict[str, float]  # percent of the LFE5U-85F, per resource
    fmax_mhz: float | None  # achieved Fmax of the kernel clock
    target_mhz: float
    shell_ffs: int  # flip-flops added by the I/O shell (exact)
    shell_luts_max: int  # upper bound of LUTs added by the shell
    kernel_in_bits: int
    kernel_out_bits: int
    yosys_cells: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    workdir: str | None = None

    @property
    def timing_met(self) -> bool:
        """True when the achieved Fmax reaches the target."""
        return self.fmax_mhz is not None and self.fmax_mhz >= self.target_mhz

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for --json output)."""
        d = asdict(self)
        d["timing_met"] = self.timing_met
        return d

    def summary(self) -> str:
        """Human-readable multi-line summary."""
        u = self.utilisation
        fmax = f"{self.fmax_mhz:.1f} MHz" if self.fmax_mhz is not None else "n/a"
        return "\n".join([
            f"design {self.design} on LFE5U-85F {PACKAGE} (ECP5), target {self.target_mhz:g} MHz",
            f"  LUT4   {self.luts:7d}  ({u.get('luts', 0):.2f} %)",
            f"  FF     {self.ffs:7d}  ({u.get('ffs', 0):.2f} %)",
            f"  DSP    {self.dsps:7d}  ({u.get('dsps', 0):.2f} %)  MULT18X18D",
            f"  BRAM   {self.brams:7d}  ({u.get('brams', 0):.2f} %)  DP16KD",
            f"  Fmax   {fmax} ({'met' if self.timing_met else 'NOT met'})",
            f"  shell  {self.shell_ffs} FF, <= {self.shell_luts_max} LUT included above "
            f"({self.kernel_in_bits} input / {self.kernel_out_bits} output bits serialised)",
        ])


from amaranth.hdl import Elaboratable  # noqa: E402  (base class of the shell)


class SynthShell(Elaboratable):
    """Elaboratable that serialises a kernel's ports through shift chains (see module doc)."""

    def __init__(self, kernel) -> None:
        from amaranth.hdl import Signal
        from amaranth.lib import wiring

        if not isinstance(kernel, wiring.Component):
            self._MustUse__silence = True  # a rejected shell is not an unused one
            raise ValueError(f"kernel must be an amaranth.lib.wiring.Component, got {type(kernel).__name__}")
        self.kernel = kernel
        self.inputs, self.outputs = [], []
        for _path, member, value in kernel.signature.flatten(kernel):
            (self.inputs if member.flow == wiring.In else self.outputs).append(value)
        self.in_bits = sum(len(v) for v in self.inputs)
        self.out_bits = sum(len(v) for v in self.outputs)
        self.sin, self.shift, self.capture, self.sout = Signal(), Signal(), Signal(), Signal()

    def elaborate(self, platform):
        """Shift chains around the kernel."""
        from amaranth.hdl import Cat, Module, Signal

        m = Module()
        m.submodules.kernel = self.kernel
        if self.in_bits:
            chain = Signal(self.in_bits)
            with m.If(self.shift):
                m.d.sync += chain.eq(Cat(chain[1:], self.sin))
            m.d.comb += Cat(*self.inputs).eq(chain)
        if self.out_bits:
            cap = Signal(self.out_bits)
            with m.If(self.capture):
                m.d.sync += cap.eq(Cat(*self.outputs))
            with m.Elif(self.shift):
                m.d.sync += cap.eq(cap[1:])
            m.d.comb += self.sout.eq(cap[0])
        return m

    def verilog(self) -> str:
        """Verilog of the shell (module `shell`) with the kernel inside."""
        from amaranth.back import verilog

        return verilog.convert(self, name="shell", ports=[self.sin, self.shift, self.capture, self.sout], emit_src=False)


def _yosys_cells(stat_text: str) -> dict[str, int]:
    """Cell counts from the last `stat` block of a Yosys log."""
    cells: dict[str, int] = {}
    block = stat_text.rsplit("Number of cells", 1)[-1]
    for line in block.splitlines():
        # Yosys prints "  <count> <cell>" (newer) or "  <cell>  <count>" (older).
        mm = re.match(r"^\s+(\d+)\s+(\$?[A-Za-z_][\w$]*)\s*$", line)
        if mm:
            cells[mm.group(2)] = int(mm.group(1))
            continue
        mm = re.match(r"^\s+(\$?[A-Za-z_][\w$]*)\s+(\d+)\s*$", line)
        if mm:
            cells[mm.group(1)] = int(mm.group(2))
    # Keep primitive cells only (Yosys also prints totals such as "2284 wires").
    return {k: v for k, v in cells.items() if k[0].isupper() or k.startswith("$") and k != "$scopeinfo"}


def _run_tool(cmd: list[str], cwd: Path, timeout_s: float, what: str) -> str:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{what} did not finish within {timeout_s:g} s (raise --timeout for large designs)") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout + proc.stderr


def synthesize(kernel, design: str = "design", target_mhz: float = 100.0, seed: int = 1,
               timeout_s: float = 900.0, keep: str | Path | None = None, place: bool = True) -> SynthResult:
    """Synthesise, place and route `kernel` (an Amaranth Component) for the LFE5U-85F; return resources and Fmax.

    ``place=False`` stops after Yosys: resources are then estimated from the mapped cells
    (see :func:`yosys_estimate`) and there is no Fmax.
    """
    from sim.toolchain import require_synth_tools

    if not isinstance(target_mhz, (int, float)) or not 1 <= target_mhz <= 1000:
        raise ValueError(f"target_mhz must be between 1 and 1000, got {target_mhz!r}")
    if not isinstance(timeout_s, (int, float)) or timeout_s <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout_s!r}")
    tools = require_synth_tools()
    t0 = time.monotonic()
    shell = SynthShell(kernel)
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="foreland-synth-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        (work / "shell.v").write_text(shell.verilog())
        script = "read_verilog shell.v; synth_ecp5 -top shell -json shell.json; tee -o stat.txt stat"
        _run_tool([*tools["yosys"], "-q", "-p", script], work, timeout_s, "yosys synth_ecp5")
        cells = _yosys_cells((work / "stat.txt").read_text())
        if not place:
            result = yosys_estimate(cells, shell, design, float(target_mhz))
            result.seconds = round(time.monotonic() - t0, 1)
            result.workdir = str(work) if keep else None
            return result
        left = max(10.0, timeout_s - (time.monotonic() - t0))
        log = _run_tool([*tools["nextpnr-ecp5"], f"--{DEVICE}", "--package", PACKAGE, "--json", "shell.json",
                         "--lpf-allow-unconstrained", "--freq", f"{target_mhz:g}", "--timing-allow-fail",
                         "--seed", str(seed), "--report", "report.json"], work, left, "nextpnr-ecp5")
        report = json.loads((work / "report.json").read_text())
        result = _result_from(report, log, cells, shell, design, float(target_mhz))
        result.seconds = round(time.monotonic() - t0, 1)
        result.workdir = str(work) if keep else None
        return result
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def yosys_estimate(cells: dict[str, int], shell: "SynthShell", design: str, target: float) -> SynthResult:
    """Resources from Yosys' mapped cells, before packing: LUT4 + 2 per CCU2C (a carry cell holds two
    LUT4s) + 2 per TRELLIS_DPR16X4 (a 16x4 LUT RAM takes the LUTs of one slice). nextpnr's packed count
    was 5 % higher on the snowball lane (route-through and constant LUTs); Fmax needs place and route."""
    luts = cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0) + 2 * cells.get("TRELLIS_DPR16X4", 0)
    ffs, dsps, brams = cells.get("TRELLIS_FF", 0), cells.get("MULT18X18D", 0), cells.get("DP16KD", 0)
    cap = DEVICE_CAPACITY
    util = {"luts": 100.0 * luts / cap["luts"], "ffs": 100.0 * ffs / cap["ffs"], "dsps": 100.0 * dsps / cap["dsps"],
            "brams": 100.0 * brams / cap["brams"]}
    return SynthResult(design + " (yosys estimate, not placed)", luts, ffs, dsps, brams,
                       {k: round(v, 3) for k, v in util.items()}, None, target, shell.in_bits + shell.out_bits,
                       shell.out_bits, shell.in_bits, shell.out_bits, cells)


def _util(report: dict, *names: str) -> tuple[int, int | None]:
    util = report.get("utilization", {})
    for n in names:
        if n in util:
            return int(util[n].get("used", 0)), int(util[n].get("available", 0)) or None
    return 0, None


def _result_from(report: dict, log: str, cells: dict[str, int], shell: SynthShell, design: str,
                 target: float) -> SynthResult:
    luts, luts_avail = _util(report, "TRELLIS_COMB")
    ffs, ffs_avail = _util(report, "TRELLIS_FF")
    if not luts:  # older nextpnr packs into TRELLIS_SLICE (2 LUT4 + 2 FF each)
        luts = cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0)
        ffs = ffs or cells.get("TRELLIS_FF", 0)
    dsps, dsp_avail = _util(report, "MULT18X18D")
    brams, bram_avail = _util(report, "DP16KD")
    cap = DEVICE_CAPACITY
    util = {
        "luts": 100.0 * luts / (luts_avail or cap["luts"]),
        "ffs": 100.0 * ffs / (ffs_avail or cap["ffs"]),
        "dsps": 100.0 * dsps / (dsp_avail or cap["dsps"]),
        "brams": 100.0 * brams / (bram_avail or cap["brams"]),
    }
    fmax = None
    for clk, info in report.get("fmax", {}).items():
        if "clk" in clk:
            fmax = float(info.get("achieved", 0.0))
    if fmax is None:
        found = re.findall(r"Max frequency for clock\s+'[^']*clk[^']*':\s*([\d.]+)\s*MHz", log)
        fmax = float(found[-1]) if found else None
    return SynthResult(design, luts, ffs, dsps, brams, {k: round(v, 3) for k, v in util.items()}, fmax, target,
                       shell.in_bits + shell.out_bits, shell.out_bits, shell.in_bits, shell.out_bits, cells)
