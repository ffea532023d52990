"""What one process holds while it runs: settings, database, signing secret, shared services.

Built by the application's lifespan (or the worker) and reached by routes through a dependency,
so that nothing reads settings at import time and tests can build their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from herald.bus import Bus
from herald.config import Settings
from herald.db import Database
from herald.throttling.service import Throttle


@dataclass
class Runtime:
    """The services of one running process."""

    settings: Settings
    db: Database
    secret: str
    bus: Bus
    throttle: Throttle
    extras: dict[str, Any] = field(default_factory=dict)
