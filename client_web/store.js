// Client-side state that must survive reconnects (and, for the outbox, a reload of the tab).
import { randomHex } from "./protocol.js";

/** Storage that never throws: private modes and locked-down browsers may refuse storage. */
export function safeStorage(kind) {
  try {
    const storage = kind === "local" ? window.localStorage : window.sessionStorage;
    const probe = "peerchat.probe";
    storage.setItem(probe, "1");
    storage.removeItem(probe);
    return storage;
  } catch {
    const memory = new Map();
    return {
      getItem: (k) => (memory.has(k) ? memory.get(k) : null),
      setItem: (k, v) => memory.set(k, String(v)),
      removeItem: (k) => memory.delete(k),
      clear: () => memory.clear(),
    };
  }
}

/**
 * One room's messages as this tab has seen them, keyed by `seq` so nothing is shown twice, and the
 * room's `epoch` so a resume after the server lost its history replaces rather than mixes.
 */
export class Timeline {
  constructor(room) {
    this.room = room;
    this.epoch = null;
    this.messages = new Map(); // seq -> msg (a `held` entry is a message of ours not delivered)
    this.atStart = false; // nothing older to load
  }

  get lastSeq() {
    let last = 0;
    for (const seq of this.messages.keys()) if (seq > last && !this.messages.get(seq).held) last = seq;
    return last;
  }

  get oldestSeq() {
    let oldest = null;
    for (const seq of this.messages.keys()) if (oldest === null || seq < oldest) oldest = seq;
    return oldest;
  }

  clear() {
    this.messages.clear();
    this.atStart = false;
  }

  /** Add a message; false if this seq is already shown (a duplicate after a resume or an ack). */
  add(msg) {
    const known = this.messages.get(msg.seq);
    if (known && !(known.held && !msg.held) && !(known.local && !msg.local)) return false;
    this.messages.set(msg.seq, msg);
    return true;
  }

  remove(seq) {
    return this.messages.delete(seq);
  }
}

const OUTBOX_KEY = "peerchat.outbox";

/**
 * Messages sent but not yet acknowledged, each with the nonce it was first sent with. They are
 * kept in sessionStorage (never localStorage: message text does not outlive the tab) and resent
 * with the same nonce after a reconnect or a reload, so the server delivers each exactly once.
 */
export class Outbox {
  constructor(storage) {
    this.storage = storage;
    this.entries = [];
    try {
      const saved = JSON.parse(storage.getItem(OUTBOX_KEY) || "[]");
      if (Array.isArray(saved)) this.entries = saved.filter((e) => e && e.nonce && e.room && e.text);
    } catch {
      this.entries = [];
    }
  }

  save() {
    if (this.entries.length) this.storage.setItem(OUTBOX_KEY, JSON.stringify(this.entries));
    else this.storage.removeItem(OUTBOX_KEY);
  }

  add(room, text) {
    const entry = { nonce: randomHex(12), room, text, state: "pending", created: Date.now() };
    this.entries.push(entry);
    this.save();
    return entry;
  }

  get(nonce) {
    return this.entries.find((e) => e.nonce === nonce);
  }

  forRoom(room) {
    return this.entries.filter((e) => e.room === room);
  }

  update(nonce, changes) {
    const entry = this.get(nonce);
    if (entry) {
      Object.assign(entry, changes);
      this.save();
    }
    return entry;
  }

  remove(nonce) {
    const entry = this.get(nonce);
    this.entries = this.entries.filter((e) => e.nonce !== nonce);
    this.save();
    return entry;
  }
}
