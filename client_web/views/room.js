// The room: its messages (one list ordered by seq, then the outbox of ours not yet acknowledged),
// people present, typing, the composer, and the resources panel.
//
// Keyboard: the message list is one Tab stop (a roving tabindex); arrow keys, Home and End move
// between messages, and Tab from a message reaches its Report button, then the composer.
import { byId, el, formatTime } from "../dom.js";

const NEAR_BOTTOM_PX = 120;
const LOAD_OLDER_PX = 150;
const TYPING_SHOWN_MS = 4000;

export class RoomView {
  constructor(handlers) {
    this.h = handlers; // onSend, onTyping, onReport, onLoadOlder, onBack, onRetry, onDiscard
    this.section = byId("room");
    this.scroller = byId("scroller");
    this.list = byId("messages");
    this.outbox = byId("outbox");
    this.text = byId("text");
    this.typingLine = byId("typing");
    this.jump = byId("jump-latest");
    this.loadOlderButton = byId("load-older");
    this.historyStart = byId("history-start");
    this.active = null; // the message that holds the list's Tab stop
    this.typingTimer = 0;
    this.loadingOlder = false;
    this.atStart = false;
    this.wire();
  }

  wire() {
    byId("back").addEventListener("click", () => this.h.onBack());
    byId("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.text.addEventListener("input", () => {
      this.autosize();
      if (this.text.value.trim()) this.h.onTyping();
    });
    this.scroller.addEventListener("scroll", () => {
      if (this.nearBottom()) this.jump.hidden = true;
      if (this.scroller.scrollTop < LOAD_OLDER_PX && this.scroller.scrollHeight > this.scroller.clientHeight) {
        this.requestOlder();
      }
    }, { passive: true });
    this.loadOlderButton.addEventListener("click", () => this.requestOlder());
    this.jump.addEventListener("click", () => {
      this.scrollToBottom();
      this.active?.focus();
    });
    this.list.addEventListener("keydown", (event) => this.onListKey(event));
    this.list.addEventListener("focusin", (event) => {
      const li = event.target.closest("li.msg");
      if (li) this.setActive(li);
    });
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("button.report");
      if (button && button.getAttribute("aria-disabled") !== "true") {
        this.h.onReport(Number(button.closest("li").dataset.seq));
      }
    });
    this.outbox.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      const nonce = button.closest("li").dataset.nonce;
      if (button.dataset.action === "retry") this.h.onRetry(nonce);
      else this.h.onDiscard(nonce);
    });
    byId("resources-close").addEventListener("click", () => {
      byId("resources-panel").hidden = true;
      this.text.focus();
    });
  }

  // -- entering and leaving ----------------------------------------------------------------------

  open(room, { firstVisit }) {
    byId("room-title").textContent = room.title;
    byId("room-guidelines-text").textContent = room.guidelines || "Be kind. What is said here stays here.";
    byId("room-guidelines").open = firstVisit;
    this.clear();
    this.setMembers([]);
    this.setClosed(null);
    this.text.value = "";
    this.autosize();
    this.section.hidden = false;
    this.text.focus({ preventScroll: true });
  }

  close() {
    this.section.hidden = true;
    this.clear();
    byId("resources-panel").hidden = true;
  }

  clear() {
    this.list.replaceChildren();
    this.outbox.replaceChildren();
    this.active = null;
    this.loadingOlder = false;
    this.setHistoryState({ atStart: false, hasMessages: false });
    this.typingLine.textContent = "";
    this.jump.hidden = true;
  }

  // -- messages ----------------------------------------------------------------------------------

  messageNode(msg, me) {
    const mine = Boolean(me && msg.from?.id === me.id);
    const li = el("li", {
      className: `msg${mine ? " mine" : ""}`,
      tabIndex: -1,
      dataset: { seq: String(msg.seq), ...(msg.declined ? { state: "declined" } : msg.held ? { state: "held" } : {}) },
    });
    li.append(el("p", { className: "meta" },
      el("span", { className: "from" }, mine ? "You" : msg.from?.alias ?? "Someone"),
      el("time", { dateTime: new Date(msg.ts).toISOString() }, formatTime(msg.ts))));
    li.append(el("p", { className: "text" }, msg.text));
    if (msg.declined) {
      li.append(el("p", { className: "note" }, `Not posted. ${msg.declined}`));
    } else if (msg.held) {
      li.append(el("p", { className: "note" },
        "Held for a facilitator to look at first. Only you can see it for now."));
    } else if (!mine) {
      li.append(el("button", {
        type: "button",
        className: "report",
        tabIndex: -1,
        attrs: { "aria-label": `Report message from ${msg.from?.alias ?? "someone"}` },
      }, "Report"));
    }
    return li;
  }

  /** Insert (or replace) a message in seq order; returns the node. */
  insertMessage(msg, me, { live = false } = {}) {
    const stick = this.nearBottom();
    const node = this.messageNode(msg, me);
    const existing = this.list.querySelector(`li[data-seq="${msg.seq}"]`);
    const prepend = !existing && this.list.firstElementChild
      && Number(this.list.firstElementChild.dataset.seq) > msg.seq;
    const keep = prepend ? this.scrollAnchor() : null;
    if (existing) {
      if (existing === this.active) this.active = node;
      existing.replaceWith(node);
    } else {
      let after = this.list.lastElementChild;
      while (after && Number(after.dataset.seq) > msg.seq) after = after.previousElementSibling;
      if (after) after.after(node);
      else this.list.prepend(node);
    }
    keep?.();
    this.setHistoryState({ atStart: this.atStart, hasMessages: true });
    if (!this.list.contains(document.activeElement) || !this.active) this.setActive(this.list.lastElementChild);
    if (live || !prepend) {
      if (stick || (me && msg.from?.id === me.id)) this.scrollToBottom();
      else if (live) this.jump.hidden = false;
    }
    return node;
  }

  removeMessage(seq) {
    const li = this.list.querySelector(`li[data-seq="${seq}"]`);
    if (!li) return;
    li.dataset.state = "removed";
    li.querySelector(".text").textContent = "This message was removed by a facilitator.";
    li.querySelector("button.report")?.remove();
  }

  markReported(seq) {
    const button = this.list.querySelector(`li[data-seq="${seq}"] button.report`);
    if (button) {
      // aria-disabled rather than disabled: a disabled button would drop the keyboard focus.
      button.setAttribute("aria-disabled", "true");
      button.textContent = "Reported";
      button.setAttribute("aria-label", "Reported");
    }
  }

  messageText(seq) {
    return this.list.querySelector(`li[data-seq="${seq}"] .text`)?.textContent ?? "";
  }

  renderOutbox(entries, connected) {
    const stick = this.nearBottom();
    this.outbox.replaceChildren(...entries.map((entry) => {
      const li = el("li", { className: "msg mine", dataset: { nonce: entry.nonce, state: entry.state } },
        el("p", { className: "meta" }, el("span", { className: "from" }, "You")),
        el("p", { className: "text" }, entry.text));
      if (entry.state === "failed") {
        li.append(el("p", { className: "note" }, `Not sent: ${entry.error || "something went wrong"}`),
          el("div", { className: "note-actions" },
            el("button", { type: "button", className: "btn-quiet", dataset: { action: "retry" } }, "Try again"),
            el("button", { type: "button", className: "btn-quiet", dataset: { action: "discard" } }, "Discard")));
      } else {
        li.append(el("p", { className: "note" },
          connected ? "Sending…" : "Waiting for the connection. It will be sent when you're back."));
      }
      return li;
    }));
    if (stick) this.scrollToBottom();
  }

  // -- older history -----------------------------------------------------------------------------

  requestOlder() {
    if (this.loadingOlder || this.atStart || !this.list.childElementCount) return;
    this.loadingOlder = true;
    this.loadOlderButton.textContent = "Loading earlier messages…";
    this.h.onLoadOlder();
  }

  olderLoaded() {
    this.loadingOlder = false;
    this.loadOlderButton.textContent = "Load earlier messages";
  }

  setHistoryState({ atStart, hasMessages = this.list.childElementCount > 0 }) {
    this.atStart = atStart;
    this.loadOlderButton.hidden = atStart || !hasMessages;
    this.historyStart.hidden = !atStart;
    this.historyStart.textContent = hasMessages
      ? "This is the start of the conversation."
      : "No messages yet. You could say hello.";
  }

  /** Keep what the reader is looking at in place while older messages are added above it. */
  scrollAnchor() {
    const { scrollHeight, scrollTop } = this.scroller;
    return () => {
      this.scroller.scrollTop = scrollTop + (this.scroller.scrollHeight - scrollHeight);
    };
  }

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.jump.hidden = true;
  }

  // -- people, typing, resources -------------------------------------------------------------------

  setMembers(members) {
    this.members = new Map(members.map((u) => [u.id, u]));
    this.renderMembers();
  }

  presence(event, user, count) {
    if (!this.members) this.members = new Map();
    if (event === "join") this.members.set(user.id, user);
    else this.members.delete(user.id);
    this.renderMembers(count);
  }

  renderMembers(count = this.members.size) {
    byId("count").textContent = count === 1 ? "1 here" : `${count} here`;
    byId("count").setAttribute("aria-label", count === 1 ? "1 person here" : `${count} people here`);
    byId("members").replaceChildren(...[...this.members.values()]
      .map((u) => el("li", {}, u.alias)));
  }

  typing(alias) {
    this.typingLine.textContent = `${alias} is typing…`;
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => { this.typingLine.textContent = ""; }, TYPING_SHOWN_MS);
  }

  stopTyping(alias) {
    if (this.typingLine.textContent.startsWith(`${alias} `)) this.typingLine.textContent = "";
  }

  /** A room that has ended (a private support room after its case was resolved): what was said
   * stays readable, the composer goes. `null` opens it again. */
  setClosed(text) {
    const note = byId("room-closed");
    note.textContent = text ?? "";
    note.hidden = text === null;
    byId("composer").hidden = text !== null;
    if (text !== null && document.activeElement === this.text) note.focus();
  }

  showResources(items) {
    const panel = byId("resources-panel");
    byId("resources-items").replaceChildren(...items.map(resourceItem));
    const wasHidden = panel.hidden;
    panel.hidden = false;
    if (wasHidden) panel.focus({ preventScroll: false });
  }

  // -- composer and keyboard ---------------------------------------------------------------------

  submit() {
    const text = this.text.value.trim();
    if (!text) return;
    this.h.onSend(text);
    this.text.value = "";
    this.autosize();
    this.text.focus();
  }

  autosize() {
    this.text.style.height = "auto";
    this.text.style.height = `${Math.min(this.text.scrollHeight, 160)}px`;
  }

  setActive(li) {
    if (!li || li === this.active) {
      if (li) this.tabStop(li, true);
      return;
    }
    if (this.active) this.tabStop(this.active, false);
    this.active = li;
    this.tabStop(li, true);
  }

  tabStop(li, on) {
    li.tabIndex = on ? 0 : -1;
    const button = li.querySelector("button.report");
    if (button) button.tabIndex = on ? 0 : -1;
  }

  onListKey(event) {
    const current = event.target.closest("li.msg");
    if (!current || event.target !== current) return;
    const moves = {
      ArrowUp: current.previousElementSibling,
      ArrowDown: current.nextElementSibling,
      Home: this.list.firstElementChild,
      End: this.list.lastElementChild,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = moves[event.key];
    if (next) {
      this.setActive(next);
      next.focus();
      if (!next.previousElementSibling && event.key !== "End") this.requestOlder();
    } else if (event.key === "ArrowUp") {
      this.requestOlder();
    }
  }
}

const PHONE = "\\+?[0-9][0-9 ()-]{1,20}";
const digits = (number) => number.replace(/[^0-9+]/g, "");

/** The contact as text, with links only for a phone number (`tel:`, `sms:`) or an `https:` URL.
 * The server's contacts are short phrases ("Call or text 988", "Text HOME to 741741", "Call 911"):
 * the number in them becomes the link, the words stay text. */
function contactNodes(contact) {
  const tel = (number) => el("a", { className: "contact", href: `tel:${digits(number)}` }, number);
  let m;
  if (new RegExp(`^${PHONE}$`).test(contact)) return [tel(contact)];
  if ((m = contact.match(new RegExp(`^(call or text) (${PHONE})$`, "i")))) {
    return [`${m[1]} `, tel(m[2]), " · ", el("a", { className: "contact", href: `sms:${digits(m[2])}` }, `text ${m[2]}`)];
  }
  if ((m = contact.match(new RegExp(`^(call) (${PHONE})$`, "i")))) return [`${m[1]} `, tel(m[2])];
  if ((m = contact.match(new RegExp(`^text ([A-Za-z0-9]{1,20}) to (${PHONE})$`, "i")))) {
    const body = encodeURIComponent(m[1]);
    return [`Text ${m[1]} to `, el("a", { className: "contact", href: `sms:${digits(m[2])}?&body=${body}` }, m[2])];
  }
  if (/^https:\/\/[^\s]+$/.test(contact)) {
    return [el("a", { className: "contact", href: contact, rel: "noopener noreferrer", target: "_blank" }, contact)];
  }
  return [el("span", { className: "contact" }, contact)];
}

function resourceItem(item) {
  return el("li", {},
    el("strong", {}, String(item.name ?? "")),
    " ", el("span", { className: "contact-line" }, ...contactNodes(String(item.contact ?? ""))),
    item.hours ? el("span", { className: "hours" }, ` (${item.hours})`) : null);
}

export { resourceItem };
