// Print batch page: poll the batch's status every second until it is done or failed.
(function () {
  "use strict";
  var root = document.getElementById("print-batch");
  if (!root) { return; }
  var bar = document.getElementById("print-batch-progress");
  var message = document.getElementById("print-batch-message");
  var error = document.getElementById("print-batch-error");
  var download = document.getElementById("print-batch-download");
  var restart = document.getElementById("print-batch-restart");
  var FINAL = ["done", "failed", "abandoned"];

  function show(state) {
    bar.value = state.percent;
    message.textContent = state.message;
    if (state.error) { error.textContent = state.error; error.hidden = false; }
    if (state.download_url) { download.href = state.download_url; download.hidden = false; }
    // An abandoned batch (its process stopped) waits for an administrator to restart it.
    if (restart) { restart.hidden = state.status !== "abandoned"; }
    return FINAL.indexOf(state.status) !== -1;
  }

  function poll() {
    fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (state) { if (!show(state)) { window.setTimeout(poll, 1000); } })
      .catch(function () { window.setTimeout(poll, 3000); });
  }

  if (FINAL.indexOf(root.dataset.status) === -1) { poll(); }
})();
