"""One Python module of a project, read once: its imports (relative ones resolved), functions and
classes, module-level mutable state, the sessions and process-local registries it keeps, and what
its path says (service code, a script, the web process, a development config)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

from flaskgen.audit.ast_tools import (
    DEV_WORDS,
    base_name,
    call_name,
    dev_guard,
    dotted,
    env_lookup,
    has_timeout,
    is_main_guard,
)
from flaskgen.audit.model import Function, PythonModule
from flaskgen.audit.paths import NOT_SERVICE_DIRS, TEST_ONLY_LIBRARIES, is_test_decorator, is_test_path, words

MUTATING_METHODS = {
    "append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "setdefault",
    "add", "discard", "appendleft", "extendleft", "popleft", "sort", "reverse",
    "__setitem__", "__delitem__", "difference_update", "intersection_update",
}  # fmt: skip


MUTABLE_FACTORIES = {
    "dict", "list", "set", "bytearray", "collections.defaultdict", "collections.deque",
    "collections.OrderedDict", "collections.Counter", "defaultdict", "deque", "OrderedDict", "Counter",
}  # fmt: skip


SESSION_FACTORIES = {"requests.Session", "requests.session"}


URLLIB3_POOLS = frozenset({"urllib3.PoolManager", "urllib3.poolmanager.PoolManager", "urllib3.HTTPConnectionPool",
                           "urllib3.HTTPSConnectionPool"})  # fmt: skip


MAIL_APIS = frozenset({"sendgrid.SendGridAPIClient", "sendgrid.SendGridClient", "postmarker.core.PostmarkClient",
                       "mailjet_rest.Client", "mailchimp_transactional.Client"})  # fmt: skip
"""E-mail providers' HTTP clients: a send waits on the provider in the worker, like SMTP."""


# Module paths that do not run in the web process: commands, workers, scripts, migrations.
NOT_WEB_DIRS = {"cli", "commands", "scripts", "bin", "tools", "migrations", "alembic", "worker", "workers",
                "tasks", "jobs", "management"}  # fmt: skip


NOT_WEB_STEMS = {"manage", "setup", "cli", "commands", "worker", "workers", "tasks", "celery", "celery_app",
                 "celeryconfig", "celery_worker", "fabfile", "tasks_worker", "rq_worker", "scheduler"}  # fmt: skip


SCRIPT_DIRS = {"scripts", "bin", "tools", "migrations", "alembic"}


# Programs run by hand (setup, release, admin commands): an HTTP call that hangs there holds no worker.
SCRIPT_STEMS = {"setup", "fabfile", "noxfile", "manage", "cli", "commands"}


TASK_DECORATORS = {"task", "shared_task", "periodic_task", "job", "actor", "cron", "scheduled_job"}


# What a process-local registry holds: its own threads, processes, locks, queues, pools and
# connections. Keeping them in a module-level dict is per-process bookkeeping, not per-user data.
HANDLE_FACTORIES = {
    "Thread", "Timer", "Process", "Lock", "RLock", "Event", "Condition", "Semaphore", "BoundedSemaphore",
    "Queue", "SimpleQueue", "LifoQueue", "PriorityQueue", "ThreadPoolExecutor", "ProcessPoolExecutor", "Pool",
    "socket", "create_connection", "connect", "Session", "Client", "StrictRedis", "Redis", "ConnectionPool",
    "create_engine", "spawn", "Greenlet", "BackgroundScheduler", "Observer",
}  # fmt: skip


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
    containers: set[str] = field(default_factory=set)
    """Of those, the ones (last) bound to a dict/list/set, not to an object."""
    main_only: set[str] = field(default_factory=set)
    """Of run_by_main_guard, those no other module imports (ProjectIndex fills it in)."""

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
        return sessions_in(self.nodes, self.imports)

    @cached_property
    def pools(self) -> set[str]:
        """Names bound to a urllib3 pool (`http = urllib3.PoolManager()`), whose `http.request(...)`
        waits forever unless the call or the pool has a timeout: none when a pool is made with one."""
        if "urllib3" not in self.module.source or any(
            isinstance(n, ast.Call) and dotted(n.func, self.imports) in URLLIB3_POOLS and has_timeout(n)
            for n in self.nodes
        ):
            return set()
        return sessions_in(self.nodes, self.imports, made_by=URLLIB3_POOLS)

    @cached_property
    def mail_apis(self) -> set[str]:
        """Names bound to an e-mail provider's client (`self.mailer = SendGridAPIClient(key)`)."""
        if not any(name.split(".")[0] in self.module.source for name in MAIL_APIS):
            return set()
        return sessions_in(self.nodes, self.imports, made_by=MAIL_APIS)

    def enclosing(self, node: ast.AST) -> Iterator[ast.AST]:
        """The nodes around node, innermost first."""
        current = self.parents.get(id(node))
        while current is not None:
            yield current
            current = self.parents.get(id(current))

    @cached_property
    def run_by_main_guard(self) -> set[str]:
        """Undecorated top-level functions the module calls only under `if __name__ == "__main__":`
        (`local_main()`); not `main`, what a console-script entry point names."""
        guards = [node for node in self.tree.body if is_main_guard(node)]
        if not guards:
            return set()
        inside = {id(n) for guard in guards for n in ast.walk(guard)}
        called = {
            n.func.id
            for guard in guards
            for n in ast.walk(guard)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        }
        elsewhere = {n.id for n in self.nodes if isinstance(n, ast.Name) and id(n) not in inside}
        return {
            name
            for name in called - elsewhere
            if name in self.functions and not self.functions[name].decorator_list and name != "main"
        }

    @cached_property
    def is_service_code(self) -> bool:
        """Not tests, fixtures, docs or examples (the code rules skip those), nor test code wherever
        it sits: a module importing a test-only library (pytest, requests_mock, responses) or
        defining a unittest.TestCase."""
        return not (
            is_test_path(self.relative)
            or any(target.split(".")[0] in TEST_ONLY_LIBRARIES for target in self.imports.values())
            or any(dotted(b, self.imports).endswith("TestCase") for c in self.classes.values() for b in c.bases)
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
            if is_main_guard(outer) or (isinstance(outer, Function) and outer.name in self.main_only):
                return True
            if isinstance(outer, Function) and any(
                call_name(d) in ("command", "group") or is_test_decorator(dotted(d, self.imports))
                for d in outer.decorator_list
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
        container = isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp) or (
            isinstance(value, ast.Call) and dotted(value.func, info.imports) in MUTABLE_FACTORIES
        )
        # An instance of a mutable class defined in this module (custom state holders).
        instance = (
            isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and immutable.get(value.func.id) is False
        )
        if container or instance:
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            info.mutable_globals.update(dict.fromkeys(names, node.lineno))
            if container:
                info.containers.update(names)
            else:
                info.containers.difference_update(names)
    return info


def sessions_in(
    nodes: Iterable[ast.AST],
    imports: dict[str, str],
    factories: set[str] | frozenset[str] = frozenset(),
    made_by: set[str] | frozenset[str] = frozenset(SESSION_FACTORIES),
) -> set[str]:
    """Names a requests.Session (or what `made_by` makes) is reached by: `s`, `self.session` (set
    in a method), and `self.http`/`cls.http`/`Client.http` for a session made in a class body;
    also the result of a project function that returns one (factories: `s = get_session()`)."""
    factories = made_by | factories
    nodes = list(nodes)
    names: set[str] = set()
    params: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Assign):
            # `s = requests.Session()`, `s = session or requests.Session()`, `s = a if b else Session()`
            value = node.value
            made = value.values if isinstance(value, ast.BoolOp) else [value.body, value.orelse] if isinstance(
                value, ast.IfExp) else [value]  # fmt: skip
            if any(isinstance(v, ast.Call) and dotted(v.func, imports) in factories for v in made):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
                names.update(ast.unparse(t) for t in node.targets if isinstance(t, ast.Attribute))
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                made = isinstance(item, ast.Assign) and isinstance(item.value, ast.Call)
                if made and dotted(item.value.func, imports) in factories:  # type: ignore[union-attr]
                    held = [t.id for t in item.targets if isinstance(t, ast.Name)]  # type: ignore[union-attr]
                    names.update(f"{owner}.{name}" for name in held for owner in ("self", "cls", node.name))
        elif (
            isinstance(node, ast.withitem)
            and isinstance(node.context_expr, ast.Call)
            and dotted(node.context_expr.func, imports) in factories
            and isinstance(node.optional_vars, ast.Name)
        ):
            names.add(node.optional_vars.id)
        elif isinstance(node, ast.arg) and node.annotation is not None and dotted(node.annotation, imports) in made_by:
            params.add(node.arg)  # `def __init__(self, session: requests.Session)`
    names |= params
    if names:  # what is handed one: `self.session = session`
        handed = [
            n for n in nodes if isinstance(n, ast.Assign) and isinstance(n.value, ast.Name) and n.value.id in names
        ]
        names.update(ast.unparse(t) for n in handed for t in n.targets if isinstance(t, ast.Name | ast.Attribute))
    return names


def is_handle(value: ast.AST | None, handles: set[str]) -> bool:
    """A thread/lock/connection object (`Thread(...)`, or a local name bound to one)."""
    if isinstance(value, ast.Call):  # also a client library's own class: `SlackClient(token)`, `RedisPool(...)`
        name = call_name(value)
        return name in HANDLE_FACTORIES or name.endswith(("Client", "Session", "Connection", "Pool"))
    return isinstance(value, ast.Name) and value.id in handles


def registries(info: ModuleInfo) -> set[str]:
    """Module-level containers that the module fills with threads, locks or connections
    (`WORKERS[name] = Thread(...)`, or a name bound to one): the process's own registries."""
    if not info.mutable_globals:
        return set()
    handles = {
        t.id
        for n in info.nodes
        if isinstance(n, ast.Assign) and is_handle(n.value, set())
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    found: set[str] = set()
    for node in info.nodes:
        if isinstance(node, ast.Assign) and is_handle(node.value, handles):
            found.update(base_name(t) or "" for t in node.targets if isinstance(t, ast.Subscript))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATING_METHODS
            and any(is_handle(arg, handles) for arg in node.args)
        ):
            found.add(base_name(node.func.value) or "")
    return found & set(info.mutable_globals)


MODULE_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+(:[\w.()]+)?|[A-Za-z_]\w*:[A-Za-z_][\w.()]*")
"""A module named in a string: `pkg.tasks`, `pkg.views:bp`, `wsgi:app`."""


def functions_to_run_by_hand(info: ModuleInfo) -> bool:
    """A file of plain functions and settings that runs nothing when imported: beside a service that
    never imports it, an operator calls them from a shell."""
    return bool(info.functions) and not info.classes and all(
        isinstance(node, ast.Import | ast.ImportFrom | Function)
        or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        or (isinstance(node, ast.Assign | ast.AnnAssign) and not any(
            isinstance(n, ast.Call) and env_lookup(n) is None for n in ast.walk(node)))
        for node in info.tree.body
    )  # fmt: skip


def named_modules(info: ModuleInfo) -> list[str]:
    """Modules named in the module's strings (`include=["pkg.tasks"]`, `"pkg.views:bp"`)."""
    return [
        n.value.partition(":")[0]
        for n in info.nodes
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and MODULE_PATH.fullmatch(n.value)
    ]


def defines_tasks(info: ModuleInfo) -> bool:
    return any(call_name(d) in TASK_DECORATORS for f in info.functions.values() for d in f.decorator_list)
