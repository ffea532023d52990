"""Preferences: the account's defaults (``/v1/preferences``) beside what it inherits from the
accounts above it, and one user's preferences in effect with where each choice comes from.

The page edits the account's whole own document: each channel, category and channel, quiet hours
and frequency cap is *inherited* (left out), or set here. It is checked by ``PreferencesIn`` and
by the same category check ``PUT /v1/preferences`` makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from herald.directory import service as directory
from herald.directory.contact import EXTERNAL_ID_PATTERN
from herald.errors import HeraldError
from herald.http.deps import SessionDep
from herald.rules import layers
from herald.rules.decide import allowed
from herald.rules.layers import CategoryChoice, Layer
from herald.rules.schemas import PreferencesIn
from herald.web.console.access import CheckedForm, Visit, console
from herald.web.console.forms import attempt, model, number, problems, text
from herald.web.console.rendering import PAGE_HEADERS, page
from herald.web.console.routing import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Reader = Annotated[Visit, Depends(console("users.read"))]
Writer = Annotated[Visit, Depends(console("users.write"))]
ExternalId = Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN, max_length=255)]
INHERIT, ON, OFF, NONE, SET = "", "on", "off", "none", "set"
CHANNELS = layers.RECIPIENT_CHANNELS
NOTICES = {"saved": "Preferences defaults saved."}


@dataclass(frozen=True)
class Choice:
    """One on/off as a page shows it: in effect, and who decided it (None: nobody, so on)."""

    on: bool
    source: Layer | None


def _choice(chain: list[Layer], category: str | None, channel: str) -> Choice:
    document = layers.in_effect(chain)
    on = (
        allowed(document, {}, category, channel)
        if category
        else document["channels"].get(channel) is not False
    )
    return Choice(on, layers.source_of(chain, category, channel))


def _listed(chain: list[Layer], categories: list[CategoryChoice]) -> list[CategoryChoice]:
    """The categories a page lists first: the account's own, and built-in ones someone chose
    for; the other built-in ones are listed apart, folded."""
    return [c for c in categories if not c.builtin or layers.named_in(chain, c.name)]


def _own_value(value: Any) -> str:
    return INHERIT if value is None else (ON if value else OFF)


async def _defaults_page(
    request: Request,
    session: SessionDep,
    visit: Visit,
    *,
    error: HeraldError | None = None,
    typed: FormData | None = None,
) -> Response:
    chain = await layers.account_layers(session, visit.account)
    inherited, own = chain[:-1], chain[-1].document
    categories = await layers.categories(session, visit.account)
    typed_values = {k: v for k, v in (typed or {}).items() if isinstance(v, str)}
    return page(
        request,
        "preferences.html",
        status_code=error.status_code if error else 200,
        title="Preferences",
        read_only=not visit.can("users.write"),
        channels=CHANNELS,
        categories=categories,
        listed=_listed(chain, categories),
        inherited={
            (c.name if c else None, ch): _choice(inherited, c.name if c else None, ch)
            for c in [None, *categories]
            for ch in CHANNELS
        },
        effective={
            (c.name if c else None, ch): _choice(chain, c.name if c else None, ch)
            for c in [None, *categories]
            for ch in CHANNELS
        },
        own_channels={ch: _own_value((own.get("channels") or {}).get(ch)) for ch in CHANNELS},
        own_categories={
            (c.name, ch): _own_value((own.get("categories") or {}).get(c.name, {}).get(ch))
            for c in categories
            for ch in CHANNELS
        },
        own=own,
        inherited_document=layers.in_effect(inherited),
        quiet_source=layers.field_source(inherited, "quiet_hours"),
        cap_source=layers.field_source(inherited, "frequency_cap"),
        parent_names=[layer.account.name for layer in inherited],
        error=error,
        problems=problems(error),
        typed=typed_values,
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


@router.get("/console/preferences")
async def defaults(request: Request, session: SessionDep, visit: Reader) -> Response:
    """The account's preferences defaults: inherited, overridden here, in effect."""
    return await _defaults_page(request, session, visit)


def _on_off(form: FormData, name: str) -> bool | str | None:
    value = text(form, name)
    if value in (None, INHERIT):
        return None
    return {ON: True, OFF: False}.get(value, value)  # anything else: the model refuses it


def _document(form: FormData, category_names: list[str]) -> dict[str, Any]:
    """The account's own document the form describes (the fields set here, nothing else)."""
    document: dict[str, Any] = {}
    channels = {ch: v for ch in CHANNELS if (v := _on_off(form, f"channel.{ch}")) is not None}
    if channels:
        document["channels"] = channels
    categories: dict[str, dict[str, Any]] = {}
    for name in category_names:
        for ch in CHANNELS:
            if (value := _on_off(form, f"category.{name}.{ch}")) is not None:
                categories.setdefault(name, {})[ch] = value
    if categories:
        document["categories"] = categories
    quiet = text(form, "quiet")
    if quiet == NONE:
        document["quiet_hours"] = None
    elif quiet == SET:
        document["quiet_hours"] = {
            "start": text(form, "quiet_start"),
            "end": text(form, "quiet_end"),
        }
    cap = text(form, "cap")
    if cap == NONE:
        document["frequency_cap"] = None
    elif cap == SET:
        document["frequency_cap"] = {"max": number(form, "cap_max"), "per": text(form, "cap_per")}
    return document


@router.post("/console/preferences")
async def save_defaults(
    form: CheckedForm, request: Request, session: SessionDep, visit: Writer
) -> Response:
    """Replace the account's own defaults, as ``PUT /v1/preferences`` stores them."""

    async def save() -> None:
        names = [c.name for c in await layers.categories(session, visit.account)]
        body = model(PreferencesIn, _document(form, names))
        await layers.replace_account_defaults(session, visit.account, body.given())

    done = await attempt(session, save)
    if isinstance(done, HeraldError):
        return await _defaults_page(request, session, visit, error=done, typed=form)
    return RedirectResponse(
        "/console/preferences?notice=saved", status_code=303, headers=PAGE_HEADERS
    )


@router.get("/console/users/{external_id}/preferences")
async def user_preferences(
    external_id: ExternalId, request: Request, session: SessionDep, visit: Reader
) -> Response:
    """One user's preferences in effect (``GET /v1/users/{id}/preferences``), each choice with
    the account or the user that made it."""
    user = await directory.get_user(
        session, account_id=visit.principal.account_id, external_id=external_id
    )
    chain = await layers.user_layers(session, visit.account, user.id)
    categories = await layers.categories(session, visit.account)
    document = layers.in_effect(chain)
    return page(
        request,
        "user_preferences.html",
        title=f"Preferences of {external_id}",
        user=user,
        channels=CHANNELS,
        categories=categories,
        listed=_listed(chain, categories),
        effective={
            (c.name if c else None, ch): _choice(chain, c.name if c else None, ch)
            for c in [None, *categories]
            for ch in CHANNELS
        },
        document=document,
        quiet_source=layers.field_source(chain, "quiet_hours"),
        own=chain[-1].document,
    )
