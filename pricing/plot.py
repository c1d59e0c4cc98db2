"""Value and delta of a note against spot (60%-120% of the initial price), drawn with matplotlib (Agg)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def check_plot_path(path: str | Path) -> Path:
    """Validate the output file of a plot (a .png in an existing directory)."""
    out = Path(path)
    if out.suffix.lower() != ".png":
        raise ValueError(f"plot: the file name must end in .png, got {str(path)!r}")
    if not out.parent.exists():
        raise FileNotFoundError(f"plot: directory {out.parent} does not exist")
    return out


def plot_value_delta(note, market, path: str | Path, elapsed_days: int = 0, knocked_in: bool = False,
                     mc_points: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> Path:
    """Write a PNG of value and delta against spot (finite-difference profile; optional MC points with error bars)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pricing.pde import profile

    out = check_plot_path(path)
    S, V, D = profile(note, market, elapsed_days, knocked_in)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    s0 = note.initial_price
    ax1.plot(S / s0, V, color="tab:blue", label="finite differences")
    if mc_points is not None:
        xs, vs, es = mc_points
        ax1.errorbar(xs / s0, vs, yerr=3 * es, fmt="o", ms=4, color="tab:red", label="Monte Carlo (±3 s.e.)")
    for ax in (ax1, ax2):
        ax.axvline(note.ki_barrier, color="grey", ls="--", lw=0.8)
        ax.axvline(min(note.ko_barrier), color="grey", ls=":", lw=0.8)
        ax.axvline(market.spot / s0, color="black", lw=0.6)
        ax.grid(alpha=0.3)
    ax1.axhline(0.0, color="black", lw=0.5)
    ax1.set_ylabel("value (per notional %g)" % note.notional)
    ki_state = "knocked in" if knocked_in else "not knocked in"
    ax1.set_title(f"Snowball: KO {min(note.ko_barrier):.0%}, KI {note.ki_barrier:.0%}, coupon {note.coupon:.2%}, "
                  f"day {elapsed_days}/{note.maturity_days}, {ki_state}\n"
                  f"r={market.rate:.2%}, q={market.dividend:.2%}, vol={market.vol:.1%}", fontsize=10)
    ax1.legend(loc="lower right", fontsize=8)
    ax2.plot(S / s0, D, color="tab:green")
    ax2.set_ylabel("delta (dV/dS)")
    ax2.set_xlabel("spot / initial price  (dashed: KI barrier, dotted: KO barrier, solid: spot)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
