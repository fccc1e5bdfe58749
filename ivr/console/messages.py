"""The catalogue's sentences: call history, callback history, audit lines and errors.

`labels.py` names codes; this module turns what the records hold (event kinds with
their English details, the workflow's English refusals, audit entries) into Chinese
lines. To add text: add the code to a table here (or to `labels.NAMES`); the test
`tests/test_console_text.py` fails on any English left on a page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ivr.console.labels import label

# A call's history (`call_events.kind`): what happened, in order.
CALL_EVENTS: dict[str, str] = {
    "survey_started": "开始满意度调查",
    "key": "来电人按键",
    "no_input": "来电人未按键",
    "rated": "评价已记录",
    "spoken_answer": "来电人语音作答（已录音）",
    "speech_result": "语音识别完成",
    "reason": "来电人说明差评原因（已录音）",
    "not_served": "未接通话务员，不进行评价",
    "caller_gone": "来电人已挂机",
    "already_rated": "已评价过，不再重复询问",
    "status": "通话状态更新",
    "hung_up_while_speaking": "来电人作答时挂机",
    "rated_by_link": "已由关联来电（帮办代办）评价",
    "later_offer": "补充评价：关联来电",
    "closure_survey_placed": "已发起办结回访",
    "survey_requested": "话务员转入满意度调查",
}
CALL_STATUS = {
    "completed": "通话结束",
    "busy": "占线",
    "no-answer": "无人接听",
    "failed": "呼叫失败",
    "canceled": "已取消",
    "in-progress": "通话中",
    "ringing": "振铃中",
}
SPEECH_RESULTS = {
    "Heard": "识别到评价",
    "NotUnderstood": "未能识别",
    "SpeechLate": "识别超时，转按键",
    "Recorded": "已录音",
}
ACTORS = {"system": "系统（定时任务）", "anonymous": "未登录用户"}
# The workflow's refusals (storage/workflow/callbacks.py, English) as staff read them.
WORKFLOW_MESSAGES: dict[str, str] = {
    "attempts are logged only while": "只有待回访状态下才能登记回访尝试。",
    "the caller has not been reached": "尚未联系上来电人，不能进行此操作。",
    "a verdict is already recorded": "已经登记过核实结论。",
    "no mistaken/malicious verdict awaits": "没有等待审批的误评或恶意差评结论。",
    "the verdict's author cannot review": "不能审批自己登记的结论。",
    "only a supervisor reviews": "只有主管可以审批结论。",
    "say why it is not genuine": "误评或恶意差评须说明理由。",
    "feedback ": "当场解决或解释说明须填写来电人反馈；其他结论不填。",
    "describe the rectification": "请填写整改情况说明。",
    "give 1 to": "请上传 1 至 20 个证明材料文件。",
    "no rectification under way": "当前没有进行中的整改。",
    "this form was submitted for another": "该表单属于另一条回访，请刷新页面。",
    "a callback of department": "此回访不属于您的部门，您无权处理。",
    "the callback is": "回访当前状态不允许此操作。",
    "result must be one of": "请选择回访结果。",
    "resolution must be one of": "请选择核实结论。",
    "evidence refused": "证明材料被拒收：",
    "unknown or inactive user": "用户不存在或已停用。",
    "the admin role does not work": "管理员不处理回访。",
    "not an administrator": "非管理员，无权管理用户和部门。",
    # Owners, reopening and 会商 (storage/workflow/callback_people.py, issue 10).
    "only a supervisor or the head assigns": "只有主管或部门负责人可以指派。",
    "choose an active staff member": "请选择本部门在岗的承办人员。",
    "the case is already assigned to this person": "该回访已由此人负责。",
    "the case is already assigned": "该回访已有负责人；如需改派，请联系部门负责人。",
    "say why the case is reassigned": "改派须说明理由。",
    "only the department's staff take": "只有本部门承办人员可以认领。",
    "only a supervisor reopens": "只有主管可以重新打开回访。",
    "say why the case is reopened": "重新打开须说明理由。",
    "name the departments consulted": (
        "选择「15 日内整改（情况复杂）」须勾选会商部门（本部门以外至少一个）。"
    ),
    "unknown department consulted": "所选会商部门不存在。",
    "departments are consulted on the 15-day": "只有「15 日内整改（情况复杂）」需要选择会商部门。",
    "not consulted on this case": "您的部门未参与此回访的会商，无权查看或填写（已记录）。",
    "write the note": "请填写会商意见。",
}
# Administration's refusals (storage/access/users.py, storage/access/admin.py).
ADMIN_MESSAGES: dict[str, str] = {
    "invalid user name": "用户名只能包含字母、数字和 _ . @ -。",
    "unknown role": "未知角色。",
    "staff belong to a department": "承办人员必须属于一个部门，请选择部门。",
    "no department": "部门不存在，请先创建部门。",
    "the password is empty": "请填写初始密码。",
    "the password is too short": "密码至少 10 个字符。",
    "the password is too long": "密码过长。",
    "the password starts or ends": "密码首尾不能有空格。",
    "user ": "用户名已存在。",
    "administrators cannot demote": "管理员不能撤销自己的管理员角色或停用自己。",
    "invalid department code": "部门代码只能包含字母、数字和 _ . -。",
    "the department needs a name": "请填写部门名称。",
    "department ": "部门代码已存在。",
    "no user": "用户不存在。",
    "only an administrator": "只有管理员可以管理用户和部门。",
}
# Audit lines (`audit_entries.action`, and the admin page's own actions).
AUDIT_ACTIONS: dict[str, str] = {
    "refused": "操作被拒绝",
    "listen": "收听录音",
    "reveal": "查看完整号码",
    "export": "导出",
    "search_phone": "按号码尾号查询",
    "user_created": "创建用户",
    "user_changed": "修改用户",
    "dept_created": "创建部门",
    "dept_head_set": "设置部门负责人",
    "agent_saved": "保存话务员",
    "agents_imported": "导入话务员",
    "user_create": "创建用户",
    "user_change": "修改用户",
    "dept_create": "创建部门",
    "dept_head": "设置部门负责人",
    "agent_save": "保存话务员",
    "agent_import": "导入话务员",
}
AUDIT_FIELDS = {
    "role": "角色",
    "dept": "部门",
    "active": "启用",
    "name": "名称",
    "head": "负责人",
    "reason": "原因",
    "action": "操作",
    "format": "格式",
    "rows": "行数",
    "count": "人数",
    "period": "期间",
    "call_id": "来电",
}
TARGET_KINDS = {"user": "用户", "dept": "部门", "call": "来电", "agent": "话务员"}


def translate(text: str | None, table: Mapping[str, str] = WORKFLOW_MESSAGES) -> str:
    """An English message of the workflow in Chinese (by its opening words); `—` if none."""
    if not text:
        return ""
    for start, chinese in table.items():
        if text.startswith(start):
            if chinese.endswith("："):
                rest = text.split(":", 1)[-1].strip()
                return chinese + (rest if not _english(rest) else "文件类型或大小不符合要求。")
            return chinese
    return text if not _english(text) else "（系统说明）"


def _english(text: str) -> bool:
    return bool(re.search(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}", text))


def call_event_text(kind: str, detail: str | None) -> str:
    """A line of a call's history: `来电人按键：1`, `评价已记录：不满意（按键评价）`."""
    title = CALL_EVENTS.get(kind, label(kind))
    shown = _call_event_detail(kind, detail)
    return f"{title}：{shown}" if shown else title


def _call_event_detail(kind: str, detail: str | None) -> str:
    if not detail:
        return ""
    if kind == "key":
        return detail.strip("'\"")
    if kind == "rated":
        match = re.fullmatch(r"(\w+) \((\w+)\)", detail)
        return f"{label(match[1])}（{label(match[2])}）" if match else ""
    if kind == "status":
        return CALL_STATUS.get(detail, "")
    if kind in ("not_served", "caller_gone"):
        return CALL_STATUS.get(detail.split("=", 1)[-1], "")
    if kind == "speech_result":
        return SPEECH_RESULTS.get(detail, "")
    if kind == "already_rated" and detail.startswith("ignored "):
        return f"忽略再次评价（{label(detail.split(' ', 1)[1])}）"
    return ""  # recording sids, call sids, token names: not for reading


def actor(name: str | None) -> str:
    """Who did it: a user name, or `系统（定时任务）` for the sweep."""
    return ACTORS.get(name or "", name or "—")


def audit_line(action: str, detail: Any, names: Any) -> str:
    """An audit entry's detail as a Chinese sentence (codes as names)."""
    if not isinstance(detail, dict):
        return ""
    if "from" in detail and "to" in detail:
        before, after = detail["from"], detail["to"]
        if isinstance(before, dict) or isinstance(after, dict):
            return f"由 {_fields(before, names)} 改为 {_fields(after, names)}"
        return f"由 {before or '无'} 改为 {after or '无'}"
    if action == "refused" and "reason" in detail:
        what = AUDIT_ACTIONS.get(str(detail.get("action", "")), "")
        reason = translate(str(detail["reason"]), {**ADMIN_MESSAGES, **WORKFLOW_MESSAGES})
        return f"{what}：{reason}" if what else reason
    if action == "refused":
        return "无权访问该页面"
    return _fields(detail, names)


def _fields(values: Any, names: Any) -> str:
    if not isinstance(values, dict):
        return ""
    parts = []
    for key, value in values.items():
        if key not in AUDIT_FIELDS:
            continue
        if key == "dept":
            shown = names.dept(value) if value else "无"
        elif key == "role":
            shown = label(value)
        elif isinstance(value, bool):
            shown = "是" if value else "否"
        else:
            shown = "无" if value is None else str(value)
        parts.append(f"{AUDIT_FIELDS[key]} {shown}")
    return "，".join(parts)


def audit_target(target: str, names: Any) -> str:
    """`dept:D-housing` → `部门 住房保障局`; `user:wang` → `用户 wang`."""
    kind, _, code = target.partition(":")
    if kind == "dept":
        return f"部门 {names.dept(code)}"
    if kind == "agent":
        return f"话务员 {names.agent(code)}"
    if kind in TARGET_KINDS:
        return f"{TARGET_KINDS[kind]} {code}"
    return target
