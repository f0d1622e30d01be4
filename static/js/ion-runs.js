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
