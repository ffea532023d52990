"""An account's rules defaults, over its ancestors' (``store.defaults_of``): the ancestors
come from the accounts' paths, read once per process (a path never changes once made)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from herald.db import Database
from herald.rules import store
from herald.rules.models import ACCOUNT, Preference
from tests.conftest import MakeTenant


async def test_defaults_are_the_ancestors_and_paths_are_read_once(
    db: Database, make_tenant: MakeTenant
) -> None:
    root = await make_tenant("root")
    child = await make_tenant("child", parent=root)
    grandchild = await make_tenant("grandchild", parent=child)
    async with db.sessions() as session, session.begin():
        session.add_all(
            [
                Preference(
                    account_id=root.account_id,
                    subject=ACCOUNT,
                    document={"channels": {"sms": False}, "quiet_hours": None},
                ),
                Preference(
                    account_id=child.account_id,
                    subject=ACCOUNT,
                    document={"categories": {"news": {"email": False}}},
                ),
            ]
        )
    wanted = [root.account_id, grandchild.account_id]
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        for _ in range(2):
            async with db.sessions() as session:
                found = await store.defaults_of(session, wanted)
            assert found[root.account_id]["channels"] == {"sms": False}
            assert found[grandchild.account_id]["channels"] == {"sms": False}
            assert found[grandchild.account_id]["categories"] == {"news": {"email": False}}
            assert found[root.account_id]["categories"] == {}
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert len([s for s in sent if "FROM accounts" in s]) == 1  # the first call's only
    assert len([s for s in sent if "FROM preferences" in s]) == 2
