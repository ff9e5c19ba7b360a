// The facilitator and staff console (/console.html): sign-in, then the live flags queue, the room
// a facilitator looks after (roster, slow mode, lock, knocks, the conversation), and for staff the
// open crisis cases with their private `case:ID` rooms. Also the duty switch and the call for help,
// for the wellbeing of the people doing this work.
//
// It reuses the member page's connection (hello, backoff, heartbeat, rid-matched requests), DOM and
// storage helpers; its own session lives under its own storage key (see auth.js).
import { announce, toast } from "../a11y.js";
import { Connection } from "../connection.js";
import { byId, el, formatTime } from "../dom.js";
import { StatusView } from "../views/status.js";
import { ConsoleSession, LoginView } from "./auth.js";
import { CasesView } from "./cases.js";
import { RoomFeed } from "./feed.js";
import { FlagsView } from "./flags.js";
import { RoomPanel, sanctionLength } from "./room.js";

const ROOMS_REFRESH_MS = 30_000;
const DONE = {
  hide: "Message hidden.", mute: "Muted for 10 minutes.", kick: "Kicked.", ban: "Banned for 24 hours.",
  release: "Released: the room can see it now.", dismiss: "Flag closed.",
};

const session = new ConsoleSession();
const status = new StatusView();
let conn = null;
let me = null;
let onDuty = true;
let flags = null;
let cases = null;
let roomPanel = null;
let caseFeed = null;
let roomsTimer = 0;

document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  byId("main").focus();
});

const login = new LoginView({
  onSubmit: async (username, password) => {
    await session.login(username, password);
    start();
  },
});

// -- tabs (phone: one section at a time; wide screens show them side by side) ----------------------

function showTab(name, { focus = false } = {}) {
  document.body.dataset.tab = name;
  for (const tab of document.querySelectorAll(".tab")) {
    if (tab.dataset.tab === name) tab.setAttribute("aria-current", "true");
    else tab.removeAttribute("aria-current");
  }
  if (focus) byId({ cases: "cases-title", flags: "flags-title", room: "room-select" }[name])?.focus();
}
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => showTab(tab.dataset.tab));
}
for (const id of ["cases-title", "flags-title"]) byId(id).tabIndex = -1;

function setCount(id, n) {
  byId(id).textContent = n ? String(n) : "";
}

// -- requests ----------------------------------------------------------------------------------------

/** A request whose reply should be `ok`; a toast says why not. */
async function ask(frame, failure = "That didn't work") {
  let reply;
  try {
    reply = await conn.request(frame);
  } catch {
    toast(`${failure}: not connected. Please try again.`);
    return null;
  }
  if (reply.t === "error") {
    toast(`${failure}: ${reply.message || reply.code}`);
    return null;
  }
  return reply;
}

async function mod(frame) {
  return Boolean(await ask({ t: "mod", ...frame }, "The action didn't go through"));
}

async function flagAction(flag, action) {
  let frame;
  if (action === "release" || action === "dismiss") frame = { action, flag: flag.id };
  else if (action === "hide") frame = { action, room: flag.room, seq: flag.seq, flag: flag.id };
  else frame = { action, user: flag.user.id, room: flag.room, flag: flag.id, ...sanctionLength(action) };
  const ok = await mod(frame);
  if (ok) {
    // The `flag` frame that follows says the same; it may not come to us if we are off duty.
    flags.update({ ...flag, state: action === "release" ? "released" : action === "dismiss" ? "dismissed" : "actioned" });
    toast(DONE[action]);
  }
  return ok;
}

async function caseUpdate(c, action, note) {
  const reply = await ask({ t: "case_update", case: c.id, action, ...(note ? { note } : {}) },
    "The case wasn't updated");
  if (!reply) return false;
  toast({ ack: "Acknowledged.", claim: "Claimed. Opening the private room…", resolve: "Resolved." }[action]);
  // The claim's `ok` names the private room; `case:ID` is what it is by contract.
  if (action === "claim") openCaseRoom(c, typeof reply.room === "string" ? reply.room : `case:${c.id}`);
  if (action === "resolve" && caseFeed?.room === `case:${c.id}`) closeCaseRoom();
  return true;
}

function openCaseRoom(c, room = `case:${c.id}`) {
  byId("case-room").hidden = false;
  byId("case-room-title").textContent = `Private room with ${c.user?.alias ?? "the member"}`;
  showTab("cases");
  caseFeed.open(room, me);
  caseFeed.text.focus();
}

function closeCaseRoom() {
  caseFeed.close();
  byId("case-room").hidden = true;
}

// -- calls for help ------------------------------------------------------------------------------------

const helpDialog = byId("help-dialog");
byId("help-call").addEventListener("click", () => {
  const room = roomPanel?.room;
  byId("help-room").checked = Boolean(room);
  byId("help-room").disabled = !room;
  byId("help-room-name").textContent = room ?? "no room open";
  byId("help-reason").value = "";
  const opener = document.activeElement;
  helpDialog.addEventListener("close", () => opener?.focus?.(), { once: true });
  helpDialog.showModal();
});
helpDialog.addEventListener("close", async () => {
  if (helpDialog.returnValue !== "send") return;
  helpDialog.returnValue = "";
  const reason = byId("help-reason").value.trim();
  const room = byId("help-room").checked ? roomPanel?.room : undefined;
  const reply = await ask({ t: "help", ...(room ? { room } : {}), ...(reason ? { reason } : {}) },
    "The call for help didn't go out");
  if (reply) toast("Your call went out to everyone on duty. Someone will be with you.", 8000);
});

function helpAlert(f) {
  const from = f.from?.alias ?? "A colleague";
  const text = `${from} is calling for help${f.room ? ` in ${f.room}` : ""}`;
  const li = el("li", { className: "help-alert", attrs: { role: "alert" } },
    el("p", {}, el("strong", {}, text), f.reason ? el("span", { className: "reason" }, `: ${f.reason}`) : null,
      el("time", { dateTime: new Date(f.ts || Date.now()).toISOString() }, ` · ${formatTime(f.ts || Date.now())}`)));
  const actions = el("div", { className: "actions" });
  if (f.room && roomPanel) {
    const go = el("button", { type: "button", className: "btn-primary" }, `Go to ${f.room}`);
    go.addEventListener("click", () => {
      dismissAlert(li);
      showTab("room");
      roomPanel.show(f.room);
    });
    actions.append(go);
  }
  const ok = el("button", { type: "button", className: "btn-quiet" }, "Dismiss");
  ok.addEventListener("click", () => dismissAlert(li));
  actions.append(ok);
  li.append(actions);
  byId("help-alert-list").append(li);
  byId("help-alerts").hidden = false;
}

function dismissAlert(li) {
  li.remove();
  byId("help-alerts").hidden = byId("help-alert-list").childElementCount === 0;
}

// -- duty ------------------------------------------------------------------------------------------------

function renderDuty() {
  const button = byId("duty");
  button.setAttribute("aria-checked", String(onDuty));
  byId("duty-text").textContent = onDuty ? "On duty" : "Off duty";
  document.body.dataset.duty = onDuty ? "on" : "off";
}

byId("duty").addEventListener("click", async () => {
  const want = !onDuty;
  const reply = await ask({ t: "duty", on: want }, "Duty didn't change");
  if (!reply) return;
  onDuty = reply.on ?? want;
  renderDuty();
  announce(onDuty ? "You are on duty: flags and calls for help come to you." : "You are off duty. Take care.");
});

// -- rooms list ---------------------------------------------------------------------------------------------

async function loadRooms() {
  clearTimeout(roomsTimer);
  try {
    const res = await fetch("/api/rooms", { cache: "no-store", credentials: "omit" });
    if (res.ok) {
      const rooms = (await res.json()).rooms ?? [];
      roomPanel.setRooms(session.rooms.length ? rooms.filter((r) => session.rooms.includes(r.id)) : rooms);
    }
  } catch {
    // shown again on the next refresh
  }
  if (conn) roomsTimer = setTimeout(loadRooms, ROOMS_REFRESH_MS);
}

// -- frames ------------------------------------------------------------------------------------------------

function onFrame(f) {
  switch (f.t) {
    case "flag":
      if (f.flag) {
        const isNew = f.flag.state === "open" && !flags.flags.has(f.flag.id);
        flags.update(f.flag);
        if (isNew) announce(`New ${f.flag.category} flag in ${f.flag.room}.`);
      }
      return;
    case "case":
      if (f.case) onCase(f.case, f.event);
      return;
    case "help":
      helpAlert(f);
      return;
    default:
      break;
  }
  if (caseFeed.handle(f)) return;
  if (roomPanel.handle(f)) return;
  if (f.t === "notice" && f.message) toast(f.message);
  else if (f.t === "error" && f.message && f.rid === undefined) toast(f.message);
}

function onCase(c, event) {
  const isNew = !cases.get(c.id);
  showCases();
  cases.update(c);
  if (isNew && c.state === "open") announce(`New crisis case, severity ${c.severity}, in ${c.room}.`);
  else if (event === "escalated") announce(`A crisis case in ${c.room} is still not acknowledged.`);
  if (c.state === "resolved" && caseFeed.room === `case:${c.id}`) closeCaseRoom();
}

function showCases() {
  byId("tab-cases").hidden = false;
  byId("cases").hidden = false;
  document.body.dataset.cases = "true";
}

async function onWelcome(frame) {
  me = frame.user;
  cases.me = me;
  cases.canAct = session.isStaff;
  byId("bar-actions").hidden = false;
  if (!onDuty) {
    // The server puts everyone on duty when they connect: keep what they chose.
    const reply = await ask({ t: "duty", on: false }, "Duty didn't change");
    if (!reply) onDuty = true;
    renderDuty();
  }
  const reply = await ask({ t: "flags" }, "The flags couldn't be loaded");
  if (reply?.t === "flags") flags.reset(reply.flags ?? []);
  if (session.isStaff) {
    try {
      const list = await conn.request({ t: "cases" });
      if (list.t === "cases") cases.reset(list.cases ?? []);
    } catch {
      // the next welcome asks again
    }
  }
  await roomPanel.rejoin(me);
  await caseFeed.rejoin(me);
  document.body.dataset.ready = "true";
}

// -- start and stop ------------------------------------------------------------------------------------

function start() {
  document.body.dataset.view = "console";
  byId("login").hidden = true;
  byId("console").hidden = false;
  byId("bar-actions").hidden = false;
  onDuty = true;
  renderDuty();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  conn = new Connection({
    url: `${scheme}://${location.host}/ws`,
    token: () => session.token,
    // A console token cannot be renewed without the password: sign in again.
    renew: async () => signOut("Your session has ended. Please sign in again."),
  });
  flags = flags ?? new FlagsView({ onAction: flagAction, onCount: (n) => setCount("flags-count", n) });
  cases = cases ?? new CasesView({ onUpdate: caseUpdate, onOpenRoom: openCaseRoom,
    onCount: (n) => setCount("cases-count", n) });
  flags.reset([]);
  cases.reset([]);
  roomPanel = roomPanel ?? new RoomPanel({ conn, mod, onRoom: () => {} });
  roomPanel.conn = conn;
  roomPanel.feed.conn = conn;
  caseFeed = caseFeed ?? new RoomFeed({ container: byId("case-feed"), conn, label: "Private room messages" });
  caseFeed.conn = conn;
  if (session.isStaff) showCases();
  showTab(session.isStaff ? "cases" : "flags");
  conn.addEventListener("state", (e) => status.show(e.detail));
  conn.addEventListener("welcome", (e) => onWelcome(e.detail));
  conn.addEventListener("frame", (e) => onFrame(e.detail));
  conn.start();
  loadRooms();
  byId("main").focus();
}

function signOut(message) {
  conn?.stop();
  conn = null;
  clearTimeout(roomsTimer);
  session.signOut();
  roomPanel?.feed.close();
  if (caseFeed) closeCaseRoom();
  byId("help-alert-list").replaceChildren();
  byId("help-alerts").hidden = true;
  byId("console").hidden = true;
  byId("bar-actions").hidden = true;
  delete document.body.dataset.ready;
  document.body.dataset.view = "login";
  login.show(message);
}

byId("sign-out").addEventListener("click", () => signOut());

if (session.signedIn) start();
else login.show();
