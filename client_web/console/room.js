// The room a facilitator looks after: the roster (the `members` frame: who is present, and how many
// flags each raised in the last hour), slow mode and lock, members knocking at a locked room, and the
// conversation itself with a Hide button per member message.
//
// The console joins the room it shows (a facilitator is present like anyone else) so that presence
// and messages arrive live; the roster is asked again on every presence change.
import { toast } from "../a11y.js";
import { byId, el } from "../dom.js";
import { askConfirm } from "./flags.js";
import { RoomFeed } from "./feed.js";

export class RoomPanel {
  constructor({ conn, mod, onRoom }) {
    this.conn = conn;
    this.mod = mod; // (frame) => Promise<boolean>: a `mod` request, with a toast on failure
    this.onRoom = onRoom;
    this.select = byId("room-select");
    this.tools = byId("room-tools");
    this.roster = byId("roster");
    this.knocks = new Map(); // user id -> user
    this.me = null;
    this.mode = { slow: null, locked: null }; // what we have been told; null = not known yet
    this.feed = new RoomFeed({
      container: byId("room-feed"),
      conn,
      label: "Room messages",
      onHide: (seq) => this.run({ action: "hide", room: this.room, seq }, "Message hidden."),
      onJoined: () => this.refreshRoster(),
      onPresence: () => this.refreshRoster(),
    });
    this.select.addEventListener("change", () => this.show(this.select.value));
    byId("slow-apply").addEventListener("click", () => {
      const seconds = Number(byId("slow-select").value);
      this.run({ action: "slow", room: this.room, seconds }, seconds ? "Slow mode is on." : "Slow mode is off.");
    });
    byId("lock").addEventListener("click", () => this.run({ action: "lock", room: this.room }, "The room is locked."));
    byId("unlock").addEventListener("click", () => this.run({ action: "unlock", room: this.room }, "The room is open again."));
    this.roster.addEventListener("click", (event) => this.onRosterClick(event));
    byId("knocks").addEventListener("click", async (event) => {
      const button = event.target.closest("button[data-admit]");
      if (!button) return;
      if (await this.run({ action: "admit", room: this.room, user: button.dataset.admit }, "Let in.")) {
        this.knocks.delete(button.dataset.admit);
        this.renderKnocks();
      }
    });
  }

  get room() {
    return this.feed.room;
  }

  setRooms(rooms) {
    const current = this.select.value;
    this.select.replaceChildren(el("option", { value: "" }, "Choose a room…"),
      ...rooms.map((r) => el("option", { value: r.id }, `${r.title} (${r.count ?? 0} here)`)));
    this.select.value = current;
  }

  async show(roomId) {
    if (!roomId) {
      this.feed.close();
      this.tools.hidden = true;
      this.onRoom(null);
      return;
    }
    this.select.value = roomId;
    this.tools.hidden = false;
    this.mode = { slow: null, locked: null };
    this.knocks.clear();
    this.renderKnocks();
    this.renderMode();
    this.roster.replaceChildren();
    this.onRoom(roomId);
    await this.feed.open(roomId, this.me);
  }

  async rejoin(me) {
    this.me = me;
    await this.feed.rejoin(me);
  }

  /** A frame for this panel; true if it took it. */
  handle(f) {
    if (f.t === "knock") {
      if (f.room === this.room && f.user) {
        this.knocks.set(f.user.id, f.user);
        this.renderKnocks();
      }
      return f.room === this.room;
    }
    if (f.t === "notice" && f.room === this.room) {
      if (f.code === "slow_mode") this.mode.slow = f.seconds ?? null;
      else if (f.code === "slow_mode_off") this.mode.slow = 0;
      else if (f.code === "room_locked") this.mode.locked = true;
      else if (f.code === "room_unlocked") this.mode.locked = false;
      else return false;
      this.renderMode();
      return true;
    }
    return this.feed.handle(f);
  }

  renderMode() {
    const parts = [];
    if (this.mode.locked === true) parts.push("Locked: only facilitators can post; members who try to join knock.");
    if (this.mode.locked === false) parts.push("Open.");
    if (this.mode.slow) parts.push(`Slow mode: one message every ${this.mode.slow} s.`);
    if (this.mode.slow === 0) parts.push("Slow mode off.");
    byId("room-mode").textContent = parts.join(" ");
    const tools = byId("room-tools");
    tools.dataset.locked = String(this.mode.locked);
  }

  renderKnocks() {
    byId("knocks-box").hidden = this.knocks.size === 0;
    byId("knocks").replaceChildren(...[...this.knocks.values()].map((u) => el("li", {},
      el("span", { className: "who" }, u.alias),
      el("button", { type: "button", className: "btn-quiet", dataset: { admit: u.id },
        attrs: { "aria-label": `Let ${u.alias} in` } }, "Let in"))));
  }

  async refreshRoster() {
    const room = this.room;
    if (!room) return;
    let reply;
    try {
      reply = await this.conn.request({ t: "members", room });
    } catch {
      return;
    }
    if (reply.t !== "members" || reply.room !== this.room) return;
    const members = [...reply.members].sort((a, b) => (b.flagged - a.flagged) || a.alias.localeCompare(b.alias));
    byId("roster-title").textContent = `People here (${members.length})`;
    this.roster.replaceChildren(...members.map((u) => this.rosterItem(u)));
  }

  rosterItem(u) {
    const li = el("li", { dataset: { user: u.id, flagged: String(u.flagged ?? 0) } },
      el("span", { className: "who" }, u.alias),
      u.role !== "member" ? el("span", { className: "role" }, u.id === this.me?.id ? `${u.role}, you` : u.role) : null,
      u.flagged ? el("span", { className: "badge badge-boundary flagged" },
        `flagged ${u.flagged}× in the last hour`) : null);
    if (u.role === "member") {
      li.append(el("span", { className: "actions", attrs: { role: "group", "aria-label": `Actions for ${u.alias}` } },
        ...[["mute", "Mute 10 min"], ["kick", "Kick"], ["ban", "Ban 24 h"]].map(([action, label]) =>
          el("button", { type: "button", className: "btn-quiet", dataset: { action, label },
            attrs: { "aria-label": `${label}: ${u.alias}` } }, label))));
    }
    return li;
  }

  async onRosterClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const user = button.closest("li").dataset.user;
    const action = button.dataset.action;
    if ((action === "kick" || action === "ban") && button.dataset.confirm !== "yes") {
      askConfirm(button, `Confirm ${button.dataset.label.toLowerCase()}?`);
      return;
    }
    const frame = { action, user, room: this.room, ...sanctionLength(action) };
    await this.run(frame, { mute: "Muted for 10 minutes.", kick: "Kicked.", ban: "Banned for 24 hours." }[action]);
  }

  async run(frame, done) {
    const ok = await this.mod(frame);
    if (ok && done) toast(done);
    return ok;
  }
}

/** How long the console's one-click sanctions last. */
export function sanctionLength(action) {
  if (action === "mute") return { seconds: 600 };
  if (action === "ban") return { seconds: 86_400 };
  return {};
}
