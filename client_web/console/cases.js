// Crisis cases (staff): every case that is not resolved, most severe first, then oldest first, kept
// current by the `case` frames the server sends on every change (`event`: opened, joined, ack,
// claim, resolve, escalated). Acknowledge, claim and resolve each carry the optional note typed on
// the card; the notes so far (the case's `history`) are shown on it. Claiming opens the private
// room `case:ID`. Case ids are opaque strings. Facilitators see cases only while no staff member is
// connected, and cannot act on them: their cards have no actions.
import { el, formatTime } from "../dom.js";
import { SEVERITY } from "./flags.js";

const STATE = { open: "Open, nobody on it yet", acknowledged: "Acknowledged", claimed: "Claimed", resolved: "Resolved" };
const AGE_EVERY_MS = 30_000;

const ACTION = { ack: "Acknowledged", claim: "Claimed", resolve: "Resolved" };

/** Case ids are long random strings: cards show their first six characters (the title has all). */
export function shortId(id) {
  const s = String(id);
  return s.length > 8 ? s.slice(0, 6) : s;
}

export function age(ms, now = Date.now()) {
  const minutes = Math.floor(Math.max(0, now - ms) / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min ago`;
}

function claimer(c) {
  const by = c.claimed_by;
  if (!by) return null;
  return typeof by === "string" ? { id: by, alias: by } : by;
}

export class CasesView {
  constructor({ onUpdate, onOpenRoom, onCount }) {
    this.list = document.getElementById("case-list");
    this.empty = document.getElementById("cases-empty");
    this.cases = new Map(); // id -> case (not resolved)
    this.notes = new Map(); // id -> the note being typed, kept across re-renders
    this.onUpdate = onUpdate;
    this.onOpenRoom = onOpenRoom;
    this.onCount = onCount;
    this.me = null;
    this.canAct = true; // staff; a facilitator standing in only sees the cases
    this.list.addEventListener("click", (event) => this.onClick(event));
    this.list.addEventListener("input", (event) => {
      const li = event.target.closest("li[data-case]");
      if (li && event.target.matches("textarea")) this.notes.set(li.dataset.case, event.target.value);
    });
    setInterval(() => {
      for (const node of this.list.querySelectorAll("[data-opened]")) node.textContent = age(Number(node.dataset.opened));
    }, AGE_EVERY_MS);
  }

  reset(cases) {
    this.cases.clear();
    for (const c of cases) if (c.state !== "resolved") this.cases.set(String(c.id), c);
    this.render();
  }

  update(c) {
    const id = String(c.id);
    if (c.state === "resolved") {
      this.cases.delete(id);
      this.notes.delete(id);
    } else {
      this.cases.set(id, c);
    }
    this.render();
  }

  get(id) {
    return this.cases.get(String(id));
  }

  sorted() {
    return [...this.cases.values()].sort((a, b) => (b.severity - a.severity) || (a.opened - b.opened)
      || String(a.id).localeCompare(String(b.id)));
  }

  render() {
    const active = document.activeElement;
    const focusedId = active?.closest?.("#case-list li")?.dataset.case;
    const focusedAction = active?.dataset?.action;
    const typing = active?.matches?.("#case-list textarea");
    const cards = this.sorted().map((c) => this.card(c));
    this.list.replaceChildren(...cards);
    this.empty.hidden = cards.length > 0;
    this.onCount(cards.length);
    if (focusedId === undefined) return;
    const same = this.list.querySelector(`li[data-case="${CSS.escape(focusedId)}"]`);
    if (!same) {
      (cards[0] ?? document.getElementById("cases-title")).focus();
      return;
    }
    const target = typing ? same.querySelector("textarea")
      : same.querySelector(`button[data-action="${focusedAction}"]`) ?? same.querySelector("button[data-action]");
    (target ?? same).focus();
  }

  card(c) {
    const id = String(c.id);
    const label = shortId(id);
    const severity = SEVERITY[c.severity] ?? String(c.severity);
    const who = c.user?.alias ?? "someone";
    const by = claimer(c);
    const mine = by && this.me && (by.id === this.me.id || by.alias === this.me.alias);
    const li = el("li", {
      className: "card case",
      tabIndex: -1,
      dataset: { case: id, state: c.state, severity: String(c.severity) },
      attrs: { "aria-label": `Case ${label}, severity ${severity}, ${who}, ${STATE[c.state] ?? c.state}` },
    });
    const noteId = `case-note-${id}`;
    li.append(
      el("p", { className: "card-head" },
        el("span", { className: "badge badge-crisis", attrs: { title: `Case ${id}` } }, `Case ${label}`),
        el("span", { className: `sev sev-${c.severity}` }, `Severity ${c.severity} · ${severity}`),
        el("span", { className: `badge badge-state state-${c.state}` },
          c.state === "claimed" && by ? `Claimed by ${mine ? "you" : by.alias}` : STATE[c.state] ?? c.state)),
      el("p", { className: "card-meta" },
        el("span", { className: "who" }, who), " in ", el("span", { className: "where" }, c.room),
        " · opened ", el("time", { dateTime: new Date(c.opened).toISOString(), title: formatTime(c.opened),
          dataset: { opened: String(c.opened) } }, age(c.opened))),
      el("blockquote", { className: "excerpt" }, String(c.excerpt ?? "")),
    );
    if (c.raises > 0 && c.state === "open") {
      li.append(el("p", { className: "case-raised" },
        `Not acknowledged: raised again ${c.raises === 1 ? "once" : `${c.raises} times`}`));
    }
    const notes = (Array.isArray(c.history) ? c.history : []).filter((h) => h.note);
    if (notes.length) {
      li.append(el("ul", { className: "case-notes", attrs: { "aria-label": "Notes" } },
        ...notes.map((h) => el("li", {},
          el("span", { className: "who" }, `${ACTION[h.action] ?? h.action} by ${h.by?.alias ?? "staff"}`),
          el("time", { dateTime: new Date(h.ts).toISOString() }, ` · ${formatTime(h.ts)}: `),
          el("span", { className: "note-text" }, String(h.note))))));
    }
    if (!this.canAct) {
      li.append(el("p", { className: "muted" },
        "No staff member is connected: you see this case so that it is not missed. Staff act on it."));
      return li;
    }
    li.append(el("label", { htmlFor: noteId, className: "note-label" }, "Note (optional, kept with the case)"));
    const note = el("textarea", { id: noteId, rows: 2, maxLength: 2000, value: this.notes.get(id) ?? "" });
    li.append(note);
    const actions = [];
    if (c.state === "open") actions.push(["ack", "Acknowledge"]);
    if (c.state === "open" || c.state === "acknowledged") actions.push(["claim", "Claim and talk privately"]);
    if (c.state === "claimed" && mine) actions.push(["room", "Open private room"]);
    if (c.state === "claimed") actions.push(["resolve", "Resolve"]);
    li.append(el("div", { className: "actions", attrs: { role: "group", "aria-label": "Case actions" } },
      ...actions.map(([action, label]) => el("button", {
        type: "button",
        className: action === "claim" || action === "room" ? "btn-primary" : "btn-quiet",
        dataset: { action },
      }, label))));
    return li;
  }

  async onClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button || button.getAttribute("aria-disabled") === "true") return;
    const li = button.closest("li");
    const c = this.get(li.dataset.case);
    if (!c) return;
    if (button.dataset.action === "room") {
      this.onOpenRoom(c);
      return;
    }
    const note = (this.notes.get(String(c.id)) ?? "").trim() || undefined;
    for (const b of li.querySelectorAll("button")) b.setAttribute("aria-disabled", "true");
    const done = await this.onUpdate(c, button.dataset.action, note);
    if (done) {
      // The server's `case` frame (with the note in its history) may have re-rendered the card
      // before this `ok`: empty the field of the card shown now.
      this.notes.delete(String(c.id));
      const field = this.list.querySelector(`li[data-case="${CSS.escape(String(c.id))}"] textarea`);
      if (field) field.value = "";
    }
    if (li.isConnected) for (const b of li.querySelectorAll("button")) b.removeAttribute("aria-disabled");
  }
}
