"""GET /device: the page where a signed-in person approves a device sign-in (`runyard login`).

Plain HTML and a few lines of script: the person pastes one of their tokens (kept in this
browser tab's sessionStorage only) and the code shown by `runyard login`; the page calls
POST /api/2.0/runyard/oauth/device/approve (or /deny) with that token. The UI issue will
restyle it; the API it calls is the contract.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Runyard · approve a sign-in</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 34rem; margin: 3rem auto; padding: 0 1rem; }
  label { display: block; margin-top: 1rem; font-weight: 600; }
  input { width: 100%; padding: .5rem; font: inherit; box-sizing: border-box; }
  #user_code { font-family: ui-monospace, monospace; letter-spacing: .2em; text-transform: uppercase; }
  button { margin: 1.25rem .5rem 0 0; padding: .5rem 1.25rem; font: inherit; }
  #result { margin-top: 1.25rem; min-height: 1.5rem; }
  .ok { color: #06612e; } .err { color: #a11; }
</style>
</head>
<body>
<h1>Approve a sign-in</h1>
<p>A device asked to sign in to this Runyard server as you (for example <code>runyard login</code>).
Approve it only if you started that sign-in and the code matches the one it shows.</p>
<form id="form">
  <label for="user_code">Code shown by the device</label>
  <input id="user_code" name="user_code" autocomplete="off" placeholder="WDJB-MJHT" required>
  <label for="token">Your access token (stays in this tab)</label>
  <input id="token" name="token" type="password" autocomplete="off" placeholder="ryd_pat_..." required>
  <button type="submit" id="approve">Approve</button>
  <button type="button" id="deny">Deny</button>
</form>
<p id="result" role="status"></p>
<script>
(function () {
  var code = document.getElementById("user_code");
  var token = document.getElementById("token");
  var result = document.getElementById("result");
  var given = new URLSearchParams(window.location.search).get("user_code");
  if (given) { code.value = given; }
  token.value = sessionStorage.getItem("runyard_token") || "";
  function send(action) {
    sessionStorage.setItem("runyard_token", token.value);
    result.className = ""; result.textContent = "…";
    fetch("api/2.0/runyard/oauth/device/" + action, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + token.value.trim()},
      body: JSON.stringify({user_code: code.value})
    }).then(function (r) {
      return r.json().then(function (body) { return {ok: r.ok, body: body}; });
    }).then(function (r) {
      result.className = r.ok ? "ok" : "err";
      result.textContent = r.ok
        ? (action === "approve" ? "Approved: the device is now signed in. You can close this page."
                                : "Denied: the device was refused.")
        : (r.body.message || "The request failed.");
    }).catch(function (e) { result.className = "err"; result.textContent = String(e); });
  }
  document.getElementById("form").addEventListener("submit", function (e) {
    e.preventDefault(); send("approve");
  });
  document.getElementById("deny").addEventListener("click", function () { send("deny"); });
})();
</script>
</body>
</html>
"""

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


async def device_page(_request: Request) -> HTMLResponse:
    return HTMLResponse(_PAGE, headers=_HEADERS)


__all__ = ["device_page"]
