"""Chinese names for the workflow's codes, and plain time-left wording."""

from __future__ import annotations

from datetime import datetime

from ivr.extensions import settings

NAMES: dict[str, str] = {
    # callback states
    "open": "待回访",
    "called_back": "已回访",
    "closed": "已办结",
    "not_adopted": "不予采纳",
    "unreachable": "无法联系",
    # resolutions
    "on_the_spot": "当场解决",
    "rectify_5d": "5 日内整改",
    "rectify_15d": "15 日内整改（情况复杂）",
    "explained": "解释说明（缺乏法定依据）",
    "mistaken": "误评",
    "malicious": "恶意差评",
    # attempt results
    "reached": "已接通",
    "no_answer": "无人接听",
    "refused": "拒绝沟通",
    "wrong_number": "号码错误",
    # feedback
    "satisfied": "满意",
    "not_satisfied": "不满意",
    "not_reached": "未能反馈",
    # rating levels and sources
    "very_satisfied": "非常满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
    "very_dissatisfied": "非常不满意",
    "dtmf": "按键评价",
    "speech": "语音评价",
    "default": "系统默认（非来电人本人评价）",
    # event kinds
    "attempt": "回访尝试",
    "unreachable_event": "无法联系",
    "verdict": "核实结论",
    "approved": "主管批准",
    "rejected": "主管驳回",
    "refused_event": "操作被拒绝",
    "number_revealed": "查看完整号码",
    "overdue": "超时",
    "escalated": "超时上报",
    # what a survey rates (Call.kind)
    "hotline": "热线服务（本次来电）",
    "closure": "承办单位办理情况（办结回访）",
    "later": "补充评价来电",
    "survey_line": "评价专线来电（无待评价服务）",
    # administration
    "user_created": "创建用户",
    "user_changed": "修改用户",
    "dept_created": "创建部门",
    "dept_head_set": "设置部门负责人",
    # roles
    "staff": "承办人员",
    "supervisor": "主管",
    "admin": "管理员",
}
# The supervisors' console: call dispositions, rating categories, languages.
NAMES.update(
    {
        "rated": "已评价",
        "no_input": "未按键（未评价）",
        "hung_up": "挂机（未评价）",
        "not_served": "未接通服务",
        "in_progress": "进行中",
        "good": "好评",
        "neutral": "中评",
        "bad": "差评",
        "zh-CN": "普通话",
        "ko-KR": "韩语",
        "en-US": "英语",
        "listen": "收听录音",
        "reveal": "查看完整号码",
        "export": "导出",
    }
)
EVENT_KINDS = {"unreachable": "无法联系", "refused": "操作被拒绝", "closed": "整改办结"}

HTTP_TITLES = {
    400: "请求有误",
    403: "无权操作",
    404: "未找到",
    405: "不支持的操作",
    409: "当前状态不允许此操作",
    413: "上传内容过大",
    429: "尝试次数过多",
    500: "服务器出错",
    503: "服务暂不可用",
}
HTTP_MESSAGES = {
    400: "提交的内容不完整或有误。",
    403: "您没有权限查看或处理此回访。",
    404: "没有找到该页面或回访记录。",
    413: "上传的文件过大：单个文件不超过 10 MB，一次合计不超过 25 MB。",
    429: "登录失败次数过多，请 15 分钟后再试。",
}


def label(code: str | None, kind: str = "") -> str:
    """The Chinese name of a code (`kind="event"` for event kinds); the code if unknown."""
    if code is None:
        return "—"
    if kind == "event" and code in EVENT_KINDS:
        return EVENT_KINDS[code]
    return NAMES.get(code, code)


def local_time(value: datetime | None) -> str:
    """A time in the hotline's time zone, to the minute."""
    if value is None:
        return "—"
    return value.astimezone(settings().hotline_tz).strftime("%Y-%m-%d %H:%M")


def time_left(deadline: datetime, now: datetime) -> tuple[str, bool]:
    """("剩余 5 小时" or "已超时 3 小时", overdue?) for `deadline` seen at `now`."""
    seconds = (deadline - now).total_seconds()
    text = _span(abs(seconds))
    return (f"剩余 {text}", False) if seconds >= 0 else (f"已超时 {text}", True)


def _span(seconds: float) -> str:
    hours = int(seconds // 3600)
    if hours >= 48:
        days, rest = divmod(hours, 24)
        return f"{days} 天 {rest} 小时" if rest else f"{days} 天"
    if hours >= 1:
        return f"{hours} 小时"
    return f"{max(1, int(seconds // 60))} 分钟"
