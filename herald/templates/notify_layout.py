"""The plain layouts Notify-formatted messages are placed in: an email document around the
body (no branding: Notify's own banner is GOV.UK's), and a letter page with the contact
block, the date and the subject as its heading.

The email body keeps Notify's inline styles; the layout adds a hidden preheader (what mail
clients preview) and a centred column of at most 580 px.
"""

from __future__ import annotations

import datetime as dt
from html import escape

EMAIL = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{subject}</title>
</head>
<body style="font-family: Helvetica, Arial, sans-serif; font-size: 16px; margin: 0; \
color: #0B0C0C; background: #FFFFFF;">
<span style="display: none; font-size: 1px; color: #FFFFFF; line-height: 1px; max-height: 0; \
max-width: 0; opacity: 0; overflow: hidden;">{preheader}</span>
<table role="presentation" width="100%" style="border-collapse: collapse; min-width: 100%; \
width: 100% !important;" cellpadding="0" cellspacing="0" border="0">
<tr>
<td width="10" height="10" valign="middle"><br></td>
<td style="font-family: Helvetica, Arial, sans-serif; font-size: 19px; line-height: 1.315789474; \
max-width: 580px; padding: 30px 0 0 0;">
{body}
</td>
<td width="10" valign="middle"><br></td>
</tr>
</table>
</body>
</html>
"""

LETTER_STYLE = """<style>
body { font-family: Arial, Helvetica, sans-serif; font-size: 12pt; line-height: 1.4; }
.herald-contact-block { position: absolute; top: 0; right: 0; width: 70mm;
  text-align: right; font-size: 10pt; }
.herald-date { margin: 0 0 8mm 0; }
h1 { font-size: 14pt; margin: 0 0 5mm 0; }
h2 { font-size: 12pt; margin: 5mm 0 2mm 0; }
p { margin: 0 0 4mm 0; }
ul, ol { margin: 0 0 4mm 0; padding-left: 8mm; }
.page-break { page-break-after: always; height: 0; }
</style>"""


def email_document(*, subject: str, body: str, preheader: str) -> str:
    """A whole HTML email around a Notify-formatted ``body`` (already HTML)."""
    return EMAIL.format(subject=escape(subject), preheader=escape(preheader), body=body)


def letter_document(
    *, subject: str, body: str, contact_block: str, date: dt.date | None = None
) -> str:
    """A letter's HTML: contact block and date at the top, the subject, then ``body``
    (already HTML); the print layout adds the address in the envelope window."""
    day = date or dt.datetime.now(dt.UTC).date()
    contact = "<br>".join(escape(line.strip()) for line in contact_block.strip().splitlines())
    parts = [
        LETTER_STYLE,
        f'<div class="herald-contact-block">{contact}</div>' if contact else "",
        f'<p class="herald-date">{day.day} {day:%B %Y}</p>',
        f"<h1>{escape(subject)}</h1>" if subject.strip() else "",
        body,
    ]
    return "".join(parts)
