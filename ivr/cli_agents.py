"""`ivr agent …`: agents' (话务员) names, one at a time or from a CSV."""

from __future__ import annotations

from pathlib import Path

import click

from ivr.cli import _database_session, main


@main.group()
def agent() -> None:
    """Agents (话务员) by the code calls carry in `agent`, with the names the console shows."""


@agent.command("create")
@click.argument("code")
@click.argument("name")
@click.option("--dept", default=None, help="Department code the agent belongs to.")
def agent_create(code: str, name: str, dept: str | None) -> None:
    """Create an agent, or rename it (and move it to --dept) when CODE exists."""
    from storage.access.users import UserError
    from storage.names import save_agent

    try:
        with _database_session() as session:
            save_agent(session, code, name, dept)
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"agent {code} saved", err=True)


@agent.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def agent_import(path: Path) -> None:
    """Create or update the agents of a CSV file `code,name[,dept]` (UTF-8), all or none."""
    from storage.access.users import UserError
    from storage.names import import_agents, read_agent_csv

    try:
        rows = read_agent_csv(path.read_text(encoding="utf-8-sig"))
        with _database_session() as session:
            count = import_agents(session, rows)
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{count} agents saved", err=True)
