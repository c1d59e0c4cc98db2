"""``foreland rtl``: emit Verilog, list ports, print register maps, simulate and synthesise kernels.

    foreland rtl list
    foreland rtl verilog <design> [design options] [-o FILE]
    foreland rtl ports <design> [design options]
    foreland rtl regmap <design>
    foreland rtl sim <design> [design options] [--bench MODULE] [--testcase NAME] [--waves] [--seed N]
    foreland rtl synth <design> [design options] [--freq MHZ] [--seed N] [--timeout S] [--json] [--keep DIR] [--no-pnr]

Design options (e.g. ``--lanes`` for snowball) are listed by ``foreland rtl list``;
``--set key=value`` passes any other option to designs that accept extras.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ACTIONS = ("list", "verilog", "ports", "regmap", "sim", "synth")


def build_parser(prog: str) -> argparse.ArgumentParser:
    """Argument parser of `foreland rtl`."""
    from hdl.designs import all_options

    parser = argparse.ArgumentParser(prog=prog, description="Hardware kernels: Verilog, ports, register maps, "
                                     "cocotb simulation (Verilator) and ECP5 synthesis (Yosys + nextpnr).")
    sub = parser.add_subparsers(dest="action", required=True, metavar="{" + ",".join(ACTIONS) + "}")
    sub.add_parser("list", help="list registered designs and their options")
    helps = {"verilog": "emit the design's Verilog", "ports": "list the top module's ports (parsed with pyverilog)",
             "regmap": "print the design's register map as Markdown", "sim": "run the design's cocotb benches",
             "synth": "synthesise for the ECP5 LFE5U-85F and report resources and Fmax"}
    for action in ACTIONS[1:]:
        p = sub.add_parser(action, help=helps[action])
        p.add_argument("design", help="design name (see 'list')")
        for opt in all_options().values():  # every action takes the design's build options
            p.add_argument(f"--{opt.name}", type=int if opt.type is int else str, default=None,
                           help=f"{opt.help} (design option)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="extra design option (designs that accept extras)")
        if action == "verilog":
            p.add_argument("-o", "--output", help="write to FILE instead of stdout")
        if action == "sim":
            p.add_argument("--bench", action="append", default=None, help="cocotb bench module (repeatable); "
                           "default: the design's registered benches")
            p.add_argument("--testcase", default=None, help="run only this cocotb test (comma-separated list)")
            p.add_argument("--waves", action="store_true", help="record a VCD (also FORELAND_WAVES=1)")
            p.add_argument("--waves-dir", default=".", help="directory for the VCD files (default: current)")
            p.add_argument("--seed", type=int, default=None, help="cocotb random seed")
            p.add_argument("--timeout", type=float, default=900.0, help="seconds per bench (default 900)")
        if action == "synth":
            p.add_argument("--freq", type=float, default=100.0, help="target clock in MHz (default 100)")
            p.add_argument("--seed", type=int, default=1, help="nextpnr placement seed (default 1)")
            p.add_argument("--timeout", type=float, default=1800.0, help="seconds for the whole flow (default 1800)")
            p.add_argument("--json", action="store_true", help="print the result as JSON")
            p.add_argument("--keep", default=None, metavar="DIR", help="keep the work files in DIR")
            p.add_argument("--no-pnr", action="store_true",
                           help="stop after Yosys: resource estimate from mapped cells, no place and route, no Fmax")
    return parser


def _options(args: argparse.Namespace) -> dict[str, Any]:
    from hdl.designs import all_options, get_design

    spec = get_design(args.design)
    opts: dict[str, Any] = {}
    for name in all_options():
        value = getattr(args, name, None)
        if value is None:
            continue
        if spec.option(name) is None:
            raise ValueError(f"option --{name} does not apply to design {args.design!r}")
        opts[name] = value
    for item in getattr(args, "set", []) or []:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--set expects KEY=VALUE with KEY an identifier, got {item!r}")
        if not spec.extra_options and spec.option(key) is None:
            raise ValueError(f"design {args.design!r} accepts no extra option {key!r}")
        try:
            opts[key] = int(value, 0)
        except ValueError:
            opts[key] = value
    return opts


def _build(args: argparse.Namespace):
    from hdl.designs import build_design

    return build_design(args.design, **_options(args))


def _cmd_list() -> int:
    from hdl.designs import DESIGNS

    for spec in DESIGNS.values():
        opts = " ".join(f"--{o.name} N" for o in spec.options) or "(no options)"
        extra = "  [--set KEY=VALUE]" if spec.extra_options else ""
        print(f"{spec.name:<10} {spec.doc}\n           options: {opts}{extra}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Execute `foreland rtl <action>`; returns the exit status (1 when a simulation fails)."""
    if args.action == "list":
        return _cmd_list()
    if args.action == "regmap":
        from hdl.designs import design_regmap

        print(design_regmap(args.design, **_options(args)).markdown(), end="")
        return 0
    if args.action == "verilog":
        from hdl.emit import emit_verilog

        text = emit_verilog(_build(args))
        if args.output:
            Path(args.output).write_text(text)
            print(f"wrote {args.output} ({len(text.splitlines())} lines)", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    if args.action == "ports":
        from hdl.emit import emit_verilog
        from host.portcheck import parse_ports

        for p in parse_ports(emit_verilog(_build(args))).values():
            print(f"{p.direction:<7} {p.width:5d}  {p.name}")
        return 0
    if args.action == "sim":
        return _cmd_sim(args)
    if args.action == "synth":
        return _cmd_synth(args)
    raise ValueError(f"unknown action {args.action!r}")  # pragma: no cover - argparse restricts choices


def _cmd_sim(args: argparse.Namespace) -> int:
    from hdl.designs import design_benches
    from hdl.emit import emit_verilog
    from sim.runner import run_cocotb, waves_requested

    if args.timeout <= 0:
        raise ValueError(f"--timeout must be positive, got {args.timeout}")
    benches = args.bench or design_benches(args.design)
    if not benches:
        raise ValueError(f"design {args.design!r} has no cocotb benches (none registered, none found in sim/{args.design}/)")
    options = _options(args)
    verilog = emit_verilog(_build(args))
    waves = waves_requested(True if args.waves else None)
    # Benches learn what they are testing from the environment (e.g. table sizes).
    env = {"FORELAND_DESIGN": args.design, "FORELAND_DESIGN_OPTIONS": json.dumps(options, sort_keys=True)}
    failed = 0
    for bench in benches:
        wave_path = Path(args.waves_dir) / f"{args.design}-{bench.rsplit('.', 1)[-1]}.vcd" if waves else None
        res = run_cocotb(verilog, bench, testcase=args.testcase, waves=waves, seed=args.seed,
                         timeout_s=args.timeout, waves_path=wave_path, extra_env=env)
        status = "PASS" if res.passed else "FAIL"
        print(f"{status} {bench}: {res.tests - res.failed if res.tests else 0}/{res.tests} tests passed"
              + (f", waves: {res.waves}" if res.waves else ""))
        if not res.passed:
            failed += 1
            print("\n".join(res.log.strip().splitlines()[-40:]), file=sys.stderr)
    return 1 if failed else 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from hdl.synth import synthesize

    # Check the flow's own options before building (and possibly elaborating) the design.
    if not 1 <= args.freq <= 1000:
        raise ValueError(f"--freq: target_mhz must be between 1 and 1000 MHz, got {args.freq:g}")
    if args.timeout <= 0:
        raise ValueError(f"--timeout must be positive, got {args.timeout:g}")
    res = synthesize(_build(args), args.design, target_mhz=args.freq, seed=args.seed, timeout_s=args.timeout,
                     keep=args.keep, place=not args.no_pnr)
    if args.json:
        print(json.dumps(res.as_dict(), indent=2))
    else:
        print(res.summary())
    return 0
