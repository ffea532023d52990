"""Notify's formatting rendered as GOV.UK Notify renders it.

The expected HTML and plain text are what notifications-utils (``notify_email_markdown``,
``notify_plain_text_email_markdown``, ``notify_letter_preview_markdown``) produces for the
same input, as its own tests record it; the styles are Notify's inline styles.
"""

from __future__ import annotations

import pytest

from herald.templates.notify_format import email_html, email_text, letter_html, preheader

P = '<p style="Margin: 0 0 20px 0; font-size: 19px; line-height: 25px; color: #0B0C0C;">'
A = '<a style="word-wrap: break-word; color: #1D70B8;" href="{}">'
H2 = (
    '<h2 style="Margin: 0 0 15px 0; padding: 10px 0 0 0; font-size: 27px; '
    'line-height: 35px; font-weight: bold; color: #0B0C0C;">'
)
H3 = (
    '<h3 style="Margin: 0 0 15px 0; padding: 10px 0 0 0; font-size: 19px; '
    'line-height: 25px; font-weight: bold; color: #0B0C0C;">'
)
HR = '<hr style="border: 0; height: 1px; background: #B1B4B6; Margin: 30px 0 30px 0;">'
INSET = (
    '<div style="Margin: 0 0 20px 0;"><blockquote style="Margin: 0; border-left: 10px solid '
    '#B1B4B6;padding: 15px 0 0.1px 15px; font-size: 19px; line-height: 25px;">'
)
TABLE = (
    '<table role="presentation" style="padding: 0 0 20px 0;"><tr>'
    '<td style="font-family: Helvetica, Arial, sans-serif;">'
)
UL = '<ul style="Margin: 0 0 0 20px; padding: 0; list-style-type: disc;">'
OL = '<ol style="Margin: 0 0 0 20px; padding: 0; list-style-type: decimal;">'
LI = (
    '<li style="Margin: 5px 0 5px; padding: 0 0 0 5px; font-size: 19px;'
    'line-height: 25px; color: #0B0C0C;">'
)
RULE_TEXT = "=-" * 32 + "="
OL_END = "</ol></td></tr></table>"
UL_END = "</ul></td></tr></table>"


def items(*texts: str) -> str:
    return "".join(f"{LI}{text}</li>" for text in texts)


CASES = [
    # (Notify source, email HTML, plain text without its leading blank lines)
    ("http://example.com", f"{P}{A.format('http://example.com')}http://example.com</a></p>",
     "http://example.com"),
    ("this link is in brackets (http://example.com)",
     f"{P}this link is in brackets ({A.format('http://example.com')}http://example.com</a>)</p>",
     "this link is in brackets (http://example.com)"),
    ("http://service.gov.uk/blah.ext?q=a%20b%20c&order=desc#fragment",
     f"{P}{A.format('http://service.gov.uk/blah.ext?q=a%20b%20c&order=desc#fragment')}"
     "http://service.gov.uk/blah.ext?q=a%20b%20c&amp;order=desc#fragment</a></p>",
     "http://service.gov.uk/blah.ext?q=a%20b%20c&order=desc#fragment"),
    ("www.example.com", f"{P}www.example.com</p>", "www.example.com"),
    ("test@example.com", f"{P}test@example.com</p>", "test@example.com"),
    ("^ inset text", f"{INSET}{P}inset text</p></blockquote></div>", "inset text"),
    ("# heading", f"{H2}heading</h2>", "heading\n" + "=" * 65),
    ("#heading", f"{H2}heading</h2>", "heading\n" + "=" * 65),
    ("## heading", f"{H3}heading</h3>", "heading\n" + "-" * 65),
    ("### inset text", f"{P}inset text</p>", "inset text"),
    ("a\n\n***\n\nb", f"{P}a</p>{HR}{P}b</p>", f"a\n\n{RULE_TEXT}\n\nb"),
    ("a\n\n---\n\nb", f"{P}a</p>{HR}{P}b</p>", f"a\n\n{RULE_TEXT}\n\nb"),
    ("1. one\n2. two\n3. three\n", f"{TABLE}{OL}{items('one', 'two', 'three')}{OL_END}",
     "1. one\n2. two\n3. three"),
    ("1.one\n2.two\n3.three\n", f"{TABLE}{OL}{items('one', 'two', 'three')}{OL_END}",
     "1. one\n2. two\n3. three"),
    ("*one\n*two\n*three\n", f"{TABLE}{UL}{items('one', 'two', 'three')}{UL_END}",
     "• one\n• two\n• three"),
    ("* one\n* two\n* three\n", f"{TABLE}{UL}{items('one', 'two', 'three')}{UL_END}",
     "• one\n• two\n• three"),
    ("- one\n- two\n- three\n", f"{TABLE}{UL}{items('one', 'two', 'three')}{UL_END}",
     "• one\n• two\n• three"),
    ("• one\n• two\n• three\n", f"{TABLE}{UL}{items('one', 'two', 'three')}{UL_END}",
     "• one\n• two\n• three"),
    ("+ one\n+ two\n+ three\n", f"{P}+ one</p>{P}+ two</p>{P}+ three</p>",
     "+ one\n\n+ two\n\n+ three"),
    ("line one\nline two\n\nnew paragraph", f"{P}line one<br>line two</p>{P}new paragraph</p>",
     "line one\nline two\n\nnew paragraph"),
    ("before\n\n\n\n\n\nafter", f"{P}before</p>{P}after</p>", "before\n\nafter"),
    ("col | col\n----|----\nval | val\n", "", ""),
    ("variable called `thing`", f"{P}variable called `thing`</p>", "variable called `thing`"),
    ("something **important**", f"{P}something **important**</p>", "something **important**"),
    ("something *important*", f"{P}something *important*</p>", "something *important*"),
    ("something _important_", f"{P}something _important_</p>", "something _important_"),
    ("foo ****** bar", f"{P}foo ****** bar</p>", "foo ****** bar"),
    ("~~Strike~~", f"{P}~~Strike~~</p>", "~~Strike~~"),
    ("![alt text](http://example.com/image.png)", "", ""),
    ('```\nprint("hello")\n```', 'print("hello")', 'print("hello")'),
    ("[Example](http://example.com)", f"{P}{A.format('http://example.com')}Example</a></p>",
     "Example: http://example.com"),
    ('[Example](http://example.com "An example URL")',
     f'{P}<a style="word-wrap: break-word; color: #1D70B8;" href="http://example.com" '
     'title="An example URL">Example</a></p>',
     "Example (An example URL): http://example.com"),
    ("Visit our [website](www.example.com/xyz).",
     f"{P}Visit our {A.format('http://www.example.com/xyz')}website</a>.</p>",
     "Visit our website: www.example.com/xyz."),
    ("Visit our [website](https://www.example.com/xyz).",
     f"{P}Visit our {A.format('https://www.example.com/xyz')}website</a>.</p>",
     "Visit our website: https://www.example.com/xyz."),
    ("https://example.com/login?redirect=%2Fhomepage%3Fsuccess=true%26page=blue",
     f"{P}{A.format('https://example.com/login?redirect=%2Fhomepage%3Fsuccess=true%26page=blue')}"
     "https://example.com/login?redirect=%2Fhomepage%3Fsuccess=true%26page=blue</a></p>",
     "https://example.com/login?redirect=%2Fhomepage%3Fsuccess=true%26page=blue"),
    ("https://example.com\n\nNext paragraph",
     f"{P}{A.format('https://example.com')}https://example.com</a></p>{P}Next paragraph</p>",
     "https://example.com\n\nNext paragraph"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "html", "text"), CASES)
def test_email_formatting_matches_notify(source: str, html: str, text: str) -> None:
    assert email_html(source) == html
    assert email_text(source) == (text + "\n" if text else "\n")


@pytest.mark.parametrize(
    ("url", "href"),
    [
        ("mailto:unsubscribe@example.com", "mailto:unsubscribe%40example.com"),
        ("mailto:unsubscribe%40example.com", "mailto:unsubscribe%40example.com"),
        ("tel:+44123", "tel:%2B44123"),
    ],
)
def test_link_targets_are_encoded_as_notify_encodes_them(url: str, href: str) -> None:
    assert f'href="{href}"' in email_html(f"Unusual [link]({url})")


def test_a_url_cannot_break_out_of_its_attribute() -> None:
    html = email_html("""https://example.com"onclick="alert('hi')""")
    assert html.startswith(
        f'{P}<a style="word-wrap: break-word; color: #1D70B8;" '
        'href="https://example.com%22onclick=%22alert%28%27hi">'
        "https://example.com\"onclick=\"alert('hi</a>"
    )


def test_html_is_text() -> None:
    html = email_html('<a href="https://example.com">Example</a> <script>x</script>')
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert html.startswith(f"{P}&lt;a href=\u201c{A.format('https://example.com')}")
    assert html.endswith("\u201d&gt;Example&lt;/a&gt; &lt;script&gt;x&lt;/script&gt;</p>")


def test_unsafe_link_schemes_stay_text() -> None:
    assert email_html("[click](javascript:alert(1))") == f"{P}[click](javascript:alert(1))</p>"


def test_typography_smart_quotes_dashes_and_punctuation() -> None:
    source = "It's \"ready\" - collect it from the office , by Friday ."
    expected = "It\u2019s \u201cready\u201d \u2013 collect it from the office, by Friday."
    assert email_html(source) == f"{P}{expected}</p>"
    assert email_text(source) == expected + "\n"


def test_govuk_is_not_left_for_mail_clients_to_link() -> None:
    assert email_text("Visit GOV.UK today") == "Visit GOV.\u200bUK today\n"
    assert "www.gov.uk" in email_html("See https://www.gov.uk/")


def test_nested_lists_and_loose_items() -> None:
    html = email_html("Things:\n\n* one\n  * one a\n* two")
    assert html == (
        f"{P}Things:</p>{TABLE}{UL}{LI}one{TABLE}{UL}{items('one a')}</ul></td></tr></table>"
        f"</li>{items('two')}</ul></td></tr></table>"
    )


def test_preheader_is_the_first_words_without_markup() -> None:
    source = "# Your code\n\nUse [this link](https://example.com) within 10 minutes.\n\n---\n\nEnd"
    assert preheader(source) == "Your code Use this link within 10 minutes. End"
    assert len(preheader("word " * 200)) == 256


@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("# heading", "<h2>heading</h2>"),
        ("## heading", "<p>heading</p>"),
        ("^ inset text", "<p>inset text</p>"),
        ("a\n\n***\n\nb", '<p>a</p><div class="page-break">&nbsp;</div><p>b</p>'),
        ("1. one\n2. two\n", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n"),
        ("* one\n* two\n", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"),
        ("line one\nline two\n\nnew paragraph", "<p>line one<br>line two</p><p>new paragraph</p>"),
        ("http://example.com", "<p><strong>example.com</strong></p>"),
        ("See [website](www.example.com/xyz).", "<p>See [website](www.example.com/xyz).</p>"),
        ("col | col\n----|----\nval | val\n", ""),
        ("Flat 2-3", "<p>Flat 2\u20113</p>"),
    ],
)  # fmt: skip
def test_letter_formatting_matches_notify(source: str, html: str) -> None:
    assert letter_html(source) == html
