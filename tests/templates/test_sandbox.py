"""Template injection and resource exhaustion: nothing escapes the sandbox or hangs."""

from __future__ import annotations

from typing import Any

import pytest

from herald.errors import MissingPersonalisation
from herald.templates.rendering import Renderer, RenderLimits, TemplateError

CONTEXT: dict[str, Any] = {
    "name": "Ann",
    "payload": {"items": [{"sku": "a1"}, {"sku": "b2"}], "total": 3},
    "user": {"first_name": "Ann", "email": "ann@example.com"},
}

ESCAPES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ().__class__.__bases__[0].__subclasses__() }}",
    "{{ name|attr('__class__') }}",
    "{{ payload|attr('__class__')|attr('__init__') }}",
    "{{ ''['__class__'] }}",
    "{{ name['__class__']['__mro__'] }}",
    "{{ ''.format_map }}",
    "{{ '{0.__class__}'.format(name) }}",
    "{{ '{0.__class__.__mro__}'.format(name) }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ range.__globals__ }}",
    "{{ dict.__base__.__subclasses__() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ payload.__class__.__init__ }}",
    "{{ name.encode('utf-8') }}",
    "{{ (1).to_bytes(1, 'big') }}",
    "{{ payload.items.append(1) }}",
    "{{ payload.update({'a': 1}) }}",
    "{{ payload.pop('total') }}",
    "{% include '/etc/passwd' %}",
    "{% extends '/etc/passwd' %}",
    "{% import 'os' as os %}",
    "{% from 'os' import system %}",
]

EXHAUSTION = [
    "{{ range(10**9)|list }}",
    "{{ 'a' * 10**9 }}",
    "{{ 10**9 * 'a' }}",
    "{{ [1] * 10**9 }}",
    "{{ 9 ** (9 ** 9) }}",
    "{{ (2 ** 4000) * (2 ** 4000) }}",
    "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}",
    "{% for x in [1] recursive %}{{ loop([x]) }}{% endfor %}",
    "{% for a in range(10**5) %}{% for b in range(10**5) %}{% endfor %}{% endfor %}",
    "{% for a in range(10**5) %}{% for b in range(10**5) %}x{% endfor %}{% endfor %}",
    "{% for a in range(10**5) %}{% for b in range(10**5) %}{{ b }}{% endfor %}{% endfor %}",
    "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}",
    "{% macro m() %}{% for i in range(100000) %}"
    + "x" * 1000
    + "{% endfor %}{% endmacro %}{{ m() }}",
    "{% set ns = namespace(s='a') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "{% set ns = namespace(s='a') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "{% set ns = namespace(s=[1]) %}{% for i in range(64) %}{% set ns.s = [ns.s, ns.s] %}"
    "{% endfor %}{{ ns.s }}",
    "{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% else %}{{ s|length }}{% endif %}"
    "{% endmacro %}{{ f('a', 38) }}",
    "{% set a = ['x' * 100000] %}{% set b = [a, a, a, a, a, a, a, a, a, a, a] %}{{ b }}",
    "{{ 'x'|center(10**9) }}",
    "{{ 'x'.center(10**9) }}",
    "{{ 'x'.ljust(10**9) }}",
    "{{ 'x'.zfill(10**9) }}",
    "{{ 'a'|indent(10**9) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '%*d' % (10**9, 1) }}",
    "{{ '%0999999999d'|format(1) }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ '{:>{w}}'.format(1, w=10**9) }}",
    "{% set s = 'a' * 1000000 %}{{ s.replace('a', s) }}",
    "{{ ('ab' * 100000)|replace('a', 'x' * 100) }}",
    "{{ range(100000)|join('x' * 100) }}",
    "{{ ('x' * 100).join(range(100000)|map('string')) }}",
    "{{ (range(100000)|list)|slice(10**9)|list }}",
    "{{ [1, 2]|batch(10**9, 0)|list }}",
    "{{ {'a': [1]}|tojson(10**9) }}",
    "{{ ('x' * 1000000)|wordwrap(1) }}",
    "{{" + "(" * 5000 + "1" + ")" * 5000 + "}}",
    "".join(f"{{% for a{i} in [1] %}}" for i in range(30)) + "x" + "{% endfor %}" * 30,
]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("source", ESCAPES)
@pytest.mark.parametrize("html", [False, True])
def test_injection_payloads_are_refused(source: str, html: bool) -> None:
    with pytest.raises(TemplateError) as caught:
        Renderer().render_part(source, CONTEXT, html=html)
    assert caught.value.code == "template_error"
    assert caught.value.status_code == 400


@pytest.mark.timeout(10)
@pytest.mark.parametrize("source", EXHAUSTION)
def test_exhaustion_payloads_stop_within_the_limits(source: str) -> None:
    with pytest.raises(TemplateError):
        Renderer().render_part(source, CONTEXT, html=False)


@pytest.mark.timeout(10)
def test_time_limit_stops_a_long_render() -> None:
    renderer = Renderer(limits=RenderLimits(time_limit=0.05))
    source = "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}"
    with pytest.raises(TemplateError, match=r"longer than 0\.05s"):
        renderer.render_part(source, {}, html=False)


@pytest.mark.timeout(10)
def test_iteration_limit() -> None:
    renderer = Renderer(limits=RenderLimits(max_iterations=100))
    assert renderer.render_part("{% for i in range(99) %}{% endfor %}ok", {}, html=False) == "ok"
    with pytest.raises(TemplateError, match="more than 100 loop iterations"):
        renderer.render_part("{% for i in range(101) %}{% endfor %}", {}, html=False)


def test_output_limit() -> None:
    renderer = Renderer(limits=RenderLimits(max_output_size=1000))
    assert len(renderer.render_part("{{ 'x' * 1000 }}", {}, html=False)) == 1000
    with pytest.raises(TemplateError, match="exceeds 1000 characters"):
        renderer.render_part("{% for i in range(11) %}{{ 'x' * 100 }}{% endfor %}", {}, html=False)


def test_call_depth_limit() -> None:
    renderer = Renderer(limits=RenderLimits(max_call_depth=5))
    macro = "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{% else %}end{% endif %}{% endmacro %}"
    assert renderer.render_part(macro + "{{ f(3) }}", {}, html=False) == "end"
    with pytest.raises(TemplateError, match="nested more than 5 deep"):
        renderer.render_part(macro + "{{ f(10) }}", {}, html=False)


def test_source_size_limit() -> None:
    renderer = Renderer(limits=RenderLimits(max_source_size=10))
    with pytest.raises(TemplateError, match="longer than 10 characters"):
        renderer.render_part("x" * 11, {}, html=False)


def test_an_unsafe_attribute_names_the_line() -> None:
    with pytest.raises(TemplateError, match=r"^Line 2: access to attribute '__class__'"):
        Renderer().render_part("ok\n{{ name.__class__ }}", CONTEXT, html=False)


def test_a_runtime_error_is_a_template_error_with_the_line() -> None:
    with pytest.raises(TemplateError, match=r"^Line 3: division by zero"):
        Renderer().render_part("\n\n{{ 1 / 0 }}", {}, html=False)


def test_lipsum_and_flask_globals_do_not_exist() -> None:
    with pytest.raises(MissingPersonalisation, match="lipsum, config, request"):
        Renderer().render_part("{{ lipsum(10**9) }}{{ config }}{{ request }}", {}, html=False)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ name.upper() }} {{ name.lower() }} {{ name.center(7, '*') }}", "ANN ann **Ann**"),
        ("{{ 'a,b'.split(',')|join('+') }} {{ ' x '.strip() }}", "a+b x"),
        (
            "{% for k, v in user.items() %}{{ k }}={{ v }};{% endfor %}",
            "first_name=Ann;email=ann@example.com;",
        ),
        ("{{ payload.items|map(attribute='sku')|join(', ') }}", "a1, b2"),
        ("{{ payload.items|length }} {{ payload['total'] * 2 }} {{ 2 ** 10 }}", "2 6 1024"),
        ("{{ '%05.1f'|format(3.14159) }} {{ '{:>4}|{}'.format(7, name) }}", "003.1    7|Ann"),
        (
            "{% set ns = namespace(n=0) %}{% for i in range(5) %}{% set ns.n = ns.n + i %}"
            "{% endfor %}{{ ns.n }}",
            "10",
        ),
        ("{% macro hi(who) %}Hi {{ who }}{% endmacro %}{{ hi(name) }}", "Hi Ann"),
        ("{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}in{% endcall %}", "[in]"),
        ("{{ [3, 1, 2]|sort|join }} {{ {'b': 1, 'a': 2}|dictsort|first|first }}", "123 a"),
        ("{{ 'x' ~ 1 ~ [1] ~ (1, 2) }}", "x1[1](1, 2)"),
        ("{{ 'long text here'|truncate(9, leeway=0) }} {{ 'a b'|wordwrap(1) }}", "long... a\nb"),
        ("{{ {'a': 1}|tojson(2) }}", '{\n  "a": 1\n}'),
    ],
)
def test_ordinary_templates_still_work(source: str, expected: str) -> None:
    assert Renderer().render_part(source, CONTEXT, html=False) == expected


def test_a_mapping_key_wins_over_a_dict_method() -> None:
    # JSON data: payload.items is the "items" field, not dict.items.
    rendered = Renderer().render_part("{{ payload.items[0].sku }}", CONTEXT, html=False)
    assert rendered == "a1"
