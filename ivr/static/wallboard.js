/* The wallboard refreshes itself: poll the JSON and update the tiles, no page reload. */
"use strict";

function renderAlerts(box, alerts) {
  box.replaceChildren(...alerts.map((text) => {
    const p = document.createElement("p");
    p.className = "alert";
    p.textContent = text;
    return p;
  }));
}

function renderTile(d) {
  let tile = document.querySelector(`.wb-tile[data-dept="${CSS.escape(d.dept)}"]`);
  if (!tile) {
    tile = document.createElement("section");
    tile.dataset.dept = d.dept;
    tile.innerHTML = document.querySelector(".wb-tile") ? document.querySelector(".wb-tile").innerHTML : "";
    document.getElementById("wb-grid").appendChild(tile);
  }
  tile.className = `wb-tile rag-${d.rag}`;
  const name = tile.querySelector("h2");
  if (name) name.textContent = d.name;
  for (const field of ["open", "due_soon", "overdue", "reached", "rate", "rag_name", "followed", "pending"]) {
    const cell = tile.querySelector(`[data-field="${field}"]`);
    if (cell) cell.textContent = String(d[field]);
  }
  const overdue = tile.querySelector('[data-field="overdue"]');
  if (overdue) overdue.classList.toggle("late", d.overdue > 0);
}

async function refreshBoard(board) {
  try {
    const response = await fetch(board.dataset.source, { credentials: "same-origin" });
    if (!response.ok) return;
    const state = await response.json();
    document.getElementById("wb-updated").textContent = state.updated;
    renderAlerts(document.getElementById("wb-alerts"), state.alerts);
    state.departments.forEach(renderTile);
  } catch (error) {
    /* the next poll tries again */
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const board = document.getElementById("wallboard");
  if (!board) return;
  const seconds = Number(board.dataset.refresh) || 30;
  window.setInterval(() => refreshBoard(board), seconds * 1000);
});
