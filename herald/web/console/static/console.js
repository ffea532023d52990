// Herald console: small enhancements over pages that work without it.
// - forms with data-confirm ask before they post (revoke, delete);
// - the template editor re-renders its preview while you type, through the console's preview
//   route (the same service as POST /v1/templates/{id}/preview);
// - buttons with data-copy copy a secret shown once.

const DEBOUNCE_MS = 250;

function confirmations() {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
}

function livePreview(form) {
  const target = document.getElementById(form.dataset.previewTarget);
  const status = document.getElementById(form.dataset.previewStatus);
  const csrf = form.querySelector("input[name=csrf]").value;
  let timer = 0;
  let latest = 0;
  let inFlight = null;

  async function refresh() {
    const sequence = ++latest;
    if (inFlight) inFlight.abort();
    inFlight = new AbortController();
    target.setAttribute("aria-busy", "true");
    status.textContent = "Updating the preview…";
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "X-CSRF-Token": csrf, "X-Console-Fragment": "1" },
        credentials: "same-origin",
        signal: inFlight.signal,
      });
      const html = await response.text();
      if (sequence !== latest) return; // a newer edit is on its way
      target.querySelector(".preview-body").innerHTML = html;
      status.textContent = response.ok ? "Preview up to date." : "The preview shows a problem.";
    } catch (error) {
      if (error.name !== "AbortError") status.textContent = "The preview could not be updated.";
    } finally {
      if (sequence === latest) target.removeAttribute("aria-busy");
    }
  }

  form.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, DEBOUNCE_MS);
  });
  // Without this script the preview button posts the form to render it; with it, it is live.
  for (const button of form.querySelectorAll("[data-preview-button]")) button.hidden = true;
}

function copyButtons() {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copy).textContent.trim();
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    });
  }
}

confirmations();
copyButtons();
for (const form of document.querySelectorAll("form[data-preview-url]")) livePreview(form);
