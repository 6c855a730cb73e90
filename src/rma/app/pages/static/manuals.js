// Upload a manual with progress.
//
// The form still posts without this script. With it, the same form is sent by
// XMLHttpRequest, so the bar shows the upload as it goes; then, while the RAG service
// reads, chunks and indexes the manual, the bar says so (it cannot count that part),
// and the page the server answers with (the list with the ingest's result, or the error)
// replaces this one's main content.
"use strict";

(function () {
  function bind() {
    const form = document.getElementById("manual-upload");
    if (!form || !window.XMLHttpRequest || !window.DOMParser) return;
    const box = document.getElementById("upload-progress");
    const bar = document.getElementById("upload-bar");
    const label = document.getElementById("upload-label");
    const button = form.querySelector("button[type=submit]");

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!form.reportValidity()) return;
      const request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.responseType = "document";
      box.hidden = false;
      button.disabled = true;
      bar.value = 0;
      label.textContent = "Uploading: 0%";
      request.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        const done = Math.round((100 * e.loaded) / e.total);
        bar.value = done;
        label.textContent = `Uploading: ${done}%`;
      });
      request.upload.addEventListener("load", function () {
        bar.removeAttribute("value"); // indeterminate: the reading cannot be counted
        label.textContent = "Uploaded. Reading and indexing the manual (a long manual takes minutes)…";
      });
      request.addEventListener("load", function () {
        const main = request.response && request.response.querySelector("main");
        if (!main) {
          label.textContent = `The upload failed (${request.status}). Reload the page and try again.`;
          button.disabled = false;
          return;
        }
        document.querySelector("main").replaceWith(main);
        document.title = request.response.title;
        const result = document.getElementById("ingest-result") || main.querySelector(".notice, h1");
        if (result) {
          result.setAttribute("tabindex", "-1");
          result.focus();
        }
        bind();
      });
      request.addEventListener("error", function () {
        label.textContent = "The upload could not be sent. Check the connection and try again.";
        button.disabled = false;
      });
      request.send(new FormData(form));
    });
  }
  bind();
})();
