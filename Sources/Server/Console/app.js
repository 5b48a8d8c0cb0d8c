// The AutoVision console (issue 25): hash-routed pages over the public HTTP API only (docs/console.md).
import { api, upload, setToken, APIError } from "./api.js";
import { escape, groupedBars, scatter, scoreBars } from "./charts.js";

const main = document.getElementById("main");
const errorBox = document.getElementById("error");
const partitions = ["TRAIN", "VALIDATION", "TEST"];
const finished = new Set(["succeeded", "failed", "cancelled"]);
let poll = null;            // the current page's refresh timer
let objectURLs = [];        // revoked when the page changes
let generation = 0;         // bumped on navigation: late answers of an old page are dropped

const $ = (selector) => main.querySelector(selector);
const number = (value, digits = 4) => (value === null || value === undefined ? "–" : Number(value).toFixed(digits));
const percent = (value) => (value === null || value === undefined ? "–" : `${(100 * value).toFixed(1)} %`);
const seconds = (value) => (value === null || value === undefined ? "–"
  : value < 10 ? `${value.toFixed(1)} s` : value < 120 ? `${Math.round(value)} s` : `${(value / 60).toFixed(1)} min`);
const date = (value) => (value ? new Date(value).toLocaleString() : "–");
const link = (hash, text) => `<a href="${escape(hash)}">${escape(text)}</a>`;
// A table scrolls inside itself (no page overflows at 390 px), focusable so the keyboard can scroll it.
const scroller = (caption) => `<div class="scroll" tabindex="0" role="region" aria-label="${escape(caption)}">`;
const table = (caption, head, rows) => `${scroller(caption)}<table><caption class="muted">${escape(caption)}</caption>`
  + `<thead><tr>${head.map((h) => `<th scope="col"${h.num ? ' class="num"' : ""}>${escape(h.text ?? h)}</th>`).join("")}</tr></thead>`
  + `<tbody>${rows.join("")}</tbody></table></div>`;

function showError(message) { errorBox.textContent = message; errorBox.hidden = false; }
function clearError() { errorBox.hidden = true; errorBox.textContent = ""; }
function render(content) { main.innerHTML = content; }
function every(ms, refresh) { poll = setInterval(() => refresh().catch(fail), ms); }

/** Shows an API error readably; a 401 asks for the token. */
function fail(error) {
  if (error instanceof APIError && error.status === 401) return askToken(error.message);
  showError(error instanceof APIError ? `The server answered: ${error.message}` : `Error: ${error.message}`);
}

function askToken(message) {
  clearInterval(poll);
  render(`<h1>API token</h1>
    <p>This server needs its API token (the one given to <code>autovision serve --api-token</code>). The console keeps it
    in this tab's session only and sends it as the <code>Authorization</code> header of its API calls.</p>
    <form class="stack" id="token-form"><label>API token <input id="token" type="password" required></label>
    <button type="submit">Use this token</button></form>`);
  showError(message);
  $("#token").focus();
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setToken($("#token").value.trim());
    route();
  });
}

const routes = [
  [/^#?\/?$/, home],
  [/^#\/upload$/, uploadPage],
  [/^#\/datasets\/([^/]+)$/, datasetPage],
  [/^#\/jobs\/([^/]+)$/, jobPage],
  [/^#\/jobs\/([^/]+)\/evaluate$/, evaluatePage],
  [/^#\/models\/([^/]+)\/predict$/, predictPage],
];

async function route() {
  clearInterval(poll);
  objectURLs.forEach((url) => URL.revokeObjectURL(url));
  objectURLs = [];
  clearError();
  const mine = ++generation;
  const hash = location.hash || "#/";
  const match = routes.map(([pattern, view]) => [hash.match(pattern), view]).find(([m]) => m);
  if (!match) return render(`<h1>No such page</h1><p>${link("#/", "Back to jobs and models")}</p>`);
  const [m, view] = match;
  try {
    await view(...m.slice(1).map(decodeURIComponent), () => mine === generation);
  } catch (error) {
    if (mine === generation) fail(error);
  }
}

// Jobs and models: the first page, no click needed.
async function home(current) {
  const refresh = async () => {
    const [jobs, models, datasets] = await Promise.all([api("/v1/jobs"), api("/v1/models"), api("/v1/datasets")]);
    if (!current()) return;
    const jobRows = jobs.jobs.map((j) => `<tr><td class="id">${link(`#/jobs/${j.id}`, j.id)}</td><td>${escape(j.state)}</td>`
      + `<td class="id">${j.dataset_id ? link(`#/datasets/${j.dataset_id}`, j.dataset_id) : "–"}</td><td class="num">${seconds(j.budget_seconds)}</td>`
      + `<td class="num">${percent(j.test_accuracy)}</td><td>${date(j.created_at)}</td>`
      + `<td>${finished.has(j.state) ? `<button type="button" class="danger" data-delete="/v1/jobs/${escape(j.id)}" aria-label="Delete job ${escape(j.id)}">Delete</button>` : ""}</td></tr>`);
    const modelRows = models.models.map((m) => `<tr><td class="id">${link(`#/jobs/${m.id}`, m.id)}</td><td class="num">${m.labels?.length ?? "–"}</td>`
      + `<td class="num">${percent(m.test_accuracy)}</td><td>${date(m.created_at)}</td>`
      + `<td>${link(`#/jobs/${m.id}/evaluate`, "Evaluate")} · ${link(`#/models/${m.id}/predict`, "Predict")}</td></tr>`);
    const datasetRows = datasets.datasets.map((d) => `<tr><td class="id">${link(`#/datasets/${d.id}`, d.id)}</td><td>${escape(d.name ?? "")}</td>`
      + `<td>${escape(d.state)}</td><td class="num">${d.images ?? "–"}</td><td>${date(d.created_at)}</td>`
      + `<td>${d.state === "importing" ? "" : `<button type="button" class="danger" data-delete="/v1/datasets/${escape(d.id)}" aria-label="Delete dataset ${escape(d.id)}">Delete</button>`}</td></tr>`);
    render(`<h1>Jobs and models</h1>
      <h2>Jobs</h2>${jobRows.length ? table(`${jobRows.length} job(s), newest first`, ["ID", "State", "Dataset", { text: "Budget", num: true }, { text: "TEST accuracy", num: true }, "Created", "Actions"], jobRows) : "<p>No jobs yet: upload a dataset, then train on it.</p>"}
      <h2>Models</h2>${modelRows.length ? table(`${modelRows.length} model(s)`, ["ID", { text: "Labels", num: true }, { text: "TEST accuracy", num: true }, "Created", "Pages"], modelRows) : "<p>No models yet.</p>"}
      <h2>Datasets</h2>${datasetRows.length ? table(`${datasetRows.length} dataset(s), newest first`, ["ID", "Name", "State", { text: "Images", num: true }, "Created", "Actions"], datasetRows) : `<p>No datasets yet: ${link("#/upload", "upload one")}.</p>`}`);
    return jobs.jobs.some((j) => !finished.has(j.state));
  };
  main.onclick = async (event) => {
    const path = event.target.dataset?.delete;
    if (!path || !confirm(`Delete ${path.split("/").pop()} and its files? This cannot be undone.`)) return;
    try { await api(path, { method: "DELETE" }); await refresh(); } catch (error) { fail(error); }
  };
  if (await refresh()) every(3000, refresh);
}

// Upload a zip (or a CSV manifest whose images are on the server) with upload progress.
async function uploadPage() {
  render(`<h1>Upload a dataset</h1>
    <p>A zip of a manifest and its images, or of one folder per label (split 80/10/10); or a CSV manifest whose images
    are in a folder on the server (<a href="/openapi.json">the API</a> says more).</p>
    <form class="stack" id="upload-form">
      <label>Zip or CSV file <input id="upload-file" type="file" accept=".zip,.csv,application/zip,text/csv" required></label>
      <label>Name (optional) <input id="upload-name" type="text" autocomplete="off"></label>
      <label>Server folder of a CSV's images (optional) <input id="upload-root" type="text" autocomplete="off"></label>
      <button type="submit">Upload</button>
    </form>
    <div id="upload-status" aria-live="polite"></div>`);
  $("#upload-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = $("#upload-file").files[0];
    if (!file) return;
    const csv = /\.csv$/i.test(file.name);
    // Spaces as %20, not URLSearchParams' "+", which the server reads as a plus sign.
    const query = [["name", $("#upload-name").value.trim()], ["root", csv ? $("#upload-root").value.trim() : ""]]
      .filter(([, value]) => value).map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join("&");
    $("#upload-status").innerHTML = `<label for="upload-progress">Uploading ${escape(file.name)}</label>
      <progress id="upload-progress" max="1" value="0"></progress>`;
    event.submitter?.setAttribute("disabled", "");
    try {
      const dataset = await upload(`/v1/datasets${query ? `?${query}` : ""}`, file, csv ? "text/csv" : "application/zip",
        (fraction) => { const bar = $("#upload-progress"); if (bar) bar.value = fraction; });
      location.hash = `#/datasets/${encodeURIComponent(dataset.id)}`;
    } catch (error) {
      event.submitter?.removeAttribute("disabled");
      fail(error);
    }
  });
}

// A dataset: label counts per partition (chart and table), rejected rows, warnings, and the train dialog.
async function datasetPage(id, current) {
  const dataset = await api(`/v1/datasets/${encodeURIComponent(id)}`);
  if (!current()) return;
  const summary = dataset.summary ?? {};
  const counts = summary.partitions ?? {};
  const labels = dataset.labels ?? [...new Set(Object.values(counts).flatMap(Object.keys))].sort();
  let body = `<h1>Dataset <span class="id">${escape(dataset.name ?? dataset.id)}</span></h1>
    <div class="cards"><div class="card"><div class="muted">State</div><div class="value" id="dataset-state">${escape(dataset.state)}</div></div>
    <div class="card"><div class="muted">Images</div><div class="value">${dataset.images ?? "–"}</div></div>
    <div class="card"><div class="muted">Labels</div><div class="value">${labels.length}</div></div>
    <div class="card"><div class="muted">Rejected rows</div><div class="value">${summary.rejected?.length ?? 0}</div></div></div>`;
  body += versionLine(dataset);
  if (dataset.state === "importing") {
    render(`${body}<p aria-live="polite">Importing: checking every row and decoding every image…</p>${importProgress(dataset.import_progress)}`);
    every(1000, async () => {
      const d = await api(`/v1/datasets/${encodeURIComponent(id)}`);
      if (!current()) return;
      if (d.state !== "importing") route(); else $("#import-status").outerHTML = importProgress(d.import_progress);
    });
    return;
  }
  if (dataset.failure_reason) body += `<p class="error">The import failed: ${escape(dataset.failure_reason)}</p>`;
  if (labels.length) {
    const present = partitions.filter((p) => counts[p]);
    const rows = labels.map((label) => `<tr><th scope="row">${escape(label)}</th>${present.map((p) => `<td class="num">${counts[p][label] ?? 0}</td>`).join("")}`
      + `<td class="num">${present.reduce((s, p) => s + (counts[p][label] ?? 0), 0)}</td></tr>`);
    const totals = `<tr><th scope="row">All labels</th>${present.map((p) => `<td class="num">${Object.values(counts[p]).reduce((a, b) => a + b, 0)}</td>`).join("")}`
      + `<td class="num">${present.reduce((s, p) => s + Object.values(counts[p]).reduce((a, b) => a + b, 0), 0)}</td></tr>`;
    body += `<h2>Images per label and partition</h2>
      <div class="legend" aria-hidden="true">${present.map((p) => `<span><span class="swatch sw-${p}"></span>${p}</span>`).join("")}</div>
      ${groupedBars("Images per label, one bar per partition", labels, Object.fromEntries(present.map((p) => [p, counts[p]])))}
      <div id="partition-counts">${table("Images per label and partition", ["Label", ...present.map((p) => ({ text: p, num: true })), { text: "All", num: true }], [...rows, totals])}</div>`;
    if (summary.unlabeled) body += `<p>${summary.unlabeled} unlabeled image(s) (not trained on).</p>`;
  }
  const warnings = summary.warnings ?? [];
  body += `<h2>Warnings</h2>${warnings.length ? `<ul id="warnings">${warnings.map((w) => `<li>${escape(w)}</li>`).join("")}</ul>` : "<p>None.</p>"}`;
  const rejected = summary.rejected ?? [];
  body += `<h2>Rejected rows</h2>${rejected.length ? table(`${rejected.length} row(s) left out${rejected.length > 200 ? ", the first 200 shown" : ""}`, [{ text: "Line", num: true }, "Path", "Reason"],
    rejected.slice(0, 200).map((r) => `<tr><td class="num">${r.line}</td><td class="id">${escape(r.path)}</td><td>${escape(r.reason)}</td></tr>`)) : "<p>None: every row was imported.</p>"}`;
  // Multi-label datasets too: whether a job can train one is the API's to say (its refusal shows as a message).
  if (dataset.state === "ready") {
    // The train dialog repeats what decides whether a job is worth starting: the images each partition
    // holds and the import's warnings (too few TRAIN images for a label, imbalance, leakage, …).
    const sizes = partitions.filter((p) => counts[p]).map((p) => `${p} ${Object.values(counts[p]).reduce((a, b) => a + b, 0)}`);
    body += `<h2>Train a model</h2>
      <p id="train-counts">Images per partition: ${escape(sizes.join(" · ") || "none")}${partitions.some((p) => !counts[p]) ? " (an empty partition is carved from TRAIN)" : ""}.</p>
      ${warnings.length ? `<div id="train-warnings" role="note"><p><strong>Before you train</strong>, the import found:</p><ul>${warnings.map((w) => `<li>${escape(w)}</li>`).join("")}</ul></div>` : ""}
      <form class="stack" id="train-form">
        <label>Budget (worker time of training)
          <select id="budget"><option value="30s">30 seconds (a quick look)</option><option value="10m" selected>10 minutes</option>
          <option value="1h">1 hour</option><option value="custom">Custom…</option></select></label>
        <label>Custom budget, e.g. 90s, 10m, 1h30m <input id="budget-custom" type="text" autocomplete="off" disabled
          pattern="^([1-9][0-9]?h([0-9]{1,2}m)?([0-9]{1,2}s)?|[1-9][0-9]{0,3}m([0-9]{1,2}s)?|[1-9][0-9]{0,4}s)$"></label>
        <label>Random seed <input id="seed" type="number" min="0" step="1" value="0" required></label>
        <button type="submit">Start training</button>
      </form>`;
  }
  if (dataset.state === "ready") body += `<h2>Images</h2><div id="image-browser"></div>`;
  render(body);
  if (dataset.state === "ready") imageBrowser(dataset, labels, current);
  const form = $("#train-form");
  if (!form) return;
  $("#budget").addEventListener("change", () => { $("#budget-custom").disabled = $("#budget").value !== "custom"; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const budget = $("#budget").value === "custom" ? $("#budget-custom").value.trim() : $("#budget").value;
    try {
      const job = await api("/v1/jobs", { method: "POST", type: "application/json",
        body: JSON.stringify({ dataset_id: dataset.id, budget, seed: Number($("#seed").value) }) });
      location.hash = `#/jobs/${encodeURIComponent(job.id)}`;
    } catch (error) { fail(error); }
  });
}

// ---- The dataset page's image browser, labelling and import progress (issue 25) ----

// The dataset's version and the one it was made from.
function versionLine(dataset) {
  const parent = dataset.parent_dataset_id ? `, made from ${link(`#/datasets/${dataset.parent_dataset_id}`, dataset.parent_dataset_id)} by labelling images` : "";
  return `<p id="dataset-version">Version ${dataset.version ?? 1}${parent}.</p>`;
}

// The import's progress bar (images decoded of the images to decode), or a note before the first count.
function importProgress(progress) {
  if (!progress) return `<p id="import-status">Waiting for the first images to be decoded…</p>`;
  const { images_done: done, images_total: total } = progress;
  return `<p id="import-status"><label for="import-progress">Images decoded: ${done} of ${total}</label>
    <progress id="import-progress" max="${Math.max(1, total)}" value="${done}">${done} of ${total}</progress></p>`;
}

// Thumbnails by label, partition and labelled or not, a page at a time (the API's page tokens); unlabeled
// images can be selected and labelled, which makes a new version of the dataset and opens its page.
function imageBrowser(dataset, labels, current) {
  const base = `/v1/datasets/${encodeURIComponent(dataset.id)}`;
  const options = (values, any) => `<option value="">${any}</option>${values.map(([v, t]) => `<option value="${escape(v)}">${escape(t)}</option>`).join("")}`;
  $("#image-browser").innerHTML = `<form class="row" id="image-filters">
      <label>Label <select id="filter-label">${options(labels.map((l) => [l, l]), "any label")}</select></label>
      <label>Partition <select id="filter-partition">${options([...partitions.map((p) => [p, p]), ["UNASSIGNED", "chosen by the import"]], "any partition")}</select></label>
      <label>Images <select id="filter-labeled">${options([["true", "labelled"], ["false", "unlabeled"]], "labelled and unlabeled")}</select></label></form>
    <p id="image-count" aria-live="polite"></p>
    <div class="thumbs" id="image-grid"></div>
    <div class="row"><button type="button" class="secondary" id="images-previous">Previous page</button>
      <button type="button" class="secondary" id="images-next">Next page</button></div>
    <form class="row" id="label-form">
      <label>Label for the selected unlabeled images <input id="new-label" type="text" list="label-options" autocomplete="off" required maxlength="256"></label>
      <datalist id="label-options">${labels.map((l) => `<option value="${escape(l)}">`).join("")}</datalist>
      <button type="submit" id="label-selected">Label selected</button></form>
    <p class="muted">Labelling makes a new version of the dataset (imported like an upload); this one stays as it is.</p>`;
  let tokens = [""], pageIndex = 0, shown = 0, gridURLs = [];
  const release = () => { gridURLs.forEach((url) => URL.revokeObjectURL(url)); objectURLs = objectURLs.filter((u) => !gridURLs.includes(u)); gridURLs = []; };
  const load = async () => {
    const mine = ++shown;
    const query = [["label", $("#filter-label").value], ["partition", $("#filter-partition").value], ["labeled", $("#filter-labeled").value],
      ["page_size", "24"], ["page_token", tokens[pageIndex]]].filter(([, v]) => v).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
    const page = await api(`${base}/images?${query}`);
    if (!current() || mine !== shown) return;
    release();
    tokens[pageIndex + 1] = page.next_page_token ?? null;
    const first = pageIndex * 24 + 1, last = pageIndex * 24 + page.images.length;
    $("#image-count").textContent = page.total ? `Images ${first}–${last} of ${page.total}` : "No image matches these filters.";
    $("#images-previous").disabled = pageIndex === 0;
    $("#images-next").disabled = !page.next_page_token;
    $("#image-grid").innerHTML = page.images.map((image) => {
      const name = image.labels.length ? image.labels.join(", ") : "unlabeled";
      const what = `Image on line ${image.line} (${image.partition}, ${name})`;
      const select = image.labels.length ? "" : `<label class="pick"><input type="checkbox" value="${escape(image.image_id)}"> Select line ${image.line}</label>`;
      return `<figure data-image="${escape(image.image_id)}"><img alt="${escape(what)}" width="96" height="96">`
        + `<figcaption><span class="image-label">${escape(name)}</span> · ${escape(image.partition)}${select}</figcaption></figure>`;
    }).join("");
    await Promise.all(page.images.map(async (image) => {
      try {
        const blob = await api(image.thumbnail, { as: "blob" });
        if (!current() || mine !== shown) return;
        const url = URL.createObjectURL(blob);
        gridURLs.push(url);
        objectURLs.push(url);
        const img = main.querySelector(`figure[data-image="${CSS.escape(image.image_id)}"] img`);
        if (img) img.src = url;
      } catch (error) {
        const figure = main.querySelector(`figure[data-image="${CSS.escape(image.image_id)}"] figcaption`);
        if (figure) figure.insertAdjacentHTML("beforeend", ` <span class="error-text">(no thumbnail: ${escape(error.message)})</span>`);
      }
    }));
  };
  const restart = () => { tokens = [""]; pageIndex = 0; load().catch(fail); };
  ["#filter-label", "#filter-partition", "#filter-labeled"].forEach((s) => $(s).addEventListener("change", restart));
  $("#images-previous").addEventListener("click", () => { if (pageIndex > 0) { pageIndex -= 1; load().catch(fail); } });
  $("#images-next").addEventListener("click", () => { if (tokens[pageIndex + 1]) { pageIndex += 1; load().catch(fail); } });
  $("#label-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = [...main.querySelectorAll("#image-grid input[type=checkbox]:checked")].map((box) => box.value);
    if (!ids.length) return showError("Select one or more unlabeled images first (show the unlabeled images with the Images filter).");
    clearError();
    try {
      const created = await api(`${base}/labels`, { method: "POST", type: "application/json",
        body: JSON.stringify({ image_ids: ids, label: $("#new-label").value.trim() }) });
      location.hash = `#/datasets/${encodeURIComponent(created.id)}`;
    } catch (error) { fail(error); }
  });
  if (dataset.summary?.unlabeled) $("#filter-labeled").value = "false";
  load().catch(fail);
}

// A job, live: state, budget, ETA, trials as they finish (plot and table), best so far, cancel.
async function jobPage(id, current) {
  const path = `/v1/jobs/${encodeURIComponent(id)}`;
  render(`<h1>Job <span class="id">${escape(id)}</span></h1><div id="job-live" aria-live="polite"></div>
    <div class="row" id="job-actions"></div><div id="job-trials"></div>`);
  let shownTrials = -1, shownState = null, metric = null;
  const refresh = async () => {
    const [job, trials] = await Promise.all([api(path), api(`${path}/trials`)]);
    if (!current()) return false;
    // A multi-label job is scored by mean AP, and its TEST accuracy is subset accuracy (docs/multi-label.md).
    if (metric === null) {
      const multiLabel = job.multi_label ?? (job.dataset_id ? (await api(`/v1/datasets/${encodeURIComponent(job.dataset_id)}`)).multi_label : false);
      metric = multiLabel ? { validation: "mean AP", test: "subset accuracy" } : { validation: "accuracy", test: "accuracy" };
      if (!current()) return false;
    }
    $("#job-live").innerHTML = `<div class="cards">
      <div class="card"><div class="muted">State</div><div class="value" id="job-state">${escape(job.state)}</div></div>
      <div class="card"><div class="muted">Budget used</div><div class="value">${seconds(job.used_seconds)} / ${seconds(job.budget_seconds)}</div></div>
      <div class="card"><div class="muted">Time left (estimate)</div><div class="value">${seconds(job.eta_seconds)}</div></div>
      <div class="card"><div class="muted">Trials</div><div class="value" id="trials-done">${job.trials_done ?? 0}</div></div>
      <div class="card"><div class="muted">Best VALIDATION ${metric.validation}</div><div class="value">${percent(job.best_validation_accuracy)}</div></div>
      <div class="card"><div class="muted">TEST ${metric.test}</div><div class="value">${percent(job.test_accuracy)}</div></div></div>
      <p><label for="job-progress">Progress</label> <progress id="job-progress" max="1" value="${job.progress ?? 0}">${percent(job.progress)}</progress></p>
      ${job.dataset_id ? `<p>Dataset: ${link(`#/datasets/${job.dataset_id}`, job.dataset_id)}${job.dataset_version ? ` (version ${job.dataset_version})` : ""}</p>` : ""}
      ${job.stop_reason ? `<p>Stopped: ${escape(job.stop_reason)}</p>` : ""}
      ${job.failure_reason ? `<p class="error">Failed: ${escape(job.failure_reason)}</p>` : ""}
      ${job.warning ? `<p class="error">${escape(job.warning)}</p>` : ""}`;
    if (job.state !== shownState) {
      shownState = job.state;
      $("#job-actions").innerHTML = finished.has(job.state)
        ? (job.state === "succeeded" ? `${link(`#/jobs/${job.id}/evaluate`, "Evaluate the model")} · ${link(`#/models/${job.id}/predict`, "Predict with it")}` : "")
        : `<button type="button" class="danger" id="cancel">Cancel the job</button>`;
      $("#cancel")?.addEventListener("click", async () => {
        try { await api(`${path}/cancel`, { method: "POST" }); await refresh(); } catch (error) { fail(error); }
      });
    }
    const list = trials.trials ?? [];
    if (list.length !== shownTrials || finished.has(job.state)) {
      shownTrials = list.length;
      const none = finished.has(job.state) ? "<p>No search trial: the job trained its starting architecture alone (too short a budget for a search).</p>"
        : "<p>No trial has finished yet.</p>";
      $("#job-trials").innerHTML = `<h2>Search trials</h2>${list.length ? trialsView(list, metric.validation) : none}`;
    }
    return !finished.has(job.state);
  };
  if (await refresh()) every(1000, async () => { if (!(await refresh())) clearInterval(poll); });
}

function trialsView(list, metricName = "accuracy") {
  let elapsed = 0;
  const points = list.map((t) => {
    elapsed = t.ended_at ?? elapsed + (t.seconds ?? 0);
    return { x: elapsed, y: t.validation_accuracy ?? 0, label: `trial ${t.id}: ${number(t.validation_accuracy)} at ${seconds(elapsed)}` };
  });
  const rows = list.map((t) => `<tr><td class="num">${t.id}</td><td class="num">${number(t.validation_accuracy)}</td><td class="num">${t.epochs ?? "–"}</td>`
    + `<td class="num">${seconds(t.seconds)}</td><td><code>${escape(t.architecture ?? "")}</code></td></tr>`);
  return scatter(`VALIDATION ${metricName} of each trial against the time it ended`, points, { xLabel: "seconds into the search", yLabel: `VALIDATION ${metricName}` })
    + `<div id="trials">${table(`${list.length} trial(s), in order`, [{ text: "Trial", num: true }, { text: `VALIDATION ${metricName}`, num: true }, { text: "Epochs", num: true }, { text: "Time", num: true }, "Architecture"], rows)}</div>`;
}

// The model's architecture and arithmetic, and the energy the job used, as the report states them.
function modelLine(report) {
  const model = report.model, energy = report.energy;
  if (!model) return "";
  const precision = model.precision === "bf16" ? " · bf16 products (fp32 sums and weights)" : " · fp32";
  const used = energy ? ` · ${number(energy.kwh * 1000, 1)} Wh, ${number(energy.gco2e, 1)} gCO2e (${escape(energy.method)})` : "";
  return `<p id="model-line">Model: <code>${escape(model.architecture)}</code>${precision}${used}</p>`;
}

// The evaluation: metrics against the majority baseline, the score-threshold slider with the per-label
// metrics, curves and confusion matrix at that threshold (GET …/report/threshold, …/curves), and the
// TEST images behind a matrix cell or a label's errors (GET …/report/examples).
async function evaluatePage(id, current) {
  const base = `/v1/jobs/${encodeURIComponent(id)}/report`;
  const report = await api(base);
  if (!current()) return;
  if (report.multi_label) return multiLabelEvaluation(id, report, current);
  const test = report.test, points = test.confidence_metrics ?? [];
  const labels = test.confusion_matrix.labels;
  // Jobs that finished before per-example scores were kept (409) show the report's own matrix and mistakes.
  const curves = await api(`${base}/curves`).then((answer) => answer.labels, (error) => {
    if (error instanceof APIError && error.status === 409) return null;
    throw error;
  });
  if (!current()) return;
  const topK = Object.entries(test.top_k_accuracy ?? {}).filter(([k]) => k !== "1").map(([k, v]) => `top-${k} ${percent(v)}`).join(", ");
  render(`<h1>Evaluation of <span class="id">${escape(id)}</span></h1>
    <p>${test.examples} TEST images, never seen in training or in the search. ${link(`#/jobs/${id}`, "The job")} · ${link(`#/models/${id}/predict`, "Predict")}</p>
    ${modelLine(report)}
    <div class="cards">
      <div class="card"><div class="muted">TEST accuracy</div><div class="value" id="test-accuracy">${percent(test.accuracy)}</div></div>
      <div class="card"><div class="muted">Majority baseline${test.baseline ? ` (always ${escape(test.baseline.majority_class)})` : ""}</div><div class="value">${percent(test.baseline?.accuracy)}</div></div>
      <div class="card"><div class="muted">Average precision</div><div class="value">${number(test.average_precision, 3)}</div></div>
      <div class="card"><div class="muted">Macro ROC AUC</div><div class="value">${number(test.macro_auc, 3)}</div></div>
      <div class="card"><div class="muted">Log loss</div><div class="value">${number(test.log_loss, 3)}</div></div></div>
    ${topK ? `<p>Top-k accuracy: ${escape(topK)}.</p>` : ""}
    ${(report.warnings ?? []).map((w) => `<p class="error">${escape(w)}</p>`).join("")}
    <h2>Score threshold</h2>
    <p>Precision and recall over every (image, label) pair whose score reaches the threshold, as AutoML Vision counts them.</p>
    ${thresholdSlider(points, test.score_threshold, curves ? labels : [])}
    <h2>Per label</h2>
    <div id="per-label">${table("Precision, recall and F1 per label at the top score", ["Label", { text: "Precision", num: true }, { text: "Recall", num: true }, { text: "F1", num: true }, { text: "TEST images", num: true }],
      test.per_class.map((c) => `<tr><th scope="row">${escape(c.label)}</th><td class="num">${number(c.precision)}</td><td class="num">${number(c.recall)}</td><td class="num">${number(c.f1)}</td><td class="num">${c.support}</td></tr>`))}</div>
    <h2>Confusion matrix</h2>
    <fieldset class="row"><legend>Show</legend>
      <label><input type="radio" name="matrix" value="counts" checked> counts</label>
      <label><input type="radio" name="matrix" value="fractions"> row fractions</label></fieldset>
    <div id="matrix"></div>
    <div id="cell-examples" aria-live="polite"></div>
    <h2>Mistakes</h2>
    <label for="mistake-label">Label</label> <select id="mistake-label">${labels.map((l) => `<option>${escape(l)}</option>`).join("")}</select>
    <div id="mistakes"></div>
    <h2>Search trials</h2><div id="evaluate-trials"></div>`);
  api(`/v1/jobs/${encodeURIComponent(id)}/trials`).then((answer) => {
    const list = answer.trials ?? [];
    if (current()) $("#evaluate-trials").innerHTML = list.length ? trialsView(list) : "<p>No search trial: the job trained its starting architecture alone.</p>";
  }).catch(fail);
  if (!curves) {
    wireThresholdSlider(points, () => {});
    showMatrix(test.confusion_matrix, null);
    main.querySelectorAll("input[name=matrix]").forEach((radio) => radio.addEventListener("change", () => showMatrix(test.confusion_matrix, null)));
    const showMistakes = () => reportMistakes(test, $("#mistake-label").value);
    $("#mistake-label").addEventListener("change", showMistakes);
    return showMistakes();
  }
  // The slider's figures come from the report at once; the per-label table and matrix at that threshold from
  // the API, the newest answer winning.
  let atThreshold = null, asked = 0;
  const refresh = async (threshold) => {
    const mine = ++asked;
    const answer = await api(`${base}/threshold?threshold=${threshold.toFixed(2)}`);
    if (mine !== asked || !current()) return;
    atThreshold = answer;
    showAtThreshold(answer);
    showMatrix(answer.confusion_matrix, (t, p) => cellExamples(base, answer, t, p));
    showErrors(base, answer.threshold);
  };
  let timer = null;
  wireThresholdSlider(points, (threshold) => {
    clearTimeout(timer);
    timer = setTimeout(() => refresh(threshold).catch(fail), 120);
  }, curves);
  main.querySelectorAll("input[name=matrix]").forEach((radio) => radio.addEventListener("change", () => atThreshold
    && showMatrix(atThreshold.confusion_matrix, (t, p) => cellExamples(base, atThreshold, t, p))));
  $("#mistake-label").addEventListener("change", () => atThreshold && showErrors(base, atThreshold.threshold));
  await refresh(Number($("#threshold").value) / 100);
}

// The per-label table at the slider's threshold (one-vs-rest, as the API counts it).
function showAtThreshold(answer) {
  $("#per-label").innerHTML = table(`Per label at threshold ${answer.threshold.toFixed(2)}: a label is predicted when its score reaches it`,
    ["Label", { text: "Precision", num: true }, { text: "Recall", num: true }, { text: "F1", num: true }, { text: "True positives", num: true },
      { text: "False positives", num: true }, { text: "False negatives", num: true }],
    answer.per_label.map((c) => `<tr data-label="${escape(c.label)}"><th scope="row">${escape(c.label)}</th><td class="num">${number(c.precision)}</td>`
      + `<td class="num">${number(c.recall)}</td><td class="num">${number(c.f1)}</td><td class="num">${c.true_positives}</td>`
      + `<td class="num">${c.false_positives}</td><td class="num">${c.false_negatives}</td></tr>`));
}

// The confusion matrix (`matrix`: labels, counts, normalized; K or K + 1 columns, the last one then
// "no prediction"); with `open`, each non-empty cell is a button showing its images.
function showMatrix(matrix, open) {
  const fractions = main.querySelector("input[name=matrix]:checked").value === "fractions";
  const values = fractions ? matrix.normalized : matrix.counts, labels = matrix.labels;
  const columns = matrix.counts[0]?.length > labels.length ? [...labels, "no prediction"] : labels;
  const cell = (v, i, j) => {
    const text = fractions ? number(v, 2) : v, count = matrix.counts[i][j];
    const inner = open && count > 0 ? `<button type="button" class="cell" data-true="${i}" data-predicted="${j}" aria-label="${count} TEST images of ${escape(labels[i])} `
      + `${j < labels.length ? `predicted ${escape(labels[j])}` : "with no prediction"}">${text}</button>` : text;
    return `<td${i === j ? ' class="diag"' : ""}>${inner}</td>`;
  };
  $("#matrix").innerHTML = `${scroller("Confusion matrix")}<table class="matrix"><caption class="muted">Rows: true label; columns: predicted label (${fractions ? "fraction of the row" : "images"})${
    columns.length > labels.length ? ": the top label when its score reaches the threshold; a cell opens its images" : ""}</caption>
    <thead><tr><th scope="col">True \\ predicted</th>${columns.map((l) => `<th scope="col">${escape(l)}</th>`).join("")}</tr></thead>
    <tbody>${values.map((row, i) => `<tr><th scope="row">${escape(labels[i])}</th>${row.map((v, j) => cell(v, i, j)).join("")}</tr>`).join("")}</tbody></table></div>`;
  if (open) main.querySelectorAll("button.cell").forEach((button) => button.addEventListener("click", () => open(Number(button.dataset.true), Number(button.dataset.predicted))));
}

// The images of one confusion-matrix cell at the threshold of `answer`.
function cellExamples(base, answer, t, p) {
  const labels = answer.confusion_matrix.labels, predicted = p < labels.length ? labels[p] : "";
  const query = new URLSearchParams({ true_label: labels[t], predicted_label: predicted, threshold: answer.threshold.toFixed(2) });
  const title = `${labels[t]} ${predicted ? `predicted ${predicted}` : "with no label reaching the threshold"}`;
  $("#cell-examples").innerHTML = `<h3>${escape(title)}</h3><div id="cell-gallery"></div>`;
  gallery($("#cell-gallery"), `${base}/examples?${query}`, title).catch(fail);
  $("#cell-examples h3").scrollIntoView({ block: "nearest" });
}

// The chosen label's false negatives and false positives at `threshold`, most confident first.
function showErrors(base, threshold) {
  const label = $("#mistake-label").value, t = threshold.toFixed(2);
  $("#mistakes").innerHTML = `<h3>False negatives: images with ${escape(label)} scoring below ${t} for it</h3><div id="false-negatives"></div>
    <h3>False positives: images without ${escape(label)} scoring ${t} or more for it</h3><div id="false-positives"></div>`;
  gallery($("#false-negatives"), `${base}/examples?${new URLSearchParams({ label, error: "false_negative", threshold: t })}`, `false negatives of ${label}`, label).catch(fail);
  gallery($("#false-positives"), `${base}/examples?${new URLSearchParams({ label, error: "false_positive", threshold: t })}`, `false positives of ${label}`, label).catch(fail);
}

// A paged gallery of TEST examples (GET …/report/examples): thumbnails fetched with the token as object
// URLs, 24 at a time, with a button for the next page; captions name `focus`'s score when it is not the top one.
async function gallery(container, path, what, focus = null) {
  const mine = generation;
  let token = null, shown = 0;
  container.innerHTML = `<p class="muted" data-total>Loading…</p><div class="thumbs"></div>`;
  const more = async () => {
    const page = await api(`${path}&page_size=24${token ? `&page_token=${encodeURIComponent(token)}` : ""}`);
    if (mine !== generation) return;
    token = page.next_page_token;
    shown += page.examples.length;
    container.querySelector("[data-total]").textContent = page.total ? `${page.total} image(s), most confident first; ${shown} shown.` : "None.";
    const thumbs = container.querySelector(".thumbs");
    for (const example of page.examples) {
      const figure = document.createElement("figure");
      const top = example.scores[0];
      const focused = focus && example.scores.find((s) => s.label === focus);
      const truth = example.labels.join(", ") || "no label";
      figure.innerHTML = `<img alt="TEST image ${example.index} (manifest line ${example.line}): ${escape(truth)}, top score ${escape(top.label)} ${number(top.score, 2)}">`
        + `<figcaption>${escape(truth)} → ${escape(example.predicted_label ?? "none")} ${number(top.score, 2)}`
        + `${focused && focused !== top ? `; ${escape(focus)} ${number(focused.score, 2)}` : ""}</figcaption>`;
      thumbs.append(figure);
      api(path.replace(/\/examples\?.*$/, `/examples/${example.index}/image`), { as: "blob" }).then((blob) => {
        if (mine !== generation) return;
        const url = URL.createObjectURL(blob);
        objectURLs.push(url);
        figure.querySelector("img").src = url;
      }).catch(fail);
    }
    container.querySelector("button.more")?.remove();
    if (token) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary more";
      button.textContent = `More ${what}`;
      button.addEventListener("click", () => more().catch(fail));
      container.append(button);
    }
  };
  await more();
}

// The report's most confident mistakes of `label` (reports without per-example scores).
function reportMistakes(test, label) {
  const all = test.misclassified ?? [];
  const figure = (m) => `<figure>${m.thumbnail_png_base64 ? `<img src="data:image/png;base64,${m.thumbnail_png_base64}" alt="TEST image ${m.index}: ${escape(m.true_label)} taken for ${escape(m.predicted_label)}">` : ""}`
    + `<figcaption>${escape(m.true_label)} → ${escape(m.predicted_label)} (${number(m.score, 2)})</figcaption></figure>`;
  const negatives = all.filter((m) => m.true_label === label), positives = all.filter((m) => m.predicted_label === label);
  $("#mistakes").innerHTML = `<h3>False negatives: ${escape(label)} taken for another label</h3>
    ${negatives.length ? `<div class="thumbs">${negatives.map(figure).join("")}</div>` : "<p>None in the report.</p>"}
    <h3>False positives: another label taken for ${escape(label)}</h3>
    ${positives.length ? `<div class="thumbs">${positives.map(figure).join("")}</div>` : "<p>None in the report.</p>"}
    <p class="muted">The report keeps the most confident mistakes of each true label.</p>`;
}

// The score-threshold slider over `points` (the report's confidence_metrics, thresholds 0.00–1.00), starting
// at `initial`; with `labels`, a choice of whose precision–recall curve to draw.
function thresholdSlider(points, initial, labels = []) {
  if (!points.length) return "<p>This report predates the per-threshold metrics.</p>";
  const choice = labels.length ? `<p><label for="curve-label">Precision–recall curve of</label> <select id="curve-label">
    <option value="">all labels (micro)</option>${labels.map((l) => `<option>${escape(l)}</option>`).join("")}</select></p>` : "";
  return `<label for="threshold">Score threshold</label> <output id="threshold-value" for="threshold"></output>
    <input id="threshold" type="range" min="0" max="${points.length - 1}" step="1" value="${Math.round(initial * 100)}">
    <div class="cards"><div class="card"><div class="muted">Precision</div><output class="value" id="precision"></output></div>
    <div class="card"><div class="muted">Recall</div><output class="value" id="recall"></output></div>
    <div class="card"><div class="muted">F1</div><output class="value" id="f1"></output></div></div>
    ${choice}<div id="pr-curve"></div>`;
}

// Shows the slider's figures and curve as it moves, and calls `moved(threshold)`; `curves` are the
// per-label ones of GET …/report/curves.
function wireThresholdSlider(points, moved = () => {}, curves = []) {
  if (!points.length) return;
  const show = () => {
    const step = Number($("#threshold").value), point = points[step];
    $("#threshold-value").textContent = point.threshold.toFixed(2);
    for (const key of ["precision", "recall", "f1"]) { $(`#${key}`).textContent = number(point[key]); $(`#${key}`).dataset.value = point[key]; }
    const chosen = curves.find((c) => c.label === $("#curve-label")?.value);
    const curve = chosen ? chosen.confidence_metrics : points, marked = curve[step];
    const title = chosen ? `Precision against recall of ${chosen.label} (average precision ${number(chosen.average_precision, 3)}) over the thresholds 0.00–1.00`
      : "Precision against recall over the thresholds 0.00–1.00";
    $("#pr-curve").innerHTML = scatter(title, curve.map((p) => ({ x: p.recall, y: p.precision })),
      { xLabel: "recall", yLabel: "precision", xMax: 1, line: true, marker: { x: marked.recall, y: marked.precision, label: `threshold ${marked.threshold.toFixed(2)}` } });
  };
  $("#threshold").addEventListener("input", () => { show(); moved(Number($("#threshold").value) / 100); });
  $("#curve-label")?.addEventListener("change", show);
  show();
}

// A multi-label model's evaluation: mean AP and the other figures beside the prevalence baseline's, one
// threshold for every label on the slider, the per-label table with each label's own threshold, and the
// co-occurrence of true and predicted labels (docs/multi-label.md).
async function multiLabelEvaluation(id, report, current) {
  const test = report.test, base = test.baseline, labels = test.co_occurrence.labels;
  const path = `/v1/jobs/${encodeURIComponent(id)}/report`;
  // Jobs that finished before per-example scores were kept (409) show the report alone.
  const curves = await api(`${path}/curves`).then((answer) => answer.labels, (error) => {
    if (error instanceof APIError && error.status === 409) return null;
    throw error;
  });
  if (!current()) return;
  const card = (name, value, baseline) => `<div class="card"><div class="muted">${escape(name)}</div><div class="value">${value}</div>`
    + `<div class="muted">baseline ${baseline}</div></div>`;
  render(`<h1>Evaluation of <span class="id">${escape(id)}</span></h1>
    <p>${test.examples} TEST images, multi-label (${number(test.label_cardinality, 2)} labels per image); the baseline scores each
      label by its TRAIN prevalence. ${link(`#/jobs/${id}`, "The job")} · ${link(`#/models/${id}/predict`, "Predict")}</p>
    <div class="cards">
      ${card("Mean average precision", percent(test.mean_average_precision), percent(base.mean_average_precision))}
      ${card("Micro F1", percent(test.micro_f1), percent(base.micro_f1))}
      ${card("Macro F1", percent(test.macro_f1), percent(base.macro_f1))}
      ${card("Subset accuracy", percent(test.subset_accuracy), percent(base.subset_accuracy))}
      ${card("Hamming loss", number(test.hamming_loss, 3), number(base.hamming_loss, 3))}</div>
    ${(report.warnings ?? []).map((w) => `<p class="error">${escape(w)}</p>`).join("")}
    <h2>Score threshold</h2>
    <p>Precision and recall over every (image, label) pair whose score reaches one threshold for all labels; the model itself uses
      each label's own threshold (below).</p>
    ${thresholdSlider(test.confidence_metrics ?? [], 0.5, curves ? labels : [])}
    <h2>Per label</h2>
    ${table("Each label at its own threshold, chosen on VALIDATION to maximise its F1", ["Label", { text: "Threshold", num: true }, { text: "Precision", num: true },
      { text: "Recall", num: true }, { text: "F1", num: true }, { text: "TEST images", num: true }, { text: "Average precision", num: true }, { text: "TRAIN share", num: true }],
      test.per_label.map((c) => `<tr><th scope="row">${escape(c.label)}</th><td class="num">${number(c.threshold, 2)}</td><td class="num">${number(c.precision)}</td>`
        + `<td class="num">${number(c.recall)}</td><td class="num">${number(c.f1)}</td><td class="num">${c.support}</td><td class="num">${number(c.average_precision)}</td>`
        + `<td class="num">${percent(c.train_prevalence)}</td></tr>`))}
    <h2>True and predicted labels</h2>
    ${scroller("Co-occurrence of true and predicted labels")}<table class="matrix"><caption class="muted">Rows: a label the image has; columns: a label predicted for it (images; the diagonal counts true positives)</caption>
      <thead><tr><th scope="col">True \\ predicted</th>${labels.map((l) => `<th scope="col">${escape(l)}</th>`).join("")}</tr></thead>
      <tbody>${test.co_occurrence.counts.map((row, i) => `<tr><th scope="row">${escape(labels[i])}</th>${row.map((v, j) => `<td${i === j ? ' class="diag"' : ""}>${v}</td>`).join("")}</tr>`).join("")}</tbody></table></div>
    ${curves ? `<h2>Mistakes at the slider's threshold</h2>
    <label for="mistake-label">Label</label> <select id="mistake-label">${labels.map((l) => `<option>${escape(l)}</option>`).join("")}</select>
    <div id="mistakes"></div>` : ""}`);
  let timer = null;
  const threshold = () => Number($("#threshold").value) / 100;
  wireThresholdSlider(test.confidence_metrics ?? [], () => {
    clearTimeout(timer);
    if (curves) timer = setTimeout(() => current() && showErrors(path, threshold()), 120);
  }, curves ?? []);
  if (!curves) return;
  $("#mistake-label").addEventListener("change", () => showErrors(path, threshold()));
  showErrors(path, threshold());
}

// Predict: choose or drop images; each shows its top labels with score bars and the request as a curl line.
async function predictPage(id, current) {
  const model = await api(`/v1/models/${encodeURIComponent(id)}`);
  if (!current()) return;
  const count = model.labels?.length ?? 1;
  render(`<h1>Predict with <span class="id">${escape(id)}</span></h1>
    <p>${count} labels; TEST accuracy ${percent(model.test_accuracy)}. ${link(`#/jobs/${id}/evaluate`, "Evaluation")}</p>
    <div class="drop" id="drop">
      <label>PNG or JPEG images <input id="predict-files" type="file" accept="image/png,image/jpeg" multiple></label>
      <p class="muted">or drop them here</p></div>
    <p><label>Labels shown per image <input id="top-k" type="number" min="1" max="${count}" value="${Math.min(5, count)}"></label></p>
    <div id="predictions" aria-live="polite"></div>`);
  const predict = async (files) => {
    for (const file of files) {
      const type = file.type || "application/octet-stream", url = URL.createObjectURL(file);
      objectURLs.push(url);
      const item = document.createElement("div");
      item.className = "prediction";
      item.innerHTML = `<img src="${url}" alt="${escape(file.name)}"><div class="bars"><p>${escape(file.name)}: predicting…</p></div>`;
      $("#predictions").prepend(item);
      const quoted = `'${file.name.replace(/'/g, "'\\''")}'`;
      const curl = `curl -X POST --data-binary @${quoted} -H 'Content-Type: ${type}'`
        + `${sessionStorage.getItem("autovision-token") ? ` -H "Authorization: Bearer $AUTOVISION_API_TOKEN"` : ""} '${location.origin}/v1/models/${id}/predict'`;
      try {
        const answer = await api(`/v1/models/${encodeURIComponent(id)}/predict`, { method: "POST", body: file, type });
        const k = Math.max(1, Math.min(count, Number($("#top-k")?.value) || 5)), top = answer.predictions.slice(0, k);
        // A multi-label model also answers `labels`: those over their thresholds.
        const over = Array.isArray(answer.labels) ? `<p>Labels over their thresholds: ${answer.labels.length ? escape(answer.labels.join(", ")) : "none"}</p>` : "";
        item.querySelector(".bars").innerHTML = `<p>${escape(file.name)}: <strong class="top-label">${escape(top[0].label)}</strong> (score ${number(top[0].score, 3)})</p>${over}
          ${scoreBars(`Top ${k} labels of ${file.name}`, top)}
          <div class="curl"><code>${escape(curl)}</code><button type="button" class="secondary copy">Copy</button></div>`;
        item.querySelector(".copy").addEventListener("click", async (event) => {
          try { await navigator.clipboard.writeText(curl); event.target.textContent = "Copied"; } catch { getSelection().selectAllChildren(item.querySelector("code")); }
        });
      } catch (error) {
        item.querySelector(".bars").innerHTML = `<p class="error">${escape(file.name)}: ${escape(error.message)}</p>`;
        if (error.status === 401) fail(error);
      }
    }
  };
  $("#predict-files").addEventListener("change", (event) => predict([...event.target.files]));
  const drop = $("#drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => { event.preventDefault(); drop.classList.remove("over"); predict([...event.dataTransfer.files]); });
}

window.addEventListener("hashchange", () => { main.onclick = null; route().then(() => main.focus({ preventScroll: true })); });
route();
