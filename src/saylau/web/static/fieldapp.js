// The offline field app: sign in once while online, then type protocols, incidents and
// interview batches with or without a connection. Everything typed goes first into the outbox
// on the phone (outbox.js), which sends it when it can and keeps it until the server confirms.
// The control relations are the library's profile, delivered at login and checked by
// checks.js/relations.js; the messages come translated from the page (kk, ru, en).
import { attachChecks, fill } from "./checks.js";
import { Outbox, enqueue, getMeta, head, itemsOf, pull, setMeta } from "./outbox.js";
import { reducePhoto } from "./photo.js";
import { parseCount } from "./relations.js";

const M = JSON.parse(document.getElementById("messages").textContent);
const $ = (id) => document.getElementById(id);
const API = "/api/v1";
const INTERVIEW_ROWS = 8;

let session = null;
let assignment = null;
let items = [];
let updateChecks = () => {};
const correcting = { protocol: null, incident: null, interviews: null, headcount: null };
// kinds where a new report is a new version of the last one for the station
const VERSIONED = new Set(["protocol", "headcount"]);
const photos = { protocol: null, incident: null };

const outbox = new Outbox({
  onChange: () => {
    showNet();
    refresh();
  },
  onAuth: () => {
    banner(M.signInAgain, "error");
    showLogin();
  },
});

function banner(text, kind = "ok") {
  const b = $("banner");
  b.hidden = !text;
  b.className = `flash ${kind}`;
  b.textContent = text || "";
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function showNet() {
  const on = navigator.onLine && outbox.reachable !== false;
  $("net").textContent = !navigator.onLine ? M.offline : on ? M.online : M.unreachable;
  $("net").className = `net ${on ? "on" : "off"}`;
  $("net").title = on ? "" : M.offlineNote;
}

function showLogin() {
  $("login").hidden = false;
  $("work").hidden = true;
  $("sign-out").hidden = true;
}

// ------------------------------------------------------------------ signing in
async function login(event) {
  event.preventDefault();
  if (!navigator.onLine) {
    banner(M.firstLoginOnline, "error");
    return;
  }
  const credentials = { username: $("username").value.trim(), password: $("password").value };
  const attempt = (csrf) =>
    fetch(`${API}/auth/session`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf || "" },
      body: JSON.stringify(credentials),
    });
  let r;
  try {
    r = await attempt(session && session.csrf);
    if (r.status === 403) {
      // a cookie session is open already (the web pages): its CSRF token opens a new one
      const me = await fetch(`${API}/me/assignment`, { credentials: "same-origin" });
      if (me.ok) r = await attempt((await me.json()).csrf_token);
    }
  } catch {
    banner(M.firstLoginOnline, "error");
    return;
  }
  if (!r.ok) {
    banner(r.status === 429 ? M.throttled : M.wrongPassword, "error");
    return;
  }
  const answer = await r.json();
  session = { username: answer.username, role: answer.role, csrf: answer.csrf_token };
  banner(M.loading);
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist();
  if (!(await loadAssignment())) return;
  await setMeta("session", session);
  try {
    await pull(session); // a new phone learns what the server has before sending anything
  } catch {
    // the outbox pulls again before it sends
  }
  $("password").value = "";
  if (assignment.locale && assignment.locale !== document.documentElement.lang) {
    location.replace(document.body.dataset.scope); // the app in the person's language
    return;
  }
  banner("");
  start();
}

async function loadAssignment() {
  let r;
  try {
    r = await fetch(`${API}/me/assignment`, { credentials: "same-origin" });
  } catch {
    return false;
  }
  if (r.status === 401) {
    outbox.onAuth();
    return false;
  }
  if (!r.ok) {
    const answer = await r.json().catch(() => ({}));
    banner(answer.message || `HTTP ${r.status}`, "error");
    return false;
  }
  const doc = await r.json();
  if (doc.csrf_token) session.csrf = doc.csrf_token;
  delete doc.csrf_token;
  assignment = doc;
  await setMeta(`assignment:${session.username}`, doc);
  await setMeta("session", session);
  return true;
}

async function signOut() {
  try {
    await fetch(`${API}/auth/logout`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": session.csrf || "" },
    });
  } catch {
    // offline: the session ends on the phone; what waits stays for the next sign-in
  }
  await setMeta("session", undefined);
  session = null;
  showLogin();
}

// ------------------------------------------------------------------ the forms
function station() {
  return $("station").value;
}

function buildProtocolForm() {
  const profile = assignment.profile;
  const lines = $("protocol-lines");
  const choices = $("protocol-choices");
  lines.replaceChildren();
  choices.replaceChildren();
  for (const line of profile.lines) {
    lines.append(
      el("span", { class: "no" }, line.number == null ? "" : String(line.number)),
      el("label", { htmlFor: `line-${line.key}` }, line.label),
      el("input", {
        id: `line-${line.key}`,
        "data-key": line.key,
        type: "text",
        inputMode: "numeric",
        autocomplete: "off",
      }),
    );
  }
  assignment.choices.forEach((c, i) => {
    choices.append(
      el("span", { class: "no" }, String(i + 1)),
      el("label", { htmlFor: `choice-${i + 1}` }, c.name),
      el("input", {
        id: `choice-${i + 1}`,
        "data-key": c.id,
        type: "text",
        inputMode: "numeric",
        autocomplete: "off",
      }),
    );
  });
  updateChecks = attachChecks({
    inputs: [...$("protocol-form").querySelectorAll("input[data-key]")],
    list: $("checks"),
    summary: $("checks-summary"),
    target: $("protocol-form"),
    profile,
    choiceIds: assignment.choices.map((c) => c.id),
    msg: M,
  });
}

function buildIncidentForm() {
  const select = $("category");
  select.replaceChildren();
  const groups = new Map();
  for (const c of assignment.categories) {
    if (!groups.has(c.phase_label)) {
      groups.set(c.phase_label, el("optgroup", { label: c.phase_label }));
      select.append(groups.get(c.phase_label));
    }
    groups.get(c.phase_label).append(el("option", { value: c.code }, c.label));
  }
  $("complaint").replaceChildren(
    ...Object.entries(assignment.complaints).map(([k, v]) => el("option", { value: k }, v)),
  );
}

function buildInterviewForm() {
  const body = $("interview-rows").querySelector("tbody");
  body.replaceChildren();
  const form = assignment.interview;
  for (let i = 0; i < INTERVIEW_ROWS; i++) {
    const choice = el("select", { name: "choice" }, el("option", { value: "" }, ""));
    for (const c of assignment.choices) choice.append(el("option", { value: c.id }, c.name));
    for (const [k, v] of Object.entries(form.other_answers)) choice.append(el("option", { value: k }, v));
    const gender = el("select", { name: "gender" }, el("option", { value: "" }, ""));
    for (const [k, v] of Object.entries(form.genders)) gender.append(el("option", { value: k }, v));
    const age = el("select", { name: "age_band" }, el("option", { value: "" }, ""));
    for (const a of form.age_bands) age.append(el("option", { value: a }, a));
    body.append(el("tr", {}, el("td", {}, choice), el("td", {}, gender), el("td", {}, age)));
  }
}

function headcountRow(reading = {}) {
  const input = (name, value, attrs = {}) =>
    el("input", { name, type: "text", autocomplete: "off", value: value ?? "", ...attrs });
  return el(
    "tr",
    {},
    el("td", {}, input("checkpoint", reading.checkpoint, { placeholder: "10:00" })),
    el("td", { class: "num" }, input("count", reading.count, { inputMode: "numeric" })),
    el("td", { class: "num" }, input("official", reading.official, { inputMode: "numeric" })),
  );
}

function fillHeadcount(readings) {
  const body = $("headcount-rows").querySelector("tbody");
  body.replaceChildren(...readings.map((r) => headcountRow(r)), headcountRow());
}

function localNow() {
  const d = new Date();
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 16);
}

function resetForms() {
  $("protocol-form").reset();
  $("incident-form").reset();
  $("interviews-form").reset();
  fillHeadcount([]);
  $("headcount-rows").dataset.from = "";
  $("observed_at").value = localNow();
  photos.protocol = photos.incident = null;
  $("photo-note").hidden = true;
  for (const kind of Object.keys(correcting)) {
    correcting[kind] = null;
    $(`${kind}-correcting`).hidden = true;
  }
  updateChecks();
  showPrevious();
}

async function onPhoto(kind, input) {
  const file = input.files && input.files[0];
  photos[kind] = null;
  if (!file) return;
  const reduced = await reducePhoto(file);
  photos[kind] = reduced.blob;
  if (kind === "protocol") {
    const note = $("photo-note");
    note.hidden = false;
    note.textContent = reduced.reduced ? fill(M.photoReduced, reduced) : M.notPicture;
  }
}

// which version a new report replaces: a protocol copy always corrects the newest version the
// phone knows of for its station (sent or still waiting); an incident or a batch the one chosen
function versionFields(kind, st) {
  const old = correcting[kind];
  const fields = old && old.state === "rejected" ? { correctionOf: old.key } : {};
  let last = VERSIONED.has(kind) ? head(items, kind, st) : null;
  if (!VERSIONED.has(kind) && old) {
    if (old.state !== "rejected") last = old;
    else return { ...fields, replaces: old.replaces ?? null, replacesKey: old.replacesKey ?? null };
  }
  if (!last) return fields;
  return { ...fields, ...(last.state === "sent" ? { replaces: last.serverId } : { replacesKey: last.key }) };
}

async function queue(kind, st, body, extra = {}) {
  await enqueue(session.username, { kind, station: st, body, ...versionFields(kind, st), ...extra });
  resetForms();
  banner(M.queued);
  await refresh();
  outbox.now();
}

async function submitProtocol(event) {
  event.preventDefault();
  const lines = {};
  for (const input of $("protocol-form").querySelectorAll("input[data-key]")) {
    const n = parseCount(input.value);
    if (n !== null) lines[input.dataset.key] = n; // an empty line is the server's to refuse
  }
  const old = correcting.protocol;
  const st = old ? old.station : station();
  let photo = photos.protocol;
  if (!photo && old && old.photo && old.field !== "photo") photo = old.photo;
  await queue("protocol", st, { lines }, photo ? { photo } : {});
}

async function submitIncident(event) {
  event.preventDefault();
  const text = $("description").value.trim();
  if (!text) {
    banner(M.emptyIncident, "error");
    return;
  }
  const old = correcting.incident;
  const st = old ? old.station : station();
  const body = {
    category: $("category").value,
    text,
    complaint: $("complaint").value,
    reporter_role: "observer",
  };
  if ($("observed_at").value) body.observed_at = $("observed_at").value;
  let media = photos.incident;
  if (!media && old && old.media && old.field !== "photo") media = old.media;
  await queue("incident", st, body, media ? { media } : {});
}

async function submitInterviews(event) {
  event.preventDefault();
  const band = $("band").value.trim() || null;
  const records = [];
  for (const row of $("interview-rows").querySelectorAll("tbody tr")) {
    const [choice, gender, age] = [...row.querySelectorAll("select")].map((s) => s.value);
    if (choice) records.push({ band, choice, gender: gender || null, age_band: age || null });
  }
  if (!records.length) {
    banner(M.emptyBatch, "error");
    return;
  }
  const old = correcting.interviews;
  await queue("interviews", old ? old.station : station(), { records });
}

async function submitHeadcount(event) {
  event.preventDefault();
  const readings = [];
  for (const row of $("headcount-rows").querySelectorAll("tbody tr")) {
    const [checkpoint, count, official] = [...row.querySelectorAll("input")].map((i) => i.value.trim());
    if (!checkpoint && !count) continue;
    const reading = { checkpoint, count: parseCount(count) ?? count };
    if (official) reading.official = parseCount(official) ?? official;
    readings.push(reading); // a reading the phone cannot read is the server's to refuse
  }
  if (!readings.length) {
    banner(M.emptyHeadcount, "error");
    return;
  }
  const old = correcting.headcount;
  await queue("headcount", old ? old.station : station(), { readings });
}

function correct(item) {
  resetForms();
  correcting[item.kind] = item;
  const note = $(`${item.kind}-correcting`);
  if (item.state === "rejected") {
    note.hidden = false;
    note.textContent = fill(M.correcting, { reason: item.reason });
  }
  if ([...$("station").options].some((o) => o.value === item.station)) $("station").value = item.station;
  if (item.kind === "protocol") {
    for (const input of $("protocol-form").querySelectorAll("input[data-key]")) {
      const v = (item.body.lines || {})[input.dataset.key];
      input.value = v === null || v === undefined ? "" : String(v);
    }
    updateChecks();
    showPrevious();
  } else if (item.kind === "incident") {
    $("category").value = item.body.category || "";
    $("description").value = item.body.text || "";
    $("complaint").value = item.body.complaint || "not_filed";
    $("observed_at").value = (item.body.observed_at || "").slice(0, 16);
  } else if (item.kind === "headcount") {
    fillHeadcount(item.body.readings || []);
  } else if (item.kind === "interviews") {
    const rows = [...$("interview-rows").querySelectorAll("tbody tr")];
    const records = item.body.records || [];
    $("band").value = (records[0] && records[0].band) || "";
    records.slice(0, rows.length).forEach((r, i) => {
      const [choice, gender, age] = rows[i].querySelectorAll("select");
      choice.value = r.choice || "";
      gender.value = r.gender || "";
      age.value = r.age_band || "";
    });
  }
  showTab(item.kind);
}

// ------------------------------------------------------------------ what the phone holds
function title(item) {
  if (item.kind === "protocol") return fill(M.protocolTitle, item);
  if (item.kind === "incident") return fill(M.incidentTitle, item);
  if (item.kind === "headcount") return fill(M.headcountTitle, item);
  return fill(M.interviewsTitle, { ...item, n: (item.body.records || []).length });
}

function renderItem(item) {
  const badge = el("span", { class: `badge ${item.state}`, "data-state": item.state }, M[item.state]);
  const check =
    item.kind === "protocol" && item.state === "sent" && item.status
      ? el("span", { class: `status ${item.status}` }, assignment.statuses[item.status] || item.status)
      : null;
  const when = new Date(item.deviceTime).toLocaleString(document.documentElement.lang);
  const meta = [fill(M.madeAt, { time: when })];
  if (item.serverId) meta.push(`#${item.serverId}`);
  if (item.source === "server") meta.push(M.fromServer);
  if (item.replacedBy) meta.push(M.replacedBy);
  if (item.state === "waiting" && item.lastError) meta.push(fill(M.lastTry, { error: item.lastError === "no connection" ? M.noConnection : item.lastError }));
  const li = el(
    "li",
    { class: `item ${item.state}`, "data-key": item.key, "data-kind": item.kind, "data-state": item.state },
    el("div", {}, el("strong", {}, title(item)), " ", badge, " ", check),
    el("div", { class: "muted" }, meta.join(" · ")),
  );
  if (item.state === "rejected" || item.state === "corrected") {
    li.append(el("div", { class: "reason" }, fill(M.reason, { reason: item.reason || "" })));
  }
  const isHead =
    VERSIONED.has(item.kind) && item.state === "sent" && head(items, item.kind, item.station) === item;
  if (item.state === "rejected" || isHead) {
    const button = el(
      "button",
      { type: "button", class: "secondary correct" },
      item.state === "rejected" ? M.correct : M.correctSent,
    );
    button.addEventListener("click", () => correct(item));
    li.append(el("p", {}, button));
  }
  return li;
}

async function refresh() {
  if (!session) return;
  items = await itemsOf(session.username);
  const n = { waiting: 0, sent: 0, rejected: 0 };
  for (const i of items) if (i.state in n) n[i.state] += 1;
  $("outbox-summary").textContent = fill(M.summary, n);
  $("outbox-summary").dataset.waiting = n.waiting;
  $("outbox-summary").dataset.rejected = n.rejected;
  $("outbox-count").textContent = n.waiting + n.rejected ? String(n.waiting + n.rejected) : "";
  $("items").replaceChildren(...[...items].reverse().map(renderItem));
  showPrevious();
}

function showPrevious() {
  if (!assignment) return;
  const last = correcting.protocol ? null : head(items, "protocol", station());
  $("protocol-previous").hidden = !last;
  $("protocol-previous").textContent = last ? M.previous : "";
  if (!correcting.headcount) {
    // a head count grows through the day: the last version is the start of the next
    const counted = head(items, "headcount", station());
    const shown = $("headcount-rows").dataset.from || "";
    const key = counted ? `${station()}:${counted.key}` : `${station()}:`;
    if (shown !== key) {
      fillHeadcount(counted ? counted.body.readings || [] : []);
      $("headcount-rows").dataset.from = key;
    }
    $("headcount-previous").hidden = !counted;
    $("headcount-previous").textContent = counted ? M.headcountPrevious : "";
  }
}

function showTab(name) {
  for (const pane of document.querySelectorAll(".pane")) pane.hidden = pane.id !== `pane-${name}`;
  for (const tab of document.querySelectorAll(".tab")) {
    tab.setAttribute("aria-current", tab.dataset.tab === name ? "page" : "false");
  }
  $("station-card").hidden = name === "outbox" || !assignment.stations.length;
}

function start() {
  $("login").hidden = true;
  $("work").hidden = false;
  $("sign-out").hidden = false;
  $("who").textContent = assignment.full_name || assignment.username;
  const select = $("station");
  select.replaceChildren(
    ...assignment.stations.map((s) => el("option", { value: s.code }, `${s.code} · ${s.name}`)),
  );
  $("no-station").hidden = assignment.stations.length > 0;
  const observer = assignment.role === "observer";
  const tabs = observer ? ["protocol", "incident", "headcount", "outbox"] : ["interviews", "outbox"];
  for (const tab of document.querySelectorAll(".tab")) tab.hidden = !tabs.includes(tab.dataset.tab);
  if (observer) {
    buildProtocolForm();
    buildIncidentForm();
  } else {
    buildInterviewForm();
  }
  resetForms();
  showTab(assignment.stations.length ? tabs[0] : "outbox");
  refresh();
  outbox.now();
}

async function main() {
  showNet();
  window.addEventListener("online", showNet);
  window.addEventListener("offline", showNet);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: document.body.dataset.scope }).catch(() => {});
  }
  $("login-form").addEventListener("submit", login);
  $("sign-out").addEventListener("click", signOut);
  $("protocol-form").addEventListener("submit", submitProtocol);
  $("incident-form").addEventListener("submit", submitIncident);
  $("interviews-form").addEventListener("submit", submitInterviews);
  $("headcount-form").addEventListener("submit", submitHeadcount);
  $("headcount-add").addEventListener("click", () =>
    $("headcount-rows").querySelector("tbody").append(headcountRow()),
  );
  $("photo").addEventListener("change", (e) => onPhoto("protocol", e.target));
  $("incident-photo").addEventListener("change", (e) => onPhoto("incident", e.target));
  $("station").addEventListener("change", showPrevious);
  $("send-now").addEventListener("click", () => outbox.now());
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => showTab(tab.dataset.tab));
  }
  session = await getMeta("session");
  assignment = session ? await getMeta(`assignment:${session.username}`) : null;
  if (!session || !assignment) {
    showLogin();
    return;
  }
  start();
  const before = JSON.stringify(assignment);
  if (navigator.onLine && (await loadAssignment())) {
    // the assignment and the history as the server has them now (a new station, a new label)
    try {
      await pull(session);
    } catch {
      // the outbox pulls again before it sends
    }
    if (JSON.stringify(assignment) !== before) start();
    else refresh();
  }
  document.body.dataset.ready = "true";
}

main().finally(() => {
  document.body.dataset.ready = "true";
});
