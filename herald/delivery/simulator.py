"""What test keys get instead of a provider: an answer decided by the recipient's address.

Deliveries made with a test key never reach a provider. They end ``delivered``, except
for these documented addresses (docs/simulator.md), which end as their name says:

- email ``perm-fail@simulator.herald.test``, SMS ``+12025550102`` → permanent-failure
- email ``temp-fail@simulator.herald.test``, SMS ``+12025550103`` → temporary-failure
- email ``tech-fail@simulator.herald.test``, SMS ``+12025550111`` → technical-failure

GOV.UK Notify's documented test addresses give Notify's outcomes too, for its test keys:
``temp-fail@simulator.notify`` and ``07700900003`` temporary-failure,
``perm-fail@simulator.notify`` and ``07700900002`` permanent-failure.

The numbers are in the North American 555-0100…0199 block and Ofcom's 07700 900xxx drama
range, both reserved for fiction, so a real phone is never reached even if a test key's
setting were wrong.

The simulator's failures are final at once: retrying would only delay the answer a
test is waiting for.
"""

from __future__ import annotations

import re

from herald.channels.outcome import Outcome
from herald.delivery.answer import Answer

PROVIDER = "simulator"
RECEIPT = "simulated: not sent (test key)"

EMAIL_OUTCOMES = {
    "perm-fail@simulator.herald.test": Outcome.PERMANENT,
    "temp-fail@simulator.herald.test": Outcome.TEMPORARY,
    "tech-fail@simulator.herald.test": Outcome.TECHNICAL,
    "perm-fail@simulator.notify": Outcome.PERMANENT,
    "temp-fail@simulator.notify": Outcome.TEMPORARY,
}
PHONE_OUTCOMES = {
    "12025550102": Outcome.PERMANENT,
    "12025550103": Outcome.TEMPORARY,
    "12025550111": Outcome.TECHNICAL,
    "447700900002": Outcome.PERMANENT,
    "447700900003": Outcome.TEMPORARY,
}
_NOT_DIGITS = re.compile(r"\D")


def outcome_for(address: str | None) -> Outcome:
    """The outcome the simulator gives a delivery to ``address``."""
    if not address:
        return Outcome.DELIVERED
    if "@" in address:
        return EMAIL_OUTCOMES.get(address.strip().lower(), Outcome.DELIVERED)
    return PHONE_OUTCOMES.get(_NOT_DIGITS.sub("", address), Outcome.DELIVERED)


def simulate(address: str | None) -> Answer:
    """The simulated answer for a test delivery to ``address``."""
    outcome = outcome_for(address)
    if outcome is Outcome.DELIVERED:
        return Answer(outcome, provider=PROVIDER, receipt=RECEIPT)
    response = {"simulated": outcome.value, "error": f"simulated {outcome.value} failure"}
    return Answer(outcome, provider=PROVIDER, provider_response=response, final=True)
