"""One home for answers: the layers that decide each one, named, built by one constructor
(`AnswersMap.layered`, used by `new`, `update` and `fleet`).

copier's `AnswersMap` is the model: each source of answers is a layer of its own, and
`ChainMap`s in priority order (`fixed`, never prompted; `defaults`, pre-filled) say which answer
wins. Highest first:

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
from typing import TYPE_CHECKING, Any

from flaskgen.errors import PresetError
from flaskgen.template import Option, coerce_answers

if TYPE_CHECKING:
    from flaskgen.presets import Preset

__all__ = ["AnswersMap", "coerce_answers"]


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

    @classmethod
    def layered(
        cls,
        options: Mapping[str, Option],
        *,
        overrides: Mapping[str, Any] | None = None,
        name: str | None = None,
        preset: Preset | None = None,
        user_defaults: Mapping[str, Any] | None = None,
        environment: Mapping[str, Any] | None = None,
    ) -> AnswersMap:
        """The layers of one generation (`new`), update or fleet check, from their sources, each
        checked against the template's options: `--set` overrides and NAME (`project_name`) are
        `assigned`, the preset's `[locked]` and `[defaults]` are `locked` and `preset_defaults`."""
        assigned = coerce_answers(options, overrides or {})
        if name is not None:
            assigned["project_name"] = options["project_name"].coerce(name, origin="NAME")
        checked = preset.checked(options) if preset is not None else None
        return cls(
            locked=dict(checked.locked) if checked else {},
            assigned=assigned,
            preset_defaults=dict(checked.defaults) if checked else {},
            user_defaults=dict(user_defaults or {}),
            environment=dict(environment or {}),
            locked_by=f"preset {checked.path}" if checked else "the preset",
        )

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
