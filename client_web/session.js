// The anonymous session: a token and an alias from POST /api/session, nothing else.
// The token lives in sessionStorage (gone when the tab closes) unless the member asks to be
// remembered on this device, then in localStorage. The device key is random and only ever sent
// to our own server, which binds bans to it instead of to an address.
import { randomHex } from "./protocol.js";
import { safeStorage } from "./store.js";

const SESSION_KEY = "peerchat.session";
const DEVICE_KEY = "peerchat.device";

export class Session {
  constructor() {
    this.local = safeStorage("local");
    this.tab = safeStorage("session");
    this.token = null;
    this.user = null;
    this.expires = 0;
    this.renewTimer = 0;
    this.onChange = () => {};
  }

  get remembered() {
    return this.local.getItem(SESSION_KEY) !== null;
  }

  deviceKey() {
    let key = this.local.getItem(DEVICE_KEY);
    if (!key || !/^[0-9a-f]{32,128}$/.test(key)) {
      key = randomHex(16);
      this.local.setItem(DEVICE_KEY, key);
    }
    return key;
  }

  saved() {
    for (const storage of [this.tab, this.local]) {
      try {
        const data = JSON.parse(storage.getItem(SESSION_KEY) || "null");
        if (data && typeof data.token === "string") return data;
      } catch {
        // ignore a damaged entry
      }
    }
    return null;
  }

  /** A session: the saved one refreshed (same member, same alias), or a new anonymous member. */
  async open() {
    const saved = this.saved();
    const headers = { "Content-Type": "application/json" };
    if (saved) headers.Authorization = `Bearer ${saved.token}`;
    const res = await fetch("/api/session", {
      method: "POST",
      headers,
      body: JSON.stringify({ device: this.deviceKey() }),
      cache: "no-store",
      credentials: "omit",
    });
    if (!res.ok) throw new Error(`session: HTTP ${res.status}`);
    const data = await res.json();
    this.token = data.token;
    this.user = data.user;
    this.expires = data.expires || 0;
    this.store();
    this.scheduleRenew();
    this.onChange(this);
    return this;
  }

  store() {
    const value = JSON.stringify({ token: this.token, user: this.user });
    (this.remembered ? this.local : this.tab).setItem(SESSION_KEY, value);
  }

  remember(yes) {
    const value = JSON.stringify({ token: this.token, user: this.user });
    if (yes) {
      this.local.setItem(SESSION_KEY, value);
      this.tab.removeItem(SESSION_KEY);
    } else {
      this.local.removeItem(SESSION_KEY);
      this.tab.setItem(SESSION_KEY, value);
    }
  }

  /** Refresh the token a few minutes before it expires, so an open tab never drops to 4401. */
  scheduleRenew() {
    clearTimeout(this.renewTimer);
    if (!this.expires) return;
    const wait = Math.min(Math.max(this.expires - Date.now() - 5 * 60_000, 30_000), 2 ** 31 - 1);
    this.renewTimer = setTimeout(() => this.open().catch(() => this.scheduleRenew()), wait);
  }

  /** Forget everything this tab holds (leave quickly). A remembered session stays: the member chose it. */
  forgetTab() {
    clearTimeout(this.renewTimer);
    this.tab.clear();
  }
}
