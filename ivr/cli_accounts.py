"""`ivr token list|revoke` and `ivr user set-password`: accounts that can be ended."""

from __future__ import annotations

from datetime import datetime

import click

from ivr.cli import _database_session, _read_password, token, user


def _local(when: datetime | None) -> str:
    from storage.workflow.deadlines import hotline_tz

    return when.astimezone(hotline_tz()).strftime("%Y-%m-%d %H:%M") if when else "-"


@token.command("list")
def token_list() -> None:
    """Every API token: name, created, last used (hotline time), live or revoked."""
    from sqlalchemy import select

    from storage.models import ApiToken

    with _database_session() as session:
        tokens = session.scalars(select(ApiToken).order_by(ApiToken.name, ApiToken.id)).all()
        click.echo(f"{'name':<24} {'created':<16}  {'last used':<16}  state")
        for found in tokens:
            state = f"revoked {_local(found.revoked_at)}" if found.revoked_at else "live"
            click.echo(
                f"{found.name:<24} {_local(found.created_at):<16}  "
                f"{_local(found.last_used_at):<16}  {state}"
            )


@token.command("revoke")
@click.argument("name")
def token_revoke(name: str) -> None:
    """Revoke every live token called NAME: the API refuses it from the next request."""
    from storage.access.tokens import revoke_tokens

    with _database_session() as session:
        count = revoke_tokens(session, name)
    if count == 0:
        raise click.ClickException(f"no live token called {name!r}")
    click.echo(f"{count} token(s) called {name} revoked", err=True)


@user.command("set-password")
@click.argument("name")
def user_set_password(name: str) -> None:
    """Set a user's password (read from standard input) and end all their sessions."""
    from ivr.console.sessions import revoke_user_sessions
    from storage.access.users import UserError, find_user, set_password
    from workers.context import connect_redis

    password = _read_password()
    try:
        with _database_session() as session:
            found = find_user(session, name)
            if found is None:
                raise click.ClickException(f"no user called {name!r}")
            set_password(session, found, password)
            user_id = found.id
    except UserError as error:
        raise click.ClickException(str(error)) from None
    try:
        ended = revoke_user_sessions(connect_redis(), user_id)
    except Exception as problem:  # the new password already refuses the old sessions
        click.echo(f"sessions not deleted from Redis ({problem}); they are refused", err=True)
        ended = 0
    click.echo(f"password of {name} changed; {ended} session(s) ended", err=True)
