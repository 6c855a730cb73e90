// Ask the manuals with the answer streamed as it is written.
//
// The form still posts without this script. With it, the question goes to the form's
// data-stream URL (fetch, so it can POST with the CSRF token; EventSource cannot) and the
// server-sent events are read as they arrive: "sources" says what was found, each "delta"
// adds to a draft marked as not yet checked, and "rendered" (the final answer as the
// server renders it) REPLACES the draft, so a reply the service could not check never
// stays on screen. "error" says what went wrong. If the stream cannot start, the form is
// posted the plain way, so the server's own page says why.
"use strict";

(function () {
  const form = document.getElementById("ask-form");
  if (!form || !window.fetch || !window.ReadableStream || !window.TextDecoder) return;
  const area = document.getElementById("answer-area");
  const status = document.getElementById("ask-status");
  const button = form.querySelector("button[type=submit]");
  let busy = false;

  function draft() {
    const section = document.createElement("section");
    section.className = "answer draft";
    section.id = "answer-section";
    section.setAttribute("aria-labelledby", "answer-h");
    section.setAttribute("aria-busy", "true");
    const heading = document.createElement("h2");
    heading.id = "answer-h";
    heading.textContent = "Answer (being written)";
    const notice = document.createElement("p");
    notice.className = "notice";
    notice.textContent = "Being written: not yet checked against the manuals. " +
      "The checked answer replaces this when it is ready.";
    const text = document.createElement("p");
    text.className = "answer-text";
    section.append(heading, notice, text);
    area.replaceChildren(section);
    return text;
  }

  function problem(message) {
    const p = document.createElement("p");
    p.className = "notice error";
    p.setAttribute("role", "alert");
    p.textContent = message;
    area.replaceChildren(p);
    status.textContent = "";
  }

  // One event of the stream: "event: name" and "data: ..." lines (sse-starlette's framing).
  function parse(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (!data.length) return null;
    try {
      return { event: event, data: JSON.parse(data.join("\n")) };
    } catch (e) {
      return { event: event, data: data.join("\n") };
    }
  }

  async function ask() {
    const body = new URLSearchParams(new FormData(form));
    const token = body.get("csrf_token") || "";
    status.textContent = "Looking in the manuals…";
    const response = await fetch(form.dataset.stream, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": token, "Accept": "text/event-stream" },
    });
    const type = response.headers.get("Content-Type") || "";
    if (!response.ok || !type.startsWith("text/event-stream")) {
      form.submit(); // the plain post: the server's page says what went wrong
      return;
    }
    const text = draft();
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let finished = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const found = parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (!found) continue;
        if (found.event === "sources") {
          const n = found.data.length;
          status.textContent = n ? `Found ${n} passage${n === 1 ? "" : "s"}; writing the answer…`
                                 : "Nothing found in the manuals.";
        } else if (found.event === "delta") {
          text.textContent += found.data;
        } else if (found.event === "rendered") {
          const page = new DOMParser().parseFromString(found.data.html, "text/html");
          area.replaceChildren(...page.body.childNodes);
          status.textContent = "Answer ready.";
          finished = true;
        } else if (found.event === "error") {
          const detail = (found.data && found.data.detail) || "the answer could not be completed";
          problem(`No answer: ${detail}. Ask again.`);
          finished = true;
        }
      }
    }
    if (!finished) problem("The answer stopped before it was complete. Ask again.");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy || !form.reportValidity()) return;
    busy = true;
    button.disabled = true;
    ask()
      .catch(function () { problem("The answer could not be fetched. Check the connection and ask again."); })
      .finally(function () { busy = false; button.disabled = false; });
  });
})();
