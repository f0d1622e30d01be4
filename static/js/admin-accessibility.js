// Mends the admin's own markup where screen readers meet it unnamed (axe: serious, critical):
// - autocomplete boxes (Select2, for autocomplete_fields) name neither their search box nor,
//   empty, their single choice; in a multiple choice the list of choices holds a stray "×";
// - the two-list pickers (filter_horizontal) label their filter boxes with an icon carrying
//   an aria-label that a plain <span> may not have.
// Select2 and the pickers build these parts after the page loads and rebuild them on every
// change, so they are mended whenever the page changes.
"use strict";

(function () {
  function labelOf(select) {
    return select && select.id && document.querySelector(`label[for="${CSS.escape(select.id)}"]`);
  }

  function fieldLabel(select) {
    const label = labelOf(select);
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

  // A <label> named by id, so a box can be labelled by it together with its current choice.
  function labelId(select) {
    const label = labelOf(select);
    if (!label) return "";
    label.id = label.id || `${select.id}-label`;
    return label.id;
  }

  function mend() {
    // An empty single choice is named by its (blank) choice alone: add the field's label.
    for (const box of document.querySelectorAll(".select2-selection--single[aria-labelledby]")) {
      const container = box.closest(".select2-container");
      const select = container && container.previousElementSibling;
      const label = select && select.tagName === "SELECT" && labelId(select);
      const choice = box.querySelector(".select2-selection__rendered");
      if (!label || !choice) continue;
      const named = `${label} ${choice.id}`;
      if (box.getAttribute("aria-labelledby") !== named) box.setAttribute("aria-labelledby", named);
      if (choice.getAttribute("aria-labelledby") !== named) choice.setAttribute("aria-labelledby", named);
    }
    // The picker's search icon is an image with a description, and says so.
    for (const icon of document.querySelectorAll(".help-tooltip[aria-label]:not([role])")) {
      icon.setAttribute("role", "img");
    }
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
