// The live flags queue: every open flag of the rooms this account keeps, most severe first, then
// oldest first. Each card says what was flagged (category, severity, rules, room, who, when), quotes
// the excerpt as text, and offers one-click actions. Kick and ban ask for a second click.
import { el, formatTime } from "../dom.js";

export const CATEGORY = { crisis: "Crisis", boundary: "Boundary", report: "Report" };
export const SEVERITY = { 1: "low", 2: "medium", 3: "high" };
const CONFIRM_MS = 4000;

/** The actions a flag offers: [action, label]. */
export function flagActions(flag) {
  const actions = [];
  if (flag.held) actions.push(["release", "Release"]);
  else if (flag.seq > 0) actions.push(["hide", "Hide"]);
  actions.push(["mute", "Mute 10 min"], ["kick", "Kick"], ["ban", "Ban 24 h"]);
  actions.push(["dismiss", flag.held ? "Decline" : "Dismiss"]);
  return actions;
}

export class FlagsView {
  constructor({ onAction, onCount }) {
    this.list = document.getElementById("flag-list");
    this.empty = document.getElementById("flags-empty");
    this.flags = new Map(); // id -> flag (open ones only)
    this.onAction = onAction;
    this.onCount = onCount;
    this.list.addEventListener("click", (event) => this.onClick(event));
  }

  /** Replace the whole queue (the `flags` reply after each welcome). */
  reset(flags) {
    this.flags.clear();
    for (const flag of flags) if (flag.state === "open") this.flags.set(flag.id, flag);
    this.render();
  }

  /** A `flag` frame: new, or changed (decided by anyone, anywhere). */
  update(flag) {
    if (flag.state === "open") this.flags.set(flag.id, flag);
    else this.flags.delete(flag.id);
    this.render();
  }

  sorted() {
    return [...this.flags.values()].sort((a, b) => (b.severity - a.severity) || (a.ts - b.ts) || (a.id - b.id));
  }

  render() {
    const focusedId = document.activeElement?.closest?.("#flag-list li")?.dataset.flag;
    const focusedAction = document.activeElement?.dataset?.action;
    const before = [...this.list.children].map((li) => li.dataset.flag);
    const cards = this.sorted().map((flag) => this.card(flag));
    this.list.replaceChildren(...cards);
    this.empty.hidden = cards.length > 0;
    this.onCount(cards.length);
    if (focusedId === undefined) return;
    // Keep the keyboard where it was: on the same card, or on the one that took its place.
    const same = this.list.querySelector(`li[data-flag="${CSS.escape(focusedId)}"]`);
    if (same) {
      (same.querySelector(`button[data-action="${focusedAction}"]`) ?? same).focus();
    } else {
      const index = Math.min(before.indexOf(focusedId), cards.length - 1);
      (cards[index] ?? document.getElementById("flags-title")).focus();
    }
  }

  card(flag) {
    const category = CATEGORY[flag.category] ?? flag.category;
    const severity = SEVERITY[flag.severity] ?? String(flag.severity);
    const who = flag.user?.alias ?? "someone";
    const li = el("li", {
      className: "card flag",
      tabIndex: -1,
      dataset: { flag: String(flag.id), category: flag.category, severity: String(flag.severity),
        room: flag.room, seq: String(flag.seq), ...(flag.held ? { held: "" } : {}) },
      attrs: { "aria-label": `${category} flag, severity ${severity}, ${who} in ${flag.room}` },
    });
    li.append(
      el("p", { className: "card-head" },
        el("span", { className: `badge badge-${flag.category}` }, category),
        el("span", { className: `sev sev-${flag.severity}` }, `Severity ${flag.severity} · ${severity}`),
        flag.held ? el("span", { className: "badge badge-held" }, "Held") : null),
      el("p", { className: "card-meta" },
        el("span", { className: "who" }, who), " in ", el("span", { className: "where" }, flag.room),
        " · ", el("time", { dateTime: new Date(flag.ts).toISOString() }, formatTime(flag.ts))),
      el("blockquote", { className: "excerpt" }, String(flag.excerpt ?? "")),
    );
    const details = [];
    if (flag.rules?.length) details.push(`Rules: ${flag.rules.join(", ")}`);
    if (flag.reason) details.push(`Reporter's reason: ${flag.reason}`);
    if (flag.held) details.push("Only the author sees this message until it is released.");
    if (details.length) li.append(el("p", { className: "card-note" }, details.join(" · ")));
    li.append(el("div", { className: "actions", attrs: { role: "group", "aria-label": "Actions" } },
      ...flagActions(flag).map(([action, label]) => el("button", {
        type: "button",
        className: action === "release" ? "btn-primary" : "btn-quiet",
        dataset: { action, label },
        attrs: { "aria-label": `${label}: ${who}` },
      }, label))));
    return li;
  }

  async onClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button || button.getAttribute("aria-disabled") === "true") return;
    const li = button.closest("li");
    const flag = this.flags.get(Number(li.dataset.flag));
    if (!flag) return;
    const action = button.dataset.action;
    if ((action === "kick" || action === "ban") && button.dataset.confirm !== "yes") {
      askConfirm(button, `Confirm ${button.dataset.label.toLowerCase()}?`);
      return;
    }
    for (const b of li.querySelectorAll("button")) b.setAttribute("aria-disabled", "true");
    const done = await this.onAction(flag, action);
    // On success the flag frame that follows removes the card; on failure, let them try again.
    if (!done) for (const b of li.querySelectorAll("button")) b.removeAttribute("aria-disabled");
  }
}

/** Turn a destructive button into "Confirm …?" for a few seconds; a second click does it. */
export function askConfirm(button, text) {
  const label = button.textContent;
  const aria = button.getAttribute("aria-label");
  button.dataset.confirm = "yes";
  button.textContent = text;
  button.setAttribute("aria-label", text);
  button.classList.add("confirming");
  setTimeout(() => {
    if (!button.isConnected) return;
    delete button.dataset.confirm;
    button.textContent = label;
    if (aria) button.setAttribute("aria-label", aria);
    button.classList.remove("confirming");
  }, CONFIRM_MS);
}
