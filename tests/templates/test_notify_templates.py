"""Templates pasted from GOV.UK Notify: saved as they are, previewed, and rendered to the same
text and comparable HTML as Notify (its inline styles, inside Herald's plain layout)."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pypdf

from herald.channels.letter.pdf import render_letter_pdf
from tests.conftest import Tenant
from tests.templates.test_notify_format import H2, H3, INSET, LI, TABLE, UL, A, P

# A Notify email template as a service would have written it in Notify's editor.
APPLICATION_RECEIVED = {
    "subject": "We've received your application ((reference number))",
    "text": (
        "# Application received\n"
        "\n"
        "Dear ((first name)),\n"
        "\n"
        "We have received your application for a ((licence type)) licence.\n"
        "\n"
        "## What happens next\n"
        "\n"
        "We will:\n"
        "\n"
        "* check your documents\n"
        "* contact your referees\n"
        "* make a decision within 10 working days\n"
        "\n"
        "((fast track??^ You asked for the fast track service.))\n"
        "\n"
        "---\n"
        "\n"
        "Track your application at https://www.example.gov.uk/track/((reference number))\n"
        "\n"
        "Licensing team"
    ),
}
VALUES = {
    "reference number": "AB-1234",
    "First Name": "Sam",
    "licence_type": "premises",
    "fast track": "yes",
}


async def _preview(
    client: httpx.AsyncClient, tenant: Tenant, template: dict[str, Any], values: dict[str, Any]
) -> httpx.Response:
    created = await client.post("/v1/templates", json=template, headers=tenant.headers)
    assert created.status_code == 201, created.text
    return await client.post(
        f"/v1/templates/{template['id']}/preview",
        json={"personalisation": values},
        headers=tenant.headers,
    )


async def test_a_pasted_notify_email_renders_notify_text_and_html(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    template = {"id": "application-received", "channels": {"email": APPLICATION_RECEIVED}}
    answer = await _preview(client, tenant, template, VALUES)
    assert answer.status_code == 200, answer.text
    email = answer.json()["channels"]["email"]
    assert email["subject"] == "We\u2019ve received your application AB-1234"
    track = "https://www.example.gov.uk/track/AB-1234"
    assert email["text"] == (
        "Application received\n" + "=" * 65 + "\n\n"
        "Dear Sam,\n\n"
        "We have received your application for a premises licence.\n\n\n"
        "What happens next\n" + "-" * 65 + "\n\n"
        "We will:\n\n"
        "\u2022 check your documents\n"
        "\u2022 contact your referees\n"
        "\u2022 make a decision within 10 working days\n\n"
        "You asked for the fast track service.\n\n" + "=-" * 32 + "=\n\n"
        f"Track your application at {track}\n\n"
        "Licensing team\n"
    )
    body = (
        f"{H2}Application received</h2>{P}Dear Sam,</p>"
        f"{P}We have received your application for a premises licence.</p>"
        f"{H3}What happens next</h3>{P}We will:</p>{TABLE}{UL}"
        f"{LI}check your documents</li>{LI}contact your referees</li>"
        f"{LI}make a decision within 10 working days</li></ul></td></tr></table>"
        f"{INSET}{P}You asked for the fast track service.</p></blockquote></div>"
        '<hr style="border: 0; height: 1px; background: #B1B4B6; Margin: 30px 0 30px 0;">'
        f"{P}Track your application at {A.format(track)}{track}</a></p>{P}Licensing team</p>"
    )
    assert body in email["html"]
    assert email["html"].startswith("<!DOCTYPE html>")
    assert "<title>We\u2019ve received your application AB-1234</title>" in email["html"]
    preheader = "Application received Dear Sam, We have received your application"
    assert preheader in email["html"]


async def test_a_notify_template_needs_every_placeholder(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    template = {"id": "needs-values", "channels": {"email": APPLICATION_RECEIVED}}
    answer = await _preview(client, tenant, template, {"first name": "Sam"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "missing_personalisation"
    assert error["message"] == (
        "Missing personalisation: reference number, licence type, fast track"
    )
    macros = (await client.get("/v1/templates/needs-values", headers=tenant.headers)).json()
    assert {"reference number", "first name", "licence type", "fast track"} <= set(
        macros["macros"]
    )


async def test_a_notify_sms_and_letter_render_into_the_pdf(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    letter = {
        "subject": "Your parking permit ((permit number))",
        "body": "Dear ((name)),\n\nYour permit is enclosed.\n\n* valid for zone ((zone))\n"
        "* renew before ((expiry date))",
        "contact_block": "Parking Services\n1 Town Hall Square\n((office phone))",
        "postage": "second",
    }
    sms = {"body": "Hi ((name)), your permit ((permit number)) is on its way."}
    template = {"id": "permit", "channels": {"letter": letter, "sms": sms}}
    values = {"name": "Ms Jones", "permit number": "P-77", "zone": "B", "expiry date": "1 May",
              "office phone": "020 7946 0000"}  # fmt: skip
    answer = await _preview(client, tenant, template, values)
    assert answer.status_code == 200, answer.text
    channels = answer.json()["channels"]
    assert channels["sms"]["body"] == "Hi Ms Jones, your permit P-77 is on its way."
    rendered = channels["letter"]
    assert (rendered["subject"], rendered["postage"]) == ("Your parking permit P-77", "second")
    assert "<h1>Your parking permit P\u201177</h1>" not in rendered["html"]  # subjects keep "-"
    assert "<h1>Your parking permit P-77</h1>" in rendered["html"]
    assert "<ul>\n<li>valid for zone B</li>\n<li>renew before 1 May</li>\n</ul>" in rendered["html"]
    address = ["Ms Jones", "2 High Street", "London"]
    pdf = render_letter_pdf(html=rendered["html"], address_lines=address, postcode="E8 1AA")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("Your parking permit P-77", "Parking Services", "020 7946 0000",
                     "Dear Ms Jones", "valid for zone B", "E8 1AA"):  # fmt: skip
        assert expected in text.replace("\u2011", "-")
