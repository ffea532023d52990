"""Header values stay on one line."""

from __future__ import annotations

import pytest

from herald.errors import ValidationFailed
from herald.templates.headers import check_header


@pytest.mark.parametrize(
    "char", ["\r", "\n", "\0", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
)
def test_line_breaks_and_nul_are_rejected(char: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_header(f"Hello{char}Bcc: x@example.com", field="/channels/email/subject")
    assert [d.path for d in caught.value.details] == ["/channels/email/subject"]


def test_a_clean_value_is_returned() -> None:
    value = "Ünïcode — and\ttabs <a@b.test>"
    assert check_header(value, field="/x") is value
