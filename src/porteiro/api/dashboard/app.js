// The Porteiro dashboard: a static page that talks to the hub's REST API like any
// client (no build step, no CDN). Views: events (history, then live over SSE), readers
// (state, doors, remote opening), people (list, details, sync state, edit, face photo)
// and charts (uPlot for the time series, HTML bars for the rest). See docs/dashboard.md.

import { getLang, has, initialLang, locale, setLang, t, translate } from "./i18n.js";

const TOKEN_KEY = "porteiro.token";
const VIEWS = ["events", "readers", "people", "charts"];
const FEED_MAX = 500; // rows kept in the live feed
const PAGE = 100;
const READERS_EVERY = 10_000;
const CHARTS_EVERY = 60_000;
const COLORS = { granted: "#0072B2", denied: "#E69F00", other: "#B8B8B8", alarm: "#CC79A7" };

const state = {
  token: readToken(),
  me: null,
  admin: false,
  tz: undefined,
  view: null,
  devices: [],
  doorResults: new Map(), // "device/door" -> {text, kind}
  chartHours: 24,
  chart: null,
  timers: [],
};

const feed = {
  ids: new Set(),
  cursor: null,
  filters: {},
  source: null,
  lastId: 0,
  gen: 0,
  retry: 0,
  retryTimer: null,
  bannerTimer: null,
};

const people = {
  after: null,
  q: "",
  count: 0,
  selected: null,
  failed: new Set(),
  faceUrl: null,
  previewUrl: null,
  editing: null,
};

// -- small helpers --------------------------------------------------------------------

const $ = (selector, root = document) => root.querySelector(selector);

/** An element: h("p", {class: "x", onclick: fn, dataset: {a: 1}}, "text", child). */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const ICONS = {
  granted: "M5 12.5l4.5 4.5L19 7.5",
  denied: "M6.5 6.5l11 11M17.5 6.5l-11 11",
  alarm: "M12 3.5L2.5 20h19L12 3.5zM12 10v4.5M12 17.2v.3",
  door: "M6 21V3.5h12V21M3 21h18M14.5 12.5h.5",
  exit: "M14 4h5v16h-5M10 16.5l4.5-4.5L10 7.5M14.5 12H3.5",
  info: "M12 21a9 9 0 1 0 0-18a9 9 0 0 0 0 18zM12 11v6M12 7.5v.5",
  online: "M12 19a7 7 0 1 0 0-14a7 7 0 0 0 0 14z",
  offline: "M12 19a7 7 0 1 0 0-14a7 7 0 0 0 0 14zM7 7l10 10",
  open: "M4 21V3.5l9 2V21M13 5.5h5V21M2 21h20",
  closed: "M6 21V3.5h12V21M3 21h18M14.5 12.5h.5",
  unknown: "M9.5 9a2.5 2.5 0 1 1 3.5 2.3c-.7.3-1 .9-1 1.7v.5M12 17.2v.3",
  pending: "M12 21a9 9 0 1 0 0-18a9 9 0 0 0 0 18zM12 7v5l3 2",
  person: "M12 12a4 4 0 1 0 0-8a4 4 0 0 0 0 8zM4 21a8 8 0 0 1 16 0",
};

function icon(name, extra = "") {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", `icon icon-${name} ${extra}`.trim());
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name] || ICONS.info);
  svg.append(path);
  return svg;
}

function readToken() {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

function saveToken(token) {
  try {
    if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
    else window.sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives in memory only
  }
}

function toast(text, kind = "ok") {
  const box = $("#toast");
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 5000);
}

function formatBytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}

// -- the API --------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body, path, headers = null, message = "") {
    super(message || `HTTP ${status} ${path}`);
    this.status = status;
    this.body = body;
    this.path = path;
    this.headers = headers;
  }
}

/** A call to the hub. JSON in and out unless ``raw`` (the Response) or a Blob body.
 * 401 shows the login; other failures throw ApiError. */
async function api(path, { method = "GET", body, headers = {}, raw = false, login = true } = {}) {
  const init = { method, headers: { ...headers }, cache: "no-store" };
  if (state.token) init.headers.Authorization = `Bearer ${state.token}`;
  if (body instanceof Blob) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, null, path, null, error.message);
  }
  if (raw && response.ok) return response;
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data, path, response.headers);
    if (response.status === 401 && login) {
      signOut(t("login.invalid"));
    }
    throw error;
  }
  return data;
}

/** The problems of an error answer: [{field, message}]. */
function problemsOf(error) {
  const detail = error && error.body && typeof error.body === "object" ? error.body.detail : null;
  if (Array.isArray(detail)) {
    return detail.map((item) => ({
      field: item.field || (Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body").join(".") : "") || "",
      message: (getLang() === "pt" && item.message_pt) || item.message || item.msg || JSON.stringify(item),
    }));
  }
  if (typeof detail === "string") return [{ field: "", message: detail }];
  return [];
}

function errorText(error) {
  if (!(error instanceof ApiError)) return String(error && error.message ? error.message : error);
  if (error.status === 403) return t("common.needsAdmin");
  if (error.status === 404 && !problemsOf(error).length) return t("common.notAvailable", { path: error.path });
  if (error.status === 0) return t("login.unreachable", { error: error.message });
  const found = problemsOf(error).map((p) => p.message).join("; ");
  return found || `HTTP ${error.status}`;
}

function query(params) {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) out.append(key, String(item));
  }
  return out.toString();
}

// -- dates in the site's time zone ----------------------------------------------------

const formatters = new Map();

function formatter(options) {
  const key = `${locale()}|${state.tz}|${JSON.stringify(options)}`;
  let found = formatters.get(key);
  if (!found) {
    found = new Intl.DateTimeFormat(locale(), { timeZone: state.tz, ...options });
    formatters.set(key, found);
  }
  return found;
}

const TIME = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
const DAY = { day: "2-digit", month: "2-digit" };
const DATETIME = { ...DAY, year: "numeric", ...TIME };

function fmt(iso, options = DATETIME) {
  if (!iso) return t("common.none");
  const when = typeof iso === "number" ? new Date(iso) : new Date(iso);
  if (Number.isNaN(when.getTime())) return String(iso);
  return formatter(options).format(when);
}

function relative(iso) {
  if (!iso) return "";
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto" });
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(seconds, "second");
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
  return rtf.format(Math.round(seconds / 86400), "day");
}

function partsIn(ms) {
  const parts = {};
  const f = new Intl.DateTimeFormat("en-CA", {
    timeZone: state.tz, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  for (const part of f.formatToParts(new Date(ms))) parts[part.type] = part.value;
  return parts;
}

/** ISO time -> the value of a datetime-local input, in the site's time zone. */
function toLocalInput(iso) {
  if (!iso) return "";
  const p = partsIn(Date.parse(iso));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** A datetime-local value read in the site's time zone -> epoch milliseconds. */
function fromLocalInput(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value || "");
  if (!match) return null;
  const [y, mo, d, hh, mi, ss] = match.slice(1).map((v) => Number(v || 0));
  const wall = Date.UTC(y, mo - 1, d, hh, mi, ss);
  let ms = wall;
  for (let i = 0; i < 3; i += 1) { // converge on the zone's offset at that instant
    const p = partsIn(ms);
    const shown = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
    ms += wall - shown;
  }
  return ms;
}

// -- sign in, roles, navigation -------------------------------------------------------

async function signIn() {
  let me;
  try {
    me = await api("/api/whoami", { login: false });
  } catch (error) {
    if (error.status === 401) {
      showLogin(state.token ? t("login.invalid") : "");
    } else {
      showLogin(errorText(error));
    }
    return;
  }
  state.me = me;
  state.admin = me.scope === "admin";
  state.tz = validZone(me.timezone);
  formatters.clear();
  document.body.classList.toggle("is-admin", state.admin);
  document.body.classList.toggle("signed-in", true);
  for (const el of document.querySelectorAll(".admin-only")) el.hidden = !state.admin;
  renderWho();
  $("#view-login").hidden = true;
  $("#nav").hidden = false;
  $("#menu-toggle").hidden = false;
  await loadDevices().catch(() => {});
  route();
  loadEvents();
  startTimers();
}

function validZone(zone) {
  if (!zone) return undefined;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone }).format(0);
    return zone;
  } catch {
    return undefined;
  }
}

function renderWho() {
  const who = $("#who");
  const me = state.me;
  if (!me) {
    who.hidden = true;
    $("#logout").hidden = true;
    return;
  }
  who.hidden = false;
  who.textContent = me.open ? t("scope.open")
    : t("who", { name: me.name, scope: t(`scope.${me.scope}`) });
  who.dataset.scope = me.scope;
  $("#logout").hidden = Boolean(me.open);
}

function showLogin(message = "") {
  stopStream();
  stopTimers();
  state.me = null;
  state.admin = false;
  document.body.classList.remove("is-admin", "signed-in");
  for (const view of VIEWS) $(`#view-${view}`).hidden = true;
  $("#nav").hidden = true;
  $("#menu-toggle").hidden = true;
  $("#banner").hidden = true;
  renderWho();
  $("#view-login").hidden = false;
  $("#login-error").textContent = message;
  $("#login-token").value = "";
  $("#login-token").focus();
}

function signOut(message = "") {
  state.token = "";
  saveToken("");
  showLogin(message);
}

async function onLogin(event) {
  event.preventDefault();
  const token = $("#login-token").value.trim();
  if (!token) {
    $("#login-error").textContent = t("login.required");
    return;
  }
  state.token = token;
  saveToken(token);
  $("#login-error").textContent = "";
  await signIn();
  if (!state.me) {
    state.token = "";
    saveToken("");
  }
}

function route({ focus = false } = {}) {
  if (!state.me) return;
  const wanted = location.hash.replace(/^#/, "");
  const view = VIEWS.includes(wanted) ? wanted : "events";
  const first = state.view !== view;
  state.view = view;
  for (const name of VIEWS) $(`#view-${name}`).hidden = name !== view;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  closeMenu();
  if (first) {
    if (view === "readers") loadReaders();
    else if (view === "people") loadPeopleView();
    else if (view === "charts") loadCharts();
  }
  if (focus) {
    const heading = $(`#view-${view} h1`);
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

function closeMenu() {
  $("#nav").classList.remove("open");
  $("#menu-toggle").setAttribute("aria-expanded", "false");
}

function toggleMenu() {
  const open = !$("#nav").classList.contains("open");
  $("#nav").classList.toggle("open", open);
  $("#menu-toggle").setAttribute("aria-expanded", String(open));
}

function startTimers() {
  stopTimers();
  state.timers.push(setInterval(() => {
    if (state.view === "readers" && !document.hidden && !anyDialogOpen()) loadReaders();
  }, READERS_EVERY));
  state.timers.push(setInterval(() => {
    if (state.view === "charts" && !document.hidden) loadCharts();
  }, CHARTS_EVERY));
}

function stopTimers() {
  for (const timer of state.timers) clearInterval(timer);
  state.timers = [];
}

function anyDialogOpen() {
  return Boolean(document.querySelector("dialog[open]"));
}

function switchLanguage() {
  setLang(getLang() === "pt" ? "en" : "pt");
  formatters.clear();
  applyLanguage();
  if (!state.me) return;
  renderWho();
  fillDeviceFilter();
  loadEvents();
  if (state.view === "readers") loadReaders();
  else renderReaders();
  if (state.view === "people") loadPeopleView();
  if (state.view === "charts") loadCharts();
}

function applyLanguage() {
  translate();
  const button = $("#lang");
  button.textContent = t("lang.other");
  button.setAttribute("lang", getLang() === "pt" ? "en" : "pt-BR");
  button.setAttribute("aria-label", t("lang.switchLabel"));
  setLive(feed.liveState || "off");
}

// -- a confirmation dialog ------------------------------------------------------------

function confirmDialog({ title, text, ok }) {
  const dialog = $("#confirm");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = ok;
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      if (opener && opener.isConnected) opener.focus();
    }, { once: true });
    dialog.returnValue = "cancel";
    dialog.showModal();
    $("#confirm-cancel").focus();
  });
}

// -- events ---------------------------------------------------------------------------

function readFilters() {
  const form = $("#filters");
  return {
    device: form.device.value,
    kind: form.kind.value,
    granted: form.granted.value,
    user_id: form.user_id.value.trim(),
    since: form.since.value,
    until: form.until.value,
  };
}

function apiFilters(filters) {
  return {
    device: filters.device, kind: filters.kind, granted: filters.granted,
    user_id: filters.user_id, since: filters.since, until: filters.until,
  };
}

function eventCategory(ev) {
  if (ev.kind === "alarm") return "alarm";
  if (ev.kind === "access_control") {
    if (ev.granted === true) return "granted";
    if (ev.granted === false) return "denied";
    return "info";
  }
  if (ev.kind === "door_status") return "door";
  if (ev.kind === "exit_button") return "exit";
  return "info";
}

function categoryLabel(category, ev) {
  switch (category) {
    case "granted": return t("result.granted");
    case "denied": return t("result.denied");
    case "alarm": return t("kind.alarm");
    case "door": return t("kind.door_status");
    case "exit": return t("kind.exit_button");
    default: return has(`kind.${ev.kind}`) ? t(`kind.${ev.kind}`) : ev.kind;
  }
}

function displayMessage(ev) {
  const decision = ev.data && typeof ev.data === "object" ? ev.data.PorteiroDecision : null;
  return decision && typeof decision === "object" && decision.message ? String(decision.message) : "";
}

function withToken(url) {
  if (!state.token) return url;
  return `${url}${url.includes("?") ? "&" : "?"}access_token=${encodeURIComponent(state.token)}`;
}

function eventRow(ev, { fresh = false } = {}) {
  const category = eventCategory(ev);
  const when = ev.time || ev.received_at;
  const message = displayMessage(ev);
  const row = h("li", {
    class: `event ev-${category}${fresh ? " fresh" : ""}`,
    dataset: { id: ev.id, kind: ev.kind, device: ev.device, category },
  },
  h("span", { class: "badge" }, icon(category === "exit" ? "exit" : category), h("span", { text: categoryLabel(category, ev) })),
  h("time", { datetime: when || "", title: fmt(when) },
    h("span", { class: "clock", text: fmt(when, TIME) }), " ",
    h("span", { class: "day", text: fmt(when, DAY) })),
  h("span", { class: "device", text: ev.device }),
  h("p", { class: "summary", text: ev.summary || ev.code }),
  message ? h("p", { class: "display", text: t("events.display", { message }) }) : null);
  if (ev.snapshot_url) {
    row.append(h("img", {
      class: "thumb", loading: "lazy", decoding: "async", width: 56, height: 56,
      src: withToken(ev.snapshot_url), alt: t("events.snapshot", { id: ev.id }),
      onerror: (event) => event.currentTarget.replaceWith(h("span", { class: "thumb thumb-missing", title: t("events.snapshot", { id: ev.id }) }, icon("person"))),
    }));
    row.classList.add("has-thumb");
  }
  return row;
}

function setLive(kind) {
  feed.liveState = kind;
  const live = $("#live");
  live.dataset.state = kind;
  $("#live-text").textContent = t(`live.${kind}`);
}

function showBanner(show) {
  clearTimeout(feed.bannerTimer);
  $("#banner").hidden = !show;
}

async function loadEvents({ more = false } = {}) {
  const list = $("#feed");
  const gen = more ? feed.gen : ++feed.gen;
  if (!more) {
    stopStream();
    feed.filters = readFilters();
    feed.ids.clear();
    feed.cursor = null;
    list.replaceChildren(h("li", { class: "loading", text: t("events.loading") }));
    $("#feed-empty").hidden = true;
    $("#feed-more").hidden = true;
    describeFilters();
  }
  const lang = getLang();
  try {
    // The newest id first: the stream replays from there, so nothing falls in between.
    let head = feed.lastId;
    if (!more) {
      const newest = await api(`/api/events?${query({ limit: 1 })}`);
      head = newest.events.length ? newest.events[0].id : 0;
    }
    const page = await api(`/api/events?${query({
      ...apiFilters(feed.filters), limit: PAGE, lang, cursor: more ? feed.cursor : null,
    })}`);
    if (gen !== feed.gen) return;
    if (!more) list.replaceChildren();
    const rows = [];
    for (const ev of page.events) {
      if (feed.ids.has(ev.id)) continue;
      feed.ids.add(ev.id);
      rows.push(eventRow(ev));
    }
    append(list, rows);
    feed.cursor = page.next_cursor;
    $("#feed-more").hidden = !feed.cursor;
    const filtered = Object.values(feed.filters).some(Boolean);
    $("#feed-empty").textContent = t(filtered ? "events.empty" : "events.none");
    $("#feed-empty").hidden = list.children.length > 0;
    if (!more) {
      feed.lastId = head;
      const untilMs = feed.filters.until ? fromLocalInput(feed.filters.until) : null;
      if (untilMs !== null && untilMs <= Date.now()) {
        setLive("paused");
        showBanner(false);
      } else {
        startStream();
      }
    }
  } catch (error) {
    if (gen !== feed.gen) return;
    if (error.status === 401) return;
    list.replaceChildren(h("li", { class: "error", text: t("common.error", { error: errorText(error) }) }));
  }
}

function describeFilters() {
  const f = feed.filters;
  const parts = [];
  if (f.device) parts.push(`${t("filter.device")}: ${f.device}`);
  if (f.kind) parts.push(`${t("filter.kind")}: ${t(`kind.${f.kind}`)}`);
  if (f.granted) parts.push(`${t("filter.result")}: ${t(f.granted === "true" ? "result.granted" : "result.denied")}`);
  if (f.user_id) parts.push(`${t("filter.person")}: ${f.user_id}`);
  if (f.since) parts.push(`${t("filter.since")}: ${fmt(fromLocalInput(f.since))}`);
  if (f.until) parts.push(`${t("filter.until")}: ${fmt(fromLocalInput(f.until))}`);
  $("#filters-note").textContent = parts.length ? t("filter.active", { text: parts.join(" · ") }) : "";
  $("#filters-count").textContent = parts.length ? t("filter.count", { count: parts.length }) : "";
}

function matchesClientFilters(ev) {
  const f = feed.filters;
  if (f.device && ev.device !== f.device) return false;
  if (f.kind && ev.kind !== f.kind) return false;
  if (f.granted && String(ev.granted) !== f.granted) return false;
  if (f.user_id && ev.user_id !== f.user_id) return false;
  const when = Date.parse(ev.time || ev.received_at || "");
  if (f.since && !Number.isNaN(when) && when < fromLocalInput(f.since)) return false;
  if (f.until && !Number.isNaN(when) && when >= fromLocalInput(f.until)) return false;
  return true;
}

function startStream() {
  stopStream();
  const f = feed.filters;
  const params = query({
    device: f.device, kind: f.kind, granted: f.granted, after: feed.lastId, lang: getLang(),
    access_token: state.token || null,
  });
  const source = new EventSource(`/api/events/stream?${params}`);
  feed.source = source;
  setLive("connecting");
  feed.bannerTimer = setTimeout(() => {
    if (feed.source === source && source.readyState !== EventSource.OPEN) showBanner(true);
  }, 3000);
  source.addEventListener("open", () => {
    if (feed.source !== source) return;
    feed.retry = 0;
    setLive("on");
    showBanner(false);
  });
  source.addEventListener("event", (message) => {
    if (feed.source !== source) return;
    let ev;
    try {
      ev = JSON.parse(message.data);
    } catch {
      return;
    }
    feed.lastId = Math.max(feed.lastId, Number(message.lastEventId) || ev.id || 0);
    onLiveEvent(ev);
  });
  source.addEventListener("error", () => {
    if (feed.source !== source) return;
    setLive("off");
    showBanner(true);
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (an HTTP error): try again ourselves, checking the token.
      source.close();
      feed.source = null;
      const wait = Math.min(30_000, 1000 * 2 ** feed.retry);
      feed.retry += 1;
      feed.retryTimer = setTimeout(reconnect, wait);
    }
  });
}

async function reconnect() {
  try {
    await api("/api/whoami");
  } catch (error) {
    if (error.status === 401) return;
  }
  if (state.me) startStream();
}

function stopStream() {
  clearTimeout(feed.retryTimer);
  clearTimeout(feed.bannerTimer);
  if (feed.source) feed.source.close();
  feed.source = null;
}

function onLiveEvent(ev) {
  if (feed.ids.has(ev.id) || !matchesClientFilters(ev)) {
    noteDeviceActivity(ev);
    return;
  }
  feed.ids.add(ev.id);
  const list = $("#feed");
  const row = eventRow(ev, { fresh: true });
  // Newest on top, in id order even when a replay and live events interleave.
  let before = list.firstElementChild;
  while (before && Number(before.dataset.id) > ev.id) before = before.nextElementSibling;
  list.insertBefore(row, before);
  while (list.children.length > FEED_MAX) {
    const last = list.lastElementChild;
    feed.ids.delete(Number(last.dataset.id));
    last.remove();
    // Older pages would now leave a gap: look further back with the time filters.
    feed.cursor = null;
    $("#feed-more").hidden = true;
  }
  $("#feed-empty").hidden = true;
  noteDeviceActivity(ev);
}

let readersSoon = null;

function noteDeviceActivity(ev) {
  if (state.view !== "readers" || readersSoon) return;
  if (ev.kind === "door_status" || ev.kind === "access_control" || ev.kind === "system") {
    readersSoon = setTimeout(() => {
      readersSoon = null;
      if (!anyDialogOpen()) loadReaders();
    }, 1500);
  }
}

async function exportCsv() {
  const note = $("#filters-note");
  const button = $("#f-export");
  button.disabled = true;
  note.textContent = t("filter.exporting");
  try {
    const response = await api(`/api/events?${query({
      ...apiFilters(readFilters()), format: "csv", lang: getLang(),
    })}`, { raw: true });
    const blob = await response.blob();
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (/filename="?([^";]+)"?/.exec(disposition) || [])[1] || "porteiro-events.csv";
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    note.textContent = t("filter.exported", { size: formatBytes(blob.size) });
  } catch (error) {
    note.textContent = t("common.error", { error: errorText(error) });
  } finally {
    button.disabled = false;
  }
}

function fillDeviceFilter() {
  const select = $("#f-device");
  const chosen = select.value;
  const options = [h("option", { value: "", text: t("filter.allReaders") })];
  for (const device of state.devices) options.push(h("option", { value: device.name, text: device.name }));
  select.replaceChildren(...options);
  select.value = state.devices.some((d) => d.name === chosen) ? chosen : "";
}

// -- readers --------------------------------------------------------------------------

async function loadDevices() {
  const data = await api(`/api/devices?${query({ lang: getLang() })}`);
  state.devices = data.devices || [];
  fillDeviceFilter();
  return state.devices;
}

async function loadReaders() {
  const note = $("#readers-note");
  try {
    await loadDevices();
    note.textContent = "";
    renderReaders();
  } catch (error) {
    if (error.status !== 401) note.textContent = t("common.error", { error: errorText(error) });
  }
}

function doorName(door) {
  const match = /^Door ?(\d+)$/i.exec(door.name || "");
  if (!door.name || match) return t("door.name", { n: match ? match[1] : door.index + 1 });
  return door.name;
}

function doorsOf(device) {
  if (Array.isArray(device.doors) && device.doors.length) return device.doors;
  return [{ index: 0, name: null, open: null }];
}

function fact(label, value, extra = null) {
  return [h("dt", { text: label }), h("dd", {}, value, extra)];
}

function renderReaders() {
  const host = $("#readers");
  if (!state.me) return;
  const focused = document.activeElement && document.activeElement.dataset
    ? document.activeElement.dataset.focusKey : null;
  if (!state.devices.length) {
    host.replaceChildren(h("p", { class: "empty", text: t("readers.none") }));
    return;
  }
  host.replaceChildren(...state.devices.map(readerCard));
  if (focused) {
    const again = host.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}

function readerCard(device) {
  const online = Boolean(device.online);
  const mode = has(`mode.${device.mode}`) ? t(`mode.${device.mode}`) : device.mode;
  const last = device.last_event;
  const collector = device.collector;
  const card = h("article", {
    class: `card reader ${online ? "is-online" : "is-offline"}`,
    dataset: { device: device.name }, "aria-labelledby": `reader-${device.id}`,
  },
  h("header", { class: "reader-head" },
    h("h2", { id: `reader-${device.id}`, text: device.name }),
    h("span", { class: `pill ${online ? "pill-online" : "pill-offline"}` },
      icon(online ? "online" : "offline"), h("span", { text: t(online ? "reader.online" : "reader.offline") }))),
  h("h3", { text: t("reader.doors") }),
  h("ul", { class: "doors" }, doorsOf(device).map((door) => doorRow(device, door))),
  h("dl", { class: "facts" },
    fact(t("reader.mode"), mode),
    fact(t("reader.lastContact"), device.last_contact ? fmt(device.last_contact) : t("reader.never"),
      device.last_contact ? h("small", { class: "muted", text: ` (${relative(device.last_contact)})` }) : null),
    fact(t("reader.today"), h("strong", { class: "today", text: String(device.events_today ?? 0) })),
    fact(t("reader.total"), String(device.events_total ?? 0)),
    fact(t("reader.firmware"), device.firmware || t("reader.unknown")),
    fact(t("reader.model"), device.device_type || t("reader.unknown")),
    fact(t("reader.address"), device.host || t("common.none")),
    device.serial ? fact(t("reader.serial"), device.serial) : null,
    collector ? fact(t("reader.collector"), t(collector.connected ? "reader.collectorUp" : "reader.collectorDown")) : null,
    last ? fact(t("reader.lastEvent"), last.summary, h("small", { class: "muted", text: ` · ${fmt(last.time)}` })) : null));
  return card;
}

function doorRow(device, door) {
  const name = doorName(door);
  const stateKey = door.open === true ? "open" : door.open === false ? "closed" : "unknown";
  const key = `${device.name}/${door.index}`;
  const result = state.doorResults.get(key);
  const row = h("li", { class: `door door-${stateKey}`, dataset: { door: door.index } },
    h("span", { class: "door-name", text: name }),
    h("span", { class: `pill pill-door-${stateKey}` }, icon(stateKey), h("span", { text: t(`door.${stateKey}`) })));
  if (state.admin) {
    row.append(h("button", {
      type: "button", class: "open-door",
      dataset: { device: device.name, door: door.index, focusKey: `open:${key}` },
      "aria-label": t("door.openLabel", { door: name, device: device.name }),
      onclick: (event) => openDoor(device.name, door, event.currentTarget),
    }, icon("open"), h("span", { text: t("door.openButton") })));
  }
  row.append(h("p", {
    class: `door-result${result ? ` result-${result.kind}` : ""}`, role: "status", "aria-live": "polite",
    dataset: { result: key },
  }, result ? result.text : ""));
  return row;
}

function setDoorResult(key, text, kind) {
  state.doorResults.set(key, { text, kind });
  const box = document.querySelector(`[data-result="${CSS.escape(key)}"]`);
  if (box) {
    box.textContent = text;
    box.className = `door-result result-${kind}`;
  }
}

async function openDoor(deviceName, door, button) {
  const name = doorName(door);
  const ok = await confirmDialog({
    title: t("door.confirmTitle"),
    text: t("door.confirmText", { door: name, device: deviceName }),
    ok: t("door.confirmOk"),
  });
  if (!ok) return;
  const key = `${deviceName}/${door.index}`;
  setDoorResult(key, t("door.opening"), "busy");
  if (button) button.disabled = true;
  try {
    const answer = await api(`/api/devices/${encodeURIComponent(deviceName)}/doors/${door.index}/open?${query({ lang: getLang() })}`,
      { method: "POST" });
    setDoorResult(key, t("door.opened", { door: name, time: fmt(answer.at, TIME), audit: answer.audit_id ?? "?" }), "ok");
  } catch (error) {
    setDoorResult(key, doorError(error), "error");
  } finally {
    if (button && button.isConnected) button.disabled = false;
  }
  setTimeout(() => { if (state.view === "readers" && !anyDialogOpen()) loadReaders(); }, 1500);
}

function doorError(error) {
  const body = error.body && typeof error.body === "object" ? error.body : {};
  const detail = body.error ? (body.error.text || body.error.name || "") : errorText(error);
  if (error.status === 403) return t("common.needsAdmin");
  if (error.status === 429) {
    const seconds = (error.headers && error.headers.get("Retry-After")) || "10";
    return t("door.rateLimited", { seconds });
  }
  if (error.status === 409 || body.outcome === "no_credentials") return t("door.noCredentials");
  if (body.outcome === "refused") return t("door.refused", { error: detail });
  if (body.outcome === "unreachable") return t("door.unreachable", { error: detail });
  return t("door.failed", { error: errorText(error) });
}

// -- people ---------------------------------------------------------------------------

async function loadPeopleView() {
  await Promise.all([loadPeople(), loadSyncSummary()]);
  if (people.selected) selectPerson(people.selected, { focus: false });
}

async function loadPeople({ more = false } = {}) {
  const list = $("#people");
  const note = $("#people-note");
  if (!more) {
    people.after = null;
    people.count = 0;
    list.replaceChildren();
    note.textContent = t("common.loading");
  }
  try {
    const data = await api(`/api/people?${query({ q: people.q, limit: 50, after: more ? people.after : null })}`);
    people.after = data.next_after;
    people.count += data.people.length;
    append(list, data.people.map(personRow));
    $("#people-more").hidden = !people.after;
    if (!people.count) note.textContent = t("people.none");
    else if (data.total !== null && data.total !== undefined) note.textContent = t("people.total", { count: data.total });
    else note.textContent = t("people.found", { count: people.after ? `${people.count}+` : people.count });
  } catch (error) {
    if (error.status !== 401) note.textContent = t("common.error", { error: errorText(error) });
  }
}

async function loadSyncSummary() {
  const box = $("#sync-summary");
  try {
    const data = await api(`/api/sync?${query({ state: "failed", limit: 1000 })}`);
    people.failed = new Set((data.people || []).map((row) => row.user_id));
    for (const row of document.querySelectorAll(".person-row")) markSync(row);
    const items = (data.devices || []).map((d) => {
      const stateText = has(`sync.state.${d.state}`) ? t(`sync.state.${d.state}`) : d.state;
      const counts = d.counts || {};
      return h("li", { class: `sync-device sync-${d.state}`, dataset: { device: d.device } },
        h("strong", { text: d.device }), ": ", stateText,
        h("span", { class: "muted", text: ` — ${t("sync.counts", {
          applied: counts.applied ?? 0, pending: counts.pending ?? 0, failed: counts.failed ?? 0,
        })}` }),
        d.reason ? h("small", { class: "muted", text: ` (${d.reason})` }) : null);
    });
    box.replaceChildren(items.length ? h("details", { class: "card" },
      h("summary", { text: t("sync.readers") }), h("ul", {}, items)) : "");
  } catch (error) {
    if (error.status !== 401) box.replaceChildren(h("p", { class: "note", text: t("common.error", { error: errorText(error) }) }));
  }
}

function initials(name, id) {
  const words = (name || id || "?").trim().split(/\s+/);
  return (words[0][0] + (words.length > 1 ? words[words.length - 1][0] : "")).toUpperCase();
}

function personRow(person) {
  const button = h("button", {
    type: "button", class: "person-row", dataset: { userId: person.user_id, focusKey: `person:${person.user_id}` },
    "aria-pressed": String(people.selected === person.user_id),
    onclick: () => selectPerson(person.user_id),
  },
  h("span", { class: "avatar", "aria-hidden": "true", text: initials(person.name, person.user_id) }),
  h("span", { class: "pwho" },
    h("span", { class: "name", text: person.name || person.user_id }),
    h("span", { class: "muted", text: `ID ${person.user_id} · ${t(`ptype.${person.type}`)}${person.status === "frozen" ? ` · ${t("pstatus.frozen")}` : ""}` })),
  h("span", { class: "tags" },
    person.cards && person.cards.length ? h("span", { class: "tag", text: t(person.cards.length === 1 ? "people.oneCard" : "people.cards", { count: person.cards.length }) }) : null,
    person.has_face ? h("span", { class: "tag" }, icon("person"), h("span", { class: "sr-only", text: t("person.photo") })) : null));
  const item = h("li", {}, button);
  markSync(button);
  return item;
}

function markSync(row) {
  const failed = people.failed.has(row.dataset.userId);
  let tag = row.querySelector(".tag-failed");
  if (failed && !tag) {
    tag = h("span", { class: "tag tag-failed" }, icon("alarm"), h("span", { text: t("people.syncFailed") }));
    row.querySelector(".tags").append(tag);
  } else if (!failed && tag) {
    tag.remove();
  }
}

async function selectPerson(userId, { focus = true } = {}) {
  people.selected = userId;
  for (const row of document.querySelectorAll(".person-row")) {
    row.setAttribute("aria-pressed", String(row.dataset.userId === userId));
  }
  const panel = $("#person");
  panel.hidden = false;
  panel.replaceChildren(h("p", { text: t("common.loading") }));
  try {
    const [person, sync] = await Promise.all([
      api(`/api/people/${encodeURIComponent(userId)}`),
      api(`/api/sync?${query({ user_id: userId })}`).catch(() => ({ people: [] })),
    ]);
    if (people.selected !== userId) return;
    renderPerson(person, sync.people || []);
    // Wide screens keep the list where it was (the panel sits beside it).
    if (focus) panel.focus({ preventScroll: !window.matchMedia("(max-width: 720px)").matches });
  } catch (error) {
    if (error.status !== 401) panel.replaceChildren(h("p", { class: "error", text: t("common.error", { error: errorText(error) }) }));
  }
}

function doorsText(doors) {
  if (Array.isArray(doors)) return doors.join("; ");
  if (doors && typeof doors === "object") {
    return Object.entries(doors).flatMap(([reader, list]) => list.map((d) => `${reader}:${d}`)).join("; ");
  }
  return "";
}

function cardText(card) {
  if (card.type === "ordinary" && card.status === "normal") return card.card_no;
  return `${card.card_no}:${card.type}:${card.status}`;
}

function renderPerson(person, syncRows) {
  const panel = $("#person");
  const name = person.name || person.user_id;
  const face = h("div", { class: "face" },
    person.has_face ? h("img", { class: "face-img", alt: t("people.face", { name }), width: 96, height: 96 })
      : h("span", { class: "avatar big", "aria-hidden": "true", text: initials(person.name, person.user_id) }),
    person.has_face ? null : h("small", { class: "muted", text: t("people.noFace") }));
  const validity = person.valid_from || person.valid_to
    ? `${person.valid_from ? fmt(person.valid_from) : "…"} → ${person.valid_to ? fmt(person.valid_to) : "…"}`
    : t("person.always");
  const cards = person.cards && person.cards.length
    ? h("table", { class: "cards" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col", text: t("person.cards") }), h("th", { scope: "col", text: t("person.type") }), h("th", { scope: "col", text: t("person.status") }))),
      h("tbody", {}, person.cards.map((card) => h("tr", { class: `card-${card.status}` },
        h("td", {}, h("code", { text: card.card_no })),
        h("td", { text: has(`ctype.${card.type}`) ? t(`ctype.${card.type}`) : card.type }),
        h("td", { text: has(`cstatus.${card.status}`) ? t(`cstatus.${card.status}`) : card.status })))))
    : h("p", { class: "muted", text: t("person.noCards") });
  const sync = syncRows.length
    ? h("ul", { class: "sync-list" }, syncRows.map((row) => {
      const glyph = row.state === "applied" ? "granted" : row.state === "failed" ? "alarm" : "pending";
      const error = row.error;
      const errorLine = error ? [error[getLang()] || error.en || error.name, error.code !== null && error.code !== undefined ? ` (${error.name || ""} ${error.code})` : "",
        error.detail ? ` — ${error.detail}` : ""].join("") : "";
      return h("li", { class: `sync-row sync-${row.state}`, dataset: { device: row.device } },
        icon(glyph), h("strong", { text: row.device }), " ",
        h("span", { class: "sync-state", text: t(`sync.${row.state}`) }),
        row.updated_at ? h("small", { class: "muted", text: ` · ${fmt(row.updated_at)}` }) : null,
        errorLine ? h("p", { class: "sync-error", text: errorLine }) : null);
    }))
    : h("p", { class: "muted", text: t("person.syncNone") });
  const facts = h("dl", { class: "facts" },
    fact(t("person.user_id"), h("code", { text: person.user_id })),
    fact(t("person.type"), t(`ptype.${person.type}`)),
    fact(t("person.status"), t(`pstatus.${person.status}`)),
    fact(t("person.validity"), validity),
    fact(t("person.doors"), doorsText(person.doors) || t("common.none")),
    fact(t("person.time_sections"), (person.time_sections || []).join("; ")),
    person.external_id ? fact(t("person.external_id"), person.external_id) : null,
    fact(t("person.hasPassword"), t(person.has_password ? "common.yes" : "common.no")),
    person.guest_uses !== null && person.guest_uses !== undefined
      ? fact(t("ptype.guest"), t("person.uses", { uses: person.uses ?? 0, left: person.uses_left ?? "?" })) : null,
    person.updated_at ? fact(t("person.updated", { time: "" }).trim(), fmt(person.updated_at)) : null);
  const actions = state.admin ? h("div", { class: "actions" },
    h("button", { type: "button", class: "edit-person", onclick: () => openPersonForm(person) }, t("common.edit")),
    h("button", { type: "button", class: "danger delete-person", onclick: () => deletePerson(person) }, t("common.delete"))) : null;
  panel.replaceChildren(
    h("div", { class: "person-head" }, face, h("div", {}, h("h2", { text: name }), h("p", { class: "muted", text: `ID ${person.user_id}` }))),
    facts,
    h("h3", { text: t("person.cards") }), cards,
    h("h3", { text: t("person.sync") }), sync,
    actions);
  if (person.has_face) loadFace(person.user_id, panel.querySelector(".face-img"));
}

async function loadFace(userId, img) {
  try {
    const response = await api(`/api/people/${encodeURIComponent(userId)}/face`, { raw: true });
    const blob = await response.blob();
    if (people.faceUrl) URL.revokeObjectURL(people.faceUrl);
    people.faceUrl = URL.createObjectURL(blob);
    if (img.isConnected) img.src = people.faceUrl;
  } catch {
    img.replaceWith(h("span", { class: "avatar big", "aria-hidden": "true", text: "?" }));
  }
}

async function deletePerson(person) {
  const ok = await confirmDialog({
    title: t("people.deleteTitle"),
    text: t("people.deleteText", { name: person.name || person.user_id, id: person.user_id }),
    ok: t("common.delete"),
  });
  if (!ok) return;
  try {
    await api(`/api/people/${encodeURIComponent(person.user_id)}`, { method: "DELETE" });
    toast(t("people.deleted", { id: person.user_id }));
    people.selected = null;
    $("#person").hidden = true;
    loadPeople();
  } catch (error) {
    if (error.status !== 401) toast(t("common.error", { error: errorText(error) }), "error");
  }
}

// -- the person form ------------------------------------------------------------------

const FORM_FIELDS = ["user_id", "name", "type", "status", "valid_from", "valid_to", "doors",
  "time_sections", "external_id", "password", "cards", "photo"];

function openPersonForm(person = null) {
  people.editing = person;
  const form = $("#person-form");
  clearFormErrors();
  form.reset();
  if (people.previewUrl) URL.revokeObjectURL(people.previewUrl);
  people.previewUrl = null;
  $("#pf-preview").hidden = true;
  $("#person-form-title").textContent = person ? t("people.editTitle", { id: person.user_id }) : t("people.addTitle");
  form.user_id.value = person ? person.user_id : "";
  form.user_id.readOnly = Boolean(person);
  form.name.value = person ? person.name : "";
  form.type.value = person ? person.type : "general";
  form.status.value = person ? person.status : "active";
  form.valid_from.value = person ? toLocalInput(person.valid_from) : "";
  form.valid_to.value = person ? toLocalInput(person.valid_to) : "";
  form.doors.value = person ? doorsText(person.doors) : "0";
  form.time_sections.value = person ? (person.time_sections || []).join("; ") : "255";
  form.external_id.value = person && person.external_id ? person.external_id : "";
  form.cards.value = person ? (person.cards || []).map(cardText).join("\n") : "";
  const dialog = $("#person-dialog");
  dialog.dataset.opener = document.activeElement && document.activeElement.dataset ? (document.activeElement.dataset.focusKey || "") : "";
  dialog.showModal();
  (person ? form.name : form.user_id).focus();
}

function closePersonForm() {
  const dialog = $("#person-dialog");
  dialog.close();
}

function clearFormErrors() {
  $("#pf-error").textContent = "";
  for (const field of FORM_FIELDS) {
    const box = $(`#pf-${field}-error`);
    if (box) box.textContent = "";
    const input = $(`#pf-${field}`);
    if (input) input.removeAttribute("aria-invalid");
  }
}

function showFieldErrors(problems) {
  const general = [];
  let first = null;
  for (const problem of problems) {
    const parts = String(problem.field || "").split(".");
    let field = parts[0];
    if (field === "card_no") field = "cards";
    if (field === "holiday_schedule" || field === "guest_uses") field = "";
    const box = field ? $(`#pf-${field}-error`) : null;
    if (!box) {
      general.push(problem.field ? `${problem.field}: ${problem.message}` : problem.message);
      continue;
    }
    const where = field === "cards" && parts.length > 1 && /^\d+$/.test(parts[1])
      ? `${Number(parts[1]) + 1}: ` : "";
    box.textContent = box.textContent ? `${box.textContent} ${where}${problem.message}` : `${where}${problem.message}`;
    const input = $(`#pf-${field}`);
    input.setAttribute("aria-invalid", "true");
    first = first || input;
  }
  $("#pf-error").textContent = general.length ? general.join("; ") : (first ? t("people.fixFields") : "");
  if (first) first.focus();
}

function splitList(text) {
  return String(text || "").split(/[;,\s]+/).map((v) => v.trim()).filter(Boolean);
}

function parseDoors(text) {
  const items = splitList(text);
  if (!items.some((item) => item.includes(":"))) {
    const numbers = items.map(Number);
    if (numbers.some((n) => !Number.isInteger(n))) throw { field: "doors", message: t("person.doorsHint") };
    return numbers;
  }
  const out = {};
  for (const item of items) {
    const [reader, door] = item.includes(":") ? item.split(":") : ["*", item];
    const number = Number(door);
    if (!reader || !Number.isInteger(number)) throw { field: "doors", message: t("person.doorsHint") };
    (out[reader] = out[reader] || []).push(number);
  }
  return out;
}

function parseNumbers(text, field) {
  const numbers = splitList(text).map(Number);
  if (numbers.some((n) => !Number.isInteger(n))) throw { field, message: t(`person.${field}Hint`) };
  return numbers;
}

function personBody(form) {
  const old = people.editing;
  const body = {
    user_id: form.user_id.value.trim(),
    name: form.name.value.trim(),
    type: form.type.value,
    status: form.status.value,
    valid_from: form.valid_from.value ? new Date(fromLocalInput(form.valid_from.value)).toISOString() : null,
    valid_to: form.valid_to.value ? new Date(fromLocalInput(form.valid_to.value)).toISOString() : null,
    external_id: form.external_id.value.trim() || null,
    cards: form.cards.value.split(/[\n;,]+/).map((v) => v.trim()).filter(Boolean),
  };
  const problems = [];
  try {
    if (form.doors.value.trim() || old) body.doors = parseDoors(form.doors.value);
  } catch (problem) {
    problems.push(problem);
  }
  try {
    if (form.time_sections.value.trim()) body.time_sections = parseNumbers(form.time_sections.value, "time_sections");
  } catch (problem) {
    problems.push(problem);
  }
  if (form.password.value) body.password = form.password.value;
  if (old) { // PUT replaces: keep what the form does not show
    body.holiday_schedule = old.holiday_schedule;
    if (old.guest_uses !== null && old.guest_uses !== undefined) body.guest_uses = old.guest_uses;
  }
  const photo = form.photo.files && form.photo.files[0];
  if (photo && photo.type && photo.type !== "image/jpeg") {
    problems.push({ field: "photo", message: t("person.photoNotJpeg") });
  }
  return { body, photo, problems };
}

async function savePerson(event) {
  event.preventDefault();
  const form = $("#person-form");
  clearFormErrors();
  const { body, photo, problems } = personBody(form);
  if (!body.user_id) problems.push({ field: "user_id", message: t("person.user_idHint") });
  if (problems.length) {
    showFieldErrors(problems);
    return;
  }
  const editing = people.editing;
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  let saved;
  try {
    saved = editing
      ? await api(`/api/people/${encodeURIComponent(editing.user_id)}`, { method: "PUT", body })
      : await api("/api/people", { method: "POST", body });
    if (photo) {
      saved = await api(`/api/people/${encodeURIComponent(saved.user_id)}/face`, {
        method: "PUT", body: photo, headers: { "Content-Type": "image/jpeg" },
      }).catch((error) => {
        error.photo = true;
        throw error;
      });
    }
  } catch (error) {
    submit.disabled = false;
    if (error.status === 401) return;
    if (error.status === 403) {
      $("#pf-error").textContent = t("common.needsAdmin");
      return;
    }
    const found = problemsOf(error);
    if (error.photo) {
      people.editing = saved || editing; // the person is saved; only the photo failed
      showFieldErrors(found.length ? found.map((p) => ({ ...p, field: "photo" })) : [{ field: "photo", message: errorText(error) }]);
      return;
    }
    showFieldErrors(found.length ? found : [{ field: "", message: errorText(error) }]);
    return;
  }
  submit.disabled = false;
  closePersonForm();
  toast(t(editing ? "people.saved" : "people.created", { name: saved.name || saved.user_id }));
  people.selected = saved.user_id;
  await loadPeople();
  await selectPerson(saved.user_id);
  loadSyncSummary();
}

function previewPhoto() {
  const input = $("#pf-photo");
  const preview = $("#pf-preview");
  $("#pf-photo-error").textContent = "";
  if (people.previewUrl) URL.revokeObjectURL(people.previewUrl);
  people.previewUrl = null;
  const file = input.files && input.files[0];
  if (!file) {
    preview.hidden = true;
    return;
  }
  if (file.type && file.type !== "image/jpeg") {
    $("#pf-photo-error").textContent = t("person.photoNotJpeg");
    preview.hidden = true;
    return;
  }
  people.previewUrl = URL.createObjectURL(file);
  preview.onerror = () => {
    preview.hidden = true;
    $("#pf-photo-error").textContent = t("person.photoUnreadable");
  };
  preview.src = people.previewUrl;
  preview.alt = `${t("person.photo")}: ${file.name} (${formatBytes(file.size)})`;
  preview.hidden = false;
}

// -- charts ---------------------------------------------------------------------------

const MONTHS = {
  pt: ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro"],
  en: ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
};
const WEEKDAYS = {
  pt: ["domingo", "segunda", "terça", "quarta", "quinta", "sexta", "sábado"],
  en: ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
};

async function loadCharts() {
  const note = $("#charts-note");
  try {
    const data = await api(`/api/stats?${query({ hours: state.chartHours, lang: getLang() })}`);
    note.textContent = t("charts.updated", { from: fmt(data.from), to: fmt(data.to) });
    renderHours(data);
    renderDenials(data);
    renderDeviceActivity(data);
    renderAlarms(data);
  } catch (error) {
    if (error.status !== 401) note.textContent = t("common.error", { error: errorText(error) });
  }
}

function renderHours(data) {
  const series = data.series || [];
  const xs = series.map((b) => Date.parse(b.start) / 1000);
  const granted = series.map((b) => b.granted);
  const denied = series.map((b) => b.denied);
  const other = series.map((b) => b.other);
  // Stacked bars: each series is drawn over the one before, from zero.
  const stackDenied = granted.map((g, i) => g + denied[i]);
  const stackAll = stackDenied.map((v, i) => v + other[i]);
  const raw = [xs, stackAll, stackDenied, granted];
  const real = [xs, other, denied, granted];
  const table = h("table", { class: "data" },
    h("thead", {}, h("tr", {}, ["charts.hour", "charts.granted", "charts.denied", "charts.other"].map((k) => h("th", { scope: "col", text: t(k) })))),
    h("tbody", {}, series.map((b) => h("tr", {}, h("th", { scope: "row", text: fmt(b.start, { ...DAY, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }) }),
      h("td", { text: b.granted }), h("td", { text: b.denied }), h("td", { text: b.other })))));
  $("#chart-hours-table").replaceChildren(table);
  const host = $("#chart-hours");
  if (state.chart) {
    state.chart.destroy();
    state.chart = null;
  }
  host.replaceChildren();
  host.setAttribute("role", "img");
  host.setAttribute("aria-label", t("charts.chartLabel"));
  if (!window.uPlot) {
    host.replaceChildren(h("p", { class: "note", text: t("charts.noLibrary") }));
    host.removeAttribute("role");
    return;
  }
  const uPlot = window.uPlot;
  const lang = getLang();
  const names = {
    MMMM: MONTHS[lang], MMM: MONTHS[lang].map((m) => m.slice(0, 3)),
    WWWW: WEEKDAYS[lang], WWW: WEEKDAYS[lang].map((d) => d.slice(0, 3)),
  };
  const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8, 40], gap: 1 }) : undefined;
  const value = (u, v, seriesIdx, idx) => (idx === null || idx === undefined ? "–" : String(real[seriesIdx][idx] ?? "–"));
  const opts = {
    width: Math.max(280, host.clientWidth || 600),
    height: 260,
    tzDate: (ts) => (state.tz ? uPlot.tzDate(new Date(ts * 1000), state.tz) : new Date(ts * 1000)),
    fmtDate: (tpl) => uPlot.fmtDate(tpl, names),
    cursor: { points: { show: false } },
    legend: { live: true },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(5, Math.ceil(max * 1.1))] } },
    axes: [
      { stroke: "#333", grid: { stroke: "#e6e6e6" }, size: 52, values: axisLabels },
      { stroke: "#333", grid: { stroke: "#e6e6e6" }, size: 44 },
    ],
    series: [
      { label: t("charts.hour"), value: (u, ts) => (ts === null ? "–" : fmt(ts * 1000, { ...DAY, hour: "2-digit", minute: "2-digit", hourCycle: "h23" })) },
      { label: t("charts.other"), fill: COLORS.other, stroke: "#8a8a8a", width: 1, paths: bars, points: { show: false }, value },
      { label: t("charts.denied"), fill: COLORS.denied, stroke: "#9a5b00", width: 1, paths: bars, points: { show: false }, value },
      { label: t("charts.granted"), fill: COLORS.granted, stroke: "#004d7a", width: 1, paths: bars, points: { show: false }, value },
    ],
  };
  state.chart = new uPlot(opts, raw, host);
}

/** x-axis labels in the site's time zone, 24-hour: "08:00", with the date under
 * midnight and the first label; whole days as "25/11". */
function axisLabels(u, splits) {
  const step = splits.length > 1 ? splits[1] - splits[0] : 3600;
  let lastDay = null;
  return splits.map((ts) => {
    const ms = ts * 1000;
    const day = fmt(ms, DAY);
    if (step >= 86400) return day;
    const clock = fmt(ms, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    const label = day !== lastDay ? `${clock}\n${day}` : clock;
    lastDay = day;
    return label;
  });
}

function barRow(label, count, max, { cls = "", extra = null } = {}) {
  const pct = max > 0 ? Math.max(1, Math.round((count / max) * 100)) : 0;
  return h("li", { class: `bar-row ${cls}` },
    h("span", { class: "bar-label" }, label, extra),
    h("span", { class: "bar-track", "aria-hidden": "true" }, h("span", { class: "bar-fill", style: `width:${pct}%` })),
    h("span", { class: "bar-count", text: String(count) }));
}

function renderDenials(data) {
  const host = $("#chart-denials");
  const denials = data.denials || [];
  if (!denials.length) {
    host.replaceChildren(h("p", { class: "muted", text: t("charts.noDenials") }));
    return;
  }
  const max = Math.max(...denials.map((d) => d.count));
  host.replaceChildren(h("ol", { class: "bars denials" }, denials.map((d) => barRow(d.text || d.name || String(d.code), d.count, max, {
    extra: h("small", { class: "muted", text: ` (${t("charts.code", { code: d.code })}${d.name ? ` ${d.name}` : ""})` }),
  }))));
}

function renderDeviceActivity(data) {
  const host = $("#chart-devices");
  const rows = (data.devices || []).filter((d) => d.granted + d.denied + d.other > 0);
  if (!rows.length) {
    host.replaceChildren(h("p", { class: "muted", text: t("charts.noDevices") }));
    return;
  }
  const max = Math.max(...rows.map((d) => d.granted + d.denied + d.other));
  const legend = h("p", { class: "legend" },
    ["granted", "denied", "other"].map((k) => h("span", { class: `key key-${k}` }, h("span", { class: "swatch", "aria-hidden": "true" }), t(`charts.${k}`))));
  host.replaceChildren(legend, h("ul", { class: "bars stacked" }, rows.map((d) => {
    const total = d.granted + d.denied + d.other;
    const width = (n) => `width:${max > 0 ? (n / max) * 100 : 0}%`;
    return h("li", { class: "bar-row", dataset: { device: d.device } },
      h("span", { class: "bar-label" }, h("strong", { text: d.device }),
        h("small", { class: "muted", text: ` ${t("charts.granted").toLowerCase()} ${d.granted} · ${t("charts.denied").toLowerCase()} ${d.denied} · ${t("charts.other").toLowerCase()} ${d.other}` })),
      h("span", { class: "bar-track", "aria-hidden": "true" },
        h("span", { class: "seg seg-granted", style: width(d.granted) }),
        h("span", { class: "seg seg-denied", style: width(d.denied) }),
        h("span", { class: "seg seg-other", style: width(d.other) })),
      h("span", { class: "bar-count", text: String(total) }));
  })));
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child);
  return el;
}

function renderAlarms(data) {
  const host = $("#chart-alarms");
  const alarms = data.alarms || [];
  if (!alarms.length) {
    host.replaceChildren(h("p", { class: "muted", text: t("charts.noAlarms") }));
    return;
  }
  const from = Date.parse(data.from);
  const to = Date.parse(data.to);
  const span = Math.max(1, to - from);
  const W = 1000;
  const strip = svg("svg", { viewBox: `0 0 ${W} 48`, class: "timeline", "aria-hidden": "true", preserveAspectRatio: "none" },
    svg("line", { x1: 0, y1: 24, x2: W, y2: 24, class: "axis" }));
  for (const alarm of alarms) {
    const x = ((Date.parse(alarm.time) - from) / span) * W;
    if (Number.isNaN(x)) continue;
    strip.append(svg("path", { d: `M${x.toFixed(1)} 10 L${(x + 7).toFixed(1)} 24 L${x.toFixed(1)} 38 L${(x - 7).toFixed(1)} 24 Z`, class: "mark" },
      svg("title", {}, document.createTextNode(`${fmt(alarm.time)} ${alarm.device}: ${alarm.summary}`))));
  }
  const ends = h("p", { class: "timeline-ends muted" }, h("span", { text: fmt(data.from) }), h("span", { text: fmt(data.to) }));
  const list = h("ol", { class: "alarm-list" }, alarms.slice(0, 50).map((a) => h("li", {},
    icon("alarm"), h("time", { datetime: a.time, text: fmt(a.time) }), " ",
    h("strong", { text: a.device }), " ", h("span", { text: a.summary }))));
  host.replaceChildren(h("p", { class: "muted", text: t("charts.total", { count: alarms.length }) }), strip, ends, list);
}

function resizeChart() {
  if (!state.chart) return;
  const host = $("#chart-hours");
  const width = Math.max(280, host.clientWidth);
  if (Math.abs(width - state.chart.width) > 4) state.chart.setSize({ width, height: 260 });
}

// -- wiring ---------------------------------------------------------------------------

function wire() {
  $("#login-form").addEventListener("submit", onLogin);
  $("#logout").addEventListener("click", () => signOut());
  $("#lang").addEventListener("click", switchLanguage);
  $("#menu-toggle").addEventListener("click", toggleMenu);
  window.addEventListener("hashchange", () => route({ focus: true }));
  $("#filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadEvents();
  });
  $("#f-clear").addEventListener("click", () => {
    $("#filters").reset();
    loadEvents();
  });
  $("#f-export").addEventListener("click", exportCsv);
  $("#feed-more").addEventListener("click", () => loadEvents({ more: true }));
  $("#readers-refresh").addEventListener("click", loadReaders);
  $("#people-search").addEventListener("submit", (event) => {
    event.preventDefault();
    people.q = $("#people-q").value.trim();
    loadPeople();
  });
  $("#people-more").addEventListener("click", () => loadPeople({ more: true }));
  $("#people-add").addEventListener("click", () => openPersonForm(null));
  $("#person-form").addEventListener("submit", savePerson);
  $("#pf-cancel").addEventListener("click", closePersonForm);
  $("#pf-photo").addEventListener("change", previewPhoto);
  $("#person-dialog").addEventListener("close", () => {
    const key = $("#person-dialog").dataset.opener;
    const opener = key ? document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`) : null;
    if (opener) opener.focus();
  });
  for (const button of document.querySelectorAll("[data-hours]")) {
    button.addEventListener("click", () => {
      state.chartHours = Number(button.dataset.hours);
      for (const other of document.querySelectorAll("[data-hours]")) {
        other.setAttribute("aria-pressed", String(other === button));
      }
      loadCharts();
    });
  }
  window.addEventListener("resize", () => {
    clearTimeout(resizeChart.timer);
    resizeChart.timer = setTimeout(resizeChart, 150);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && $("#nav").classList.contains("open")) {
      closeMenu();
      $("#menu-toggle").focus();
    }
  });
}

function start() {
  if (window.matchMedia("(max-width: 720px)").matches) $("#filters-box").open = false;
  setLang(initialLang());
  applyLanguage();
  wire();
  $("#nav").hidden = true;
  $("#menu-toggle").hidden = true;
  signIn();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
