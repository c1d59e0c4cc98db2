"""Registry of buildable kernels: name -> factory, options, register map and cocotb benches.

A design registers here once; ``foreland rtl verilog|synth|sim|ports|regmap``,
the Verilated device and tests all look it up by name.  Factories are imported
lazily, so a design whose module is not written yet only fails when used.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any

__all__ = ["Option", "DesignSpec", "DESIGNS", "get_design", "build_design", "design_regmap", "design_benches",
           "all_options"]


@dataclass(frozen=True)
class Option:
    """One build option of a design (becomes --name on the command line)."""

    name: str
    type: type = int
    help: str = ""
    minimum: int | None = 1  # for int options

    def check(self, design: str, value: Any) -> Any:
        """Validate a value for this option; returns it converted."""
        try:
            value = self.type(value)
        except (TypeError, ValueError):
            raise ValueError(f"design {design}: option {self.name} must be {self.type.__name__}, got {value!r}") from None
        if self.type is int and self.minimum is not None and value < self.minimum:
            raise ValueError(f"design {design}: option {self.name} must be >= {self.minimum}, got {value}")
        return value


@dataclass(frozen=True)
class DesignSpec:
    """How to build one design."""

    name: str
    factory: str  # "package.module:function", called as function(**options)
    options: tuple[Option, ...] = ()
    doc: str = ""
    regmap: str | None = None  # "package.module:NAME" of its RegisterMap
    benches: tuple[str, ...] = ()  # cocotb bench modules; default: sim/<name>/bench_*.py and *_bench.py
    extra_options: bool = False  # accept --set key=value for options not listed

    def option(self, name: str) -> Option | None:
        """The option called `name`, or None."""
        return next((o for o in self.options if o.name == name), None)


DESIGNS: dict[str, DesignSpec] = {
    "example": DesignSpec(
        "example", "hdl.common.example:build", (), "reference kernel exercising every interface convention",
        regmap="hdl.common.example:REGMAP", benches=("sim.common.example_bench",)),
    "snowball": DesignSpec(
        "snowball", "hdl.snowball.top:build",
        (Option("lanes", int, "parallel Monte Carlo path lanes"),),
        "snowball note Monte Carlo pricer", regmap="hdl.snowball.regmap:REGMAP",
        benches=("sim.snowball.kernel_bench",),  # units_bench targets a unit harness, not the top
        extra_options=True),
    "riskdb": DesignSpec(
        "riskdb", "hdl.riskdb.top:build",
        (Option("accounts", int, "account table buckets (power of two; rows = buckets x ways)"),
         Option("positions", int, "position table buckets (power of two)"),
         Option("orders", int, "order table buckets (power of two)"),
         Option("instruments", int, "instrument table buckets (power of two)")),
        "pre-trade risk gate hardware database", regmap="hdl.riskdb.regmap:REGMAP", extra_options=True),
}


def get_design(name: str) -> DesignSpec:
    """The registered design `name`; ValueError listing the choices otherwise."""
    if name not in DESIGNS:
        raise ValueError(f"unknown design {name!r}; choose from: {', '.join(DESIGNS)}")
    return DESIGNS[name]


def all_options() -> dict[str, Option]:
    """Every option of every design, by name (for building the CLI)."""
    out: dict[str, Option] = {}
    for spec in DESIGNS.values():
        for opt in spec.options:
            out.setdefault(opt.name, opt)
    return out


def _load(ref: str, what: str, design: str) -> Any:
    modname, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(modname)
    except ModuleNotFoundError as exc:
        if exc.name and (modname == exc.name or modname.startswith(exc.name + ".")):
            raise ImportError(f"design {design!r} is registered but its {what} module {modname} does not exist yet") from None
        raise ImportError(f"design {design!r}: importing {modname} failed: {exc}") from None
    if not hasattr(module, attr):
        raise ImportError(f"design {design!r}: {modname} has no {attr} (expected the {what})")
    return getattr(module, attr)


def check_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Validated options for design `name` (None values dropped); ValueError on unknown ones."""
    spec = get_design(name)
    out = {}
    for key, value in options.items():
        if value is None:
            continue
        opt = spec.option(key)
        if opt is not None:
            out[key] = opt.check(name, value)
        elif spec.extra_options:
            out[key] = value
        else:
            allowed = ", ".join(o.name for o in spec.options) or "none"
            raise ValueError(f"design {name}: unknown option {key!r} (allowed: {allowed})")
    return out


def build_design(name: str, **options: Any):
    """Instantiate design `name` with `options` (validated); returns its Amaranth top Component."""
    opts = check_options(name, options)
    factory = _load(get_design(name).factory, "factory", name)
    return factory(**opts)


def design_regmap(name: str, **options: Any):
    """The RegisterMap of design `name` built with `options`: the top's `.regmap`, else the registered one."""
    spec = get_design(name)
    top = build_design(name, **options)
    top._MustUse__silence = True  # built only to read its map, never elaborated
    if getattr(top, "regmap", None) is not None:
        return top.regmap
    if spec.regmap is None:
        raise ValueError(f"design {name} has no register map registered")
    return _load(spec.regmap, "register map", name)


def design_benches(name: str) -> list[str]:
    """cocotb bench modules of design `name`: registered ones, else sim/<name>/ modules named bench_* or *_bench."""
    spec = get_design(name)
    if spec.benches:
        return list(spec.benches)
    try:
        pkg = importlib.import_module(f"sim.{name}")
    except ModuleNotFoundError:
        return []
    return sorted(f"sim.{name}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)
                  if m.name.startswith("bench_") or m.name.endswith("_bench"))
