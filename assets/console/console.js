// storekey admin console: copy buttons and the one-time code's countdown. Loaded as a file
// (the CSP allows no inline script); the pages work without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy"));
      if (!target || !navigator.clipboard) { return; }
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        button.textContent = "Copied";
      });
    });
  });
  document.querySelectorAll("[data-expires-in]").forEach(function (el) {
    var until = Date.now() + 1000 * parseInt(el.getAttribute("data-expires-in"), 10);
    function tick() {
      var left = Math.max(0, Math.round((until - Date.now()) / 1000));
      el.textContent = left > 0 ? left + " seconds" : "0 seconds: the code has expired";
      if (left > 0) { setTimeout(tick, 1000); }
    }
    tick();
  });
});
