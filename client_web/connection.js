// One WebSocket to the hub that keeps itself alive: hello on every open, capped exponential
// backoff with jitter between attempts, an immediate retry when the device comes back online or
// the tab becomes visible, and a heartbeat that notices a socket that died silently (phones).
// What to do after each `welcome` (rejoin with `since`, resend unacknowledged messages) belongs to
// the chat, which listens for the "welcome" event.
import { CloseCode, decodeFrame, encodeFrame, frames } from "./protocol.js";

const BACKOFF_FIRST_MS = 500;
const BACKOFF_CAP_MS = 15_000;
const FLOOD_BACKOFF_MS = 10_000;
const WELCOME_TIMEOUT_MS = 10_000;
const PING_EVERY_MS = 25_000;
const PONG_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;

/** Delay before reconnect attempt `n` (0-based): doubling from 0.5 s, capped, with jitter so a
 * restarting server is not hit by every client in the same millisecond. */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export class Connection extends EventTarget {
  /**
   * @param {object} options
   * @param {string} options.url the /ws URL
   * @param {() => string} options.token the current session token
   * @param {() => Promise<void>} options.renew renews the session after a 4401
   */
  constructor({ url, token, renew }) {
    super();
    this.url = url;
    this.token = token;
    this.renew = renew;
    this.state = "connecting"; // connecting | connected | reconnecting | ended
    this.ws = null;
    this.attempt = 0;
    this.nextRid = 1;
    this.waiting = new Map(); // rid -> {resolve, reject, timer}
    this.timers = { retry: 0, welcome: 0, ping: 0, pong: 0 };
    this.stopped = false;
    this.everConnected = false;
    this.onOnline = () => this.retryNow();
    this.onVisible = () => { if (document.visibilityState === "visible") this.retryNow(); };
  }

  start() {
    addEventListener("online", this.onOnline);
    document.addEventListener("visibilitychange", this.onVisible);
    this.open();
  }

  /** Close for good (leaving the page, or removed by a facilitator). */
  stop(state = "ended") {
    this.stopped = true;
    removeEventListener("online", this.onOnline);
    document.removeEventListener("visibilitychange", this.onVisible);
    this.clearTimers();
    if (this.ws) this.ws.close(CloseCode.NORMAL);
    this.setState(state);
  }

  get connected() {
    return this.state === "connected";
  }

  /** Send a frame if the socket is open and welcomed; false otherwise (the caller keeps it). */
  send(frame) {
    if (!this.connected || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(encodeFrame(frame));
    return true;
  }

  /** Send a frame with a fresh `rid` and resolve with the reply that carries it (an `error` too). */
  request(frame, timeoutMs = REQUEST_TIMEOUT_MS) {
    const rid = this.nextRid++;
    return new Promise((resolve, reject) => {
      if (!this.send({ ...frame, rid })) {
        reject(new Error("not connected"));
        return;
      }
      const timer = setTimeout(() => {
        this.waiting.delete(rid);
        reject(new Error("no reply in time"));
      }, timeoutMs);
      this.waiting.set(rid, { resolve, reject, timer });
    });
  }

  // -- internals -------------------------------------------------------------------------------

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }

  open() {
    if (this.stopped) return;
    this.clearTimers();
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.addEventListener("open", () => ws.send(encodeFrame(frames.hello(this.token()))));
    ws.addEventListener("message", (event) => this.onMessage(ws, event));
    ws.addEventListener("close", (event) => this.onClose(ws, event));
    // A server that accepts but never welcomes us is as good as down.
    this.timers.welcome = setTimeout(() => this.drop(), WELCOME_TIMEOUT_MS);
  }

  onMessage(ws, event) {
    if (ws !== this.ws || typeof event.data === "string") return;
    let frame;
    try {
      frame = decodeFrame(event.data);
    } catch {
      return; // not ours to crash on; the server never sends this
    }
    clearTimeout(this.timers.pong);
    if (frame.t === "welcome") {
      clearTimeout(this.timers.welcome);
      this.attempt = 0;
      this.everConnected = true;
      this.setState("connected");
      this.schedulePing();
      this.dispatchEvent(new CustomEvent("welcome", { detail: frame }));
      return;
    }
    if (frame.t === "pong") return;
    const waiter = frame.rid !== undefined ? this.waiting.get(frame.rid) : undefined;
    if (waiter) {
      this.waiting.delete(frame.rid);
      clearTimeout(waiter.timer);
      waiter.resolve(frame);
      return;
    }
    this.dispatchEvent(new CustomEvent("frame", { detail: frame }));
  }

  async onClose(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.clearTimers();
    for (const { reject, timer } of this.waiting.values()) {
      clearTimeout(timer);
      reject(new Error("disconnected"));
    }
    this.waiting.clear();
    if (this.stopped) return;
    if (event.code === CloseCode.REMOVED) {
      this.stop("removed");
      return;
    }
    this.setState(this.everConnected ? "reconnecting" : "connecting");
    this.dispatchEvent(new CustomEvent("lost", { detail: event.code }));
    let delay = backoffDelay(this.attempt++);
    if (event.code === CloseCode.FLOODING) delay = Math.max(delay, FLOOD_BACKOFF_MS);
    if (event.code === CloseCode.TOO_SLOW || event.code === CloseCode.RESTARTING) {
      delay = Math.min(delay, 250 + Math.random() * 750);
    }
    if (event.code === CloseCode.UNAUTHORIZED) {
      try {
        await this.renew();
      } catch {
        // the session endpoint is unreachable too; the backoff retries both
      }
      if (this.stopped) return;
    }
    this.timers.retry = setTimeout(() => this.open(), delay);
  }

  /** Give up on the current socket now, without waiting for a closing handshake that a dead
   * network never completes; its late close event is ignored. */
  drop() {
    const ws = this.ws;
    if (!ws) return;
    this.onClose(ws, { code: 4000 });
    try {
      ws.close();
    } catch {
      // already closing
    }
  }

  /** Reconnect at once if we are waiting out a backoff (the network or the tab just came back). */
  retryNow() {
    if (this.stopped || this.ws !== null) return;
    clearTimeout(this.timers.retry);
    this.open();
  }

  schedulePing() {
    clearTimeout(this.timers.ping);
    this.timers.ping = setTimeout(() => {
      if (!this.connected) return;
      this.ws.send(encodeFrame(frames.ping()));
      // Any frame clears this; silence means the socket is gone without a close.
      this.timers.pong = setTimeout(() => this.drop(), PONG_TIMEOUT_MS);
      this.schedulePing();
    }, PING_EVERY_MS);
  }

  clearTimers() {
    for (const key of Object.keys(this.timers)) clearTimeout(this.timers[key]);
  }
}
