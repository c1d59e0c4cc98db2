"""List and check the top module's ports of emitted Verilog, using pyverilog's parser.

pyverilog's usual entry point (``parse([files])``) runs ``iverilog -E`` as its
preprocessor, which a pip-only install does not have.  Amaranth's output has
no preprocessor directives, so we feed pyverilog's ``VerilogParser`` directly,
after two lexical clean-ups its grammar needs: Yosys attributes ``(* ... *)``
are dropped and escaped identifiers (``\\$auto$...``) are renamed to plain ones.
By default only the top module's header and port declarations are parsed
(fast on 50k-line designs); ``full=True`` parses the whole top module.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Mapping

__all__ = ["Port", "parse_ports", "check_ports", "PortMismatch", "expected_from_component"]

_ATTR_RE = re.compile(r"\(\*.*?\*\)", re.S)
_ESC_RE = re.compile(r"\\(\S+)")
_COMMENT_RE = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


class PortMismatch(ValueError):
    """The RTL's ports differ from what the binding or register map expects."""


@dataclass(frozen=True)
class Port:
    """One top-level port as the RTL declares it."""

    name: str
    direction: str  # "input" | "output" | "inout"
    width: int


@functools.lru_cache(maxsize=1)
def _parser():
    from pyverilog.vparser.parser import VerilogParser

    from sim.toolchain import cache_dir

    # PLY writes its parse tables to outputdir; keep them out of the working tree.
    return VerilogParser(outputdir=str(cache_dir("pyverilog")), debug=False)


def _sanitize(text: str) -> str:
    text = _COMMENT_RE.sub(" ", text)
    text = _ATTR_RE.sub(" ", text)
    return _ESC_RE.sub(lambda m: "esc_" + re.sub(r"[^A-Za-z0-9_]", "_", m.group(1)), text)


def _module_spans(text: str) -> list[tuple[str, int, int, bool]]:
    """(name, start, end, is_top) for every module in raw Verilog text."""
    spans = []
    for mm in re.finditer(r"module\s+(\\?\S+?)\s*[(#;]", text):
        start = mm.start()
        if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_$"):
            continue  # 'endmodule' or an identifier containing 'module'
        end = text.find("endmodule", start)
        if end < 0:
            raise PortMismatch(f"module {mm.group(1)} has no endmodule: the Verilog text is truncated")
        before = text[max(0, start - 200):start]
        is_top = bool(re.search(r"\(\*[^)]*\btop\s*=\s*(1|\"1\")", before.split("endmodule")[-1]))
        spans.append((mm.group(1).lstrip("\\"), start, end + len("endmodule"), is_top))
    return spans


def _top_module_text(text: str, top: str | None) -> tuple[str, str]:
    text = _COMMENT_RE.sub(" ", text)  # a 'module' inside a comment is not a module
    spans = _module_spans(text)
    if not spans:
        raise PortMismatch("no module found in the Verilog text")
    if top is not None:
        chosen = [s for s in spans if s[0] == top]
        if not chosen:
            raise PortMismatch(f"top module {top!r} not found; modules: {', '.join(s[0] for s in spans)}")
    else:
        chosen = [s for s in spans if s[3]] or ([spans[0]] if len(spans) == 1 else [])
        if not chosen:
            raise PortMismatch("several modules and none marked (* top = 1 *): pass top='name'")
    name, start, end, _ = chosen[0]
    return name, text[start:end]


def _reduce(module_text: str) -> str:
    """Keep the module header and its port declarations only."""
    clean = _sanitize(module_text)
    header_end = clean.index(";") + 1
    decls = re.findall(r"^\s*(?:input|output|inout)\b[^;]*;", clean[header_end:], re.M)
    return clean[:header_end] + "\n" + "\n".join(d.strip() for d in decls) + "\nendmodule\n"


def parse_ports(verilog_text: str, top: str | None = None, full: bool = False) -> dict[str, Port]:
    """Ports of the top module (the one marked ``(* top = 1 *)``, or `top`), in declaration order."""
    from pyverilog.vparser import ast

    if not isinstance(verilog_text, str) or not verilog_text.strip():
        raise ValueError("verilog_text must be non-empty Verilog source")
    name, mod_text = _top_module_text(verilog_text, top)
    src = _sanitize(mod_text) + "\n" if full else _reduce(mod_text)
    try:
        tree = _parser().parse(src, debug=0)
    except Exception as exc:  # pyverilog raises its own ParseError (and lexer errors) on bad text
        raise PortMismatch(f"pyverilog could not parse module {name}: {exc}") from None
    mod = next((d for d in tree.description.definitions if isinstance(d, ast.ModuleDef)), None)
    if mod is None:
        raise PortMismatch(f"pyverilog found no module definition for {name}")

    def width_of(node) -> int:
        w = getattr(node, "width", None)
        if w is None:
            return 1
        return abs(int(w.msb.value) - int(w.lsb.value)) + 1

    ports: dict[str, Port] = {}
    kinds = {ast.Input: "input", ast.Output: "output", ast.Inout: "inout"}

    def visit(node) -> None:
        if type(node) in kinds:
            ports[node.name] = Port(node.name, kinds[type(node)], width_of(node))
            return
        for child in node.children():
            visit(child)

    visit(mod)
    order = [p.name if hasattr(p, "name") else getattr(getattr(p, "first", None), "name", None) for p in mod.portlist.ports]
    ordered = {n: ports[n] for n in order if n in ports}
    ordered.update({n: p for n, p in ports.items() if n not in ordered})
    return ordered


def check_ports(verilog_text: str, expected: Mapping[str, tuple[str, int]], top: str | None = None) -> dict[str, Port]:
    """Raise PortMismatch with a readable diff unless the top's ports equal `expected` (name -> (dir, width))."""
    got = parse_ports(verilog_text, top)
    lines = []
    for name in sorted(set(expected) | set(got)):
        if name not in got:
            d, w = expected[name]
            lines.append(f"  missing in RTL: {d} [{w}] {name}")
        elif name not in expected:
            lines.append(f"  unexpected in RTL: {got[name].direction} [{got[name].width}] {name}")
        else:
            d, w = expected[name]
            if (got[name].direction, got[name].width) != (d, w):
                lines.append(f"  {name}: RTL has {got[name].direction} [{got[name].width}], expected {d} [{w}]")
    if lines:
        raise PortMismatch("RTL ports do not match the expected interface:\n" + "\n".join(lines))
    return got


def expected_from_component(component) -> dict[str, tuple[str, int]]:
    """Expected Verilog ports of an Amaranth top from its wiring signature (clk/rst added)."""
    from amaranth.hdl import Shape
    from amaranth.lib import wiring

    from hdl.common.csr import CLOCK_PORT, RESET_PORT

    if not isinstance(component, wiring.Component):
        raise ValueError(f"component must be an amaranth.lib.wiring.Component, got {type(component).__name__}")
    ports: dict[str, tuple[str, int]] = {CLOCK_PORT: ("input", 1), RESET_PORT: ("input", 1)}
    for path, member, _value in component.signature.flatten(component):
        direction = "input" if member.flow == wiring.In else "output"
        # Shape.cast also sizes data.Layout payloads (structs), which have no .width.
        ports["__".join(str(p) for p in path)] = (direction, Shape.cast(member.shape).width)
    return ports
