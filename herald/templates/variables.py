"""The variables a template uses, as dotted names (``first_name``, ``user.first_name``)."""

from __future__ import annotations

from jinja2 import Environment, TemplateSyntaxError, meta, nodes

from herald.templates.limits import TemplateError
from herald.templates.notify_placeholders import FILTERS, NotifyPlaceholders

# Parsing only: nothing parsed here is ever compiled or rendered.
_PARSER = Environment(autoescape=True, extensions=[NotifyPlaceholders])
_PARSER.filters.update(FILTERS)
_NOTIFY_FILTERS = frozenset(FILTERS)


def variables_of(source: str) -> set[str]:
    """Dotted names of the context variables ``source`` reads.

    ``{{ user.first_name }}`` gives ``user.first_name``; ``{{ name.upper() }}`` gives
    ``name``; ``payload['id']`` gives ``payload.id``; loop variables, ``set`` names
    and macro arguments are not context variables and are left out, as are paths
    below a dynamic subscript (``payload.items[i].x`` gives ``payload.items``).
    Notify's ``((first name))`` and ``((first name??text))`` give ``first name``.
    """
    try:
        tree = _PARSER.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"Line {exc.lineno}: {exc.message}") from exc
    found: set[str] = set()
    _collect(tree, meta.find_undeclared_variables(tree), found)
    return found


def _collect(node: nodes.Node, roots: set[str], found: set[str]) -> None:
    if (
        isinstance(node, nodes.Filter)
        and node.name in _NOTIFY_FILTERS
        and isinstance(node.node, nodes.Const)
    ):
        found.add(str(node.node.value))
        return
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
        # A method call: the variable is the object, not the method.
        for child in node.iter_child_nodes():
            _collect(node.node.node if child is node.node else child, roots, found)
        return
    lookup = _lookup(node)
    if lookup is None or lookup[0][0] not in roots:
        for child in node.iter_child_nodes():
            _collect(child, roots, found)
        return
    path, _open, subscripts = lookup
    found.add(".".join(path))
    for subscript in subscripts:
        _collect(subscript, roots, found)


def _lookup(node: nodes.Node) -> tuple[list[str], bool, list[nodes.Expr]] | None:
    """A variable lookup: its dotted path, whether it may grow, and its dynamic subscripts.

    The path stops growing at the first subscript that is not a constant string.
    """
    if isinstance(node, nodes.Name):
        return ([node.name], True, []) if node.ctx == "load" else None
    if not isinstance(node, nodes.Getattr | nodes.Getitem):
        return None
    base = _lookup(node.node)
    if base is None:
        return None
    path, is_open, subscripts = base
    if isinstance(node, nodes.Getattr):
        key: object = node.attr
    elif isinstance(node.arg, nodes.Const):
        key = node.arg.value
    else:
        key, subscripts = None, [*subscripts, node.arg]
    if is_open and isinstance(key, str):
        return [*path, key], True, subscripts
    return path, False, subscripts
