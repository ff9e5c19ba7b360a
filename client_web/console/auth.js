// Facilitator and staff sign-in: POST /api/login, and where the console keeps its token.
//
// The console's session is kept apart from a member's: its own key (`peerchat.console`), in
// sessionStorage only (a shared computer forgets it when the tab closes), and no device key. A
// member session in the same browser (`peerchat.session`) is neither read nor touched.
import { byId } from "../dom.js";
import { safeStorage } from "../store.js";

const KEY = "peerchat.console";

export class ConsoleSession {
  constructor() {
    this.tab = safeStorage("session");
    this.token = null;
    this.user = null;
    this.rooms = []; // rooms the account keeps; empty = every room
    this.expires = 0;
    const saved = this.saved();
    if (saved) Object.assign(this, saved);
  }

  saved() {
    try {
      const data = JSON.parse(this.tab.getItem(KEY) || "null");
      if (!data || typeof data.token !== "string" || !data.user) return null;
      if (data.expires && data.expires < Date.now()) return null;
      return data;
    } catch {
      return null;
    }
  }

  get signedIn() {
    return Boolean(this.token);
  }

  get isStaff() {
    return this.user?.role === "staff";
  }

  /** Resolves on success; rejects with an Error whose `code` is bad_credentials, rate_limited or network. */
  async login(username, password) {
    let res;
    try {
      res = await fetch("/api/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username, password }),
        cache: "no-store",
        credentials: "omit",
      });
    } catch {
      throw Object.assign(new Error("network"), { code: "network" });
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const retry = Number(data.retry_after || res.headers.get("Retry-After") || 0);
      throw Object.assign(new Error(data.message || `HTTP ${res.status}`), {
        code: data.error || (res.status === 401 ? "bad_credentials" : "unavailable"), retry,
      });
    }
    this.token = data.token;
    this.user = data.user;
    this.rooms = Array.isArray(data.rooms) ? data.rooms : [];
    this.expires = data.expires || 0;
    this.tab.setItem(KEY, JSON.stringify({ token: this.token, user: this.user, rooms: this.rooms,
      expires: this.expires }));
    return this;
  }

  signOut() {
    this.token = null;
    this.user = null;
    this.tab.removeItem(KEY);
  }
}

export class LoginView {
  constructor({ onSubmit }) {
    this.section = byId("login");
    this.form = byId("login-form");
    this.error = byId("login-error");
    this.submit = byId("login-submit");
    this.form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const username = byId("username").value.trim();
      const password = byId("password").value;
      if (!username || !password) {
        this.showError("Enter your account name and password.");
        return;
      }
      this.busy(true);
      try {
        await onSubmit(username, password);
        byId("password").value = "";
        this.error.hidden = true;
      } catch (err) {
        this.showError(loginError(err));
        byId("password").focus();
      } finally {
        this.busy(false);
      }
    });
  }

  busy(yes) {
    this.submit.disabled = yes;
    this.submit.textContent = yes ? "Signing in…" : "Sign in";
  }

  showError(text) {
    this.error.textContent = text;
    this.error.hidden = false;
  }

  show(message) {
    this.section.hidden = false;
    if (message) this.showError(message);
    else this.error.hidden = true;
    byId("username").focus();
  }
}

function loginError(err) {
  if (err.code === "bad_credentials") return "That account name and password don't match. Please try again.";
  if (err.code === "rate_limited") {
    const wait = err.retry ? ` Try again in ${Math.ceil(err.retry)} s.` : " Please wait a little and try again.";
    return `Too many sign-in attempts.${wait}`;
  }
  if (err.code === "network") return "Can't reach peerchat right now. Check the connection and try again.";
  return "Signing in didn't work just now. Please try again.";
}
