/* RMA case page, progressive enhancement: the plain upload form works without this.
   With it: drop a file on the documents section, watch the upload's progress, then
   follow the document's reading page by page until it is done, and refresh the
   documents and debts on the page. No inline script, no build step; the words shown
   come from the server (the JSON status route), not from this file's arithmetic. */
(function () {
  "use strict";

  var form = document.querySelector("form[data-upload]");
  if (!form || !window.XMLHttpRequest || !window.FormData || !window.fetch) {
    return;
  }
  var input = form.querySelector("input[type=file]");
  var api = form.getAttribute("data-upload");
  var csrf = form.getAttribute("data-csrf");
  var POLL_FIRST_MS = 500;
  var POLL_MOST_MS = 3000;

  var panel = document.createElement("div");
  panel.className = "upload-panel";
  var zone = document.createElement("div");
  zone.className = "drop-zone";
  zone.id = "drop-zone";
  zone.textContent = "Or drop a letter or statement here to upload it";
  var label = document.createElement("label");
  label.setAttribute("for", "upload-progress");
  label.textContent = "Upload progress";
  label.hidden = true;
  var progress = document.createElement("progress");
  progress.id = "upload-progress";
  progress.max = 100;
  progress.value = 0;
  progress.hidden = true;
  var status = document.createElement("p");
  status.id = "upload-status";
  status.setAttribute("role", "status");
  var pages = document.createElement("ul");
  pages.id = "upload-pages";
  pages.className = "plain";
  panel.appendChild(zone);
  panel.appendChild(label);
  panel.appendChild(progress);
  panel.appendChild(status);
  panel.appendChild(pages);
  form.parentNode.insertBefore(panel, form.nextSibling);

  function say(text, state) {
    status.textContent = text;
    panel.setAttribute("data-state", state || "");
  }

  function detail(xhr) {
    try {
      var body = JSON.parse(xhr.responseText);
      return body.detail || body.error || xhr.statusText;
    } catch (e) {
      return xhr.statusText || "no answer";
    }
  }

  function send(file) {
    var data = new FormData();
    data.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", api);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    label.hidden = false;
    progress.hidden = false;
    progress.value = 0;
    pages.textContent = "";
    say("Uploading " + file.name + ": 0 %", "uploading");
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) {
        progress.value = Math.round((event.loaded * 100) / event.total);
        say("Uploading " + file.name + ": " + progress.value + " %", "uploading");
      }
    });
    xhr.addEventListener("load", function () {
      if (xhr.status === 202) {
        progress.value = 100;
        var uploaded = JSON.parse(xhr.responseText);
        say("Uploaded. Document " + uploaded.id + ": waiting to be read.", "reading");
        follow(uploaded.id, POLL_FIRST_MS);
      } else {
        say("The upload was refused: " + detail(xhr), "failed");
      }
    });
    xhr.addEventListener("error", function () {
      say("The upload failed: the app could not be reached. Try again, or use the Upload button.", "failed");
    });
    xhr.send(data);
  }

  function showPages(found) {
    pages.textContent = "";
    found.page_status.forEach(function (page) {
      var item = document.createElement("li");
      item.textContent = page.message;
      if (page.low_confidence || !page.readable) {
        item.className = "low";
      }
      pages.appendChild(item);
    });
  }

  function follow(id, wait) {
    fetch(api + "/" + id + "/status", {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("the reading status answered " + response.status);
        }
        return response.json();
      })
      .then(function (found) {
        say("Document " + id + ": " + found.message + ".", found.done ? found.status : "reading");
        showPages(found);
        if (found.done) {
          refresh(id);
        } else {
          window.setTimeout(function () {
            follow(id, Math.min(wait * 2, POLL_MOST_MS));
          }, wait);
        }
      })
      .catch(function (error) {
        say("Could not follow document " + id + "'s reading (" + error.message + "): reload the page to see it.", "failed");
      });
  }

  function refresh(id) {
    fetch(window.location.pathname, { credentials: "same-origin" })
      .then(function (response) {
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["document-list", "debts"].forEach(function (part) {
          var now = document.getElementById(part);
          var next = fresh.getElementById(part);
          if (now && next) {
            now.replaceWith(document.importNode(next, true));
          }
        });
        var link = document.createElement("a");
        link.href = api.replace(/^\/cases/, "/ui/cases") + "/" + id;
        link.textContent = "Open document " + id + " to check and confirm what was read";
        status.appendChild(document.createTextNode(" "));
        status.appendChild(link);
        panel.setAttribute("data-done", String(id));
      });
  }

  form.addEventListener("submit", function (event) {
    if (input.files.length) {
      event.preventDefault();
      send(input.files[0]);
    }
  });

  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () {
      zone.classList.remove("over");
    });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    var files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length) {
      send(files[0]);
    }
  });
})();
