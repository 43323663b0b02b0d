"""Organisation presets: defaults people may change, locked answers they may not.

A preset is a TOML file::

    template = "https://git.example.com/platform/flask-template"   # optional: the org's fork
    checkout = "v3"                                                # optional
    [defaults]          # pre-filled answers; prompts still show them
    ci = "gitlab"
    [locked]            # fixed answers; never prompted, a conflicting --set is an error
    database = "postgresql"

It is found, first match wins, at `--preset FILE`, `$FLASKGEN_PRESET`, or the user config file
`$XDG_CONFIG_HOME/flaskgen/preset.toml` (default `~/.config/flaskgen/preset.toml`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flaskgen.errors import InvalidAnswer, PresetError, UnknownOption
from flaskgen.template import Option, coerce_answers

__all__ = ["PRESET_ENV_VAR", "Preset", "find_preset", "load_preset", "user_preset_path"]

PRESET_ENV_VAR = "FLASKGEN_PRESET"
TOP_LEVEL_KEYS = ("template", "checkout", "defaults", "locked")


@dataclass(frozen=True)
class Preset:
    """A parsed preset; answers are raw until `checked()` validates them against a template."""

    path: Path
    template: str | None = None
    checkout: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    locked: Mapping[str, Any] = field(default_factory=dict)

    def checked(self, options: Mapping[str, Option]) -> Preset:
        """The same preset with every key and value checked against the template's options."""
        try:
            defaults = coerce_answers(options, self.defaults, origin=f"preset {self.path} [defaults]")
            locked = coerce_answers(options, self.locked, origin=f"preset {self.path} [locked]")
        except (UnknownOption, InvalidAnswer) as err:
            raise PresetError(str(err)) from err
        return Preset(self.path, self.template, self.checkout, defaults, locked)


def user_preset_path() -> Path:
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config_home / "flaskgen" / "preset.toml"


def find_preset(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The preset file to use: the explicit path, $FLASKGEN_PRESET, the user file, or None."""
    if path:
        return Path(path)
    from_env = os.environ.get(PRESET_ENV_VAR)
    if from_env:
        return Path(from_env)
    user = user_preset_path()
    return user if user.is_file() else None


def load_preset(path: str | os.PathLike[str] | None = None) -> Preset | None:
    """Read and shape-check the preset (see find_preset); None when there is none."""
    found = find_preset(path)
    if found is None:
        return None
    try:
        data = tomllib.loads(found.read_text(encoding="utf-8"))
    except OSError as err:
        raise PresetError(
            f"cannot read preset {found}: {err.strerror}; fix the path (--preset or ${PRESET_ENV_VAR})"
        ) from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise PresetError(f"preset {found} is not valid TOML ({err}); fix the file") from err
    unknown = sorted(set(data) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise PresetError(f"preset {found}: unknown key {unknown[0]!r}; valid keys: {', '.join(TOP_LEVEL_KEYS)}")
    for table in ("defaults", "locked"):
        if not isinstance(data.get(table, {}), dict):
            raise PresetError(f"preset {found}: [{table}] must be a table of KEY = VALUE answers")
    for key in ("template", "checkout"):
        if key in data and not isinstance(data[key], str):
            raise PresetError(f"preset {found}: {key} must be a string")
    return Preset(
        path=found,
        template=data.get("template"),
        checkout=data.get("checkout"),
        defaults=data.get("defaults", {}),
        locked=data.get("locked", {}),
    )
