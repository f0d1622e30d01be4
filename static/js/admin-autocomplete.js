// The admin's autocomplete boxes (Select2, for autocomplete_fields) name neither their search
// box nor, in a multiple choice, keep their list of choices a list: screen readers hear an
// unnamed "search" (axe: label, critical) and a stray "×" among the choices (axe: list).
// Select2 rebuilds these parts on every change, so they are mended whenever the page changes.
"use strict";

(function () {
  function fieldLabel(select) {
    const label = select && select.id && document.querySelector(`label[for="${select.id}"]`);
    return label ? label.textContent.replace(/:\s*$/, "").trim() : "";
  }

  // The <select> a search box serves: the inline box sits in the container after the select;
  // a dropdown's box, appended to <body>, names the select's results list while open.
  function selectOf(input) {
    const container = input.closest(".select2-container");
    const before = container && container.previousElementSibling;
    if (before && before.tagName === "SELECT") return before;
    const results = input.getAttribute("aria-controls") || "";
    const match = results.match(/^select2-(.+)-results$/);
    return match && document.getElementById(match[1]);
  }

  function mend() {
    for (const input of document.querySelectorAll(".select2-search__field")) {
      const label = fieldLabel(selectOf(input));
      if (label && input.getAttribute("aria-label") !== `Search ${label}`) {
        input.setAttribute("aria-label", `Search ${label}`);
      }
    }
    // "Remove all" is a mouse shortcut inside the list of choices; each choice keeps its own
    // remove, and Backspace in the search box removes the last.
    for (const clear of document.querySelectorAll(".select2-selection__clear:not([aria-hidden])")) {
      clear.setAttribute("aria-hidden", "true");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    mend();
    new MutationObserver(mend).observe(document.body, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ["aria-controls"],
    });
  });
})();
