"""The email bytes Herald writes, against what the email package wrote before, both parsed back.

For many messages (any Unicode in names, subjects and bodies; long lines; line-break
attempts; custom headers) the two must read back the same headers and bodies, and the
bytes must keep to SMTP's form: ASCII, CRLF line ends, lines within 998 bytes.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from email.message import EmailMessage as MimeMessage
from email.utils import parseaddr
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from herald.channels.base import EmailMessage, PermanentDeliveryError
from herald.channels.email import mime
from herald.channels.email.mime import mime_bytes
from tests.channels.email.mime_reference import reference_bytes

NOW = datetime(2026, 11, 22, 8, 30, 15, tzinfo=UTC)
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"


def parse(raw: bytes) -> MimeMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, MimeMessage)
    return parsed


def readable(raw: bytes) -> dict[str, Any]:
    """What a receiver sees: headers (but the random boundary) and each part's content."""
    parsed = parse(raw)
    headers = sorted(
        (name.lower(), str(value)) for name, value in parsed.items() if name != "Content-Type"
    )
    params = {k: v for k, v in parsed["Content-Type"].params.items() if k != "boundary"}
    parts = [
        (
            part.get_content_type(),
            part.get_content_charset(),
            part.get("Content-Transfer-Encoding"),
            part.get_content(),
        )
        for part in parsed.walk()
        if not part.is_multipart()
    ]
    return {
        "headers": headers,
        "type": (parsed.get_content_type(), params),
        "parts": parts,
        "defects": [type(d).__name__ for p in parsed.walk() for d in p.defects],
    }


def message(**overrides: Any) -> EmailMessage:
    fields: dict[str, Any] = {
        "delivery_id": "0190b2b4-7c1e-7a3e-9d2f-5b8a1c0d4e6f",
        "recipient": "ann@example.org",
        "from_": "Herald <noreply@herald.example>",
        "subject": "Your code: 1234",
        "text": "Your code is 1234.\n",
        "html": "<p>Your code is <b>1234</b>.</p>\n",
    }
    return EmailMessage(**(fields | overrides))


def assert_smtp_form(raw: bytes) -> None:
    assert raw.endswith(b"\r\n")
    lines = raw[:-2].split(b"\r\n")
    assert all(b"\r" not in line and b"\n" not in line for line in lines)
    assert all(len(line) <= 998 for line in lines)
    assert raw.isascii()


def _has_line_break(value: str) -> bool:
    return any(c in LINE_BREAKS for c in value)


def _well_formed_head(raw: bytes) -> bool:
    """Every header line is a field ("Name: value") or a continuation (starts with WSP)."""
    head = raw.partition(b"\r\n\r\n")[0].split(b"\r\n")
    return all(line[:1] in (b" ", b"\t") or re.match(rb"[!-9;-~]+:", line) for line in head)


def check_same(msg: EmailMessage) -> None:
    """Both build it or both refuse it; built, they read back alike."""
    try:
        expected = reference_bytes(msg, now=NOW)
    except PermanentDeliveryError:
        expected = None
    try:
        raw = mime_bytes(msg, now=NOW)
    except PermanentDeliveryError:
        # Refused where the email package was not: only a line break at the very end of a
        # header value (it wrote a blank line, ending the headers early) or a name that is
        # no header name (it wrote the name as given, line breaks and all), or a value it
        # folded into a line that is no continuation (a header of its own to a receiver).
        values = [msg.from_, msg.subject, *msg.to, *msg.cc, *msg.reply_to, *msg.headers.values()]
        assert (
            expected is None
            or any(_has_line_break(v) for v in values)
            or any(not mime._FIELD_NAME.fullmatch(name) for name in msg.headers)
            or not _well_formed_head(expected)
        )
        return
    assert expected is not None
    assert_smtp_form(raw)
    assert readable(raw) == readable(expected)


unicode_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
subjects = st.one_of(
    unicode_text,
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=200),
    st.lists(
        st.sampled_from(["a", "b", " ", "é", "=?", "?=", "\t", "—", "😀", "\r\n", "x" * 80])
    ).map("".join),
)
ATEXT = "ABCXYZabcxyz0189!#$%&'*+/=?^_`{|}~-"
atoms = st.text(st.sampled_from(ATEXT), min_size=1, max_size=12)
plain_addresses = st.builds(lambda a, b: f"{a}@{b}.example", atoms, atoms)
display_names = st.one_of(
    st.lists(atoms, min_size=1, max_size=4).map(" ".join),
    unicode_text.map(lambda s: s.strip() or "x"),
)
mailboxes = st.one_of(
    plain_addresses,
    st.builds(lambda n, a: f"{n} <{a}>", display_names, plain_addresses),
    st.builds(lambda n, a: f'"{n}" <{a}>', display_names, plain_addresses),
)
bodies = st.one_of(
    unicode_text,
    st.lists(st.sampled_from(["a", " ", "\n", "\r\n", "\r", "é", ".", "=", "From ", "x" * 90])).map(
        "".join
    ),
    st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=120)).map(
        "\n".join
    ),
)
header_names = st.one_of(
    st.sampled_from(["X-Campaign", "List-Unsubscribe", "List-Id", "Sender", "Keywords"]),
    st.text(st.characters(min_codepoint=1, max_codepoint=127), min_size=1, max_size=20),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=subjects,
    from_=mailboxes,
    to=st.lists(mailboxes, min_size=1, max_size=3),
    cc=st.lists(mailboxes, max_size=2),
    text=bodies,
    html=st.none() | bodies,
    headers=st.dictionaries(header_names, subjects, max_size=2),
)
@example(
    subject="x" * 1200, from_="a@b.example", to=["a@b.example"], cc=[], text="t", html=None,
    headers={},
)  # fmt: skip
@example(
    subject="Hi\r\nBcc: victim@example.org", from_="a@b.example", to=["a@b.example"], cc=[],
    text="t", html=None, headers={},
)  # fmt: skip
def test_reads_back_as_the_email_package_wrote_it(
    subject: str,
    from_: str,
    to: list[str],
    cc: list[str],
    text: str,
    html: str | None,
    headers: dict[str, str],
) -> None:
    check_same(
        message(
            subject=subject,
            from_=from_,
            to=tuple(to),
            cc=tuple(cc),
            text=text,
            html=html,
            headers=headers,
        )
    )


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        st.from_regex(mime._MAILBOXES, fullmatch=True),
        st.lists(st.from_regex(mime._MAILBOX, fullmatch=True), min_size=1, max_size=3).map(
            ", ".join
        ),
    ),
    name=st.sampled_from(["From", "To", "Cc", "Reply-To"]),
)
def test_plain_addresses_go_out_as_the_email_package_folds_them(name: str, value: str) -> None:
    assert mime._header(name, value, mime._MAILBOXES) == mime._folded(name, value)


@settings(max_examples=300, deadline=None)
@given(
    value=st.from_regex(mime._WORDS, fullmatch=True),
    name=st.sampled_from(["Subject", "X-Herald-Delivery-Id", "X-Campaign", "List-Unsubscribe"]),
)
def test_plain_words_go_out_as_the_email_package_folds_them(name: str, value: str) -> None:
    assert mime._header(name, value, mime._WORDS) == mime._folded(name, value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"subject": "Hi\r\nBcc: victim@example.org"},
        {"subject": "Hi\n"},
        {"subject": "Hi\u2028there"},
        {"from_": "Herald <noreply@herald.example>\r\nBcc: victim@example.org"},
        {"to": ("ann@example.org\nBcc: victim@example.org",)},
        {"headers": {"X-Campaign": "a\r\nBcc: victim@example.org"}},
        {"headers": {"X-Bad\r\nBcc": "victim@example.org"}},
        {"headers": {"X Bad": "x"}},
        {"headers": {"X-Bad:": "x"}},
        {"headers": {"message-id": "<x@y>"}},
        # The email package folds this To into a second line that starts with '"'.
        {"to": ('"000000000000000000000000000000"" <000000@000000000.example>', "x <0@0.example>")},
        {"text": "a lone surrogate \udc80"},
    ],
)
def test_header_injection_and_unencodable_text_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(PermanentDeliveryError):
        mime_bytes(message(**overrides), now=NOW)


def test_layout_of_a_multipart_message() -> None:
    raw = mime_bytes(
        message(cc=("Carl <carl@example.org>",), headers={"X-Campaign": "signup"}), now=NOW
    )
    head = raw.partition(b"\r\n\r\n")[0]
    assert head.split(b"\r\n")[:9] == [
        b"From: Herald <noreply@herald.example>",
        b"To: ann@example.org",
        b"Cc: Carl <carl@example.org>",
        b"Subject: Your code: 1234",
        b"Date: Sun, 22 Nov 2026 08:30:15 +0000",
        b"Message-ID: <0190b2b4-7c1e-7a3e-9d2f-5b8a1c0d4e6f@herald.example>",
        b"X-Herald-Delivery-Id: 0190b2b4-7c1e-7a3e-9d2f-5b8a1c0d4e6f",
        b"X-Campaign: signup",
        b"MIME-Version: 1.0",
    ]
    parsed = parse(raw)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed.defects == []
    assert readable(raw) == readable(reference_bytes(message(
        cc=("Carl <carl@example.org>",), headers={"X-Campaign": "signup"}), now=NOW)
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Hello\n", "7bit"),
        ("x" * 100 + "\n", "quoted-printable"),
        ("café\n", "quoted-printable"),
        ("a café, and a longer line of plain text\n" * 30, "quoted-printable"),
        ("日本語のテキスト\n" * 3, "base64"),
        ("日本語のテキスト\n" * 30, "base64"),
    ],
)
def test_body_encodings_are_chosen_as_before(text: str, encoding: str) -> None:
    raw = mime_bytes(message(text=text, html=None), now=NOW)
    parsed = parse(raw)
    assert parsed["Content-Transfer-Encoding"] == encoding
    assert parsed.get_content() == text.replace("\n", "\r\n")
    assert readable(raw) == readable(reference_bytes(message(text=text, html=None), now=NOW))


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.from_regex(mime._MAILBOX, fullmatch=True), mailboxes, unicode_text))
def test_addresses_are_read_as_parseaddr_reads_them(value: str) -> None:
    assert mime._address(value) == parseaddr(value)[1]
