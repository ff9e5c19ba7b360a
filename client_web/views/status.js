// The connection banner, and `data-state` on <body> (connecting | connected | reconnecting |
// removed | ended) for styles and tests.
import { byId } from "../dom.js";
import { announce } from "../a11y.js";

const TEXT = {
  connecting: "Connecting…",
  reconnecting: "Reconnecting… Nothing you write is lost: it is sent when you're back.",
  connected: "Connected",
  removed: "A facilitator has removed you from the chat for now.",
  ended: "Disconnected.",
};

export class StatusView {
  constructor() {
    this.node = byId("conn");
    this.text = byId("conn-text");
    this.wasDown = false;
  }

  show(state) {
    document.body.dataset.state = state;
    this.text.textContent = TEXT[state] ?? state;
    this.node.dataset.state = state;
    if (state === "reconnecting") this.wasDown = true;
    if (state === "connected" && this.wasDown) {
      this.wasDown = false;
      announce("Connected again.");
    }
  }
}
