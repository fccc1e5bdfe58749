"""Names for the codes calls carry: departments (`dept`) and agents (`agent`).

The console shows names, never codes: `Directory` is one read of both tables, made once
per request. Agents are loaded from a CSV (`code,name,dept`) by `ivr agent import` or on
the administration page, or one at a time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.access.users import DEPT_CODE_PATTERN, UserError
from storage.models import Agent, Department

MAX_IMPORT_ROWS = 20_000


@dataclass
class Directory:
    """Department and agent names by code, and each department's agents."""

    depts: dict[str, str] = field(default_factory=dict)
    agents: dict[str, str] = field(default_factory=dict)
    agent_depts: dict[str, str | None] = field(default_factory=dict)

    def dept(self, code: str | None) -> str:
        """The department's name; an unknown code is shown as it is, `—` for none."""
        if not code:
            return "—"
        return self.depts.get(code, code)

    def agent(self, code: str | None) -> str:
        """The agent's name; an unknown code is shown as it is, `—` for none."""
        if not code:
            return "—"
        return self.agents.get(code, code)

    def agents_by_dept(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """[(department name, [(agent code, agent name) …]) …] for grouped pick-lists."""
        groups: dict[str, list[tuple[str, str]]] = {}
        for code, name in sorted(self.agents.items(), key=lambda item: item[1]):
            groups.setdefault(self.dept(self.agent_depts.get(code)), []).append((code, name))
        return sorted(groups.items())

    def dept_choices(self) -> list[tuple[str, str]]:
        """[(code, name) …] ordered by name, for pick-lists."""
        return sorted(self.depts.items(), key=lambda item: item[1])


def directory(session: Session) -> Directory:
    """Every department's and agent's name (two small reads)."""
    names = Directory()
    for code, name in session.execute(select(Department.code, Department.name)):
        names.depts[code] = name
    for code, name, dept in session.execute(select(Agent.code, Agent.name, Agent.dept)):
        names.agents[code] = name
        names.agent_depts[code] = dept
    return names


def save_agent(session: Session, code: str, name: str, dept: str | None = None) -> Agent:
    """Create the agent, or rename it / move it to `dept` when the code exists."""
    code, name, dept = (code or "").strip(), (name or "").strip(), (dept or "").strip() or None
    if not DEPT_CODE_PATTERN.fullmatch(code):
        raise UserError(f"话务员工号无效（只能包含字母、数字和 _ . -）：{code[:64]}")
    if not name or len(name) > 200:
        raise UserError("请填写话务员姓名（不超过 200 字）。")
    known = select(Department.id).where(Department.code == dept)
    if dept is not None and session.scalar(known) is None:
        raise UserError(f"部门不存在：{dept}，请先创建部门。")
    agent = session.scalars(select(Agent).where(Agent.code == code)).one_or_none()
    if agent is None:
        agent = Agent(code=code, name=name, dept=dept)
        session.add(agent)
    else:
        agent.name, agent.dept = name, dept
    session.flush()
    return agent


def read_agent_csv(text: str) -> list[tuple[str, str, str | None]]:
    """Rows `code,name[,dept]` of a CSV; a header line `code,…` or `工号,…` is skipped.

    Messages are in Chinese: the console and the CLI show them as they are.
    """
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), 1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() in ("code", "agent", "工号", "话务员工号"):
            continue
        if len(cells) < 2:
            raise UserError(f"第 {number} 行：应为 工号,姓名[,部门代码]")
        rows.append((cells[0], cells[1], cells[2] if len(cells) > 2 and cells[2] else None))
        if len(rows) > MAX_IMPORT_ROWS:
            raise UserError(f"一个文件最多 {MAX_IMPORT_ROWS} 名话务员。")
    return rows


def import_agents(session: Session, rows: Iterable[tuple[str, str, str | None]]) -> int:
    """Save every row (all or nothing: the caller's transaction); how many were saved."""
    count = 0
    for number, (code, name, dept) in enumerate(rows, 1):
        try:
            save_agent(session, code, name, dept)
        except UserError as error:
            raise UserError(f"第 {number} 行：{error}") from None
        count += 1
    return count
