/* The console's small behaviours (no inline scripts: the pages run under a strict CSP). */
"use strict";

/* Creating a user: a 承办人员 must choose a department; say so before the form is sent. */
function requireDeptForStaff() {
  const form = document.getElementById("create-user");
  if (!form) return;
  const role = form.querySelector("select[name=role]");
  const dept = form.querySelector("select[name=dept]");
  const sync = () => { dept.required = role.value === "staff"; };
  role.addEventListener("change", sync);
  sync();
}

document.addEventListener("DOMContentLoaded", () => {
  requireDeptForStaff();
});
