"""Seed 002 (the hosted-PBX notifications API) at ``/kazoo/v2``, against a real ``herald serve``
sending through a real SMTP server: the seed's own examples, its documented answers checked
field by field, a reseller editing its child's templates, the SMTP log, customer updates."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from herald.accounts import service as accounts
from herald.accounts.models import Account
from herald.db import Database
from tests.compat.kazoo import examples as ex
from tests.compat.kazoo.conftest import EMAIL_FROM, Served
from tests.compat.kazoo.seed import assert_documented, curl, envelope, error_envelope, words
from tests.conftest import bearer, settings_for

pytestmark = pytest.mark.e2e
VOICEMAIL = "voicemail_to_email"
RECEIPT = "2.0.0 Ok: queued as B60E22044B"  # the seed's, and the test server's reply


@dataclass
class Tenant:
    """An account of the tree and a key of it."""

    id: uuid.UUID
    key: str

    @property
    def hex(self) -> str:
        """The account id as seed 002 writes it."""
        return self.id.hex


@dataclass
class Tree:
    """A reseller (a root account) with two customers, and a stranger (another root)."""

    served: Served
    http: httpx.AsyncClient
    reseller: Tenant
    customer: Tenant
    second: Tenant
    stranger: Tenant
    token: str
    """The reseller's X-Auth-Token, from PUT /api_auth."""

    def values(self, **more: str) -> dict[str, str]:
        """The seed's placeholders, as the reseller fills them for its customer."""
        return {"AUTH_TOKEN": self.token, "ACCOUNT_ID": self.customer.hex, **more}

    async def run(self, command: str, **more: str) -> httpx.Response:
        """Run a seed curl command with the placeholders filled."""
        return await curl(self.http, command, self.values(**more), base=self.kazoo)

    @property
    def kazoo(self) -> str:
        """Herald's base URL for seed 002."""
        return f"{self.served.url}/kazoo/v2"


async def _account(
    db: Database, name: str, parent: Tenant | None, account_id: str | None
) -> Tenant:
    async with db.sessions() as session, session.begin():
        if account_id is None:
            made = await accounts.create_account(
                session, name=name, parent_id=parent.id if parent else None
            )
        else:  # the seed's own example id, so that its body runs as written
            made_id = uuid.UUID(account_id)
            parent_path = (await session.get(Account, parent.id)).path if parent else "/"
            made = Account(id=made_id, name=name, parent_id=parent.id if parent else None)
            made.path = f"{parent_path}{made_id}/"
            session.add(made)
            await session.flush()
        issued = await accounts.create_key(session, account_id=made.id)
    return Tenant(made.id, issued.plain)


async def _user(http: httpx.AsyncClient, tenant: Tenant, external_id: str, **profile: Any) -> None:
    made = await http.put(f"/v1/users/{external_id}", json=profile, headers=bearer(tenant.key))
    assert made.status_code in (200, 201), made.text


@pytest.fixture(scope="module")
async def tree(served: Served) -> AsyncIterator[Tree]:
    """The accounts, their users, and the reseller's token."""
    db = Database(settings_for(served.database_url))
    try:
        reseller = await _account(db, "Reseller", None, None)
        customer = await _account(db, "Customer", reseller, ex.SEED_RECIPIENT_ID)
        second = await _account(db, "Second customer", reseller, None)
        stranger = await _account(db, "Stranger", None, None)
    finally:
        await db.dispose()
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        await _user(
            http,
            customer,
            ex.SEED_USER_ID,
            admin=True,
            first_name="Ann",
            last_name="Smith",
            email="ann@customer.example",
        )
        await _user(
            http, customer, "bob", first_name="Bob", last_name="Jones", email="bob@customer.example"
        )
        await _user(http, second, "nameless", admin=True, email="nameless@second.example")
        auth = await http.put(
            "/kazoo/v2/api_auth", content=json.dumps({"data": {"api_key": reseller.key}})
        )
        assert auth.status_code == 201, auth.text
        yield Tree(served, http, reseller, customer, second, stranger, auth.json()["auth_token"])


async def _wait(check: Callable[[], Awaitable[Any]], what: str, within: float = 20) -> Any:
    deadline = time.monotonic() + within
    while not (found := await check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return found


def _mail_to(served: Served, address: str, subject: str) -> Callable[[], Awaitable[Any]]:
    async def found() -> EmailMessage | None:
        for received in served.smtp.received:
            if address in received.rcpt_tos:
                message = message_from_bytes(received.content, policy=policy.default)
                assert isinstance(message, EmailMessage)
                if message["Subject"] == subject:
                    return message
        return None

    return found


# --- authentication -------------------------------------------------------------------------


async def test_api_auth_trades_an_api_key_for_a_token(tree: Tree) -> None:
    body = json.dumps({"data": {"api_key": tree.customer.key}})
    answer = await tree.http.put("/kazoo/v2/api_auth", content=body)
    assert answer.status_code == 201, answer.text
    token = answer.json()["auth_token"]
    assert_documented(
        answer.json(),
        envelope(
            {
                "account_id": tree.customer.hex,
                "is_reseller": False,
                "reseller_id": tree.reseller.hex,
            },
            token,
        ),
    )
    reseller = await tree.http.put(
        "/kazoo/v2/api_auth", content=json.dumps({"data": {"api_key": tree.reseller.key}})
    )
    assert reseller.json()["data"]["is_reseller"] is True
    # The token, the key itself and nothing else work as X-Auth-Token.
    for credential in (token, tree.customer.key):
        listed = await tree.run(ex.GET_ACCOUNT, AUTH_TOKEN=credential)
        assert listed.status_code == 200, listed.text
        assert listed.json()["auth_token"] == credential
    wrong = await tree.http.put(
        "/kazoo/v2/api_auth", content=json.dumps({"data": {"api_key": "hk_live_nope"}})
    )
    assert wrong.status_code == 401
    assert_documented(wrong.json(), error_envelope(401, {"code": "unauthorized"}, ""))


# --- the system's templates -----------------------------------------------------------------

SYSTEM_VOICEMAIL = {
    "id": VOICEMAIL,
    "macros": {
        "call_id": {
            "description": "Call ID of the caller",
            "friendly_name": "Call ID",
            "i18n_label": "call_id",
        },
        "caller_id.name": {
            "description": "Caller ID Name",
            "friendly_name": "Caller ID Name",
            "i18n_label": "caller_id_name",
        },
    },
}


async def test_get_available_notification_templates_from_the_system(tree: Tree) -> None:
    answer = await tree.run(ex.GET_SYSTEM)
    assert answer.status_code == 200, answer.text
    assert_documented(answer.json(), envelope([SYSTEM_VOICEMAIL], tree.token))
    listed = {doc["id"]: doc for doc in answer.json()["data"]}
    assert {"customer_update", VOICEMAIL} <= set(listed)
    assert not any("account_overridden" in doc for doc in listed.values())
    # As the seed's request is written (with the account in the URL) it lists the same ids.
    as_written = await tree.run(ex.GET_SYSTEM_AS_WRITTEN)
    assert as_written.status_code == 200, as_written.text
    assert {doc["id"] for doc in as_written.json()["data"]} >= set(listed)


async def test_get_notification_configuration(tree: Tree) -> None:
    answer = await tree.run(ex.GET_CONFIGURATION, NOTIFICATION_ID=VOICEMAIL)
    assert answer.status_code == 200, answer.text
    documented = {
        "id": VOICEMAIL,
        "macros": dict,
        "templates": {"text/html": {"length": int}, "text/plain": {"length": int}},
    }
    assert_documented(answer.json(), envelope(documented, tree.token))
    assert "account_overridden" not in answer.json()["data"]  # the system default
    # A template without a sender shows the server's (HERALD_EMAIL_FROM), which it sends from.
    update = await tree.run(ex.GET_CONFIGURATION, NOTIFICATION_ID="customer_update")
    assert update.json()["data"]["from"] == EMAIL_FROM


# --- an account's templates -----------------------------------------------------------------

PUT_ANSWER = {
    "enabled": True,
    "from": "reseller@resellerdomain.com",
    "id": VOICEMAIL,
    "macros": {
        "user.first_name": {
            "description": words(
                "If the voicemail box has an owner id, this is the first name of that user. "
                "Not always present"
            ),
            "friendly_name": "First Name",
            "i18n_label": "first_name",
        },
        "user.last_name": {
            "description": words(
                "If the voicemail box has an owner id, this is the last name of that user. "
                "Not always present"
            ),
            "friendly_name": "Last Name",
            "i18n_label": "last_name",
        },
    },
    "subject": "Hello {{user.first_name}}, you recieved a new voicemail!",
    "template_charset": "utf-8",
    "to": {"email_addresses": ["user@account.com"], "type": "specified"},
}


async def test_create_a_notification_template(tree: Tree) -> None:
    # As written, "to.type" is "users": no type the seed's table of parameters allows.
    literal = await tree.run(ex.PUT_ACCOUNT, NOTIFICATION_ID=VOICEMAIL)
    assert literal.status_code == 400, literal.text
    assert_documented(literal.json(), error_envelope(400, {"to.type": {"enum": dict}}, tree.token))
    fixed = ex.PUT_ACCOUNT.replace('"type": "users"', '"type": "specified"')
    answer = await tree.run(fixed, NOTIFICATION_ID=VOICEMAIL)
    assert answer.status_code in (200, 201), answer.text
    assert_documented(
        answer.json(), envelope({**PUT_ANSWER, "account_overridden": True}, tree.token)
    )
    # Only an id the system defaults have may be created.
    missing = await tree.run(fixed, NOTIFICATION_ID="no_such_default")
    assert missing.status_code == 404, missing.text
    assert_documented(missing.json(), error_envelope(404, {"code": "not_found"}, tree.token))


async def test_account_overrides_are_marked_and_system_defaults_are_not(tree: Tree) -> None:
    fixed = ex.PUT_ACCOUNT.replace('"type": "users"', '"type": "specified"')
    assert (await tree.run(fixed, NOTIFICATION_ID=VOICEMAIL)).status_code in (200, 201)
    answer = await tree.run(ex.GET_ACCOUNT)
    assert answer.status_code == 200, answer.text
    documented = [{**SYSTEM_VOICEMAIL, "account_overridden": True}]
    assert_documented(answer.json(), envelope(documented, tree.token))
    by_id = {doc["id"]: doc for doc in answer.json()["data"]}
    assert "account_overridden" not in by_id["customer_update"]
    one = await tree.run(ex.GET_ONE, NOTIFICATION_ID=VOICEMAIL)
    assert one.status_code == 200, one.text
    assert_documented(
        one.json(), envelope({"id": VOICEMAIL, "account_overridden": True}, tree.token)
    )


async def test_update_a_notification_configuration(tree: Tree) -> None:
    literal = await tree.run(ex.POST_ONE, NOTIFICATION_ID=VOICEMAIL)
    assert literal.status_code == 400  # "to.type": "users" again
    fixed = ex.POST_ONE.replace('"type": "users"', '"type": "specified"')
    fixed = fixed.replace("you recieved", "you received")
    answer = await tree.run(fixed, NOTIFICATION_ID=VOICEMAIL)
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["subject"] == "Hello {{user.first_name}}, you received a new voicemail!"
    # Macros are the system's: the ones sent are not taken, and the rest are still there.
    assert "voicemail.length" in data["macros"] and data["account_overridden"] is True


async def test_template_formats_upload_and_accept(tree: Tree) -> None:
    values = {"NOTIFICATION_ID": VOICEMAIL}
    for command in (ex.POST_PLAIN, ex.POST_HTML):
        uploaded = await tree.run(command, **values)
        assert uploaded.status_code == 200, uploaded.text
    html = await tree.run(ex.GET_HTML, **values)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<p>Some Html and {{macro.key}} replaced on render</p>" in html.text
    plain = await tree.run(ex.GET_PLAIN, **values)
    assert (plain.status_code, plain.text) == (200, "some plain text template code")
    assert plain.headers["content-type"].startswith("text/plain")
    tunneled = await tree.http.get(
        f"/kazoo/v2/accounts/{tree.customer.hex}/notifications/{VOICEMAIL}?accept=text/html",
        headers={"X-Auth-Token": tree.token},
    )
    assert tunneled.text == html.text
    config = (await tree.run(ex.GET_ONE, **values)).json()["data"]
    assert config["templates"] == {
        "text/html": {"length": len(html.text)},
        "text/plain": {"length": len(plain.text)},
    }
    refused = await tree.run(ex.GET_HTML.replace("text/html", "image/png"), **values)
    assert refused.status_code == 406
    assert_documented(refused.json(), error_envelope(406, {"code": "not_acceptable"}, tree.token))


async def test_preview_renders_without_saving(tree: Tree) -> None:
    before = (await tree.run(ex.GET_ONE, NOTIFICATION_ID=VOICEMAIL)).json()["data"]
    answer = await tree.run(ex.PREVIEW, NOTIFICATION_ID=VOICEMAIL)
    assert answer.status_code == 200, answer.text
    documented = {
        "subject": "Testing NOTIFICATION",
        "from": "hostedbpx@iptelecom.ie",
        "to": {"email_addresses": ["me@iptelecom.com"]},
        "rendered_templates": {
            "text/plain": "You just recieved an email! It was sent to me@iptelecom.com",
            "text/html": lambda html: "I%2520%25u2661%2520Unicode%2521" in html,
        },
    }
    assert_documented(answer.json(), envelope(documented, tree.token))
    after = (await tree.run(ex.GET_ONE, NOTIFICATION_ID=VOICEMAIL)).json()["data"]
    assert after == before
    broken = ex.PREVIEW.replace("SSUyNTIwJTI1dTI2NjElMjUyMFVuaWNvZGUlMjUyMQ==", "not base64!")
    refused = await tree.run(broken, NOTIFICATION_ID=VOICEMAIL)
    assert refused.status_code == 400
    assert_documented(refused.json(), error_envelope(400, {"html": {"format": dict}}, tree.token))


async def test_remove_a_notification_template(tree: Tree) -> None:
    fixed = ex.PUT_ACCOUNT.replace('"type": "users"', '"type": "specified"')
    assert (await tree.run(fixed, NOTIFICATION_ID="customer_update")).status_code in (200, 201)
    removed = await tree.run(ex.DELETE_ONE, NOTIFICATION_ID="customer_update")
    assert removed.status_code == 200, removed.text
    assert_documented(removed.json(), envelope({"id": "customer_update"}, tree.token))
    back = (await tree.run(ex.GET_ONE, NOTIFICATION_ID="customer_update")).json()["data"]
    assert "account_overridden" not in back  # the system's again
    again = await tree.run(ex.DELETE_ONE, NOTIFICATION_ID="customer_update")
    assert again.status_code == 404


async def test_a_reseller_reads_and_edits_its_childs_templates(tree: Tree) -> None:
    fixed = ex.PUT_ACCOUNT.replace('"type": "users"', '"type": "specified"')
    fixed = fixed.replace("you recieved", "your reseller says you have")
    made = await tree.run(fixed, NOTIFICATION_ID=VOICEMAIL, ACCOUNT_ID=tree.second.hex)
    assert made.status_code in (200, 201), made.text
    # The child sees its reseller's edit as its own template.
    own = await tree.run(
        ex.GET_ONE,
        NOTIFICATION_ID=VOICEMAIL,
        ACCOUNT_ID=tree.second.hex,
        AUTH_TOKEN=tree.second.key,
    )
    assert own.status_code == 200, own.text
    assert own.json()["data"]["subject"].startswith("Hello {{user.first_name}}, your reseller")
    assert own.json()["data"]["account_overridden"] is True
    # Nobody else reaches either account: the child not its reseller's, a stranger neither.
    for key, account in (
        (tree.second.key, tree.reseller.hex),
        (tree.second.key, tree.customer.hex),
        (tree.stranger.key, tree.second.hex),
        (tree.stranger.key, tree.reseller.hex),
    ):
        hidden = await tree.run(
            ex.GET_ONE, NOTIFICATION_ID=VOICEMAIL, ACCOUNT_ID=account, AUTH_TOKEN=key
        )
        assert hidden.status_code == 404, hidden.text
        assert_documented(hidden.json(), error_envelope(404, {"code": "not_found"}, key))
        written = await tree.run(
            fixed, NOTIFICATION_ID=VOICEMAIL, ACCOUNT_ID=account, AUTH_TOKEN=key
        )
        assert written.status_code == 404, written.text


async def test_only_a_root_accounts_admin_changes_system_defaults(tree: Tree) -> None:
    doc = {
        "id": "reseller_news",
        "from": "news@reseller.example",
        "subject": "News",
        "to": {"type": "original"},
    }
    put = {"X-Auth-Token": tree.customer.key}
    refused = await tree.http.put("/kazoo/v2/notifications", json={"data": doc}, headers=put)
    assert refused.status_code == 403, refused.text  # the customer's account is no root
    assert_documented(refused.json(), error_envelope(403, {"code": "forbidden"}, tree.customer.key))
    root = {"X-Auth-Token": tree.token}
    made = await tree.http.put("/kazoo/v2/notifications", json={"data": doc}, headers=root)
    assert made.status_code == 201, made.text
    assert "account_overridden" not in made.json()["data"]
    text = {**root, "Content-Type": "text/plain"}
    uploaded = await tree.http.post(
        "/kazoo/v2/notifications/reseller_news", content="What is new", headers=text
    )
    assert uploaded.json()["data"]["templates"] == {"text/plain": {"length": 11}}
    # Accounts may now make it their own; once removed, neither it nor a new override exists.
    fixed = ex.PUT_ACCOUNT.replace('"type": "users"', '"type": "specified"')
    assert (await tree.run(fixed, NOTIFICATION_ID="reseller_news")).status_code == 201
    removed = await tree.http.delete("/kazoo/v2/notifications/reseller_news", headers=root)
    assert removed.status_code == 200, removed.text
    gone = await tree.http.get("/kazoo/v2/notifications/reseller_news", headers=root)
    assert gone.status_code == 404
    second = await tree.run(fixed, NOTIFICATION_ID="reseller_news", ACCOUNT_ID=tree.second.hex)
    assert second.status_code == 404


# --- the SMTP log and customer updates ------------------------------------------------------


async def _smtp_log_of(tree: Tree, account: Tenant, subject: str) -> dict[str, Any]:
    """The account's SMTP log entry of a delivered email with ``subject`` (waited for)."""

    async def delivered() -> dict[str, Any] | None:
        listed = await tree.run(ex.SMTP_LOG, ACCOUNT_ID=account.hex)
        assert listed.status_code == 200, listed.text
        entries = listed.json()["data"]
        return next(
            (e for e in entries if e.get("subject") == subject and e["status"] == "delivered"),
            None,
        )

    found: dict[str, Any] = await _wait(delivered, f"the SMTP log entry {subject!r}")
    return found


async def test_customer_update_to_all_children_then_one(tree: Tree) -> None:
    # No document: the built-in customer_update template, to every child's admins.
    for command in (ex.CUSTOMER_UPDATE_ALL, ex.CUSTOMER_UPDATE_ALL_FROM_RESELLER):
        sent = await tree.run(
            command,
            **{"ACCOUNT_ID": tree.reseller.hex, "SENDER(RESELLER)_ACCOUNT_ID": tree.reseller.hex},
        )
        assert sent.status_code == 202, sent.text
        documented = {"accounts": 2, "recipients": 2, "ids": [str]}
        assert_documented(sent.json(), envelope(documented, tree.token))
    nameless = await _wait(
        _mail_to(tree.served, "nameless@second.example", "Customer update"), "the customer update"
    )
    assert "Dear customer," in nameless.get_body(("plain",)).get_content()
    one = await tree.run(ex.CUSTOMER_UPDATE_ONE, ACCOUNT_ID=tree.reseller.hex)
    assert one.status_code == 202, one.text
    assert (one.json()["data"]["accounts"], one.json()["data"]["recipients"]) == (1, 1)


async def test_customer_update_variations_of_user_type(tree: Tree) -> None:
    path = f"/kazoo/v2/accounts/{tree.reseller.hex}/notifications/customer_update/message"
    headers = {"X-Auth-Token": tree.token, "Content-Type": "text/plain"}
    expected = {
        ex.ALL_USERS: 3,
        ex.ADMINS_ONLY: 2,
        ex.PARTICULAR_USER.replace("{ACCOUNT_ID}", "bob"): 1,
    }
    for body, recipients in expected.items():
        sent = await tree.http.post(path, content=body, headers=headers)
        assert sent.status_code == 202, sent.text
        assert sent.json()["data"]["recipients"] == recipients
    nobody = await tree.http.post(
        path, content=ex.PARTICULAR_USER.replace("{ACCOUNT_ID}", "zed"), headers=headers
    )
    assert nobody.status_code == 400, nobody.text
    assert_documented(nobody.json(), error_envelope(400, {"user_type": dict}, tree.token))


async def test_customer_update_with_a_full_document_and_its_smtp_log(tree: Tree) -> None:
    path = f"/kazoo/v2/accounts/{tree.reseller.hex}/notifications/customer_update/message"
    headers = {"X-Auth-Token": tree.token, "Content-Type": "text/plain"}
    sent = await tree.http.post(path, content=ex.FULL_DOCUMENT, headers=headers)
    assert sent.status_code == 202, sent.text
    assert (sent.json()["data"]["accounts"], sent.json()["data"]["recipients"]) == (1, 1)
    subject = "Test Reseller customer update"
    mail = await _wait(_mail_to(tree.served, "ann@customer.example", subject), "the update")
    assert mail["From"] == "info@onnet.su"
    assert "Dear Ann Smith." in mail.get_body(("html",)).get_content()
    entry = await _smtp_log_of(tree, tree.customer, subject)
    item = await tree.run(ex.SMTP_LOG_ITEM, SMTP_LOG_ID=entry["id"])
    assert item.status_code == 200, item.text
    documented = {
        "rendered_templates": {
            "text/plain": "Dear Ann Smith.\n\nHere are some more news that we have selected for "
            "you.\n\nBest regards,\nOnNet Innovations Limited.",
            "text/html": lambda html: "<p>Dear Ann Smith.</p>" in html,
        },
        "subject": subject,
        "emails": {"from": "info@onnet.su", "to": ["ann@customer.example"]},
        "receipt": RECEIPT,
        "account_id": tree.customer.hex,
        "account_db": str,
        "template_id": "customer_update",
        "template_account_id": None,  # the system's template, with the document's parts
        "id": entry["id"],
        "created": str,
    }
    assert_documented(item.json(), envelope(documented, tree.token))
    # The list leaves out the bodies; a stranger does not find the entry.
    assert "rendered_templates" not in entry and entry["receipt"] == RECEIPT
    hidden = await tree.run(ex.SMTP_LOG_ITEM, SMTP_LOG_ID=entry["id"], AUTH_TOKEN=tree.stranger.key)
    assert hidden.status_code == 404


async def test_the_smtp_log_names_the_account_whose_template_was_sent(tree: Tree) -> None:
    # A sub-reseller below the reseller makes customer_update its own; its child is sent that.
    db = Database(settings_for(tree.served.database_url))
    try:
        sub = await _account(db, "Sub-reseller", tree.reseller, None)
        leaf = await _account(db, "Leaf", sub, None)
    finally:
        await db.dispose()
    await _user(tree.http, leaf, "dana", email="dana@leaf.example")
    override = {
        "data": {
            "id": "customer_update",
            "from": "care@sub.example",
            "subject": "News from your reseller",
            "to": {"type": "original"},
        }
    }
    made = await tree.http.put(
        f"/kazoo/v2/accounts/{sub.hex}/notifications",
        json=override,
        headers={"X-Auth-Token": sub.key},
    )
    assert made.status_code == 201, made.text
    body = json.dumps({"data": {"recipient_id": leaf.hex, "user_type": "all_users"}})
    path = f"/kazoo/v2/accounts/{tree.reseller.hex}/notifications/customer_update/message"
    sent = await tree.http.post(path, content=body, headers={"X-Auth-Token": tree.token})
    assert sent.status_code == 202, sent.text
    entry = await _smtp_log_of(tree, leaf, "News from your reseller")
    assert (entry["template_id"], entry["template_account_id"]) == ("customer_update", sub.hex)
    assert entry["emails"]["from"] == "care@sub.example"
    assert entry["receipt"] == RECEIPT


async def test_databag_variables(tree: Tree) -> None:
    html = "<p>DataBag test: {{databag.field2.subfield1}}</p>"
    body = {
        "data": {
            "recipient_id": tree.customer.hex,
            "user_type": "bob",
            "subject": "DataBag {{databag.field1}}",
            "html": base64.b64encode(html.encode()).decode(),
            "plain": "DataBag test: {{databag.field2.subfield2}}",
            "databag": {
                "field1": "value1",
                "field2": {"subfield1": "subvalue1", "subfield2": "subvalue2"},
            },
        }
    }
    path = f"/kazoo/v2/accounts/{tree.reseller.hex}/notifications/customer_update/message"
    sent = await tree.http.post(path, json=body, headers={"X-Auth-Token": tree.token})
    assert sent.status_code == 202, sent.text
    mail = await _wait(_mail_to(tree.served, "bob@customer.example", "DataBag value1"), "mail")
    assert mail.get_body(("plain",)).get_content().strip() == "DataBag test: subvalue2"
    assert "DataBag test: subvalue1" in mail.get_body(("html",)).get_content()


async def test_a_missing_recipient_field_is_refused_before_anything_is_sent(tree: Tree) -> None:
    # The document reads user.first_name and user.last_name, which "nameless" has not.
    document = json.loads(ex.FULL_DOCUMENT)
    document["data"].update(recipient_id=tree.second.hex, user_type="nameless")
    path = f"/kazoo/v2/accounts/{tree.reseller.hex}/notifications/customer_update/message"
    before = len(tree.served.smtp.received)
    refused = await tree.http.post(path, json=document, headers={"X-Auth-Token": tree.token})
    assert refused.status_code == 400, refused.text
    data = {
        "user.first_name": {"missing_personalisation": {"message": lambda m: "nameless" in m}},
        "user.last_name": dict,
    }
    assert_documented(refused.json(), error_envelope(400, data, tree.token))
    listed = await tree.run(ex.SMTP_LOG, ACCOUNT_ID=tree.second.hex)
    assert not any(
        e.get("subject") == "Test Reseller customer update" for e in listed.json()["data"]
    )
    await asyncio.sleep(0.3)
    assert not any(
        "nameless@second.example" in r.rcpt_tos and b"Test Reseller" in r.content
        for r in tree.served.smtp.received[before:]
    )


async def test_not_always_present_macros_render_empty(tree: Tree) -> None:
    # voicemail_to_email says user.first_name is "not always present": "nameless" gets it.
    # (The reseller's own version for this account, made above, goes first.)
    removed = await tree.run(ex.DELETE_ONE, NOTIFICATION_ID=VOICEMAIL, ACCOUNT_ID=tree.second.hex)
    assert removed.status_code == 200, removed.text
    sent = await tree.http.post(
        "/v1/notifications",
        json={
            "type": "custom",
            "subType": "message",
            "message": "voicemail",
            "targets": {"users": ["nameless"]},
            "channels": ["email"],
            "template": VOICEMAIL,
            "personalisation": {
                "call_id": "c-1",
                "caller_id": {"name": "Ann", "number": "0123"},
                "voicemail": {"vmbox_name": "Main"},
            },
        },
        headers=bearer(tree.second.key),
    )
    assert sent.status_code == 202, sent.text
    mail = await _wait(
        _mail_to(tree.served, "nameless@second.example", "New voicemail from Ann (0123)"),
        "the voicemail",
    )
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Hello,\n") and "in Main." in text


# --- bad input ------------------------------------------------------------------------------


async def test_bad_input_gets_the_error_envelope(tree: Tree) -> None:
    account = f"/kazoo/v2/accounts/{tree.customer.hex}/notifications"
    token = {"X-Auth-Token": tree.token}
    cases: list[tuple[str, str, dict[str, str], bytes | None, int, dict[str, Any]]] = [
        ("GET", account, {}, None, 401, {"code": "unauthorized"}),
        ("GET", account, {"X-Auth-Token": "not-a-token"}, None, 401, {"code": "unauthorized"}),
        ("GET", "/kazoo/v2/accounts/not-an-id/notifications", token, None, 404, {}),
        ("GET", f"{account}/{'x' * 300}", token, None, 404, {}),
        ("GET", f"{account}/smtplog/nope", token, None, 404, {}),
        ("PUT", account, token, b'{"id": "voicemail_to_email"}', 400, {"data": dict}),
        ("PUT", account, token, b'{"data": ', 400, {"code": "invalid_json"}),
        ("PUT", account, token, b'{"data": []}', 400, {"data": dict}),
        (
            "PUT",
            account,
            token,
            b'{"data": {"id": "voicemail_to_email"}}',
            400,
            {"from": {"required": dict}, "subject": {"required": dict}, "to": {"required": dict}},
        ),
        (
            "POST",
            f"{account}/{VOICEMAIL}",
            {**token, "Content-Type": "image/png"},
            b"\x89PNG",
            400,
            {},
        ),
        (
            "POST",
            f"{account}/{VOICEMAIL}",
            {**token, "Content-Type": "text/html; charset=nope"},
            b"<p>x</p>",
            400,
            {},
        ),
        (
            "POST",
            f"{account}/{VOICEMAIL}",
            {**token, "Content-Type": "text/html"},
            b"{% if %}",
            400,
            {"html": dict},
        ),
        ("PUT", "/kazoo/v2/api_auth", {}, b"{}", 400, {"data": dict}),
        ("PATCH", account, token, None, 405, {}),
        ("GET", "/kazoo/v2/nothing/here", token, None, 404, {}),
        ("PUT", account, token, b'{"data": {"x": "' + b"y" * (2 << 20) + b'"}}', 413, {}),
    ]
    for method, path, headers, body, status, data in cases:
        answer = await tree.http.request(method, path, headers=headers, content=body)
        assert answer.status_code == status, (method, path, answer.text)
        echoed = headers.get("X-Auth-Token", "")
        assert_documented(answer.json(), error_envelope(status, data, echoed))


async def test_openapi_documents_the_routes_and_their_error_envelope(tree: Tree) -> None:
    spec = (await tree.http.get("/openapi.json")).json()
    paths = {p: ops for p, ops in spec["paths"].items() if p.startswith("/kazoo/v2")}
    assert set(paths) == {
        "/kazoo/v2/api_auth",
        "/kazoo/v2/notifications",
        "/kazoo/v2/notifications/{template_id}",
        "/kazoo/v2/accounts/{account_id}/notifications",
        "/kazoo/v2/accounts/{account_id}/notifications/{template_id}",
        "/kazoo/v2/accounts/{account_id}/notifications/{template_id}/preview",
        "/kazoo/v2/accounts/{account_id}/notifications/smtplog",
        "/kazoo/v2/accounts/{account_id}/notifications/smtplog/{smtplog_id}",
        "/kazoo/v2/accounts/{account_id}/notifications/customer_update/message",
    }
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation["tags"] == ["kazoo"], (path, method)
            error = operation["responses"]["4XX"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorEnvelope"}, (path, method)
            assert "422" not in operation["responses"], (path, method)
    envelope_schema = spec["components"]["schemas"]["ErrorEnvelope"]
    assert set(envelope_schema["required"]) == {
        "auth_token",
        "data",
        "error",
        "message",
        "request_id",
        "status",
    }
    put = paths["/kazoo/v2/accounts/{account_id}/notifications"]["put"]["requestBody"]
    data = put["content"]["application/json"]["schema"]["properties"]["data"]
    assert {"from", "subject", "to", "id"} <= set(data["required"])
