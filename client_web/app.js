// peerchat's member page: wires the session, the connection, the chat and the views together.
// Plain ES modules, no build step. Member text is only ever set with textContent.
import { Chat } from "./chat.js";
import { Connection } from "./connection.js";
import { byId } from "./dom.js";
import { leaveQuickly, Title } from "./privacy.js";
import { Session } from "./session.js";
import { safeStorage } from "./store.js";
import { HelpDialog, ReportDialog, SupportInvite } from "./views/dialogs.js";
import { LandingView } from "./views/landing.js";
import { RoomView } from "./views/room.js";
import { StatusView } from "./views/status.js";

const ROOMS_REFRESH_MS = 30_000;

const session = new Session();
const tab = safeStorage("session");
const status = new StatusView();
status.show("connecting");

let chat = null;
let conn = null;

// Safety first: these work before anything else has loaded, even if the server is unreachable.
const help = new HelpDialog();
byId("leave-quickly").addEventListener("click", () => leaveQuickly({
  beforeLeave: () => {
    conn?.stop();
    session.forgetTab();
  },
}));
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault(); // no #fragment: the app adds no entries to the tab's history
  byId("main").focus();
});

const landing = new LandingView({
  onEnter: (room) => chat?.enter(room),
  onRemember: (yes) => session.remember(yes),
});

const roomView = new RoomView({
  onSend: (text) => chat.send(text),
  onTyping: () => chat.typing(),
  onReport: (seq) => chat.report(seq),
  onLoadOlder: () => chat.loadPage(),
  onBack: () => chat.leave(),
  onRetry: (nonce) => chat.retry(nonce),
  onDiscard: (nonce) => chat.discard(nonce),
});

let rooms = [];
let roomsTimer = 0;

async function loadRooms() {
  clearTimeout(roomsTimer);
  landing.loading();
  try {
    const res = await fetch("/api/rooms", { cache: "no-store", credentials: "omit" });
    if (!res.ok) throw new Error(`rooms: HTTP ${res.status}`);
    rooms = (await res.json()).rooms ?? [];
    landing.render(rooms);
  } catch {
    landing.failed();
  }
  if (document.body.dataset.view === "landing") roomsTimer = setTimeout(loadRooms, ROOMS_REFRESH_MS);
  return rooms;
}

async function openSession() {
  for (let attempt = 0; ; attempt++) {
    try {
      return await session.open();
    } catch {
      byId("rooms-status").textContent = "Can't reach peerchat right now. Trying again…";
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** attempt, 15_000)));
    }
  }
}

session.onChange = (s) => landing.showAlias(s.user.alias, s.remembered);
await openSession();

const scheme = location.protocol === "https:" ? "wss" : "ws";
conn = new Connection({
  url: `${scheme}://${location.host}/ws`,
  token: () => session.token,
  renew: () => session.open(),
});
chat = new Chat({
  conn,
  tab,
  views: { landing, room: roomView, help, report: new ReportDialog(), status,
    invite: new SupportInvite({ onJoin: (room) => chat.enter(privateRoom(room)) }) },
  title: new Title(),
});

function privateRoom(id) {
  return { id, title: "Private support", topic: "",
    guidelines: "A member of staff is here with you. Only the two of you can see this room." };
}

chat.onLeft = async (roomId) => {
  await loadRooms();
  byId("rooms").querySelector(`[data-room="${CSS.escape(roomId)}"]`)?.focus();
};

conn.start();
await loadRooms();
const saved = chat.savedRoom();
if (saved) chat.enter(rooms.find((r) => r.id === saved.id) ?? saved);
document.body.dataset.ready = "true";
