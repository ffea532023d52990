"""Rendering: strict personalisation, autoescaping, caching, email parts and headers."""

from __future__ import annotations

from typing import Any

import pytest

from herald.errors import MissingPersonalisation, ValidationFailed
from herald.templates.rendering import Part, Renderer, TemplateError, variables_of

CONTEXT: dict[str, Any] = {
    "first_name": "Ann",
    "user": {"first_name": "Ann <b>", "email": "ann@example.com"},
    "payload": {"items": [{"sku": "a1"}], "link": "https://example.com/?a=1&b=2"},
    "account": {"name": "Acme"},
}


def details(error: MissingPersonalisation) -> list[tuple[str, str]]:
    return [(d.path, d.message) for d in error.details]


def test_missing_personalisation_names_every_missing_field() -> None:
    source = (
        "{{ last_name }} {{ user.last_name }} {{ account.plan.name }} {{ nothing.at.all }}"
        " {{ payload.items[0].price }} {{ last_name }}"
    )
    with pytest.raises(MissingPersonalisation) as caught:
        Renderer().render_part(source, CONTEXT, html=False)
    error = caught.value
    assert error.code == "missing_personalisation"
    assert error.status_code == 400
    assert str(error.message) == (
        "Missing personalisation: last_name, user.last_name, account.plan.name,"
        " nothing.at.all, payload.items[0].price"
    )
    assert [path for path, _ in details(error)] == [
        "/personalisation/last_name",
        "/personalisation/user/last_name",
        "/personalisation/account/plan/name",
        "/personalisation/nothing/at/all",
        "/personalisation/payload/items/0/price",
    ]
    assert details(error)[1][1] == "user.last_name is required by the template"


@pytest.mark.parametrize(
    "source",
    [
        "{% if last_name %}x{% endif %}",
        "{% for x in last_name %}{% endfor %}",
        "{{ last_name|length }}",
        "{{ last_name + 1 }}",
        "{{ last_name == 'x' }}",
        "{{ last_name|upper }}",
        "{{ last_name|int }}",
        "{{ last_name() }}",
        "{{ 'x' ~ last_name }}",
    ],
)
def test_every_use_of_a_missing_value_is_an_error(source: str) -> None:
    with pytest.raises(MissingPersonalisation, match="last_name"):
        Renderer().render_part(source, CONTEXT, html=False)


def test_defined_tests_and_defaults_are_not_missing() -> None:
    source = (
        "{% if last_name is defined %}{{ last_name }}{% else %}none{% endif %}"
        " {{ user.last_name|default('friend') }} {{ user.nick.name|default('-') }}"
    )
    assert Renderer().render_part(source, CONTEXT, html=False) == "none friend -"


def test_missing_fields_of_all_parts_are_reported_together() -> None:
    with pytest.raises(MissingPersonalisation) as caught:
        Renderer().render_email(
            subject="Hi {{ title }}",
            html="<p>{{ user.last_name }} {{ title }}</p>",
            text="{{ code }}",
            context=CONTEXT,
        )
    assert [path for path, _ in details(caught.value)] == [
        "/personalisation/title",
        "/personalisation/user/last_name",
        "/personalisation/code",
    ]


def test_render_parts_renders_each_part() -> None:
    rendered = Renderer().render_parts(
        {"title": Part("Hi {{ first_name }}"), "body": Part("<b>{{ user.first_name }}</b>", True)},
        CONTEXT,
        cache_key=("welcome", 1),
    )
    assert rendered == {"title": "Hi Ann", "body": "<b>Ann &lt;b&gt;</b>"}


def test_html_parts_are_autoescaped_and_text_parts_are_not() -> None:
    renderer = Renderer()
    source = "{{ user.first_name }} {{ payload.link }}"
    assert renderer.render_part(source, CONTEXT, html=True) == (
        "Ann &lt;b&gt; https://example.com/?a=1&amp;b=2"
    )
    assert renderer.render_part(source, CONTEXT, html=False) == (
        "Ann <b> https://example.com/?a=1&b=2"
    )


def test_a_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateError, match=r"^Line 3: ") as caught:
        Renderer().render_part("a\nb\n{% for x in %}", CONTEXT, html=False)
    assert caught.value.code == "template_error"


def test_compiled_templates_are_cached_by_key() -> None:
    renderer = Renderer(cache_size=2)
    first = renderer.compile("one", html=False, cache_key=("t", 1, "sms.body"))
    # A key identifies immutable source: the cached template is returned.
    assert renderer.compile("changed", html=False, cache_key=("t", 1, "sms.body")) is first
    assert renderer.compile("one", html=True, cache_key=("t", 1, "sms.body")) is not first
    assert renderer.render_part("x", {}, html=False, cache_key=("t", 1, "sms.body")) == "one"


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    renderer = Renderer(cache_size=2)
    a = renderer.compile("a", html=False, cache_key=("a",))
    b = renderer.compile("b", html=False, cache_key=("b",))
    assert renderer.compile("a", html=False, cache_key=("a",)) is a  # a is now the newest
    renderer.compile("c", html=False, cache_key=("c",))  # evicts b
    assert renderer.compile("a", html=False, cache_key=("a",)) is a
    assert renderer.compile("b", html=False, cache_key=("b",)) is not b


def test_without_a_key_nothing_is_cached() -> None:
    renderer = Renderer()
    assert renderer.compile("a", html=False) is not renderer.compile("a", html=False)


def test_render_email() -> None:
    email = Renderer().render_email(
        subject="  Welcome, {{ first_name }}!\n",
        html=(
            "<html><head><style>p { color: red } @media (max-width: 600px) { p { margin: 0 } }"
            "</style><link rel='stylesheet' href='https://evil.example/x.css'></head>"
            "<body><p>Hi {{ user.first_name }}</p>"
            "<p><a href='{{ payload.link }}'>Open</a></p><ul><li>{{ account.name }}</li></ul>"
            "</body></html>"
        ),
        sender="{{ account.name }} <no-reply@example.com>",
        reply_to="{{ user.email }}",
        context=CONTEXT,
        cache_key=("welcome", 3),
    )
    assert email.subject == "Welcome, Ann!"
    assert '<p style="color: red;">Hi Ann &lt;b&gt;</p>' in email.html
    assert "@media (max-width: 600px)" in email.html
    assert "evil.example" not in email.html
    assert email.text == "Hi Ann <b>\n\nOpen (https://example.com/?a=1&b=2)\n\n- Acme"
    assert email.sender == "Acme <no-reply@example.com>"
    assert email.reply_to == "ann@example.com"


def test_a_given_text_part_is_used_as_is() -> None:
    email = Renderer().render_email(
        subject="s", html="<p>html</p>", text="Plain {{ first_name }}", context=CONTEXT
    )
    assert email.text == "Plain Ann"
    assert email.sender is None
    assert email.reply_to is None


@pytest.mark.parametrize(
    ("field", "pointer"),
    [
        ("subject", "/channels/email/subject"),
        ("sender", "/channels/email/from"),
        ("reply_to", "/channels/email/reply_to"),
    ],
)
@pytest.mark.parametrize("injection", ["x\r\nBcc: victim@example.com", "x\nBcc: v", "x\u2028y"])
def test_header_injection_through_personalisation_is_rejected(
    field: str, pointer: str, injection: str
) -> None:
    parts: dict[str, Any] = {"subject": "s", "html": "<p>h</p>", field: "{{ evil }}"}
    with pytest.raises(ValidationFailed) as caught:
        Renderer().render_email(**parts, context={"evil": injection})
    assert caught.value.code == "validation_failed"
    assert [d.path for d in caught.value.details] == [pointer]


def test_variables_of_lists_dotted_context_variables() -> None:
    source = (
        "{{ first_name }} {{ user.first_name }} {{ name.upper() }} {{ payload['order'].id }}"
        "{% for item in payload.items %}{{ item.sku }}{{ loop.index }}{% endfor %}"
        "{% set local = 1 %}{{ local }}"
        "{% macro m(arg) %}{{ arg.x }}{{ account.name }}{% endmacro %}"
        "{{ nick|default(user.last_name) }} {{ payload.lines[i].total }}"
    )
    assert variables_of(source) == {
        "first_name",
        "user.first_name",
        "name",
        "payload.order.id",
        "payload.items",
        "account.name",
        "nick",
        "user.last_name",
        "payload.lines",
        "i",
    }


def test_variables_of_rejects_a_syntax_error() -> None:
    with pytest.raises(TemplateError, match=r"^Line 1: "):
        variables_of("{{ x")
