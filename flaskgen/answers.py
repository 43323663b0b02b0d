"""One home for answers: the layers that decide each one, named, and their combined view.

copier's `AnswersMap` is the model: each source of answers is a layer of its own, and one
`ChainMap`, in priority order, says which answer wins. Highest first:

| layer | from | prompted? |
| --- | --- | --- |
| `locked` | the preset's `[locked]` | never; a conflicting `--set` is an error |
| `assigned` | NAME and `--set` (or `update --set`) | never |
| `preset_defaults` | the preset's `[defaults]` | yes, pre-filled |
| `user_defaults` | Cookiecutter's user config (`default_context`) | yes, pre-filled |
| `environment` | this machine (the running Python for `python_version`) | yes, pre-filled |

What is in no layer comes from the template's own default (or the prompt).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flaskgen.errors import PresetError, UnknownOption
from flaskgen.template import Option

__all__ = ["AnswersMap", "coerce_answers"]


def coerce_answers(options: Mapping[str, Option], raw: Mapping[str, Any], *, origin: str = "--set") -> dict[str, Any]:
    """Check keys and values against the template's variables; unknown keys are errors."""
    answers: dict[str, Any] = {}
    for key, value in raw.items():
        option = options.get(key)
        if option is None:
            raise UnknownOption(f"{origin}: unknown option {key!r}; valid options: {', '.join(options)}")
        answers[key] = option.coerce(value, origin=origin)
    return answers


@dataclass
class AnswersMap:
    """The answers of one generation or update, by layer (each already checked by coerce_answers)."""

    locked: dict[str, Any] = field(default_factory=dict)
    assigned: dict[str, Any] = field(default_factory=dict)
    preset_defaults: dict[str, Any] = field(default_factory=dict)
    user_defaults: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    locked_by: str = "the preset"
    """Who locked the `locked` answers (named in the conflict error)."""

    def __post_init__(self) -> None:
        for key, value in self.assigned.items():
            if key in self.locked and self.locked[key] != value:
                raise PresetError(
                    f"{key} is locked to {self.locked[key]!r} by {self.locked_by}; "
                    f"remove the conflicting {key}={value!r}"
                )

    @property
    def fixed(self) -> ChainMap[str, Any]:
        """Answers that are never prompted for."""
        return ChainMap(self.locked, self.assigned)

    @property
    def defaults(self) -> ChainMap[str, Any]:
        """Pre-filled answers a prompt may change."""
        return ChainMap(self.preset_defaults, self.user_defaults, self.environment)

    @property
    def combined(self) -> ChainMap[str, Any]:
        """Every layer, highest priority first."""
        return ChainMap(self.locked, self.assigned, self.preset_defaults, self.user_defaults, self.environment)
