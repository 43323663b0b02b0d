"""FG401 (slow work in request code) and FG402 (HTTP calls with no timeout), and which views query a
dependency (for FG802)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flaskgen.audit.ast_tools import call_name, dotted, env_lookup, has_timeout, literal_text, own_nodes
from flaskgen.audit.index import VIEW_METHODS, ProjectIndex, Reach
from flaskgen.audit.model import Function, Hit
from flaskgen.audit.modules import SESSION_FACTORIES, ModuleInfo

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


@dataclass(frozen=True)
class SlowCall:
    line: int
    name: str
    kind: str
    """"slow" (sleep, SMTP, a process: work for a task queue) or "http" (a network call)."""
    bounded: bool
    """For HTTP: a timeout is given (or cannot be ruled out: `**kwargs`)."""
    node: ast.Call | None = field(default=None, compare=False)


def _no_timeout_in(spread: ast.expr, info: ModuleInfo, index: ProjectIndex) -> bool:
    """`**{...}` or `**helper()` where the helper returns only dict literals, none with a timeout
    (`**make_hooks()` returning `{"hooks": ...}`): the call is as unbounded as without it."""
    target = index.callee(info, spread, None) if isinstance(spread, ast.Call) else None
    returned = [n.value for n in own_nodes(target[2]) if isinstance(n, ast.Return)] if target else [spread]
    return bool(returned) and all(
        isinstance(v, ast.Dict) and None not in v.keys and "timeout" not in {literal_text(k) for k in v.keys}
        for v in returned
    )


def _bounded(call: ast.Call, info: ModuleInfo, index: ProjectIndex, position: int | None = None) -> bool:
    spreads = [kw.value for kw in call.keywords if kw.arg is None]
    given = next((kw.value for kw in call.keywords if kw.arg == "timeout"), None)
    if spreads and given is None:
        return not all(_no_timeout_in(spread, info, index) for spread in spreads)
    if isinstance(given, ast.Name) and _defaults_to_none(given.id, call, info):
        return False  # `def fetch(url, timeout=None): requests.get(url, timeout=timeout)`
    return has_timeout(call, position)


def _defaults_to_none(name: str, call: ast.Call, info: ModuleInfo) -> bool:
    """name is a parameter of the function around call whose default is None."""
    function = _function_around(call, info)
    if function is None:
        return False
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    defaults = dict(
        zip([a.arg for a in positional][len(positional) - len(args.defaults) :], args.defaults, strict=True)
    )
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None})
    default = defaults.get(name)
    return isinstance(default, ast.Constant) and default.value is None


def _function_around(node: ast.AST, info: ModuleInfo) -> Function | None:
    return next((outer for outer in info.enclosing(node) if isinstance(outer, Function)), None)


def _is_super(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"


def _session_class(node: ast.AST, info: ModuleInfo) -> bool:
    """node is inside a subclass of requests.Session (where `super().request(...)` is a session call)."""
    return any(
        isinstance(outer, ast.ClassDef) and any(dotted(b, info.imports) in SESSION_FACTORIES for b in outer.bases)
        for outer in info.enclosing(node)
    )


def offloads(function: Function) -> bool:
    """The function hands work to a thread, a pool or a task queue (`Thread(...)`, `.delay()`, ...)."""
    return any(isinstance(node, ast.Call) and call_name(node) in OFFLOAD for node in ast.walk(function))


def slow_calls(scope: ast.AST, info: ModuleInfo, index: ProjectIndex) -> Iterator[SlowCall]:
    """Blocking calls made in scope: a module (all of it) or a function (its own body)."""
    nodes = info.nodes if isinstance(scope, ast.Module) else list(own_nodes(scope))
    sessions = index.sessions(info)  # the module's: a function's own sessions are among them
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
    pools, apis = info.pools, info.mail_apis
    for node in nodes:
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func, info.imports)
        head, _, last = name.rpartition(".")
        if pools and head in pools and last in ("request", "urlopen"):
            yield SlowCall(node.lineno, name, "http", _bounded(node, info, index), node)
            continue
        if apis and last in ("send", "post") and any(head == a or head.startswith(f"{a}.") for a in apis):
            yield SlowCall(node.lineno, name, "slow", False, node)
            continue
        if name in SLOW_CALLS or (head == "subprocess" and last in SUBPROCESS):
            yield SlowCall(node.lineno, name, "slow", False, node)
        elif head == "requests" and last in HTTP_VERBS:
            yield SlowCall(node.lineno, name, "http", _bounded(node, info, index), node)
        elif name in UNBOUNDED_HTTP and not (node.args and _local_url(node.args[0], nodes)):
            yield SlowCall(node.lineno, name, "http", _bounded(node, info, index, UNBOUNDED_HTTP[name]), node)
        elif (
            isinstance(node.func, ast.Attribute)
            and last in HTTP_VERBS
            and (head in sessions or (_is_super(node.func.value) and _session_class(node, info)))
        ):
            yield SlowCall(node.lineno, name, "http", _bounded(node, info, index), node)
        elif last in ("send", "send_message") and _mail_instance(head, info, index):
            yield SlowCall(node.lineno, f"{head.split('.')[-1]}.{last}", "slow", False, node)
        elif (
            index.uses_mail
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("send", "send_message")
            and (_mail_extension(node.func.value) or _name_of(node.func.value) in mailers)
        ):
            yield SlowCall(node.lineno, f"{ast.unparse(node.func.value)}.{node.func.attr}", "slow", False, node)


LOCAL_URL = re.compile(r"^(data|file):", re.IGNORECASE)


def _local_url(url: ast.expr, nodes: list[ast.AST]) -> bool:
    """A URL that reaches no network: a `data:` or `file:` literal, a value named for a data URI
    (`qr.png_data_uri()`), or a local variable bound to one."""
    text = literal_text(url)
    if (text and LOCAL_URL.match(text)) or re.search(r"data_?ur[il]", ast.unparse(url), re.IGNORECASE):
        return True
    if isinstance(url, ast.Name):
        bound = [n.value for n in nodes if isinstance(n, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == url.id for t in n.targets)]  # fmt: skip
        return bool(bound) and all(not isinstance(v, ast.Name) and _local_url(v, []) for v in bound)
    return False


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


def _off_by_default(call: ast.Call, function: Function, info: ModuleInfo) -> bool:
    """A sleep of a configured length that is 0 unless set (`time.sleep(int(os.getenv("DELAY_MS", 0)) / 1000)`):
    a knob for demos and tests, off in a deployment that does not ask for it."""
    scope = [*own_nodes(function), *info.tree.body]
    names = {n.id for arg in call.args for n in ast.walk(arg) if isinstance(n, ast.Name)}
    values = [*call.args, *(
        n.value for n in scope
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id in names for t in n.targets)
    )]  # fmt: skip
    lookups = [found for value in values for n in ast.walk(value) if (found := env_lookup(n)) is not None]
    return bool(lookups) and all(
        isinstance(default, ast.Constant) and str(default.value).strip() in ("0", "0.0", "")
        for _name, default in lookups
    )


def _retry_backoff(call: ast.Call, info: ModuleInfo) -> bool:
    """A sleep on an error path only: in an `except` handler, or in a bounded retry loop (`for
    attempt in range(3):` around a `try`): a pause between a few attempts, not work per request."""
    for outer in info.enclosing(call):
        if isinstance(outer, Function):
            return False
        if isinstance(outer, ast.ExceptHandler):
            return True
        if (
            isinstance(outer, ast.For)
            and isinstance(outer.iter, ast.Call)
            and call_name(outer.iter) == "range"
            and any(isinstance(n, ast.Try) for n in outer.body)
        ):
            return True
    return False


def _slow_code(call: SlowCall, info: ModuleInfo) -> str:
    """FG401 for mail and SMTP, and a sleep in a `while` loop (polling for a result); FG403 (opt-in)
    for another sleep or a process: most are short and deliberate (a throttle, a settle pause, a
    quick tool), and judges of never-seen projects acted on few of them."""
    if call.name != "time.sleep" and not call.name.startswith(("subprocess.", "os.")):
        return "FG401"
    polling = call.name == "time.sleep" and call.node is not None and any(
        isinstance(outer, ast.While) for outer in info.enclosing(call.node))  # fmt: skip
    return "FG401" if polling else "FG403"


def mentioned(index: ProjectIndex) -> Counter[str]:
    """How often each word occurs in service code's text (`fetch`, `client.fetch`, `from .x import
    fetch`, `getattr(self, "fetch")`, a line the parser skipped): a function whose name occurs only
    in its own `def` is called by nothing that runs (tests aside)."""
    return Counter(
        word for info in index.modules.values() if info.is_service_code for word in WORD.findall(info.module.source)
    )


WORD = re.compile(r"[A-Za-z_]\w*")


def dead(node: ast.AST, info: ModuleInfo, names: Counter[str]) -> bool:
    """node is in a function no service code mentions but its `def`: not decorated, not a dunder,
    not a view."""
    function = _function_around(node, info)
    return (
        function is not None
        and not function.decorator_list
        and not function.name.startswith("__")
        and function.name not in VIEW_METHODS
        and names[function.name] <= 1
    )


def blocking_hits(
    index: ProjectIndex, *, async_workers: bool = False, all_read: bool = True
) -> Iterator[tuple[Path, Hit]]:
    """FG401/FG403: slow work (SMTP, mail, polling; FG403 other sleeps and processes) in request code
    or in project functions it calls, once per function and code (a sleep is left alone under
    gevent/eventlet workers, where it yields, and when its length is a setting that is 0 unless set).
    FG402: an HTTP call without a timeout anywhere in service code (request code or not: a hung
    upstream holds whichever worker made it)."""
    in_request: dict[tuple[Path, int], Reach] = {}
    slow: dict[tuple[Path, int], tuple[SlowCall, Reach, str]] = {}
    for info, reach, function in index.reached.values():
        calls = list(slow_calls(function, info, index))
        for call in calls:
            key = (info.path, call.line)
            if key not in in_request or len(reach.via) < len(in_request[key].via):
                in_request[key] = reach
        work = [
            call
            for call in calls
            if call.kind == "slow"
            and not (
                call.name == "time.sleep"
                and (
                    async_workers
                    or (
                        call.node is not None
                        and (_off_by_default(call.node, function, info) or _retry_backoff(call.node, info))
                    )
                )
            )
        ]
        if work and not (reach.via and offloads(function)):
            for code in ("FG401", "FG403"):
                first = next((c for c in work if _slow_code(c, info) == code), None)
                if first is not None:
                    slow[(info.path, first.line)] = (first, reach, code)
    for (path, line), (call, reach, code) in slow.items():
        where = f"in {reach}" if not reach.via else f"reached from request code: {reach}"
        yield path, Hit(code, line, f"{call.name}() blocks the worker {where}")
    # `socket.setdefaulttimeout(10)` at start-up bounds every urllib/http.client call of the process.
    socket_default = any(
        isinstance(node, ast.Call)
        and dotted(node.func, info.imports) == "socket.setdefaulttimeout"
        and node.args
        and not (isinstance(node.args[0], ast.Constant) and node.args[0].value is None)
        for info in index.modules.values()
        if "setdefaulttimeout" in info.module.source
        for node in info.nodes
    )
    bounded_requests = request_timeout(index)
    # In a service (a project with views) whose files were all read, a function nothing mentions is
    # dead code; a project with no views is a library or a snippet, where anything may call it.
    names = mentioned(index) if index.serves and all_read else None
    for info in index.modules.values():
        name = info.module.name
        script = info.is_script and not index.request_functions(info)  # bin/app.py with the views is the service
        if not info.is_service_code or script or name in index.standalone or name in index.libraries:
            continue
        for call in slow_calls(info.tree, info, index):
            if socket_default and call.name in UNBOUNDED_HTTP:
                continue
            if (
                call.kind == "http"
                and not call.bounded
                and not (call.node and info.in_dev_scope(call.node))
                and not (call.node and names is not None and dead(call.node, info, names))
            ):
                reach = in_request.get((info.path, call.line))
                if bounded_requests and (reach is not None or name not in index.worker_modules):
                    continue
                where = f" in request code ({reach})" if reach is not None else ""
                yield (
                    info.path,
                    Hit(
                        "FG402",
                        call.line,
                        f"{call.name}() has no timeout{where}: a hung upstream holds the worker forever",
                    ),
                )


REQUEST_TIMEOUTS = {"eventlet.Timeout", "eventlet.timeout.Timeout", "gevent.Timeout", "gevent.timeout.Timeout"}


def request_timeout(index: ProjectIndex) -> bool:
    """A WSGI middleware bounds every request: `app.wsgi_app = EventletTimeoutMiddleware(...)`, or one
    whose `__call__(self, environ, start_response)` runs under an eventlet/gevent `Timeout`. The web
    process's calls cannot hang then; a task worker's still can."""
    wrapped = (
        node
        for info in index.modules.values()
        if "wsgi_app" in info.module.source
        for node in info.nodes
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
        and any(isinstance(t, ast.Attribute) and t.attr == "wsgi_app" for t in node.targets)
    )  # fmt: skip
    return any("timeout" in call_name(node.value).lower() for node in wrapped) or any(
        key.endswith("__call__")
        and len(function.args.args) >= 3
        and any(
            isinstance(n, ast.Call) and dotted(n.func, info.imports) in REQUEST_TIMEOUTS for n in own_nodes(function)
        )
        for info in index.modules.values()
        if "Timeout" in info.module.source
        for key, function in info.functions.items()
    )


DEPENDENCY_CALLS = {"execute", "ping", "connect", "scalar", "scalars", "exec_driver_sql"}
"""Calls that reach a database or Redis (`db.session.execute(text("SELECT 1"))`, `redis.ping()`)."""


def _queries_dependency(node: ast.AST, info: ModuleInfo) -> bool:
    if not isinstance(node, ast.Call):
        return False
    head, _, last = dotted(node.func, info.imports).rpartition(".")
    return call_name(node) in DEPENDENCY_CALLS or (head in ("requests", "httpx") and last in HTTP_VERBS)


def dependency_paths(index: ProjectIndex) -> dict[str, bool]:
    """URL path of each view -> whether it queries a dependency (a database, Redis, an HTTP
    service), itself or in a project function it calls: such a path is no liveness probe."""
    found: dict[str, bool] = {}
    for info in index.modules.values():
        for _label, function in index.request_functions(info):
            paths = [
                str(d.args[0].value)
                for d in function.decorator_list
                if isinstance(d, ast.Call) and d.args and isinstance(d.args[0], ast.Constant)
                and call_name(d) in ("route", "get")
            ]  # fmt: skip
            if not paths:
                continue
            scopes = [(info, function)]
            for call in (n for n in own_nodes(function) if isinstance(n, ast.Call)):
                target = index.callee(info, call, None)
                if target is not None:
                    scopes.append((target[0], target[2]))
            queries = any(_queries_dependency(n, owner) for owner, scope in scopes for n in own_nodes(scope))
            for path in paths:
                found[path.rstrip("/")] = found.get(path.rstrip("/"), False) or queries
    return found
