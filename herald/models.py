"""Imports every feature's tables so that ``Base.metadata`` is complete (Alembic, tests)."""

from __future__ import annotations

from herald.accounts import models as accounts_models
from herald.db import Base
from herald.delivery import models as delivery_models
from herald.directory import models as directory_models
from herald.endpoints import models as endpoints_models
from herald.events import models as events_models
from herald.inbox import models as inbox_models
from herald.notifications import models as notifications_models
from herald.replyto import models as replyto_models
from herald.rules import models as rules_models
from herald.sms import models as sms_models
from herald.templates import models as templates_models
from herald.throttling import models as throttling_models
from herald.web.console import models as console_models

metadata = Base.metadata
__all__ = [
    "accounts_models",
    "console_models",
    "delivery_models",
    "directory_models",
    "endpoints_models",
    "events_models",
    "inbox_models",
    "metadata",
    "notifications_models",
    "replyto_models",
    "rules_models",
    "sms_models",
    "templates_models",
    "throttling_models",
]
