"""Every invalid input raises ValueError naming the field; the CLI prints one line and exits 2."""
from __future__ import annotations

import math

import pytest
from pricing_fixtures import run_cli

from pricing import Market, Snowball, fair_coupon, price

BAD_NOTES = [
    (dict(ki_barrier=1.05), "ki_barrier"),                       # KI above KO
    (dict(ki_barrier=-0.1), "ki_barrier"),
    (dict(ko_days=[63, 300]), "ko_days"),                        # observation past maturity
    (dict(ko_days=[84, 63]), "ko_days"),                         # unsorted schedule
    (dict(ko_days=[]), "ko_days"),
    (dict(ko_days=[0, 63]), "ko_days"),
    (dict(coupon=math.nan), "coupon"),
    (dict(coupon=-0.1), "coupon"),
    (dict(maturity_days=0), "maturity_days"),
    (dict(maturity_days=252.5), "maturity_days"),
    (dict(lockup_days=300), "lockup_days"),
    (dict(ki_observation="weekly"), "ki_observation"),
    (dict(floor=-0.1), "floor"),
    (dict(ki_strike=0.0), "ki_strike"),
    (dict(initial_price=math.inf), "initial_price"),
    (dict(notional=-1), "notional"),
    (dict(ko_barrier=[1.0, 1.0]), "ko_barrier"),                 # wrong length step-down
    (dict(ko_barrier="high"), "ko_barrier"),
    (dict(days_per_year=0), "days_per_year"),
    (dict(maturity_coupon=-0.01), "maturity_coupon"),
]

BAD_MARKETS = [
    (dict(vol=-0.2), "vol"), (dict(vol=0.0), "vol"), (dict(vol=math.nan), "vol"), (dict(spot=0.0), "spot"),
    (dict(spot=math.nan), "spot"), (dict(rate=math.inf), "rate"), (dict(dividend="x"), "dividend"),
]


@pytest.mark.parametrize("kw,field", BAD_NOTES)
def test_invalid_note_fields(kw, field):
    with pytest.raises(ValueError, match=field):
        Snowball(**kw)


@pytest.mark.parametrize("kw,field", BAD_MARKETS)
def test_invalid_market_fields(kw, field):
    with pytest.raises(ValueError, match=field):
        Market(**kw)


@pytest.mark.parametrize("kw,field", [
    (dict(paths=0), "paths"), (dict(paths=-5), "paths"), (dict(paths=1.5), "paths"), (dict(paths=True), "paths"),
    (dict(seed=-1), "seed"), (dict(seed=2**64), "seed"), (dict(seed=1.5), "seed"),
    (dict(method="tree"), "method"), (dict(backend="gpu"), "backend"),
    (dict(elapsed_days=-1), "elapsed_days"), (dict(elapsed_days=252), "elapsed_days"),
    (dict(knocked_in="yes"), "knocked_in"), (dict(greeks="yes"), "greeks"),
    (dict(method="pde", pde_steps_per_day=0), "pde_steps_per_day"),
    (dict(method="pde", pde_nodes_per_day_sd=-1.0), "pde_nodes_per_day_sd"),
])
def test_invalid_price_arguments(kw, field):
    with pytest.raises(ValueError, match=field):
        price(Snowball(), Market(), **{"paths": 1000, **kw})


def test_knocked_in_needs_daily_observation():
    with pytest.raises(ValueError, match="knocked_in"):
        price(Snowball(ki_observation="maturity"), Market(), paths=100, knocked_in=True)


def test_fair_coupon_invalid_method_and_impossible_coupon():
    with pytest.raises(ValueError, match="method"):
        fair_coupon(Snowball(), Market(), method="x")
    # KO never reachable and knocked in: the coupon never pays, no fair coupon exists
    with pytest.raises(ValueError, match="coupon"):
        fair_coupon(Snowball(ko_barrier=50.0), Market(), method="pde", elapsed_days=250, knocked_in=True)


@pytest.mark.parametrize("backend,module", [("bit-true", "kernels.snowball_bittrue"),
                                            ("rtl", "host.snowball_driver")])
def test_missing_backend_module_is_a_clear_error(monkeypatch, backend, module):
    import sys
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail like a missing module
    with pytest.raises(ImportError, match=backend):
        price(Snowball(), Market(), paths=100, backend=backend)


def test_auto_backend_never_picks_a_simulation(monkeypatch):
    import sys
    import types
    fake = types.ModuleType("host.snowball_driver")
    fake.device_available = lambda: True
    monkeypatch.setitem(sys.modules, "host.snowball_driver", fake)
    from pricing.api import resolve_backend
    assert resolve_backend("auto") == "cpu"        # no SIMULATED = False: a simulator, not a device
    fake.SIMULATED = False
    assert resolve_backend("auto") == "rtl"
    fake.device_available = lambda: False
    assert resolve_backend("auto") == "cpu"


@pytest.mark.parametrize("args,field", [
    (["--paths", "0"], "paths"),
    (["--vol", "-0.2"], "vol"),
    (["--seed", "-4"], "seed"),
    (["--elapsed-days", "999"], "elapsed_days"),
    (["nonexistent_note.toml"], "does not exist"),
])
def test_cli_errors_are_one_line_exit_2(args, field):
    p = run_cli("price", *args)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("foreland price: error:") and field in lines[0]


def test_cli_bad_note_file_field(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("[note]\nki_barrier = 1.2\n")
    p = run_cli("fair-coupon", str(f), "--method", "pde")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "ki_barrier" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    f.write_text("[note]\ncolour = 'red'\n")
    p = run_cli("price", str(f), "--method", "pde")
    assert p.returncode == 2 and "colour" in p.stderr and "Traceback" not in p.stderr
