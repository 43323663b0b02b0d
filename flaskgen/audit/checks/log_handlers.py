"""FG501 (network log handlers in the web process) and FG502 (file handlers, opt-in)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from flaskgen.audit.ast_tools import dotted
from flaskgen.audit.model import Hit
from flaskgen.audit.modules import ModuleInfo

NETWORK_HANDLERS = {"SMTPHandler", "HTTPHandler", "SocketHandler"}


FILE_HANDLERS = {"FileHandler", "RotatingFileHandler", "TimedRotatingFileHandler", "WatchedFileHandler",
                 "ConcurrentRotatingFileHandler"}  # fmt: skip


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
