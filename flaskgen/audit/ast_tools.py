"""Helpers over Python's AST shared by the index and the rule families: dotted names, string values
as far as they are known, environment lookups, development switches, a function's own nodes."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from flaskgen.audit.model import Function
from flaskgen.audit.paths import words

DEV_WORDS = {"dev", "develop", "development", "local", "test", "tests", "testing", "example", "sample",
             "debug", "ci"}  # fmt: skip


PRODUCTION_WORDS = {"prod", "production", "live"}


def dotted(node: ast.AST, imports: dict[str, str]) -> str:
    """`requests.get` / `sleep` (from time import sleep) -> canonical dotted name, or ''."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):  # create_app().run -> "create_app().run"
        inner = dotted(node.func, imports)
        return ".".join([inner + "()", *reversed(parts)]) if inner else ""
    if not isinstance(node, ast.Name):
        return ""
    parts.append(imports.get(node.id, node.id))
    return ".".join(reversed(parts))


def literal_text(node: ast.AST | None) -> str | None:
    """A string expression as far as it is known: literals, f-strings, `+`, and the default of an
    environment lookup (`os.getenv("BIND", "0.0.0.0:8000")`); unknown parts become `{NAME}`, a
    lookup of PORT becomes `$PORT`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(literal_text(value) or "{?}" for value in node.values)
    if isinstance(node, ast.FormattedValue):
        return literal_text(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return (literal_text(node.left) or "{?}") + (literal_text(node.right) or "{?}")
    lookup = env_lookup(node)
    if lookup is not None:
        name, default = lookup
        if name == "PORT":
            return "$PORT"
        return literal_text(default) if default is not None else f"{{{name}}}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("str", "int") and node.args:
        return literal_text(node.args[0])
    return None


def env_lookup(node: ast.AST | None) -> tuple[str, ast.expr | None] | None:
    """`os.getenv("X", d)`, `os.environ.get("X", d)`, `environ["X"]`, `config.get("X", d)` -> ("X", d)."""
    key = subscript_key(node) if isinstance(node, ast.Subscript) else None
    if key is not None and "environ" in ast.unparse(node.value):  # type: ignore[union-attr]
        return key, None
    if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    # os.getenv / os.environ.get / app.config.get; python-decouple's config("X", "d") and
    # environs' env("X", "d") / env.str("X", "d").
    receiver = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
    known = name in ("getenv", "get", "environ_get", "config", "env") or (name == "str" and receiver == "env")
    if not known or not isinstance(node.args[0].value, str):
        return None
    default = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "default"), None)
    return node.args[0].value, default


def nonblank_string(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(node.value.strip())


def is_true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def call_name(decorator: ast.expr) -> str:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")


def subscript_key(node: ast.AST) -> str | None:
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return node.slice.value
    return None


def dev_guard(test: ast.expr) -> bool | None:
    """True when a condition holds in development (`app.debug`, `ENV == "development"`), False when
    it holds in production (`not app.debug`, `ENV == "production"`), None when it says neither."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = dev_guard(test.operand)
        return None if inner is None else not inner
    if isinstance(test, ast.BoolOp):
        sides = {dev_guard(value) for value in test.values} - {None}
        return sides.pop() if len(sides) == 1 else None
    if isinstance(test, ast.Compare):
        said = dev_guard(ast.BoolOp(ast.Or(), [test.left, *test.comparators]))
        negated = all(isinstance(op, ast.NotEq | ast.IsNot | ast.NotIn) for op in test.ops)
        return None if said is None else said is not negated
    if isinstance(test, ast.Call | ast.Attribute | ast.Name | ast.Constant | ast.Subscript):
        text = " ".join(
            str(n.value) if isinstance(n, ast.Constant) else getattr(n, "id", getattr(n, "attr", ""))
            for n in ast.walk(test)
        )
        found = words(text)
        dev, prod = bool(found & DEV_WORDS - {"ci"}), bool(found & PRODUCTION_WORDS)
        return dev if dev != prod else None
    return None


def is_main_guard(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)


def own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's own body: nested functions and lambdas (thread targets,
    callbacks) run only when something calls them."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, Function | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))


def base_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None
