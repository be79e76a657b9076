// The phone's memory of the field app (IndexedDB): the session, the assignment, and every
// report as an item. An item is made on the phone with a key of its own (crypto.randomUUID,
// the submission's idempotency key) and the device time, and waits in the outbox until the
// server confirms it (2xx, or its answer to a replay of the same key). An item the server
// refuses (4xx) is kept with the reason, for the observer to correct and send again as a new
// item; nothing is ever dropped. A lost connection, a server error or a killed server leave the
// item waiting: it is sent again with the same key, so that the server stores it once.
//
// item = {key, user, kind, station, body, photo?, media?, mediaSha?, replaces?, replacesKey?,
//         correctionOf?, deviceTime, createdAt, state: waiting|sent|rejected|corrected,
//         reason?, serverId?, status?, replacedBy?, source: device|server, attempts}

const DB_NAME = "saylau-field";
const API = "/api/v1";

const done = (t) =>
  new Promise((resolve, reject) => {
    t.oncomplete = () => resolve();
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
const result = (r) =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

let opened = null;
export function database() {
  if (!opened) {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore("meta", { keyPath: "k" });
      db.createObjectStore("items", { keyPath: "key" }).createIndex("user", "user");
    };
    opened = result(request);
  }
  return opened;
}

export async function getMeta(k) {
  const db = await database();
  const row = await result(db.transaction("meta").objectStore("meta").get(k));
  return row ? row.v : undefined;
}

export async function setMeta(k, v) {
  const db = await database();
  const t = db.transaction("meta", "readwrite");
  if (v === undefined) t.objectStore("meta").delete(k);
  else t.objectStore("meta").put({ k, v });
  await done(t);
}

export async function getItem(key) {
  const db = await database();
  return result(db.transaction("items").objectStore("items").get(key));
}

export async function putItem(item) {
  const db = await database();
  const t = db.transaction("items", "readwrite");
  t.objectStore("items").put(item);
  await done(t);
}

/** Every item of one person, oldest first. */
export async function itemsOf(user) {
  const db = await database();
  const all = await result(db.transaction("items").objectStore("items").index("user").getAll(user));
  return all.sort((a, b) => a.createdAt - b.createdAt || (a.serverId ?? 0) - (b.serverId ?? 0));
}

/** The newest version (sent or waiting) of a person's reports of one kind at one station. */
export function head(items, kind, station) {
  const live = items.filter(
    (i) => i.kind === kind && i.station === station && (i.state === "sent" || i.state === "waiting"),
  );
  const replacedIds = new Set(live.map((i) => i.replaces).filter((x) => x != null));
  const replacedKeys = new Set(live.map((i) => i.replacesKey).filter((x) => x != null));
  const heads = live.filter(
    (i) => i.replacedBy == null && !replacedIds.has(i.serverId) && !replacedKeys.has(i.key),
  );
  return heads.length ? heads[heads.length - 1] : null;
}

/** Put a new report in the outbox (with its own key and the device time). */
export async function enqueue(user, fields) {
  const item = {
    ...fields,
    key: crypto.randomUUID(),
    user,
    deviceTime: new Date().toISOString(),
    createdAt: Date.now(),
    state: "waiting",
    source: "device",
    attempts: 0,
  };
  await putItem(item);
  if (fields.correctionOf) {
    const old = await getItem(fields.correctionOf);
    if (old && old.state === "rejected") await putItem({ ...old, state: "corrected", correctedBy: item.key });
  }
  return item;
}

/** The server's copy of what this person sent: a new phone learns it before sending. */
export async function pull(session) {
  const r = await fetch(`${API}/me/submissions`, { credentials: "same-origin" });
  if (!r.ok) throw Object.assign(new Error(`pull: ${r.status}`), { status: r.status });
  const rows = await r.json();
  for (const row of rows) {
    const mine = await getItem(row.idempotency_key);
    const known = {
      serverId: row.id,
      replaces: row.replaces,
      replacedBy: row.replaced_by,
      status: row.status,
      state: "sent",
    };
    if (mine && mine.user === session.username) {
      await putItem({ ...mine, ...known, reason: undefined });
    } else if (!mine) {
      const { device_time: deviceTime, ...body } = row.body || {};
      await putItem({
        key: row.idempotency_key,
        user: session.username,
        kind: row.kind,
        station: row.station,
        body,
        deviceTime: deviceTime || row.received_at,
        createdAt: Date.parse(row.received_at),
        source: "server",
        attempts: 0,
        ...known,
      });
    }
  }
  await setMeta(`pulled:${session.username}`, new Date().toISOString());
  return rows.length;
}

function reasonOf(status, answer) {
  if (!answer || typeof answer !== "object") return `HTTP ${status}`;
  const where = answer.field ? ` (${answer.field})` : "";
  const detail = [
    answer.expected ? `expected ${answer.expected}` : "",
    answer.found ? `found ${answer.found}` : "",
  ]
    .filter(Boolean)
    .join(", ");
  return `${answer.message || answer.error || `HTTP ${status}`}${where}${detail ? `: ${detail}` : ""}`;
}

async function answerOf(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

// what to do with an answer: ok (confirmed), rejected (keep with the reason), auth (sign in
// again, keep waiting), retry (keep waiting, try later)
function verdict(status, answer) {
  if (status >= 200 && status < 300) return "ok";
  if (status === 401) return "auth";
  if (status === 403 && answer && answer.field === "csrf_token") return "auth";
  if (status === 408 || status === 425 || status === 429 || status >= 500) return "retry";
  if (status >= 400 && status < 500 && answer && answer.error) return "rejected";
  return "retry"; // a proxy's page, a captive portal: not the server's judgement
}

async function post(path, session, payload) {
  const headers = { "X-CSRF-Token": session.csrf || "" };
  let body = payload;
  if (!(payload instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(payload);
  }
  const response = await fetch(`${API}${path}`, {
    method: "POST",
    credentials: "same-origin",
    headers,
    body,
  });
  return { status: response.status, answer: await answerOf(response) };
}

async function resolveReplaces(item) {
  if (item.replacesKey == null) return { ready: true, replaces: item.replaces ?? null };
  let ref = await getItem(item.replacesKey);
  const seen = new Set();
  while (ref && !seen.has(ref.key)) {
    seen.add(ref.key);
    if (ref.state === "sent") return { ready: true, replaces: ref.serverId };
    if (ref.state === "waiting") return { ready: false };
    // the version it corrects was refused: it corrects what that one corrected
    if (ref.replacesKey == null) return { ready: true, replaces: ref.replaces ?? null };
    ref = await getItem(ref.replacesKey);
  }
  return { ready: true, replaces: null };
}

/** Send one item; returns the verdict. */
async function send(item, session) {
  const { ready, replaces } = await resolveReplaces(item);
  if (!ready) return "after"; // the version it corrects has not gone yet
  const common = { station: item.station, idempotency_key: item.key, device_time: item.deviceTime };
  if (replaces != null) common.replaces = replaces;
  let r;
  if (item.kind === "protocol" && item.photo) {
    const form = new FormData();
    for (const [k, v] of Object.entries(common)) form.append(k, String(v));
    form.append("lines", JSON.stringify(item.body.lines || {}));
    form.append("photo", item.photo, "protocol.jpg");
    r = await post("/protocols/photo", session, form);
  } else if (item.kind === "protocol") {
    r = await post("/protocols", session, { ...common, lines: item.body.lines || {} });
  } else if (item.kind === "incident") {
    let media = [];
    if (item.media) {
      if (!item.mediaSha) {
        const form = new FormData();
        form.append("photo", item.media, "incident.jpg");
        const up = await post("/media", session, form);
        const v = verdict(up.status, up.answer);
        if (v !== "ok") return finish(item, v, up);
        item.mediaSha = up.answer.sha256;
        await putItem(item);
      }
      media = [item.mediaSha];
    }
    r = await post("/incidents", session, { ...common, ...item.body, media });
  } else if (item.kind === "headcount") {
    r = await post("/headcounts", session, { ...common, ...item.body });
  } else if (item.kind === "interviews") {
    r = await post("/interviews", session, { ...common, records: item.body.records });
  } else {
    r = { status: 400, answer: { error: "Unknown", message: `unknown kind ${item.kind}` } };
  }
  return finish(item, verdict(r.status, r.answer), r);
}

async function finish(item, v, r) {
  item.attempts = (item.attempts || 0) + 1;
  if (v === "ok") {
    item.state = "sent";
    item.serverId = r.answer.id;
    item.status = r.answer.status;
    item.replaces = r.answer.replaces;
    item.sentAt = new Date().toISOString();
    item.reason = undefined;
  } else if (v === "rejected") {
    item.state = "rejected";
    item.reason = reasonOf(r.status, r.answer);
    item.field = r.answer && r.answer.field;
    item.httpStatus = r.status;
  } else {
    item.lastError = r ? `HTTP ${r.status}` : "no connection";
    item.lastTry = new Date().toISOString();
  }
  await putItem(item);
  return v;
}

/**
 * The outbox: drains when a connection appears, on a timer with backoff, and when asked.
 * `onChange()` is called after every change; `onAuth()` when the session has ended.
 */
export class Outbox {
  constructor({ onChange = () => {}, onAuth = () => {} } = {}) {
    this.onChange = onChange;
    this.onAuth = onAuth;
    this.failures = 0;
    this.timer = null;
    this.running = false;
    this.reachable = null; // did the server answer the last try (null: not tried yet)
    window.addEventListener("online", () => this.now());
    setInterval(() => {
      if (!this.timer) this.drain();
    }, 30_000); // the periodic retry, besides the backoff
  }

  /** Send now (a connection appeared, or the person asked). */
  now() {
    this.failures = 0;
    clearTimeout(this.timer);
    this.timer = null;
    return this.drain();
  }

  later() {
    this.failures += 1;
    const base = Math.min(60_000, 1000 * 2 ** Math.min(this.failures - 1, 6));
    const delay = base / 2 + Math.random() * (base / 2);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.drain();
    }, delay);
    this.nextTry = Date.now() + delay;
  }

  async drain() {
    if (this.running) return;
    this.running = true;
    try {
      // one tab sends at a time (two would still be safe: the keys make a resend harmless)
      if (navigator.locks) {
        await navigator.locks.request("saylau-outbox", { ifAvailable: true }, async (lock) => {
          if (lock) await this.drainOnce();
        });
      } else {
        await this.drainOnce();
      }
    } finally {
      this.running = false;
    }
  }

  async drainOnce() {
    const session = await getMeta("session");
    if (!session) return;
    if (!navigator.onLine) return; // the "online" event sends (and the timer, should it lie)
    if (!(await getMeta(`pulled:${session.username}`))) {
      // a new phone learns what the server already has before it sends anything
      try {
        await pull(session);
        this.onChange();
      } catch (error) {
        if (error.status === 401) this.onAuth();
        else this.later();
        return;
      }
    }
    let stale = false;
    let waiting = (await itemsOf(session.username)).filter((i) => i.state === "waiting");
    // in the order they were made; a correction whose original has not gone yet waits for a
    // later pass (the phone's clock may have moved back between the two)
    for (let progress = true; waiting.length && progress; ) {
      progress = false;
      const after = [];
      for (const item of waiting) {
        let v;
        try {
          v = await send(item, session);
          if (v !== "after") this.reachable = true;
        } catch {
          this.reachable = false;
          v = await finish(item, "retry", null); // no connection, or the server went away
        }
        this.onChange();
        if (v === "auth") {
          this.onAuth();
          return;
        }
        if (v === "retry") {
          this.later();
          return;
        }
        if (v === "after") after.push(item);
        else progress = true;
        stale ||= v === "rejected" && item.field === "replaces";
      }
      waiting = after;
    }
    this.failures = 0;
    if (stale) {
      // another phone of the same person sent a newer version: learn it, to correct that one
      try {
        await pull(session);
        this.onChange();
      } catch {
        // the next start pulls again
      }
    }
  }
}
