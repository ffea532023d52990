"""Imports every feature's tables so that ``Base.metadata`` is complete (Alembic, tests)."""

from __future__ import annotations

from herald.accounts import models as accounts_models
from herald.db import Base
from herald.directory import models as directory_models

metadata = Base.metadata
__all__ = ["accounts_models", "directory_models", "metadata"]
