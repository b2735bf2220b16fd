// The dashboard: reads the API's own JSON endpoints and hands the figures to Chart.js.
// Read-only; every number on the page links to the endpoint it came from. The state
// (network, month) lives in the query string, so a view can be bookmarked and shared.
"use strict";

const COLOURS = ["#2f6fde", "#e07b24", "#2a9d5c", "#b8406a", "#7b57c9", "#8c8c2e"];
const charts = {};
// Each show() is one generation: answers of a superseded one (the user picked again before
// they came) are dropped, so two networks' figures never mix on the page.
let generation = 0;

class Superseded extends Error {}

async function fresh(url, mine) {
  const body = await getJSON(url);
  if (mine !== generation) throw new Superseded();
  return body;
}

function api(path, params) {
  const query = new URLSearchParams(params || {}).toString();
  return "v1/" + path + (query ? "?" + query : "");
}

async function getJSON(url) {
  const response = await fetch(url);
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const message = body.error ? body.error.message : response.statusText;
    throw new Error(url + ": " + response.status + " " + message);
  }
  return response.json();
}

function link(text, href, className) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  if (className) a.className = className;
  return a;
}

function cell(row, content) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content); else td.textContent = content;
  row.append(td);
  return td;
}

// Decimal strings stay strings in the table (exact); charts need numbers.
function num(value) {
  return value === null || value === undefined ? null : Number(value);
}

function when(text) {
  return text ? text.replace("T", " ").replace(/(:\d\d)(\.\d+)?\+00:00$/, "$1 UTC") : "never";
}

function draw(id, config) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart(document.getElementById(id), config);
}

function months(network) {
  const out = [];
  if (!network.first_month) return out;
  let [y, m] = network.first_month.split("-").map(Number);
  const [ly, lm] = network.last_month.split("-").map(Number);
  while (y < ly || (y === ly && m <= lm)) {
    out.push(`${y}-${String(m).padStart(2, "0")}`);
    [y, m] = m === 12 ? [y + 1, 1] : [y, m + 1];
  }
  return out;
}

function fill(select, values, chosen) {
  select.replaceChildren(...values.map((v) => new Option(v, v, false, v === chosen)));
}

async function showFreshness(mine) {
  const url = api("freshness");
  const body = await fresh(url, mine);
  const banner = document.getElementById("freshness");
  banner.replaceChildren("Figures as of the last refresh: ", link(when(body.last_refresh), url, "last-refresh"));
  for (const c of body.chains) {
    const part = document.createElement("span");
    part.className = "chain";
    part.dataset.chain = c.chain;
    part.append(` · ${c.chain} indexed to `, link(String(c.indexed_block ?? "nothing yet"), url, "indexed-block"),
      " (", link(when(c.indexed_time), url, "indexed-time"), "), ", link(String(c.dirty_days), url, "dirty-days"),
      " dirty days pending");
    if (c.last_error) part.append(" · last error: ", link(c.last_error, url, "last-error"));
    banner.append(part);
  }
  banner.classList.toggle("stale", body.chains.some((c) => c.dirty_days > 0 || c.last_error));
}

async function showRevenue(network, mine) {
  const url = api("revenue/monthly", {network});
  document.getElementById("revenue-source").href = url;
  const rows = (await fresh(url, mine)).revenue;
  const labels = [...new Set(rows.map((r) => r.month.slice(0, 7)))];
  const tokens = [...new Set(rows.map((r) => r.token))];
  const series = (field) => tokens.map((token, i) => ({
    label: token,
    backgroundColor: COLOURS[i % COLOURS.length],
    data: labels.map((month) => {
      const row = rows.find((r) => r.token === token && r.month.startsWith(month));
      return row ? num(row[field]) : null;
    }),
  }));
  const common = {responsive: true, maintainAspectRatio: false, animation: false,
    onClick: () => { window.location.href = url; }};
  draw("revenue-usd", {type: "bar", data: {labels, datasets: series("amount_usd")},
    options: {...common, scales: {x: {stacked: true}, y: {stacked: true, title: {display: true, text: "USD"}}}}});
  draw("revenue-tokens", {type: "bar", data: {labels, datasets: series("amount")},
    options: {...common, scales: {y: {title: {display: true, text: "tokens"}}}}});
}

async function showUtilisation(network, mine) {
  const url = api("utilisation", {network, granularity: "month"});
  document.getElementById("utilisation-source").href = url;
  const rows = (await fresh(url, mine)).utilisation;
  const labels = rows.map((r) => r.period.slice(0, 7) + (r.partial ? " (partial)" : ""));
  draw("utilisation", {
    type: "line",
    data: {labels, datasets: [
      {label: "utilisation", yAxisID: "y", borderColor: COLOURS[0], backgroundColor: COLOURS[0],
        data: rows.map((r) => num(r.utilisation))},
      {label: "demand ratio", yAxisID: "ratio", borderColor: COLOURS[1], backgroundColor: COLOURS[1],
        data: rows.map((r) => num(r.demand_ratio))},
    ]},
    options: {responsive: true, maintainAspectRatio: false, animation: false,
      onClick: () => { window.location.href = url; },
      scales: {y: {min: 0, max: 1, title: {display: true, text: "utilisation"}},
        ratio: {position: "right", min: 0, grid: {drawOnChartArea: false}, title: {display: true, text: "revenue / rewards"}}}},
  });
}

async function showNodes(network, month, mine) {
  const url = api("nodes", {network, month, limit: 10});
  document.getElementById("nodes-source").href = url;
  document.getElementById("nodes-month").textContent = month;
  const page = await fresh(url, mine);
  const body = document.querySelector("#nodes tbody");
  body.replaceChildren();
  page.nodes.forEach((n, i) => {
    const row = document.createElement("tr");
    row.dataset.node = n.node;
    const earnings = api(`nodes/${encodeURIComponent(network)}/${encodeURIComponent(n.node)}/earnings`, {granularity: "month"});
    cell(row, String(i + 1));
    cell(row, link(n.node, earnings, "node"));
    const tokens = document.createElement("span");
    n.tokens.forEach((t, k) => tokens.append(k ? ", " : "", link(`${t.amount} ${t.token}`, earnings, "token-amount")));
    cell(row, tokens);
    for (const field of ["earnings_usd", "electricity_usd", "net_usd"]) {
      const td = cell(row, link(n[field] === null ? "no price" : n[field], url, field));
      td.className = "number" + (field === "net_usd" && num(n.net_usd) < 0 ? " loss" : "");
    }
    body.append(row);
  });
  const priced = page.nodes.filter((n) => n.net_usd !== null);
  const profitable = priced.filter((n) => num(n.net_usd) > 0).length;
  const summary = document.getElementById("profitability");
  if (page.nodes.length === 0) {
    summary.replaceChildren("No node earned this month.");
  } else {
    summary.replaceChildren("At the configured electricity assumptions, ", link(String(profitable), url, "profitable"),
      " of the ", link(String(priced.length), url, "priced"), ` top nodes with a price made a profit in ${month}.`);
  }
}

// The electricity assumptions that apply to the network: its own [[assumptions]] row, else '*'.
async function showAssumptions(network, mine) {
  const url = api("assumptions");
  const rows = (await fresh(url, mine)).assumptions;
  const row = rows.find((r) => r.network === network) || rows.find((r) => r.network === "*");
  const out = document.getElementById("assumptions");
  if (!row) {
    out.replaceChildren("No electricity assumptions are configured.");
    return;
  }
  out.replaceChildren(`Electricity assumed for ${network}: `, link(row.watts, url, "watts"),
    " W all day on each day online, at ", link(row.usd_per_kwh, url, "usd-per-kwh"), " USD per kWh (",
    row.network === "*" ? "the default, network " : "its own, network ", link(row.network, url, "assumption-network"),
    ").");
}

async function show() {
  const mine = ++generation;
  const error = document.getElementById("error");
  error.hidden = true;
  try {
    const networks = (await fresh(api("networks"), mine)).networks;
    const params = new URLSearchParams(window.location.search);
    const network = networks.find((n) => n.network === params.get("network")) || networks[0];
    const freshness = showFreshness(mine);
    if (!network) {
      await freshness;
      throw new Error("no network is labelled yet: add [[labels]] to the config and refresh");
    }
    fill(document.getElementById("network"), networks.map((n) => n.network), network.network);
    const all = months(network);
    const month = all.includes(params.get("month")) ? params.get("month") : all[all.length - 1];
    fill(document.getElementById("month"), all, month);
    await Promise.all([freshness, showRevenue(network.network, mine), showUtilisation(network.network, mine),
      showAssumptions(network.network, mine), month ? showNodes(network.network, month, mine) : Promise.resolve()]);
    document.body.dataset.ready = `${network.network}/${month}`;
  } catch (e) {
    if (e instanceof Superseded) return;  // a newer show() draws the page
    error.textContent = String(e.message || e);
    error.hidden = false;
    document.body.dataset.ready = "error";
  }
}

function pick(event) {
  const params = new URLSearchParams(window.location.search);
  params.set(event.target.name, event.target.value);
  if (event.target.name === "network") params.delete("month");  // the newest month of that network
  window.history.pushState(null, "", "?" + params.toString());
  delete document.body.dataset.ready;
  show();
}

document.getElementById("network").addEventListener("change", pick);
document.getElementById("month").addEventListener("change", pick);
window.addEventListener("popstate", show);
show();
