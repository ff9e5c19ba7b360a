// The wire format: MessagePack maps over binary WebSocket frames (see /work/shared/PROTOCOL.md).
// Builders leave out absent optional fields rather than sending nil.
import { decode, encode } from "./vendor/msgpack.js";

export const CloseCode = Object.freeze({
  NORMAL: 1000,
  RESTARTING: 1012, // the server is restarting: reconnect, to any node
  BAD_FRAMES: 4400,
  UNAUTHORIZED: 4401, // a bad or expired token: renew the session, then reconnect
  REMOVED: 4403, // kicked or banned: do not reconnect
  TOO_SLOW: 4408, // fell too far behind: reconnect and resume with `since`
  FLOODING: 4429,
});

export const HISTORY_PAGE = 50;

export function encodeFrame(frame) {
  return encode(frame);
}

export function decodeFrame(data) {
  const frame = decode(new Uint8Array(data));
  if (frame === null || typeof frame !== "object" || typeof frame.t !== "string") {
    throw new TypeError("not a peerchat frame");
  }
  return frame;
}

function compact(frame) {
  for (const key of Object.keys(frame)) if (frame[key] === undefined || frame[key] === null) delete frame[key];
  return frame;
}

export const frames = {
  hello: (token) => ({ t: "hello", token }),
  join: (room, since, epoch) => compact({ t: "join", room, since: since || undefined, epoch: since ? epoch : undefined }),
  leave: (room) => ({ t: "leave", room }),
  send: (room, text, nonce) => ({ t: "send", room, text, nonce, rid: nonce }),
  history: (room, before, limit = HISTORY_PAGE) => compact({ t: "history", room, before, limit }),
  typing: (room) => ({ t: "typing", room }),
  report: (room, seq, reason) => compact({ t: "report", room, seq, reason: reason || undefined }),
  ping: () => ({ t: "ping" }),
};

/** A random hex string (crypto.getRandomValues), for nonces and the device key. */
export function randomHex(bytes = 16) {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}
