"""FG301 (module-level state changed by request code) and FG701 (contexts pushed in request code)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from flaskgen.audit.ast_tools import base_name, dotted, own_nodes
from flaskgen.audit.checks.blocking import offloads
from flaskgen.audit.index import REACH_DEPTH, ProjectIndex
from flaskgen.audit.model import Function, Hit
from flaskgen.audit.modules import MUTATING_METHODS, ModuleInfo
from flaskgen.audit.paths import words

CONTEXT_METHODS = {"app_context", "test_request_context", "request_context"}


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


def _lazy_guard(node: ast.AST, name: str, info: ModuleInfo) -> bool:
    """`if _client is None: _client = make()`: a set-once lazy setup under a test of the name itself."""
    return any(
        isinstance(outer, ast.If) and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(outer.test))
        for outer in info.enclosing(node)
    )


TIME_CALLS = re.compile(r"(^|\.)(time|monotonic|perf_counter|now|utcnow)$")


USER_WORDS = {"request", "session", "current", "user", "username", "uid", "ip", "addr", "remote", "client",
              "token", "email", "login", "account", "cookie"}  # fmt: skip


def ttl_caches(function: Function, info: ModuleInfo) -> set[str]:
    """Module-level names a function fills as a per-worker cache with an expiry: `_CACHE[key] =
    (time.monotonic(), value)` in a function that compares a stored time with the clock, each
    worker filling its own. Not when the key is the user's (a per-user record kept in one worker
    is the rule's case)."""
    nodes = list(own_nodes(function))

    def clock(n: ast.AST) -> bool:
        return isinstance(n, ast.Call) and bool(TIME_CALLS.search(dotted(n.func, info.imports)))

    stamps = {
        t.id
        for n in nodes
        if isinstance(n, ast.Assign) and clock(n.value)
        for t in n.targets
        if isinstance(t, ast.Name)
    }

    def timed(expr: ast.AST) -> bool:
        return any(clock(n) or (isinstance(n, ast.Name) and n.id in stamps) for n in ast.walk(expr))

    if not any(isinstance(n, ast.Compare) and timed(n) for n in nodes):
        return set()
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Assign) and timed(node.value):
            for target in node.targets:
                if not isinstance(target, ast.Subscript) or base_name(target) not in info.mutable_globals:
                    continue
                key = {n.id if isinstance(n, ast.Name) else getattr(n, "attr", "") for n in ast.walk(target.slice)}
                if not USER_WORDS & {w for name in key for w in words(str(name))}:
                    found.add(base_name(target) or "")
    return found


def _module_caches(info: ModuleInfo) -> frozenset[str]:
    """The module's per-worker caches with an expiry (ttl_caches of each function that stores
    into a module-level container)."""
    storing = {
        id(outer): outer
        for node in info.nodes
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Subscript) and base_name(t) in info.mutable_globals for t in node.targets)
        for outer in [next((o for o in info.enclosing(node) if isinstance(o, Function)), None)]
        if outer is not None
    }
    return frozenset(name for function in storing.values() for name in ttl_caches(function, info))


REQUEST_NAMES = {"request", "session", "g", "current_user"}
PER_USER_KEYS = {"user", "username", "uid", "userid", "token", "session", "sid", "email", "login", "account",
                 "ip", "addr", "remote", "cookie"}  # fmt: skip
GROWING_METHODS = {"append", "extend", "insert", "appendleft", "extendleft"}
"""Methods that grow a container on every call: an accumulator whatever is added."""


def _from_request(node: ast.AST, info: ModuleInfo) -> bool:
    """`request`, `session`, `g` (Flask's) or a `current_user`."""
    if not isinstance(node, ast.Name) or node.id not in REQUEST_NAMES:
        return False
    origin = dotted(node, info.imports)
    return origin == node.id or origin.startswith(("flask.", "flask_login.")) or origin.endswith(".current_user")


def request_data(nodes: list[ast.AST], info: ModuleInfo, params: set[str]) -> set[str]:
    """Names in a function that hold request or user data: `params` (a view's URL arguments, or a
    helper's parameters its request-code caller passes such data to) and names assigned from an
    expression that reads them or Flask's request accessors (nodes: the function's own_nodes)."""
    tainted = set(params)
    assigning = [
        n for n in nodes if isinstance(n, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.For | ast.NamedExpr)
    ]
    for _pass in range(2):  # twice: a loop may assign a name before the line it reads it from
        before = len(tainted)
        for node in assigning:
            value = node.iter if isinstance(node, ast.For) else node.value
            if value is None or not _derived(value, info, tainted):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            tainted.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        if len(tainted) == before:
            break
    return tainted


def _derived(expr: ast.AST | None, info: ModuleInfo, tainted: set[str]) -> bool:
    return expr is not None and any(
        (isinstance(n, ast.Name) and n.id in tainted) or _from_request(n, info) for n in ast.walk(expr)
    )


def _per_user_key(key: ast.AST) -> bool:
    """A key named for the user (`CARTS[user_id]`, `TOKENS[token]`)."""
    names = {n.id if isinstance(n, ast.Name) else getattr(n, "attr", "") for n in ast.walk(key)}
    return bool(PER_USER_KEYS & {w for name in names for w in words(str(name))})


def passed_request_data(
    index: ProjectIndex, info: ModuleInfo, nodes: list[ast.AST], cls: str | None, tainted: set[str]
) -> Iterator[tuple[int, set[str]]]:
    """(id(callee), its parameters given request data) for each project function a function (its
    own_nodes) calls."""
    for node in nodes:
        if not isinstance(node, ast.Call) or not any(
            _derived(a, info, tainted) for a in [*node.args, *(k.value for k in node.keywords)]
        ):
            continue
        target = index.callee(info, node, cls)
        if target is None:
            continue
        callee = target[2]
        positional = [a.arg for a in [*callee.args.posonlyargs, *callee.args.args]]
        if positional and positional[0] in ("self", "cls") and isinstance(node.func, ast.Attribute):
            positional = positional[1:]
        given = {
            positional[i] for i, arg in enumerate(node.args) if i < len(positional) and _derived(arg, info, tainted)
        }
        given |= {k.arg for k in node.keywords if k.arg and _derived(k.value, info, tainted)}
        if any(isinstance(a, ast.Starred) and _derived(a, info, tainted) for a in node.args) or any(
            k.arg is None and _derived(k.value, info, tainted) for k in node.keywords
        ):
            given |= set(positional) | {a.arg for a in callee.args.kwonlyargs}
        yield id(callee), given


def global_mutations(
    where: str,
    function: Function,
    info: ModuleInfo,
    instance: str | None = None,
    caches: frozenset[str] = frozenset(),
    imported: dict[str, tuple[str, str]] | None = None,
    tainted: frozenset[str] | set[str] = frozenset(),
    nodes: list[ast.AST] | None = None,
) -> Iterator[tuple[str, Hit]]:
    """FG301 in one function, as (name, hit); `where` is how request code reaches it (`index() ->
    add_request()`); `instance`: the module-level object whose method this is (`self` is shared);
    `caches`: names of this module that are per-worker caches with an expiry; `imported`: local
    name -> (`module.NAME`, where it is defined) for another module's state imported by name;
    `tainted`: names holding request or user data (request_data); `nodes`: its own_nodes. A write counts when what is
    written (key or value) is such data, the key is named for the user, or it is a counter or an
    accumulator (`+=`, arithmetic on the same name, `.append()`); not a registry or cache
    filled with the same values in every worker (`_clients[region] = make(region)`)."""
    declared_global, local = _local_names(function)
    kept = info.registries | caches
    imported = {name: found for name, found in (imported or {}).items() if name not in local}
    shared = {name for name in info.mutable_globals if name not in local and name not in kept} | set(imported)
    if instance is not None:
        shared.add("self")
    seen: set[str] = set()

    def per_request(node: ast.AST, target: ast.AST, name: str) -> bool:
        if isinstance(node, ast.AugAssign | ast.Delete):
            return isinstance(node, ast.AugAssign) or _derived(target, info, tainted) or _per_user_key(target)
        value = getattr(node, "value", None)
        key = target.slice if isinstance(target, ast.Subscript) else None
        # A counter: arithmetic on what the name holds (`HITS[k] = HITS.get(k, 0) + 1`).
        reads_itself = value is not None and any(
            isinstance(n, ast.BinOp) and any(isinstance(m, ast.Name) and m.id == name for m in ast.walk(n))
            for n in ast.walk(value)
        )
        return (
            reads_itself
            or _derived(value, info, tainted)
            or _derived(target, info, tainted)
            or (key is not None and _per_user_key(key))
        )

    def hit(node: ast.AST, name: str, how: str) -> Iterator[tuple[str, Hit]]:
        if name not in seen:
            seen.add(name)
            if name == "self" and instance:
                shown, key = instance.rpartition(".")[2], instance
                at = ""
            elif name in imported and name not in info.mutable_globals:
                shown, (key, defined) = name, imported[name]
                at = f" ({defined})"
            else:
                shown, key = name, f"{info.module.name}.{name}"
                at = f" (line {info.mutable_globals.get(name, '?')})"
            yield key, Hit("FG301", getattr(node, "lineno", 0), f"module-level {shown!r}{at} is {how} in {where}")

    changes: list[tuple[ast.AST, str, str, bool]] = []
    for node in sorted(
        own_nodes(function) if nodes is None else nodes,
        key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)),
    ):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in declared_global and target.id not in seen:
                    seen.add(target.id)
                    if (
                        target.id not in kept
                        and not _lazy_guard(node, target.id, info)
                        and per_request(node, target, target.id)
                    ):
                        yield (
                            f"{info.module.name}.{target.id}",
                            Hit("FG301", node.lineno, f"global {target.id!r} is reassigned in {where}"),
                        )
                elif isinstance(target, ast.Subscript | ast.Attribute):
                    name = base_name(target)
                    # Through a method, `self.value = x` overwrites a cached copy; a container of
                    # self that grows (`self.carts[user] = x`) or a counter (`+=`) is shared data.
                    overwrite = name == "self" and isinstance(node, ast.Assign) and isinstance(target.value, ast.Name)
                    if (name in shared and not overwrite) or (name in declared_global and name not in kept):
                        changes.append((node, name or "?", "modified", per_request(node, target, name or "")))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATING_METHODS:
            owner = node.func.value
            name = base_name(owner)
            if name not in shared:
                continue
            # A method of a module-level object (`Session.remove()`) is not a write; a container's
            # mutator is, when it grows on every call or is given request data.
            container = isinstance(owner, ast.Attribute | ast.Subscript) or (
                isinstance(owner, ast.Name) and (name in imported or name in info.containers)
            )
            given = node.func.attr in GROWING_METHODS or any(
                _derived(a, info, tainted) or _per_user_key(a) for a in [*node.args, *(k.value for k in node.keywords)]
            )
            if container:
                changes.append((node, name, f"changed with .{node.func.attr}()", given))
    # A name changed per request here is reported at its first change (`del STATS[0]` before the
    # `.append()` that makes it grow).
    counted = {name for _node, name, _how, counts in changes if counts}
    for node, name, how, _counts in changes:
        if name in counted:
            yield from hit(node, name, how)


def _imported_state(
    info: ModuleInfo, index: ProjectIndex, caches: dict[str, frozenset[str]]
) -> dict[str, tuple[str, str]]:
    """Module-level state of another project module imported by name (`from .defaults import
    FILTERS`): local name -> (`module.FILTERS`, `defaults.py line 3`); not its registries or caches."""
    found: dict[str, tuple[str, str]] = {}
    for local, target in info.imports.items():
        module, _, name = target.rpartition(".")
        source = index.modules.get(module)
        if source is None or source is info or name not in source.mutable_globals:
            continue
        if name in source.registries or name in caches.get(module, frozenset()) or name not in source.containers:
            continue
        found[local] = (target, f"{source.relative.as_posix()} line {source.mutable_globals[name]}")
    return found


def shared_state_hits(index: ProjectIndex) -> Iterator[tuple[Path, Hit]]:
    """FG301 once per shared name: one design choice is one finding, at the place request code
    reaches most directly, with the count of the other places that change it. A per-worker cache
    with an expiry (of data not keyed by the user) is left alone."""
    places: dict[str, list[tuple[int, Path, Hit]]] = {}
    caches = {info.module.name: _module_caches(info) for info in index.modules.values() if info.mutable_globals}
    imported: dict[str, dict[str, tuple[str, str]]] = {}
    given: dict[int, set[str]] = {}
    for info, reach, function in sorted(index.reached.values(), key=lambda found: len(found[1].via)):
        if len(reach.via) > REACH_DEPTH or reach.dispatched:
            continue
        arguments = function.args
        params = (
            {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]} - {"self", "cls"}
            if not reach.via
            else given.get(id(function), set())
        )
        nodes = list(own_nodes(function))
        tainted = request_data(nodes, info, params)
        if len(reach.via) < REACH_DEPTH:
            label = reach.via[-1] if reach.via else reach.view
            cls = label.split(".")[0] if "." in label else None
            for callee, names in passed_request_data(index, info, nodes, cls, tainted):
                given.setdefault(callee, set()).update(names)
        if info.module.name not in imported:
            imported[info.module.name] = _imported_state(info, index, caches)
        instance = index.instance_of.get(id(function))
        for key, hit in global_mutations(
            str(reach),
            function,
            info,
            instance,
            caches.get(info.module.name, frozenset()),
            imported[info.module.name],
            tainted,
            nodes,
        ):
            places.setdefault(key, []).append((len(reach.via), info.path, hit))
    for found in places.values():
        found.sort(key=lambda place: (place[0], str(place[1]), place[2].line))
        _depth, path, hit = found[0]
        others = len(found) - 1
        more = f" (and {others} other place{'s' if others > 1 else ''})" if others else ""
        yield path, Hit(hit.code, hit.line, hit.detail + more)


def _guarded(push: ast.Call, info: ModuleInfo) -> bool:
    """Under a test of whether a context is active: `if not has_app_context():`, `if reqctx is None:`,
    `nullcontext() if has_app_context() else app.app_context()`."""
    return any(
        isinstance(outer, ast.If | ast.IfExp) and re.search(r"(?i)ctx|context", ast.unparse(outer.test))
        for outer in info.enclosing(push)
    )


def context_pushes(index: ProjectIndex) -> Iterator[tuple[Path, Hit]]:
    """FG701: a context pushed in request code or in a project function it calls (at the push, with
    the way request code reaches it), unless made only when none is active. A function that hands
    work to a thread or a queue, or is called only by such functions or their callees, is background
    work that may run in place (`if not QUEUE: task()`): its pushes are left alone."""
    pushes: dict[int, list[tuple[int, str]]] = {}
    for key, (info, reach, function) in index.reached.items():
        if "_context" in info.module.source and not (reach.via and offloads(function)):
            nodes = own_nodes(function) if reach.via else ast.walk(function)
            found = [(n.lineno, n.func.attr) for n in nodes if isinstance(n, ast.Call)
                     and isinstance(n.func, ast.Attribute) and n.func.attr in CONTEXT_METHODS
                     and not _guarded(n, info)]  # fmt: skip
            pushes.update({key: found} if found else {})
    foreground: set[int] = set()  # what request code runs in place, not as background work
    if any(index.reached[key][1].via for key in pushes):
        callers: dict[int, set[int]] = {}
        for caller, callees in index.callees.items():
            for callee in callees:
                callers.setdefault(callee, set()).add(caller)
        ways, stack = set(pushes), list(pushes)  # the pushes and what calls them
        while stack:
            stack += [caller for caller in callers.get(stack.pop(), ()) if caller not in ways]
            ways.update(stack)
        for key, (_info, reach, function) in index.reached.items():  # views first, then what they call
            if key in ways and (not reach.via or key in foreground) and not offloads(function):
                foreground.update(index.callees.get(key, ()))
    for key, found in pushes.items():
        info, reach, _function = index.reached[key]
        if not reach.via or key in foreground:
            where = f"in code reached from request code: {reach}" if reach.via else f"inside request code {reach}"
            yield from ((info.path, Hit("FG701", line, f".{method}() pushed {where}")) for line, method in found)


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
