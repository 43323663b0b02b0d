"""AST checks on a project's Python modules: request-code anti-patterns, unsafe config, blocking
logging, calls that can hang.

`ProjectIndex` reads every module of one project once: its imports (relative ones resolved), its
functions and classes, and which of them are request code — view functions, request hooks,
MethodView and Flask-RESTful/flask-restx `Resource` methods, subclasses of those defined anywhere
in the project. Calls are followed from request code into the project's own functions (two levels,
across modules), so a view that calls `send_welcome()` which opens `smtplib.SMTP()` is found.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from flaskgen.audit.paths import NOT_SERVICE_DIRS, is_test_path, words

if TYPE_CHECKING:
    from flaskgen.audit.facts import PythonModule

Function = ast.FunctionDef | ast.AsyncFunctionDef

# Decorators (attribute names) that make a function request code.
REQUEST_DECORATORS = {
    "route", "get", "post", "put", "patch", "delete", "before_request", "after_request",
    "teardown_request", "before_app_request", "after_app_request", "errorhandler",
    "app_errorhandler", "context_processor", "url_value_preprocessor", "expose",
}  # fmt: skip
VIEW_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "dispatch_request"}
VIEW_BASES = {"MethodView", "View", "Resource"}
VIEW_LIBRARIES = ("flask", "flask_restful", "flask_restx", "flask_restplus", "flask_smorest", "flask_classful")
MUTATING_METHODS = {
    "append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "setdefault",
    "add", "discard", "appendleft", "extendleft", "popleft", "sort", "reverse",
    "__setitem__", "__delitem__", "difference_update", "intersection_update",
}  # fmt: skip
MUTABLE_FACTORIES = {
    "dict", "list", "set", "bytearray", "collections.defaultdict", "collections.deque",
    "collections.OrderedDict", "collections.Counter", "defaultdict", "deque", "OrderedDict", "Counter",
}  # fmt: skip
SLOW_CALLS = {
    "time.sleep": "sleeps", "os.system": "runs a process", "os.popen": "runs a process",
    "smtplib.SMTP": "talks SMTP", "smtplib.SMTP_SSL": "talks SMTP", "smtplib.LMTP": "talks SMTP",
}  # fmt: skip
SUBPROCESS = {
    "run",
    "call",
    "check_call",
    "check_output",
    "getoutput",
    "getstatusoutput",
}  # not Popen: it returns at once
# A helper that hands work to a thread or a queue in one branch is an offloading helper.
OFFLOAD = {"Thread", "delay", "apply_async", "enqueue", "submit", "spawn", "start_new_thread"}
HTTP_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "request"}
# HTTP clients with no timeout unless given one (httpx defaults to 5 s and is left alone).
UNBOUNDED_HTTP = {"urllib.request.urlopen": 3, "urllib2.urlopen": 3, "http.client.HTTPConnection": 3,
                  "http.client.HTTPSConnection": 3, "six.moves.urllib.request.urlopen": 3}  # fmt: skip
"""name -> the position of the timeout argument."""
SESSION_FACTORIES = {"requests.Session", "requests.session"}
MAIL_CLASSES = {"flask_mail.Mail", "flask_mailman.Mail"}
NETWORK_HANDLERS = {"SMTPHandler", "HTTPHandler", "SocketHandler"}
FILE_HANDLERS = {"FileHandler", "RotatingFileHandler", "TimedRotatingFileHandler", "WatchedFileHandler",
                 "ConcurrentRotatingFileHandler"}  # fmt: skip
CONTEXT_METHODS = {"app_context", "test_request_context", "request_context"}
DEV_WORDS = {"dev", "develop", "development", "local", "test", "tests", "testing", "example", "sample",
             "debug", "ci"}  # fmt: skip
# Module paths that do not run in the web process: commands, workers, scripts, migrations.
NOT_WEB_DIRS = {"cli", "commands", "scripts", "bin", "tools", "migrations", "alembic", "worker", "workers",
                "tasks", "jobs", "management"}  # fmt: skip
NOT_WEB_STEMS = {"manage", "setup", "cli", "commands", "worker", "workers", "tasks", "celery", "celery_app",
                 "celeryconfig", "celery_worker", "fabfile", "tasks_worker", "rq_worker", "scheduler"}  # fmt: skip
SCRIPT_DIRS = {"scripts", "bin", "tools", "migrations", "alembic"}
# Programs run by hand (setup, release, admin commands): an HTTP call that hangs there holds no worker.
SCRIPT_STEMS = {"setup", "fabfile", "noxfile", "manage", "cli", "commands"}
TASK_DECORATORS = {"task", "shared_task", "periodic_task", "job", "actor", "cron", "scheduled_job"}
SECRET_NAME = re.compile(r"(^|_)SECRET_KEY$", re.IGNORECASE)


@dataclass
class Hit:
    code: str
    line: int
    detail: str
    path: Path | None = None
    """The file, when it is not the one the rule was looking at (an Nginx setting inherited from
    the main config an `include` reads the site into)."""


def dotted(node: ast.AST, imports: dict[str, str]) -> str:
    """`requests.get` / `sleep` (from time import sleep) -> canonical dotted name, or ''."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):  # create_app().run -> create_app.().run
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
    key = _subscript_key(node) if isinstance(node, ast.Subscript) else None
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


def _string(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(node.value.strip())


def _true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _decorator_name(decorator: ast.expr) -> str:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")


def _subscript_key(node: ast.AST) -> str | None:
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return node.slice.value
    return None


PRODUCTION_WORDS = {"prod", "production", "live"}


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


def _is_main_guard(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)


# --- One module -----------------------------------------------------------------------------


@dataclass
class ModuleInfo:
    module: PythonModule
    imports: dict[str, str] = field(default_factory=dict)
    """Local name -> the dotted name it was imported as (relative imports resolved)."""
    functions: dict[str, Function] = field(default_factory=dict)
    """Top-level functions by name, methods as `Class.method`."""
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    mutable_globals: dict[str, int] = field(default_factory=dict)
    """Module-level names bound to mutable objects -> line."""

    @property
    def path(self) -> Path:
        return self.module.path

    @property
    def relative(self) -> PurePosixPath:
        return self.module.relative

    @property
    def tree(self) -> ast.Module:
        return self.module.tree

    @cached_property
    def nodes(self) -> list[ast.AST]:
        """Every node of the module, walked once (the rules filter this list, never re-walk)."""
        return list(ast.walk(self.tree))

    @cached_property
    def parents(self) -> dict[int, ast.AST]:
        return {id(child): node for node in self.nodes for child in ast.iter_child_nodes(node)}

    @cached_property
    def registries(self) -> set[str]:
        return registries(self)

    @cached_property
    def sessions(self) -> set[str]:
        """Module-level names bound to a requests.Session."""
        return _sessions(self.nodes, self.imports)

    def enclosing(self, node: ast.AST) -> Iterator[ast.AST]:
        """The nodes around node, innermost first."""
        current = self.parents.get(id(node))
        while current is not None:
            yield current
            current = self.parents.get(id(current))

    @cached_property
    def is_service_code(self) -> bool:
        """Not tests, fixtures, docs or examples (the code rules skip those)."""
        return not (
            is_test_path(self.relative)
            or NOT_SERVICE_DIRS & set(self.relative.parts[:-1])
            or {"scripts", "tools"} & set(self.relative.parts[:-1])
            or words(self.relative.stem) & {"example", "examples", "sample"}
        )

    @cached_property
    def is_script(self) -> bool:
        parts = set(self.relative.parts[:-1])
        return bool(SCRIPT_DIRS & parts | {"cli", "commands"} & parts) or self.relative.stem in SCRIPT_STEMS

    @cached_property
    def in_web_process(self) -> bool:
        """Code the web workers run: not a command, worker, script or migration module."""
        stem = self.relative.stem
        return not (
            NOT_WEB_DIRS & set(self.relative.parts[:-1])
            or stem in NOT_WEB_STEMS
            or stem.startswith(("worker", "celery", "gunicorn", "manage"))
        )

    @cached_property
    def is_dev_config(self) -> bool:
        """config/testing.py, settings_dev.py, local_settings_example.py: not what production loads."""
        stem = self.relative.stem.lower()
        return (
            bool(words(stem) & DEV_WORDS)
            or stem.startswith(("dev", "test", "local"))
            or any(words(part) & DEV_WORDS for part in self.relative.parts[:-1])
        )

    def in_dev_branch(self, node: ast.AST) -> bool:
        """In the branch of an `if` that a development switch selects (`if app.debug:`)."""
        inner: ast.AST = node
        for outer in self.enclosing(node):
            if isinstance(outer, ast.If | ast.IfExp) and inner is not outer.test:
                in_body = inner in (outer.body if isinstance(outer.body, list) else [outer.body])
                if dev_guard(outer.test) is in_body:
                    return True
            inner = outer
        return False

    def in_dev_scope(self, node: ast.AST) -> bool:
        """Inside a development/testing config class, a CLI command, an `if __name__ == "__main__"`
        block, or the branch of an `if` that a development switch selects (`if app.debug:`,
        `if settings_debug or ENV == "development":`, the `else` of `if not app.debug:`)."""
        for outer in self.enclosing(node):
            if isinstance(outer, ast.ClassDef) and words(re.sub(r"([a-z])([A-Z])", r"\1_\2", outer.name)) & DEV_WORDS:
                return True
            if _is_main_guard(outer):
                return True
            if isinstance(outer, Function) and any(
                _decorator_name(d) in ("command", "group") for d in outer.decorator_list
            ):
                return True
        return self.in_dev_branch(node)


def _resolve_relative(module: PythonModule, level: int, target: str | None) -> str:
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, *([target] if target else [])])


def _imports(module: PythonModule, nodes: list[ast.AST]) -> dict[str, str]:
    imports: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                imports[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom):
            source = node.module or "" if node.level == 0 else _resolve_relative(module, node.level, node.module)
            for alias in node.names:
                imports[alias.asname or alias.name] = f"{source}.{alias.name}" if source else alias.name
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


def module_info(module: PythonModule) -> ModuleInfo:
    info = ModuleInfo(module)
    info.imports = _imports(module, info.nodes)
    immutable = {node.name: _immutable_class(node) for node in module.tree.body if isinstance(node, ast.ClassDef)}
    for node in module.tree.body:
        if isinstance(node, Function):
            info.functions[node.name] = node
        elif isinstance(node, ast.ClassDef):
            info.classes[node.name] = node
            for item in node.body:
                if isinstance(item, Function):
                    info.functions[f"{node.name}.{item.name}"] = item
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        value = getattr(node, "value", None)
        mutable = isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp) or (
            isinstance(value, ast.Call)
            and (
                dotted(value.func, info.imports) in MUTABLE_FACTORIES
                # An instance of a mutable class defined in this module (custom state holders).
                or (isinstance(value.func, ast.Name) and immutable.get(value.func.id) is False)
            )
        )
        if mutable:
            info.mutable_globals.update({t.id: node.lineno for t in targets if isinstance(t, ast.Name)})
    return info


# --- The project's index ----------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """How request code reaches a call: the view and the helpers in between."""

    view: str
    via: tuple[str, ...] = ()

    def __str__(self) -> str:
        return " -> ".join([f"{self.view}()", *(f"{name}()" for name in self.via)])


REACH_DEPTH = 2
"""How many calls deep request code is followed into the project's own functions."""


class ProjectIndex:
    """Every module of one project, and what in it is request code."""

    def __init__(self, modules: list[PythonModule]) -> None:
        self.modules = {m.name: module_info(m) for m in sorted(modules, key=lambda m: m.relative.as_posix())}
        self.imported: set[str] = set()
        for info in self.modules.values():
            for target in info.imports.values():
                parts = target.split(".")
                self.imported.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        self.mail_instances = {
            f"{info.module.name}.{target.id}"
            for info in self.modules.values()
            for node in info.tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
            and dotted(node.value.func, info.imports) in MAIL_CLASSES
            for target in node.targets
            if isinstance(target, ast.Name)
        }  # fmt: skip
        self.view_classes = self._view_classes()
        self.uses_mail = any(
            target.split(".")[0] in ("flask_mail", "flask_mailman")
            for info in self.modules.values()
            for target in info.imports.values()
        )
        self.instances: dict[str, tuple[ModuleInfo, str]] = {}
        """`module.obj` -> (module of its class, class name) for module-level `obj = ProjectClass(...)`."""
        for info in self.modules.values():
            for node in info.tree.body:
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                    target = self._class_target(info, node.value.func)
                    if target is not None:
                        self.instances.update(
                            {f"{info.module.name}.{t.id}": target for t in node.targets if isinstance(t, ast.Name)}
                        )
        self.instance_of: dict[int, str] = {}
        """id(method) -> `module.obj` when request code reached it as a method of a module-level object."""
        self._request_functions: dict[str, list[tuple[str, Function]]] = {}
        self._reached: dict[int, tuple[ModuleInfo, Reach, Function]] | None = None

    def _class_target(self, info: ModuleInfo, base: ast.expr) -> tuple[ModuleInfo, str] | None:
        name = dotted(base, info.imports)
        if isinstance(base, ast.Name) and base.id in info.classes:
            return info, base.id
        module, _, cls = name.rpartition(".")
        if module in self.modules and cls in self.modules[module].classes:
            return self.modules[module], cls
        return None

    def _view_classes(self) -> set[tuple[str, str]]:
        """(module, class) of MethodView/View/Resource subclasses, direct or through project classes."""
        found: set[tuple[str, str]] = set()
        changed = True
        while changed:
            changed = False
            for info in self.modules.values():
                for name, node in info.classes.items():
                    if (info.module.name, name) in found:
                        continue
                    for base in node.bases:
                        name_of_base = dotted(base, info.imports)
                        library = name_of_base.split(".")[0] in VIEW_LIBRARIES
                        target = self._class_target(info, base)
                        if (library and name_of_base.split(".")[-1] in VIEW_BASES) or (
                            target is not None and (target[0].module.name, target[1]) in found
                        ):
                            found.add((info.module.name, name))
                            changed = True
                            break
        return found

    @cached_property
    def standalone(self) -> set[str]:
        """Modules that are programs of their own (a command-line client, a one-off script): run by
        a `__main__` guard or click commands, never imported by the project, with no request code
        and no Flask app. What hangs there holds no worker."""
        found: set[str] = set()
        for name, info in self.modules.items():
            if name in self.imported or self.request_functions(info):
                continue
            if any(_decorator_name(d) in TASK_DECORATORS for f in info.functions.values() for d in f.decorator_list):
                continue  # a worker imports it by name (Celery's `include`, RQ's "tasks.job")
            entry = any(
                _is_main_guard(node)
                or (
                    isinstance(node, Function)
                    and any(_decorator_name(d) in ("command", "group") for d in node.decorator_list)
                )
                for node in info.tree.body
            )
            creates_app = any(
                isinstance(node, ast.Call) and dotted(node.func, info.imports) in ("flask.Flask", "Flask")
                for node in info.nodes
            )
            if entry and not creates_app:
                found.add(name)
        return found

    def request_functions(self, info: ModuleInfo) -> list[tuple[str, Function]]:
        """(label, function): view functions, request hooks and error handlers (by decorator),
        functions passed as view_func, and the HTTP methods of view classes."""
        if info.module.name not in self._request_functions:
            self._request_functions[info.module.name] = list(self._find_request_functions(info))
        return self._request_functions[info.module.name]

    def _find_request_functions(self, info: ModuleInfo) -> Iterator[tuple[str, Function]]:
        view_funcs = {
            kw.value.id
            for node in info.nodes
            if isinstance(node, ast.Call) and _decorator_name(node) == "add_url_rule"
            for kw in node.keywords
            if kw.arg == "view_func" and isinstance(kw.value, ast.Name)
        }
        for node in info.nodes:
            if isinstance(node, Function):
                if (
                    any(_decorator_name(d) in REQUEST_DECORATORS for d in node.decorator_list)
                    or node.name in view_funcs
                ):
                    yield node.name, node
            elif isinstance(node, ast.ClassDef) and (info.module.name, node.name) in self.view_classes:
                for item in node.body:
                    if isinstance(item, Function) and item.name in VIEW_METHODS:
                        yield f"{node.name}.{item.name}", item

    def callee(self, info: ModuleInfo, call: ast.Call, cls: str | None) -> tuple[ModuleInfo, str, Function] | None:
        """The project function a call runs, when the audit can tell: a function of this module, an
        imported one (`from .mail import send`, `mail.send`), `Class.method`, or `self.method`."""
        func = call.func
        if isinstance(func, ast.Name) and func.id in info.functions and func.id not in info.imports:
            return info, func.id, info.functions[func.id]
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
            key = f"{cls}.{func.attr}"
            return (info, key, info.functions[key]) if cls and key in info.functions else None
        parts = dotted(func, info.imports).split(".")
        owner = ".".join(parts[:-1])
        for instance in (owner, f"{info.module.name}.{owner}"):
            if isinstance(func, ast.Attribute) and instance in self.instances:
                module, cls = self.instances[instance]
                key = f"{cls}.{parts[-1]}"
                return (module, key, module.functions[key]) if key in module.functions else None
        for split in (len(parts) - 1, len(parts) - 2):
            module, key = ".".join(parts[:split]), ".".join(parts[split:])
            target = self.modules.get(module) if split > 0 else None
            if target is not None and key in target.functions:
                return target, key, target.functions[key]
        return None

    def _instance_called(self, info: ModuleInfo, func: ast.expr, caller: Function) -> str | None:
        """`module.obj` when func is a method of a module-level object (`store.put`, or `self.x`
        inside a method already reached through that object)."""
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            return self.instance_of.get(id(caller))
        owner = dotted(func, info.imports).rpartition(".")[0]
        for instance in (owner, f"{info.module.name}.{owner}"):
            if instance in self.instances:
                return instance
        return None

    @cached_property
    def reached(self) -> dict[int, tuple[ModuleInfo, Reach, Function]]:
        """id(function) -> (its module, how request code reaches it, the function), for request
        functions and the project functions they call, REACH_DEPTH levels down (the shortest way
        wins). Computed once per project: the blocking-call and shared-state rules both walk it."""
        seen: dict[int, tuple[ModuleInfo, Reach, Function]] = {}
        frontier: list[tuple[ModuleInfo, str, Function, Reach]] = []
        for info in self.modules.values():
            if not info.is_service_code:
                continue
            for label, function in self.request_functions(info):
                if id(function) not in seen:
                    seen[id(function)] = (info, Reach(label), function)
                    frontier.append((info, label, function, Reach(label)))
        for _level in range(REACH_DEPTH):
            following: list[tuple[ModuleInfo, str, Function, Reach]] = []
            for info, label, function, reach in frontier:
                cls = label.split(".")[0] if "." in label else None
                for node in own_nodes(function):
                    if not isinstance(node, ast.Call):
                        continue
                    target = self.callee(info, node, cls)
                    if target is None or id(target[2]) in seen or not target[0].is_service_code:
                        continue
                    instance = self._instance_called(info, node.func, function)
                    if instance is not None:
                        self.instance_of[id(target[2])] = instance
                    step = Reach(reach.view, (*reach.via, target[1]))
                    seen[id(target[2])] = (target[0], step, target[2])
                    following.append((target[0], target[1], target[2], step))
            frontier = following
        return seen


# --- Calls that block or can hang -------------------------------------------------------------


@dataclass(frozen=True)
class SlowCall:
    line: int
    name: str
    kind: str
    """"slow" (sleep, SMTP, a process: work for a task queue) or "http" (a network call)."""
    bounded: bool
    """For HTTP: a timeout is given (or cannot be ruled out: `**kwargs`)."""
    node: ast.Call | None = field(default=None, compare=False)


def _sessions(nodes: Iterable[ast.AST], imports: dict[str, str]) -> set[str]:
    """Names a requests.Session is reached by: `s`, `self.session` (set in a method), and
    `self.http`/`cls.http`/`Client.http` for a session made in a class body."""
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            if dotted(node.value.func, imports) in SESSION_FACTORIES:
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
                names.update(ast.unparse(t) for t in node.targets if isinstance(t, ast.Attribute))
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                made = isinstance(item, ast.Assign) and isinstance(item.value, ast.Call)
                if made and dotted(item.value.func, imports) in SESSION_FACTORIES:  # type: ignore[union-attr]
                    held = [t.id for t in item.targets if isinstance(t, ast.Name)]  # type: ignore[union-attr]
                    names.update(f"{owner}.{name}" for name in held for owner in ("self", "cls", node.name))
        elif (
            isinstance(node, ast.withitem)
            and isinstance(node.context_expr, ast.Call)
            and dotted(node.context_expr.func, imports) in SESSION_FACTORIES
            and isinstance(node.optional_vars, ast.Name)
        ):
            names.add(node.optional_vars.id)
    return names


def _has_timeout(call: ast.Call, position: int | None = None) -> bool:
    for kw in call.keywords:
        if kw.arg is None:  # **kwargs: may carry one
            return True
        if kw.arg == "timeout":
            return not (isinstance(kw.value, ast.Constant) and kw.value.value is None)
    return position is not None and len(call.args) >= position


def own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's own body: nested functions and lambdas (thread targets,
    callbacks) run only when something calls them."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, Function | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))


def offloads(function: Function) -> bool:
    """The function hands work to a thread, a pool or a task queue (`Thread(...)`, `.delay()`, ...)."""
    return any(isinstance(node, ast.Call) and _decorator_name(node) in OFFLOAD for node in ast.walk(function))


def slow_calls(scope: ast.AST, info: ModuleInfo, index: ProjectIndex) -> Iterator[SlowCall]:
    """Blocking calls made in scope: a module (all of it) or a function (its own body)."""
    nodes = info.nodes if isinstance(scope, ast.Module) else list(own_nodes(scope))
    sessions = info.sessions if isinstance(scope, ast.Module) else _sessions(nodes, info.imports) | info.sessions
    # `mail = current_app.extensions["mail"]` then `mail.send(msg)`.
    mailers = (
        {
            t.id
            for n in nodes
            if isinstance(n, ast.Assign) and _mail_extension(n.value)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        if index.uses_mail
        else set()
    )
    for node in nodes:
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func, info.imports)
        head, _, last = name.rpartition(".")
        if name in SLOW_CALLS or (head == "subprocess" and last in SUBPROCESS):
            yield SlowCall(node.lineno, name, "slow", False, node)
        elif head == "requests" and last in HTTP_VERBS:
            yield SlowCall(node.lineno, name, "http", _has_timeout(node), node)
        elif name in UNBOUNDED_HTTP:
            yield SlowCall(node.lineno, name, "http", _has_timeout(node, UNBOUNDED_HTTP[name]), node)
        elif isinstance(node.func, ast.Attribute) and last in HTTP_VERBS and head in sessions:
            yield SlowCall(node.lineno, name, "http", _has_timeout(node), node)
        elif last in ("send", "send_message") and _mail_instance(head, info, index):
            yield SlowCall(node.lineno, f"{head.split('.')[-1]}.{last}", "slow", False, node)
        elif (
            index.uses_mail
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("send", "send_message")
            and (_mail_extension(node.func.value) or _name_of(node.func.value) in mailers)
        ):
            yield SlowCall(node.lineno, f"{ast.unparse(node.func.value)}.{node.func.attr}", "slow", False, node)


MAIL_NAMES = {"mail", "mailer", "mailman"}


def _mail_extension(node: ast.AST) -> bool:
    """A Flask-Mail/Flask-Mailman instance reached by attribute: `current_app.mail`,
    `app.extensions["mail"]`."""
    if isinstance(node, ast.Attribute):
        return node.attr in MAIL_NAMES
    return (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "extensions"
        and isinstance(node.slice, ast.Constant)
        and node.slice.value in MAIL_NAMES
    )


def _name_of(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else ""


def _mail_instance(name: str, info: ModuleInfo, index: ProjectIndex) -> bool:
    return name in index.mail_instances or f"{info.module.name}.{name}" in index.mail_instances


def blocking_hits(index: ProjectIndex) -> Iterator[tuple[Path, Hit]]:
    """FG401: slow work (sleep, SMTP, mail, processes) in request code or in project functions it
    calls, once per function. FG402: an HTTP call without a timeout anywhere in service code
    (request code or not: a hung upstream holds whichever worker made it)."""
    in_request: dict[tuple[Path, int], Reach] = {}
    slow: dict[tuple[Path, int], tuple[SlowCall, Reach]] = {}
    for info, reach, function in index.reached.values():
        calls = list(slow_calls(function, info, index))
        for call in calls:
            key = (info.path, call.line)
            if key not in in_request or len(reach.via) < len(in_request[key].via):
                in_request[key] = reach
        work = [call for call in calls if call.kind == "slow"]
        if work and not (reach.via and offloads(function)):
            slow[(info.path, work[0].line)] = (work[0], reach)
    for (path, line), (call, reach) in slow.items():
        where = f"in {reach}" if not reach.via else f"reached from request code: {reach}"
        yield path, Hit("FG401", line, f"{call.name}() blocks the worker {where}")
    for info in index.modules.values():
        if not info.is_service_code or info.is_script or info.module.name in index.standalone:
            continue
        for call in slow_calls(info.tree, info, index):
            if call.kind == "http" and not call.bounded and not (call.node and info.in_dev_scope(call.node)):
                reach = in_request.get((info.path, call.line))
                where = f" in request code ({reach})" if reach is not None else ""
                yield (
                    info.path,
                    Hit(
                        "FG402",
                        call.line,
                        f"{call.name}() has no timeout{where}: a hung upstream holds the worker forever",
                    ),
                )


# --- Request code: shared state and contexts --------------------------------------------------


def _local_names(function: Function) -> tuple[set[str], set[str]]:
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


# What a process-local registry holds: its own threads, processes, locks, queues, pools and
# connections. Keeping them in a module-level dict is per-process bookkeeping, not per-user data.
HANDLE_FACTORIES = {
    "Thread", "Timer", "Process", "Lock", "RLock", "Event", "Condition", "Semaphore", "BoundedSemaphore",
    "Queue", "SimpleQueue", "LifoQueue", "PriorityQueue", "ThreadPoolExecutor", "ProcessPoolExecutor", "Pool",
    "socket", "create_connection", "connect", "Session", "Client", "StrictRedis", "Redis", "ConnectionPool",
    "create_engine", "spawn", "Greenlet", "BackgroundScheduler", "Observer",
}  # fmt: skip


def _handle_value(value: ast.AST | None, handles: set[str]) -> bool:
    """A thread/lock/connection object (`Thread(...)`, or a local name bound to one)."""
    if isinstance(value, ast.Call):
        return _decorator_name(value) in HANDLE_FACTORIES
    return isinstance(value, ast.Name) and value.id in handles


def registries(info: ModuleInfo) -> set[str]:
    """Module-level containers that the module fills with threads, locks or connections
    (`WORKERS[name] = Thread(...)`, or a name bound to one): the process's own registries."""
    if not info.mutable_globals:
        return set()
    handles = {
        t.id
        for n in info.nodes
        if isinstance(n, ast.Assign) and _handle_value(n.value, set())
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    found: set[str] = set()
    for node in info.nodes:
        if isinstance(node, ast.Assign) and _handle_value(node.value, handles):
            found.update(_base_name(t) or "" for t in node.targets if isinstance(t, ast.Subscript))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATING_METHODS
            and any(_handle_value(arg, handles) for arg in node.args)
        ):
            found.add(_base_name(node.func.value) or "")
    return found & set(info.mutable_globals)


def _lazy_guard(node: ast.AST, name: str, info: ModuleInfo) -> bool:
    """`if _client is None: _client = make()`: a set-once lazy setup under a test of the name itself."""
    return any(
        isinstance(outer, ast.If) and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(outer.test))
        for outer in info.enclosing(node)
    )


def global_mutations(
    where: str, function: Function, info: ModuleInfo, instance: str | None = None
) -> Iterator[tuple[str, Hit]]:
    """FG301 in one function, as (name, hit); `where` is how request code reaches it (`index() ->
    add_request()`); `instance`: the module-level object whose method this is (`self` is shared)."""
    declared_global, local = _local_names(function)
    kept = info.registries
    shared = {name for name in info.mutable_globals if name not in local and name not in kept}
    if instance is not None:
        shared.add("self")
    seen: set[str] = set()

    def hit(node: ast.AST, name: str, how: str) -> Iterator[tuple[str, Hit]]:
        if name not in seen:
            seen.add(name)
            if name == "self" and instance:
                shown, key = instance.rpartition(".")[2], instance
                at = ""
            else:
                shown, key = name, f"{info.module.name}.{name}"
                at = f" (line {info.mutable_globals.get(name, '?')})"
            yield key, Hit("FG301", getattr(node, "lineno", 0), f"module-level {shown!r}{at} is {how} in {where}")

    for node in sorted(own_nodes(function), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in declared_global and target.id not in seen:
                    seen.add(target.id)
                    if target.id not in kept and not _lazy_guard(node, target.id, info):
                        yield (
                            f"{info.module.name}.{target.id}",
                            Hit("FG301", node.lineno, f"global {target.id!r} is reassigned in {where}"),
                        )
                elif isinstance(target, ast.Subscript | ast.Attribute):
                    name = _base_name(target)
                    # Through a method, `self.value = x` overwrites a cached copy; a container of
                    # self that grows (`self.carts[user] = x`) or a counter (`+=`) is shared data.
                    overwrite = name == "self" and isinstance(node, ast.Assign) and isinstance(target.value, ast.Name)
                    if (name in shared and not overwrite) or (name in declared_global and name not in kept):
                        yield from hit(node, name or "?", "modified")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATING_METHODS:
            name = _base_name(node.func.value)
            if name in shared and isinstance(node.func.value, ast.Name | ast.Attribute | ast.Subscript):
                yield from hit(node, name, f"changed with .{node.func.attr}()")


def shared_state_hits(index: ProjectIndex) -> Iterator[tuple[Path, Hit]]:
    """FG301 once per shared name: one design choice is one finding, at the place request code
    reaches most directly, with the count of the other places that change it."""
    places: dict[str, list[tuple[int, Path, Hit]]] = {}
    for info, reach, function in index.reached.values():
        instance = index.instance_of.get(id(function))
        for key, hit in global_mutations(str(reach), function, info, instance):
            places.setdefault(key, []).append((len(reach.via), info.path, hit))
    for found in places.values():
        found.sort(key=lambda place: (place[0], str(place[1]), place[2].line))
        _depth, path, hit = found[0]
        others = len(found) - 1
        more = f" (and {others} other place{'s' if others > 1 else ''})" if others else ""
        yield path, Hit(hit.code, hit.line, hit.detail + more)


def context_pushes(label: str, function: Function) -> Iterator[Hit]:
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CONTEXT_METHODS:
            yield Hit("FG701", node.lineno, f".{node.func.attr}() pushed inside request code {label}()")


def nested_context_pushes(nodes: list[ast.AST]) -> Iterator[Hit]:
    def pushes(node: ast.With | ast.AsyncWith) -> bool:
        return any(
            isinstance(item.context_expr, ast.Call)
            and isinstance(item.context_expr.func, ast.Attribute)
            and item.context_expr.func.attr in CONTEXT_METHODS
            for item in node.items
        )

    for outer in nodes:
        if isinstance(outer, ast.With | ast.AsyncWith) and pushes(outer):
            for inner in ast.walk(outer):
                if inner is not outer and isinstance(inner, ast.With | ast.AsyncWith) and pushes(inner):
                    yield Hit(
                        "FG701", inner.lineno, f"a context is pushed inside another (outer at line {outer.lineno})"
                    )


# --- Configuration: secrets, debug, the app at import, the dev server ------------------------


def _secret_fallback(value: ast.AST | None, *, named: bool = False) -> str | None:
    """The literal in `os.environ.get("SECRET_KEY", "x")` or `os.getenv(...) or "x"` (`named`: the
    setting is a secret whatever the variable is called, as in `SECRET_KEY = getenv("APP_KEY", "x")`)."""
    if (
        isinstance(value, ast.BoolOp)
        and isinstance(value.op, ast.Or)
        and _string(value.values[-1])
        and any(env_lookup(v) is not None for v in value.values[:-1])
    ):
        return str(value.values[-1].value)  # type: ignore[attr-defined]
    lookup = env_lookup(value)
    if lookup is not None and (named or SECRET_NAME.search(lookup[0])) and _string(lookup[1]):
        return str(lookup[1].value)  # type: ignore[union-attr]
    return None


def _secret(name: str | None, value: ast.AST | None) -> str | None:
    """How a secret setting is a literal: 'the literal ...' or 'a literal fallback ...', else None."""
    if not name or not SECRET_NAME.search(name):
        return None
    if _string(value):
        return f"{name} is the literal {str(value.value)[:8]!r}..."  # type: ignore[union-attr]
    fallback = _secret_fallback(value, named=True)
    if fallback is not None:
        return f"{name} falls back to the literal {fallback[:8]!r}... when the environment lacks it"
    return None


def _target_name(target: ast.expr) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    return getattr(target, "attr", None) or _subscript_key(target)


def unsafe_config(info: ModuleInfo) -> Iterator[Hit]:
    """FG601 a literal (or literal fallback) SECRET_KEY, FG602 DEBUG on; development/testing config
    classes and modules, and branches a development switch selects, are exempt."""
    dev_module = info.is_dev_config
    for node in info.nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                name = _target_name(target)
                problem = _secret(name, node.value)
                if problem and not dev_module and not info.in_dev_scope(node):
                    yield Hit("FG601", node.lineno, problem)
                if name in ("DEBUG", "debug") and _true(node.value) and not dev_module and not info.in_dev_scope(node):
                    yield Hit("FG602", node.lineno, f"{ast.unparse(target)} = True outside a development config")
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                # Flask config keys are upper case; `secret_key` in a mapping is data (a schema, a form).
                name = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
                problem = _secret(name, value) if name and name.isupper() else None
                if problem and not dev_module and not info.in_dev_scope(node):
                    yield Hit("FG601", node.lineno, f"{problem} (in a config mapping)")
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                problem = _secret(kw.arg, kw.value)
                if problem and not dev_module and not info.in_dev_scope(node):
                    yield Hit("FG601", node.lineno, problem)
            lookup = env_lookup(node)
            fallback = _secret_fallback(node) if lookup else None
            # In an assignment, a keyword or a mapping the checks above report it with its setting.
            if (
                lookup
                and fallback
                and not dev_module
                and not isinstance(info.parents.get(id(node)), ast.Assign | ast.BoolOp | ast.keyword | ast.Dict)
                and not info.in_dev_scope(node)
            ):
                yield Hit("FG601", node.lineno, f"{lookup[0]} falls back to the literal {fallback[:8]!r}...")


DEMO_MODULES = 2
"""A project whose service code is this many modules or fewer is a demo: a factory buys it nothing."""


def app_at_import(info: ModuleInfo, index: ProjectIndex) -> Iterator[Hit]:
    """FG603: the app is created at import, in a project larger than a one- or two-file demo."""
    service = [m for m in index.modules.values() if m.is_service_code and not m.is_script]
    if info.is_dev_config or len(service) - len(index.standalone) <= DEMO_MODULES:
        return
    for node in info.tree.body:
        created = isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call)
        if created and dotted(node.value.func, info.imports) in ("flask.Flask", "Flask"):  # type: ignore[union-attr]
            yield Hit("FG603", node.lineno, "Flask(...) is created at import time")


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
        yield node, any(_is_main_guard(outer) for outer in around)


def _describe(call: ast.Call) -> str:
    debug = any(kw.arg in ("debug", "use_debugger") and _true(kw.value) for kw in call.keywords)
    unsafe = any(kw.arg == "allow_unsafe_werkzeug" and _true(kw.value) for kw in call.keywords)
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


# --- Logging that blocks a request ------------------------------------------------------------


def _handler_class(node: ast.AST, info: ModuleInfo) -> str | None:
    """The blocking handler a call creates: network ones (SMTP, HTTP, TCP socket/syslog) and files."""
    if not isinstance(node, ast.Call):
        return None
    name = dotted(node.func, info.imports).split(".")[-1]
    if name in NETWORK_HANDLERS or name in FILE_HANDLERS:
        return name
    if name == "SysLogHandler" and any(
        kw.arg == "socktype" and "SOCK_STREAM" in ast.unparse(kw.value) for kw in node.keywords
    ):
        return "SysLogHandler over TCP"
    return None


def _why(handler: str) -> str:
    if handler in FILE_HANDLERS:
        return "each record is a disk write in the worker"
    return "each record waits on the network in the worker"


def _logging_code(handler: str) -> str:
    """FG501 for network handlers (a stalled sink stalls requests), FG502 (opt-in) for files."""
    return "FG502" if handler in FILE_HANDLERS else "FG501"


def blocking_logging(info: ModuleInfo) -> Iterator[Hit]:
    """FG501 network (FG502 file) handlers attached without a QueueHandler, in code the web workers run
    (not commands, workers, scripts, dev/test configs). Stream handlers to stdout/stderr are fine
    under a supervisor and are not reported."""
    if "QueueHandler" in info.module.source or not info.in_web_process or info.is_dev_config:
        return
    handler_vars: dict[str, str] = {}
    for node in info.nodes:
        if isinstance(node, ast.Assign) and (handler := _handler_class(node.value, info)):
            handler_vars.update({t.id: handler for t in node.targets if isinstance(t, ast.Name)})
    for node in info.nodes:
        if not isinstance(node, ast.Call) and not isinstance(node, ast.Dict):
            continue
        hit: Hit | None = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "addHandler":
            arg = node.args[0] if node.args else None
            handler = _handler_class(arg, info) or (handler_vars.get(arg.id) if isinstance(arg, ast.Name) else None)
            if handler:
                hit = Hit(_logging_code(handler), node.lineno, f"a {handler} is attached directly: {_why(handler)}")
        elif isinstance(node, ast.Call) and dotted(node.func, info.imports) == "logging.basicConfig":
            if any(kw.arg == "filename" for kw in node.keywords):
                hit = Hit("FG502", node.lineno, f"logging.basicConfig(filename=...): {_why('FileHandler')}")
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "class" and isinstance(value, ast.Constant):
                    handler = str(value.value).split(".")[-1]
                    if handler in NETWORK_HANDLERS or handler in FILE_HANDLERS:
                        hit = Hit(
                            _logging_code(handler), node.lineno, f"dictConfig handler {value.value}: {_why(handler)}"
                        )
        if hit is not None and not info.in_dev_scope(node):
            yield hit


DEPENDENCY_CALLS = {"execute", "ping", "connect", "scalar", "scalars", "exec_driver_sql"}
"""Calls that reach a database or Redis (`db.session.execute(text("SELECT 1"))`, `redis.ping()`)."""


def _queries_dependency(node: ast.AST, info: ModuleInfo) -> bool:
    if not isinstance(node, ast.Call):
        return False
    head, _, last = dotted(node.func, info.imports).rpartition(".")
    return _decorator_name(node) in DEPENDENCY_CALLS or (head in ("requests", "httpx") and last in HTTP_VERBS)


def dependency_paths(index: ProjectIndex) -> set[str]:
    """URL paths of views that query a dependency (a database, Redis, an HTTP service), themselves
    or in a project function they call: not what a liveness probe may call."""
    found: set[str] = set()
    for info in index.modules.values():
        for _label, function in index.request_functions(info):
            paths = [
                str(d.args[0].value)
                for d in function.decorator_list
                if isinstance(d, ast.Call) and d.args and isinstance(d.args[0], ast.Constant)
                and _decorator_name(d) in ("route", "get")
            ]  # fmt: skip
            if not paths:
                continue
            scopes = [(info, function)]
            for call in (n for n in own_nodes(function) if isinstance(n, ast.Call)):
                target = index.callee(info, call, None)
                if target is not None:
                    scopes.append((target[0], target[2]))
            if any(_queries_dependency(n, owner) for owner, scope in scopes for n in own_nodes(scope)):
                found.update(path.rstrip("/") for path in paths)
    return found


def check_project(index: ProjectIndex, started: set[str]) -> Iterator[tuple[Path, Hit]]:
    """The code rules on one project's modules (tests, fixtures, docs and examples are exempt).
    `started`: project-relative paths of Python files production command files run directly."""
    # Shared state changed by request code, or by a helper it calls (`stats.add_request()`).
    yield from shared_state_hits(index)
    for info in index.modules.values():
        if not info.is_service_code:
            continue
        for label, function in index.request_functions(info):
            yield from ((info.path, hit) for hit in context_pushes(label, function))
        yield from ((info.path, hit) for hit in nested_context_pushes(info.nodes))
        yield from ((info.path, hit) for hit in unsafe_config(info))
        yield from ((info.path, hit) for hit in app_at_import(info, index))
        yield from ((info.path, hit) for hit in blocking_logging(info))
        yield from ((info.path, hit) for hit in dev_server_hits(info, index))
    yield from started_dev_server(index, started)
    yield from blocking_hits(index)
