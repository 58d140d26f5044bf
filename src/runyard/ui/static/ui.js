// Small page helpers: copy buttons, the workspace switcher, the compare picker.
(function () {
  "use strict";
  // The mlflow client prints links in MLflow's UI shape (.../#/experiments/1/runs/<id>): follow them.
  var hash = /^#\/experiments\/(\d+)(?:\/runs\/([0-9a-f]{32}))?/.exec(window.location.hash);
  var here = /^\/(?:w\/([^/]+)\/?)?$/.exec(window.location.pathname);
  if (hash && here) {
    var base = "/w/" + (here[1] || "default");
    window.location.replace(base + (hash[2] ? "/runs/" + hash[2] : "/experiments/" + hash[1]));
    return;
  }
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-copy]");
    if (!btn) return;
    var text = btn.getAttribute("data-copy");
    var done = function () { btn.textContent = "Copied"; setTimeout(function () { btn.textContent = "Copy"; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
    } else {
      var area = document.createElement("textarea");
      area.value = text; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); done(); } catch (err) { /* nothing to do */ }
      area.remove();
    }
  });
  document.addEventListener("change", function (e) {
    if (e.target.id === "ws-switcher") { window.location.href = e.target.value; }
  });
  var form = document.getElementById("compare-form");
  if (form) {
    var button = document.getElementById("compare-button");
    var update = function () {
      var n = form.querySelectorAll("input[name=run]:checked").length;
      button.disabled = n < 2 || n > 20;
      button.textContent = n ? "Compare " + n + " runs" : "Compare selected";
    };
    form.addEventListener("change", update);
    update();
  }
})();
