"""README, `.env.example` and the code cannot drift apart: the same settings with the same defaults, the same
commands, and every file README points an operator to exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.__main__ import build_parser
from bot.app import USER_COMMANDS
from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ENV_EXAMPLE = ROOT / ".env.example"


def section(title: str) -> str:
    """The text of README's section `title` (a ## or ### heading), up to the next heading of any level."""
    match = re.search(rf"^#{{2,3}} {re.escape(title)}\n(.*?)(?=^#{{2,3}} )", README, re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def table(title: str) -> list[list[str]]:
    """The rows of the first table in README's section `title`, as lists of cells (header and rule dropped)."""
    rows = [line for line in section(title).splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[2:]]


def readme_settings() -> dict[str, str]:
    """variable → default cell of README's settings table."""
    out = {}
    for name, default, _meaning in table("Settings"):
        assert name.startswith("`") and name.endswith("`"), name
        out[name.strip("`")] = default
    return out


def example_settings() -> dict[str, str | None]:
    """variable → value in .env.example (None for a commented-out line)."""
    out: dict[str, str | None] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"(#?)([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            out[match.group(2)] = None if match.group(1) else match.group(3)
    return out


def test_readme_env_example_and_settings_name_the_same_variables() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert set(readme_settings()) == fields, "README's settings table"
    assert set(example_settings()) == fields, ".env.example"
    assert len(table("Settings")) == len(fields), "a variable listed twice in README"


def test_env_example_as_shipped_gives_the_defaults() -> None:
    """`cp .env.example .env` without editing anything changes nothing (except that BOT_TOKEN stays unset)."""
    assert Settings(_env_file=ENV_EXAMPLE) == Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize("name", sorted(name.upper() for name in Settings.model_fields))
def test_readme_default_is_the_real_default(name: str) -> None:
    cell = readme_settings()[name]
    field = name.lower()
    default = getattr(Settings(_env_file=None), field)  # type: ignore[call-arg]
    if cell == "—":
        assert default in (None, frozenset()), f"README says {name} has no default, the code says {default!r}"
    elif cell.startswith("shipped `"):
        assert Path(default) == ROOT / cell.removeprefix("shipped `").rstrip("`")
    else:
        value = re.fullmatch(r"`([^`]*)`", cell)
        assert value, f"README's default for {name} should be `value`, — or shipped `path`: {cell!r}"
        given = getattr(Settings(_env_file=None, **{field: value.group(1)}), field)  # type: ignore[call-arg]
        assert given == default, f"README's default for {name} is {value.group(1)!r}, the code's {default!r}"
        example = example_settings()[name]
        if example:
            assert example == value.group(1), f".env.example sets {name}={example}, README says {value.group(1)}"


def test_readme_documents_every_command() -> None:
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    documented = {row[0].strip("`").split()[0] for row in table("Command line")}
    assert documented == set(subparsers.choices)  # type: ignore[union-attr]

    subscriber = {row[0].strip("`").split()[0].lstrip("/") for row in table("For subscribers")}
    assert subscriber | {"start"} == set(USER_COMMANDS)
    assert "/start" in section("For subscribers")
    operator = {row[0].strip("`").lstrip("/") for row in table("For operators")}
    assert operator == {"stats", "feeds", "ingest"}


def test_quick_start_is_the_two_commands() -> None:
    block = re.search(r"```\n(.*?)```", section("Quick start"), re.S)
    assert block
    assert [line.split()[:2] for line in block.group(1).splitlines()] == [["make", "run"], ["make", "test"]]


def test_files_readme_points_to_exist() -> None:
    for path in re.findall(r"`((?:deploy|docs|benchmarks|storage|bot)/[\w./]+\.\w+|Dockerfile|docker-compose\.yml|\.env\.example)`", README):
        assert (ROOT / path).exists(), path


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_targets_readme_names_exist() -> None:
    for target in sorted(set(re.findall(r"`make ([\w-]+)", README))):
        dry_run = subprocess.run(["make", "-n", "-C", str(ROOT), target], capture_output=True, text=True, check=False)
        assert dry_run.returncode == 0, f"make {target}: {dry_run.stderr}"
