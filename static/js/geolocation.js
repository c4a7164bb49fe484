// Fills the hidden lat/lon fields of forms marked data-geolocate from the phone's position.
// When the position is unavailable, the "reason" field (data-geo-fallback) is shown.
// Without JavaScript the reason field is simply always shown. No inline scripts (CSP).
(function () {
  "use strict";

  var GIVE_UP_MS = 20000; // also covers a permission prompt the caregiver never answers

  function locate(form) {
    var fallback = form.querySelector("[data-geo-fallback]");
    var status = form.querySelector("[data-geo-status]");
    var lat = form.querySelector("input[name='lat']");
    var lon = form.querySelector("input[name='lon']");
    var hasError = fallback && fallback.querySelector("[aria-invalid='true']");
    var pending = true;
    var submitAfter = false;

    function say(message) {
      if (status && message) { status.textContent = message; }
    }

    function done(ok) {
      if (!pending) { return; }
      pending = false;
      if (fallback) { fallback.hidden = ok && !hasError; }
      say(ok ? form.dataset.msgFound : form.dataset.msgFailed);
      if (!submitAfter) { return; }
      if (ok || !fallback) {
        if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      } else {
        var input = fallback.querySelector("input, textarea");
        if (input) { input.focus(); }
      }
    }

    // A tap on the button while the phone is still locating waits for the answer.
    form.addEventListener("submit", function (event) {
      if (pending) {
        event.preventDefault();
        submitAfter = true;
      }
    });

    if (!lat || !lon || !("geolocation" in navigator)) { done(false); return; }
    if (fallback && !hasError) { fallback.hidden = true; }
    say(form.dataset.msgLocating);
    window.setTimeout(function () { done(false); }, GIVE_UP_MS);
    navigator.geolocation.getCurrentPosition(
      function (position) {
        lat.value = position.coords.latitude.toFixed(6);
        lon.value = position.coords.longitude.toFixed(6);
        done(true);
      },
      function () { done(false); },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-geolocate]").forEach(locate);
  });
})();
