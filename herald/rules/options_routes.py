"""``GET /v1/me/preferences/options``: what a preferences view offers the signed-in user.

``GET /v1/me/preferences`` answers the document in effect; a page that lets the user change it
also needs the categories there are (and which are locked because they are mandatory), the
user's timezone (quiet hours are read in it), and the user's own choices apart from what the
account tree gives, so that saving sends the user's own document with the changes and does
not freeze today's defaults into it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from herald.accounts.auth import UserDep
from herald.accounts.models import Account
from herald.directory.models import User
from herald.errors import NotFound
from herald.http.deps import SessionDep
from herald.rules import layers
from herald.rules.schemas import PreferencesOut

router = APIRouter(tags=["preferences"])


class CategoryOption(BaseModel):
    """A category the account sends; a mandatory one ignores opt-outs (shown locked)."""

    name: str
    mandatory: bool
    builtin: bool = Field(description="Carried only by Herald's built-in types")


class PreferenceOptions(BaseModel):
    """What a preferences view shows: the choices, the user's timezone and both layers."""

    channels: list[str] = Field(description="The channels a recipient turns on or off")
    categories: list[CategoryOption]
    timezone: str | None = Field(description="The user's IANA timezone (quiet hours); UTC if null")
    inherited: PreferencesOut = Field(description="The account tree's defaults in effect")
    own: dict[str, Any] = Field(
        description="The user's own stored choices (the fields PUT /v1/me/preferences set)"
    )


@router.get("/v1/me/preferences/options", response_model=PreferenceOptions)
async def get_my_preference_options(session: SessionDep, caller: UserDep) -> PreferenceOptions:
    """What a preferences view offers the signed-in user.

    The categories and channels they may choose between, their timezone, the account's
    defaults in effect and the user's own choices."""
    account = await session.get(Account, caller.account_id)
    user = await session.get(User, caller.user_id)
    if account is None or user is None:
        raise NotFound("No such user")
    tree = await layers.user_layers(session, account, user.id)
    return PreferenceOptions(
        channels=list(layers.RECIPIENT_CHANNELS),
        categories=[
            CategoryOption(name=c.name, mandatory=c.mandatory, builtin=c.builtin)
            for c in await layers.categories(session, account)
        ],
        timezone=user.timezone,
        inherited=PreferencesOut.model_validate(layers.in_effect(tree[:-1])),
        own=tree[-1].document,
    )
