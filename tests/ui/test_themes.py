"""Theme files: loading, validation, registration and choosing a theme by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.app import App
from textual.color import Color
from textual.theme import BUILTIN_THEMES, Theme

from autogpt_tui.ui.screens import HelpScreen
from autogpt_tui.ui.themes import (
    DEFAULT_THEME,
    ThemeFile,
    choose_theme,
    load_themes,
    read_theme_file,
    register_themes,
    theme_dirs,
    user_theme_dir,
)

REPO_THEMES = Path(__file__).resolve().parents[2] / "themes"
OUR_THEMES = ("autogpt-dark", "autogpt-light")
ONE_SENTENCE = re.compile(r"Skipped [^\n]+\.")

GOOD = 'name = "{name}"\ndark = true\nprimary = "#336699"\n'


def write(folder: Path, filename: str, text: str) -> Path:
    """Write a theme file into ``folder`` (made if need be)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_text(text)
    return path


def by_name(themes: list[Theme]) -> dict[str, Theme]:
    """The themes keyed by name."""
    return {theme.name: theme for theme in themes}


# --- the bundled theme files ---------------------------------------------------------------


def test_both_bundled_theme_files_load_without_warnings() -> None:
    themes, warnings = load_themes([REPO_THEMES])
    assert warnings == []
    loaded = by_name(themes)
    assert sorted(loaded) == sorted(OUR_THEMES)
    assert loaded["autogpt-dark"].dark is True
    assert loaded["autogpt-light"].dark is False


@pytest.mark.parametrize("name", OUR_THEMES)
def test_bundled_themes_keep_the_signal_colours_apart(name: str) -> None:
    theme = read_theme_file(REPO_THEMES / f"{name}.toml")
    signals = [theme.success, theme.error, theme.warning, theme.accent, theme.primary]
    assert all(signals), "every signal colour is set, not derived"
    colours = [Color.parse(value or "") for value in signals]
    # Far enough apart to tell added from removed lines at a glance.
    for index, first in enumerate(colours):
        for second in colours[index + 1 :]:
            distance = sum(abs(a - b) for a, b in zip(first.rgb, second.rgb, strict=True))
            assert distance > 120, (first.hex, second.hex)


@pytest.mark.parametrize("name", OUR_THEMES)
def test_bundled_themes_have_readable_text(name: str) -> None:
    theme = read_theme_file(REPO_THEMES / f"{name}.toml")
    assert theme.foreground and theme.background
    foreground, background = Color.parse(theme.foreground), Color.parse(theme.background)
    assert contrast(foreground, background) >= 7  # WCAG AAA for body text


def contrast(first: Color, second: Color) -> float:
    """The WCAG contrast ratio between two colours."""

    def luminance(colour: Color) -> float:
        def channel(value: int) -> float:
            c = value / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = colour.rgb
        return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("name", OUR_THEMES)
def test_bundled_themes_convert_to_a_full_colour_system(name: str) -> None:
    theme = read_theme_file(REPO_THEMES / f"{name}.toml")
    variables = theme.to_color_system().generate()
    for key in ("primary", "success", "error", "warning", "accent", "text-success"):
        assert key in variables
    assert theme.variables["block-cursor-text-style"] == "none"


def test_theme_dirs_list_bundled_themes_first_then_the_users(tmp_path: Path) -> None:
    dirs = theme_dirs()
    assert dirs[0].resolve() == REPO_THEMES.resolve()
    assert dirs[-1] == user_theme_dir()
    # conftest points XDG_CONFIG_HOME into a temporary home.
    assert user_theme_dir().parts[-2:] == ("autogpt-tui", "themes")
    assert str(user_theme_dir()).startswith(str(Path.home()))


def test_a_relative_xdg_config_home_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/config")
    assert user_theme_dir() == Path.home() / ".config" / "autogpt-tui" / "themes"


def test_a_users_theme_replaces_a_bundled_one_of_the_same_name() -> None:
    write(user_theme_dir(), "mine.toml", GOOD.format(name="autogpt-dark"))
    write(user_theme_dir(), "extra.toml", GOOD.format(name="extra"))
    themes, warnings = load_themes()
    assert warnings == []
    loaded = by_name(themes)
    assert loaded["autogpt-dark"].primary == "#336699"
    assert {"autogpt-dark", "autogpt-light", "extra"} <= set(loaded)
    assert len(themes) == len(loaded), "each name once"


def test_a_missing_folder_is_not_an_error(tmp_path: Path) -> None:
    assert load_themes([tmp_path / "nowhere"]) == ([], [])


def test_a_file_without_a_name_is_named_after_itself(tmp_path: Path) -> None:
    path = write(tmp_path, "sunrise.toml", 'dark = false\nprimary = "orange"\n')
    assert read_theme_file(path).name == "sunrise"


def test_files_that_are_not_toml_are_ignored(tmp_path: Path) -> None:
    write(tmp_path, "notes.txt", "not a theme")
    write(tmp_path, "good.toml", GOOD.format(name="good"))
    themes, warnings = load_themes([tmp_path])
    assert [theme.name for theme in themes] == ["good"]
    assert warnings == []


# --- broken files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            'name = "x"\ndark = true\nprimary = "not-a-colour"\n',
            "'primary' is not a colour.",
        ),
        ('name = "x"\ndark = true\nprimary = 7\n', "'primary' is not a colour."),
        ('name = "x"\nprimary = "#fff"\n', "'dark' is missing."),
        ('name = "x"\ndark = true\n', "'primary' is missing."),
        (
            'name = "x"\ndark = true\nprimary = "#fff"\nprimray = "#000"\n',
            "'primray' is not a theme setting.",
        ),
        ('name = " "\ndark = true\nprimary = "#fff"\n', "'name' must not be empty."),
        ('name = "x"\ndark = 3\nprimary = "#fff"\n', "'dark' must be true or false."),
        (
            'name = "x"\ndark = true\nprimary = "#fff"\nvariables = "x"\n',
            "'variables' must be a table of names and values.",
        ),
        ('name = "x"\ndark = true\nprimary = \n', "it is not valid TOML at line 3"),
        (
            'dark = true\nprimary = "#fff"\n[variables]\n"block-cursor-background" = "nope"\n',
            "'block-cursor-background' in [variables] is not a colour.",
        ),
        (
            'dark = true\nprimary = "#fff"\n[variables]\n"link-style" = "wobbly"\n',
            "'link-style' in [variables] is not a text style.",
        ),
        (
            'dark = true\nprimary = "#fff"\n[variables]\n"my-colour" = "{{"\n',
            "'my-colour' in [variables] is not a CSS value.",
        ),
        (
            'name = "x"\ndark = "maybe"\nprimary = "nope"\n',
            "'dark' must be true or false (and 1 more problem).",
        ),
    ],
)
def test_a_broken_file_is_skipped_with_one_sentence(
    tmp_path: Path, text: str, problem: str
) -> None:
    write(tmp_path, "a-good.toml", GOOD.format(name="good"))
    write(tmp_path, "x.toml", text)
    themes, warnings = load_themes([tmp_path])
    assert [theme.name for theme in themes] == ["good"]
    assert len(warnings) == 1
    warning = warnings[0]
    assert ONE_SENTENCE.fullmatch(warning), warning
    assert warning.startswith(f"Skipped {tmp_path / 'x.toml'}: "), warning
    assert problem in warning


def test_the_warning_names_the_file_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "themes", "x.toml", 'name = "x"\ndark = true\nprimary = "nope"\n')
    monkeypatch.chdir(tmp_path)
    _, warnings = load_themes([tmp_path / "themes"])
    assert warnings == ["Skipped themes/x.toml: 'primary' is not a colour."]


def test_a_file_that_is_not_utf8_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_bytes(b'name = "\xff"\n')
    _, warnings = load_themes([tmp_path])
    assert len(warnings) == 1 and warnings[0].endswith("x.toml: it is not UTF-8 text.")


def test_a_file_that_cannot_be_read_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "folder.toml").mkdir()
    _, warnings = load_themes([tmp_path])
    assert len(warnings) == 1
    assert "folder.toml: it cannot be read (" in warnings[0]
    assert ONE_SENTENCE.fullmatch(warnings[0])


def test_every_textual_default_variable_value_is_accepted() -> None:
    # The variable check must not reject what Textual itself uses.
    defaults = BUILTIN_THEMES["textual-dark"].to_color_system().generate()
    theme_file = ThemeFile(name="all", dark=True, primary="#123456", variables=defaults)
    assert theme_file.to_theme().variables == defaults


def test_a_custom_variable_is_kept() -> None:
    theme_file = ThemeFile(
        name="mine", dark=True, primary="#123456", variables={"diff-added": "#00ff00 20%"}
    )
    assert theme_file.to_theme().variables == {"diff-added": "#00ff00 20%"}


# --- registering and choosing --------------------------------------------------------------


async def test_register_themes_makes_ours_available_and_usable(tmp_path: Path) -> None:
    write(tmp_path, "bad.toml", 'name = "bad"\ndark = true\nprimary = "nope"\n')
    app: App[None] = App()
    warnings = register_themes(app, [REPO_THEMES, tmp_path])
    assert warnings == [f"Skipped {tmp_path / 'bad.toml'}: 'primary' is not a colour."]
    assert set(OUR_THEMES) <= set(app.available_themes)
    assert "bad" not in app.available_themes
    async with app.run_test(size=(80, 24)) as pilot:
        for name in OUR_THEMES:
            assert choose_theme(app, name) is None
            await pilot.app.push_screen(HelpScreen())
            await pilot.pause()
            assert app.theme == name
            assert app.get_css_variables()["primary"] == app.available_themes[name].primary
            app.pop_screen()
            await pilot.pause()


def test_register_themes_reads_the_default_folders() -> None:
    app: App[None] = App()
    assert register_themes(app) == []
    assert set(OUR_THEMES) <= set(app.available_themes)


async def test_choose_theme_with_no_name_picks_the_default() -> None:
    app: App[None] = App()
    register_themes(app)
    async with app.run_test():
        assert choose_theme(app, None) is None
        assert app.theme == DEFAULT_THEME == "autogpt-dark"


async def test_choose_theme_with_no_name_and_no_themes_keeps_textuals_default() -> None:
    app: App[None] = App()
    async with app.run_test():
        before = app.theme
        assert choose_theme(app, None) is None
        assert app.theme == before


@pytest.mark.parametrize("name", ["nord", "textual-light", "gruvbox", *OUR_THEMES])
async def test_choose_theme_accepts_builtin_and_bundled_names(name: str) -> None:
    app: App[None] = App()
    register_themes(app)
    async with app.run_test():
        assert choose_theme(app, name) is None
        assert app.theme == name


async def test_choose_theme_forgives_case_and_spaces() -> None:
    app: App[None] = App()
    register_themes(app)
    async with app.run_test():
        assert choose_theme(app, " AutoGPT-Light ") is None
        assert app.theme == "autogpt-light"


async def test_an_unknown_theme_falls_back_with_one_warning() -> None:
    app: App[None] = App()
    register_themes(app)
    async with app.run_test():
        choose_theme(app, DEFAULT_THEME)
        warning = choose_theme(app, "nrod")
        assert app.theme == DEFAULT_THEME
        assert warning is not None
        prefix = "There is no theme named 'nrod'; using 'autogpt-dark'. Themes: "
        assert warning.startswith(prefix), warning
        names = warning.removeprefix(prefix).removesuffix(", …").split(", ")
        assert names[0] == "nord", "the closest match comes first"
        assert set(OUR_THEMES) <= set(names)
        assert 3 <= len(names) <= 6
        assert "\n" not in warning


@pytest.mark.parametrize("name", OUR_THEMES)
def test_unfocused_borders_show_on_a_256_colour_terminal(name: str) -> None:
    """Issue 12: in autogpt-light on a 256-colour terminal, unfocused borders were grey93
    on white (and black on black in autogpt-dark). Drawn in the 256-colour palette,
    border and surface stay apart."""
    from rich.color import Color as RichColor
    from rich.color import ColorSystem

    theme = read_theme_file(REPO_THEMES / f"{name}.toml")
    variables = theme.to_color_system().generate()

    def in_256_colours(value: str) -> Color:
        parsed = Color.parse(value)
        triplet = RichColor.from_rgb(*parsed.rgb).downgrade(ColorSystem.EIGHT_BIT)
        return Color(*triplet.get_truecolor())

    border = in_256_colours(variables["border-blurred"])
    for under in ("surface", "background"):
        assert contrast(border, in_256_colours(variables[under])) >= 1.8, under
    # ...and still quieter than the focused border.
    focused = Color.parse(variables["border"])
    surface = Color.parse(variables["surface"])
    assert contrast(Color.parse(variables["border-blurred"]), surface) < contrast(focused, surface)
