// ion-runs: the little behaviour htmx does not cover. Served as a file, never inline, so the
// Content-Security-Policy can refuse every inline script.

// A typed value and a ticked Auto-generated box contradict each other: typing unticks
// the box, emptying the field ticks it again, and ticking it clears what was typed.
// Listening on the document keeps this working for rows htmx swaps in later.
(() => {
  const pair = (el) => el.closest(".typed-or-auto");
  document.addEventListener("input", (event) => {
    const row = pair(event.target);
    if (row && event.target.type === "text") {
      row.querySelector("input[type=checkbox]").checked = event.target.value.trim() === "";
    }
  });
  document.addEventListener("change", (event) => {
    const row = pair(event.target);
    if (row && event.target.type === "checkbox" && event.target.checked) {
      row.querySelector("input[type=text]").value = "";
    }
  });
})();

// Enter in a picker's search box searches, and picks the only match, instead of submitting
// the step: the browser's implicit submission would post the step with nothing picked,
// wiping the query. The box's hx-trigger includes "search", which fetches at once (and
// cancels the typing delay). A picker is a search box in a field with .picker-results.
(() => {
  const resultsOf = (input) => input.closest(".field")?.querySelector(".picker-results");
  const searchBoxOf = (results) => results.closest(".field")?.querySelector("input[type=search]");
  // Search box → the query Enter was pressed on, until the planner types again.
  const pickOnly = new WeakMap();

  document.addEventListener("keydown", (event) => {
    const input = event.target;
    if (event.key !== "Enter" || event.isComposing || !(input instanceof HTMLInputElement)) return;
    if (input.type !== "search" || !resultsOf(input)) return;
    event.preventDefault();
    pickOnly.set(input, input.value);
    input.dispatchEvent(new Event("search"));
  });
  document.addEventListener("input", (event) => pickOnly.delete(event.target));

  // After settling, so htmx has wired up the new radios (a part's radio loads its procedures).
  document.addEventListener("htmx:afterSettle", (event) => {
    const results = event.detail.target;
    if (!results?.matches?.(".picker-results")) return;
    const input = searchBoxOf(results);
    if (!input || !pickOnly.has(input) || !event.detail.xhr?.responseURL) return;
    // Only the answer to the query Enter was pressed on: an earlier answer may arrive first.
    const query = new URL(event.detail.xhr.responseURL).searchParams.get("q");
    if (query !== pickOnly.get(input) || query !== input.value) return;
    const choices = results.querySelectorAll("input[type=radio]");
    if (choices.length === 1 && !choices[0].checked) {
      choices[0].checked = true;
      choices[0].dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
})();

// Focus goes where the planner's next action is. A wizard step (the element marked
// data-focus-first) opens on the first field a failed submit refused, else on its first field
// (data-focus-first="refused": only a refused one); after a Review row swap the server names
// the element (the "ion-focus" event).
(() => {
  const FIELDS = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";
  const shown = (el) => el.getClientRects().length > 0;
  const firstField = (root) => {
    const field = [...root.querySelectorAll(FIELDS)].find(shown);
    if (field?.type === "radio") {
      // A radio group is entered at its checked choice, as the arrow keys expect.
      const group = root.querySelectorAll(`input[type=radio][name="${CSS.escape(field.name)}"]`);
      return [...group].find((radio) => radio.checked && shown(radio)) || field;
    }
    return field;
  };
  document.addEventListener("DOMContentLoaded", () => {
    const step = document.querySelector("[data-focus-first]");
    if (!step) return;
    const refused = [...step.querySelectorAll(".has-error")].map(firstField).find(Boolean);
    const first = step.dataset.focusFirst === "refused" ? null : firstField(step);
    (refused || first)?.focus();
  });
  document.addEventListener("ion-focus", (event) => {
    const target = document.querySelector(event.detail.selector);
    target?.focus();
    target?.scrollIntoView({ block: "nearest" });
  });
})();

// Escape in a Review row being edited cancels the edit, as its Cancel button does (which
// fetches the row again). Not while a date picker or a select's list is open: Escape closes those.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || event.defaultPrevented || event.isComposing) return;
  const cancel = event.target.closest?.(".review-row")?.querySelector(".row-edit-cancel");
  if (!cancel) return;
  event.preventDefault();
  cancel.click();
});

// A Copy button puts the field it names (data-copy) on the clipboard and says so in its status
// (data-copy-status). Hidden until here: without a script, or where the browser keeps the
// clipboard from the page (plain HTTP), it could do nothing.
(() => {
  document.addEventListener("DOMContentLoaded", () => {
    if (!navigator.clipboard) return;
    for (const button of document.querySelectorAll("button[data-copy]")) button.hidden = false;
  });
  document.addEventListener("click", async (event) => {
    const button = event.target.closest?.("button[data-copy]");
    if (!button) return;
    const field = document.getElementById(button.dataset.copy);
    const status = document.getElementById(button.dataset.copyStatus);
    try {
      await navigator.clipboard.writeText(field.value);
      status.textContent = "Copied";
    } catch {
      field.select();
      status.textContent = "Could not copy: the token is selected, press Ctrl+C or ⌘C.";
    }
  });
})();

// Copies says how many rows Duplicate will add, as the number changes.
document.addEventListener("input", (event) => {
  const copies = event.target;
  if (!copies.matches?.(".copies input")) return;
  const result = copies.form?.querySelector(".copies-result");
  if (!result) return;
  const count = Number.parseInt(copies.value, 10);
  result.textContent = count > 0 ? `adds ${count} row${count === 1 ? "" : "s"}` : "";
});

// A picker's list says it scrolls while more choices are hidden below.
(() => {
  const mark = (list) =>
    list.toggleAttribute("data-more-below", list.scrollTop + list.clientHeight < list.scrollHeight - 2);
  const markAll = () => document.querySelectorAll(".picker-results").forEach(mark);
  document.addEventListener("DOMContentLoaded", markAll);
  document.addEventListener("htmx:afterSettle", markAll);
  document.addEventListener("scroll", (event) => event.target.matches?.(".picker-results") && mark(event.target), true);
})();

// Review numbers its rows with a CSS counter, which renumbers them as rows are duplicated or
// removed; on a later page it starts after the rows of the pages before. Set here, through
// the CSSOM, because the Content-Security-Policy refuses inline style attributes.
document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table.review-rows[data-first-row]")) {
    table.style.counterReset = `row ${Number(table.dataset.firstRow) - 1}`;
  }
});
