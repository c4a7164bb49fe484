/* The service worker (served as /sw.js, scope "/"): lets the assessment form be reloaded offline.
 *
 * It keeps, in Cache Storage, only what carries no personal data:
 *   - the static files (CSS, scripts, the font's CSS and the font slices as they are fetched);
 *   - the OFFLINE COPY of the form (/assessment-shell): the instrument in force, its grading
 *     rules and the texts, with no application, name, ID number, address or draft in it.
 * A navigation to /applications/<id>/assessment goes to the network; only when the network
 * fails is the offline copy shown, and its script restores the answers kept on the device
 * (localStorage, answers only) for the application number in the address. The real form page,
 * the drafts (JSON) and every other page are never stored here: everything is network-first
 * and only the two kinds above are ever put in a cache. Logging out deletes the offline copy
 * (static/js/device-drafts.js).
 */
/* eslint-env serviceworker */
(function () {
  "use strict";

  var STATIC_CACHE = "careapp-static-v1";
  var SHELL_CACHE = "careapp-shell-v1";
  var SCOPE = self.registration.scope; // ends with "/"
  var SHELL_URL = new URL("assessment-shell", SCOPE).href;
  var STATIC_PATH = new URL("static/", SCOPE).pathname;
  var FORM_PATH = /\/applications\/\d+\/assessment$/;
  var ASSETS = [
    "static/vendor/noto-sans-sc/400.css",
    "static/vendor/pico/pico.min.css",
    "static/css/app.css",
    "static/js/device-drafts.js",
    "static/js/assessment-form.js",
  ].map(function (path) {
    return new URL(path, SCOPE).href;
  });

  // The offline copy, fetched afresh (the instrument in force and the language may change).
  // Stored only when it really is the copy: not a login page a lapsed session was sent to.
  function refreshShell() {
    return fetch(SHELL_URL, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || response.redirected || type.indexOf("text/html") !== 0) {
          return null;
        }
        return caches.open(SHELL_CACHE).then(function (cache) {
          return cache.put(SHELL_URL, response);
        });
      })
      .catch(function () {
        return null; // offline now: the copy kept so far stays
      });
  }

  function cacheAssets() {
    return caches.open(STATIC_CACHE).then(function (cache) {
      return Promise.all(
        ASSETS.map(function (url) {
          return cache.match(url).then(function (found) {
            return found || cache.add(url).catch(function () {
              return null;
            });
          });
        })
      );
    });
  }

  self.addEventListener("install", function (event) {
    event.waitUntil(
      Promise.all([cacheAssets(), refreshShell()]).then(function () {
        return self.skipWaiting();
      })
    );
  });

  self.addEventListener("activate", function (event) {
    var kept = [STATIC_CACHE, SHELL_CACHE];
    event.waitUntil(
      caches
        .keys()
        .then(function (names) {
          return Promise.all(
            names
              .filter(function (name) {
                return name.indexOf("careapp-") === 0 && kept.indexOf(name) < 0;
              })
              .map(function (name) {
                return caches.delete(name);
              })
          );
        })
        .then(function () {
          return self.clients.claim();
        })
    );
  });

  // The form page itself: always from the network (it names the person, it is never stored);
  // the offline copy only when the network fails.
  function formNavigation(event) {
    return fetch(event.request).then(
      function (response) {
        if (response.ok) {
          event.waitUntil(Promise.all([refreshShell(), cacheAssets()]));
        }
        return response;
      },
      function (error) {
        return caches.match(SHELL_URL, { cacheName: SHELL_CACHE }).then(function (shell) {
          if (!shell) {
            throw error;
          }
          return shell;
        });
      }
    );
  }

  // Static files: the network first (kept up to date in the cache), the cache when offline.
  function staticFile(request) {
    return fetch(request).then(
      function (response) {
        if (response.ok && response.type === "basic") {
          var copy = response.clone();
          caches.open(STATIC_CACHE).then(function (cache) {
            return cache.put(request, copy);
          });
        }
        return response;
      },
      function (error) {
        return caches.match(request, { cacheName: STATIC_CACHE }).then(function (found) {
          if (!found) {
            throw error;
          }
          return found;
        });
      }
    );
  }

  self.addEventListener("fetch", function (event) {
    var request = event.request;
    if (request.method !== "GET") {
      return;
    }
    var url = new URL(request.url);
    if (url.origin !== self.location.origin) {
      return;
    }
    if (request.mode === "navigate" && FORM_PATH.test(url.pathname)) {
      event.respondWith(formNavigation(event));
    } else if (url.pathname.indexOf(STATIC_PATH) === 0 && !url.search) {
      event.respondWith(staticFile(request));
    }
    // Anything else: not handled here, the browser goes to the network as usual.
  });
})();
