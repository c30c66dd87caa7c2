"""Colour themes: theme files in TOML, loaded at start-up and registered with the app.

A theme file names the theme and its colours; anything left out is derived by Textual::

    name = "my-theme"
    dark = true
    primary = "#5B9DF5"
    accent = "#C28CF2"

    [variables]           # optional: any Textual theme variable, e.g. the row cursor
    "block-cursor-background" = "#2D4A73"

Files are read from the themes bundled with autogpt-tui and then from the user's
``$XDG_CONFIG_HOME/autogpt-tui/themes/``, so a user's theme with the same name wins.
A broken file never stops the app: it is skipped with a one-sentence warning.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError
from textual.app import App
from textual.color import Color, ColorParseError
from textual.css.errors import StylesheetError
from textual.css.stylesheet import Stylesheet
from textual.css.tokenize import tokenize_values
from textual.css.tokenizer import TokenError
from textual.theme import BUILTIN_THEMES, Theme

DEFAULT_THEME = "autogpt-dark"
"""The theme the app starts with when the user has not chosen one."""
THEME_SUFFIX = ".toml"
"""Theme files are the files in a theme folder with this suffix."""

_BUNDLED_IN_PACKAGE = Path(__file__).parents[1] / "themes"
"""Where a wheel puts the bundled themes (pyproject maps the repository's themes/ here)."""
"""The repository in a source checkout or editable install (site-packages when installed)."""
_TOML_POSITION = re.compile(r"(?P<reason>.*?) \(at line (?P<line>\d+), column \d+\)$")

# Textual's own theme variables: these are used in its widgets' CSS, so a bad value
# would break every screen. Any other name is the user's own and is only tokenised.
_KNOWN_VARIABLES = frozenset(BUILTIN_THEMES["textual-dark"].to_color_system().generate())

ThemeName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ThemeFile(BaseModel):
    """The contents of one theme file; ``to_theme()`` makes the Textual theme."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ThemeName
    """What the user types after ``--theme`` or picks in the command palette."""
    dark: bool
    """Whether the background is dark; Textual derives shades and text colours from it."""
    primary: str
    """The main colour: borders of focused panels, titles, selections."""
    secondary: str | None = None
    """A second brand colour; derived from primary when left out."""
    accent: str | None = None
    """Keys in the footer and other things that should catch the eye."""
    warning: str | None = None
    """Things that need the user: a pending approval, a budget running low."""
    error: str | None = None
    """Failures, rejected actions, removed lines in a diff, steps rated down."""
    success: str | None = None
    """Approved actions, added lines in a diff, steps rated up."""
    foreground: str | None = None
    """The text colour."""
    background: str | None = None
    """The screen's background."""
    surface: str | None = None
    """The background of widgets such as tables and inputs."""
    panel: str | None = None
    """The background of panels and dialogs that stand out from the surface."""
    boost: str | None = None
    """A translucent colour laid over others to lift them (hover, zebra stripes)."""
    variables: dict[str, str] = Field(default_factory=dict)
    """Extra Textual theme variables, e.g. ``block-cursor-background``."""

    @field_validator(
        "primary",
        "secondary",
        "accent",
        "warning",
        "error",
        "success",
        "foreground",
        "background",
        "surface",
        "panel",
        "boost",
        mode="before",
    )
    @classmethod
    def _is_colour(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise PydanticCustomError("not_colour", "is not a colour")
        try:
            Color.parse(value)
        except ColorParseError:
            raise PydanticCustomError("not_colour", "is not a colour") from None
        return value

    @field_validator("variables")
    @classmethod
    def _variables_are_css(cls, variables: dict[str, str]) -> dict[str, str]:
        for name, value in variables.items():
            problem = _variable_problem(name, value)
            if problem is not None:
                raise PydanticCustomError(
                    "theme_variable",
                    "{name} in [variables] {problem}",
                    {"name": repr(name), "problem": problem},
                )
        return variables

    def to_theme(self) -> Theme:
        """The Textual theme this file describes."""
        return Theme(
            name=self.name,
            dark=self.dark,
            primary=self.primary,
            secondary=self.secondary,
            accent=self.accent,
            warning=self.warning,
            error=self.error,
            success=self.success,
            foreground=self.foreground,
            background=self.background,
            surface=self.surface,
            panel=self.panel,
            boost=self.boost,
            variables=dict(self.variables),
        )


class ThemeFileError(Exception):
    """A theme file that cannot be used; the message is one sentence for the user."""


def user_theme_dir() -> Path:
    """The folder for the user's own themes: ``$XDG_CONFIG_HOME/autogpt-tui/themes``."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    return base / "autogpt-tui" / "themes"


def theme_dirs() -> list[Path]:
    """The folders themes are read from, in order: the bundled ones, then the user's.

    ``autogpt_tui/themes`` is a link to the repository's ``themes/`` in a checkout and
    a real folder in an installed wheel. The user's folder is always listed, whether or
    not it exists yet.
    """
    bundled = [_BUNDLED_IN_PACKAGE] if _BUNDLED_IN_PACKAGE.is_dir() else []
    return [*bundled, user_theme_dir()]


def read_theme_file(path: Path) -> Theme:
    """The theme in ``path``; ThemeFileError says in one sentence why it cannot be used."""
    shown = _display_path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        reason = error.strerror or str(error)
        raise ThemeFileError(f"Skipped {shown}: it cannot be read ({reason}).") from None
    except UnicodeDecodeError:
        raise ThemeFileError(f"Skipped {shown}: it is not UTF-8 text.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ThemeFileError(f"Skipped {shown}: {_toml_problem(error)}.") from None
    # A file without a name is named after itself: my-theme.toml is "my-theme".
    data.setdefault("name", path.stem)
    try:
        theme_file = ThemeFile.model_validate(data)
    except ValidationError as error:
        errors = error.errors()
        more = len(errors) - 1
        also = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ThemeFileError(f"Skipped {shown}: {_describe(errors[0])}{also}.") from None
    return theme_file.to_theme()


def load_themes(dirs: Sequence[Path] | None = None) -> tuple[list[Theme], list[str]]:
    """The themes in ``dirs`` (default: ``theme_dirs()``) and a warning per broken file.

    Folders are read in order and files by name; when two files define the same
    theme, the later one wins (so a user's theme replaces a bundled one). A folder
    that does not exist is not an error.
    """
    themes: dict[str, Theme] = {}
    warnings: list[str] = []
    for folder in theme_dirs() if dirs is None else dirs:
        try:
            paths = sorted(p for p in folder.iterdir() if p.suffix == THEME_SUFFIX)
        except FileNotFoundError:
            continue
        except OSError as error:
            reason = error.strerror or str(error)
            warnings.append(f"Skipped the themes in {_display_path(folder)} ({reason}).")
            continue
        for path in paths:
            try:
                theme = read_theme_file(path)
            except ThemeFileError as error:
                warnings.append(str(error))
                continue
            themes.pop(theme.name, None)  # keep the winner in the order it was read
            themes[theme.name] = theme
    return list(themes.values()), warnings


def register_themes(app: App[Any], dirs: Sequence[Path] | None = None) -> list[str]:
    """Register the themes in ``dirs`` (default: ``theme_dirs()``); return the warnings."""
    themes, warnings = load_themes(dirs)
    for theme in themes:
        app.register_theme(theme)
    return warnings


def choose_theme(app: App[Any], name: str | None) -> str | None:
    """Switch ``app`` to the theme called ``name``; a warning when there is none.

    ``None`` means "no preference": the app gets ``DEFAULT_THEME`` if it is
    registered. Names match case-insensitively when there is no exact match. An
    unknown name leaves the current theme in place and returns one warning that
    lists a few of the themes there are.
    """
    available = app.available_themes
    wanted = DEFAULT_THEME if name is None else name.strip()
    if wanted in available:
        app.theme = wanted
        return None
    by_lower = {known.lower(): known for known in available}
    if wanted.lower() in by_lower:
        app.theme = by_lower[wanted.lower()]
        return None
    if name is None:
        return None  # the default is not registered: keep Textual's own default quietly
    return (
        f"There is no theme named {name!r}; using {app.theme!r}. "
        f"Themes: {', '.join(_suggestions(wanted, list(available)))}, …"
    )


def _suggestions(wanted: str, available: list[str], count: int = 6) -> list[str]:
    """A few theme names: close matches first, then ours, then Textual's own."""
    close = difflib.get_close_matches(wanted, available, n=3, cutoff=0.6)
    ours = sorted(name for name in available if name not in BUILTIN_THEMES)
    builtin = [name for name in BUILTIN_THEMES if name in available]
    names: list[str] = []
    for candidate in [*close, *ours, *builtin]:
        if candidate not in names:
            names.append(candidate)
    return names[:count]


def _variable_problem(name: str, value: str) -> str | None:
    """Why ``value`` cannot be the theme variable ``name``, or None when it can."""
    try:
        tokenize_values({name: value})
    except TokenError:
        return "is not a CSS value"
    if name not in _KNOWN_VARIABLES:
        return None  # the user's own variable: only their own CSS knows what it should be
    is_style = "style" in name.split("-")
    property_name, kind = ("text-style", "a text style") if is_style else ("color", "a colour")
    # Parse the value where Textual's widgets use it, so that a bad one fails here
    # rather than when the first screen is drawn.
    stylesheet = Stylesheet(variables={name: value})
    stylesheet.add_source(f"Screen {{ {property_name}: ${name}; }}", read_from=("theme", name))
    try:
        stylesheet.parse()
    except (StylesheetError, TokenError):
        return f"is not {kind}"
    return None


def _describe(error: ErrorDetails) -> str:
    """One clause for a validation error: "'primary' is not a colour"."""
    field = ".".join(str(part) for part in error["loc"]) or "the file"
    kind = error["type"]
    if kind == "theme_variable":
        return error["msg"]
    if kind == "missing":
        return f"{field!r} is missing"
    if kind == "extra_forbidden":
        return f"{field!r} is not a theme setting"
    if kind == "not_colour":
        return f"{field!r} is not a colour"
    if kind in ("bool_type", "bool_parsing"):
        return f"{field!r} must be true or false"
    if kind == "string_too_short":
        return f"{field!r} must not be empty"
    if kind == "dict_type":
        return f"{field!r} must be a table of names and values"
    if kind == "string_type":
        return f"{field!r} must be a string in quotes"
    message = error["msg"]
    return f"{field!r}: {message[:1].lower()}{message[1:]}"


def _toml_problem(error: tomllib.TOMLDecodeError) -> str:
    found = _TOML_POSITION.match(str(error))
    if found is None:
        return f"it is not valid TOML ({error})"
    reason = found["reason"][:1].lower() + found["reason"][1:]
    return f"it is not valid TOML at line {found['line']} ({reason})"


def _display_path(path: Path) -> str:
    """``path`` as short as it can be: relative to here, else with ``~`` for home."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (OSError, ValueError):
        pass
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)
