// After a refused submit the page comes back with its errors: put the focus on the first field
// in error (marked aria-invalid by templates/_macros/forms.html), so that keyboard and screen
// reader users land on it and hear its error (aria-describedby), instead of the page top.
(function () {
  "use strict";
  var first = document.querySelector("main [aria-invalid='true']");
  if (!first) {
    return;
  }
  if (first.tagName === "FIELDSET") {
    first = first.querySelector("input, select, textarea") || first;
  }
  if (!first.matches("input, select, textarea, button, [tabindex]")) {
    first.setAttribute("tabindex", "-1");
  }
  first.focus();
  if (first.scrollIntoView) {
    first.scrollIntoView({ block: "center" });
  }
})();
