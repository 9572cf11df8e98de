// Waybill's few behaviours in the browser, bound by data attributes: pages carry no inline script, so the
// Content-Security-Policy can refuse every script that is not one of these files.
(function () {
  "use strict";

  // <input type="checkbox" data-disables="tracking_number">: that field of the form is off while checked.
  function applyDisables(box) {
    var field = box.form && box.form.elements[box.getAttribute("data-disables")];
    if (field) field.disabled = box.checked;
  }

  // <select data-kind-switch>: only elements whose data-kind is the chosen value are shown. With
  // data-prepaid-box="id", that checkbox follows the chosen option's data-prepaid ("yes", "no", "maybe").
  function applyKind(select, changed) {
    document.querySelectorAll("[data-kind]").forEach(function (el) {
      el.hidden = el.getAttribute("data-kind") !== select.value;
    });
    var boxId = select.getAttribute("data-prepaid-box");
    var prepaid = boxId && document.getElementById(boxId);
    if (!prepaid) return;
    var wallet = select.options[select.selectedIndex].getAttribute("data-prepaid");
    prepaid.disabled = wallet === "no";
    if (wallet === "no") prepaid.checked = false;
    else if (changed && select.hasAttribute("data-new")) prepaid.checked = wallet === "yes";
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-disables]")) applyDisables(target);
    if (target.matches("[data-kind-switch]")) applyKind(target, true);
  });

  function init(root) {
    root.querySelectorAll("[data-kind-switch]").forEach(function (select) { applyKind(select, false); });
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
