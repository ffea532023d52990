/**
 * The preferences view of <herald-inbox> (herald-inbox.js imports it from beside itself).
 *
 * It reads GET /v1/me/preferences/options (the categories, the user's timezone, the account's
 * defaults in effect and the user's own choices) and saves with PUT /v1/me/preferences. It
 * sends the user's own document with the changes made here, never the document in effect, so
 * that what the user did not touch keeps following the account's defaults.
 */

const SWITCH_TRACK = "switch";

export const PREFERENCE_STRINGS = {
  en: {
    preferences: "Preferences",
    back: "Back to notifications",
    intro: "Choose which notifications reach you, and where: in this inbox, by email, text or push.",
    channels: "Channels",
    channel: { in_app: "This inbox", email: "Email", sms: "SMS", push: "Push notifications" },
    short: { in_app: "Inbox", email: "Email", sms: "SMS", push: "Push" },
    categories: "Categories",
    category: "Category",
    locked: "Always sent",
    lockedHint: "Sent whatever you choose (security notices, receipts…)",
    quiet: "Quiet hours",
    quietToggle: "Hold email, SMS and push",
    from: "From",
    until: "Until",
    timezone: (zone) => `Times in your time zone: ${zone}`,
    save: "Save",
    saving: "Saving…",
    saved: "Preferences saved.",
    loadFailed: "Your preferences could not be loaded.",
    saveFailed: "Your preferences could not be saved.",
    bothTimes: "Give a start and an end time.",
  },
  cy: {
    preferences: "Dewisiadau",
    back: "Yn ôl i'r hysbysiadau",
    intro: "Dewiswch pa hysbysiadau sy'n eich cyrraedd, a ble: yn y blwch hwn, drwy e-bost, neges destun neu wthio.",
    channels: "Sianeli",
    channel: { in_app: "Y blwch hwn", email: "E-bost", sms: "Neges destun (SMS)", push: "Hysbysiadau gwthio" },
    short: { in_app: "Blwch", email: "E-bost", sms: "SMS", push: "Gwthio" },
    categories: "Categorïau",
    category: "Categori",
    locked: "Anfonir bob tro",
    lockedHint: "Anfonir beth bynnag a ddewiswch (hysbysiadau diogelwch, derbynebau…)",
    quiet: "Oriau tawel",
    quietToggle: "Dal e-bost, SMS a gwthio yn ôl",
    from: "O",
    until: "Tan",
    timezone: (zone) => `Amseroedd yn eich cylchfa amser: ${zone}`,
    save: "Cadw",
    saving: "Wrthi'n cadw…",
    saved: "Dewisiadau wedi'u cadw.",
    loadFailed: "Doedd dim modd llwytho eich dewisiadau.",
    saveFailed: "Doedd dim modd cadw eich dewisiadau.",
    bothTimes: "Rhowch amser dechrau ac amser gorffen.",
  },
  da: {
    preferences: "Indstillinger",
    back: "Tilbage til notifikationer",
    intro: "Vælg, hvilke notifikationer der når dig, og hvor: i denne indbakke, på e-mail, sms eller push.",
    channels: "Kanaler",
    channel: { in_app: "Denne indbakke", email: "E-mail", sms: "SMS", push: "Push-notifikationer" },
    short: { in_app: "Indbakke", email: "E-mail", sms: "SMS", push: "Push" },
    categories: "Kategorier",
    category: "Kategori",
    locked: "Sendes altid",
    lockedHint: "Sendes uanset dit valg (sikkerhedsbeskeder, kvitteringer…)",
    quiet: "Stilletid",
    quietToggle: "Hold e-mail, SMS og push tilbage",
    from: "Fra",
    until: "Til",
    timezone: (zone) => `Tidspunkter i din tidszone: ${zone}`,
    save: "Gem",
    saving: "Gemmer…",
    saved: "Indstillingerne er gemt.",
    loadFailed: "Dine indstillinger kunne ikke indlæses.",
    saveFailed: "Dine indstillinger kunne ikke gemmes.",
    bothTimes: "Angiv et start- og et sluttidspunkt.",
  },
  de: {
    preferences: "Einstellungen",
    back: "Zurück zu den Benachrichtigungen",
    intro: "Wählen Sie, welche Benachrichtigungen Sie erreichen und wo: in diesem Posteingang, per E-Mail, SMS oder Push.",
    channels: "Kanäle",
    channel: { in_app: "Dieser Posteingang", email: "E-Mail", sms: "SMS", push: "Push-Benachrichtigungen" },
    short: { in_app: "Posteingang", email: "E-Mail", sms: "SMS", push: "Push" },
    categories: "Kategorien",
    category: "Kategorie",
    locked: "Wird immer gesendet",
    lockedHint: "Wird unabhängig von Ihrer Wahl gesendet (Sicherheitshinweise, Belege…)",
    quiet: "Ruhezeiten",
    quietToggle: "E-Mail, SMS und Push zurückhalten",
    from: "Von",
    until: "Bis",
    timezone: (zone) => `Zeiten in Ihrer Zeitzone: ${zone}`,
    save: "Speichern",
    saving: "Wird gespeichert…",
    saved: "Einstellungen gespeichert.",
    loadFailed: "Ihre Einstellungen konnten nicht geladen werden.",
    saveFailed: "Ihre Einstellungen konnten nicht gespeichert werden.",
    bothTimes: "Geben Sie eine Anfangs- und eine Endzeit an.",
  },
  fr: {
    preferences: "Préférences",
    back: "Retour aux notifications",
    intro: "Choisissez les notifications qui vous parviennent, et où : dans cette boîte, par e-mail, SMS ou push.",
    channels: "Canaux",
    channel: { in_app: "Cette boîte", email: "E-mail", sms: "SMS", push: "Notifications push" },
    short: { in_app: "Boîte", email: "E-mail", sms: "SMS", push: "Push" },
    categories: "Catégories",
    category: "Catégorie",
    locked: "Toujours envoyé",
    lockedHint: "Envoyé quel que soit votre choix (alertes de sécurité, reçus…)",
    quiet: "Heures calmes",
    quietToggle: "Retenir e-mails, SMS et push",
    from: "De",
    until: "Jusqu'à",
    timezone: (zone) => `Heures dans votre fuseau horaire : ${zone}`,
    save: "Enregistrer",
    saving: "Enregistrement…",
    saved: "Préférences enregistrées.",
    loadFailed: "Vos préférences n'ont pas pu être chargées.",
    saveFailed: "Vos préférences n'ont pas pu être enregistrées.",
    bothTimes: "Indiquez une heure de début et une heure de fin.",
  },
};

export const PREFERENCE_STYLES = `
[part~="preferences"] { overflow-y: auto; flex: 1; overscroll-behavior: contain; padding: 0 1rem; }
[part~="preferences"][hidden] { display: none; }
[part~="preferences"] .intro { margin: 0 0 0.6rem; color: var(--_muted); font-size: 0.85em; }
[part~="preferences"] fieldset { margin: 0 0 0.8rem; }
[part~="preferences"] legend { margin-bottom: 0.15rem; }
[part~="preferences"] legend { font-size: 0.95em; }
.pref-row { display: flex; align-items: center; justify-content: space-between; gap: 0.75rem; padding: 0.25rem 0; border-bottom: 1px solid var(--_border); }
.pref-row:last-child { border-bottom: 0; }
.pref-table { width: 100%; border-collapse: collapse; font-size: 0.92em; }
.pref-table th, .pref-table td { padding: 0.25rem; border-bottom: 1px solid var(--_border); text-align: center; }
.pref-table th:first-child, .pref-table td:first-child { text-align: start; padding-inline-start: 0; }
.pref-table thead th { font-weight: 600; color: var(--_muted); font-size: 0.9em; }
.pref-table tbody th { font-weight: normal; }
.pref-table tr.locked th { color: var(--_muted); }
.lock { display: inline-flex; align-items: center; gap: 0.2rem; margin-inline-start: 0.35rem; font-size: 0.82em; color: var(--_muted); white-space: nowrap; }
[part~="switch"] {
  position: relative; flex: none; width: 2.3rem; height: 1.3rem; padding: 0; border-radius: 999px;
  border: 1px solid var(--_border); background: var(--herald-switch-off, var(--_border));
  transition: background-color 0.12s;
}
[part~="switch"]::after {
  content: ""; position: absolute; top: 0.1rem; inset-inline-start: 0.1rem; width: 0.95rem; height: 0.95rem;
  border-radius: 50%; background: var(--herald-switch-thumb, #ffffff); box-shadow: 0 1px 2px rgba(31, 35, 40, 0.3); transition: inset-inline-start 0.12s;
}
[part~="switch"][aria-checked="true"] { background: var(--_accent); border-color: var(--_accent); }
[part~="switch"][aria-checked="true"]::after { inset-inline-start: 1.1rem; }
[part~="switch"]:disabled { opacity: 0.5; cursor: not-allowed; }
[part~="switch"]:focus-visible { outline: 2px solid var(--_focus); outline-offset: 2px; }
.quiet-times { display: flex; flex-wrap: wrap; align-items: center; gap: 0.4rem 1rem; margin: 0.4rem 0 0.2rem; }
.quiet-times label { display: flex; align-items: center; gap: 0.4rem; font-size: 0.9em; }
.quiet-times input { font: inherit; color: inherit; background: var(--_background); border: 1px solid var(--_border); border-radius: 6px; padding: 0.25rem 0.4rem; }
.quiet-times input:disabled { opacity: 0.55; }
.quiet-times input[aria-invalid="true"] { border-color: var(--_badge); }
.zone { margin: 0.25rem 0 0; color: var(--_muted); font-size: 0.85em; }
/* The save button stays in view at the bottom of the scrolling view. */
.pref-actions { position: sticky; bottom: 0; display: flex; align-items: center; justify-content: flex-end; gap: 0.75rem; margin: 0 -1rem; padding: 0.5rem 1rem; background: var(--_background); border-top: 1px solid var(--_border); }
.pref-actions [part~="save"] { padding: 0.4rem 1.1rem; border-radius: 6px; border: 1px solid var(--_accent); background: var(--_accent); color: var(--_accent-text); }
.pref-actions [part~="save"]:disabled { opacity: 0.6; cursor: progress; }
.pref-saved { margin: 0; color: var(--herald-color-success, #1a7f37); font-size: 0.9em; }
[part~="preferences"] .error:empty { display: none; }
`;

const LOCK_ICON = `<svg viewBox="0 0 24 24" width="12" height="12" aria-hidden="true" focusable="false"><path fill="currentColor" d="M17 9h-1V7a4 4 0 0 0-8 0v2H7a2 2 0 0 0-2 2v9a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2v-9a2 2 0 0 0-2-2Zm-7-2a2 2 0 0 1 4 0v2h-4Z"/></svg>`;

/** A DOM element with attributes (true: present, false/null: absent) and children. */
export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** "lead_assigned" as "Lead assigned": category names are ids, not words. */
export function categoryLabel(name) {
  const words = name.replace(/[._:-]+/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").trim().toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The preferences in effect: the inherited document, then the user's own, as Herald merges. */
function merged(inherited, own) {
  const categories = {};
  for (const source of [inherited.categories || {}, own.categories || {}]) {
    for (const [name, channels] of Object.entries(source)) categories[name] = { ...categories[name], ...channels };
  }
  return {
    channels: { ...(inherited.channels || {}), ...(own.channels || {}) },
    categories,
    quiet_hours: "quiet_hours" in own ? own.quiet_hours : inherited.quiet_hours || null,
  };
}

/** Whether a category reaches the user on a channel: its own choice, else the channel's, else on. */
function allowed(document, category, channel) {
  const chosen = document.categories[category]?.[channel];
  if (chosen !== undefined) return chosen !== false;
  return document.channels[channel] !== false;
}

function clone(value) {
  return JSON.parse(JSON.stringify(value ?? {}));
}

/** The panel's second view: channels, categories and quiet hours, saved in one PUT. */
export class PreferencesView {
  constructor({ api, uid, only }) {
    this.api = api;
    this.uid = uid;
    this.only = only; // the categories to show (the element's `categories` attribute), or null
    this.options = null;
    this.own = {};
    this.changed = new Set(); // "channels", "categories": the own fields changed here
    this.quietChanged = false;
    this.loading = false;
    this.build();
  }

  build() {
    const id = (name) => `${this.uid}-pref-${name}`;
    this.intro = element("p", { class: "intro" });
    this.channelLegend = element("legend");
    this.channelRows = element("div", { class: "pref-channels" });
    this.categoryLegend = element("legend");
    this.categoryTable = element("table", { class: "pref-table", part: "pref-categories" });
    this.quietLegend = element("legend");
    this.quietLabel = element("span", { id: id("quiet-label") });
    this.quietSwitch = this.switchButton({ "aria-labelledby": id("quiet-label"), "data-quiet": "on" });
    this.startLabel = element("span");
    this.endLabel = element("span");
    this.start = element("input", { type: "time", id: id("start"), part: "quiet-start", "data-path": "/quiet_hours/start" });
    this.end = element("input", { type: "time", id: id("end"), part: "quiet-end", "data-path": "/quiet_hours/end" });
    this.zone = element("p", { class: "zone", part: "timezone" });
    this.error = element("p", { class: "error", role: "alert", part: "pref-error" });
    this.saved = element("p", { class: "pref-saved", role: "status" });
    this.saveButton = element("button", { type: "submit", part: "save" });
    this.form = element(
      "form",
      { novalidate: true },
      this.intro,
      element("fieldset", { part: "pref-channels" }, this.channelLegend, this.channelRows),
      element("fieldset", {}, this.categoryLegend, this.categoryTable),
      element(
        "fieldset",
        { part: "pref-quiet" },
        this.quietLegend,
        element("div", { class: "pref-row" }, this.quietLabel, this.quietSwitch),
        element("div", { class: "quiet-times" }, element("label", { for: this.start.id }, this.startLabel, this.start), element("label", { for: this.end.id }, this.endLabel, this.end)),
        this.zone,
      ),
      this.error,
      element("div", { class: "pref-actions" }, this.saved, this.saveButton),
    );
    this.loadError = element("p", { class: "error", role: "alert" });
    this.root = element("div", { part: "preferences", id: id("view"), hidden: true }, this.loadError, this.form);
    this.form.addEventListener("click", (event) => this.onClick(event));
    this.form.addEventListener("submit", (event) => this.onSave(event));
    this.form.addEventListener("input", (event) => this.onInput(event));
  }

  switchButton(attributes) {
    return element("button", { type: "button", role: "switch", part: SWITCH_TRACK, "aria-checked": "false", ...attributes });
  }

  setLocale(language) {
    this.t = PREFERENCE_STRINGS[language] || PREFERENCE_STRINGS.en;
    this.intro.textContent = this.t.intro;
    this.channelLegend.textContent = this.t.channels;
    this.categoryLegend.textContent = this.t.categories;
    this.quietLegend.textContent = this.t.quiet;
    this.quietLabel.textContent = this.t.quietToggle;
    this.startLabel.textContent = this.t.from;
    this.endLabel.textContent = this.t.until;
    this.saveButton.textContent = this.t.save;
    this.render();
  }

  get shown() {
    return !this.root.hidden;
  }

  /** Read the options and both layers again (each time the view opens: another tab may have saved). */
  async load() {
    this.loading = true;
    this.error.textContent = this.loadError.textContent = "";
    this.saved.textContent = "";
    try {
      this.options = await this.api.call("GET", "/v1/me/preferences/options");
      this.own = clone(this.options.own);
      this.changed.clear();
      this.quietChanged = false;
    } catch (error) {
      this.options = null;
      if (error?.status !== 401) this.loadError.textContent = this.t.loadFailed;
    } finally {
      this.loading = false;
      this.render();
    }
  }

  /** The `categories` attribute's, else the account's own and any built-in one with a choice
   * in effect (Herald's built-in types are many; an app sends few of them). */
  categoriesShown(effective) {
    const all = this.options?.categories || [];
    if (this.only) return all.filter((c) => this.only.includes(c.name));
    return all.filter((c) => !c.builtin || c.name in effective.categories);
  }

  render() {
    if (!this.t) return;
    const options = this.options;
    this.form.hidden = !options;
    if (!options) return;
    const effective = merged(options.inherited, this.own);
    const channels = options.channels;
    this.channelRows.replaceChildren(
      ...channels.map((channel) => {
        const labelId = `${this.uid}-pref-channel-${channel}`;
        const button = this.switchButton({ "aria-labelledby": labelId, "aria-checked": String(effective.channels[channel] !== false), "data-channel": channel });
        return element("div", { class: "pref-row" }, element("span", { id: labelId }, this.t.channel[channel] || channel), button);
      }),
    );
    const head = element("tr", {}, element("th", { scope: "col" }, this.t.category), ...channels.map((c) => element("th", { scope: "col" }, this.t.short[c] || c)));
    const shown = this.categoriesShown(effective);
    this.categoryTable.closest("fieldset").hidden = shown.length === 0;
    const rows = shown.map((category) => {
      const label = categoryLabel(category.name);
      const name = element("th", { scope: "row" }, label);
      if (category.mandatory) {
        const lock = element("span", { class: "lock", title: this.t.lockedHint, part: "locked" }, this.t.locked);
        lock.insertAdjacentHTML("afterbegin", LOCK_ICON);
        name.append(lock);
      }
      const cells = channels.map((channel) => {
        const on = category.mandatory || allowed(effective, category.name, channel);
        const button = this.switchButton({
          "aria-label": `${label}: ${this.t.short[channel] || channel}`,
          "aria-checked": String(on),
          "data-category": category.name,
          "data-channel": channel,
          disabled: category.mandatory,
        });
        if (category.mandatory) button.title = this.t.lockedHint;
        return element("td", {}, button);
      });
      return element("tr", { class: category.mandatory ? "locked" : null, "data-category": category.name }, name, ...cells);
    });
    this.categoryTable.replaceChildren(element("thead", {}, head), element("tbody", {}, ...rows));
    const quiet = effective.quiet_hours;
    this.quietSwitch.setAttribute("aria-checked", String(Boolean(quiet)));
    if (quiet) {
      this.start.value = quiet.start;
      this.end.value = quiet.end;
    } else if (!this.start.value && !this.end.value) {
      this.start.value = "22:00";
      this.end.value = "07:00";
    }
    this.start.disabled = this.end.disabled = !quiet;
    this.zone.textContent = this.t.timezone(options.timezone || "UTC");
  }

  onClick(event) {
    const button = event.target.closest('[role="switch"]');
    if (!button || button.disabled) return;
    const on = button.getAttribute("aria-checked") !== "true";
    this.saved.textContent = "";
    if (button.dataset.quiet) {
      this.own.quiet_hours = on ? { start: this.start.value || "22:00", end: this.end.value || "07:00" } : null;
      this.quietChanged = true;
    } else if (button.dataset.category) {
      const { category, channel } = button.dataset;
      this.own.categories = this.own.categories || {};
      this.own.categories[category] = { ...this.own.categories[category], [channel]: on };
      this.changed.add("categories");
    } else {
      this.own.channels = { ...this.own.channels, [button.dataset.channel]: on };
      this.changed.add("channels");
    }
    this.render();
    this.focusSwitch(button.dataset);
  }

  onInput(event) {
    this.saved.textContent = "";
    if (event.target !== this.start && event.target !== this.end) return;
    event.target.removeAttribute("aria-invalid");
    this.own.quiet_hours = { start: this.start.value, end: this.end.value };
    this.quietChanged = true;
  }

  focusSwitch({ quiet, category, channel }) {
    if (quiet) return this.quietSwitch.focus();
    const selector = category ? `[data-category="${CSS.escape(category)}"][data-channel="${channel}"]` : `.pref-channels [data-channel="${channel}"]`;
    this.form.querySelector(selector)?.focus();
  }

  /** The PUT body: the user's own fields that changed here (each field replaces the stored one). */
  body() {
    const body = {};
    for (const field of this.changed) body[field] = this.own[field] || {};
    if (this.quietChanged) body.quiet_hours = this.own.quiet_hours ?? null;
    return body;
  }

  async onSave(event) {
    event.preventDefault();
    this.error.textContent = "";
    this.saved.textContent = "";
    for (const input of [this.start, this.end]) input.removeAttribute("aria-invalid");
    const body = this.body();
    if (body.quiet_hours && (!body.quiet_hours.start || !body.quiet_hours.end)) {
      this.showError(this.t.bothTimes, [{ path: body.quiet_hours.start ? "/quiet_hours/end" : "/quiet_hours/start" }]);
      return;
    }
    this.saveButton.disabled = true;
    this.saveButton.textContent = this.t.saving;
    try {
      await this.api.call("PUT", "/v1/me/preferences", { body });
      this.options.own = { ...this.options.own, ...clone(body) };
      this.own = clone(this.options.own);
      this.changed.clear();
      this.quietChanged = false;
      this.saved.textContent = this.t.saved;
      this.render();
    } catch (error) {
      if (error?.status === 401) return;
      const details = error?.body?.error?.details || [];
      const message = error?.body?.error?.message;
      this.showError(message ? `${this.t.saveFailed} ${message}` : this.t.saveFailed, details);
    } finally {
      this.saveButton.disabled = false;
      this.saveButton.textContent = this.t.save;
    }
  }

  /** The problem under the form, each field it names marked invalid and described by it. */
  showError(text, details) {
    const lines = details.filter((d) => d.message).map((d) => `${d.path}: ${d.message}`);
    this.error.textContent = [text, ...lines].join(" ");
    this.error.id = `${this.uid}-pref-error`;
    for (const detail of details) {
      const field = this.form.querySelector(`[data-path="${CSS.escape(detail.path || "")}"]`);
      if (field) {
        field.setAttribute("aria-invalid", "true");
        field.setAttribute("aria-describedby", this.error.id);
      }
    }
    (this.form.querySelector('[aria-invalid="true"]') || this.saveButton).focus();
  }
}
