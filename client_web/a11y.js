// The one live region: each call is announced once by screen readers. The message list itself is
// not live, so loading history or re-rendering never makes a screen reader read it again.
import { byId, el } from "./dom.js";

const KEEP = 3; // older announcements are removed (removals are not announced)

export function announce(text) {
  const region = byId("live");
  region.append(el("p", {}, text));
  while (region.childElementCount > KEEP) region.firstElementChild.remove();
}

let toastTimer = 0;

/** A short visible note that is also announced (role=status). */
export function toast(text, ms = 5000) {
  const node = byId("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.hidden = true;
    node.textContent = "";
  }, ms);
}
