"""AST checks on Python files: request-code anti-patterns, unsafe config, blocking logging."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Decorators (attribute names) that make a function request code.
REQUEST_DECORATORS = {
    "route", "get", "post", "put", "patch", "delete", "before_request", "after_request",
    "teardown_request", "before_app_request", "after_app_request", "errorhandler",
    "app_errorhandler", "context_processor", "url_value_preprocessor",
}  # fmt: skip
VIEW_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "dispatch_request"}
MUTATING_METHODS = {
    "append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "setdefault",
    "add", "discard", "appendleft", "extendleft", "popleft", "sort", "reverse",
    "__setitem__", "__delitem__", "difference_update", "intersection_update",
}  # fmt: skip
MUTABLE_FACTORIES = {
    "dict", "list", "set", "bytearray", "collections.defaultdict", "collections.deque",
    "collections.OrderedDict", "collections.Counter", "defaultdict", "deque", "OrderedDict", "Counter",
}  # fmt: skip
BLOCKING_CALLS = {
    "time.sleep", "os.system", "urllib.request.urlopen", "smtplib.SMTP", "smtplib.SMTP_SSL",
    "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen",
    "httpx.get", "httpx.post", "httpx.put", "httpx.patch", "httpx.delete", "httpx.head", "httpx.options",
    "httpx.request", "httpx.stream", "httpx.Client",
}  # fmt: skip
BLOCKING_MODULES = {"requests"}  # every call into these is synchronous network I/O
SINK_HANDLERS = {
    "FileHandler", "StreamHandler", "RotatingFileHandler", "TimedRotatingFileHandler", "WatchedFileHandler",
    "SysLogHandler", "SMTPHandler", "HTTPHandler", "SocketHandler",
}  # fmt: skip
CONTEXT_METHODS = {"app_context", "test_request_context", "request_context"}
DEV_CLASS_WORDS = ("dev", "local", "test")


@dataclass
class Hit:
    code: str
    line: int
    detail: str


@dataclass
class ModuleFacts:
    tree: ast.Module
    imports: dict[str, str] = field(default_factory=dict)
    """Local name -> dotted name it was imported as."""
    mutable_globals: dict[str, int] = field(default_factory=dict)
    """Module-level names bound to mutable objects -> line."""


def is_test_file(path: Path) -> bool:
    return "tests" in path.parts or "test" in path.parts or path.name.startswith("test_") or path.name == "conftest.py"


def dotted(node: ast.AST, imports: dict[str, str]) -> str:
    """`requests.get` / `sleep` (from time import sleep) -> canonical dotted name, or ''."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(imports.get(node.id, node.id))
    return ".".join(reversed(parts))


def collect_imports(tree: ast.Module) -> dict[str, str]:
    imports: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imports[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return imports


def _immutable_class(node: ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call) and any(
            kw.arg == "frozen" and isinstance(kw.value, ast.Constant) and kw.value.value is True
            for kw in decorator.keywords
        ):
            return True
    return any(
        getattr(base, "id", getattr(base, "attr", "")) in {"NamedTuple", "Enum", "IntEnum", "StrEnum"}
        for base in node.bases
    )


def _is_mutable_value(value: ast.expr | None, facts: ModuleFacts, classes: dict[str, bool]) -> bool:
    if isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        name = dotted(value.func, facts.imports)
        if name in MUTABLE_FACTORIES:
            return True
        # An instance of a mutable class defined in this module (custom state holders).
        return isinstance(value.func, ast.Name) and classes.get(value.func.id) is False
    return False


def module_facts(tree: ast.Module) -> ModuleFacts:
    facts = ModuleFacts(tree=tree, imports=collect_imports(tree))
    classes = {node.name: _immutable_class(node) for node in tree.body if isinstance(node, ast.ClassDef)}
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        if _is_mutable_value(node.value, facts, classes):
            for target in targets:
                if isinstance(target, ast.Name):
                    facts.mutable_globals[target.id] = node.lineno
    return facts


def _decorator_name(decorator: ast.expr) -> str:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")


def request_functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """View functions, request hooks and error handlers (by decorator), MethodView methods, and
    functions passed as view_func to add_url_rule."""
    view_funcs = {
        kw.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _decorator_name(node) == "add_url_rule"
        for kw in node.keywords
        if kw.arg == "view_func" and isinstance(kw.value, ast.Name)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if any(_decorator_name(d) in REQUEST_DECORATORS for d in node.decorator_list) or node.name in view_funcs:
                yield node
        elif isinstance(node, ast.ClassDef) and any(
            getattr(b, "id", getattr(b, "attr", "")) in {"MethodView", "View"} for b in node.bases
        ):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name in VIEW_METHODS:
                    yield item


def _local_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[set[str], set[str]]:
    """(names declared global, names bound locally) in a function."""
    declared_global: set[str] = set()
    local: set[str] = {a.arg for a in [*function.args.args, *function.args.kwonlyargs, *function.args.posonlyargs]}
    for node in ast.walk(function):
        if isinstance(node, ast.Global):
            declared_global.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local.add(node.id)
    return declared_global, local - declared_global


def _base_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def global_mutations(function: ast.FunctionDef | ast.AsyncFunctionDef, facts: ModuleFacts) -> Iterator[Hit]:
    declared_global, local = _local_names(function)
    shared = {name for name in facts.mutable_globals if name not in local}

    def hit(node: ast.AST, name: str, how: str) -> Hit:
        return Hit(
            "FG301",
            node.lineno,
            f"module-level {name!r} (line {facts.mutable_globals.get(name, '?')}) is {how} in {function.name}()",
        )

    for node in ast.walk(function):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in declared_global:
                    yield Hit("FG301", node.lineno, f"global {target.id!r} is reassigned in {function.name}()")
                elif isinstance(target, ast.Subscript | ast.Attribute):
                    name = _base_name(target)
                    if name in shared or (name in declared_global):
                        yield hit(node, name or "?", "modified")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATING_METHODS:
            name = _base_name(node.func.value)
            if name in shared and isinstance(node.func.value, ast.Name | ast.Attribute | ast.Subscript):
                yield hit(node, name, f"changed with .{node.func.attr}()")


def blocking_calls(function: ast.FunctionDef | ast.AsyncFunctionDef, facts: ModuleFacts) -> Iterator[Hit]:
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            name = dotted(node.func, facts.imports)
            if name in BLOCKING_CALLS or (name.split(".")[0] in BLOCKING_MODULES and "." in name):
                yield Hit("FG401", node.lineno, f"{name}() blocks the worker in {function.name}()")


def context_pushes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[Hit]:
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CONTEXT_METHODS:
            yield Hit("FG701", node.lineno, f".{node.func.attr}() pushed inside request code {function.name}()")


def nested_context_pushes(tree: ast.Module) -> Iterator[Hit]:
    def pushes(node: ast.With | ast.AsyncWith) -> bool:
        return any(
            isinstance(item.context_expr, ast.Call)
            and isinstance(item.context_expr.func, ast.Attribute)
            and item.context_expr.func.attr in CONTEXT_METHODS
            for item in node.items
        )

    for outer in ast.walk(tree):
        if isinstance(outer, ast.With | ast.AsyncWith) and pushes(outer):
            for inner in ast.walk(outer):
                if inner is not outer and isinstance(inner, ast.With | ast.AsyncWith) and pushes(inner):
                    yield Hit(
                        "FG701", inner.lineno, f"a context is pushed inside another (outer at line {outer.lineno})"
                    )


def _string(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(node.value)


def _true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _subscript_key(node: ast.AST) -> str | None:
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return node.slice.value
    return None


def unsafe_config(tree: ast.Module, facts: ModuleFacts) -> Iterator[Hit]:
    """FG601 literal SECRET_KEY, FG602 DEBUG on outside development, FG603 app at import."""
    dev_lines: set[int] = set()
    main_guard: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(word in node.name.lower() for word in DEV_CLASS_WORDS):
            dev_lines.update(n.lineno for n in ast.walk(node) if hasattr(n, "lineno"))
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            main_guard.update(n.lineno for n in ast.walk(node) if hasattr(n, "lineno"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                name = (
                    target.id
                    if isinstance(target, ast.Name)
                    else getattr(target, "attr", None) or _subscript_key(target)
                )
                if name in ("SECRET_KEY", "secret_key") and _string(node.value):
                    yield Hit("FG601", node.lineno, f"{name} is the literal {ast.unparse(node.value)[:12]}...")
                if name in ("DEBUG", "debug") and _true(node.value) and node.lineno not in dev_lines:
                    yield Hit("FG602", node.lineno, f"{ast.unparse(target)} = True outside a development config")
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "SECRET_KEY" and _string(value):
                    yield Hit("FG601", node.lineno, "SECRET_KEY is a literal in a config mapping")
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "SECRET_KEY" and _string(kw.value):
                    yield Hit("FG601", node.lineno, "SECRET_KEY is passed as a literal")
                if (
                    kw.arg == "debug"
                    and _true(kw.value)
                    and _decorator_name(node) == "run"
                    and node.lineno not in main_guard
                ):
                    yield Hit("FG602", node.lineno, "app.run(debug=True) outside an `if __name__ == '__main__'` block")
    for node in tree.body:
        created = isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call)
        if created and dotted(node.value.func, facts.imports) in ("flask.Flask", "Flask"):  # type: ignore[union-attr]
            yield Hit("FG603", node.lineno, "Flask(...) is created at import time")


def blocking_logging(tree: ast.Module, source: str, facts: ModuleFacts) -> Iterator[Hit]:
    """Sink handlers attached directly (addHandler, basicConfig, dictConfig classes) in a module
    that does not route logging through a QueueHandler."""
    if "QueueHandler" in source:
        return
    handler_vars: set[str] = set()
    for node in ast.walk(tree):
        assigned_call = isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
        if assigned_call and dotted(node.value.func, facts.imports).split(".")[-1] in SINK_HANDLERS:
            handler_vars.update(t.id for t in node.targets if isinstance(t, ast.Name))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "addHandler"
            and node.args
        ):
            arg = node.args[0]
            direct = isinstance(arg, ast.Call) and dotted(arg.func, facts.imports).split(".")[-1] in SINK_HANDLERS
            if direct or (isinstance(arg, ast.Name) and arg.id in handler_vars):
                yield Hit(
                    "FG501", node.lineno, f"{ast.unparse(arg)[:40]} is attached directly; each record blocks on it"
                )
        elif isinstance(node, ast.Call) and dotted(node.func, facts.imports) == "logging.basicConfig":
            yield Hit("FG501", node.lineno, "logging.basicConfig() attaches a blocking stream/file handler")
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value == "class"
                    and isinstance(value, ast.Constant)
                    and str(value.value).split(".")[-1] in SINK_HANDLERS
                ):
                    yield Hit("FG501", node.lineno, f"dictConfig handler {value.value} without a QueueHandler in front")


def check_python(path: Path, tree: ast.Module, source: str) -> Iterator[Hit]:
    """The code rules on one parsed module (test files are exempt)."""
    if is_test_file(path):
        return
    facts = module_facts(tree)
    for function in request_functions(tree):
        yield from global_mutations(function, facts)
        yield from blocking_calls(function, facts)
        yield from context_pushes(function)
    yield from nested_context_pushes(tree)
    yield from unsafe_config(tree, facts)
    yield from blocking_logging(tree, source, facts)
