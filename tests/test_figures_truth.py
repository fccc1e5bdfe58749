"""Figures that tell the truth: zero days kept, dated weeks, rankings with a minimum
sample, 主动评价率 over served calls, the five levels, drill-down links, definitions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from storage.types import utcnow
from tests.console_helpers import login
from tests.console_seed import seed_console
from tests.figures_check import expected_counts

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def seeded(app, sessions):
    return seed_console(sessions, calls=1500)


def test_every_day_is_on_the_axis_and_bars_lead_to_the_calls(client, seeded):
    login(client, "li")
    today = utcnow().date()
    start = today - timedelta(days=45)  # 15 days before the first seeded call
    page = client.get(f"/console/figures?date_from={start}&date_to={today}").get_data(as_text=True)
    bars = re.findall(r'<a href="(/console/calls\?[^"]+)"><rect class="bar"', page)
    assert len(bars) == 46  # one per day, days without calls included
    assert f"date_from={start}&amp;date_to={start}" in bars[0]
    assert "评价数</text>" in page  # the count axis is labelled


def test_weeks_are_dated_and_rankings_need_a_sample(client, seeded):
    login(client, "li")
    today = utcnow().date()
    weeks = client.get(f"/console/figures?group=week&date_from={today - timedelta(days=60)}")
    text = weeks.get_data(as_text=True)
    assert re.search(r"\d\d-\d\d 至 \d\d-\d\d", text)
    assert not re.search(r">[^<]*\d{4}-W\d\d", text)  # no ISO week shown
    agents = client.get(f"/console/figures?group=agent&date_from={today - timedelta(days=40)}")
    text = agents.get_data(as_text=True)
    assert "评价不少于 30 条才参与排名" in text and "样本不足（评价少于 30 条）" in text
    ranked = text.split("样本不足")[0]
    rated = [int(n) for n in re.findall(r'data-figure="rated">(\d+)<', ranked)]
    assert rated and min(rated) >= 30
    assert "/console/agents/A" in text  # each agent opens their scorecard


def test_active_rate_is_over_served_calls_and_defined_on_the_page(client, seeded, sessions):
    login(client, "li")
    today = utcnow().date()
    start = today - timedelta(days=40)
    counts = expected_counts(sessions, start, today, key=lambda call: "all")["all"]
    page = client.get(f"/console/figures?date_from={start}&date_to={today}").get_data(as_text=True)
    shown = re.search(r'data-figure="active_rate">([\d.]+)%<', page).group(1)
    assert float(shown) == round(counts["active"] / counts["served"] * 100, 1)
    assert "来电人主动给出的评价（按键或语音）÷ 服务数" in page
    for level, name in (("very_satisfied", "非常满意"), ("very_dissatisfied", "非常不满意")):
        assert re.search(
            rf'data-level="{level}".*?{name}</a></th>\s*<td class="num">{counts[level]} 条',
            page,
            re.S,
        )
    assert "环比" in page and "同比" in page


def test_an_agent_scorecard(client, seeded):
    login(client, "li")
    page = client.get("/console/agents/A0101").get_data(as_text=True)
    assert "话务员评价卡" in page and "五级评价分布" in page and "引起的差评回访" in page
    assert "A0101" not in re.sub(r'href="[^"]*"', "", page.split("<main>")[1])
