"""Render tenant templates: strict, sandboxed, limited, cached; email with CSS and text.

The caller builds the context (personalisation keys at the top level, ``payload``,
``user``, ``account``) and passes the template sources; nothing here touches the
database. Errors:

- ``MissingPersonalisation`` (400) naming every missing field, across all parts;
- ``TemplateError`` (400 ``template_error``) for syntax errors (with the line), sandbox
  violations and exceeded limits;
- ``ValidationFailed`` (422) when a rendered header (subject, from, reply-to) would
  contain a line break.
"""

from __future__ import annotations

import traceback
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from threading import Lock
from typing import Any, NamedTuple

import css_inline
from jinja2 import Template, TemplateSyntaxError

from herald.errors import HeraldError
from herald.templates.headers import check_header
from herald.templates.html_text import html_to_text
from herald.templates.limits import PathPart, RenderLimits, TemplateError, rendering
from herald.templates.sandbox import GuardedEnvironment
from herald.templates.undefined import missing_personalisation
from herald.templates.variables import variables_of

__all__ = [
    "CacheKey",
    "Part",
    "RenderLimits",
    "RenderedEmail",
    "Renderer",
    "TemplateError",
    "check_header",
    "variables_of",
]

# Identifies immutable template source, e.g. (template_id, version, part); a locale
# variant adds its locale: (template_id, version, "cy", part).
CacheKey = tuple[Hashable, ...]
Missing = list[tuple[PathPart, ...]]


class Part(NamedTuple):
    """One template part to render: its source, whether it is HTML (autoescaped), and
    whether it is Notify-formatted Markdown (a list value then renders as bullets)."""

    source: str
    html: bool = False
    markdown: bool = False


@dataclass(frozen=True)
class RenderedEmail:
    """A rendered email: header values checked, CSS inlined, a text part always present."""

    subject: str
    html: str
    text: str
    sender: str | None = None
    reply_to: str | None = None


class Renderer:
    """Compiles (with an LRU cache) and renders template parts within ``RenderLimits``.

    Thread-safe; one instance is meant to serve a whole process.
    """

    def __init__(self, *, limits: RenderLimits | None = None, cache_size: int = 512) -> None:
        self.limits = limits or RenderLimits()
        self._environments = {
            html: GuardedEnvironment(autoescape=html, limits=self.limits) for html in (False, True)
        }
        self._cache: OrderedDict[tuple[bool, CacheKey], Template] = OrderedDict()
        self._cache_size = cache_size
        self._lock = Lock()
        # Remote (and local) stylesheets are never fetched: a template must not make
        # Herald issue requests. @media rules stay in a <style> for clients that use them.
        self._inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=True)

    def render_part(
        self,
        source: str,
        context: Mapping[str, Any],
        *,
        html: bool,
        cache_key: CacheKey | None = None,
    ) -> str:
        """Render one part (SMS body, push title, in-app message, letter HTML, ...).

        ``html`` turns autoescaping on. ``cache_key`` must identify ``source`` exactly
        (a template version never changes); without one the source is compiled afresh.
        """
        output, missing = self._render(source, context, html=html, cache_key=cache_key)
        if missing:
            raise missing_personalisation(missing)
        return output

    def render_parts(
        self,
        parts: Mapping[str, Part],
        context: Mapping[str, Any],
        *,
        cache_key: CacheKey | None = None,
    ) -> dict[str, str]:
        """Render several parts, reporting the missing fields of all of them at once.

        Each part is cached under ``(*cache_key, name)``.
        """
        rendered: dict[str, str] = {}
        missing: dict[tuple[PathPart, ...], None] = {}
        for name, part in parts.items():
            key = None if cache_key is None else (*cache_key, name)
            rendered[name], part_missing = self._render(
                part.source, context, html=part.html, cache_key=key, markdown=part.markdown
            )
            missing.update(dict.fromkeys(part_missing))
        if missing:
            raise missing_personalisation(list(missing))
        return rendered

    def render_email(
        self,
        *,
        subject: str,
        html: str,
        context: Mapping[str, Any],
        text: str | None = None,
        sender: str | None = None,
        reply_to: str | None = None,
        cache_key: CacheKey | None = None,
    ) -> RenderedEmail:
        """Render an email: header values checked, CSS inlined, text derived if not given.

        ``cache_key`` is a prefix such as ``(template_id, version)``; each part is
        cached under it with the part's name appended.
        """
        parts = {"subject": Part(subject), "html": Part(html, html=True)}
        optional = {"text": text, "from": sender, "reply_to": reply_to}
        parts.update({name: Part(src) for name, src in optional.items() if src is not None})
        out = self.render_parts(parts, context, cache_key=cache_key)
        headers = {
            name: check_header(out[name].strip(), field=f"/channels/email/{name}")
            for name in ("subject", "from", "reply_to")
            if name in out
        }
        return RenderedEmail(
            subject=headers["subject"],
            html=self._inline_css(out["html"]),
            text=out["text"] if "text" in out else html_to_text(out["html"]),
            sender=headers.get("from"),
            reply_to=headers.get("reply_to"),
        )

    def compile(self, source: str, *, html: bool, cache_key: CacheKey | None = None) -> Template:
        """The compiled template, from the cache when ``cache_key`` is given.

        Use it to validate a template when it is saved: raises TemplateError for a
        syntax error (naming the line) or an oversized source. Render only through
        ``render_part``/``render_parts``/``render_email``, which open the render budget.
        """
        if cache_key is None:
            return self._compile(source, html=html)
        key = (html, cache_key)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        template = self._compile(source, html=html)
        with self._lock:
            self._cache[key] = template
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return template

    def _compile(self, source: str, *, html: bool) -> Template:
        try:
            return self._environments[html].from_string(source)
        except TemplateSyntaxError as exc:
            raise TemplateError(f"Line {exc.lineno}: {exc.message}") from exc
        except (SyntaxError, RecursionError) as exc:
            # Python's own compiler limits, e.g. more than 20 nested {% for %} blocks.
            raise TemplateError("The template is nested too deeply") from exc

    def _render(
        self,
        source: str,
        context: Mapping[str, Any],
        *,
        html: bool,
        cache_key: CacheKey | None,
        markdown: bool = False,
    ) -> tuple[str, Missing]:
        """Render; returns the output and the paths of missing fields (output is then void)."""
        template = self.compile(source, html=html, cache_key=cache_key)
        with rendering(self.limits, context, markdown_lists=markdown) as state:
            try:
                output = self._collect(template.generate(context))
            except HeraldError:
                raise
            except Exception as exc:  # anything else raised by template code
                if state.missing:  # most likely a consequence of the missing value
                    return "", list(state.missing)
                raise _runtime_error(exc) from exc
        return output, list(state.missing)

    def _collect(self, pieces: Iterator[str]) -> str:
        """Join the streamed output, stopping as soon as it passes the size limit."""
        output: list[str] = []
        size = 0
        for piece in pieces:
            size += len(piece)
            if size > self.limits.max_output_size:
                raise TemplateError(
                    f"The rendered template exceeds {self.limits.max_output_size} characters"
                )
            output.append(piece)
        return "".join(output)

    def _inline_css(self, html: str) -> str:
        try:
            return str(self._inliner.inline(html))
        except css_inline.InlineError as exc:
            raise TemplateError(f"Cannot inline the email's CSS: {exc}") from exc


def _runtime_error(exc: Exception) -> TemplateError:
    """A TemplateError naming the template line where ``exc`` was raised, when known."""
    lines = [
        f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"
    ]
    where = f"Line {lines[-1]}: " if lines else ""
    return TemplateError(f"{where}{exc}")
