"""Every error flaskgen raises on purpose. The CLI maps them to exit status 2 in one place."""

from __future__ import annotations

__all__ = [
    "AuditError",
    "FlaskgenError",
    "GitError",
    "InvalidAnswer",
    "ManifestError",
    "OutputDirError",
    "PresetError",
    "ProjectError",
    "TargetExists",
    "TemplateError",
    "UnknownOption",
]


class FlaskgenError(Exception):
    """Base class. Raised when the user must change something; str(error) is one line
    that names the problem and the fix."""

    exit_code = 2


class UnknownOption(FlaskgenError):
    """Raised when a `--set` key (or preset key) is not a variable of the template."""


class InvalidAnswer(FlaskgenError):
    """Raised when an answer breaks the template's rules: not a choice, a bad name, ..."""


class TargetExists(FlaskgenError):
    """Raised when the project directory already exists and `--overwrite` was not given, or when
    `--overwrite` would replace edits git cannot give back."""


class OutputDirError(FlaskgenError):
    """Raised when the output directory cannot be created or written to."""


class TemplateError(FlaskgenError):
    """Raised when the template cannot be found, cloned or rendered (wraps Cookiecutter's
    exceptions)."""


class PresetError(FlaskgenError):
    """Raised when a preset file is unreadable or names unknown options or invalid values,
    or when an answer contradicts one of its locked answers."""


class ProjectError(FlaskgenError):
    """Raised when `check`, `diff` or `update` are pointed at something that is not a project
    made from a template (no answers file), or the project is not in a state to update."""


class GitError(FlaskgenError):
    """Raised when a git command flaskgen needs fails (git missing, a timeout, git's own error)."""


class AuditError(FlaskgenError):
    """Raised when `flaskgen audit` gets a path that does not exist or an unknown rule code."""


class ManifestError(FlaskgenError):
    """Raised when a `flaskgen fleet` manifest cannot be read or a line of it is malformed."""
