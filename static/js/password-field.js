// New-password fields (data-password="new"): a meter of the characters typed against the
// policy's minimum (runs of spaces count once, as the server counts them), and on every
// password field a button that shows the password while the user checks it (ASVS V2.1.8,
// V2.1.12). Texts and the minimum come from this script tag's data attributes.
(function () {
  "use strict";
  var script = document.currentScript;
  var data = script ? script.dataset : {};
  var minimum = parseInt(data.minLength || "12", 10);

  function counted(text) {
    return Array.from(text.replace(/ {2,}/g, " ")).length;
  }

  document.querySelectorAll("input[type=password]").forEach(function (input) {
    var toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "secondary outline password-toggle";
    toggle.textContent = data.show || "Show password";
    toggle.setAttribute("aria-pressed", "false");
    toggle.addEventListener("click", function () {
      var shown = input.type === "password";
      input.type = shown ? "text" : "password";
      toggle.textContent = shown ? data.hide || "Hide password" : data.show || "Show password";
      toggle.setAttribute("aria-pressed", shown ? "true" : "false");
    });
    input.insertAdjacentElement("afterend", toggle);

    if (input.getAttribute("data-password") !== "new") {
      return;
    }
    var box = document.createElement("span");
    box.className = "password-meter";
    var meter = document.createElement("meter");
    meter.min = 0;
    meter.max = minimum;
    meter.low = minimum - 0.5;
    meter.optimum = minimum;
    meter.setAttribute("aria-label", data.meterLabel || "Characters");
    var count = document.createElement("small");
    count.setAttribute("aria-live", "polite");
    box.appendChild(meter);
    box.appendChild(count);
    toggle.insertAdjacentElement("afterend", box);

    function update() {
      var n = counted(input.value);
      meter.value = Math.min(n, minimum);
      count.textContent = (data.countText || "{n} / {min}").replace("{n}", n).replace("{min}", minimum);
    }
    input.addEventListener("input", update);
    update();
  });
})();
