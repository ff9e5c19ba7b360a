// The landing page: who you are here, and the rooms with how many people are in each.
import { byId, el } from "../dom.js";

export class LandingView {
  constructor({ onEnter, onRemember }) {
    this.section = byId("landing");
    this.list = byId("rooms");
    this.status = byId("rooms-status");
    this.remember = byId("remember");
    this.remember.addEventListener("change", () => onRemember(this.remember.checked));
    this.onEnter = onEnter;
  }

  showAlias(alias, remembered) {
    byId("alias").textContent = alias;
    byId("alias-line").hidden = false;
    this.remember.checked = remembered;
  }

  loading() {
    if (!this.list.childElementCount) this.status.textContent = "Loading rooms…";
  }

  failed() {
    this.status.textContent = "The rooms could not be loaded. Trying again…";
  }

  render(rooms) {
    this.status.textContent = rooms.length ? "" : "There are no rooms open right now.";
    const focused = document.activeElement?.dataset?.room;
    this.list.replaceChildren(...rooms.map((room) => {
      const people = room.count === 1 ? "1 person here" : room.count ? `${room.count} people here` : "Quiet right now";
      const button = el("button", { type: "button", className: "room-card", dataset: { room: room.id } },
        el("span", { className: "room-title" }, room.title),
        el("span", { className: "room-topic" }, room.topic || ""),
        el("span", { className: "room-count", dataset: room.count ? {} : { empty: "" } }, el("span", { className: "dot", attrs: { "aria-hidden": "true" } }), people));
      button.addEventListener("click", () => this.onEnter(room));
      return el("li", {}, button);
    }));
    if (focused) this.list.querySelector(`[data-room="${CSS.escape(focused)}"]`)?.focus();
  }
}
