// The import page's upload progress: htmx reports how much of the file has travelled;
// the form's <progress> shows it until the answer arrives.
(() => {
  const progressOf = (event) => event.target.closest?.("#import-form")?.querySelector(".upload-progress");
  document.addEventListener("htmx:xhr:loadstart", (event) => {
    const box = progressOf(event);
    if (!box) return;
    box.hidden = false;
    // The last attempt's refusal no longer applies to the file now travelling.
    box.closest("form").querySelectorAll(".field-error").forEach((error) => { error.hidden = true; });
  });
  document.addEventListener("htmx:xhr:progress", (event) => {
    const box = progressOf(event);
    if (!box || !event.detail.lengthComputable) return;
    const bar = box.querySelector("progress");
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
    box.querySelector("label").textContent =
      bar.value < 100 ? `Uploading… ${bar.value}%` : "Checking the rows…";
  });
})();
