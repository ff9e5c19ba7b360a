// "Need help now?" and "Report this message?": native <dialog>s (focus is trapped inside and
// Escape closes them), with focus handed back to whatever opened them.
import { byId } from "../dom.js";
import { resourceItem } from "./room.js";

function openModal(dialog) {
  const opener = document.activeElement;
  dialog.addEventListener("close", () => {
    if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
  }, { once: true });
  dialog.showModal();
}

export class HelpDialog {
  constructor() {
    this.dialog = byId("help-dialog");
    byId("help-open").addEventListener("click", () => this.open());
    // A click on the backdrop closes it too.
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.dialog.close();
    });
  }

  open() {
    if (!this.dialog.open) openModal(this.dialog);
  }

  /** Resources the server sent for this member are listed here as well as in the room. */
  addResources(items) {
    byId("help-extra-items").replaceChildren(...items.map(resourceItem));
    byId("help-extra").hidden = items.length === 0;
  }
}

export class ReportDialog {
  constructor() {
    this.dialog = byId("report-dialog");
    this.form = byId("report-form");
    this.pending = null;
    this.dialog.addEventListener("close", () => {
      const done = this.pending;
      this.pending = null;
      if (!done) return;
      const reason = this.form.elements.reason.value || undefined;
      done(this.dialog.returnValue === "report" ? { reason } : null);
    });
  }

  /** Ask to confirm a report; resolves with {reason} or null when cancelled. */
  ask(text) {
    byId("report-quote").textContent = text;
    this.form.reset();
    this.dialog.returnValue = "cancel";
    return new Promise((resolve) => {
      this.pending = resolve;
      openModal(this.dialog);
    });
  }
}

/** The offer of a private room with a member of staff (`notice` `support_invite`). A panel, not a
 * modal: it takes the focus so it is read out, and the member chooses. */
export class SupportInvite {
  constructor({ onJoin }) {
    this.panel = byId("support-invite");
    this.room = null;
    byId("support-join").addEventListener("click", () => {
      const room = this.room;
      this.hide();
      if (room) onJoin(room);
    });
    byId("support-later").addEventListener("click", () => {
      this.hide();
      byId("text").offsetParent ? byId("text").focus() : byId("main").focus();
    });
  }

  show(room) {
    this.room = room;
    this.panel.hidden = false;
    this.panel.focus();
  }

  /** Hide the offer (only if it is the offer of `room`, when given: that room has closed). */
  hide(room) {
    if (room !== undefined && room !== this.room) return;
    this.panel.hidden = true;
  }
}
