/**
 * <herald-inbox>: Herald's in-app inbox as a standard Web Component.
 *
 * One ES module, no framework, no build step (docs/widget.md). It reaches Herald at the origin
 * (and path) this module was loaded from, or at its `base-url` attribute:
 *
 *   <script type="module" src="https://herald.example.com/widget/herald-inbox.js"></script>
 *   <herald-inbox token="USER_TOKEN" product="AgencyCloud"></herald-inbox>
 *
 * REST (/v1/me/notifications...) for lists and changes; live events over the WebSocket
 * /v1/realtime, resumed from the last seq after a drop, or over SSE /v1/stream when WebSockets
 * are blocked. Its Shadow DOM is open and its pieces carry `part` names for ::part() styling.
 * The settings button opens the user's preferences (herald-preferences.js, beside this file).
 */

import { PREFERENCE_STYLES, PreferencesView, element } from "./herald-preferences.js";

const DEFAULT_BASE = new URL("../", import.meta.url); // the module lives at <herald>/widget/
const PAGE_SIZE = 15;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30000;
const FAILURES_BEFORE_SSE = 2; // WebSockets that die before a frame, while REST answers
const ACTION_TYPES = ["Approved", "Rejected", "Validate", "Initiated", "IsRead"];
const NOTE_MAX = 2000;
// A count event with any other reason, and no item event just before it, means an item that is
// not pushed (a poll-only type) arrived: the list is fetched again.
const REASONS_WITHOUT_ITEM = new Set(["read", "read_all", "seen", "action", "deleted", "withdrawn"]);
const POPUP_BURST = 3; // more new items than this at once make one summary pop-up

/* ---------------------------------------------------------------- strings */

const STRINGS = {
  en: {
    title: "Notifications",
    unreadCount: (n) => `${n} unread`,
    show: "Show",
    all: "All",
    unread: "Unread",
    markAllRead: "Mark all as read",
    markRead: "Mark as read",
    loadMore: "Load more",
    loading: "Loading…",
    empty: "No notifications",
    emptyUnread: "No unread notifications",
    respond: "Respond…",
    answered: (a) => `Answered: ${a}`,
    dialogTitle: "Respond to this notification",
    yourAnswer: "Your answer",
    choose: { Approved: "Approve", Rejected: "Reject", Validate: "Validate", Initiated: "Start", IsRead: "I have seen it" },
    done: { Approved: "Approved", Rejected: "Rejected", Validate: "Validated", Initiated: "Started", IsRead: "Seen" },
    note: "Note (optional)",
    confirm: "Confirm",
    cancel: "Cancel",
    close: "Close",
    chooseFirst: "Choose an answer first.",
    saveFailed: "Your answer could not be recorded. Try again.",
    offline: "Offline: reconnecting…",
    expired: "Your session has expired. Reload the page to sign in again.",
    loadFailed: "Notifications could not be loaded.",
    enablePopups: "Show pop-ups",
    newItem: "New notification",
    newItems: (n) => `${n} new notifications`,
    unreadMark: "Unread",
  },
  cy: {
    title: "Hysbysiadau",
    unreadCount: (n) => (n === 1 ? `${n} heb ei ddarllen` : `${n} heb eu darllen`),
    show: "Dangos",
    all: "Y cyfan",
    unread: "Heb eu darllen",
    markAllRead: "Marcio'r cyfan wedi'u darllen",
    markRead: "Marcio wedi'i ddarllen",
    loadMore: "Llwytho mwy",
    loading: "Wrthi'n llwytho…",
    empty: "Dim hysbysiadau",
    emptyUnread: "Dim hysbysiadau heb eu darllen",
    respond: "Ymateb…",
    answered: (a) => `Ymateb: ${a}`,
    dialogTitle: "Ymateb i'r hysbysiad hwn",
    yourAnswer: "Eich ateb",
    choose: { Approved: "Cymeradwyo", Rejected: "Gwrthod", Validate: "Dilysu", Initiated: "Dechrau", IsRead: "Rwyf wedi'i weld" },
    done: { Approved: "Cymeradwywyd", Rejected: "Gwrthodwyd", Validate: "Dilyswyd", Initiated: "Dechreuwyd", IsRead: "Gwelwyd" },
    note: "Nodyn (dewisol)",
    confirm: "Cadarnhau",
    cancel: "Canslo",
    close: "Cau",
    chooseFirst: "Dewiswch ateb yn gyntaf.",
    saveFailed: "Doedd dim modd cofnodi eich ateb. Rhowch gynnig arall arni.",
    offline: "All-lein: yn ailgysylltu…",
    expired: "Mae eich sesiwn wedi dod i ben. Ail-lwythwch y dudalen i fewngofnodi eto.",
    loadFailed: "Doedd dim modd llwytho'r hysbysiadau.",
    enablePopups: "Dangos naidlenni",
    newItem: "Hysbysiad newydd",
    newItems: (n) => `${n} hysbysiad newydd`,
    unreadMark: "Heb ei ddarllen",
    // For browsers whose Intl has no Welsh (Chromium's reduced ICU data among them).
    ago: { now: "nawr", minute: (n) => `${n} munud yn ôl`, hour: (n) => `${n} awr yn ôl`, day: (n) => (n === 1 ? "ddoe" : `${n} diwrnod yn ôl`) },
    months: ["Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf", "Awst", "Medi", "Hydref", "Tachwedd", "Rhagfyr"],
  },
  da: {
    title: "Notifikationer",
    unreadCount: (n) => (n === 1 ? `${n} ulæst` : `${n} ulæste`),
    show: "Vis",
    all: "Alle",
    unread: "Ulæste",
    markAllRead: "Markér alle som læst",
    markRead: "Markér som læst",
    loadMore: "Indlæs flere",
    loading: "Indlæser…",
    empty: "Ingen notifikationer",
    emptyUnread: "Ingen ulæste notifikationer",
    respond: "Svar…",
    answered: (a) => `Besvaret: ${a}`,
    dialogTitle: "Svar på denne notifikation",
    yourAnswer: "Dit svar",
    choose: { Approved: "Godkend", Rejected: "Afvis", Validate: "Valider", Initiated: "Påbegynd", IsRead: "Jeg har set den" },
    done: { Approved: "Godkendt", Rejected: "Afvist", Validate: "Valideret", Initiated: "Påbegyndt", IsRead: "Set" },
    note: "Note (valgfri)",
    confirm: "Bekræft",
    cancel: "Annuller",
    close: "Luk",
    chooseFirst: "Vælg først et svar.",
    saveFailed: "Dit svar kunne ikke gemmes. Prøv igen.",
    offline: "Offline: genopretter forbindelsen…",
    expired: "Din session er udløbet. Genindlæs siden for at logge ind igen.",
    loadFailed: "Notifikationerne kunne ikke indlæses.",
    enablePopups: "Vis pop op-beskeder",
    newItem: "Ny notifikation",
    newItems: (n) => `${n} nye notifikationer`,
    unreadMark: "Ulæst",
  },
  de: {
    title: "Benachrichtigungen",
    unreadCount: (n) => `${n} ungelesen`,
    show: "Anzeigen",
    all: "Alle",
    unread: "Ungelesen",
    markAllRead: "Alle als gelesen markieren",
    markRead: "Als gelesen markieren",
    loadMore: "Mehr laden",
    loading: "Wird geladen…",
    empty: "Keine Benachrichtigungen",
    emptyUnread: "Keine ungelesenen Benachrichtigungen",
    respond: "Antworten…",
    answered: (a) => `Beantwortet: ${a}`,
    dialogTitle: "Auf diese Benachrichtigung antworten",
    yourAnswer: "Ihre Antwort",
    choose: { Approved: "Genehmigen", Rejected: "Ablehnen", Validate: "Prüfen", Initiated: "Beginnen", IsRead: "Zur Kenntnis genommen" },
    done: { Approved: "Genehmigt", Rejected: "Abgelehnt", Validate: "Geprüft", Initiated: "Begonnen", IsRead: "Gesehen" },
    note: "Notiz (optional)",
    confirm: "Bestätigen",
    cancel: "Abbrechen",
    close: "Schließen",
    chooseFirst: "Bitte wählen Sie zuerst eine Antwort.",
    saveFailed: "Ihre Antwort konnte nicht gespeichert werden. Bitte versuchen Sie es erneut.",
    offline: "Offline: Verbindung wird wiederhergestellt…",
    expired: "Ihre Sitzung ist abgelaufen. Laden Sie die Seite neu, um sich wieder anzumelden.",
    loadFailed: "Die Benachrichtigungen konnten nicht geladen werden.",
    enablePopups: "Pop-ups anzeigen",
    newItem: "Neue Benachrichtigung",
    newItems: (n) => `${n} neue Benachrichtigungen`,
    unreadMark: "Ungelesen",
  },
  fr: {
    title: "Notifications",
    unreadCount: (n) => (n <= 1 ? `${n} non lue` : `${n} non lues`),
    show: "Afficher",
    all: "Toutes",
    unread: "Non lues",
    markAllRead: "Tout marquer comme lu",
    markRead: "Marquer comme lue",
    loadMore: "Afficher plus",
    loading: "Chargement…",
    empty: "Aucune notification",
    emptyUnread: "Aucune notification non lue",
    respond: "Répondre…",
    answered: (a) => `Réponse : ${a}`,
    dialogTitle: "Répondre à cette notification",
    yourAnswer: "Votre réponse",
    choose: { Approved: "Approuver", Rejected: "Rejeter", Validate: "Valider", Initiated: "Lancer", IsRead: "J'en ai pris connaissance" },
    done: { Approved: "Approuvée", Rejected: "Rejetée", Validate: "Validée", Initiated: "Lancée", IsRead: "Vue" },
    note: "Note (facultative)",
    confirm: "Confirmer",
    cancel: "Annuler",
    close: "Fermer",
    chooseFirst: "Choisissez d'abord une réponse.",
    saveFailed: "Votre réponse n'a pas pu être enregistrée. Réessayez.",
    offline: "Hors ligne : reconnexion…",
    expired: "Votre session a expiré. Rechargez la page pour vous reconnecter.",
    loadFailed: "Les notifications n'ont pas pu être chargées.",
    enablePopups: "Afficher les fenêtres contextuelles",
    newItem: "Nouvelle notification",
    newItems: (n) => `${n} nouvelles notifications`,
    unreadMark: "Non lue",
  },
};

/** The user's language: the `locale` attribute if given, else the browser's; English otherwise. */
function chooseLocale(requested) {
  const tags = requested ? [requested] : [...(navigator.languages || []), navigator.language];
  for (const tag of tags.filter(Boolean)) {
    const language = tag.toLowerCase().split(/[-_]/)[0];
    if (STRINGS[language]) return { language, tag: formatTag(tag, language) };
  }
  return { language: "en", tag: "en" };
}

function formatTag(tag, language) {
  try {
    return Intl.getCanonicalLocales(tag.replace("_", "-"))[0];
  } catch {
    return language;
  }
}

/* ---------------------------------------------------------------- helpers */

const KEEP_TAGS = new Set(["a", "b", "strong", "i", "em", "u", "br", "p", "span", "ul", "ol", "li", "code", "small", "mark"]);
const DROP_TAGS = new Set(["script", "style", "template", "iframe", "object", "embed", "svg", "math", "img", "video", "audio", "form", "input", "button", "textarea", "select"]);

/** Whether a link may be followed: http(s), mailto and tel only (never javascript:). */
function safeUrl(value) {
  try {
    return ["http:", "https:", "mailto:", "tel:"].includes(new URL(value, document.baseURI).protocol);
  } catch {
    return false;
  }
}

/** message_formatted as a fragment of harmless inline HTML (Herald sanitises it too). */
function sanitise(html) {
  const template = document.createElement("template");
  template.innerHTML = html; // a template's content is inert: nothing runs or loads
  clean(template.content);
  return template.content;
}

function clean(parent) {
  for (const node of Array.from(parent.childNodes)) {
    if (node.nodeType === Node.TEXT_NODE) continue;
    if (node.nodeType !== Node.ELEMENT_NODE || DROP_TAGS.has(node.localName)) {
      node.remove();
      continue;
    }
    clean(node);
    if (!KEEP_TAGS.has(node.localName)) {
      node.replaceWith(...node.childNodes);
      continue;
    }
    for (const attribute of Array.from(node.attributes)) {
      const kept = node.localName === "a" && attribute.name === "href" && safeUrl(attribute.value);
      if (!kept) node.removeAttribute(attribute.name);
    }
    if (node.localName === "a") {
      node.target = "_blank";
      node.rel = "noopener noreferrer";
    }
  }
}

/** "5 minutes ago" in the user's language; a date beyond a week. */
function relativeTime(iso, tag, t) {
  const then = new Date(iso);
  const seconds = Math.round((then.getTime() - Date.now()) / 1000);
  const own = !intlSpeaks(tag) && t.ago;
  const format = new Intl.RelativeTimeFormat(tag, { numeric: "auto" });
  const steps = [
    [60, "second", 1],
    [3600, "minute", 60],
    [86400, "hour", 3600],
    [604800, "day", 86400],
  ];
  for (const [limit, unit, size] of steps) {
    if (Math.abs(seconds) >= limit) continue;
    const n = Math.round(seconds / size);
    if (own) return unit === "second" ? own.now : own[unit](Math.max(1, -n));
    return unit === "second" ? format.format(0, "second") : format.format(n, unit);
  }
  return fullDate(then, tag, t, { dateStyle: "medium" });
}

/** A date (and time) in the user's language, from Intl or from our own month names. */
function fullDate(date, tag, t, style = { dateStyle: "full", timeStyle: "short" }) {
  if (intlSpeaks(tag) || !t.months) return new Intl.DateTimeFormat(tag, style).format(date);
  const day = `${date.getDate()} ${t.months[date.getMonth()]} ${date.getFullYear()}`;
  if (!style.timeStyle) return day;
  const time = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" }).format(date);
  return `${day}, ${time}`;
}

function intlSpeaks(tag) {
  return Intl.RelativeTimeFormat.supportedLocalesOf([tag]).length > 0;
}

function textOf(item) {
  if (item.message) return item.message;
  if (item.message_formatted) return sanitise(item.message_formatted).textContent || "";
  return `${item.type}/${item.subType}`;
}

const BELL_ICON = `<svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"/></svg>`;
const SETTINGS_ICON = `<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path fill="currentColor" d="M19.14 12.94c.04-.3.06-.61.06-.94s-.02-.64-.07-.94l2.03-1.58a.49.49 0 0 0 .12-.61l-1.92-3.32a.49.49 0 0 0-.59-.22l-2.39.96a7 7 0 0 0-1.62-.94l-.36-2.54a.48.48 0 0 0-.48-.41h-3.84a.47.47 0 0 0-.47.41l-.36 2.54c-.59.24-1.13.57-1.62.94l-2.39-.96a.48.48 0 0 0-.59.22L2.74 8.87a.47.47 0 0 0 .12.61l2.03 1.58c-.05.3-.09.63-.09.94s.02.64.07.94l-2.03 1.58a.49.49 0 0 0-.12.61l1.92 3.32c.12.22.37.29.59.22l2.39-.96c.5.38 1.03.7 1.62.94l.36 2.54c.05.24.24.41.48.41h3.84c.24 0 .44-.17.47-.41l.36-2.54c.59-.24 1.13-.56 1.62-.94l2.39.96c.22.08.47 0 .59-.22l1.92-3.32a.48.48 0 0 0-.12-.61zM12 15.6A3.6 3.6 0 1 1 12 8.4a3.6 3.6 0 0 1 0 7.2z"/></svg>`;
const BACK_ICON = `<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path fill="currentColor" d="M20 11H7.8l5.6-5.6L12 4l-8 8 8 8 1.4-1.4L7.8 13H20z"/></svg>`;
const CHECK_ICON = `<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path fill="currentColor" d="M9.5 16.2 5.3 12l-1.4 1.4 5.6 5.6 11-11-1.4-1.4z"/></svg>`;

/* ---------------------------------------------------------------- REST */

class HttpError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** The /v1/me routes, with the user's token; a 401 is reported once through `onExpired`. */
class Api {
  constructor(base, token, onExpired) {
    this.base = base;
    this.token = token;
    this.onExpired = onExpired;
  }

  url(path, query = {}) {
    const url = new URL(path.replace(/^\//, ""), this.base);
    for (const [name, value] of Object.entries(query)) {
      if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
    }
    return url;
  }

  async call(method, path, { query, body } = {}) {
    const headers = { Authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(this.url(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
    });
    if (response.status === 204) return null;
    const parsed = await response.json().catch(() => null);
    if (response.status === 401) this.onExpired();
    if (!response.ok) throw new HttpError(response.status, parsed);
    return parsed;
  }

  list({ unreadOnly, cursor, perPage }) {
    const query = { per_page: perPage, show: unreadOnly ? "unread" : null, cursor };
    return this.call("GET", "/v1/me/notifications", { query });
  }
  count() {
    return this.call("GET", "/v1/me/notifications/count");
  }
  markRead(id) {
    return this.call("PUT", `/v1/me/notifications/${encodeURIComponent(id)}/read`);
  }
  markAllRead() {
    return this.call("PUT", "/v1/me/notifications/read");
  }
  act(id, actionType, actionNote) {
    const body = { actionType, actionNote: actionNote || null };
    return this.call("PATCH", `/v1/me/notifications/${encodeURIComponent(id)}`, { body });
  }
}

/* ---------------------------------------------------------------- live events */

/**
 * One user's live events: the WebSocket, resumed from the last seq after a drop, or SSE once
 * WebSockets have failed while REST still answers. Reports frames in seq order, once each,
 * and `onSynced()` when a connection starts at the head without a known seq (the caller then
 * reads the state over REST; events after the head arrive live, so nothing falls between).
 */
class Live {
  constructor({ api, product, onFrame, onSynced, onState, probe }) {
    Object.assign(this, { api, product, onFrame, onSynced, onState, probe });
    this.lastSeq = null;
    this.transport = typeof WebSocket === "function" ? "websocket" : "sse";
    this.failures = 0;
    this.retryMs = RETRY_FIRST_MS;
    this.stopped = false;
    this.online = () => this.reconnectNow();
    window.addEventListener("online", this.online);
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener("online", this.online);
    this.closeTransports();
  }

  closeTransports() {
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.onclose = socket.onmessage = socket.onopen = socket.onerror = null;
      socket.close(1000);
    }
    if (this.source) {
      this.source.close();
      this.source = null;
    }
  }

  endpoint(path, extra = {}) {
    const url = this.api.url(path, { token: this.api.token, product: this.product, ...extra });
    if (path === "/v1/realtime") url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url;
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.closeTransports();
    if (this.transport === "sse") this.openStream();
    else this.openSocket();
  }

  openSocket() {
    let socket;
    try {
      socket = new WebSocket(this.endpoint("/v1/realtime"));
    } catch {
      this.transport = "sse"; // refused outright, e.g. by the page's connect-src
      return this.schedule(0);
    }
    let answered = false; // a frame came back: the WebSocket really works
    let awaitingPong = false;
    this.socket = socket;
    socket.onopen = () => {
      // Resume exactly after what we have, or start at the head and ping to know when.
      if (this.lastSeq !== null) socket.send(JSON.stringify({ op: "resume", after: this.lastSeq }));
      else awaitingPong = true;
      socket.send(JSON.stringify({ op: "ping" }));
    };
    socket.onmessage = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (!answered) {
        answered = true;
        this.connected();
      }
      if (frame.event === "pong") {
        if (awaitingPong) {
          awaitingPong = false;
          this.onSynced();
        }
        return;
      }
      this.deliver(frame);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.dropped({ failed: !answered, tooSlow: event.code === 4008 });
    };
  }

  openStream() {
    const source = new EventSource(this.endpoint("/v1/stream", { last_event_id: this.lastSeq }));
    let fresh = this.lastSeq === null;
    this.source = source;
    const deliver = (message) => {
      try {
        this.deliver(JSON.parse(message.data));
      } catch {
        /* a frame we cannot read is skipped; its seq is not taken */
      }
    };
    for (const name of ["notification.created", "notification.updated", "notification.withdrawn", "count"]) {
      source.addEventListener(name, deliver);
    }
    source.onopen = () => {
      this.connected();
      if (fresh) {
        fresh = false;
        this.onSynced();
      }
    };
    source.onerror = () => {
      if (this.source !== source) return;
      // EventSource reconnects by itself (with Last-Event-ID) unless the answer was not a stream.
      if (source.readyState !== EventSource.CLOSED) return this.onState("offline");
      this.source = null;
      this.dropped({ failed: false, tooSlow: false });
    };
  }

  deliver(frame) {
    if (typeof frame.seq !== "number") return; // keep-alives and op answers
    if (this.lastSeq !== null && frame.seq <= this.lastSeq) return;
    this.lastSeq = frame.seq;
    this.onFrame(frame);
  }

  connected() {
    this.failures = 0;
    this.retryMs = RETRY_FIRST_MS;
    this.onState("online");
  }

  async dropped({ failed, tooSlow }) {
    if (this.stopped) return;
    this.onState("offline");
    if (tooSlow) return this.schedule(100); // the server asked us to resume from our seq
    if (failed) this.failures += 1;
    const reachable = await this.probe(); // "expired" stops everything; true: REST answers
    if (this.stopped || reachable === "expired") return;
    if (reachable && this.transport === "websocket" && this.failures >= FAILURES_BEFORE_SSE) {
      this.transport = "sse"; // Herald answers but WebSockets do not get through
      return this.schedule(0);
    }
    if (reachable && failed && this.failures === 1) return this.schedule(0);
    this.schedule(this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  schedule(delay) {
    clearTimeout(this.timer);
    const jitter = delay ? Math.random() * delay * 0.2 : 0;
    this.timer = setTimeout(() => this.connect(), delay + jitter);
  }

  reconnectNow() {
    if (this.stopped || this.socket || this.source) return;
    this.retryMs = RETRY_FIRST_MS;
    this.connect();
  }
}

/* ---------------------------------------------------------------- styles */

const STYLES = `
:host {
  --_text: var(--herald-color-text, #1f2328);
  --_muted: var(--herald-color-muted, #59636e);
  --_background: var(--herald-color-background, #ffffff);
  --_hover: var(--herald-color-hover, #f6f8fa);
  --_border: var(--herald-color-border, #d1d9e0);
  --_accent: var(--herald-color-accent, #0969da);
  --_accent-text: var(--herald-color-accent-text, #ffffff);
  --_unread: var(--herald-color-unread, #ddf4ff);
  --_badge: var(--herald-color-badge, #cf222e);
  --_badge-text: var(--herald-color-badge-text, #ffffff);
  --_radius: var(--herald-radius, 8px);
  --_shadow: var(--herald-shadow, 0 8px 24px rgba(31, 35, 40, 0.16));
  --_focus: var(--herald-color-focus, #0969da);
  display: inline-block;
  position: relative;
  font: var(--herald-font, inherit);
  color: var(--_text);
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
button { font: inherit; color: inherit; cursor: pointer; }
button:focus-visible, a:focus-visible, li:focus-visible, textarea:focus-visible, input:focus-visible {
  outline: 2px solid var(--_focus); outline-offset: 2px;
}
.sr-only {
  position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; border: 0;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
}
[part~="bell"] {
  position: relative; display: inline-grid; place-items: center;
  width: var(--herald-bell-size, 2.5rem); height: var(--herald-bell-size, 2.5rem);
  border: 0; border-radius: 50%; background: transparent; color: var(--herald-bell-color, currentColor);
}
[part~="bell"]:hover { background: var(--herald-bell-hover, rgba(127, 127, 127, 0.16)); }
[part~="badge"] {
  position: absolute; top: 0.1rem; right: 0.05rem; min-width: 1.15rem; height: 1.15rem;
  padding: 0 0.3rem; border-radius: 0.6rem; background: var(--_badge); color: var(--_badge-text);
  font-size: 0.7rem; font-weight: 700; line-height: 1.15rem; text-align: center;
  box-shadow: 0 0 0 2px var(--herald-badge-ring, var(--_background));
}
[part~="badge"][hidden] { display: none; }
[part~="panel"] {
  position: absolute; z-index: var(--herald-z-index, 1000); top: calc(100% + 0.4rem);
  inset-inline-end: 0; width: var(--herald-panel-width, 24rem); max-width: calc(100vw - 1rem);
  display: flex; flex-direction: column; max-height: var(--herald-panel-max-height, 34rem);
  background: var(--_background); color: var(--_text); border: 1px solid var(--_border);
  border-radius: var(--_radius); box-shadow: var(--_shadow); overflow: hidden;
  font-size: var(--herald-font-size, 0.9rem); line-height: 1.4; text-align: start;
}
[part~="panel"][hidden] { display: none; }
header { display: flex; align-items: center; gap: 0.5rem; padding: 0.75rem 0.75rem 0.25rem 1rem; }
h2 { flex: 1; margin: 0; font-size: 1.05em; font-weight: 650; }
h2:focus { outline: none; } /* only where focus waits while the list loads */
.toolbar { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 0.5rem; padding: 0.25rem 1rem 0.6rem; border-bottom: 1px solid var(--_border); }
.toolbar button { white-space: nowrap; }
[part~="filter"] { display: inline-flex; border: 1px solid var(--_border); border-radius: 999px; padding: 2px; }
[part~="filter"] button { border: 0; background: transparent; padding: 0.15rem 0.7rem; border-radius: 999px; color: var(--_muted); }
[part~="filter"] button[aria-pressed="true"] { background: var(--_accent); color: var(--_accent-text); }
.link-button { border: 0; background: transparent; color: var(--_accent); padding: 0.2rem 0.3rem; border-radius: 4px; }
.link-button:hover { text-decoration: underline; }
.link-button:disabled { color: var(--_muted); cursor: default; text-decoration: none; }
.icon-button { border: 0; background: transparent; color: var(--_muted); display: inline-grid; place-items: center; width: 2rem; height: 2rem; border-radius: 50%; flex: none; }
.icon-button:hover { background: var(--_hover); color: var(--_text); }
[part~="status"] { margin: 0; padding: 0.4rem 1rem; font-size: 0.85em; color: var(--_muted); background: var(--_hover); border-bottom: 1px solid var(--_border); }
[part~="status"]:empty { display: none; }
.scroller { overflow-y: auto; flex: 1; overscroll-behavior: contain; }
[part~="list"] { list-style: none; margin: 0; padding: 0; }
[part~="item"] { position: relative; display: flex; gap: 0.6rem; align-items: flex-start; padding: 0.75rem 0.75rem 0.75rem 1.6rem; border-bottom: 1px solid var(--_border); }
[part~="item"]:hover { background: var(--_hover); }
[part~="item"].unread { background: var(--_unread); }
[part~="item"].unread::before { content: ""; position: absolute; left: 0.65rem; top: 1.15rem; width: 0.5rem; height: 0.5rem; border-radius: 50%; background: var(--_accent); }
.body { flex: 1; min-width: 0; }
.message { margin: 0; overflow-wrap: anywhere; }
[part~="item"].unread .message { font-weight: 600; }
.message p { margin: 0 0 0.3em; }
.meta { margin-top: 0.2rem; font-size: 0.85em; color: var(--_muted); display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; }
.answered { color: var(--herald-color-success, #1a7f37); font-weight: 600; }
.links { display: flex; flex-wrap: wrap; gap: 0.4rem; margin-top: 0.45rem; }
[part~="action"], [part~="respond"] {
  display: inline-block; padding: 0.2rem 0.65rem; border-radius: 999px; font-size: 0.85em;
  border: 1px solid var(--_accent); color: var(--_accent); background: var(--_background); text-decoration: none;
}
[part~="respond"] { background: var(--_accent); color: var(--_accent-text); }
[part~="action"]:hover { background: var(--_hover); }
.empty { margin: 0; padding: 2.5rem 1rem; text-align: center; color: var(--_muted); }
footer { display: flex; justify-content: center; gap: 0.75rem; padding: 0.4rem; border-top: 1px solid var(--_border); }
footer:not(:has(button:not([hidden]))) { display: none; }
[part~="action-dialog"] {
  width: min(28rem, calc(100vw - 2rem)); padding: 1.25rem; border: 1px solid var(--_border);
  border-radius: var(--_radius); background: var(--_background); color: var(--_text);
  box-shadow: var(--_shadow); font-size: var(--herald-font-size, 0.9rem);
}
[part~="action-dialog"]::backdrop { background: var(--herald-backdrop, rgba(31, 35, 40, 0.45)); }
dialog h2 { margin-bottom: 0.75rem; }
.quoted { margin: 0 0 1rem; padding: 0.6rem 0.8rem; border-inline-start: 3px solid var(--_accent); background: var(--_hover); border-radius: 4px; overflow-wrap: anywhere; }
fieldset { border: 0; margin: 0 0 0.9rem; padding: 0; }
legend { font-weight: 600; margin-bottom: 0.4rem; padding: 0; }
.choice { display: flex; align-items: center; gap: 0.5rem; padding: 0.3rem 0; }
.choice input { accent-color: var(--_accent); width: 1rem; height: 1rem; margin: 0; }
label.note { display: block; font-weight: 600; margin-bottom: 0.3rem; }
textarea { width: 100%; font: inherit; color: inherit; background: var(--_background); border: 1px solid var(--_border); border-radius: 6px; padding: 0.5rem; resize: vertical; }
.error { color: var(--_badge); margin: 0.5rem 0 0; min-height: 1.2em; }
.buttons { display: flex; justify-content: flex-end; gap: 0.5rem; margin-top: 0.75rem; }
.buttons button { padding: 0.4rem 1rem; border-radius: 6px; border: 1px solid var(--_border); background: var(--_background); }
.buttons button[type="submit"] { background: var(--_accent); color: var(--_accent-text); border-color: var(--_accent); }
.buttons button:disabled { opacity: 0.6; cursor: progress; }
`;

let sheet = null;
function styleSheet() {
  if (sheet) return sheet;
  sheet = new CSSStyleSheet(); // constructed: allowed under a CSP without 'unsafe-inline'
  sheet.replaceSync(STYLES + PREFERENCE_STYLES);
  return sheet;
}

/* ---------------------------------------------------------------- the element */

let instances = 0;

export class HeraldInbox extends HTMLElement {
  static observedAttributes = ["token", "base-url", "product", "locale", "per-page", "choices", "categories"];

  constructor() {
    super();
    this.uid = `hi${++instances}`;
    this.attachShadow({ mode: "open" });
    this.shadowRoot.adoptedStyleSheets = [styleSheet()];
    this.items = new Map(); // id -> item
    this.unreadCount = 0;
    this.unseenCount = 0;
    this.reset();
  }

  /* -- public API -- */

  /** The unread count the badge shows. */
  get unread() {
    return this.unreadCount;
  }

  /** "connecting", "online" (live events flow), "offline" (reconnecting) or "expired". */
  get connection() {
    return this.expired ? "expired" : this.connectionState || "connecting";
  }

  /** Open the panel (and load the list the first time). */
  open() {
    if (!this.panel.hidden) return;
    this.panel.hidden = false;
    this.bell.setAttribute("aria-expanded", "true");
    if (!this.loaded && !this.loading) this.reload();
    this.renderPopupsButton();
    requestAnimationFrame(() => this.focusFirst());
  }

  /** Close the panel; focus goes back to the bell when it was inside. */
  close() {
    if (this.panel.hidden) return;
    const hadFocus = this.panel.contains(this.shadowRoot.activeElement);
    this.panel.hidden = true;
    this.showList({ focus: false });
    this.bell.setAttribute("aria-expanded", "false");
    if (hadFocus) this.bell.focus();
  }

  /** Read the list and the count again from Herald. */
  refresh() {
    this.fetchCount();
    if (this.loaded) this.reload();
  }

  /* -- lifecycle -- */

  connectedCallback() {
    if (!this.built) this.build();
    this.outside = (event) => {
      if (!this.panel.hidden && !event.composedPath().includes(this)) this.close();
    };
    document.addEventListener("pointerdown", this.outside);
    this.clock = setInterval(() => this.renderTimes(), 60000);
    this.start();
  }

  disconnectedCallback() {
    document.removeEventListener("pointerdown", this.outside);
    clearInterval(this.clock);
    this.stop();
  }

  attributeChangedCallback(name, before, after) {
    if (before === after || !this.built) return;
    if (name === "locale" || name === "choices") {
      this.applyLocale();
      return;
    }
    if (name === "categories") {
      this.prefs.only = this.shownCategories;
      this.prefs.render();
      return;
    }
    // Another token may be another user: start again from nothing.
    this.showList({ focus: false });
    this.stop();
    this.items.clear();
    this.reset();
    this.renderList();
    this.start();
  }

  reset() {
    this.loaded = false;
    this.loading = false;
    this.nextCursor = null;
    this.expired = false;
    this.connectionState = null;
    this.countVersion = 0;
    this.lastItemSeq = null;
    this.filter = this.filter || "all";
  }

  get base() {
    const given = this.getAttribute("base-url");
    if (!given) return DEFAULT_BASE;
    return new URL(given.endsWith("/") ? given : `${given}/`, document.baseURI);
  }

  get perPage() {
    const value = Number.parseInt(this.getAttribute("per-page") || "", 10);
    return value >= 1 && value <= 100 ? value : PAGE_SIZE;
  }

  /** The categories the preferences view lists (the `categories` attribute), or null: all. */
  get shownCategories() {
    const given = (this.getAttribute("categories") || "").split(/[\s,]+/).filter(Boolean);
    return given.length ? given : null;
  }

  get choices() {
    const given = (this.getAttribute("choices") || "").split(/[\s,]+/).filter((c) => ACTION_TYPES.includes(c));
    return given.length ? given : ACTION_TYPES;
  }

  start() {
    const token = this.getAttribute("token");
    if (!token) return;
    this.api = new Api(this.base, token, () => this.tokenExpired());
    this.live = new Live({
      api: this.api,
      product: this.getAttribute("product"),
      onFrame: (frame) => this.onFrame(frame),
      onSynced: () => this.synced(),
      onState: (state) => this.setConnection(state),
      probe: () => this.probe(),
    });
    this.fetchCount();
    this.live.start();
  }

  stop() {
    this.live?.stop();
    this.live = null;
    if (this.prefs) this.prefs.options = null; // another token may be another user
    clearTimeout(this.reloadTimer);
  }

  /* -- building the shadow DOM -- */

  build() {
    this.built = true;
    const id = (name) => `${this.uid}-${name}`;
    this.bell = element("button", { part: "bell", type: "button", "aria-haspopup": "dialog", "aria-expanded": "false", "aria-controls": id("panel") });
    this.bell.innerHTML = BELL_ICON;
    this.badge = element("span", { part: "badge", "aria-hidden": "true", hidden: true }, "0");
    this.bell.append(this.badge);
    this.announcer = element("span", { class: "sr-only", role: "status", "aria-live": "polite", part: "live" });

    this.heading = element("h2", { id: id("title"), tabindex: "-1" });
    this.closeButton = element("button", { type: "button", class: "icon-button", part: "close" });
    this.settingsButton = element("button", { type: "button", class: "icon-button", part: "settings", "aria-controls": id("pref-view"), "aria-expanded": "false" });
    this.settingsButton.innerHTML = SETTINGS_ICON;
    this.backButton = element("button", { type: "button", class: "icon-button", part: "back", hidden: true });
    this.backButton.innerHTML = BACK_ICON;
    this.prefs = new PreferencesView({ api: { call: (...args) => this.api.call(...args) }, uid: this.uid, only: this.shownCategories });
    this.closeButton.innerHTML = `<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path fill="currentColor" d="M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7l-1.4-1.4L9.2 12 2.9 5.7l1.4-1.4 6.3 6.3 6.3-6.3z"/></svg>`;
    this.filterAll = element("button", { type: "button", "data-filter": "all" });
    this.filterUnread = element("button", { type: "button", "data-filter": "unread" });
    this.filterGroup = element("div", { role: "group", part: "filter" }, this.filterAll, this.filterUnread);
    this.markAll = element("button", { type: "button", part: "mark-all-read", class: "link-button" });
    this.status = element("p", { part: "status" });
    this.list = element("ul", { part: "list", role: "list", "aria-labelledby": id("title") });
    this.emptyNote = element("p", { class: "empty", part: "empty", hidden: true });
    this.more = element("button", { type: "button", part: "load-more", class: "link-button", hidden: true });
    this.popupsButton = element("button", { type: "button", part: "enable-popups", class: "link-button", hidden: true });
    this.panel = element(
      "section",
      { part: "panel", id: id("panel"), role: "dialog", "aria-modal": "false", "aria-labelledby": id("title"), hidden: true },
      element("header", {}, this.backButton, this.heading, this.settingsButton, this.closeButton),
      (this.toolbar = element("div", { class: "toolbar" }, this.filterGroup, this.markAll)),
      this.status,
      (this.scroller = element("div", { class: "scroller" }, this.list, this.emptyNote)),
      this.prefs.root,
      (this.footer = element("footer", {}, this.more, this.popupsButton)),
    );
    this.buildDialog(id);
    this.shadowRoot.append(this.bell, this.announcer, this.panel, this.dialog);
    this.wire();
    this.applyLocale();
  }

  buildDialog(id) {
    this.dialogTitle = element("h2", { id: id("dialog-title") });
    this.dialogMessage = element("blockquote", { class: "quoted", id: id("dialog-message") });
    this.choiceLegend = element("legend");
    this.choiceList = element("div", { class: "choices" });
    this.noteLabel = element("label", { class: "note", for: id("note") });
    this.note = element("textarea", { id: id("note"), rows: "3", maxlength: String(NOTE_MAX), part: "note" });
    this.dialogError = element("p", { class: "error", role: "alert" });
    this.cancelButton = element("button", { type: "button", part: "cancel" });
    this.confirmButton = element("button", { type: "submit", part: "confirm" });
    this.form = element(
      "form",
      { method: "dialog" },
      this.dialogTitle,
      this.dialogMessage,
      element("fieldset", {}, this.choiceLegend, this.choiceList),
      this.noteLabel,
      this.note,
      this.dialogError,
      element("div", { class: "buttons" }, this.cancelButton, this.confirmButton),
    );
    this.dialog = element("dialog", { part: "action-dialog", "aria-labelledby": id("dialog-title"), "aria-describedby": id("dialog-message") }, this.form);
  }

  wire() {
    this.bell.addEventListener("click", () => (this.panel.hidden ? this.open() : this.close()));
    this.closeButton.addEventListener("click", () => this.close());
    this.settingsButton.addEventListener("click", () => this.showPreferences());
    this.backButton.addEventListener("click", () => this.showList({ focus: true }));
    this.panel.addEventListener("keydown", (event) => this.onPanelKey(event));
    this.filterGroup.addEventListener("click", (event) => {
      const filter = event.target.closest("button")?.dataset.filter;
      if (filter && filter !== this.filter) {
        this.filter = filter;
        this.renderFilter();
        this.reload();
      }
    });
    this.markAll.addEventListener("click", () => this.markAllRead());
    this.more.addEventListener("click", () => this.loadMore());
    this.popupsButton.addEventListener("click", () => this.askForPopups());
    this.list.addEventListener("click", (event) => this.onListClick(event));
    this.form.addEventListener("submit", (event) => this.onConfirm(event));
    this.cancelButton.addEventListener("click", () => this.dialog.close());
    this.dialog.addEventListener("close", () => {
      const node = this.dialogItem && this.itemNode(this.dialogItem);
      this.dialogItem = null;
      (node?.querySelector('[part~="respond"]') || node || this.bell).focus();
    });
  }

  applyLocale() {
    const { language, tag } = chooseLocale(this.getAttribute("locale"));
    this.t = STRINGS[language];
    this.localeTag = tag;
    this.prefs.setLocale(language);
    this.heading.textContent = this.prefs.shown ? this.prefs.t.preferences : this.t.title;
    this.closeButton.setAttribute("aria-label", this.t.close);
    this.closeButton.title = this.t.close;
    this.settingsButton.setAttribute("aria-label", this.prefs.t.preferences);
    this.settingsButton.title = this.prefs.t.preferences;
    this.backButton.setAttribute("aria-label", this.prefs.t.back);
    this.backButton.title = this.prefs.t.back;
    this.filterGroup.setAttribute("aria-label", this.t.show);
    this.filterAll.textContent = this.t.all;
    this.filterUnread.textContent = this.t.unread;
    this.markAll.textContent = this.t.markAllRead;
    this.more.textContent = this.t.loadMore;
    this.popupsButton.textContent = this.t.enablePopups;
    this.dialogTitle.textContent = this.t.dialogTitle;
    this.choiceLegend.textContent = this.t.yourAnswer;
    this.noteLabel.textContent = this.t.note;
    this.cancelButton.textContent = this.t.cancel;
    this.confirmButton.textContent = this.t.confirm;
    this.panel.lang = this.dialog.lang = this.bell.lang = tag;
    this.renderFilter();
    this.renderBadge();
    this.renderStatus();
    this.renderList();
  }

  /* -- state from Herald -- */

  async fetchCount() {
    const version = this.countVersion;
    try {
      const count = await this.api.count();
      // A count event that came meanwhile is at least as new as this answer.
      if (version === this.countVersion) this.setCount(count);
      return true;
    } catch (error) {
      return error instanceof HttpError && error.status === 401 ? "expired" : error instanceof HttpError;
    }
  }

  /** Whether Herald answers REST (after a dropped connection); "expired" on a 401. */
  probe() {
    return this.fetchCount();
  }

  synced() {
    // The connection starts at the head and no seq is known: read what the head stands for.
    this.fetchCount();
    if (this.loaded) this.reload();
  }

  async reload() {
    this.loading = true;
    this.nextCursor = null;
    this.renderStatus();
    const version = this.countVersion;
    try {
      const page = await this.api.list({ unreadOnly: this.filter === "unread", perPage: this.perPage });
      this.items.clear();
      this.merge(page, version);
      this.loaded = true;
      this.loadError = false;
    } catch (error) {
      this.loadError = !(error instanceof HttpError && error.status === 401);
    } finally {
      this.loading = false;
      this.renderStatus();
      this.renderList();
      if (this.shadowRoot.activeElement === this.heading) this.focusFirst();
    }
  }

  async loadMore() {
    if (!this.nextCursor || this.loading) return;
    this.loading = true;
    this.more.disabled = true;
    const version = this.countVersion;
    try {
      const page = await this.api.list({ unreadOnly: this.filter === "unread", cursor: this.nextCursor, perPage: this.perPage });
      const first = page.data[0]?.id;
      this.merge(page, version);
      this.renderList();
      if (first) this.itemNode(first)?.focus();
    } catch (error) {
      this.loadError = !(error instanceof HttpError && error.status === 401);
    } finally {
      this.loading = false;
      this.more.disabled = false;
      this.renderStatus();
      this.renderMore();
    }
  }

  merge(page, version) {
    for (const item of page.data) this.items.set(item.id, item);
    this.nextCursor = page.pagination.next_cursor;
    const unread = page.pagination.unread;
    if (typeof unread === "number" && version === this.countVersion) {
      this.setCount({ unread, unseen: this.unseenCount });
    }
  }

  onFrame(frame) {
    const { event, data, seq } = frame;
    if (event === "count") {
      this.countVersion += 1;
      this.setCount(data);
      const paired = this.lastItemSeq === seq - 1;
      if (!paired && !REASONS_WITHOUT_ITEM.has(data.reason) && this.loaded) this.scheduleReload();
      return;
    }
    this.lastItemSeq = seq;
    if (event === "notification.withdrawn") {
      this.items.delete(data.id);
      this.itemNode(data.id)?.remove();
      this.renderEmpty();
      return;
    }
    const known = this.items.has(data.id);
    if (!known && event === "notification.updated" && this.beyondLoaded(data.id)) return;
    this.items.set(data.id, data);
    this.renderItem(data);
    if (event === "notification.created" && !known) {
      this.announce(`${this.t.newItem}: ${textOf(data)}`);
      this.popup(data);
      this.dispatch("herald-notification", { item: data });
    }
  }

  /** An item older than every loaded one, with pages left: "load more" will bring it. */
  beyondLoaded(id) {
    if (!this.nextCursor) return false;
    for (const known of this.items.keys()) if (known < id) return false;
    return true;
  }

  scheduleReload() {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => this.reloadFirstPage(), 250);
  }

  async reloadFirstPage() {
    try {
      const page = await this.api.list({ unreadOnly: this.filter === "unread", perPage: this.perPage });
      for (const item of page.data) {
        this.items.set(item.id, item);
        this.renderItem(item);
      }
    } catch {
      /* the next event or refresh tries again */
    }
  }

  setCount({ unread, unseen }) {
    const changed = unread !== this.unreadCount;
    this.unreadCount = unread;
    if (typeof unseen === "number") this.unseenCount = unseen;
    this.renderBadge();
    if (changed) this.dispatch("herald-unread", { unread, unseen: this.unseenCount });
  }

  setConnection(state) {
    if (state === this.connectionState) return;
    this.connectionState = state;
    this.renderStatus();
    this.dispatch("herald-connection", { state });
  }

  tokenExpired() {
    if (this.expired) return;
    this.expired = true;
    this.live?.stop();
    this.renderStatus();
    this.dispatch("herald-token-expired", {});
  }

  dispatch(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  /* -- changes by the user -- */

  async markRead(id) {
    const item = this.items.get(id);
    if (!item || item.read) return;
    this.items.set(id, { ...item, read: true, read_at: new Date().toISOString() });
    this.renderItem(this.items.get(id));
    try {
      await this.api.markRead(id);
      if (this.connectionState !== "online") this.fetchCount();
    } catch {
      this.items.set(id, item);
      this.renderItem(item);
    }
  }

  async markAllRead() {
    const before = new Map(this.items);
    for (const [id, item] of this.items) if (!item.read) this.items.set(id, { ...item, read: true });
    this.renderList();
    try {
      await this.api.markAllRead();
      if (this.connectionState !== "online") this.fetchCount();
    } catch {
      this.items = before;
      this.renderList();
    }
  }

  openDialog(id) {
    const item = this.items.get(id);
    if (!item) return;
    this.dialogItem = id;
    this.dialogMessage.textContent = textOf(item);
    this.note.value = "";
    this.dialogError.textContent = "";
    this.choiceList.replaceChildren(
      ...this.choices.map((type) => {
        const input = element("input", { type: "radio", name: "actionType", value: type, id: `${this.uid}-choice-${type}` });
        const label = element("label", { for: input.id }, this.t.choose[type]);
        return element("div", { class: "choice" }, input, label);
      }),
    );
    this.confirmButton.disabled = false;
    this.dialog.showModal();
    this.choiceList.querySelector("input")?.focus();
  }

  async onConfirm(event) {
    event.preventDefault();
    const id = this.dialogItem;
    const chosen = this.form.elements.actionType;
    const actionType = chosen?.value || this.choiceList.querySelector("input:checked")?.value;
    if (!actionType) {
      this.dialogError.textContent = this.t.chooseFirst;
      return;
    }
    this.confirmButton.disabled = true;
    try {
      const item = await this.api.act(id, actionType, this.note.value.trim());
      this.items.set(item.id, item);
      this.renderItem(item);
      if (!item.read) await this.markRead(item.id);
      this.dispatch("herald-action", { item, actionType, actionNote: this.note.value.trim() });
      this.dialog.close();
    } catch {
      this.dialogError.textContent = this.t.saveFailed;
      this.confirmButton.disabled = false;
    }
  }

  onListClick(event) {
    const target = event.target.closest("button, a");
    const node = event.target.closest('[part~="item"]');
    if (!target || !node) return;
    const id = node.dataset.id;
    if (target.matches('[part~="mark-read"]')) this.markRead(id);
    else if (target.matches('[part~="respond"]')) this.openDialog(id);
    else if (target.matches('[part~="action"]')) this.markRead(id);
  }

  onPanelKey(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      this.close();
      return;
    }
    if (this.prefs.shown) return; // the arrows move between list items only
    if (!["ArrowDown", "ArrowUp", "Home", "End"].includes(event.key)) return;
    const nodes = Array.from(this.list.children);
    if (!nodes.length) return;
    const current = nodes.indexOf(event.target.closest('[part~="item"]'));
    const last = nodes.length - 1;
    const down = current === -1 ? 0 : Math.min(current + 1, last);
    const up = current === -1 ? last : Math.max(current - 1, 0);
    const next = { ArrowDown: down, ArrowUp: up, Home: 0, End: last }[event.key];
    event.preventDefault();
    this.focusItem(nodes[next]);
  }

  /** Swap the list for the preferences view (read afresh from Herald each time). */
  showPreferences() {
    if (this.prefs.shown || !this.api) return;
    for (const part of [this.toolbar, this.scroller, this.footer, this.settingsButton]) part.hidden = true;
    this.prefs.root.hidden = false;
    this.backButton.hidden = false;
    this.settingsButton.setAttribute("aria-expanded", "true");
    this.heading.textContent = this.prefs.t.preferences;
    this.backButton.focus();
    this.prefs.load();
  }

  /** Back to the list from the preferences view. */
  showList({ focus }) {
    if (!this.prefs.shown) return;
    this.prefs.root.hidden = true;
    for (const part of [this.toolbar, this.scroller, this.footer, this.settingsButton]) part.hidden = false;
    this.backButton.hidden = true;
    this.settingsButton.setAttribute("aria-expanded", "false");
    this.heading.textContent = this.t.title;
    if (focus) this.settingsButton.focus();
  }

  focusItem(node) {
    for (const other of this.list.children) other.tabIndex = -1;
    node.tabIndex = 0;
    node.focus();
  }

  focusFirst() {
    const first = this.list.firstElementChild;
    if (first) this.focusItem(first);
    else this.heading.focus();
  }

  /* -- pop-ups -- */

  renderPopupsButton() {
    const api = globalThis.Notification;
    this.popupsButton.hidden = !(api && api.permission === "default" && !this.hasAttribute("no-popups"));
  }

  async askForPopups() {
    await globalThis.Notification?.requestPermission();
    this.renderPopupsButton();
  }

  popup(item) {
    const popups = globalThis.Notification;
    if (!popups || popups.permission !== "granted" || this.hasAttribute("no-popups")) return;
    this.burst = this.burst || [];
    this.burst.push(item);
    clearTimeout(this.burstTimer);
    this.burstTimer = setTimeout(() => this.showPopups(), 150);
  }

  showPopups() {
    const items = this.burst;
    this.burst = [];
    const show = (title, options, id) => {
      try {
        const shown = new globalThis.Notification(title, { lang: this.localeTag, ...options });
        shown.onclick = () => {
          window.focus();
          this.open();
          if (id) requestAnimationFrame(() => this.itemNode(id)?.focus());
          shown.close();
        };
      } catch {
        /* a browser that only shows pop-ups from a service worker */
      }
    };
    if (items.length > POPUP_BURST) {
      show(this.t.newItems(items.length), { tag: "herald-inbox-burst" });
      return;
    }
    for (const item of items) show(this.t.newItem, { body: textOf(item), tag: `herald-${item.id}` }, item.id);
  }

  announce(text) {
    this.announcer.textContent = "";
    requestAnimationFrame(() => (this.announcer.textContent = text));
  }

  /* -- rendering -- */

  renderBadge() {
    if (!this.t) return;
    const n = this.unreadCount;
    this.badge.textContent = String(n);
    this.badge.hidden = n === 0;
    this.bell.setAttribute("aria-label", `${this.t.title}, ${this.t.unreadCount(n)}`);
    this.bell.title = this.bell.getAttribute("aria-label");
    this.markAll.disabled = n === 0;
  }

  renderFilter() {
    this.filterAll.setAttribute("aria-pressed", String(this.filter === "all"));
    this.filterUnread.setAttribute("aria-pressed", String(this.filter === "unread"));
  }

  renderStatus() {
    if (!this.t) return;
    let text = "";
    if (this.expired) text = this.t.expired;
    else if (this.connectionState === "offline") text = this.t.offline;
    else if (this.loadError) text = this.t.loadFailed;
    else if (this.loading && !this.loaded) text = this.t.loading;
    this.status.textContent = text;
  }

  visibleItems() {
    return Array.from(this.items.values()).sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  renderList() {
    if (!this.t) return;
    const focused = this.focusedItemId();
    this.list.replaceChildren(...this.visibleItems().map((item) => this.itemElement(item)));
    if (this.list.firstElementChild) this.list.firstElementChild.tabIndex = 0;
    if (focused) this.itemNode(focused)?.focus();
    this.renderEmpty();
    this.renderMore();
  }

  renderItem(item) {
    if (!this.t) return;
    const old = this.itemNode(item.id);
    const focusedRole = old && old.contains(this.shadowRoot.activeElement) ? this.shadowRoot.activeElement.getAttribute("part") : null;
    const fresh = this.itemElement(item);
    if (old) {
      fresh.tabIndex = old.tabIndex;
      old.replaceWith(fresh);
    } else {
      const after = Array.from(this.list.children).find((node) => node.dataset.id < item.id);
      this.list.insertBefore(fresh, after || null);
      if (this.list.children.length === 1) fresh.tabIndex = 0;
    }
    if (focusedRole) (fresh.querySelector(`[part="${focusedRole}"]`) || fresh).focus();
    this.renderEmpty();
  }

  renderEmpty() {
    const empty = this.list.children.length === 0 && this.loaded;
    this.emptyNote.hidden = !empty;
    this.emptyNote.textContent = this.filter === "unread" ? this.t.emptyUnread : this.t.empty;
  }

  renderMore() {
    this.more.hidden = !this.nextCursor;
  }

  renderTimes() {
    for (const time of this.list.querySelectorAll("time")) time.textContent = relativeTime(time.dateTime, this.localeTag, this.t);
  }

  itemNode(id) {
    return Array.from(this.list.children).find((node) => node.dataset.id === id) || null;
  }

  focusedItemId() {
    return this.shadowRoot.activeElement?.closest?.('[part~="item"]')?.dataset.id || null;
  }

  itemElement(item) {
    const t = this.t;
    const messageId = `${this.uid}-m-${item.id}`;
    const message = element("div", { class: "message", id: messageId });
    if (!item.read) message.append(element("span", { class: "sr-only" }, `${t.unreadMark}: `));
    if (item.message_formatted) message.append(sanitise(item.message_formatted));
    else message.append(textOf(item));
    const created = new Date(item.created_at);
    const time = element("time", { datetime: item.created_at, title: fullDate(created, this.localeTag, t) }, relativeTime(item.created_at, this.localeTag, t));
    const meta = element("div", { class: "meta" }, time);
    if (item.actionStatus) meta.append(element("span", { class: "answered" }, t.answered(t.done[item.actionStatus] || item.actionStatus)));
    const links = element("div", { class: "links" });
    for (const action of item.actions || []) {
      if (action && action.url && safeUrl(action.url)) {
        links.append(element("a", { part: "action", href: action.url, target: "_blank", rel: "noopener noreferrer" }, action.label || action.url));
      }
    }
    if (item.requireAction && !item.actionStatus) {
      links.append(element("button", { type: "button", part: "respond", "aria-describedby": messageId }, t.respond));
    }
    const body = element("div", { class: "body" }, message, meta, links.childElementCount ? links : null);
    const node = element(
      "li",
      { part: item.read ? "item" : "item item-unread", class: item.read ? "item" : "item unread", "data-id": item.id, tabindex: "-1", "aria-labelledby": messageId },
      body,
    );
    if (!item.read) {
      const button = element("button", { type: "button", part: "mark-read", class: "icon-button", "aria-label": t.markRead, title: t.markRead, "aria-describedby": messageId });
      button.innerHTML = CHECK_ICON;
      node.append(button);
    }
    return node;
  }
}

if (!customElements.get("herald-inbox")) customElements.define("herald-inbox", HeraldInbox);
