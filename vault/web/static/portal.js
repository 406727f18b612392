// Progressive enhancement only: every page works without this file.
"use strict";

function focusErrorSummary() {
  // After a failed form submission, move focus to the error summary so screen readers announce it.
  const summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
}

function enableCopyButtons() {
  document.querySelectorAll("[data-copy]").forEach((button) => {
    const source = document.querySelector(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", () => {
      navigator.clipboard.writeText(source.value).then(() => { button.dataset.copied = "true"; });
    });
  });
}

function enableUploadProgress() {
  // The upload progress bar and cancel: the one enhancement that needs JavaScript.
  const form = document.querySelector("form[data-upload-progress]");
  if (!form) return;
  form.addEventListener("submit", (event) => {
    const input = form.querySelector("input[type=file]");
    if (!input || input.files.length === 0) return; // the server answers with the error summary
    event.preventDefault();
    const box = form.querySelector(".progress");
    const bar = box.querySelector("progress");
    const text = box.querySelector("[data-progress-text]");
    const cancel = form.querySelector("[data-upload-cancel]");
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", (progress) => {
      if (!progress.lengthComputable) return;
      const percent = Math.floor((progress.loaded * 100) / progress.total);
      bar.value = percent;
      bar.textContent = percent + "%";
      text.textContent = percent + "%";
      form.dataset.progressSeen = (form.dataset.progressSeen || "") + percent + " ";
    });
    request.addEventListener("load", () => {
      if (request.status < 400) {
        window.location.assign(request.responseURL);
      } else {
        document.open();
        document.write(request.responseText);
        document.close();
      }
    });
    request.addEventListener("abort", () => {
      box.hidden = true;
      cancel.hidden = true;
      text.textContent = "";
    });
    cancel.addEventListener("click", () => request.abort(), { once: true });
    box.hidden = false;
    cancel.hidden = false;
    request.send(new FormData(form));
  });
}

document.addEventListener("DOMContentLoaded", () => {
  focusErrorSummary();
  enableCopyButtons();
  enableUploadProgress();
});
