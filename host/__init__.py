"""Host library: device drivers, backend selection, register maps, the risk gate front end."""
from __future__ import annotations

from typing import Any

__all__ = ["RiskGate"]


def __getattr__(name: str) -> Any:
    # Lazy so that importing host.* drivers does not pull in the risk gate's Numba kernels.
    if name == "RiskGate":
        from host.riskgate import RiskGate
        return RiskGate
    raise AttributeError(f"module 'host' has no attribute {name!r}")
