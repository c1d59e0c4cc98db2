"""Progress bars that appear only when a job runs longer than about a second."""
from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm


def progress(total: int | None = None, desc: str = "", disable: bool | None = None, **kw: Any) -> tqdm:
    """Return a tqdm bar on stderr that shows itself only after one second."""
    if disable is None:
        disable = not sys.stderr.isatty() and not kw.pop("force", False)
    return tqdm(total=total, desc=desc, delay=1.0, file=sys.stderr, disable=disable, leave=False, **kw)
