"""Turn a rendered ``EmailMessage`` into the bytes sent and an SMTP envelope (shared by email
providers).

Herald's messages have one layout: its headers, then the text, or a multipart/alternative of
the text and the HTML. The bytes are written here rather than through ``email.message``:
building and serialising a message object cost ~1.5 ms per email, mostly the header registry
parsing and folding each value, more than the rest of an attempt together.

- A header value that is printable ASCII, fits on one line and has a shape the registry writes
  back unchanged (words separated by single spaces; addresses as ``addr`` or ``Name <addr>``
  with plain atoms) goes out as it is. Any other value is folded by the email package under the
  same policy as before (RFC 2047 encoded-words for non-ASCII, lines within 78 characters),
  cached by name and value: a notification's From and Subject repeat for every recipient.
- A line break anywhere in a header value, or a header name that is not printable ASCII
  without ``:``, refuses the message: either would let a template add headers of its own.
- Each body is encoded as ``set_content`` chose it before: 7bit when every line is ASCII and
  within 78 characters, otherwise quoted-printable or base64, whichever is shorter on the
  first ten lines; line ends are CRLF.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email import quoprimime
from email.headerregistry import HeaderRegistry, UniqueUnstructuredHeader, UnstructuredHeader
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from typing import cast

from herald.channels.base import EmailMessage, PermanentDeliveryError

DELIVERY_ID_HEADER = "X-Herald-Delivery-Id"

# 7-bit transfer encodings, so the message goes through servers without 8BITMIME.
_POLICY = SMTP.clone(cte_type="7bit")
_MAX_LINE = _POLICY.max_line_length or 78
_SNIFF_LINES = 10

_RESERVED = frozenset(
    h.lower()
    for h in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        DELIVERY_ID_HEADER,
    )
)

# Every character str.splitlines() breaks on: the email package refused these too.
_LINE_BREAK = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_FIELD_NAME = re.compile(r"[!-9;-~]+")
_WORDS = re.compile(r"[!-~]+(?: [!-~]+)*")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR_SPEC = rf"{_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*"
_MAILBOX = rf"(?:{_ATOM}(?: {_ATOM})* <{_ADDR_SPEC}>|{_ADDR_SPEC})"
_MAILBOXES = re.compile(rf"{_MAILBOX}(?:, {_MAILBOX})*")
_MESSAGE_ID = re.compile(rf"<{_ADDR_SPEC}>")
# The common shapes of an address, read without parseaddr (~20 us each, per recipient).
_BARE_ADDRESS = re.compile(_ADDR_SPEC)
_NAMED_ADDRESS = re.compile(rf"{_ATOM}(?: {_ATOM})* <({_ADDR_SPEC})>")


@dataclass(frozen=True)
class Envelope:
    """Who the SMTP transaction is from and to; ``primary`` are the ``To`` addresses."""

    sender: str
    recipients: tuple[str, ...]
    primary: tuple[str, ...]


def envelope_of(message: EmailMessage) -> Envelope:
    """The envelope: every To, Cc and Bcc address once, in order (Bcc lives only here)."""
    primary = _addresses(message.to)
    everyone = _addresses((*message.to, *message.cc, *message.bcc))
    return Envelope(sender=_address(message.from_), recipients=everyone, primary=primary)


def message_id_for(message: EmailMessage) -> str:
    """``<delivery id@sender's domain>``, the same on every attempt of one delivery.

    A stable id lets receivers that collapse copies by Message-ID drop a duplicate sent
    after a connection was lost at the end of the data.
    """
    domain = _address(message.from_).rpartition("@")[2] or "herald.invalid"
    return f"<{message.delivery_id}@{domain}>"


def mime_bytes(message: EmailMessage, *, now: datetime | None = None) -> bytes:
    """The message as sent: multipart/alternative (text, then HTML), or plain text alone.

    Raises PermanentDeliveryError when it cannot be encoded (a header holding a line break,
    a name that is no header name, a template setting one of Herald's headers).
    """
    try:
        head = _headers(message, now or datetime.now(UTC))
        text_encoding, text = _body(message.text)
        if message.html is None:
            return (
                f"{head}MIME-Version: 1.0\r\n{_part_headers('plain', text_encoding)}\r\n"
            ).encode("ascii") + text
        html_encoding, html = _body(message.html)
    except ValueError as exc:
        # Unencodable text (a lone surrogate) or an address the policy cannot write in ASCII:
        # the same message would fail every time.
        raise PermanentDeliveryError(f"the message cannot be encoded: {exc}") from exc
    boundary = _boundary(text, html)
    delimiter = f"--{boundary}\r\n".encode("ascii")
    return b"".join(
        (
            f"{head}MIME-Version: 1.0\r\n"
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n'.encode(
                "ascii"
            ),
            delimiter,
            f"{_part_headers('plain', text_encoding)}\r\n".encode("ascii"),
            text,
            b"\r\n",
            delimiter,
            f"{_part_headers('html', html_encoding)}\r\n".encode("ascii"),
            html,
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        )
    )


def _headers(message: EmailMessage, now: datetime) -> str:
    """Herald's headers first, then the template's own, which may not replace Herald's."""
    lines = [
        _header("From", message.from_, _MAILBOXES),
        _header("To", ", ".join(message.to), _MAILBOXES),
    ]
    if message.cc:
        lines.append(_header("Cc", ", ".join(message.cc), _MAILBOXES))
    if message.reply_to:
        lines.append(_header("Reply-To", ", ".join(message.reply_to), _MAILBOXES))
    lines.append(_header("Subject", message.subject, _WORDS))
    lines.append(f"Date: {format_datetime(now)}\r\n")
    lines.append(_header("Message-ID", message_id_for(message), _MESSAGE_ID))
    lines.append(_header(DELIVERY_ID_HEADER, message.delivery_id, _WORDS))
    for name, value in message.headers.items():
        if not _FIELD_NAME.fullmatch(name):
            raise PermanentDeliveryError(f"{name!r} is not a header name")
        if name.lower() in _RESERVED:
            raise PermanentDeliveryError(f"header {name} is set by Herald, not by the template")
        lines.append(_header(name, value, _WORDS if _unstructured(name) else None))
    return "".join(lines)


def _header(name: str, value: str, plain: re.Pattern[str] | None) -> str:
    """One header line, or its folded lines, ending in CRLF."""
    if _LINE_BREAK.search(value):
        raise PermanentDeliveryError(f"header {name} holds a line break")
    if (
        plain is not None
        and len(name) + len(value) + 2 <= _MAX_LINE
        and "=?" not in value
        and plain.fullmatch(value)
    ):
        return f"{name}: {value}\r\n"
    return _folded(name, value)


@functools.lru_cache(maxsize=512)
def _folded(name: str, value: str) -> str:
    """The header as the email package writes it under ``_POLICY`` (ASCII, CRLF line ends)."""
    try:
        folded = str(_POLICY.header_factory(name, value).fold(policy=_POLICY))
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        # The parser trips over some malformed values (a display name of "."), the same way
        # every time.
        raise ValueError(f"header {name} cannot be written: {exc!r}") from exc
    folded.encode("ascii")  # a UnicodeEncodeError (a ValueError) when the policy can't say it
    # The folder can break a malformed value (an unbalanced quote in a display name) into a
    # line that does not start with white space: a receiver would read it as a header of
    # its own.
    if any(not line.startswith((" ", "\t")) for line in folded.split("\r\n")[1:-1]):
        raise ValueError(f"header {name} does not fold into continuation lines")
    return folded


@functools.lru_cache(maxsize=64)
def _unstructured(name: str) -> bool:
    """Whether the registry reads this header as free text (so a plain value stays as it is)."""
    registry = cast(HeaderRegistry, _POLICY.header_factory).registry
    kind = registry.get(name.lower(), UnstructuredHeader)
    return kind in (UnstructuredHeader, UniqueUnstructuredHeader)


def _part_headers(subtype: str, encoding: str) -> str:
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n"
    )


def _body(text: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, the encoded body with CRLF line ends), chosen as
    ``email.contentmanager.set_text_content`` chooses them for UTF-8 text."""
    lines = text.encode("utf-8").splitlines()
    body = b"\r\n".join(lines) + b"\r\n"
    if max(map(len, lines), default=0) <= _MAX_LINE and body.isascii():
        return "7bit", body
    sniff = b"\r\n".join(lines[:_SNIFF_LINES]) + b"\r\n"
    sniff_qp = quoprimime.body_encode(sniff.decode("latin-1"), _MAX_LINE)
    if len(sniff_qp) > len(binascii.b2a_base64(sniff)):
        return "base64", base64.encodebytes(body).replace(b"\n", b"\r\n")
    if len(lines) <= _SNIFF_LINES:
        return "quoted-printable", sniff_qp.replace("\n", "\r\n").encode("ascii")
    # binascii's encoder (C) rather than quoprimime's (a Python loop per character): the
    # lines differ, the decoded text does not.
    return "quoted-printable", binascii.b2a_qp(body, istext=True)


def _boundary(*bodies: bytes) -> str:
    """A multipart boundary found in no body ("=_" never occurs in QP or base64 text)."""
    while True:
        boundary = f"=_{secrets.token_hex(12)}"
        if not any(boundary.encode("ascii") in body for body in bodies):
            return boundary


def _address(value: str) -> str:
    """The bare address in a header-style value ("Ann <ann@x.org>" → "ann@x.org")."""
    if _BARE_ADDRESS.fullmatch(value):
        return value
    named = _NAMED_ADDRESS.fullmatch(value)
    if named is not None:
        return named.group(1)
    return _parsed_address(value)


@functools.lru_cache(maxsize=256)
def _parsed_address(value: str) -> str:
    return parseaddr(value)[1]


def _addresses(values: tuple[str, ...]) -> tuple[str, ...]:
    """Bare addresses from header-style values, without repeats."""
    return tuple(dict.fromkeys(_address(value) for value in values))
