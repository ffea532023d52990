"""A letter's rendered HTML to an A4 PDF, the postal address placed for a windowed envelope.

The HTML comes from tenant templates, so WeasyPrint may fetch nothing but ``data:`` URIs:
no ``file://`` read of the server's disk, no request to an internal address.
WeasyPrint is synchronous and CPU-bound; async callers run this in a thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher

from herald.errors import ValidationFailed

MIN_ADDRESS_LINES = 2
MAX_ADDRESS_LINES = 6

# DIN 5008 form B address field (45 mm from the top, 20 mm from the left, 85 x 45 mm),
# which sits behind the window of DL and C5 envelopes: page margins plus the block's own.
# A user stylesheet with !important beats anything the template says, so a template can
# move neither the page margins, nor the body's, nor the address off the window.
_LETTER_CSS = """
@page { size: A4 !important; margin: 20mm !important; }
html, body { margin: 0 !important; padding: 0 !important; border: 0 !important; }
.herald-address {
  margin: 25mm 0 10mm 0 !important; padding: 0 !important;
  width: 85mm !important; height: 40mm !important; overflow: hidden !important;
  position: static !important; display: block !important; visibility: visible !important;
  font: 10pt/1.3 sans-serif !important; color: black !important;
}
.herald-address p { margin: 0 !important; }
"""


class RefusedUrl(ValueError):
    """A letter referred to a resource by a URL other than ``data:``; it is not fetched."""


class DataOnlyFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint has no types
    """A WeasyPrint URL fetcher that serves ``data:`` URIs and refuses everything else.

    ``refused`` lists the URLs a render asked for and did not get.
    """

    def __init__(self) -> None:
        # Refusals are not fatal: the letter renders without the resource, as a browser would.
        super().__init__(allowed_protocols=("data",), allow_redirects=False, fail_on_errors=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        """Decode a ``data:`` URI; raise ``RefusedUrl`` for any other scheme."""
        if not url.lower().startswith("data:"):
            self.refused.append(url)
            raise RefusedUrl(f"letters may only embed data: URIs, not {url}")
        return super().fetch(url, headers)


def check_address(
    address_lines: Sequence[str], postcode: str, *, pointer: str = "/address"
) -> list[str]:
    """The address's non-blank lines, stripped; ``ValidationFailed`` (at ``pointer``) if unusable.

    A postal address needs two to six lines besides a postcode to fit the envelope window
    (``/v1`` asks for three; GOV.UK Notify's letters may have two).
    """
    lines = [line.strip() for line in address_lines if line.strip()]
    if not MIN_ADDRESS_LINES <= len(lines) <= MAX_ADDRESS_LINES:
        message = f"an address needs {MIN_ADDRESS_LINES} to {MAX_ADDRESS_LINES} lines"
        raise ValidationFailed.at(pointer, message, code="invalid_address")
    if not postcode.strip():
        raise ValidationFailed.at(pointer, "an address needs a postcode", code="invalid_address")
    return lines


def render_letter_pdf(
    *,
    html: str,
    address_lines: Sequence[str],
    postcode: str,
    fetcher: DataOnlyFetcher | None = None,
) -> bytes:
    """An A4 PDF of ``html`` with the address (lines, then postcode) in the envelope window.

    ``html`` is a fragment or a whole document; pass a ``fetcher`` to see what was refused.
    """
    lines = [*check_address(address_lines, postcode), postcode.strip()]
    address = "".join(f"<p>{escape(line)}</p>" for line in lines)
    # The address comes first in the body, so it lands on page one whatever the template
    # holds; a template's own <html>/<head>/<body> tags merge into these when parsed.
    document = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        f'<div class="herald-address">{address}</div>{html}</body></html>'
    )
    url_fetcher = fetcher or DataOnlyFetcher()
    stylesheet = CSS(string=_LETTER_CSS, url_fetcher=url_fetcher)
    pdf: bytes = HTML(string=document, url_fetcher=url_fetcher).write_pdf(stylesheets=[stylesheet])
    return pdf
