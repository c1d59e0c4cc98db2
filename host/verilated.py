"""Verilated device: build a C++ model of a kernel plus a pybind11 module, cached per design.

The Verilog (emitted by Amaranth), the binding template, the Verilator version,
the compiler flags and the Python ABI form the cache key; the built extension
lives in ``$FORELAND_CACHE/verilated/<key>`` (default ``~/.cache/foreland/...``),
so a second process (or pytest run) reuses it.  Concurrent builders of the same
key serialise on a lock file; the finished directory appears atomically.

Before building, the RTL's ports are checked with pyverilog
(:mod:`host.portcheck`) against the kernel conventions, so a binding is never
built for a design it does not fit.
"""
from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from host.device import Device, StreamResult, _check_addr, _check_value, as_words

__all__ = ["VerilatedDevice", "build_model", "binding_source", "fst_supported"]

TEMPLATE = Path(__file__).with_name("verilated_binding.cpp")
CXX_OPT = "-O2"
_LOADED: dict[str, ModuleType] = {}


def _mangle(port: str) -> str:
    """Verilator's C++ member name for a Verilog port (a double underscore becomes ___05F)."""
    return port.replace("__", "___05F")


def _payload_code(port: str, bits: int, direction: str) -> str:
    member = f"top_->{_mangle(port)}"
    nw = -(-bits // 32)
    mask = "top_mask(FL_IN_BITS)" if direction == "in" else ""
    lines = []
    if direction == "in":
        if bits <= 32:
            lines.append(f"{member} = w[0] & {mask};")
        elif bits <= 64:
            lines.append(f"{member} = (static_cast<uint64_t>(w[1] & {mask}) << 32) | w[0];")
        else:
            for i in range(nw):
                lines.append(f"{member}[{i}] = w[{i}]{' & ' + mask if i == nw - 1 else ''};")
    else:
        if bits <= 32:
            lines.append(f"w[0] = static_cast<uint32_t>({member});")
        elif bits <= 64:
            lines += [f"const uint64_t v = {member};", "w[0] = static_cast<uint32_t>(v);",
                      "w[1] = static_cast<uint32_t>(v >> 32);"]
        else:
            lines += [f"w[{i}] = {member}[{i}];" for i in range(nw)]
    return "\n".join("        " + ln for ln in lines)


def binding_source(module_name: str, msg_width: int | None, out_width: int | None) -> str:
    """The binding C++ for a design with the given stream payload widths (None = no stream)."""
    text = TEMPLATE.read_text()
    subs = {
        "MODULE": module_name,
        "HAS_IN": "1" if msg_width else "0",
        "HAS_OUT": "1" if out_width else "0",
        "IN_BITS": str(msg_width or 32),
        "OUT_BITS": str(out_width or 32),
        "SET_PAYLOAD": _payload_code("msg_in__payload", msg_width, "in") if msg_width else "",
        "GET_PAYLOAD": _payload_code("dec_out__payload", out_width, "out") if out_width else "",
    }
    for k, v in subs.items():
        text = text.replace(f"@@{k}@@", v)
    return text


def _run(cmd: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def _jobs() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def _compile(build: Path, module_name: str, trace: str | None, env: dict[str, str]) -> Path:
    """Verilate top.v in `build`, compile model + binding, return the extension path."""
    import pybind11

    from sim.toolchain import require_verilator

    inst = require_verilator()
    vflags = ["--cc", "top.v", "--top-module", "top", "--prefix", "Vtop", "-Mdir", "obj",
              "-O3", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal", "-Wno-lint", "-Wno-style",
              "-CFLAGS", f"-fPIC {CXX_OPT}"]
    if trace == "fst":
        vflags.append("--trace-fst")
    elif trace == "vcd":
        vflags.append("--trace")
    _run([str(inst.executable), *vflags], build, env, "verilator")
    cxx = env.get("CXX", "g++")
    # Verilator's runtime library depends only on the Verilator build, flags and trace
    # kind, not on the design: build it once and share it between designs.
    rkey = hashlib.sha256(f"{inst.version}|{inst.source}|{inst.root}|{CXX_OPT}|{trace}|{cxx}".encode()).hexdigest()[:16]
    runtime = build.parent / f"runtime-{rkey}.a"
    targets = ["libVtop.a"] if runtime.is_file() else ["libVtop.a", "libverilated.a"]
    make = subprocess.Popen(["make", "-s", "-j", str(_jobs()), "-C", "obj", "-f", "Vtop.mk", *targets],
                            cwd=build, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    defs = [f"-DFL_TRACE_FST={int(trace == 'fst')}", f"-DFL_TRACE_VCD={int(trace == 'vcd')}"]
    incs = ["-Iobj", f"-I{inst.include}", f"-I{inst.include / 'vltstd'}", f"-I{pybind11.get_include()}",
            f"-I{sysconfig.get_paths()['include']}"]
    # The binding compiles while make builds the model (2 jobs on a 2-core box).
    try:
        _run([cxx, CXX_OPT, "-fPIC", "-fvisibility=hidden", *defs, *incs, "-c", "binding.cpp", "-o", "binding.o"],
             build, env, "compiling the pybind11 binding")
    finally:
        out, _ = make.communicate()
    if make.returncode != 0:
        raise RuntimeError("building the Verilated model failed:\n" + "\n".join(out.strip().splitlines()[-25:]))
    if not runtime.is_file():
        staged = runtime.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(build / "obj" / "libverilated.a", staged)
        os.replace(staged, runtime)
    ext = build / f"{module_name}{sysconfig.get_config_var('EXT_SUFFIX') or '.so'}"
    libs = ["-lz"] if trace == "fst" else []
    _run([cxx, "-shared", "-fPIC", "binding.o", "obj/libVtop.a", str(runtime), "-pthread", *libs, "-o", str(ext)],
         build, env, "linking the binding")
    return ext


def build_model(verilog: str, msg_width: int | None = None, out_width: int | None = None,
                trace: str | None = None, expected_ports: dict[str, tuple[str, int]] | None = None) -> ModuleType:
    """Return the (cached) pybind11 module for this Verilog; checks the ports first (PortMismatch on a mismatch)."""
    from hdl.common.ports import kernel_ports
    from host.portcheck import check_ports
    from sim.toolchain import cache_dir, require_verilator, verilator_env

    if trace not in (None, "fst", "vcd"):
        raise ValueError(f"trace must be None, 'fst' or 'vcd', got {trace!r}")
    inst = require_verilator()
    expected = expected_ports if expected_ports is not None else kernel_ports(msg_width, out_width)
    h = hashlib.sha256()
    for part in (verilog, TEMPLATE.read_text(), inst.version, inst.source, CXX_OPT, str(trace), str(msg_width),
                 str(out_width), sysconfig.get_config_var("EXT_SUFFIX") or "", sys.version, repr(sorted(expected.items()))):
        h.update(part.encode())
        h.update(b"\0")
    key = h.hexdigest()[:20]
    if key in _LOADED:
        return _LOADED[key]
    module_name = f"fl_vmodel_{key}"
    root = cache_dir("verilated")
    final = root / key
    ext_name = f"{module_name}{sysconfig.get_config_var('EXT_SUFFIX') or '.so'}"
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per key across processes
        if not (final / ext_name).is_file():
            # Refuse to bind RTL whose ports do not follow the conventions for these widths
            # (a cached build passed this same check: the expected ports are part of the key).
            check_ports(verilog, expected)
            for stale in root.glob(f"{key}.*"):  # left by a killed builder; we hold the key's lock
                if stale.is_dir():
                    shutil.rmtree(stale, ignore_errors=True)
            tmp = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=root))
            try:
                (tmp / "top.v").write_text(verilog)
                (tmp / "binding.cpp").write_text(binding_source(module_name, msg_width, out_width))
                _compile(tmp, module_name, trace, verilator_env())
                shutil.rmtree(final, ignore_errors=True)
                os.replace(tmp, final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    spec = importlib.util.spec_from_file_location(module_name, final / ext_name)
    if spec is None or spec.loader is None:  # pragma: no cover - importlib always answers for a file path
        raise ImportError(f"cannot load the Verilated model from {final / ext_name}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    _LOADED[key] = mod
    return mod


def _trace_kind(trace: str | os.PathLike | None) -> str | None:
    if trace is None:
        return None
    suffix = Path(trace).suffix.lower()
    if suffix not in (".fst", ".vcd"):
        raise ValueError(f"trace file must end in .fst or .vcd, got {str(trace)!r}")
    if suffix == ".fst" and not fst_supported():
        raise ValueError("trace: FST needs the lz4 and zlib C headers (e.g. apt-get install liblz4-dev zlib1g-dev), "
                         "which this machine lacks; ask for a .vcd trace file instead")
    return suffix[1:]


def fst_supported() -> bool:
    """True when Verilator's FST writer can be compiled here (it needs lz4.h and zlib.h)."""
    dirs = [Path("/usr/include"), Path("/usr/local/include"), *(Path(p) for p in os.environ.get("CPATH", "").split(":") if p)]
    return all(any((d / h).is_file() for d in dirs) for h in ("lz4.h", "zlib.h"))


class VerilatedDevice(Device):
    """A kernel simulated by Verilator behind the Device interface (one clock per bus cycle)."""

    def __init__(self, design: Any, *, regmap=None, trace: str | os.PathLike | None = None,
                 msg_width: int | None = None, out_width: int | None = None) -> None:
        """Build (or reuse) the model of `design` (an Amaranth Component, or Verilog text with widths given)."""
        from hdl.common.ports import kernel_ports
        from host.portcheck import PortMismatch, expected_from_component

        if isinstance(design, str):
            verilog = design
            expected = kernel_ports(msg_width, out_width)
        else:
            from hdl.emit import emit_verilog

            expected = expected_from_component(design)
            msg_width = expected.get("msg_in__payload", ("", None))[1]
            out_width = expected.get("dec_out__payload", ("", None))[1]
            conv = kernel_ports(msg_width, out_width)
            if expected != conv:
                diff = sorted(set(expected.items()) ^ set(conv.items()))
                raise PortMismatch(f"{type(design).__name__} does not follow the kernel conventions "
                                   f"(csr: In(CSRBus), optional msg_in/dec_out streams): {diff}")
            verilog = emit_verilog(design)
        self.msg_width, self.out_width = msg_width, out_width
        self._mod = build_model(verilog, msg_width, out_width, _trace_kind(trace), expected)
        self._live = self._mod.Model(str(trace) if trace is not None else "")
        # A top that carries its own map (``top.regmap``) is checked against it by default.
        regmap = regmap if regmap is not None else getattr(design, "regmap", None)
        self.regmap = regmap
        if regmap is not None:
            regmap.check_device(self)

    @property
    def _model(self):
        if self._live is None:
            raise RuntimeError("the Verilated device is closed")
        return self._live

    @classmethod
    def from_design(cls, name: str, trace: str | os.PathLike | None = None, **options: Any) -> "VerilatedDevice":
        """Model of registered design `name` (hdl/designs.py) built with `options`."""
        from hdl.designs import build_design

        return cls(build_design(name, **options), trace=trace)

    def reset(self) -> None:
        """Hold rst high for two cycles."""
        self._model.reset(2)

    def write(self, addr: int, value: int) -> None:
        """One bus write cycle."""
        self._model.write(_check_addr(addr), _check_value(value))

    def read(self, addr: int) -> int:
        """One bus read cycle; returns r_data one cycle after r_stb."""
        return int(self._model.read(_check_addr(addr)))

    def write_block(self, addr: int, words: np.ndarray) -> None:
        """Back-to-back writes of `words` to one address (DMA emulation), in C++."""
        addr = _check_addr(addr)
        self._model.write_block(addr, as_words(addr, words))

    def run_until(self, addr: int, mask: int, value: int, max_cycles: int = 1_000_000) -> int:
        """Poll `addr` every cycle until (read & mask) == value; returns cycles; TimeoutError past max_cycles."""
        addr, mask, value = _check_addr(addr), _check_value(mask), _check_value(value)
        if not isinstance(max_cycles, int) or max_cycles < 1:
            raise ValueError(f"max_cycles must be a positive integer, got {max_cycles!r}")
        got = int(self._model.run_until(addr, mask, value, max_cycles))
        if got < 0:
            raise TimeoutError(f"register 0x{addr:04X} did not reach (value & 0x{mask:X}) == 0x{value:X} "
                               f"within {max_cycles} cycles (last read 0x{self.read(addr):08X})")
        return got

    def step(self, n: int = 1) -> None:
        """Let the clock run `n` cycles with the bus idle."""
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative number of cycles, got {n!r}")
        self._model.step(n)

    def stream(self, in_words: Any, n_out: int | None = None, *, max_cycles: int | None = None,
               out_ready_prob: float = 1.0, seed: int = 0) -> StreamResult:
        """Push N messages through msg_in (honouring ready) and collect n_out dec_out results, all in C++.

        `in_words` is an (N, ceil(W/32)) uint32 array (lowest word first) or a sequence of
        python ints (packed here).  `out_ready_prob` < 1 deasserts dec_out.ready at random
        (reproducible from `seed`) to exercise back-pressure.
        """
        from hdl.common.regmap import pack_rows

        if not (self.msg_width and self.out_width):
            raise ValueError("this design has no msg_in/dec_out streams")
        nw = -(-self.msg_width // 32)
        if isinstance(in_words, np.ndarray) and in_words.dtype.kind in "ui" and in_words.ndim == 2:
            arr = np.ascontiguousarray(in_words, dtype=np.uint32)
        else:
            arr = pack_rows(list(in_words), self.msg_width)
        if arr.ndim != 2 or arr.shape[1] != nw:
            raise ValueError(f"in_words must have shape (N, {nw}) for a {self.msg_width}-bit msg_in, got {arr.shape}")
        top_bits = self.msg_width - 32 * (nw - 1)
        if top_bits < 32 and arr.size and (arr[:, -1] >> np.uint32(top_bits)).any():
            raise ValueError(f"in_words has bits above the {self.msg_width}-bit msg_in payload")
        n_out = arr.shape[0] if n_out is None else n_out
        if not isinstance(n_out, int) or n_out < 0:
            raise ValueError(f"n_out must be a non-negative integer, got {n_out!r}")
        if not 0.0 < float(out_ready_prob) <= 1.0:
            raise ValueError(f"out_ready_prob must be in (0, 1], got {out_ready_prob!r}")
        if max_cycles is None:
            max_cycles = 10_000 + int(64 * max(arr.shape[0], n_out) / float(out_ready_prob))
        out, cycles, first_in, last_out, in_stalls, out_stalls = self._model.stream(
            arr, n_out, int(max_cycles), float(out_ready_prob), int(seed))
        return StreamResult(out, int(cycles), int(first_in), int(last_out), int(in_stalls), int(out_stalls))

    @property
    def cycles(self) -> int:
        """Clock cycles since the model was constructed (including reset cycles)."""
        return int(self._model.cycles)

    def close(self) -> None:
        """Finish the model and close any trace file."""
        if getattr(self, "_live", None) is not None:
            self._live.flush_trace()
            self._live = None  # the C++ destructor closes the trace and calls final()
