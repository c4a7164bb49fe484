/* The on-site assessment form (any instrument): live progress, total, indicator levels and
 * provisional grade; answers saved on the device and on the server as the assessor goes.
 *
 * No inline scripts (CSP script-src 'self'): the instrument, its grading rules, the server draft
 * and the texts come from the <script type="application/json" id="assessment-data"> block.
 *
 * The device keeps ONLY the application number and what the assessor entered on the form: the
 * item answers and the texts (each item's note, the family member present, the overall note),
 * each with the revision it was based on and whether it still has to reach the server, under
 * careapp-assessment-<id>: no name, no ID number, no assessor. It is cleared once the assessment
 * is submitted and at logout (device-drafts.js).
 *
 * Each change carries the revision of the field it was based on; the server merges per field and
 * reports a change the other assessor made meanwhile to the same field, which is shown on its
 * card and adopted (the assessor can choose again to replace it).
 *
 * Offline reload: the page registers the service worker (/sw.js, static/js/service-worker.js).
 * When /applications/<id>/assessment cannot be fetched, it answers with the OFFLINE COPY of the
 * form (data.shell: the instrument only, no application, no name, no CSRF token of its own).
 * Here the copy takes the application number from the address, restores that application's
 * answers from the device and keeps saving there; submission waits. When the network returns
 * it fetches the draft (with a fresh CSRF token), sends what is unsent, and opens the real form.
 */
(function () {
  "use strict";

  var PREFIX = "careapp-assessment-";
  var STALE_MS = 14 * 24 * 3600 * 1000;
  var POLL_MS = 15000;
  var MAX_BACKOFF_MS = 30000;

  var dataNode = document.getElementById("assessment-data");
  var form = document.getElementById("assessment-form");
  if (!dataNode || !form) {
    return;
  }
  var data = JSON.parse(dataNode.textContent);
  var instrument = data.instrument;
  var messages = data.messages || {};
  var shell = Boolean(data.shell);
  if (shell) {
    // The offline copy: which application it stands for is in the address only.
    var address = /^(.*\/applications\/(\d+)\/assessment)\/?$/.exec(window.location.pathname);
    data.application = address ? parseInt(address[2], 10) : null;
    data.draftUrl = address ? address[1] + "/draft" : null;
    var heading = document.querySelector("[data-shell-heading]");
    if (heading && address) {
      heading.textContent = (messages.application || "#%(number)s").replace(
        "%(number)s",
        address[2]
      );
      document.title = heading.textContent + " · careapp";
    }
  }
  var drafting = Boolean(data.draftUrl);
  var storeKey = PREFIX + data.application;
  var csrfField = form.elements.csrf_token;
  // The offline copy's token is as old as the copy: a fresh one comes with the draft.
  var csrfToken = csrfField && !shell ? csrfField.value : "";
  var statusNode = form.querySelector("[data-sync-status]");

  // --- device storage --------------------------------------------------------------------

  function storage() {
    try {
      return window.localStorage;
    } catch (e) {
      return null; // storage disabled: the server draft still works
    }
  }

  function readDevice() {
    var store = storage();
    var raw = store ? store.getItem(storeKey) : null;
    if (!raw) {
      return null;
    }
    try {
      var parsed = JSON.parse(raw);
      return parsed && parsed.application === data.application ? parsed : null;
    } catch (e) {
      return null;
    }
  }

  function writeDevice() {
    var store = storage();
    if (!store || !drafting) {
      return;
    }
    var answers = {};
    instrument.items.forEach(function (item) {
      var entry = local["item:" + item.code];
      if (entry && (entry.value !== null || entry.dirty)) {
        answers[item.code] = { points: entry.value, base: entry.base, dirty: entry.dirty };
      }
    });
    var notes = {};
    fieldKeys.forEach(function (key) {
      var entry = local[key];
      if (key.indexOf("item:") !== 0 && entry && (entry.value || entry.dirty)) {
        notes[key] = { text: entry.value || "", base: entry.base, dirty: entry.dirty };
      }
    });
    var record = {
      application: data.application,
      saved: Date.now(),
      answers: answers,
      notes: notes,
    };
    try {
      store.setItem(storeKey, JSON.stringify(record));
    } catch (e) {
      /* storage full: the server draft still holds what reached it */
    }
  }

  function clearDevice() {
    var store = storage();
    if (store) {
      store.removeItem(storeKey);
    }
  }

  function hasUnsynced(record) {
    var dirty = function (kept) {
      return Object.keys(kept || {}).some(function (key) {
        return kept[key] && kept[key].dirty;
      });
    };
    return dirty(record.answers) || dirty(record.notes);
  }

  // Drafts of other applications: drop the ones the server already has, and very old ones.
  function clearStaleDrafts() {
    var store = storage();
    if (!store) {
      return;
    }
    for (var i = store.length - 1; i >= 0; i--) {
      var key = store.key(i);
      if (!key || key.indexOf(PREFIX) !== 0 || key === storeKey) {
        continue;
      }
      var record = null;
      try {
        record = JSON.parse(store.getItem(key));
      } catch (e) {
        record = null;
      }
      if (!record || !hasUnsynced(record) || Date.now() - (record.saved || 0) > STALE_MS) {
        store.removeItem(key);
      }
    }
  }

  // --- fields ----------------------------------------------------------------------------

  // field key -> {value, base (the server revision it is based on), dirty (not yet on the server)}
  var local = {};
  var fieldKeys = [];
  instrument.items.forEach(function (item) {
    fieldKeys.push("item:" + item.code, "note:" + item.code);
  });
  fieldKeys.push("family_member_present", "note");

  function textElement(key) {
    if (key.indexOf("note:") === 0) {
      return form.elements[key.slice(5) + "__note"];
    }
    return form.elements[key];
  }

  function readElement(key) {
    if (key.indexOf("item:") === 0) {
      var checked = form.querySelector(
        "input[type=radio][name='" + key.slice(5) + "']:checked"
      );
      return checked ? parseInt(checked.value, 10) : null;
    }
    var element = textElement(key);
    return element ? element.value : "";
  }

  function writeElement(key, value) {
    if (key.indexOf("item:") === 0) {
      var radios = form.querySelectorAll("input[type=radio][name='" + key.slice(5) + "']");
      Array.prototype.forEach.call(radios, function (radio) {
        radio.checked = value !== null && parseInt(radio.value, 10) === value;
      });
      return;
    }
    var element = textElement(key);
    if (element && element.value !== (value || "")) {
      element.value = value || "";
    }
    var details = element && value ? element.closest("details") : null;
    if (details) {
      details.open = true; // a restored or adopted item note is shown
    }
  }

  function keyOf(element) {
    if (!element || !element.name) {
      return null;
    }
    if (element.type === "radio") {
      return "item:" + element.name;
    }
    if (/__note$/.test(element.name)) {
      return "note:" + element.name.replace(/__note$/, "");
    }
    return fieldKeys.indexOf(element.name) >= 0 ? element.name : null;
  }

  // --- live total, levels and grade ------------------------------------------------------

  function optionLabel(code, points) {
    var item = instrument.items.filter(function (i) {
      return i.code === code;
    })[0];
    var option = item && item.options.filter(function (o) {
      return o.points === points;
    })[0];
    return option ? option.label : messages.notAnswered || "—";
  }

  function rangeOf(items) {
    var low = 0;
    var high = 0;
    var answered = 0;
    items.forEach(function (item) {
      var value = readElement("item:" + item.code);
      var points = item.options.map(function (o) {
        return o.points;
      });
      if (value !== null) {
        answered += 1;
        low += value;
        high += value;
      } else {
        low += Math.min.apply(null, points);
        high += Math.max.apply(null, points);
      }
    });
    return { low: low, high: high, answered: answered, count: items.length };
  }

  function bandOf(bands, total) {
    for (var i = 0; i < bands.length; i++) {
      if (bands[i].min <= total && total <= bands[i].max) {
        return bands[i];
      }
    }
    return null;
  }

  function span(worst, best) {
    var a = worst ? worst.label : "—";
    var b = best ? best.label : "—";
    return a === b ? a : a + " – " + b;
  }

  function gradeByCombination(rules, levelOf) {
    var order = rules.levels.map(function (level) {
      return level.code;
    });
    var row = order.indexOf(levelOf[rules.row]);
    var column = Math.max.apply(
      null,
      rules.columns.map(function (code) {
        return order.indexOf(levelOf[code]);
      })
    );
    var code = rules.table[row][column];
    return rules.grades.filter(function (g) {
      return g.code === code;
    })[0];
  }

  function update() {
    var all = rangeOf(instrument.items);
    var answeredNode = form.querySelector("[data-answered]");
    answeredNode.textContent = String(all.answered);
    form.querySelector("[data-progress]").value = all.answered;
    form.querySelector("[data-total]").textContent = all.answered ? String(all.low) : "—";
    var rules = instrument.grading;
    var grade = "—";
    if (rules.kind === "bands") {
      grade = span(bandOf(rules.bands, all.low), bandOf(rules.bands, all.high));
    } else if (rules.kind === "combination") {
      var worst = {};
      var best = {};
      var parts = [];
      rules.indicators.forEach(function (indicator) {
        var r = rangeOf(
          instrument.items.filter(function (i) {
            return i.indicator === indicator.code;
          })
        );
        var low = bandOf(indicator.bands, r.low);
        var high = bandOf(indicator.bands, r.high);
        worst[indicator.code] = low && low.level;
        best[indicator.code] = high && high.level;
        var levelText = span(low, high);
        parts.push(
          indicator.label + " " + (r.answered ? String(r.low) : "—") + "/" + r.high +
            " · " + levelText
        );
      });
      grade = span(gradeByCombination(rules, worst), gradeByCombination(rules, best));
      var node = form.querySelector("[data-indicators]");
      node.textContent = "";
      parts.forEach(function (text) {
        var line = document.createElement("span");
        line.textContent = text;
        line.setAttribute("data-indicator-line", "");
        node.appendChild(line);
      });
    }
    form.querySelector("[data-grade]").textContent = all.answered ? grade : "—";
  }

  // --- syncing with the server draft -----------------------------------------------------

  var revision = 0;
  var inflight = false;
  var stopped = false;
  var backoff = 1000;
  var retryTimer = null;
  var syncTimer = null;

  function showStatus(text, kind) {
    if (statusNode) {
      statusNode.textContent = text || "";
      statusNode.setAttribute("data-state", kind || "");
    }
  }

  function dirtyKeys() {
    return Object.keys(local).filter(function (key) {
      return local[key].dirty;
    });
  }

  function setRevision(value) {
    revision = value;
    if (form.elements.draft_revision) {
      form.elements.draft_revision.value = String(value);
    }
  }

  function showConflict(field, conflict) {
    var card = form.querySelector("[data-item='" + field.slice(field.indexOf(":") + 1) + "']");
    var node = card && card.querySelector("[data-conflict]");
    if (!node) {
      showStatus(conflict, "conflict");
      return;
    }
    node.textContent = conflict;
    node.hidden = false;
  }

  function describe(field, value) {
    if (field.indexOf("item:") === 0) {
      return value === null ? messages.notAnswered : optionLabel(field.slice(5), value);
    }
    return value || "";
  }

  function conflictText(field, name, theirs, yours) {
    return (messages.conflict || "")
      .replace("%(name)s", name)
      .replace("%(theirs)s", describe(field, theirs))
      .replace("%(yours)s", describe(field, yours));
  }

  // Take the server's state for every field without an unsent local change.
  function adopt(state) {
    Object.keys(state.entries || {}).forEach(function (key) {
      var entry = state.entries[key];
      var mine = local[key];
      if (mine && mine.dirty) {
        return;
      }
      local[key] = { value: entry.value, base: entry.rev, dirty: false };
      writeElement(key, entry.value);
    });
    (state.conflicts || []).forEach(function (conflict) {
      local[conflict.field] = { value: conflict.theirs, base: conflict.rev, dirty: false };
      writeElement(conflict.field, conflict.theirs);
      showConflict(
        conflict.field,
        conflictText(conflict.field, conflict.by, conflict.theirs, conflict.yours)
      );
    });
    setRevision(state.revision || 0);
    update();
    writeDevice();
  }

  function stop(text, url, keepDevice) {
    stopped = true;
    if (!keepDevice) {
      clearDevice(); // submitted: nothing left to keep
    }
    showStatus(text, "stopped");
    if (url && statusNode) {
      var link = document.createElement("a");
      link.href = url;
      link.textContent = " →";
      statusNode.appendChild(link);
    }
  }

  function retryLater() {
    showStatus(navigator.onLine ? messages.retry : messages.offline, "pending");
    if (retryTimer || stopped) {
      return;
    }
    retryTimer = window.setTimeout(function () {
      retryTimer = null;
      if (shell) {
        reconnect();
      } else {
        sync();
      }
    }, backoff);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }

  function request(method, body) {
    return window.fetch(data.draftUrl, {
      method: method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": csrfToken,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
  }

  // The answer to a draft request: true when handled, false to retry later.
  function handle(response, sent) {
    var type = response.headers.get("Content-Type") || "";
    if (response.redirected || type.indexOf("application/json") < 0) {
      stop(messages.loggedOut, null, true); // kept until the assessor logs in again
      return Promise.resolve(true);
    }
    return response.json().then(function (body) {
      if (body.csrf_token) {
        csrfToken = body.csrf_token;
        if (csrfField) {
          csrfField.value = csrfToken;
        }
      }
      if (response.ok) {
        Object.keys(sent).forEach(function (key) {
          if (local[key] && local[key].value === sent[key].value) {
            local[key].dirty = false;
          }
        });
        adopt(body);
        backoff = 1000;
        showStatus(dirtyKeys().length ? messages.saving : messages.saved, "saved");
        return true;
      }
      if (response.status === 409 && body.assessment_url) {
        stop(body.error, body.assessment_url);
        return true;
      }
      if (response.status === 400 || response.status === 403 || response.status === 404) {
        // Refused for good (bad input, no longer this assessor's): do not resend it.
        Object.keys(sent).forEach(function (key) {
          if (local[key]) {
            local[key].dirty = false;
          }
        });
        writeDevice();
        showStatus(body.error, "error");
        return true;
      }
      return false; // 409 of a simultaneous first save, 429, 5xx: try again
    });
  }

  function sync() {
    if (!drafting || stopped || inflight) {
      return;
    }
    if (shell && !csrfToken) {
      reconnect();
      return;
    }
    var keys = dirtyKeys();
    if (!keys.length) {
      return;
    }
    if (!navigator.onLine) {
      retryLater();
      return;
    }
    var sent = {};
    keys.forEach(function (key) {
      sent[key] = { value: local[key].value, base_rev: local[key].base };
    });
    inflight = true;
    showStatus(messages.saving, "saving");
    request("PUT", { changes: sent })
      .then(function (response) {
        return handle(response, sent);
      })
      .catch(function () {
        return false;
      })
      .then(function (handled) {
        inflight = false;
        if (!handled) {
          retryLater();
        } else if (dirtyKeys().length) {
          scheduleSync(0);
        } else if (shell) {
          reconnect();
        }
      });
  }

  // The offline copy, once the network is back: fetch the draft (and a CSRF token), send what
  // is unsent, then open the real form page (the answers are on the server by then).
  function reconnect() {
    if (!shell || !drafting || stopped || inflight) {
      return;
    }
    if (!navigator.onLine) {
      retryLater();
      return;
    }
    if (csrfToken && dirtyKeys().length) {
      sync();
      return;
    }
    showStatus(messages.shellReconnecting, "saving");
    if (csrfToken) {
      window.location.reload();
      return;
    }
    inflight = true;
    request("GET")
      .then(function (response) {
        return handle(response, {});
      })
      .catch(function () {
        return false;
      })
      .then(function (handled) {
        inflight = false;
        if (!handled) {
          retryLater();
        } else if (csrfToken) {
          reconnect();
        }
      });
  }

  function scheduleSync(delay) {
    window.clearTimeout(syncTimer);
    syncTimer = window.setTimeout(sync, delay);
  }

  function poll() {
    if (!drafting || shell || stopped || inflight || dirtyKeys().length || !navigator.onLine) {
      return;
    }
    inflight = true;
    request("GET")
      .then(function (response) {
        return handle(response, {});
      })
      .catch(function () {
        return true; // a missed poll is simply the next one
      })
      .then(function () {
        inflight = false;
      });
  }

  // For the logout button (device-drafts.js): send what is unsent, then let it clear the device.
  window.careappFlushDraft = function () {
    return new Promise(function (resolve) {
      sync();
      var started = Date.now();
      (function wait() {
        if (!dirtyKeys().length || stopped || Date.now() - started > 3000) {
          resolve(dirtyKeys().length === 0);
        } else {
          window.setTimeout(wait, 100);
        }
      })();
    });
  };

  // --- start -----------------------------------------------------------------------------

  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  var posted = form.hasAttribute("data-posted");
  if (!posted && form.elements.idempotency_key && window.crypto) {
    // One key per submission attempt: a double tap or a resent request carries the same one.
    form.elements.idempotency_key.value = newKey();
  }

  if (drafting) {
    clearStaleDrafts();
    var rendered = {};
    fieldKeys.forEach(function (key) {
      rendered[key] = readElement(key);
    });
    var device = readDevice(); // before adopting the server draft rewrites it
    adopt(data.draft || { entries: {}, revision: 0 });
    if (device) {
      // The real page has the server draft; the offline copy has only what the device kept.
      Object.keys(device.answers || {}).forEach(function (code) {
        var saved = device.answers[code];
        var key = "item:" + code;
        if ((saved.dirty || shell) && fieldKeys.indexOf(key) >= 0) {
          local[key] = { value: saved.points, base: saved.base, dirty: Boolean(saved.dirty) };
          writeElement(key, saved.points);
        }
      });
      Object.keys(device.notes || {}).forEach(function (key) {
        var saved = device.notes[key];
        if (
          saved &&
          (saved.dirty || shell) &&
          fieldKeys.indexOf(key) >= 0 &&
          key.indexOf("item:") !== 0 &&
          typeof saved.text === "string"
        ) {
          local[key] = { value: saved.text, base: saved.base, dirty: Boolean(saved.dirty) };
          writeElement(key, saved.text);
        }
      });
    }
    if (posted) {
      // A form shown again after a refused submission: what was posted is the latest, except
      // where the other assessor's answer differs (shown as a conflict, not overwritten).
      var serverEntries = (data.draft && data.draft.entries) || {};
      fieldKeys.forEach(function (key) {
        var value = rendered[key];
        var entry = local[key] || { value: null, base: 0, dirty: false };
        if (value === null || value === "" || value === entry.value) {
          return;
        }
        var theirs = serverEntries[key];
        if (theirs && !theirs.mine) {
          showConflict(key, conflictText(key, theirs.by, theirs.value, value));
          return;
        }
        local[key] = { value: value, base: entry.base, dirty: true };
        writeElement(key, value);
      });
    }
    writeDevice();
    update();
    sync();
    window.setInterval(poll, POLL_MS);
    window.addEventListener("online", function () {
      backoff = 1000;
      window.clearTimeout(retryTimer);
      retryTimer = null;
      if (shell) {
        reconnect();
      } else {
        sync();
      }
    });
    registerServiceWorker();
    window.addEventListener("offline", function () {
      showStatus(messages.offline, "pending");
    });
  } else {
    update();
  }

  // So that a reload without network shows the offline copy (see static/js/service-worker.js).
  function registerServiceWorker() {
    if (!data.serviceWorkerUrl || !("serviceWorker" in navigator) || !window.isSecureContext) {
      return;
    }
    navigator.serviceWorker
      .register(data.serviceWorkerUrl, { scope: data.serviceWorkerScope || "/" })
      .then(function () {
        return navigator.serviceWorker.ready;
      })
      .then(function () {
        form.setAttribute("data-offline-ready", "");
      })
      .catch(function () {
        /* offline or refused: the form works as before, without the offline copy */
      });
  }

  function changed(event) {
    var key = keyOf(event.target);
    if (!key) {
      return;
    }
    var value = readElement(key);
    var entry = local[key] || { value: null, base: 0, dirty: false };
    local[key] = { value: value, base: entry.base, dirty: true };
    var card = event.target.closest("[data-item]");
    var conflict = card && card.querySelector("[data-conflict]");
    if (conflict && key.indexOf("item:") === 0) {
      conflict.hidden = true;
    }
    update();
    if (drafting && !stopped) {
      writeDevice();
      showStatus(navigator.onLine ? messages.saving : messages.offline, "pending");
      scheduleSync(key.indexOf("item:") === 0 ? 150 : 800);
    }
  }

  form.addEventListener("change", changed);
  form.addEventListener("input", function (event) {
    if (event.target.type !== "radio") {
      changed(event);
    }
  });

  var submitting = false;
  form.addEventListener("submit", function (event) {
    if (shell || !navigator.onLine) {
      event.preventDefault();
      showStatus(messages.offlineSubmit, "pending");
      return;
    }
    if (submitting) {
      event.preventDefault(); // a double tap: the first request is on its way
      return;
    }
    submitting = true;
    form.setAttribute("aria-busy", "true");
    window.setTimeout(function () {
      submitting = false; // no answer after a while: let the assessor retry (same key)
      form.removeAttribute("aria-busy");
    }, 15000);
  });
})();
