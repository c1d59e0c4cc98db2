"""The ``foreland`` console command: a thin dispatcher over subcommand modules.

Each subcommand lives in the package that owns it and is imported only when
it is used, so ``foreland price`` never pays for importing Dask or PyTorch.
A subcommand module exposes ``build_parser(prog: str) -> argparse.ArgumentParser``
and ``run(args) -> int``.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

# name -> (module path, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "price": ("pricing.cli_price", "price a snowball note (Monte Carlo or finite differences)"),
    "fair-coupon": ("pricing.cli_fair_coupon", "solve the coupon that makes a snowball note worth zero"),
    "rtl": ("hdl.cli", "hardware: emit Verilog, simulate, synthesise (verilog|sim|synth)"),
    "riskgate": ("host.riskgate_cli", "pre-trade risk gate: replay or generate order streams"),
    "risk": ("risk.cli", "portfolio risk batch jobs: VaR/ES, stress, Brinson, Campisi, book"),
    "forecast": ("forecast.cli", "futures volume / open-interest forecaster"),
}


class UsageError(ValueError):
    """Bad command-line input: printed without a traceback, exit status 2."""


def _top_help() -> str:
    lines = ["usage: foreland <command> [options]", "", "commands:"]
    for name, (_, text) in SUBCOMMANDS.items():
        lines.append(f"  {name:<12} {text}")
    lines += ["", "Run 'foreland <command> --help' for a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``foreland`` command; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_top_help())
        return 0 if argv else 2
    if argv[0] == "--version":
        from foreland import __version__
        print(f"foreland {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"foreland: error: unknown command {name!r}; choose from: {', '.join(SUBCOMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[name][0])
    parser: argparse.ArgumentParser = module.build_parser(f"foreland {name}")
    args = parser.parse_args(rest)  # argparse exits 2 with a message on bad options
    try:
        return int(module.run(args) or 0)
    except (ValueError, FileNotFoundError, PermissionError, KeyError, RuntimeError, OSError, ImportError) as exc:
        # Every bad input ends here: one line naming the problem, no traceback.
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"foreland {name}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"foreland {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
