"""What the two sampling pages share (抽查 of callbacks, 监督查评 of raters): the list of
recent samples, and drawing one as the posted form asks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ivr.console.auth import current_user
from ivr.console.figures import read_period
from ivr.extensions import db_sessions
from storage.db import transaction
from storage.reports.call_search import FIRST_DAY, LAST_DAY
from storage.reports.figures import Period
from storage.workflow.spotchecks import SampleSize

LIST_LIMIT = 100
BAD_PERIOD = "请填写有效的开始和结束日期。"


def list_page(
    template: str,
    model: Any,
    summarise: Callable[[Any], Any],
    period: Period | None = None,
    error: str | None = None,
    status: int = 200,
    **more: Callable[[Session], Any],
) -> tuple[str, int]:
    """The newest samples of `model` (with their items) and the draw form, as a page;
    the period is the query's unless given; `more` names further template values, each
    read from the database session."""
    if period is None:
        period, _ = read_period(request.args)
    with db_sessions()() as db:
        checks = db.scalars(
            select(model)
            .options(selectinload(model.items))
            .order_by(model.id.desc())
            .limit(LIST_LIMIT)
        ).all()
        html = render_template(
            template,
            checks=[(check, summarise(check)) for check in checks],
            period=period,
            error=error,
            form=request.form,
            **{name: read(db) for name, read in more.items()},
        )
    return html, status


def form_period(form: Mapping[str, str]) -> Period | None:
    """The draw form's period, or None when a date is missing, not a date, or outside the
    years a call can have (as the figures' period)."""
    try:
        period = Period(date.fromisoformat(form["date_from"]), date.fromisoformat(form["date_to"]))
    except (KeyError, ValueError):
        return None
    return period if period.start >= FIRST_DAY and period.end <= LAST_DAY else None


def sample_size(form: Mapping[str, str], error: type[Exception]) -> SampleSize:
    """The draw form's `rate` (a share, from a percentage) or `count`, and its `seed`;
    a value that is not a number raises `error` with a message for the user."""

    def number(raw: str | None, kind: type) -> Any:
        try:
            return kind(raw) if raw not in (None, "") else None
        except ValueError:
            raise error(f"不是有效的数字：{str(raw)[:20]}") from None

    by_rate = form.get("mode") == "rate"
    percent = number(form.get("rate"), float) if by_rate else None
    return SampleSize(
        rate=None if percent is None else percent / 100,
        count=None if by_rate else number(form.get("count"), int),
        seed=number(form.get("seed"), int),
    )


def draw_from_form(
    draw: Callable[..., Any],
    error: type[Exception],
    page: Callable[[Period, str | None, int], Any],
    endpoint: str,
    message: str,
    **choices: Any,
) -> Any:
    """Draw a sample as the posted form asks (`choices` are further arguments of `draw`)
    and show it with `message` (formatted with its size and seed); a bad date, number or
    request shows the list `page` again with the reason (400)."""
    user = current_user()
    assert user is not None
    period = form_period(request.form)
    if period is None:
        return page(read_period({})[0], BAD_PERIOD, 400)
    try:
        size = sample_size(request.form, error)
        with transaction(db_sessions()) as db:
            check = draw(db, user, period, size, **choices)
            check_id, drawn, seed = check.id, len(check.items), check.seed
    except error as problem:
        return page(period, str(problem), 400)
    flash(message.format(size=drawn, seed=seed))
    return redirect(url_for(endpoint, check_id=check_id))
