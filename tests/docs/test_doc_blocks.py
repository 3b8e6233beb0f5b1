"""The docs' code blocks are executable: every TOML block parses and loads into its schema, every
`hall ...` line is a command with options that exist, and the unmarked ones run (issue #18: D1).

How a block is marked is in `tests/docs/blocks.py`. The lines run here are cheap: they run
in-process, in a scratch directory where every absolute path of the docs (`/var/lib/...`,
`/media/$USER/...`) is taken under the scratch directory, block after block as a reader
types them. Lines that need a hall's hardware, a running service or a long run are marked
`<!-- needs: ... -->` and are only checked against their command's options.
"""

from __future__ import annotations

import os
import re
import tomllib
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ValidationError

from central.cases.calendar import parse_schedule
from central.cases.rules import DEFAULT_RULES, RuleTable
from central.discretion.standards import Standards
from central.guide.model import MatterGuide
from central.sms.settings import SmsSettings
from edge.runtime.agent import AgentConfig
from hallwatch.cli import main
from spine.config import format_validation_error
from tests.docs.blocks import Block, blocks
from tests.docs.test_examples import EXAMPLES, ROLES

BLOCKS = blocks()
TOML = [b for b in BLOCKS if b.lang == "toml"]
COMMANDED = [b for b in BLOCKS if b.commands()]


def _validate(model: type[BaseModel], data: Mapping[str, Any], where: str) -> None:
    try:
        model.model_validate(data)
    except ValidationError as error:
        pytest.fail(format_validation_error(error, where))


def _over(base: Path, fragment: Mapping[str, Any]) -> dict[str, Any]:
    """A fragment's sections in place of the base file's (a section is replaced whole)."""
    return {**tomllib.loads(base.read_text(encoding="utf-8")), **fragment}


Loader = Callable[[dict[str, Any], bool, str], None]
"""(the block's data, whether it is a fragment, where it is) -> fails when it does not load."""


def _agent_loader(model: type[BaseModel], example: Path | None) -> Loader:
    def load(data: dict[str, Any], fragment: bool, where: str) -> None:
        if fragment:
            assert example is not None, f"{where}: no example to complete the fragment with"
            data = _over(example, data)
        _validate(model, data, where)
    return load


def _rules(data: dict[str, Any], fragment: bool, where: str) -> None:
    _validate(RuleTable, _over(DEFAULT_RULES, data) if fragment else data, where)


def _calendar(data: dict[str, Any], fragment: bool, where: str) -> None:
    parse_schedule(data, where)  # raises with every problem listed


def _sms(data: dict[str, Any], fragment: bool, where: str) -> None:
    assert set(data) == {"sms"}, f"{where}: an [sms] section only, not {sorted(data)}"
    _validate(SmsSettings, data["sms"], where)


LOADERS: dict[str, Loader] = {
    **{role: _agent_loader(model, EXAMPLES / f"{role}.toml") for role, model in ROLES.items()},
    "agent": _agent_loader(AgentConfig, None),  # the sections every agent shares
    "rules": _rules, "calendar": _calendar, "sms": _sms,
    # Whole files of their own (a fragment of them means nothing): the public site's matter guide,
    # the discretionary standards.
    "guide": lambda data, _fragment, where: _validate(MatterGuide, data, where),
    "standards": lambda data, _fragment, where: _validate(Standards, data, where),
}


@pytest.mark.parametrize("block", TOML, ids=[b.where for b in TOML])
def test_every_toml_block_parses_and_loads_into_its_schema(block: Block) -> None:
    try:
        data = tomllib.loads(block.text)
    except tomllib.TOMLDecodeError as error:
        pytest.fail(f"{block.where}: not valid TOML: {error}")
    mark = re.fullmatch(r"toml: (?P<role>[a-z]+)(?P<fragment> fragment)?", block.mark)
    assert mark, (f"{block.where}: say what the block is, e.g. <!-- toml: kiosk --> or "
                  f"<!-- toml: kiosk fragment --> (one of {sorted(LOADERS)}); it has {block.mark!r}")
    assert mark["role"] in LOADERS, f"{block.where}: no role {mark['role']!r} ({sorted(LOADERS)})"
    LOADERS[mark["role"]](data, bool(mark["fragment"]), block.where)


COMMAND_LINES = [(b, number, args) for b in COMMANDED for number, args in b.commands()]


@pytest.mark.parametrize(("block", "number", "args"), COMMAND_LINES,
                         ids=[f"{b.page.name}:{n}" for b, n, _ in COMMAND_LINES])
def test_every_hall_line_names_a_command_and_options_that_exist(
    block: Block, number: int, args: list[str],
) -> None:
    where = f"{block.page.name}:{number}: hall {' '.join(args)}"
    if block.mark == "synopsis":
        _check_synopsis(args, where)
    else:
        _parse(args, where)


def _command(args: list[str], where: str) -> tuple[click.Command, click.Context, list[str]]:
    """The command `hall ARGS` names, the context it would run in, and its own arguments."""
    context = main.make_context("hall", list(args), resilient_parsing=True)
    command: click.Command = main
    rest = list(args)
    while isinstance(command, click.Group):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # click 9 folds protected_args in
            rest = [*context.protected_args, *context.args]
        if not rest:  # `hall provision ...`: the group itself
            break
        name, found, rest = command.resolve_command(context, rest)
        assert found is not None and name is not None, f"{where}: no such command"
        command = found
        context = command.make_context(name, list(rest), parent=context, resilient_parsing=True)
    return command, context, rest


def _parse(args: list[str], where: str) -> None:
    """Parse as the command would, every option and argument checked; a file the line names
    may be missing here (its page says where it comes from)."""
    command, context, rest = _command(args, where)
    try:
        with CliRunner().isolation(input="\n" * 8):  # an option that prompts reads a blank answer
            command.make_context(context.info_name, list(rest), parent=context.parent)
    except click.BadParameter as error:
        if not isinstance(getattr(error.param, "type", None), click.Path):
            pytest.fail(f"{where}: {error.format_message()}")
    except click.UsageError as error:
        pytest.fail(f"{where}: {error.format_message()}")
    except click.Abort:
        pass  # it asks a person for a value (an enrolment code): everything before it parsed


def _check_synopsis(args: list[str], where: str) -> None:
    """`hall X Y [--opt VALUE] [--flag|--other]`: the command exists, and so does every option."""
    words = [w for w in args if not w.startswith("[") and w not in ("...", "|")]
    head = [w for w in words[:3] if re.fullmatch(r"[a-z][a-z-]*", w)]
    command, _, _ = _command(head, where)
    known = {opt for param in command.params for opt in param.opts}
    named = {m for w in args for m in re.findall(r"--[a-z][a-z-]*", w)}
    assert named <= known, f"{where}: {sorted(named - known)} are not options of this command"


RUN_PAGES = sorted({b.page for b in COMMANDED if not b.mark})


@pytest.mark.parametrize("page", RUN_PAGES, ids=[p.name for p in RUN_PAGES])
def test_the_unmarked_hall_lines_of_a_page_run_in_order(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    shell = Shell(tmp_path)
    for block in (b for b in BLOCKS if b.page == page and b.commands() and not b.mark):
        shell.run(block)
    assert shell.ran, f"{page.name}: nothing ran"


class Shell:
    """What a reader types from a block: `export`, a `cat > FILE <<'EOF'` here-document, and
    `hall ...` lines. Anything else needs a mark: the block is then not run."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.env = {"USER": "technician", "HOME": str(scratch)}
        self.ran: list[str] = []

    def here(self, value: str) -> str:
        """`$USER` expanded, and an absolute path taken under the scratch directory."""
        value = re.sub(r"\$(\w+)", lambda m: self.env.get(m[1], os.environ.get(m[1], "")), value)
        return f"{self.scratch}{value}" if value.startswith("/") else value

    def run(self, block: Block) -> None:
        commands = dict(block.commands())
        lines = block.text.split("\n")
        index = 0
        while index < len(lines):
            number, line = block.line + 1 + index, lines[index].strip()
            index += 1
            if number in commands:
                self.hall(commands[number], f"{block.page.name}:{number}")
                while line.endswith("\\"):
                    line = lines[index].strip()
                    index += 1
            elif not line or line.startswith("#"):
                continue
            elif line.startswith("export "):
                name, _, value = line[len("export "):].split("#")[0].strip().partition("=")
                self.env[name] = self.here(value)
            elif here_document := re.fullmatch(r"cat > (\S+) <<'(\w+)'", line):
                end = lines.index(here_document[2], index)
                Path(self.here(here_document[1])).write_text("\n".join(lines[index:end]) + "\n",
                                                             encoding="utf-8")
                index = end + 1
            else:
                pytest.fail(f"{block.page.name}:{number}: {line!r} cannot run here: mark the block "
                            "<!-- needs: ... --> with what it needs")

    def hall(self, args: list[str], where: str) -> None:
        args = [self.here(arg) for arg in args]
        result = CliRunner().invoke(main, args, env=self.env, catch_exceptions=False)
        assert result.exit_code == 0, f"{where}: hall {' '.join(args)}\n{result.output}"
        self.ran.append(where)
