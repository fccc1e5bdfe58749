"""Spot checks (reproducible samples, scoring), exports (CSV, XLSX) and the public summary."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from storage.models import AuditEntry, Callback, SpotCheck, SpotCheckItem
from storage.reports.figures import Period
from storage.seed import SeedPlan, seed_calls
from storage.workflow.spotchecks import (
    CHECKLIST,
    SpotCheckError,
    population,
    sample_ids,
    sample_size,
)
from tests.console_helpers import csrf, login, make_people
from tests.figures_check import TZ
from tests.supervisor_helpers import keyed_call, spoken_call

pytestmark = pytest.mark.usefixtures("fast_hashing")
START = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture
def seeded(app, sessions):
    make_people(sessions)
    seed_calls(sessions, SeedPlan(calls=1500, start=START, days=30, seed=3))
    return sessions


def draw(client, **form):
    token = csrf(client, "/console/spot-checks")
    data = {"csrf_token": token, "date_from": "2026-11-01", "date_to": "2026-11-30"} | form
    return client.post("/console/spot-checks", data=data)


def sampled(sessions, check_id: int) -> list[int]:
    with sessions() as session:
        statement = select(SpotCheckItem.callback_id).where(SpotCheckItem.spot_check_id == check_id)
        return sorted(session.scalars(statement))


def test_population_is_the_callbacks_finished_in_the_period(seeded):
    with seeded() as session:
        ids = population(session, NOVEMBER, "D03")
        expected = [
            cb.id
            for cb in session.scalars(select(Callback).order_by(Callback.id))
            if cb.state in ("closed", "not_adopted")
            and cb.dept == "D03"
            and NOVEMBER.start <= cb.closed_at.astimezone(TZ).date() <= NOVEMBER.end
        ]
    assert ids == expected and len(ids) > 5


def test_sample_sizes_and_reproducibility():
    assert sample_size(200, 0.05, None) == 10 and sample_size(7, 0.01, None) == 1
    assert sample_size(5, None, 20) == 5
    for rate, count in ((None, None), (0.1, 3), (1.5, None), (None, 0)):
        with pytest.raises(SpotCheckError):
            sample_size(100, rate, count)
    ids = list(range(1, 500))
    assert sample_ids(ids, 12, 42) == sample_ids(ids, 12, 42) != sample_ids(ids, 12, 43)


def test_a_sample_is_drawn_redrawn_from_its_seed_and_scored(client, seeded):
    login(client, "li")
    response = draw(client, mode="rate", rate="10", dept="")
    assert response.status_code == 302
    first_id = int(response.location.rsplit("/", 1)[1])
    with seeded() as session:
        check = session.get(SpotCheck, first_id)
        seed, size = check.seed, check.population
    first = sampled(seeded, first_id)
    assert len(first) == -(-size // 10)  # 10 %, rounded up
    again = draw(client, mode="rate", rate="10", seed=str(seed))
    assert sampled(seeded, int(again.location.rsplit("/", 1)[1])) == first
    page = client.get(f"/console/spot-checks/{first_id}").get_data(as_text=True)
    assert f">{seed}<" in page and f"从 {size} 条中抽取 {len(first)} 条" in page
    item_id = int(re.search(r'id="item-(\d+)"', page).group(1))
    url = f"/console/spot-checks/{first_id}/items/{item_id}"
    token = csrf(client, f"/console/spot-checks/{first_id}")
    form = {"csrf_token": token, "callback_in_time": "yes", "verdict_grounded": "yes"}
    refused = client.post(url, data=form)
    assert refused.status_code == 400 and "请逐项作答" in refused.get_data(as_text=True)
    form |= {"rectified": "no", "evidence": "no", "fed_back": "no"}
    form |= {f"reason_{code}": "复核录音后判断" for code, _ in CHECKLIST}
    refused = client.post(url, data=form).get_data(as_text=True)
    assert "有不合格项时，请写明发现的问题" in refused
    assert 'value="no" checked' in refused  # the answers given are kept
    form["finding"] = "未上传整改照片"
    page = client.post(url, data=form, follow_redirects=True).get_data(as_text=True)
    assert "评分已保存" in page and "已评分 1/" in page and "合格 0" in page
    assert "证明材料齐全、可核验 1" in page and "未上传整改照片" in page
    with seeded() as session:
        item = session.get(SpotCheckItem, item_id)
        assert item.passed is False and item.scores["callback_in_time"] is True
        assert item.scored_by_name == "li"
    exported = client.get(f"/console/spot-checks/{first_id}.xlsx")
    rows = list(load_workbook(io.BytesIO(exported.data)).active.values)
    assert rows[0][5:10] == (
        "48 小时内回访到来电人",
        "核实结论有据、分类正确",
        "整改落实或解释说明到位",
        "证明材料齐全、可核验",
        "处理结果已反馈来电人",
    )
    scored = [row for row in rows[1:] if row[10] != "未评"]
    assert len(rows) == len(first) + 1 and [row[1] for row in rows[1:]] == first
    assert len(scored) == 1 and scored[0][5:11] == (
        "合格",
        "合格",
        "不合格",
        "不合格",
        "不合格",
        "不合格",
    )
    assert scored[0][11:] == ("未上传整改照片", "li")
    csv = client.get(f"/console/spot-checks/{first_id}.csv").data.decode("utf-8")
    assert csv.startswith("\ufeff序号,回访编号") and "未上传整改照片" in csv


def test_draw_with_nothing_to_sample_says_so(client, seeded):
    login(client, "li")
    response = draw(client, mode="count", count="5", date_from="2001-01-01", date_to="2001-01-02")
    assert response.status_code == 400
    assert "没有已办结的回访可供抽查" in response.get_data(as_text=True)


def test_exports_mask_numbers_and_read_back(client, app, sessions):
    make_people(sessions)
    spoken_call(sessions, "CA1")
    keyed_call(sessions, "CA2", "very_satisfied")
    login(client, "li")
    csv = client.get("/console/export/calls.csv", query_string={"category": "bad"})
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.data.decode("utf-8")
    assert text.startswith("\ufeff编号,通话编号") and "138****5678" in text
    assert "13812345678" not in text and "CA2" not in text
    xlsx = client.get("/console/export/calls.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.values)
    assert rows[0][0] == "编号" and len(rows) == 3
    assert {r[1] for r in rows[1:]} == {"CA1", "CA2"} and {r[6] for r in rows[1:]} == {
        "138****5678",
        "139****1111",
    }
    today = datetime.now(UTC).astimezone(TZ).date()
    args = {"date_from": (today - timedelta(days=1)).isoformat(), "date_to": today.isoformat()}
    report = client.get("/console/export/report.xlsx", query_string=args)
    book = load_workbook(io.BytesIO(report.data))
    assert book.sheetnames == ["汇总", "按部门", "按话务员", "按日"]
    total = list(book["汇总"].values)[1]
    assert total[1:4] == (2, 2, 1.0) and total[4] == 0.5  # calls, rated, 主动, 好评
    assert book["汇总"]["D2"].number_format == "0.0%"  # a number, shown as a percentage
    with sessions() as session:
        exports = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
    assert [e.target for e in exports] == ["calls", "calls", "report"]


def test_public_summary_needs_no_login_and_shows_no_personal_data(client, app, sessions):
    make_people(sessions)
    spoken_call(sessions, "CA1", agent="A-secret")
    page = client.get("/console/public/summary").get_data(as_text=True)
    assert "12345 热线好差评公开汇总" in page and "住房保障局" in page and "D-housing" not in page
    assert "5678" not in page and "A-secret" not in page and "CA1" not in page


def test_chosen_cases_are_published_without_personal_data(client, app, sessions):
    make_people(sessions)
    bad, _ = spoken_call(sessions, "CA1")
    good = keyed_call(sessions, "CA2", "very_satisfied")
    neutral = keyed_call(sessions, "CA3", "basically_satisfied")
    login(client, "li")

    def choose(call_id: int, **form):
        token = csrf(client, f"/console/calls/{call_id}")
        return client.post(f"/console/calls/{call_id}/case", data={"csrf_token": token} | form)

    leaked = choose(bad, title="路灯维修", summary="来电人 13812345678 反映路灯不亮")
    assert leaked.status_code == 400
    assert "不得包含电话号码" in leaked.get_data(as_text=True)
    assert choose(bad, title="路灯一月未修", summary="整改后已于三日内修复。").status_code == 302
    assert choose(good, title="耐心解答社保问题", summary="话务员耐心细致。").status_code == 302
    assert 'id="public-case"' not in client.get(f"/console/calls/{neutral}").get_data(as_text=True)
    public = app.test_client().get("/console/public/summary").get_data(as_text=True)
    assert public.index("耐心解答社保问题") < public.index("路灯一月未修")  # good cases first
    assert "好评案例" in public and "差评案例及整改" in public and "5678" not in public
    assert choose(good, withdraw="1").status_code == 302
    public = app.test_client().get("/console/public/summary").get_data(as_text=True)
    assert "耐心解答社保问题" not in public and "路灯一月未修" in public


def test_an_answer_against_the_record_needs_a_reason(client, app, sessions):
    from tests.console_seed import seed_console

    ids = seed_console(sessions, calls=200)
    login(client, "li")
    with sessions() as session:
        check = session.get(SpotCheck, ids["spot_check"])
        item = check.items[0]
        from storage.models import Callback
        from storage.workflow.spotcheck_facts import facts

        record = facts(session.get(Callback, item.callback_id))
        item_id = item.id
    page = client.get(f"/console/spot-checks/{ids['spot_check']}").get_data(as_text=True)
    assert "checked" not in page.split(f'id="item-{item_id}"')[1].split("</section>")[0]
    assert record["callback_in_time"].text in page  # the fact from the record is shown
    answers = {code: "yes" if record[code].answer is not False else "no" for code, _ in CHECKLIST}
    flipped = "yes" if answers["callback_in_time"] == "no" else "no"
    form = {"csrf_token": csrf(client, "/console/spot-checks"), "finding": "复核"}
    url = f"/console/spot-checks/{ids['spot_check']}/items/{item_id}"
    refused = client.post(url, data=form | answers | {"callback_in_time": flipped})
    assert refused.status_code == 400 and "与记录不一致，请写明理由" in refused.get_data(
        as_text=True
    )
    reason = {"reason_callback_in_time": "录音显示当天已联系"}
    done = client.post(url, data=form | answers | {"callback_in_time": flipped} | reason)
    assert done.status_code == 302
    with sessions() as session:
        item = session.get(SpotCheckItem, item_id)
        assert item.overrides == {
            "callback_in_time": {
                "fact": record["callback_in_time"].answer,
                "reason": "录音显示当天已联系",
            }
        }
