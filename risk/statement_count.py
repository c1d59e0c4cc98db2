"""A DuckDB connection wrapper that records every SQL statement a run issues (for tests and benchmarks)."""
from __future__ import annotations

from typing import Any


class CountingConnection:
    """Forwards everything to a DuckDB connection and records each ``execute``/``sql`` statement text.

    ``register``/``unregister`` (views over Arrow tables, no SQL) are counted apart in ``registrations``.
    """

    def __init__(self, con: Any) -> None:
        self._con = con
        self.statements: list[str] = []
        self.registrations = 0

    def execute(self, query: str, *args: Any, **kwargs: Any):
        """Record and run one statement (DB-API style)."""
        self.statements.append(" ".join(query.split()))
        return self._con.execute(query, *args, **kwargs)

    def sql(self, query: str, *args: Any, **kwargs: Any):
        """Record and run one statement (relational style)."""
        self.statements.append(" ".join(query.split()))
        return self._con.sql(query, *args, **kwargs)

    def register(self, name: str, obj: Any):
        """Register a view over a Python object (counted apart: not a SQL statement)."""
        self.registrations += 1
        return self._con.register(name, obj)

    def reset(self) -> None:
        """Forget what was recorded."""
        self.statements.clear()
        self.registrations = 0

    def count(self, prefix: str = "") -> int:
        """Statements recorded (those starting with ``prefix``, case-insensitive, when given)."""
        p = prefix.upper()
        return sum(1 for s in self.statements if s.upper().startswith(p))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)
