"""The ``foreland price`` / ``foreland fair-coupon`` commands, the plot, and the JIT cache across processes."""
from __future__ import annotations

import json

import pytest
from pricing_fixtures import run_cli, run_py

from pricing import Market, Snowball, fair_coupon, price


def test_price_default_note_table():
    p = run_cli("price", "--paths", "20000", "--greeks")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    for key in ("price", "stderr", "fair coupon", "KO probability", "KI probability", "delta", "gamma", "vega",
                "theta", "rho", "backend", "time"):
        assert key in out
    direct = price(Snowball(), Market(), paths=20000, seed=0, backend="cpu")
    line = next(ln for ln in out.splitlines() if ln.startswith("price "))
    assert float(line.split()[1]) == pytest.approx(direct.price, abs=5e-7)


def test_price_json_pde_matches_api():
    p = run_cli("price", "--method", "pde", "--json", "--greeks", "--vol", "0.25", "--elapsed-days", "30")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    r = price(Snowball(), Market(vol=0.25), method="pde", greeks=True, elapsed_days=30)
    assert d["price"] == pytest.approx(r.price, abs=1e-12)
    assert d["greeks"]["delta"] == pytest.approx(r.greeks["delta"], abs=1e-12)
    assert d["method"] == "pde" and d["stderr"] == 0.0


def test_fair_coupon_command(tmp_path):
    f = tmp_path / "n.toml"
    f.write_text("[note]\ncoupon = 0.05\nki_barrier = 0.75\n[market]\nvol = 0.2\n")
    p = run_cli("fair-coupon", str(f), "--method", "pde", "--json")
    assert p.returncode == 0, p.stderr
    c = json.loads(p.stdout)["fair_coupon"]
    assert c == pytest.approx(fair_coupon(Snowball(coupon=0.05, ki_barrier=0.75), Market(vol=0.2), method="pde"),
                              rel=1e-12)
    assert price(Snowball(coupon=c, ki_barrier=0.75), Market(vol=0.2), method="pde").price == pytest.approx(0, abs=1e-6)


def test_plot_writes_png(tmp_path):
    out = tmp_path / "v.png"
    p = run_cli("price", "--method", "pde", "--plot", str(out))
    assert p.returncode == 0, p.stderr
    import matplotlib.image as mpimg
    img = mpimg.imread(out)
    assert img.shape[0] > 400 and img.shape[1] > 400
    assert img[..., :3].std() > 0.05  # not a blank canvas
    p = run_cli("price", "--method", "pde", "--plot", str(tmp_path / "v.jpg"))
    assert p.returncode == 2 and "plot" in p.stderr and "Traceback" not in p.stderr


_CACHE_CODE = """
from pricing import Snowball, Market, price
import kernels.snowball_mc as mc, kernels.snowball_pde as pde
price(Snowball(), Market(), paths=2000, seed=1, backend="cpu", greeks=True)
price(Snowball(), Market(), method="pde", greeks=True)
hits = misses = 0
for f in (mc._kernel, mc._reduce_in_order, pde._solve):  # the jitted entry points called from Python
    st = f.stats
    hits += sum(st.cache_hits.values()); misses += sum(st.cache_misses.values())
print(hits, misses)
"""


def test_second_process_loads_jit_from_cache():
    first = run_py(_CACHE_CODE)  # warms the cache if this checkout has never compiled
    assert first.returncode == 0, first.stderr
    second = run_py(_CACHE_CODE)
    assert second.returncode == 0, second.stderr
    hits, misses = map(int, second.stdout.split())
    assert misses == 0 and hits >= 3
