// The minimal peerchat page: pick a room, see your alias, read and send messages.
// Member text is only ever set with textContent, never as HTML.
const $ = (id) => document.getElementById(id);
const state = { token: null, user: null, ws: null, room: null, lastSeq: {}, epoch: {}, rooms: [], rid: 0, backoff: 500 };

async function session() {
  const headers = { "Content-Type": "application/json" };
  const saved = sessionStorage.getItem("peerchat.token");
  if (saved) headers.Authorization = `Bearer ${saved}`;
  const res = await fetch("/api/session", { method: "POST", headers, body: "{}" });
  if (!res.ok) throw new Error(`session: ${res.status}`);
  const data = await res.json();
  state.token = data.token;
  state.user = data.user;
  sessionStorage.setItem("peerchat.token", data.token);
  $("me").textContent = `You are ${data.user.alias}`;
}

async function loadRooms() {
  const res = await fetch("/api/rooms");
  state.rooms = (await res.json()).rooms;
  const list = $("rooms");
  list.replaceChildren();
  for (const room of state.rooms) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.room = room.id;
    const title = document.createElement("strong");
    title.textContent = `${room.title} `;
    const count = document.createElement("span");
    count.textContent = `(${room.count} here)`;
    const topic = document.createElement("span");
    topic.className = "topic";
    topic.textContent = room.topic;
    button.append(title, count, topic);
    button.addEventListener("click", () => enter(room.id));
    li.append(button);
    list.append(li);
  }
}

function send(frame) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  state.ws = ws;
  $("status").textContent = "connecting…";
  ws.addEventListener("open", () => send({ t: "hello", token: state.token }));
  ws.addEventListener("message", (event) => onFrame(JSON.parse(event.data)));
  ws.addEventListener("close", async (event) => {
    $("status").textContent = "reconnecting…";
    if (event.code === 4401) await session().catch(() => {});
    setTimeout(connect, state.backoff);
    state.backoff = Math.min(state.backoff * 2, 10000);
  });
}

function onFrame(frame) {
  switch (frame.t) {
    case "welcome":
      state.backoff = 500;
      $("status").textContent = "connected";
      if (state.room) join(state.room);
      break;
    case "joined":
      if (frame.reset || state.epoch[frame.room] !== frame.epoch) $("messages").replaceChildren();
      state.epoch[frame.room] = frame.epoch;
      for (const msg of frame.history) addMessage(msg, false);
      setCount(frame.members.length);
      break;
    case "msg":
      addMessage(frame, true);
      break;
    case "ack":
      document.querySelector(`[data-nonce="${CSS.escape(String(frame.rid))}"]`)?.remove();
      break;
    case "presence":
      if (frame.room === state.room) setCount(frame.count);
      break;
    case "typing":
      if (frame.room === state.room) showTyping(frame.user.alias);
      break;
    case "error":
      $("status").textContent = `${frame.code}: ${frame.message}`;
      break;
  }
}

function setCount(n) { $("count").textContent = `${n} here`; }

let typingTimer;
function showTyping(alias) {
  $("typing").textContent = `${alias} is typing…`;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => { $("typing").textContent = ""; }, 3000);
}

function addMessage(msg, announce) {
  if (msg.room !== state.room) return;
  if ((state.lastSeq[msg.room] ?? 0) >= msg.seq) return; // already shown
  state.lastSeq[msg.room] = msg.seq;
  const li = document.createElement("li");
  li.dataset.seq = msg.seq;
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = msg.from.alias;
  const text = document.createElement("span");
  text.textContent = msg.text;
  li.append(from, text);
  const list = $("messages");
  list.append(li);
  list.scrollTop = list.scrollHeight;
  if (announce) $("live").textContent = `${msg.from.alias}: ${msg.text}`;
}

function join(roomId) {
  const since = state.lastSeq[roomId];
  const frame = { t: "join", room: roomId };
  if (since) { frame.since = since; frame.epoch = state.epoch[roomId]; }
  send(frame);
}

function enter(roomId) {
  const room = state.rooms.find((r) => r.id === roomId);
  if (state.room && state.room !== roomId) { send({ t: "leave", room: state.room }); delete state.lastSeq[state.room]; }
  state.room = roomId;
  $("messages").replaceChildren();
  $("room-title").textContent = room.title;
  $("guidelines").textContent = room.guidelines;
  $("lobby").hidden = true;
  $("room").hidden = false;
  join(roomId);
  $("text").focus();
}

$("back").addEventListener("click", () => {
  if (state.room) send({ t: "leave", room: state.room });
  delete state.lastSeq[state.room];
  state.room = null;
  $("room").hidden = true;
  $("lobby").hidden = false;
  loadRooms();
});

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text || !state.room) return;
  const nonce = `n${Date.now()}-${++state.rid}`;
  send({ t: "send", room: state.room, text, nonce, rid: nonce });
  $("text").value = "";
});

$("text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("composer").requestSubmit(); }
  else if (state.room) send({ t: "typing", room: state.room });
});

await session();
await loadRooms();
connect();
