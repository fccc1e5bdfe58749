"""`ivr holidays …`: the State Council's yearly holiday notice (storage/workflow/holidays.py)."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from storage.db import transaction


@click.group()
def holidays() -> None:
    """Public holidays and make-up working days (国务院节假日安排通知)."""


@holidays.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def holidays_import(path: Path) -> None:
    """Import one year's notice from FILE (TOML) and recount open working-day deadlines."""
    from storage.types import utcnow
    from storage.workflow.deadline_recompute import recompute_open_deadlines
    from storage.workflow.holidays import NoticeError, import_notice, parse_notice
    from workers.context import session_factory

    try:
        notice = parse_notice(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise click.ClickException("文件不是 UTF-8 编码") from None
    except NoticeError as error:
        raise click.ClickException(f"未导入：{error}") from None
    try:
        with transaction(session_factory()) as session:
            report = import_notice(session, notice, f"cli:{getpass.getuser()}")
    except NoticeError as error:
        raise click.ClickException(f"未导入：{error}") from None
    recount = recompute_open_deadlines(session_factory(), utcnow())
    again = "（替换此前导入的同年安排）" if report.replaced else ""
    click.echo(
        f"已导入 {report.year} 年节假日安排{again}：放假 {report.days_off} 天，"
        f"调休上班 {report.make_up_days} 天；重新计算整改期限 {recount.changed} 件"
        f"（共检查 {recount.examined} 件按工作日计算的未结案件）。",
        err=True,
    )


@holidays.command("status")
def holidays_status() -> None:
    """Print the covered range and whether next year's notice is due."""
    from storage.types import utcnow
    from storage.workflow.deadlines import hotline_tz
    from storage.workflow.holidays import coverage
    from workers.context import session_factory

    with session_factory()() as session:
        cover = coverage(session, utcnow().astimezone(hotline_tz()).date())
    imported = "、".join(map(str, cover.imported)) or "无"
    click.echo(f"节假日安排覆盖 {cover.first} 至 {cover.last}（导入的年份：{imported}）")
    if cover.warn:
        click.echo(f"还剩 {cover.days_left} 天到期：请导入下一年的国务院节假日安排通知。")
