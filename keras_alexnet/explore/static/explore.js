// keras-alexnet explore: the four panels. Data comes from the server's /api/... routes, or, in a static
// export (`keras-alexnet explore --export DIR`), from window.EXPLORE_STATIC written into static/data.js.
"use strict";

const STATIC = window.EXPLORE_STATIC || null;

async function getJSON(url, options) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    throw new Error("The explore server does not answer (was it stopped?): " + error.message);
  }
  let body = null;
  try { body = await response.json(); } catch (error) { body = null; }
  if (!response.ok) {
    throw new Error((body && body.error) || `The server answered ${response.status} ${response.statusText}`);
  }
  return body;
}

const live = {
  info: () => getJSON("api/info"),
  architecture: () => getJSON("api/architecture"),
  kernels: () => getJSON("api/kernels"),
  sample: (number) => getJSON(`api/sample/${number}`),
  upload: (file) => getJSON("api/analyse", {
    method: "POST", body: file,
    headers: { "X-Filename": encodeURIComponent(file.name || "upload").slice(0, 200),
               "Content-Type": "application/octet-stream" },
  }),
  activations: (id, layer) => getJSON(`api/activations/${encodeURIComponent(id)}/${encodeURIComponent(layer)}`),
};

const offline = STATIC && {
  info: async () => STATIC.info,
  architecture: async () => STATIC.architecture,
  kernels: async () => STATIC.kernels,
  sample: async (number) => STATIC.images[number],
  upload: async () => { throw new Error("Uploading needs the server: run `keras-alexnet explore`."); },
  activations: async (id, layer) => {
    const image = STATIC.images.find((item) => item.id === id);
    if (!image || !image.activations[layer]) throw new Error(`No precomputed ${layer} maps for this image.`);
    return image.activations[layer];
  },
};

const api = offline || live;
const state = { info: null, image: null, layer: null };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key === "src" || key === "alt" || key === "title") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const int = (n) => Number(n).toLocaleString("en-US");
const percent = (score) => (100 * score).toFixed(2) + " %";
const shape = (dims) => dims.join("×");

function showMessage(text) {
  const box = $("message");
  box.textContent = text || "";
  box.hidden = !text;
}

// -- header ------------------------------------------------------------------------------------------------
function renderInfo(info) {
  $("model-line").textContent =
    `${info.variant} AlexNet · ${info.weights} · ${info.classes} classes (${info.class_names}) · ` +
    `input ${info.input_size}×${info.input_size}: ${info.preprocessing}`;
  if (info.random) {
    const banner = $("random-banner");
    banner.hidden = false;
    banner.textContent = "These are random weights (no --weights given): the predictions are noise, " +
      "the kernels show no structure and the neighbours are not meaningful. Start the page with --weights " +
      "(imagenet, a checkpoint directory) to see a trained network.";
  }
}

// -- architecture ------------------------------------------------------------------------------------------
function layerBox(row, tower, towers) {
  const classes = ["layer"];
  if (row.tower === "joined") classes.push("joined");
  else if (row.tower === "single") classes.push("single");
  else classes.push(tower === 2 ? "t2" : "t1");
  const split = row.tower === "split";
  const dims = split ? `${shape(row.tower_shape)} per tower` : shape(row.output_shape);
  const params = split ? Math.round(row.params / towers) : row.params;
  const macs = split ? Math.round(row.macs / towers) : row.macs;
  const note = row.tower === "joined" && row.type !== "Dropout" && row.type !== "Flatten" && towers > 1
    ? " · reads both towers" : "";
  return el("div", { class: classes.join(" "), "data-layer": row.name, "data-tower": String(tower) },
    el("div", {}, el("span", { class: "name", text: row.name }), " ",
       el("span", { class: "kind", text: `${row.type}${row.detail ? " · " + row.detail : ""}${note}` })),
    el("div", { class: "nums", text: `out ${dims} · ${int(params)} params · ${int(macs)} MACs` +
      (split ? " (this tower)" : "") }),
    row.arithmetic ? el("div", { class: "arith", text: row.arithmetic }) : null);
}

function renderArchitecture(data, chosen) {
  const tabs = $("variant-tabs");
  tabs.replaceChildren();
  data.variants.forEach((variant, i) => {
    const label = variant.this_model ? `${variant.variant} (this model)` : variant.variant;
    tabs.append(el("button", { text: label, class: i === chosen ? "active" : "",
      "data-variant": variant.variant, onclick: () => renderArchitecture(data, i) }));
  });
  const variant = data.variants[chosen];
  const grid = el("div", { class: "arch", "data-variant": variant.variant });
  if (variant.towers > 1) {
    grid.append(el("div", { class: "head t1", text: "tower 1 (GPU 1)" }), el("div", { class: "head t2", text: "tower 2 (GPU 2)" }));
  }
  grid.append(el("div", { class: "layer single", "data-layer": "input" },
    el("span", { class: "name", text: "input" }), " ", el("span", { class: "nums", text: shape(variant.input_shape) })));
  for (const row of variant.layers) {
    if (row.tower === "split") {
      for (let tower = 1; tower <= variant.towers; tower++) grid.append(layerBox(row, tower, variant.towers));
    } else grid.append(layerBox(row, 0, variant.towers));
  }
  const total = el("div", { class: "arch-total", text:
    `total: ${int(variant.total_params)} parameters, ${int(variant.total_macs)} MACs per image ` +
    `(${(2 * variant.total_macs / 1e9).toFixed(2)} GFLOP)` });
  $("architecture-body").replaceChildren(grid, total);
}

// -- an image ----------------------------------------------------------------------------------------------
function renderTop(image) {
  const list = $("top5");
  list.setAttribute("data-image-id", image.id);
  list.replaceChildren(...image.top.map((label) =>
    el("li", { "data-index": String(label.index), "data-score": String(label.score) },
      el("div", { class: "bar-row" },
        el("span", { class: "bar-name", text: label.name, title: `${label.name} (${label.id}, output ${label.index})` }),
        el("span", { class: "bar-track" }, el("span", { class: "bar", style: `width:${(100 * label.score).toFixed(2)}%` })),
        el("span", { class: "bar-score", text: percent(label.score) })))));
  // el() does not set style through properties; set bar widths explicitly.
  list.querySelectorAll(".bar").forEach((bar, i) => {
    bar.style.display = "block";
    bar.style.width = `${(100 * image.top[i].score).toFixed(2)}%`;
  });
}

function renderActivations(data) {
  const img = $("activation-grid");
  img.onload = () => img.setAttribute("data-layer", data.layer);
  img.removeAttribute("data-layer");
  img.src = data.png;
  const towers = data.towers > 1 ? ` · channels 0–${data.shape[2] / 2 - 1} (tower 1) in the upper half, ` +
    `${data.shape[2] / 2}–${data.shape[2] - 1} (tower 2) in the lower half` : "";
  $("activation-caption").textContent = `${data.layer}: ${data.shape[2]} maps of ${data.shape[0]}×${data.shape[1]}, ` +
    `each scaled to its own range (blue: gaps) · ${(100 * data.active_fraction).toFixed(1)} % of values > 0, ` +
    `max ${data.max.toFixed(3)}${towers}`;
}

function renderLRN(lrn) {
  const box = $("lrn");
  if (!lrn.available) {
    box.replaceChildren(el("p", { class: "note", text: `No LRN here: ${lrn.reason}. The original variant has it after conv1 and conv2.` }));
    return;
  }
  const fmt = (x) => (x === null ? "–" : x.toFixed(3));
  const summary = el("p", { class: "note", text:
    `${lrn.formula}. Each activation of conv1 is divided by a factor of its own: here after/before ranges from ` +
    `${fmt(lrn.ratio_min)} to ${fmt(lrn.ratio_max)} (median ${fmt(lrn.ratio_median)}; at most k^-β = ` +
    `${fmt(lrn.max_ratio)}, where the neighbouring channels are silent). Mean activation ` +
    `${lrn.mean_before.toFixed(3)} before, ${lrn.mean_after.toFixed(3)} after. The ${lrn.channels.length} most ` +
    `active channels, before and after on the same scale, and after/before (white 1, black 0; blue where conv1 is 0):` });
  const table = el("table", { class: "lrn-table" },
    el("tr", {}, el("th", { text: "" }), ...lrn.channels.map((c) => el("th", { text: `channel ${c.channel} (tower ${c.tower})` }))),
    el("tr", {}, el("th", { text: "conv1 (before)" }), ...lrn.channels.map((c) => el("td", {}, el("img", { src: c.before, alt: "before" })))),
    el("tr", {}, el("th", { text: "norm1 (after)" }), ...lrn.channels.map((c) => el("td", {}, el("img", { src: c.after, alt: "after" })))),
    el("tr", {}, el("th", { text: "after / before" }), ...lrn.channels.map((c) => el("td", {}, el("img", { src: c.ratio, alt: "ratio" })))),
    el("tr", {}, el("th", { text: "max before → after" }), ...lrn.channels.map((c) =>
      el("td", { text: `${c.before_max.toFixed(2)} → ${c.after_max.toFixed(2)}` }))));
  box.replaceChildren(summary, table);
}

function renderNeighbours(image) {
  const body = $("neighbours-body");
  const info = state.info;
  if (!info.index) {
    body.replaceChildren(el("p", { class: "note", text:
      "No index: start the page with --index INDEX, an index written by `keras-alexnet embed DIR -o INDEX.npz` " +
      "with the same weights, to see the six images nearest to this one in fc7 space (the paper's Figure 4)." }));
    return;
  }
  const found = image.neighbours;
  const parts = [el("p", { class: "note", text:
    `The ${found.neighbours.length} images of the index ${info.index.path.split(/[\\/]/).pop()} (${int(info.index.rows)} images) nearest to ` +
    `${image.name} in ${found.layer} space (${found.metric} distance), nearest first.` })];
  if (info.index.warning) parts.push(el("p", { class: "banner", text: `Warning: ${info.index.warning}; the distances compare different features.` }));
  parts.push(el("div", { class: "neighbours", id: "neighbour-list" },
    el("figure", { class: "neighbour" }, el("img", { src: image.image, alt: "query" }),
       el("figcaption", { text: `query: ${image.name}` })),
    ...found.neighbours.map((item) => el("figure", { class: "neighbour", "data-rank": String(item.rank), "data-distance": String(item.distance) },
      item.image ? el("img", { src: item.image, alt: item.name }) : el("div", { class: "missing", title: "not readable now" }),
      el("figcaption", { text: `#${item.rank} ${item.name} · d = ${item.distance.toPrecision(4)}`, title: item.path })))));
  body.replaceChildren(...parts);
}

function renderImage(image) {
  state.image = image;
  $("image-result").hidden = false;
  $("crop").src = image.image;
  $("crop-caption").textContent = `${image.name}: the ${state.info.input_size}×${state.info.input_size} crop the network sees`;
  renderTop(image);
  renderLRN(image.lrn);
  renderNeighbours(image);
  const layer = state.layer || state.info.default_layer;
  if (image.activations[layer]) renderActivations(image.activations[layer]);
  else showLayer(layer);
}

async function showLayer(layer) {
  state.layer = layer;
  $("layer-select").value = layer;
  if (!state.image) return;
  try {
    const cached = state.image.activations[layer];
    const data = cached || await api.activations(state.image.id, layer);
    state.image.activations[layer] = data;
    renderActivations(data);
    showMessage("");
  } catch (error) { showMessage(error.message); }
}

async function chooseSample(number, button) {
  document.querySelectorAll("#sample-buttons button").forEach((b) => b.classList.remove("active"));
  if (button) button.classList.add("active");
  try { renderImage(await api.sample(number)); showMessage(""); } catch (error) { showMessage(error.message); }
}

async function upload(file) {
  if (!file) return;
  showMessage("");
  document.body.setAttribute("data-busy", "1");
  try {
    renderImage(await api.upload(file));
    document.querySelectorAll("#sample-buttons button").forEach((b) => b.classList.remove("active"));
  } catch (error) {
    showMessage(`Could not show ${file.name}: ${error.message}`);
  } finally {
    document.body.removeAttribute("data-busy");
    $("upload").value = "";
  }
}

function renderImageControls(info) {
  const select = $("layer-select");
  select.replaceChildren(...info.layers.map((name) => el("option", { value: name, text: name })));
  select.onchange = () => showLayer(select.value);
  const buttons = $("sample-buttons");
  buttons.replaceChildren(el("span", { class: "note", text: info.static ? "images:" : "or a sample:" }),
    ...info.samples.map((sample) => {
      const button = el("button", { text: sample.name, "data-sample": String(sample.number) });
      button.onclick = () => chooseSample(sample.number, button);
      return button;
    }));
  if (info.static) {
    $("upload-label").hidden = true;
    $("static-note").hidden = false;
  } else {
    $("upload").onchange = (event) => upload(event.target.files[0]);
  }
}

// -- kernels -----------------------------------------------------------------------------------------------
function kernelChart(data) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "kernel-chart");
  svg.setAttribute("viewBox", `0 0 ${data.count * 8 + 40} 120`);
  svg.setAttribute("preserveAspectRatio", "none");
  const values = data.per_kernel.colour_fraction;
  values.forEach((value, i) => {
    const tower = data.towers.findIndex((t) => i >= t.first_kernel && i <= t.last_kernel);
    const rect = document.createElementNS(ns, "rect");
    const height = 100 * value;
    rect.setAttribute("x", String(30 + i * 8)); rect.setAttribute("width", "6");
    rect.setAttribute("y", String(105 - height)); rect.setAttribute("height", String(height));
    rect.setAttribute("fill", data.towers.length > 1 && tower === 1 ? "#d0642f" : "#2f6fd0");
    const title = document.createElementNS(ns, "title");
    title.textContent = `kernel ${i}: colour fraction ${value.toFixed(3)}, mean chroma ${data.per_kernel.mean_chroma[i].toFixed(3)}`;
    rect.append(title);
    svg.append(rect);
  });
  for (const [y, text] of [[105, "0"], [5, "1"]]) {
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", "2"); label.setAttribute("y", String(y + 4)); label.setAttribute("font-size", "10");
    label.textContent = text;
    svg.append(label);
  }
  return svg;
}

function metric(name, value) {
  return el("div", { class: "metric" }, el("span", { text: `${name} ${value.toFixed(3)}`, class: "metric-name" }),
    el("span", { class: "bar-track" }, (() => { const bar = el("span", { class: "bar" }); bar.style.display = "block"; bar.style.width = `${100 * value}%`; return bar; })()));
}

function renderKernels(data) {
  const blocks = data.towers.map((tower, i) => el("div", { class: `tower-block t${i + 1}`, "data-tower": String(i + 1) },
    el("h3", { text: tower.label }),
    metric("mean chroma", tower.mean_chroma), metric("colour fraction", tower.colour_fraction),
    el("img", { src: tower.png, alt: tower.label })));
  const caption = el("p", { class: "note", text:
    `${data.count} kernels of ${shape(data.kernel_shape)} (shown as RGB${data.channel_order === "BGR" ? "; this checkpoint reads BGR, flipped here" : ""}). ` +
    "Colour fraction of every kernel" + (data.towers.length > 1 ? " (blue: tower 1, orange: tower 2):" : ":") });
  $("kernels-body").replaceChildren(...blocks, caption, kernelChart(data));
}

// -- start ---------------------------------------------------------------------------------------------------
async function start() {
  try {
    const info = await api.info();
    state.info = info;
    renderInfo(info);
    renderImageControls(info);
    const [architecture, kernels] = await Promise.all([api.architecture(), api.kernels()]);
    renderArchitecture(architecture, 0);
    renderKernels(kernels);
    if (info.samples.length) await chooseSample(0, document.querySelector("#sample-buttons button"));
    document.body.setAttribute("data-ready", "1");
  } catch (error) {
    showMessage(error.message);
  }
}

document.addEventListener("DOMContentLoaded", start);
