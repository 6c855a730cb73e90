"""Every ``rma`` command and option explains itself in ``--help``."""

from __future__ import annotations

import click

from rma.cli import main


def commands(group: click.Group, path: str = "rma") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = [(path, group)]
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            found += commands(command, f"{path} {name}")
        else:
            found.append((f"{path} {name}", command))
    return found


def test_every_command_and_option_has_help() -> None:
    missing = [
        f"{path} {'/'.join(param.opts)}"
        for path, command in commands(main)
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden and not param.help
    ]
    missing += [path for path, command in commands(main) if not command.help]
    assert not missing, f"no help text: {missing}"


def test_the_walk_reaches_nested_commands() -> None:
    # The check above is only as good as its walk: it must see the sub-commands.
    paths = [path for path, _ in commands(main)]
    assert {"rma ask", "rma limits show", "rma bench llm", "rma stack up"} <= set(paths)
