"""Helpers over Python's AST shared by the index and the rule families: dotted names, string values
as far as they are known, environment lookups, development switches, a function's own nodes."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from functools import lru_cache

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


GETTER = re.compile(r"get_?(env|secret|setting|config)\w*")


def env_lookup(node: ast.AST | None) -> tuple[str, ast.expr | None] | None:
    """`os.getenv("X", d)`, `os.environ.get("X", d)`, `environ["X"]`, `config.get("X", d)`,
    `get_secret("X", d)` -> ("X", d)."""
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
    known = (
        name in ("getenv", "get", "environ_get", "config", "env")
        or (name == "str" and receiver == "env")
        or (name[:3] == "get" and GETTER.fullmatch(name) is not None)  # a project's `get_secret("X", "d")`
    )
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


def has_timeout(call: ast.Call, position: int | None = None) -> bool:
    """The call is given a timeout that is not None (or `**kwargs`, which may carry one), by
    keyword or as positional argument number `position`."""
    for kw in call.keywords:
        if kw.arg is None:  # **kwargs: may carry one
            return True
        if kw.arg == "timeout":
            return not (isinstance(kw.value, ast.Constant) and kw.value.value is None)
    return position is not None and len(call.args) >= position


@lru_cache(maxsize=16384)  # the rules walk the same functions several times
def own_nodes(function: ast.AST) -> tuple[ast.AST, ...]:
    """The nodes of a function's own body: nested functions and lambdas (thread targets,
    callbacks) run only when something calls them."""
    found: list[ast.AST] = []
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        found.append(node)
        if not isinstance(node, Function | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))
    return tuple(found)


def base_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


REPAIRS = 20
"""At most this many statements of one file are set aside before the file counts as not Python."""


PYTHON_2 = re.compile(r"Missing parentheses in call to|leading zeros in decimal integer")
"""What CPython says of Python 2 code: such a file is old, not newer, syntax and is not read."""


TEMPLATE = re.compile(r"\{%|\{\{\s*[\w.]+\s*\}\}")
"""Jinja in a .py file (a project template): not Python to read."""


def _logical_lines(text: str) -> list[tuple[int, int]]:
    """(first, last) physical line of each logical line, as far as the tokenizer gets."""
    spans: list[tuple[int, int]] = []
    start = None
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                continue
            if start is None:
                start = token.start[0]
            if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                spans.append((start, token.end[0]))
                start = None
    except (tokenize.TokenError, SyntaxError):
        pass
    return spans


_HEADER = re.compile(r"^(\s*)(?:(async\s+)?def\s+(\w+)|class\s+(\w+)|(elif|else|try|finally|except)\b|(@))")


def _placeholder(first: str, header: bool) -> str:
    """A line the running Python parses, standing for a statement it does not: a function or class
    keeps its name (its body stays inside it), other block headers become `if True:`."""
    match = _HEADER.match(first)
    indent = re.match(r"\s*", first).group(0)  # type: ignore[union-attr]
    if match is None:
        return f"{indent}{'if True:' if header else 'pass'}"
    if match.group(3):
        return f"{indent}{match.group(2) or ''}def {match.group(3)}(*args, **kwargs):"
    if match.group(4):
        return f"{indent}class {match.group(4)}:"
    if match.group(6):
        return f"{indent}@staticmethod"
    return indent + {"elif": "elif True:", "except": "except Exception:"}.get(match.group(5), f"{match.group(5)}:")


def parse_source(text: str, filename: str = "<unknown>") -> tuple[ast.Module, list[int]]:
    """The module's AST, and the lines of the statements that the running Python could not parse
    (newer syntax: PEP 701 f-strings or type parameters read by an older interpreter). Each such
    statement is replaced by a placeholder on the same lines, so the rest of the file is read with
    its own line numbers. Raises the first SyntaxError when the file is not Python 3 at all (Python
    2, or more than REPAIRS statements that do not parse)."""
    try:
        return ast.parse(text, filename=filename), []
    except SyntaxError as error:
        first_error = error
    if PYTHON_2.search(first_error.msg):
        raise first_error
    lines = text.splitlines()
    spans = _logical_lines(text)
    set_aside: list[int] = []
    error = first_error
    for _attempt in range(REPAIRS):
        line = error.lineno
        if not line or line > len(lines) or line in set_aside or TEMPLATE.search(lines[line - 1]):
            break
        first, last = next(((a, b) for a, b in spans if a <= line <= b), (line, line))
        statement = " ".join(lines[first - 1 : last]).split("#")[0].rstrip()
        lines[first - 1] = _placeholder(lines[first - 1], statement.endswith(":"))
        for number in range(first, last):
            lines[number] = ""
        set_aside.append(line)
        try:
            return ast.parse("\n".join(lines) + "\n", filename=filename), set_aside
        except SyntaxError as again:
            error = again
        if PYTHON_2.search(error.msg):
            break
    raise first_error
