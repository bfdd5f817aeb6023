// Trailkeeper console: progressive enhancements only; every page works without this file.
// - the log loads older pages as you scroll (the "Older events" link, one page per request);
// - the chart of counts per action is fetched after the page is shown;
// - an export shows its progress (time covered so far) and saves the file when done;
// - empty filter fields are left out of the URL.
"use strict";

function fragment(html) {
  const template = document.createElement("template");
  template.innerHTML = html; // same-origin HTML, rendered with autoescaping by the server
  return template.content;
}

async function fetchText(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) throw new Error("HTTP " + response.status);
  return response.text();
}

function announce(text) {
  const status = document.getElementById("log-status");
  if (status) status.textContent = text;
}

async function loadMore(link) {
  if (link.dataset.loading) return;
  link.dataset.loading = "1";
  link.textContent = "Loading…";
  try {
    const part = fragment(await fetchText(link.href + "&partial=1"));
    const rows = part.querySelectorAll("#log-table tbody tr");
    document.querySelector("#log-table tbody").append(...rows);
    const pager = part.querySelector("#log-pager");
    document.getElementById("log-pager").replaceWith(pager);
    announce(rows.length + " more events loaded.");
    watchMore();
  } catch (error) {
    link.textContent = "Older events (retry)";
    delete link.dataset.loading;
  }
}

let observer = null;
let continued = 0;
const MAX_CONTINUED = 10; // windows searched on the reader's behalf before asking them

function continueSearch() {
  // A bounded search (text, several filters) found fewer than a page: look further back by
  // itself, window after window, each one request of bounded work.
  const onward = document.querySelector("#log-pager a[data-continue]");
  if (!onward) return;
  onward.addEventListener("click", (event) => { event.preventDefault(); continued = 0; loadMore(onward); });
  const table = document.getElementById("log-table");
  const shown = table.querySelectorAll("tbody tr").length;
  if (shown < Number(table.dataset.limit || 50) && continued < MAX_CONTINUED) {
    continued += 1;
    announce("Searching older events…");
    loadMore(onward);
  }
}

function watchMore() {
  continueSearch();
  const link = document.querySelector("#log-pager a[data-more]");
  if (!link) return;
  link.addEventListener("click", (event) => { event.preventDefault(); loadMore(link); });
  if ("IntersectionObserver" in window) {
    if (observer) observer.disconnect();
    observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadMore(link);
    }, { rootMargin: "400px" });
    observer.observe(link);
  }
}

async function loadChart() {
  const panel = document.getElementById("chart");
  if (!panel || !panel.dataset.src) return;
  try {
    const part = fragment(await fetchText(panel.dataset.src));
    const body = part.querySelector("#chart-body");
    if (body) document.getElementById("chart-placeholder").replaceWith(body);
  } catch (error) {
    /* the placeholder's link still works */
  }
}

function saveBlob(chunks, type, name) {
  const url = URL.createObjectURL(new Blob(chunks, { type: type }));
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = name;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function lastDate(text, csv) {
  // JSON lines: "date_create":N in the last line; CSV: the second column of the last record.
  const match = csv ? text.match(/\r\n[^,\r\n]*,(\d+),[^\r\n]*\r\n?$/) : text.match(/"date_create":(\d+)[^\n]*\n?$/);
  return match ? Number(match[1]) : null;
}

async function runExport(form) {
  const progress = document.getElementById("export-progress");
  const status = document.getElementById("export-status");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  progress.hidden = false;
  progress.value = 0;
  status.textContent = "Starting the export…";
  try {
    const response = await fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" });
    if (!response.ok) throw new Error("the server refused the export (HTTP " + response.status + ")");
    const oldest = Number(response.headers.get("X-Export-Oldest"));
    const latest = Number(response.headers.get("X-Export-Latest"));
    const csv = form.elements.format.value === "csv";
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const chunks = [];
    let bytes = 0, tail = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.length;
      tail = (tail + decoder.decode(value, { stream: true })).slice(-4096);
      const date = lastDate(tail, csv);
      if (date !== null && latest > oldest) progress.value = Math.round(1000 * (latest - date) / (latest - oldest));
      status.textContent = "Exporting… " + Math.round(bytes / 1024) + " KiB";
    }
    progress.value = 1000;
    const name = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
    saveBlob(chunks, response.headers.get("Content-Type") || "application/octet-stream", name ? name[1] : "export");
    status.textContent = "Export finished: " + Math.round(bytes / 1024) + " KiB saved.";
  } catch (error) {
    status.textContent = "Export failed: " + error.message;
  } finally {
    button.disabled = false;
  }
}

function watchExport() {
  const form = document.getElementById("export-form");
  if (!form || !window.fetch || !window.ReadableStream) return;
  form.addEventListener("submit", (event) => { event.preventDefault(); runExport(form); });
}

function watchFilters() {
  // Leave empty fields out of the URL, so a shared link holds just the filter.
  for (const form of document.querySelectorAll("form.filters")) {
    form.addEventListener("submit", () => {
      for (const input of form.querySelectorAll("input, select")) {
        if (input.value === "") input.disabled = true;
      }
      setTimeout(() => form.querySelectorAll(":disabled").forEach((e) => { e.disabled = false; }), 0);
    });
  }
}

function foldOnPhones() {
  // A phone shows the events first; the filters and the chart open with one tap.
  if (!window.matchMedia("(max-width: 700px)").matches) return;
  const box = document.querySelector("details.filter-box");
  if (box && !box.querySelector("[aria-invalid]")) box.open = false;
  const chart = document.getElementById("chart");
  if (chart) chart.open = false;
}

document.addEventListener("DOMContentLoaded", () => {
  foldOnPhones();
  watchFilters();
  watchMore();
  loadChart();
  watchExport();
});
