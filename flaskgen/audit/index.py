"""A project's Python modules indexed once: imports (relative ones resolved), functions and classes,
module-level mutable state, and which functions are request code — view functions, request hooks,
MethodView and Flask-RESTful/flask-restx `Resource` methods, subclasses of those defined anywhere
in the project. Calls are followed from request code into the project's own functions (two levels,
across modules, through methods of module-level objects), so a view that calls `send_welcome()`
which opens `smtplib.SMTP()` is found."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import takewhile

from flaskgen.audit.ast_tools import call_name, dotted, is_main_guard, own_nodes
from flaskgen.audit.model import Function, PythonModule
from flaskgen.audit.modules import (
    SESSION_FACTORIES,
    ModuleInfo,
    defines_tasks,
    functions_to_run_by_hand,
    module_info,
    named_modules,
    sessions_in,
)

# Decorators (attribute names) that make a function request code.
REQUEST_DECORATORS = {
    "route", "get", "post", "put", "patch", "delete", "before_request", "after_request",
    "teardown_request", "before_app_request", "after_app_request", "errorhandler",
    "app_errorhandler", "context_processor", "url_value_preprocessor", "expose",
}  # fmt: skip


VIEW_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "dispatch_request"}


VIEW_BASES = {"MethodView", "View", "Resource", "MethodResource"}


VIEW_LIBRARIES = ("flask", "flask_restful", "flask_restx", "flask_restplus", "flask_smorest", "flask_classful",
                  "flask_apispec")  # fmt: skip


MAIL_CLASSES = {"flask_mail.Mail", "flask_mailman.Mail"}


Callee = tuple[ModuleInfo, str, Function]  # a project function a call runs: module, `Class.method`, function


@dataclass(frozen=True)
class Reach:
    """How request code reaches a call: the view and the helpers in between."""

    view: str
    via: tuple[str, ...] = ()
    dispatched: bool = False
    """A step on the way is a method of an object of unknown class, followed to an implementation."""

    def __str__(self) -> str:
        return " -> ".join([f"{self.view}()", *(f"{name}()" for name in self.via)])


REACH_DEPTH = 2
"""How many calls deep request code is followed into the project's own functions for what it
changes (FG301) and what a production command starts (FG604)."""


SLOW_REACH_DEPTH = 4
"""How many calls deep request code is followed for slow work (FG401): a view -> a notification
helper -> a provider class chosen at run time -> its SMTP connection."""


# Method names too common to follow by name alone when the object is not known.
GENERIC_METHODS = {
    "get", "set", "pop", "update", "items", "keys", "values", "append", "add", "copy", "clear", "close",
    "open", "read", "write", "join", "split", "format", "run", "start", "stop", "save", "delete", "load",
    # What database sessions, cursors and queries answer to (`session.query(...)`, `cursor.execute`).
    "query", "execute", "executemany", "filter", "filter_by", "first", "all", "one", "scalar", "commit",
    "rollback", "flush", "fetchone", "fetchall",
}  # fmt: skip


class ProjectIndex:
    """Every module of one project, and what in it is request code."""

    def __init__(self, modules: list[PythonModule]) -> None:
        self.modules = {m.name: module_info(m) for m in sorted(modules, key=lambda m: m.relative.as_posix())}
        targets = {target for info in self.modules.values() for target in info.imports.values()}
        self.imported = {".".join(t.split(".")[:i]) for t in targets for i in range(1, t.count(".") + 2)}
        for name, info in self.modules.items():
            if name not in targets:  # `import server` could call any of its functions
                info.main_only = {f for f in info.run_by_main_guard if f"{name}.{f}" not in targets}
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
        self.implementations = self._implementations()
        self.instance_of: dict[int, str] = {}
        """id(method) -> `module.obj` when request code reached it as a method of a module-level object."""
        self._request_functions: dict[str, list[tuple[str, Function]]] = {}
        self._sessions: dict[str, set[str]] = {}
        self._class_sessions: dict[int, set[str]] = {}
        self._factories: dict[str, set[str]] = {}
        self._reached: dict[int, tuple[ModuleInfo, Reach, Function]] | None = None
        self.callees: dict[int, set[int]] = {}
        """id(function) -> ids of the project functions it calls, for the functions `reached` follows."""

    def _class_target(self, info: ModuleInfo, base: ast.expr) -> tuple[ModuleInfo, str] | None:
        name = dotted(base, info.imports)
        if isinstance(base, ast.Name) and base.id in info.classes:
            return info, base.id
        module, _, cls = name.rpartition(".")
        target = self.defining(self.module(module, info), cls)
        return (target, cls) if target is not None and cls in target.classes else None

    def defining(self, module: ModuleInfo | None, name: str) -> ModuleInfo | None:
        """The module that defines name, following a package's re-export once (`from .x import Mailer`)."""
        head = name.split(".")[0]  # `Mailer.send`: where Mailer is defined
        if module is None or head in module.classes or name in module.functions or head not in module.imports:
            return module
        source, _, own = module.imports[head].rpartition(".")
        found = self.module(source, module)
        return found if found is not None and own == head else module

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

    def _implementations(self) -> dict[str, list[tuple[ModuleInfo, str, Function]]]:
        """Method name -> its implementations, for the methods a project class overrides from a
        project base class (an interface such as `EmailProvider.sendmail`): what a call of that
        method on an object of unknown class may run."""
        found: dict[str, list[tuple[ModuleInfo, str, Function]]] = {}
        for info in self.modules.values():
            for name, node in info.classes.items():
                for base in node.bases:
                    target = self._class_target(info, base)
                    if target is None:
                        continue
                    for item in node.body:
                        key = f"{target[1]}.{getattr(item, 'name', '')}"
                        if isinstance(item, Function) and key in target[0].functions:
                            found.setdefault(item.name, []).append((info, f"{name}.{item.name}", item))
        return {
            method: implementations
            for method, implementations in found.items()
            if method not in GENERIC_METHODS and method not in VIEW_METHODS and not method.startswith("__")
        }

    def dispatched(self, info: ModuleInfo, call: ast.Call) -> list[tuple[ModuleInfo, str, Function]]:
        """The implementations an overridden method may run when it is called on an object the
        audit cannot type (`provider.sendmail(...)`, `self.backend.notify(...)`)."""
        func = call.func
        if not isinstance(func, ast.Attribute) or func.attr not in self.implementations:
            return []
        receiver = func.value
        root = receiver.value if isinstance(receiver, ast.Attribute) else receiver
        if not isinstance(root, ast.Name) or (root.id in info.imports and root.id not in ("self", "cls")):
            return []
        return self.implementations[func.attr]

    @cached_property
    def standalone(self) -> set[str]:
        """Modules that are programs of their own (a command-line client, a one-off script, a
        renewal loop): run by a `__main__` guard, click commands or a loop at their top level, never
        imported by the project, with no request code and no Flask app. What hangs there holds no
        worker."""
        found: set[str] = set()
        known = self.imported | {name for info in self.modules.values() for name in named_modules(info)}
        for name, info in self.modules.items():
            parts = name.split(".")  # `import github` beside it names api/github.py
            if any(".".join(parts[i:]) in known for i in range(len(parts))) or self.request_functions(info):
                continue
            if defines_tasks(info):
                continue  # a worker imports it by name (Celery's `include`, RQ's "tasks.job")
            entry = any(
                is_main_guard(node)
                or isinstance(node, ast.While)  # a daemon's loop at the top of a script
                or (
                    isinstance(node, Function)
                    and any(call_name(d) in ("command", "group") for d in node.decorator_list)
                )
                for node in info.tree.body
            ) or (self.serves and functions_to_run_by_hand(info))
            creates_app = any(
                isinstance(node, ast.Call) and dotted(node.func, info.imports) in ("flask.Flask", "Flask")
                for node in info.nodes
            )
            if entry and not creates_app:
                found.add(name)
        return found

    @cached_property
    def session_factories(self) -> set[str]:
        """`module.function` of the project's functions that return a requests.Session (`get_session()`)."""
        found: set[str] = set()
        for info in self.modules.values():
            if not any(target.split(".")[0] == "requests" for target in info.imports.values()):
                continue
            for key, function in info.functions.items():
                nodes = list(own_nodes(function))
                returned = [n.value for n in nodes if isinstance(n, ast.Return) and n.value is not None]
                if returned and any(
                    (isinstance(v, ast.Call) and dotted(v.func, info.imports) in SESSION_FACTORIES)
                    or (isinstance(v, ast.Name) and v.id in sessions_in(nodes, info.imports))
                    for v in returned
                ):
                    found.add(f"{info.module.name}.{key}")
        return found

    def factories_in(self, info: ModuleInfo) -> set[str]:
        """The session factories as a call names them in info: `get_session` there, `pkg.http.get_session` elsewhere."""
        if not self.session_factories:
            return set()
        if info.module.name not in self._factories:
            own = f"{info.module.name}."
            # Only the factories this module can name (its text holds the function's name).
            self._factories[info.module.name] = {
                name
                for f in self.session_factories
                if f.rpartition(".")[2] in info.module.source
                for name in ((f, f.removeprefix(own)) if f.startswith(own) else (f,))
            }
        return self._factories[info.module.name]

    def sessions(self, info: ModuleInfo) -> set[str]:
        """Names a session is reached by in a module: its own (ModuleInfo.sessions), the result of a
        project function that returns one, and `self.<attr>` set to one by a project base class's
        method in another module (`self.session = requests.Session()` in `Base.__init__`)."""
        if info.module.name not in self._sessions:
            factories = self.factories_in(info)
            names = sessions_in(info.nodes, info.imports, factories) if factories else set(info.sessions)
            for node in info.classes.values():
                names |= self._inherited_sessions(info, node, set())
            self._sessions[info.module.name] = names
        return self._sessions[info.module.name]

    def _inherited_sessions(self, info: ModuleInfo, node: ast.ClassDef, seen: set[int]) -> set[str]:
        names: set[str] = set()
        for base in node.bases:
            target = self._class_target(info, base)
            if target is None or id(target[0].classes[target[1]]) in seen:
                continue
            module, cls = target[0], target[0].classes[target[1]]
            seen.add(id(cls))
            if id(cls) not in self._class_sessions:
                held = sessions_in(ast.walk(cls), module.imports, self.factories_in(module))
                self._class_sessions[id(cls)] = {name for name in held if name.startswith(("self.", "cls."))}
            names |= self._class_sessions[id(cls)]
            names |= self._inherited_sessions(module, cls, seen)
        return names

    @cached_property
    def libraries(self) -> set[str]:
        """Modules of a package shipped next to the service but not part of it (a client library for
        its API, a separately packaged ETL): in a Flask project, a top-level package none of whose
        modules imports Flask or the rest of the project, defines tasks, or is imported from outside it."""
        flask = {
            name
            for name, info in self.modules.items()
            if any(target.split(".")[0] == "flask" or target.startswith("flask_") for target in info.imports.values())
        }
        if not flask:
            return set()
        packages: dict[str, list[str]] = {}
        for name in self.modules:
            if "." in name:
                packages.setdefault(name.split(".")[0], []).append(name)
        for package, members in packages.items():
            members.extend([package] if package in self.modules else [])  # its __init__.py
        found: set[str] = set()
        for package, members in packages.items():
            inside = set(members)
            if inside & flask or any(defines_tasks(self.modules[member]) for member in members):
                continue
            imports_service = any(
                target.split(".")[0] in self.modules or target.split(".")[0] in packages
                for member in members
                for target in self.modules[member].imports.values()
                if target.split(".")[0] != package
            )
            imported = any(
                target == package or target.startswith(f"{package}.")
                for name, info in self.modules.items()
                if name not in inside
                for target in info.imports.values()
            )
            if not (imports_service or imported):
                found |= inside
        return found

    @cached_property
    def serves(self) -> bool:
        return any(self.request_functions(info) for info in self.modules.values())

    @cached_property
    def by_suffix(self) -> dict[str, list[str]]:
        """Dotted suffix -> modules ending with it: `import mailer` beside api/mailer.py, a monorepo's parts."""
        found: dict[str, list[str]] = {}
        for name in self.modules:
            parts = name.split(".")
            for i in range(len(parts)):
                found.setdefault(".".join(parts[i:]), []).append(name)
        return found

    def module(self, name: str, near: ModuleInfo) -> ModuleInfo | None:
        """The project module an import names: exactly, or else the one ending with that name
        that shares the most of its path with the importing module."""
        if name in self.modules or not name:
            return self.modules.get(name)
        found = self.by_suffix.get(name)
        if not found or len(found) == 1:
            return self.modules[found[0]] if found else None
        here = near.module.name.split(".")

        def shared(candidate: str) -> int:
            return len(list(takewhile(lambda pair: pair[0] == pair[1], zip(candidate.split("."), here, strict=False))))

        return self.modules[max(found, key=shared)]

    @cached_property
    def worker_modules(self) -> set[str]:
        """Modules a task worker loads: from the modules that define tasks, what they import or
        name in a string (`include=["pkg.tasks"]`, `"pkg.jobs:sync"`), transitively."""
        seen: set[str] = set()
        stack = [name for name, info in self.modules.items() if defines_tasks(info)]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            info = self.modules[name]
            for target in [*info.imports.values(), *named_modules(info)]:
                parts = target.split(".")
                for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__
                    stack.extend(m for m in self.by_suffix.get(".".join(parts[:i]), ()) if m not in seen)
        return seen

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
            if isinstance(node, ast.Call) and call_name(node) == "add_url_rule"
            for kw in node.keywords
            if kw.arg == "view_func" and isinstance(kw.value, ast.Name)
        }
        for node in info.nodes:
            if isinstance(node, Function):
                if any(call_name(d) in REQUEST_DECORATORS for d in node.decorator_list) or node.name in view_funcs:
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
            target = self.defining(self.module(module, info), key) if split > 0 else None
            if target is not None and key in target.functions:
                return target, key, target.functions[key]
        return None

    def _local_instance(self, info: ModuleInfo, node: ast.Assign) -> dict[str, tuple[ModuleInfo, str]]:
        """`mailer = Mailer(msg)` with Mailer a project class: {"mailer": (its module, "Mailer")}."""
        value, found = node.value, None
        if isinstance(value, ast.Call) and call_name(value)[:1].isupper():
            found = self._class_target(info, value.func)
        return {t.id: found for t in node.targets if isinstance(t, ast.Name)} if found is not None else {}

    @staticmethod
    def _method_of_local(call: ast.Call, made: dict[str, tuple[ModuleInfo, str]]) -> Callee | None:
        """`mailer.send()` on a local made as `mailer = Mailer(msg)`: Mailer.send."""
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in made:
            module, key = made[func.value.id][0], f"{made[func.value.id][1]}.{func.attr}"
            return (module, key, module.functions[key]) if key in module.functions else None
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
        functions and the project functions they call, SLOW_REACH_DEPTH levels down (the shortest
        way wins; overridden methods on objects of unknown class to each implementation). Computed
        once per project: the blocking-call and shared-state rules both walk it."""
        seen: dict[int, tuple[ModuleInfo, Reach, Function]] = {}
        frontier: list[tuple[ModuleInfo, str, Function, Reach]] = []
        for info in self.modules.values():
            if not info.is_service_code:
                continue
            for label, function in self.request_functions(info):
                if id(function) not in seen:
                    seen[id(function)] = (info, Reach(label), function)
                    frontier.append((info, label, function, Reach(label)))
        for _level in range(SLOW_REACH_DEPTH):
            following: list[tuple[ModuleInfo, str, Function, Reach]] = []
            for info, label, function, reach in frontier:
                cls = label.split(".")[0] if "." in label else None
                nodes = list(own_nodes(function))
                made = {
                    k: v for n in nodes if isinstance(n, ast.Assign) for k, v in self._local_instance(info, n).items()
                }
                for node in nodes:
                    if not isinstance(node, ast.Call):
                        continue
                    target = self.callee(info, node, cls) or self._method_of_local(node, made)
                    for found in [target] if target is not None else self.dispatched(info, node):
                        if found[0].is_service_code:
                            self.callees.setdefault(id(function), set()).add(id(found[2]))
                        if id(found[2]) in seen or not found[0].is_service_code:
                            continue
                        instance = self._instance_called(info, node.func, function) if target is not None else None
                        if instance is not None:
                            self.instance_of[id(found[2])] = instance
                        step = Reach(reach.view, (*reach.via, found[1]), reach.dispatched or target is None)
                        seen[id(found[2])] = (found[0], step, found[2])
                        following.append((found[0], found[1], found[2], step))
            frontier = following
        return seen
