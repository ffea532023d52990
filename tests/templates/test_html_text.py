"""The plain-text part derived from HTML."""

from __future__ import annotations

import pytest

from herald.templates.html_text import html_to_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("<p>Line<br>break<br/><br>blank</p>", "Line\nbreak\n\nblank"),
        ("<div>a</div><div>b</div>", "a\nb"),
        ("<h1>Title</h1>Body", "Title\n\nBody"),
        ("<p>Many    spaces\n and\tnewlines</p>", "Many spaces and newlines"),
        ("<a href='https://x.test/a'>Open</a>", "Open (https://x.test/a)"),
        ("<a href='https://x.test'>https://x.test</a>", "https://x.test"),
        (
            "<a href='mailto:a@b.test'>a@b.test</a> <a href='mailto:a@b.test'>mail</a>",
            "a@b.test mail (a@b.test)",
        ),
        ("<a href='#top'>top</a> <a href='javascript:alert(1)'>js</a>", "top js"),
        ("<a href='https://x.test/i'><img src='i.png' alt='Logo'></a>", "Logo (https://x.test/i)"),
        ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
        ("<ol><li>one</li><li>two</li></ol>", "1. one\n2. two"),
        ("<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>", "- a\n  - b\n- c"),
        (
            "<table><tr><th>Device</th><td>42</td></tr><tr><td>A</td><td>B</td></tr></table>",
            "Device  42\nA  B",
        ),
        ("<head><title>T</title><style>p{}</style></head><script>x()</script><p>Body</p>", "Body"),
        ("<p>x</p><pre>  keep\n    this</pre>", "x\n\n  keep\n    this"),
        ("<p>&amp; &lt;tag&gt; caf&eacute;&nbsp;x</p>", "& <tag> café x"),
        ("<p>above</p><hr><p>below</p>", "above\n\n--------------------\n\nbelow"),
        ("", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text
