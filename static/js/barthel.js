/* The on-site assessment form: live total, provisional grade and progress, and a draft kept on
 * the device so that answers survive a lost connection. No inline scripts (CSP script-src 'self'):
 * points come from each radio's data-points, bands from the form's data-bands. */
(function () {
  "use strict";

  function storage() {
    try {
      return window.localStorage;
    } catch (e) {
      return null;  // storage disabled: the form still works, without drafts
    }
  }

  // The detail page of a submitted assessment clears the draft it came from.
  var done = document.querySelector("[data-clear-draft]");
  if (done && storage()) {
    storage().removeItem(done.getAttribute("data-clear-draft"));
  }

  var form = document.getElementById("assessment-form");
  if (!form) {
    return;
  }
  var bands = JSON.parse(form.getAttribute("data-bands") || "[]");
  var draftKey = form.getAttribute("data-draft-key");
  var items = Array.prototype.slice.call(form.querySelectorAll("[data-item]"));
  var textFields = ["family_member_present", "note"];

  function bandLabel(total) {
    for (var i = 0; i < bands.length; i++) {
      if (bands[i].min <= total && total <= bands[i].max) {
        return bands[i].label;
      }
    }
    return "—";
  }

  function update() {
    var answered = 0;
    var total = 0;
    var open = 0;  // the most the unanswered items could still add
    items.forEach(function (item) {
      var radios = item.querySelectorAll("input[type=radio]");
      var checked = item.querySelector("input[type=radio]:checked");
      if (checked) {
        answered += 1;
        total += parseInt(checked.getAttribute("data-points"), 10);
      } else {
        var best = 0;
        Array.prototype.forEach.call(radios, function (radio) {
          best = Math.max(best, parseInt(radio.getAttribute("data-points"), 10));
        });
        open += best;
      }
    });
    form.querySelector("[data-answered]").textContent = String(answered);
    form.querySelector("[data-total]").textContent = answered ? String(total) : "—";
    var low = bandLabel(total);
    var high = bandLabel(total + open);
    var grade = low === high ? low : low + " – " + high;
    form.querySelector("[data-grade]").textContent = answered ? grade : "—";
  }

  function saveDraft() {
    var store = storage();
    if (!store || !draftKey) {
      return;
    }
    var draft = { answers: {}, text: {} };
    Array.prototype.forEach.call(form.querySelectorAll("input[type=radio]:checked"), function (r) {
      draft.answers[r.name] = r.value;
    });
    textFields.forEach(function (name) {
      var field = form.elements[name];
      if (field) {
        draft.text[name] = field.value;
      }
    });
    store.setItem(draftKey, JSON.stringify(draft));
  }

  function restoreDraft() {
    var store = storage();
    var raw = store && draftKey ? store.getItem(draftKey) : null;
    if (!raw) {
      return;
    }
    var draft;
    try {
      draft = JSON.parse(raw);
    } catch (e) {
      return;
    }
    // What the server rendered (a re-shown form) wins over the draft.
    Object.keys(draft.answers || {}).forEach(function (name) {
      if (form.querySelector("input[type=radio][name='" + name + "']:checked")) {
        return;
      }
      var radio = form.querySelector(
        "input[type=radio][name='" + name + "'][value='" + draft.answers[name] + "']"
      );
      if (radio) {
        radio.checked = true;
      }
    });
    textFields.forEach(function (name) {
      var field = form.elements[name];
      if (field && !field.value && draft.text && draft.text[name]) {
        field.value = draft.text[name];
      }
    });
  }

  restoreDraft();
  update();
  form.addEventListener("change", function () {
    update();
    saveDraft();
  });
  form.addEventListener("input", saveDraft);
})();
