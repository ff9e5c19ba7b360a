// One room as the console shows it: its messages (in seq order, each once), a Hide button per
// member message when moderating, and a composer. Used for the room a facilitator watches and for
// a staff member's private `case:ID` room. Member text only ever goes in as text.
import { announce, toast } from "../a11y.js";
import { el, formatTime } from "../dom.js";
import { randomHex } from "../protocol.js";

const ROLE_LABEL = { facilitator: "facilitator", staff: "staff" };

export class RoomFeed {
  /**
   * @param {object} o
   * @param {HTMLElement} o.container where the feed is built
   * @param {import("../connection.js").Connection} o.conn
   * @param {string} o.label the message list's accessible name
   * @param {(seq: number) => void} [o.onHide] shows a Hide button on member messages
   * @param {(f: object) => void} [o.onJoined]
   * @param {() => void} [o.onPresence]
   */
  constructor({ container, conn, label, onHide, onJoined, onPresence }) {
    this.conn = conn;
    this.onHide = onHide;
    this.onJoined = onJoined ?? (() => {});
    this.onPresence = onPresence ?? (() => {});
    this.room = null;
    this.joined = false;
    this.me = null;
    this.seen = new Set();
    this.list = el("ol", { className: "messages feed-list", attrs: { "aria-label": label } });
    this.scroller = el("div", { className: "feed-scroller" }, this.list);
    this.empty = el("p", { className: "muted feed-empty" }, "No messages yet.");
    const id = `feed-text-${randomHex(4)}`;
    this.text = el("textarea", { id, rows: 1, maxLength: 2000, placeholder: "Write to the room…" });
    this.form = el("form", { className: "composer feed-composer", autocomplete: "off" },
      el("label", { htmlFor: id, className: "visually-hidden" }, `Write in ${label}`),
      this.text,
      el("button", { type: "submit", className: "btn-primary" }, "Send"));
    container.replaceChildren(this.empty, this.scroller, this.form);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action='hide']");
      if (button) this.onHide?.(Number(button.closest("li").dataset.seq));
    });
  }

  /** Join `room` (leaving the previous one); again after every reconnect via `rejoin`. */
  async open(room, me) {
    if (this.room === room) return;
    this.close();
    this.room = room;
    this.me = me;
    this.list.dataset.room = room;
    await this.join();
  }

  close() {
    if (this.room && this.joined) this.conn.send({ t: "leave", room: this.room });
    this.room = null;
    this.joined = false;
    delete this.list.dataset.joined;
    this.list.replaceChildren();
    this.seen.clear();
    this.empty.hidden = false;
  }

  async rejoin(me) {
    this.me = me;
    this.joined = false;
    if (this.room) await this.join();
  }

  async join() {
    const room = this.room;
    let reply;
    try {
      reply = await this.conn.request({ t: "join", room });
    } catch {
      return; // the next welcome joins again
    }
    if (room !== this.room) {
      if (reply.t === "joined") this.conn.send({ t: "leave", room });
      return;
    }
    if (reply.t === "error") {
      toast(reply.message || "Couldn't open the room.");
      return;
    }
    this.joined = true;
    this.list.replaceChildren();
    this.seen.clear();
    for (const msg of reply.history ?? []) this.add(msg, false);
    this.list.dataset.joined = "true";
    this.onJoined(reply);
  }

  /** A frame about this feed's room; true if it was one. */
  handle(f) {
    if (!this.room || f.room !== this.room) return false;
    if (f.t === "msg") this.add(f, true);
    else if (f.t === "removed") this.removed(f.seq);
    else if (f.t === "presence") this.onPresence(f);
    return true;
  }

  add(msg, live) {
    const existing = this.list.querySelector(`li[data-seq="${msg.seq}"]`);
    const node = this.node(msg);
    if (existing) {
      existing.replaceWith(node);
    } else {
      let after = this.list.lastElementChild;
      while (after && Number(after.dataset.seq) > msg.seq) after = after.previousElementSibling;
      if (after) after.after(node);
      else this.list.prepend(node);
    }
    this.empty.hidden = true;
    if (live && !this.seen.has(msg.seq) && msg.from?.id !== this.me?.id) {
      announce(`In ${this.room}, ${msg.from?.alias ?? "someone"} says: ${msg.text}`);
    }
    this.seen.add(msg.seq);
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  node(msg) {
    const mine = msg.from?.id === this.me?.id;
    const role = ROLE_LABEL[msg.from?.role];
    const li = el("li", { className: `msg${mine ? " mine" : ""}`, dataset: { seq: String(msg.seq) } },
      el("p", { className: "meta" },
        el("span", { className: "from" }, mine ? "You" : msg.from?.alias ?? "Someone"),
        role && !mine ? el("span", { className: "role" }, role) : null,
        el("time", { dateTime: new Date(msg.ts).toISOString() }, formatTime(msg.ts))),
      el("p", { className: "text" }, String(msg.text ?? "")));
    if (this.onHide && !mine && (msg.from?.role ?? "member") === "member") {
      li.append(el("button", { type: "button", className: "report", dataset: { action: "hide" },
        attrs: { "aria-label": `Hide message from ${msg.from?.alias ?? "someone"}` } }, "Hide"));
    }
    return li;
  }

  removed(seq) {
    const li = this.list.querySelector(`li[data-seq="${seq}"]`);
    if (!li) return;
    li.dataset.state = "removed";
    li.querySelector(".text").textContent = "Hidden by a facilitator.";
    li.querySelector("button[data-action='hide']")?.remove();
  }

  async send() {
    const text = this.text.value.trim();
    if (!text || !this.room) return;
    if (!this.joined) {
      toast("Not connected to the room yet. Your text is kept here.");
      return;
    }
    const nonce = randomHex(12);
    let reply;
    try {
      reply = await this.conn.request({ t: "send", room: this.room, text, nonce });
    } catch {
      toast("Not sent: the connection dropped. Your text is kept here.");
      return;
    }
    if (reply.t === "ack") {
      this.text.value = "";
      if (!this.list.querySelector(`li[data-seq="${reply.seq}"]`)) {
        this.add({ room: this.room, seq: reply.seq, ts: Date.now(), from: this.me, text }, false);
      }
    } else {
      toast(`Not sent: ${reply.message || reply.code}`);
    }
    this.text.focus();
  }
}
