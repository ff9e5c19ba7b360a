// The chat: which room we are in, what it has shown, and what is still to be acknowledged.
// It turns server frames into view updates and member actions into frames.
//
// Resume: after every `welcome` (a first connect or a reconnect) the current room is joined again
// with `since` = the last seq shown and the room's `epoch`; the server sends exactly what was
// missed. Every message is keyed by seq, so one that arrives twice is shown once. If the server's
// history was reset (`reset: true`, or another epoch), the shown history is replaced. Then the
// outbox is resent with the same nonces, so a message whose ack was lost is not delivered twice.
import { announce, toast } from "./a11y.js";
import { frames, HISTORY_PAGE } from "./protocol.js";
import { Outbox, Timeline } from "./store.js";

const ROOM_KEY = "peerchat.room";
const VISITED_KEY = "peerchat.visited";
const TYPING_EVERY_MS = 2000;
const RATE_LIMIT_RETRY_MS = 1500;

const SEND_ERRORS = {
  too_long: "the message is too long",
  muted: "a facilitator has paused your messages for a while",
  banned: "you can't send messages here",
  room_locked: "the room is paused by a facilitator",
  forbidden: "you can't send messages here",
  no_such_room: "this room is closed",
  unavailable: "the service is briefly unavailable",
};

const NOTICES = {
  muted: "A facilitator has paused your messages for a little while.",
  unmuted: "You can send messages again.",
  kicked: "A facilitator has asked you to leave this room for now.",
  banned: "A facilitator has removed you from the chat.",
  hidden: "A facilitator removed one of your messages.",
  slow: "The room is in slow mode for a while.",
  locked: "The room is paused by a facilitator.",
  unlocked: "The room is open again.",
};

export class Chat {
  constructor({ conn, tab, views, title }) {
    this.conn = conn;
    this.tab = tab; // sessionStorage
    this.v = views; // landing, room, help, report, status
    this.title = title;
    this.me = null;
    this.room = null;
    this.timeline = null;
    this.joined = false;
    this.lastTypingSent = 0;
    this.outbox = new Outbox(tab);
    this.retryTimer = 0;

    conn.addEventListener("state", (e) => this.onState(e.detail));
    conn.addEventListener("welcome", (e) => this.onWelcome(e.detail));
    conn.addEventListener("lost", () => { this.joined = false; });
    conn.addEventListener("frame", (e) => this.onFrame(e.detail));
  }

  /** The room this tab was in before a reload, if any. */
  savedRoom() {
    try {
      const room = JSON.parse(this.tab.getItem(ROOM_KEY) || "null");
      return room && typeof room.id === "string" ? room : null;
    } catch {
      return null;
    }
  }

  // -- connection --------------------------------------------------------------------------------

  onState(state) {
    this.v.status.show(state);
    if (this.room) this.renderOutbox();
  }

  onWelcome(frame) {
    this.me = frame.user;
    this.joined = false;
    if (this.room) this.join();
  }

  onFrame(f) {
    switch (f.t) {
      case "msg":
        if (this.isCurrent(f.room)) this.addMessage(f, true);
        break;
      case "ack":
        this.onAck(f);
        break;
      case "error":
        this.onError(f);
        break;
      case "presence":
        if (this.isCurrent(f.room)) this.v.room.presence(f.event, f.user, f.count);
        break;
      case "typing":
        if (this.isCurrent(f.room) && f.user?.id !== this.me?.id) this.v.room.typing(f.user.alias);
        break;
      case "removed":
        if (this.isCurrent(f.room)) {
          this.timeline.remove(f.seq);
          this.v.room.removeMessage(f.seq);
        }
        break;
      case "resources":
        this.onResources(Array.isArray(f.items) ? f.items : []);
        break;
      case "notice":
        this.onNotice(f);
        break;
      default:
        break; // `left`, and frame types of later versions
    }
  }

  isCurrent(room) {
    return this.room !== null && room === this.room.id;
  }

  // -- rooms -------------------------------------------------------------------------------------

  enter(room) {
    if (this.room && this.room.id !== room.id) this.leave({ quiet: true });
    if (this.room) return;
    this.room = room;
    this.timeline = new Timeline(room.id);
    this.joined = false;
    this.tab.setItem(ROOM_KEY, JSON.stringify(room));
    const visited = new Set((this.tab.getItem(VISITED_KEY) || "").split(",").filter(Boolean));
    const firstVisit = !visited.has(room.id);
    visited.add(room.id);
    this.tab.setItem(VISITED_KEY, [...visited].join(","));
    document.body.dataset.view = "room";
    delete document.body.dataset.joined;
    this.v.landing.section.hidden = true;
    this.v.room.open(room, { firstVisit });
    this.renderOutbox();
    if (this.conn.connected) this.join();
  }

  leave({ quiet = false } = {}) {
    if (!this.room) return;
    const id = this.room.id;
    if (this.joined) this.conn.send(frames.leave(id));
    this.room = null;
    this.timeline = null;
    this.joined = false;
    this.tab.removeItem(ROOM_KEY);
    delete document.body.dataset.joined;
    this.v.room.close();
    if (quiet) return;
    document.body.dataset.view = "landing";
    this.v.landing.section.hidden = false;
    this.onLeft?.(id);
  }

  async join() {
    const room = this.room;
    const timeline = this.timeline;
    const since = timeline.lastSeq;
    let reply;
    try {
      reply = await this.conn.request(frames.join(room.id, since, timeline.epoch));
    } catch {
      return; // disconnected: the next welcome joins again
    }
    if (this.room !== room) {
      if (reply.t === "joined") this.conn.send(frames.leave(room.id));
      return;
    }
    if (reply.t === "error") {
      this.onJoinError(reply);
      return;
    }
    this.onJoined(reply, since);
  }

  onJoined(f, since) {
    const timeline = this.timeline;
    const view = this.v.room;
    const epochChanged = timeline.epoch !== null && f.epoch !== timeline.epoch;
    if (f.reset || epochChanged || f.more) {
      // The history we show is from a past the server no longer has, or the gap is larger than
      // one join returns: show the latest page; older messages come back on scroll.
      const hadMessages = timeline.messages.size > 0;
      timeline.clear();
      view.clear();
      if (hadMessages && !f.more) toast("The room's history was reset on the server. Showing what it has now.");
    }
    timeline.epoch = f.epoch;
    this.roomUser = f.user ?? this.me;
    this.v.room.setMembers(Array.isArray(f.members) ? f.members : []);
    this.joined = true;
    document.body.dataset.joined = this.room.id;
    if (f.more) {
      this.loadPage(f.seq + 1);
    } else {
      for (const msg of f.history) this.addMessage(msg, false);
      const first = f.history[0]?.seq;
      const fresh = !since || f.reset || epochChanged;
      if (first === 1 || (fresh && f.history.length < HISTORY_PAGE)) timeline.atStart = true;
      view.setHistoryState({ atStart: timeline.atStart });
      if (f.truncated) toast("Some messages expired while you were away.");
    }
    this.flushOutbox();
  }

  onJoinError(f) {
    if (f.code === "rate_limited" || f.code === "unavailable") {
      setTimeout(() => { if (this.room && !this.joined && this.conn.connected) this.join(); }, 3000);
      toast("Joining the room… one moment.");
      return;
    }
    const text = {
      no_such_room: "This room is closed.",
      room_locked: "This room is paused by a facilitator. Please try another room.",
      banned: "You can't join this room.",
      forbidden: "You can't join this room.",
    }[f.code] ?? "You couldn't join the room.";
    this.leave();
    toast(text, 8000);
  }

  addMessage(msg, live) {
    if (!this.timeline.add(msg)) return;
    this.v.room.insertMessage(msg, this.me, { live });
    if (live && msg.from?.id !== this.me?.id) {
      announce(`${msg.from?.alias ?? "Someone"} says: ${msg.text}`);
      this.v.room.stopTyping(msg.from?.alias);
      this.title.bump();
    }
  }

  /** Older messages, before the oldest shown (or before `before`). */
  async loadPage(before) {
    const room = this.room;
    const timeline = this.timeline;
    const from = before ?? timeline.oldestSeq;
    let reply;
    try {
      reply = await this.conn.request(frames.history(room.id, from));
    } catch {
      this.v.room.olderLoaded();
      return;
    }
    if (this.room !== room) return;
    if (reply.t === "history") {
      for (const msg of reply.messages) this.addMessage(msg, false);
      if (reply.messages.length < HISTORY_PAGE || reply.messages[0]?.seq === 1) timeline.atStart = true;
      this.v.room.setHistoryState({ atStart: timeline.atStart });
    }
    this.v.room.olderLoaded();
  }

  // -- sending -----------------------------------------------------------------------------------

  send(text) {
    if (!this.room) return;
    const entry = this.outbox.add(this.room.id, text);
    this.renderOutbox();
    this.transmit(entry);
  }

  transmit(entry) {
    if (this.joined && this.isCurrent(entry.room)) this.conn.send(frames.send(entry.room, entry.text, entry.nonce));
  }

  flushOutbox() {
    for (const entry of this.outbox.forRoom(this.room.id)) if (entry.state === "pending") this.transmit(entry);
    this.renderOutbox();
  }

  retry(nonce) {
    const entry = this.outbox.update(nonce, { state: "pending", error: undefined });
    this.renderOutbox();
    if (entry) this.transmit(entry);
  }

  discard(nonce) {
    this.outbox.remove(nonce);
    this.renderOutbox();
  }

  onAck(f) {
    const entry = this.outbox.remove(String(f.rid));
    if (!entry) return;
    if (this.isCurrent(f.room)) {
      const from = this.roomUser ?? this.me;
      if (f.status === "held") {
        this.addMessage({ room: f.room, seq: f.seq, ts: Date.now(), from, text: entry.text, held: true }, false);
        announce("Your message is held for a facilitator to look at first.");
      } else if (!this.timeline.messages.has(f.seq)) {
        // Shown now; the copy the room delivers replaces it (same seq), never beside it.
        this.addMessage({ room: f.room, seq: f.seq, ts: Date.now(), from, text: entry.text, local: true }, false);
      }
    }
    this.renderOutbox();
  }

  onError(f) {
    const entry = typeof f.rid === "string" ? this.outbox.get(f.rid) : undefined;
    if (!entry) {
      if (f.code !== "rate_limited") toast(f.message || "Something went wrong.");
      return;
    }
    if (f.code === "rate_limited" || f.code === "not_in_room" || f.code === "unavailable") {
      // Not refused, only not now: stays pending and goes again shortly (or after the next join).
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => { if (this.room && this.joined) this.flushOutbox(); }, RATE_LIMIT_RETRY_MS);
      return;
    }
    this.outbox.update(entry.nonce, { state: "failed", error: SEND_ERRORS[f.code] ?? f.message ?? f.code });
    this.renderOutbox();
  }

  renderOutbox() {
    if (!this.room) return;
    this.v.room.renderOutbox(this.outbox.forRoom(this.room.id), this.conn.connected && this.joined);
  }

  typing() {
    const now = Date.now();
    if (!this.joined || now - this.lastTypingSent < TYPING_EVERY_MS) return;
    this.lastTypingSent = now;
    this.conn.send(frames.typing(this.room.id));
  }

  // -- reports, resources, notices -----------------------------------------------------------------

  async report(seq) {
    const room = this.room;
    const answer = await this.v.report.ask(this.v.room.messageText(seq));
    if (!answer || this.room !== room) return;
    try {
      const reply = await this.conn.request(frames.report(room.id, seq, answer.reason));
      if (reply.t === "ok") {
        this.v.room.markReported(seq);
        toast("Thank you. A facilitator will look at it.");
      } else {
        toast(reply.message || "The report could not be sent. Please try again.");
      }
    } catch {
      toast("The report could not be sent: you are offline. Please try again when connected.");
    }
  }

  onResources(items) {
    this.v.help.addResources(items);
    if (this.room) this.v.room.showResources(items);
    else this.v.help.open();
    announce("Support is available right now. The contacts are shown on screen.");
  }

  onNotice(f) {
    if (f.code === "support_invite" && typeof f.room === "string") {
      this.v.invite.show(f.room);
      announce("A member of staff would like to talk with you privately. The invitation is on screen.");
      return;
    }
    if (f.code === "support_closed" && typeof f.room === "string") {
      this.v.invite.hide(f.room);
      const text = f.message || "This private conversation has ended. You can always reach out again.";
      if (this.isCurrent(f.room)) this.v.room.setClosed(text);
      announce(text);
      return;
    }
    if (f.code === "message_declined" && this.isCurrent(f.room) && typeof f.seq === "number") {
      const msg = this.timeline.messages.get(f.seq);
      if (msg) {
        msg.declined = f.message || "A facilitator did not post it.";
        this.v.room.insertMessage(msg, this.me);
      }
    }
    toast(NOTICES[f.code] ?? f.message ?? "A message from the facilitators.", 8000);
  }
}
