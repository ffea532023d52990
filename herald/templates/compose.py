"""Render a template's channels for one recipient, on top of the rendering core.

Builds the context (personalisation at the top level, ``payload``, ``user``, ``account``)
and renders every wanted channel, so that the fields missing from all of them are
reported in one 400. Also the save-time checks: every part compiles, header parts hold
no line break, each channel has the parts it needs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import nh3

from herald.channels.sms.segments import count_segments
from herald.errors import ErrorDetail, MissingPersonalisation, ValidationFailed
from herald.templates.headers import check_header
from herald.templates.notify_format import email_html, email_text, letter_html, preheader
from herald.templates.notify_layout import email_document, letter_document
from herald.templates.notify_markdown import nice_typography, smart_quotes
from herald.templates.rendering import CacheKey, Part, Renderer, TemplateError

HTML_PARTS = frozenset({("email", "html"), ("in_app", "message_formatted"), ("letter", "html")})
HEADER_PARTS = frozenset({("email", "subject"), ("email", "from"), ("email", "reply_to")})
NOT_TEMPLATES = frozenset({"to", "cc", "bcc", "sender", "postage"})
REQUIRED = {
    "email": (("subject",), ("html", "text")),
    "sms": (("body",),),
    "push": (("body",),),
    "in_app": (("message",),),
    "letter": (("html", "body"),),
}


@functools.cache
def renderer() -> Renderer:
    """The process's one renderer (its compiled-template cache is shared by every request)."""
    return Renderer()


def account_fields(account_id: str, name: str, default_locale: str) -> dict[str, str]:
    """What templates see as ``account.*``."""
    return {"id": account_id, "name": name, "default_locale": default_locale}


def user_fields(user: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What templates see as ``user.*``: unknown fields stay missing (never ``None``), and a
    ``name`` is made of the first and last names when not given."""
    if user is None:
        return None
    fields = {key: value for key, value in user.items() if value is not None}
    if "name" not in fields and ("first_name" in fields or "last_name" in fields):
        names = (fields.get("first_name"), fields.get("last_name"))
        fields["name"] = " ".join(str(n) for n in names if n)
    return fields


def context(
    *,
    personalisation: Mapping[str, Any],
    payload: Mapping[str, Any],
    user: Mapping[str, Any] | None,
    account: Mapping[str, str],
    message: str | None = None,
    optional: Iterable[str] = (),
) -> dict[str, Any]:
    """The render context; ``payload``, ``user`` and ``account`` win over personalisation.

    ``optional`` names fields (``user.first_name``) that render empty when missing: the
    macros a template's catalogue says are not always present.
    """
    values: dict[str, Any] = dict(personalisation)
    if message is not None:
        values.setdefault("message", message)
    # Every message is a digest of one unless a digest's delivery gives its events, so one
    # template serves both (docs/rules.md, "Digests").
    values.setdefault("events", [{"payload": dict(payload), "message": message}])
    values.setdefault("count", len(values["events"]))
    values.update(payload=dict(payload), account=dict(account))
    fields = user_fields(user)
    if fields is not None:
        values["user"] = fields
    else:
        values.pop("user", None)
    for name in optional:
        _fill_empty(values, name.split("."))
    return values


def _fill_empty(values: dict[str, Any], path: list[str]) -> None:
    """Set ``path`` to "" where it is missing, copying the mappings on the way (they may be
    the request's own, shared by every recipient); a path through a non-mapping is left."""
    node = values
    for part in path[:-1]:
        child = node.get(part)
        if child is None:
            child = {}
        elif not isinstance(child, Mapping):
            return
        node[part] = child = dict(child)
        node = child
    node.setdefault(path[-1], "")


# Rendered channels: each a mapping of part name to value (API.md's preview shape).
Rendered = dict[str, dict[str, Any]]
ChannelRenderer = Callable[
    [Renderer, Mapping[str, Any], Mapping[str, Any], CacheKey | None], dict[str, Any]
]


def _email(
    r: Renderer, parts: Mapping[str, Any], ctx: Mapping[str, Any], key: CacheKey | None
) -> dict[str, Any]:
    if "html" not in parts:
        return _notify_email(r, parts, ctx, key)
    email = r.render_email(
        subject=parts.get("subject", ""),
        html=parts["html"],
        text=parts.get("text"),
        sender=parts.get("from"),
        reply_to=parts.get("reply_to"),
        context=ctx,
        cache_key=key,
    )
    out: dict[str, Any] = {"subject": email.subject, "html": email.html, "text": email.text}
    out.update({"from": email.sender, "reply_to": email.reply_to})
    return _with_recipients(out, parts)


def _notify_email(
    r: Renderer, parts: Mapping[str, Any], ctx: Mapping[str, Any], key: CacheKey | None
) -> dict[str, Any]:
    """An email whose body is ``text`` in Notify's formatting: HTML and plain text made of it
    as Notify makes them, the subject with Notify's typography; ``body`` is the text with its
    values filled in, before formatting (what Notify answers as an email's body)."""
    names = [n for n in ("subject", "text", "from", "reply_to") if n in parts]
    wanted = {n: Part(parts[n], markdown=n == "text") for n in names}
    out: dict[str, Any] = r.render_parts(wanted, ctx, cache_key=key)
    out["subject"] = notify_subject(out.get("subject", ""))
    for name in ("subject", "from", "reply_to"):
        if name in out:
            out[name] = check_header(out[name].strip(), field=f"/channels/email/{name}")
    body = out["body"] = out.pop("text", "")
    out["html"] = email_document(
        subject=out["subject"], body=email_html(body), preheader=preheader(body)
    )
    out["text"] = email_text(body)
    out.setdefault("from", None)
    out.setdefault("reply_to", None)
    return _with_recipients(out, parts)


def notify_subject(subject: str) -> str:
    """A subject as Notify writes it: smart quotes, its typography, one line."""
    return " ".join(nice_typography(smart_quotes(subject)).split())


def _with_recipients(out: dict[str, Any], parts: Mapping[str, Any]) -> dict[str, Any]:
    for name in ("to", "cc", "bcc"):
        out[name] = parts.get(name)
    return out


def _sms(
    r: Renderer, parts: Mapping[str, Any], ctx: Mapping[str, Any], key: CacheKey | None
) -> dict[str, Any]:
    body = r.render_part(parts["body"], ctx, html=False, cache_key=_key(key, "body"))
    count = count_segments(body)
    return {
        "body": body,
        "sender": parts.get("sender"),
        "encoding": count.encoding,
        "segments": count.segments,
        "characters": count.characters,
        "unicode_characters": count.unicode_characters,
    }


def _rendered_parts(channel: str) -> ChannelRenderer:
    def render(
        r: Renderer, parts: Mapping[str, Any], ctx: Mapping[str, Any], key: CacheKey | None
    ) -> dict[str, Any]:
        wanted = {
            n: Part(src, html=(channel, n) in HTML_PARTS)
            for n, src in parts.items()
            if n not in NOT_TEMPLATES
        }
        out = r.render_parts(wanted, ctx, cache_key=key)
        if "message_formatted" in out:  # shown as HTML in the inbox widget: sanitised
            out["message_formatted"] = nh3.clean(out["message_formatted"])
        return out

    return render


def _letter(
    r: Renderer, parts: Mapping[str, Any], ctx: Mapping[str, Any], key: CacheKey | None
) -> dict[str, Any]:
    """A letter's own HTML, or its Notify parts (``body`` in Notify's formatting) laid out."""
    if "html" in parts:
        out = _rendered_parts("letter")(r, parts, ctx, key)
    else:
        names = [n for n in ("subject", "body", "contact_block") if n in parts]
        wanted = {n: Part(parts[n], markdown=n == "body") for n in names}
        out = r.render_parts(wanted, ctx, cache_key=key)
        out["subject"] = notify_subject(out.get("subject", ""))
        out["html"] = letter_document(
            subject=out["subject"],
            body=letter_html(out.get("body", "")),
            contact_block=out.get("contact_block", ""),
        )
    if "postage" in parts:
        out["postage"] = parts["postage"]
    return out


CHANNEL_RENDERERS: dict[str, ChannelRenderer] = {
    "email": _email,
    "sms": _sms,
    "push": _rendered_parts("push"),
    "in_app": _rendered_parts("in_app"),
    "letter": _letter,
}


def _key(prefix: CacheKey | None, *more: str) -> CacheKey | None:
    return None if prefix is None else (*prefix, *more)


def render_channels(
    channels: Mapping[str, Mapping[str, Any]],
    ctx: Mapping[str, Any],
    *,
    wanted: set[str] | None = None,
    cache_key: CacheKey | None = None,
) -> Rendered:
    """Render the wanted channels the template has; missing fields of all of them in one 400.

    ``cache_key`` identifies the sources exactly, e.g. ``(row_id, version, locale)``.
    """
    rendered: Rendered = {}
    missing: dict[str, ErrorDetail] = {}
    for name, parts in channels.items():
        if wanted is not None and name not in wanted:
            continue
        try:
            rendered[name] = CHANNEL_RENDERERS[name](renderer(), parts, ctx, _key(cache_key, name))
        except MissingPersonalisation as exc:
            missing.update((d.path, d) for d in exc.details)
    if missing:
        names = ", ".join(d.path.removeprefix("/personalisation/") for d in missing.values())
        raise MissingPersonalisation(
            f"Missing personalisation: {names.replace('/', '.')}", details=list(missing.values())
        )
    return rendered


def check_channels(
    channels: Mapping[str, Mapping[str, Any] | None], *, prefix: str = "", complete: bool = True
) -> None:
    """422 naming every problem ``channel_problems`` finds."""
    details = channel_problems(channels, prefix=prefix, complete=complete)
    if details:
        raise ValidationFailed("The template is invalid", details=details)


def channel_problems(
    channels: Mapping[str, Mapping[str, Any] | None], *, prefix: str = "", complete: bool = True
) -> list[ErrorDetail]:
    """Every part that cannot be saved: bad syntax, a line break in a header, and (when
    ``complete``) a channel without the parts it needs. ``None`` (unsaved changes: remove this
    channel or part) has nothing to check."""
    details: list[ErrorDetail] = []
    for channel, parts in channels.items():
        if parts is None:
            continue
        pointer = f"{prefix}/channels/{channel}"
        details += [
            ErrorDetail(pointer, f"needs {' or '.join(alternatives)}")
            for alternatives in REQUIRED[channel]
            if complete and not any(parts.get(name) for name in alternatives)
        ]
        for name, source in parts.items():
            if name not in NOT_TEMPLATES and source is not None:
                details += _part_problems(channel, name, source, f"{pointer}/{name}")
    return details


def _part_problems(channel: str, name: str, source: str, pointer: str) -> list[ErrorDetail]:
    try:
        if (channel, name) in HEADER_PARTS:
            check_header(source, field=pointer)
        renderer().compile(source, html=(channel, name) in HTML_PARTS)
    except ValidationFailed as exc:
        return exc.details
    except TemplateError as exc:
        return [ErrorDetail(pointer, exc.message)]
    return []
