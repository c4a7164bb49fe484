/* Assessment drafts kept on this device (see assessment-form.js) are cleared when the assessor
 * logs out and once a submitted assessment's page is shown; at logout the offline copy of the
 * form kept by the service worker (service-worker.js) goes too. Loaded on every page (CSP: a
 * static file, no inline script). */
(function () {
  "use strict";

  var PREFIX = "careapp-assessment-";
  var SHELL_CACHE_PREFIX = "careapp-shell-";

  function storage() {
    try {
      return window.localStorage;
    } catch (e) {
      return null;
    }
  }

  function clearAll() {
    var store = storage();
    if (!store) {
      return;
    }
    for (var i = store.length - 1; i >= 0; i--) {
      var key = store.key(i);
      if (key && key.indexOf(PREFIX) === 0) {
        store.removeItem(key);
      }
    }
  }

  // The offline copy of the form holds no personal data, but it belongs to this login.
  function clearOfflineCopy() {
    if (!window.caches) {
      return Promise.resolve();
    }
    return window.caches
      .keys()
      .then(function (names) {
        return Promise.all(
          names
            .filter(function (name) {
              return name.indexOf(SHELL_CACHE_PREFIX) === 0;
            })
            .map(function (name) {
              return window.caches.delete(name);
            })
        );
      })
      .catch(function () {
        return null;
      });
  }

  var done = document.querySelectorAll("[data-clear-draft]");
  Array.prototype.forEach.call(done, function (node) {
    var store = storage();
    if (store) {
      store.removeItem(node.getAttribute("data-clear-draft"));
    }
  });

  var logout = document.querySelector("form[data-logout]");
  if (!logout) {
    return;
  }
  var leaving = false;
  logout.addEventListener("submit", function (event) {
    if (leaving) {
      return;
    }
    event.preventDefault();
    var flush = window.careappFlushDraft ? window.careappFlushDraft() : Promise.resolve(true);
    flush.then(function (synced) {
      if (!synced && !window.confirm(logout.getAttribute("data-unsynced-warning") || "")) {
        return;
      }
      clearAll();
      leaving = true;
      clearOfflineCopy().then(function () {
        logout.submit();
      });
    });
  });
})();
