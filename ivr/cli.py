"""The `ivr` command: database, tokens, periodic duties, processes and the call simulator."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import datetime

import click
from sqlalchemy.orm import Session

from ivr.devenv import SIMULATOR_MEDIA_PORT
from ivr.logging_setup import configure_logging
from storage.db import database_url, transaction
from storage.models import ROLES
from storage.settings import SettingsError, load_settings, settings


@click.group()
def main() -> None:
    """Post-call satisfaction ratings (好差评) for a 12345 hotline."""
    try:
        load_settings()  # every process (worker, cron, CLI) checks its settings at start
    except SettingsError as error:
        raise click.ClickException(f"configuration error: {error}") from None
    configure_logging()


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or migrate the database schema."""
    from storage.migrate import upgrade

    upgrade(database_url(), revision)
    click.echo(f"database at revision {revision}", err=True)


@main.group()
def token() -> None:
    """API tokens for the work-order system."""


@token.command("create")
@click.argument("name")
def token_create(name: str) -> None:
    """Create an API token and print it, alone, on standard output."""
    from storage.access.tokens import create_token

    with _database_session() as session:
        secret = create_token(session, name[:64])
    click.echo(secret)


def _database_session():
    """A transaction on `DATABASE_URL`, with this process's session factory."""
    from workers.context import session_factory

    return transaction(session_factory())


@contextlib.contextmanager
def _user_change() -> Iterator[Session]:
    """A transaction for a user or department command; a `UserError` (its reason) ends
    the command with that message and nothing written."""
    from storage.access.users import UserError

    try:
        with _database_session() as session:
            yield session
    except UserError as error:
        raise click.ClickException(str(error)) from None


def _read_password() -> str:
    """The password from standard input: typed twice, hidden, at a terminal; else one line."""
    if sys.stdin.isatty():
        return click.prompt("password", hide_input=True, confirmation_prompt=True, err=True)
    return sys.stdin.readline().rstrip("\r\n")


@main.group()
def user() -> None:
    """Console users."""


@user.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--dept", default=None, help="Department code (required for staff).")
@click.option("--phone", default=None, help="Mobile number for SMS notifications (E.164).")
def user_create(name: str, role: str, dept: str | None, phone: str | None) -> None:
    """Create a console user, reading the password from standard input."""
    from storage.access.users import UserError, check_password, create_user

    password = _read_password()
    try:
        check_password(password)  # before opening the database: say why at once
    except UserError as error:
        raise click.ClickException(str(error)) from None
    with _user_change() as session:
        create_user(session, name, password, role, dept).phone = phone or None
    click.echo(f"user {name} created ({role}{', ' + dept if dept else ''})", err=True)


@main.group()
def dept() -> None:
    """Departments (承办单位), by the code calls carry in `dept`."""


@dept.command("create")
@click.argument("code")
@click.argument("name")
def dept_create(code: str, name: str) -> None:
    """Create a department."""
    from storage.access.users import create_department

    with _user_change() as session:
        create_department(session, code, name)
    click.echo(f"department {code} created", err=True)


@dept.command("set-head")
@click.argument("code")
@click.argument("username")
def dept_set_head(code: str, username: str) -> None:
    """Make USERNAME the head of department CODE (escalations go to the head)."""
    from storage.access.users import set_department_head

    with _user_change() as session:
        set_department_head(session, code, username)
    click.echo(f"{username} heads department {code}", err=True)


def _parse_now(value: str | None) -> datetime:
    """An ISO 8601 time; without an offset it is read in `HOTLINE_TZ`."""
    from storage.types import utcnow

    if value is None:
        return utcnow()
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise click.BadParameter(f"not ISO 8601: {value!r}") from error
    if when.tzinfo is None:
        when = when.replace(tzinfo=settings().hotline_tz)
    return when


@main.command()
@click.option("--now", "now_text", help="Run as of this ISO 8601 time (default: now).")
def sweep(now_text: str | None) -> None:
    """Run the periodic duties once: default ratings, overdue steps, re-sending lost jobs."""
    from workers.context import connect_redis, session_factory
    from workers.sweep import sweep as run_sweep

    report = run_sweep(session_factory(), connect_redis(), _parse_now(now_text))
    click.echo(str(report))


@main.group()
def figures() -> None:
    """The daily figures rollup behind the supervisors' figures page."""


@figures.command("rebuild")
def figures_rebuild() -> None:
    """Recompute every day of the rollup (after changes dated in the past)."""
    from storage.reports.figures_rollup import rebuild
    from workers.context import session_factory

    days = rebuild(session_factory())
    click.echo(f"figures rollup rebuilt: {days} days", err=True)


@main.command()
def worker() -> None:
    """Serve every queue (the Procfile's `worker`): ratings and slow transcriptions apart."""
    from workers.context import connect_redis
    from workers.queues import WORKER_GROUPS
    from workers.speech import preload, speech_languages
    from workers.worker_groups import preload_job_code, run_groups

    # Loaded once here, before any fork: the worker processes (and the work-horses
    # the transcription worker forks per job) share the model's pages.
    for lang, seconds in preload(speech_languages()).items():
        click.echo(f"speech model for {lang} loaded in {seconds:.1f} s", err=True)
    preload_job_code()
    run_groups(WORKER_GROUPS, connect_redis)


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: MEDIA_HOST).")
@click.option("--port", default=None, type=int, help="Port (default: MEDIA_PORT).")
@click.option(
    "--capacity",
    default=None,
    type=int,
    help="Streams served at once, more are refused and fall back (default: MEDIA_MAX_STREAMS).",
)
@click.option("--threads", default=None, type=int, help="Decoding threads (MEDIA_THREADS).")
def media(host: str | None, port: int | None, capacity: int | None, threads: int | None) -> None:
    """Serve Twilio media streams (the Procfile's `media`): live spoken ratings."""
    from workers.media.server import main as serve_media

    current = settings()
    host = host or current.media_host
    port = port or current.media_port
    capacity = capacity or current.media_max_streams
    threads = threads or current.media_threads
    serve_media(host, port, capacity, threads)


@main.command()
@click.option("--interval", default=60.0, show_default=True, help="Seconds between sweeps.")
def cron(interval: float) -> None:
    """Run the sweep on a schedule (the Procfile's `cron`)."""
    from workers.cron import run_forever

    run_forever(interval)


@main.group()
def flow() -> None:
    """Call flows."""


@flow.command("diagram")
@click.argument("name", default="rating")
def flow_diagram(name: str) -> None:
    """Print the flow as a Mermaid state diagram."""
    from callflows import load_flow
    from callflows.diagram import to_mermaid

    click.echo(to_mermaid(load_flow(name)), nl=False)


@main.command()
@click.option(
    "--keys",
    default="1",
    show_default=True,
    help="Answers: keys, 'silence', 'hangup'; comma-separated.",
)
@click.option("--lang", default="zh-CN", show_default=True)
@click.option("--agent", default="A1024", show_default=True)
@click.option("--dept", default="D-housing", show_default=True)
@click.option("--tickets", default="T1", show_default=True, help="Comma-separated ticket ids.")
@click.option("--from", "caller", default="+8613800000000", show_default=True)
@click.option(
    "--dial-status",
    default="completed",
    show_default=True,
    help="DialCallStatus; '' for a survey number.",
)
@click.option("--call-sid", default=None, help="Reuse a call id (e.g. to test a duplicate).")
@click.option("--linked", default=None, help="CallSid of the other party (proxy/applicant).")
@click.option(
    "--say",
    "say",
    type=click.Path(exists=True, dir_okay=False),
    help="Speak this audio file after the tone (then --keys answer what follows).",
)
@click.option(
    "--media-port",
    default=SIMULATOR_MEDIA_PORT,
    show_default=True,
    help="Loopback port serving the spoken recording (list it in RECORDING_HOSTS).",
)
@click.option(
    "--stream",
    is_flag=True,
    help="Expect the question on a media stream: --say is sent as 20 ms frames in real time.",
)
@click.option("--barge-in", is_flag=True, help="With --stream: speak 1 s into the prompt.")
@click.option(
    "--playback",
    type=click.Path(dir_okay=False),
    help="With --stream: write what the caller heard on the stream to this WAV file.",
)
@click.option("--url", default=None, help="PUBLIC_BASE_URL the requests are signed for.")
@click.option("--connect", default=None, help="Send the requests here instead (e.g. a local port).")
def simulate(
    keys: str,
    lang: str,
    agent: str,
    dept: str,
    tickets: str,
    caller: str,
    dial_status: str,
    call_sid: str | None,
    linked: str | None,
    say: str | None,
    media_port: int,
    stream: bool,
    barge_in: bool,
    playback: str | None,
    url: str | None,
    connect: str | None,
) -> None:
    """Place a simulated call against a running service, signed like Twilio, and print it."""
    from ivr.devenv import read_dev_env
    from ivr.simulate import CallScript, Simulator, new_call_sid
    from ivr.simulate_http import http_transport
    from ivr.simulate_media import MediaHost

    dev = read_dev_env()
    current = settings()
    base_url = url or current.public_base_url or dev.get("PUBLIC_BASE_URL")
    auth_token = current.twilio_auth_token or dev.get("TWILIO_AUTH_TOKEN")
    if not base_url or not auth_token:
        raise click.UsageError(
            "set PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN, or start script/server to make local ones"
        )
    answers = CallScript.parse_answers(keys)
    if say:
        answers = [("early:" if stream and barge_in else "") + f"say:{say}", *answers]
    script = CallScript(
        answers=answers,
        lang=lang,
        agent=agent or None,
        dept=dept or None,
        tickets=tuple(t for t in tickets.split(",") if t),
        caller=caller,
        dial_status=dial_status or None,
        call_sid=call_sid or new_call_sid(),
        linked=linked or None,
    )
    account_sid = current.twilio_account_sid or dev.get("TWILIO_ACCOUNT_SID")
    account_sid = account_sid or "AC" + "0" * 32
    media = MediaHost(account_sid, auth_token, port=media_port) if say else None
    simulator = Simulator(
        base_url,
        auth_token,
        http_transport(base_url, connect),
        account_sid=account_sid,
        echo=click.echo,
        media=media,
    )
    try:
        outcome = simulator.call(script)
    finally:
        if media is not None:
            media.close()
    if stream:
        from ivr.simulate_stream import write_playback

        if not outcome.streams:
            click.echo("the service did not open a media stream (is `ivr media` up?)", err=True)
            sys.exit(1)
        if playback:
            write_playback(outcome.streams, playback)
    if any(status != 200 for status in outcome.statuses):
        sys.exit(1)


@main.command("dev-env")
@click.option("--port", default=5000, show_default=True)
def dev_env(port: int) -> None:
    """Make (once) the local development token and base URL; print the file's path."""
    from ivr.devenv import dev_env_path, ensure_dev_env

    ensure_dev_env(port)
    click.echo(dev_env_path())


# Registered on import: token list/revoke, user set-password; `ivr agent …`.
from ivr import cli_accounts, cli_agents  # noqa: E402, F401
from ivr.cli_holidays import holidays  # noqa: E402

main.add_command(holidays)
