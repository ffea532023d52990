"""Notify's placeholders ``((name))`` and ``((name??text))`` beside Jinja's, strict as always.

The replacement cases are GOV.UK Notify's own (notifications-utils ``Field``): how values
are written, which values show a conditional's text, how lists are written.
"""

from __future__ import annotations

from typing import Any

import pytest

from herald.errors import MissingPersonalisation
from herald.templates.catalogue import template_macros
from herald.templates.notify_format import email_html, email_text
from herald.templates.notify_placeholders import sanitised
from herald.templates.rendering import Part, Renderer
from herald.templates.variables import variables_of

RENDERER = Renderer()


def render(source: str, values: dict[str, Any], *, html: bool = False) -> str:
    return RENDERER.render_part(source, values, html=html)


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("((colour))", {"colour": "red"}, "red"),
        ("the quick ((colour)) fox", {"colour": "brown"}, "the quick brown fox"),
        ("((article)) quick ((colour)) ((animal))",
         {"article": "the", "colour": "brown", "animal": "fox"}, "the quick brown fox"),
        ("the quick (((colour))) fox", {"colour": "brown"}, "the quick (brown) fox"),
        ("before ((placeholder)) after", {"placeholder": ""}, "before  after"),
        ("before ((placeholder)) after", {"placeholder": True}, "before True after"),
        ("before ((placeholder)) after", {"placeholder": 0}, "before 0 after"),
        ("before ((placeholder)) after", {"placeholder": 0.1 + 0.2},
         "before 0.30000000000000004 after"),
        ("((warning?))", {"warning?": "This is not a conditional"}, "This is not a conditional"),
        ("((warning??This is a conditional warning))", {"warning": True},
         "This is a conditional warning"),
        ("((warning??This is a conditional warning\nwith line break))", {"warning": True},
         "This is a conditional warning\nwith line break"),
        ("((warning??This is a conditional warning))", {"warning": False}, ""),
        ("((warning??foo??bar))", {"warning": True}, "foo??bar"),
        ("((warning??foo??bar))", {"warning": False}, ""),
        ("Report to the ((>location)) office at ((&time)).",
         {">location": "London", "&time": "09:00"}, "Report to the London office at 09:00."),
        ("Dear ((First Name))", {"first_name": "Ann"}, "Dear Ann"),
        ("Dear ((first-name))", {"FIRST NAME": "Ann"}, "Dear Ann"),
        ("Hi (( name ))", {"name": "Ann"}, "Hi Ann"),
        ("((user.first_name)) of ((account.name))",
         {"user": {"first_name": "Ann"}, "account": {"name": "Acme"}}, "Ann of Acme"),
        ("{{ ((1 + 2)) * 2 }} ((n))", {"n": "x"}, "6 x"),
        ("{{ first_name }} ((first_name))", {"first_name": "Ann"}, "Ann Ann"),
        ("the ((quick brown fox", {}, "the ((quick brown fox"),
        ("the (()) brown fox", {}, "the (()) brown fox"),
    ],
)  # fmt: skip
def test_placeholders_are_replaced_as_notify_replaces_them(
    source: str, values: dict[str, Any], expected: str
) -> None:
    assert render(source, values) == expected


@pytest.mark.parametrize("value", [1, "1", "yes", "y", "true", "True", True, "include", "show"])
def test_what_shows_a_conditional_text(value: Any) -> None:
    assert render("((flag??shown))", {"flag": value}) == "shown"


@pytest.mark.parametrize(
    "value",
    ["0", 0, 2, 99.99999, "off", "exclude", "no", "any random string", "false", False, [],
     {}, ["true"], {"True": True}],
)  # fmt: skip
def test_what_hides_a_conditional_text(value: Any) -> None:
    assert render("((flag??shown))", {"flag": value}) == ""


@pytest.mark.parametrize(
    ("value", "plain", "markdown"),
    [
        ([], "list: ", "list: "),
        (["", ""], "list: ", "list: "),
        (["one"], "list: one", "list: \n\n* one"),
        (["one", "two"], "list: one and two", "list: \n\n* one\n* two"),
        (["one", "two", "three"], "list: one, two and three", "list: \n\n* one\n* two\n* three"),
        (["one", None, None], "list: one", "list: \n\n* one"),
        ([0.1, True, False], "list: 0.1, True and False", "list: \n\n* 0.1\n* True\n* False"),
    ],
)
def test_lists_are_written_as_notify_writes_them(value: Any, plain: str, markdown: str) -> None:
    values = {"placeholder": value}
    assert render("list: ((placeholder))", values) == plain
    parts = {"body": Part("list: ((placeholder))", markdown=True)}
    assert RENDERER.render_parts(parts, values) == {"body": markdown}


def test_values_are_escaped_in_html_parts() -> None:
    values = {"colour": "<script>alert('foo')</script>"}
    html = render("the quick ((colour)) fox", values, html=True)
    assert html == "the quick &lt;script&gt;alert(&#39;foo&#39;)&lt;/script&gt; fox"


def test_a_sanitised_value_shows_its_markdown_as_typed_and_loses_its_urls() -> None:
    typed = ["## Win", "• free", "^ note", "1. first", "see www.x.example or https://x.example/a"]
    values = {"items": sanitised(typed), "line": sanitised("* [x](https://x.example) ***")}
    parts = {"body": Part("((line))\n\n((items))", markdown=True)}
    body = RENDERER.render_parts(parts, values)["body"]
    text, html = email_text(body), email_html(body)
    for shown in ("* [x]() ***", "## Win", "• free", "^ note", "1. first", "see www.x.example or"):
        assert shown in text and shown in html
    assert "https://" not in text + html and "<h2" not in html and "<hr" not in html
    assert "<a " not in html and "<blockquote" not in html and html.count("<li") == 5
    # Outside Notify's formatting (a subject, an SMS) only the URLs go.
    assert render("((line))", values) == "* [x]() ***"


def test_a_missing_value_names_every_missing_field_of_both_syntaxes() -> None:
    parts = {
        "subject": Part("((reference number)) for ((name))"),
        "body": Part("{{ first_name }} ((show??x)) ((colour))"),
    }
    with pytest.raises(MissingPersonalisation) as caught:
        RENDERER.render_parts(parts, {"name": "Ann", "colour": None})
    names = "reference number, first_name, show, colour"
    assert caught.value.message == f"Missing personalisation: {names}"
    assert [d.path for d in caught.value.details] == [
        "/personalisation/reference number",
        "/personalisation/first_name",
        "/personalisation/show",
        "/personalisation/colour",
    ]


def test_variables_and_the_macro_catalogue_know_notify_placeholders() -> None:
    source = "Dear ((First name)), ((has ref??Your reference is ready)) {{ user.email }}"
    assert variables_of(source) == {"First name", "has ref", "user.email"}
    catalogue = template_macros([source], schema=None, has_message=False)
    assert catalogue["First name"] == {
        "description": "A personalisation field this template uses",
        "friendly_name": "First Name",
        "i18n_label": "first_name",
    }
