"""FG601 (literal secret key), FG602 (debug on), FG603 (the app at import) and FG604 (the development
server) in Python code."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from flaskgen.audit.ast_tools import (
    dotted,
    env_lookup,
    is_main_guard,
    is_true,
    nonblank_string,
    own_nodes,
    subscript_key,
)
from flaskgen.audit.checks.commands import SECRET_NAME, flask_secret_key
from flaskgen.audit.index import REACH_DEPTH, ProjectIndex
from flaskgen.audit.model import Function, Hit
from flaskgen.audit.modules import ModuleInfo


def _secret_fallback(value: ast.AST | None, *, named: bool = False) -> str | None:
    """The literal in `os.environ.get("SECRET_KEY", "x")` or `os.getenv(...) or "x"` (`named`: the
    setting is a secret whatever the variable is called, as in `SECRET_KEY = getenv("APP_KEY", "x")`)."""
    if (
        isinstance(value, ast.BoolOp)
        and isinstance(value.op, ast.Or)
        and nonblank_string(value.values[-1])
        and any(env_lookup(v) is not None for v in value.values[:-1])
    ):
        return str(value.values[-1].value)  # type: ignore[attr-defined]
    lookup = env_lookup(value)
    if lookup is not None and (named or SECRET_NAME.search(lookup[0])) and nonblank_string(lookup[1]):
        return str(lookup[1].value)  # type: ignore[union-attr]
    return None


def _secret(name: str | None, value: ast.AST | None, refused: frozenset[str] = frozenset()) -> str | None:
    """How a secret setting is a literal: 'the literal ...' or 'a literal fallback ...', else None.
    Not a value that is itself a setting's name (`ConfigKey.SECRET_KEY = "SECRET_KEY"`), nor a
    fallback for a variable that the module refuses to run without (`refused`), nor a placeholder it
    refuses to run with."""
    if not name or not flask_secret_key(name):
        return None
    if nonblank_string(value):
        text = str(value.value)  # type: ignore[union-attr]
        if (re.fullmatch(r"[A-Za-z_][\w.]*", text) and SECRET_NAME.search(text)) or text in refused:
            return None  # a setting's name, or a placeholder the module stops on (`if key == "CHANGE ME": exit`)
        return f"{name} is the literal {text[:8]!r}..."
    fallback = _secret_fallback(value, named=True)
    variables = {name} | {found[0] for n in ast.walk(value) if (found := env_lookup(n)) is not None}  # type: ignore[arg-type]
    if fallback is not None and not variables & refused:
        return f"{name} falls back to the literal {fallback[:8]!r}... when the environment lacks it"
    return None


def _refused(info: ModuleInfo) -> frozenset[str]:
    """Settings and variables the module stops on when they are missing: `assert
    os.environ.get("SECRET_KEY")`, `if not app.config["SECRET_KEY"]: raise ...` (a production
    config that refuses to start on the fallback)."""
    if "secret" not in info.module.source.lower():
        return frozenset()
    tests = [
        node.test
        for node in info.nodes
        if isinstance(node, ast.Assert) or (isinstance(node, ast.If) and any(_stops(b) for b in node.body))
    ]
    return frozenset(
        n.value if isinstance(n, ast.Constant) else n.id if isinstance(n, ast.Name) else n.attr
        for test in tests
        for n in ast.walk(test)
        if (isinstance(n, ast.Constant) and isinstance(n.value, str)) or isinstance(n, ast.Name | ast.Attribute)
    )


def _switched_off_below(node: ast.Assign, info: ModuleInfo) -> bool:
    """`DEBUG = True` in a base config class that a subclass sets back to False (`class
    Production(Config): DEBUG = False`): a default for the development classes."""
    owner = info.parents.get(id(node))
    return isinstance(owner, ast.ClassDef) and any(
        any(getattr(b, "id", getattr(b, "attr", None)) == owner.name for b in cls.bases)
        and any(
            isinstance(s, ast.Assign) and _target_name(s.targets[0]) == "DEBUG" and not is_true(s.value)
            for s in cls.body
        )
        for cls in info.classes.values()
    )


def _reported_with_its_setting(parent: ast.AST | None) -> bool:
    """A keyword, a mapping or an `or` reports the fallback with its setting, and so does an
    assignment to a secret-named target (`jwt_secret = get_secret(...)` is reported at the call)."""
    if isinstance(parent, ast.Assign):
        return any(SECRET_NAME.search(_target_name(t) or "") for t in parent.targets)
    return isinstance(parent, ast.BoolOp | ast.keyword | ast.Dict)


def _stops(statement: ast.stmt) -> bool:
    """`raise ...`, `sys.exit(...)`, `fatal_error("...")`, `abort(...)`: the program does not go on."""
    return isinstance(statement, ast.Raise) or (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and re.search(r"exit|fatal|abort|die|panic", dotted(statement.value.func, {}).lower()) is not None
    )


def _target_name(target: ast.expr) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    return getattr(target, "attr", None) or subscript_key(target)


def unsafe_config(info: ModuleInfo) -> Iterator[Hit]:
    """FG601 a literal (or literal fallback) SECRET_KEY, FG602 DEBUG on; development/testing config
    classes and modules, and branches a development switch selects, are exempt."""
    dev_module = info.is_dev_config
    refused = _refused(info)
    for node in info.nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                name = _target_name(target)
                problem = _secret(name, node.value, refused)
                if problem and not dev_module and not info.in_dev_scope(node):
                    yield Hit("FG601", node.lineno, problem)
                if (
                    name in ("DEBUG", "debug")
                    and is_true(node.value)
                    and not dev_module
                    and not info.in_dev_scope(node)
                    and not _switched_off_below(node, info)
                ):
                    yield Hit("FG602", node.lineno, f"{ast.unparse(target)} = True outside a development config")
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                # Flask config keys are upper case; `secret_key` in a mapping is data (a schema, a form).
                name = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
                problem = _secret(name, value, refused) if name and name.isupper() else None
                if problem and not dev_module and not info.in_dev_scope(node):
                    yield Hit("FG601", node.lineno, f"{problem} (in a config mapping)")
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                problem = _secret(kw.arg, kw.value, refused)
                if problem and not dev_module and not info.in_dev_scope(node):
                    yield Hit("FG601", node.lineno, problem)
            # A command-line option with a default: `@click.option("--secret-key", default="development")`.
            option = next((str(a.value) for a in node.args if nonblank_string(a) and str(a.value).startswith("--")), "")
            default = next((k.value for k in node.keywords if k.arg == "default"), None)
            if SECRET_NAME.search(option.replace("-", "_")) and nonblank_string(default) and not dev_module:
                yield Hit("FG601", default.lineno, f"{option} defaults to the literal {default.value[:8]!r}...")  # type: ignore[union-attr]
            lookup = env_lookup(node)
            fallback = _secret_fallback(node) if lookup and lookup[0] not in refused else None
            # In an assignment, a keyword or a mapping the checks above report it with its setting.
            if (
                lookup
                and fallback
                and not dev_module
                and not _reported_with_its_setting(info.parents.get(id(node)))
                and not info.in_dev_scope(node)
            ):
                yield Hit("FG601", node.lineno, f"{lookup[0]} falls back to the literal {fallback[:8]!r}...")


DEMO_MODULES = 2
"""A project whose service code is this many modules or fewer is a demo: a factory buys it nothing."""


def _home(info: ModuleInfo, index: ProjectIndex) -> PurePosixPath:
    """The folder a module's service lives in: the one holding its outermost package, or, for a
    module in no package, its own folder (`payment/payment.py` in a repository of services)."""
    parts = info.module.name.split(".")
    for depth in range(1, len(parts) + 1):
        package = index.modules.get(".".join(parts[:depth]))
        if package is not None and package.module.is_package:
            return package.relative.parent.parent
    return info.relative.parent


def app_at_import(info: ModuleInfo, index: ProjectIndex) -> Iterator[Hit]:
    """FG603: the app is created at import, in a service larger than a one- or two-file demo (the
    service's modules: those in the folder of its outermost package)."""
    created = [
        node for node in info.tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call)
        and dotted(node.value.func, info.imports) in ("flask.Flask", "Flask")
    ]  # fmt: skip
    if not created or info.is_dev_config:
        return
    home = _home(info, index)
    service = [
        m for m in index.modules.values()
        if m.is_service_code and not m.is_script and m.module.name not in index.standalone
        and m.relative.is_relative_to(home)
    ]  # fmt: skip
    if len(service) > DEMO_MODULES:
        yield from (Hit("FG603", node.lineno, "Flask(...) is created at import time") for node in created)


def _is_dev_server(node: ast.Call, info: ModuleInfo) -> bool:
    """`app.run(...)`, `socketio.run(app)`, werkzeug's `run_simple(...)`."""
    name = dotted(node.func, info.imports)
    return name.endswith("run_simple") or bool(
        name.endswith(".run") and re.search(r"(^|\.|_)(app|application|socketio)(\(\))?$", name[: -len(".run")])
    )


def dev_server_calls(info: ModuleInfo) -> Iterator[tuple[ast.Call, bool]]:
    """(call, under a main guard) for each development-server call outside a function (a function
    is a command someone chose to run)."""
    for node in info.nodes:
        if not isinstance(node, ast.Call) or not _is_dev_server(node, info):
            continue
        around = list(info.enclosing(node))
        if any(isinstance(outer, Function) for outer in around):
            continue
        yield node, any(is_main_guard(outer) for outer in around)


def _describe(call: ast.Call) -> str:
    debug = any(kw.arg in ("debug", "use_debugger") and is_true(kw.value) for kw in call.keywords)
    unsafe = any(kw.arg == "allow_unsafe_werkzeug" and is_true(kw.value) for kw in call.keywords)
    extra = " with the debugger on" if debug else " with allow_unsafe_werkzeug=True" if unsafe else ""
    return f"{ast.unparse(call.func)}(){extra}"


def dev_server_hits(info: ModuleInfo, index: ProjectIndex) -> Iterator[Hit]:
    """FG604: the development server runs when the module is imported (and the module is imported
    by the project)."""
    if info.module.name not in index.imported:
        return
    for call, guarded in dev_server_calls(info):
        if not guarded:
            yield Hit(
                "FG604", call.lineno, f"{_describe(call)} runs the development server when this module is imported"
            )


def _top_level(tree: ast.Module) -> Iterator[ast.AST]:
    """The nodes a module runs when started: its body, `if __name__ == "__main__":` included, not
    the bodies of its functions and classes."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, Function | ast.ClassDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))


def started_dev_server(index: ProjectIndex, started: set[str]) -> Iterator[tuple[Path, Hit]]:
    """FG604: a file a production command starts (`CMD python run.py`) runs the development server,
    itself or through the project functions it calls (`main()` -> `socketio.run(app)`), two levels
    deep; branches a development switch selects are left alone."""
    for info in index.modules.values():
        if info.relative.as_posix() not in started:
            continue
        scopes: list[tuple[ModuleInfo, str, list[ast.AST]]] = [(info, "", list(_top_level(info.tree)))]
        seen: set[int] = set()
        for _level in range(REACH_DEPTH + 1):
            following: list[tuple[ModuleInfo, str, list[ast.AST]]] = []
            for owner, via, nodes in scopes:
                for node in nodes:
                    if not isinstance(node, ast.Call):
                        continue
                    if _is_dev_server(node, owner) and not owner.in_dev_branch(node):
                        through = f" through {via}()" if via else ""
                        yield owner.path, Hit(
                            "FG604", node.lineno, f"{_describe(node)} is the development server, and a production "
                            f"command starts {info.relative.as_posix()}{through}",
                        )  # fmt: skip
                        continue
                    target = index.callee(owner, node, None)
                    if target is not None and id(target[2]) not in seen:
                        seen.add(id(target[2]))
                        following.append((target[0], target[1], list(own_nodes(target[2]))))
            scopes = following
