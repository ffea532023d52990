"""``herald accounts``, ``herald keys`` and ``herald senders``: bootstrap and look after tenants.

The CLI acts as every account's ancestor: it may create keys anywhere and decide sender names.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from herald.accounts import scopes as scope_rules
from herald.cli.common import (
    JsonOption,
    existing_account,
    in_transaction,
    out,
    parse_id,
    print_result,
    run,
    transaction,
)
from herald.config import Settings
from herald.errors import NotFound

# The accounts service, its models and SQLAlchemy are imported by each command when it runs
# (herald.cli.common says why).
if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

accounts_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
senders_app = typer.Typer(help="Decide on accounts' SMS sender names.", no_args_is_help=True)
AccountOption = Annotated[str, typer.Option("--account", help="The account's id.")]


@accounts_app.command("create")
def accounts_create(
    name: str,
    parent: Annotated[str | None, typer.Option(help="Parent account id.")] = None,
    as_json: Annotated[bool, JsonOption] = False,
) -> None:
    """Create an account and a key holding every scope."""
    parent_id = parse_id(parent, "--parent") if parent else None
    from herald.accounts import service

    async def work(session: AsyncSession) -> dict[str, str]:
        account = await service.create_account(session, name=name, parent_id=parent_id)
        issued = await service.create_key(session, account_id=account.id, name="bootstrap")
        return {
            "account_id": str(account.id),
            "api_key": issued.plain,
            "key_id": str(issued.key.id),
        }

    print_result(transaction(work), as_json, secret=True)


@accounts_app.command("list")
def accounts_list(as_json: Annotated[bool, JsonOption] = False) -> None:
    """Every account, in creation order, with its parent."""
    from sqlalchemy import select

    from herald.accounts.models import Account

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        rows = await session.scalars(select(Account).order_by(Account.id))
        return [
            {
                "account_id": str(a.id),
                "name": a.name,
                "parent_id": str(a.parent_id) if a.parent_id else None,
                "created_at": a.created_at.isoformat(),
            }
            for a in rows
        ]

    _print_rows(transaction(work), as_json, title="Accounts")


@keys_app.command("create")
def keys_create(
    account: AccountOption,
    scope: Annotated[list[str] | None, typer.Option(help="A scope; repeat for several.")] = None,
    test: Annotated[
        bool, typer.Option("--test", help="A test key: never reaches a provider.")
    ] = False,
    notify: Annotated[
        bool, typer.Option("--notify", help="A GOV.UK Notify-format key, for the /v2 routes.")
    ] = False,
    key_type: Annotated[
        str | None, typer.Option("--type", help="A Notify key's type: live, team or test.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="The key's name (a Notify key's first part).")
    ] = None,
    as_json: Annotated[bool, JsonOption] = False,
) -> None:
    """Create an API key for an account (with --notify, a GOV.UK Notify-format key)."""
    for item in scope or []:
        if not scope_rules.is_valid(item):
            raise typer.BadParameter(f"unknown scope {item!r}", param_hint="--scope")
    if key_type is not None and not notify:
        raise typer.BadParameter(
            "--type is for Notify-format keys: add --notify", param_hint="--type"
        )
    if key_type is not None:
        from herald.accounts.tokens import NOTIFY_KEY_TYPES

        if key_type not in NOTIFY_KEY_TYPES:
            raise typer.BadParameter("use live, team or test", param_hint="--type")
    if notify and test:
        raise typer.BadParameter("a Notify test key is --type test", param_hint="--test")
    account_id = parse_id(account, "--account")
    from herald.accounts import service

    async def work(session: AsyncSession, settings: Settings) -> dict[str, Any]:
        await existing_account(session, account_id)
        if notify:
            from herald.accounts.secrets import load_signing_key

            issued = await service.create_notify_key(
                session,
                account_id=account_id,
                key_type=key_type or "live",
                name=name or "herald",
                sealing_key=await load_signing_key(session, settings),
                scopes=scope,
            )
        else:
            issued = await service.create_key(
                session, account_id=account_id, scopes=scope, test=test, name=name or ""
            )
        return {
            "key_id": str(issued.key.id),
            "api_key": issued.plain,
            "scopes": issued.key.scopes,
            "test": issued.key.test,
            "type": issued.key.notify_type,
        }

    result = run(lambda settings: in_transaction(settings, lambda s: work(s, settings)))
    print_result(result, as_json, secret=True)


@keys_app.command("list")
def keys_list(account: AccountOption, as_json: Annotated[bool, JsonOption] = False) -> None:
    """An account's keys: ids, prefixes, scopes, whether revoked (never the keys)."""
    account_id = parse_id(account, "--account")
    from herald.accounts import service

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        await existing_account(session, account_id)
        return [
            {
                "key_id": str(k.id),
                "name": k.name,
                "prefix": k.prefix,
                "scopes": " ".join(k.scopes),
                "test": k.test,
                "type": k.notify_type,
                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            }
            for k in await service.list_keys(session, account_id=account_id)
        ]

    _print_rows(transaction(work), as_json, title="Keys")


@keys_app.command("revoke")
def keys_revoke(key_id: str, as_json: Annotated[bool, JsonOption] = False) -> None:
    """Revoke a key now (its access tokens stop working too)."""
    key_uuid = parse_id(key_id, "KEY_ID")
    from herald.accounts import service
    from herald.accounts.models import ApiKey

    async def work(session: AsyncSession) -> dict[str, Any]:
        key = await session.get(ApiKey, key_uuid)
        if key is None:
            raise NotFound(f"No key {key_uuid}")
        await service.revoke_key(session, account_id=key.account_id, key_id=key.id)
        return {"key_id": str(key.id), "revoked": True}

    print_result(transaction(work), as_json)


def _decide_sender(account: str, name: str, status: str) -> None:
    from herald.sms import senders

    account_id = parse_id(account, "--account")

    async def work(session: AsyncSession) -> str:
        found = await existing_account(session, account_id)
        sender = await senders.decide(
            session, account=found, name=name, status=senders.SenderStatus(status)
        )
        return str(sender.status)

    typer.echo(f"{name}: {transaction(work)}")


@senders_app.command("approve")
def senders_approve(name: str, account: AccountOption) -> None:
    """Approve an account's sender name."""
    _decide_sender(account, name, "approved")


@senders_app.command("reject")
def senders_reject(name: str, account: AccountOption) -> None:
    """Reject an account's sender name."""
    _decide_sender(account, name, "rejected")


def _print_rows(rows: list[dict[str, Any]], as_json: bool, *, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(rows))
        return
    if not rows:
        out.print(f"No {title.lower()}.")
        return
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    out.print(table)
