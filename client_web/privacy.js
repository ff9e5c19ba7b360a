// Privacy on a shared device: leave at once, and keep message text out of the tab title.
const FALLBACK_LEAVE_URL = "https://www.google.com/search?q=weather";
const TITLE = "peerchat";

export function leaveUrl() {
  const meta = document.querySelector('meta[name="peerchat-leave-url"]');
  const url = meta?.content || FALLBACK_LEAVE_URL;
  return /^https:\/\//.test(url) ? url : FALLBACK_LEAVE_URL;
}

/**
 * Replace this page with a neutral one, now. `location.replace` swaps this entry in the tab's
 * history, so Back does not return here. The page is blanked first, in case the network is slow.
 * The app never adds history entries of its own (no pushState, no #fragments), so there is no
 * other peerchat entry to go back to.
 */
export function leaveQuickly({ beforeLeave } = {}) {
  try {
    beforeLeave?.();
  } catch {
    // leaving matters more than tidying up
  }
  document.title = "";
  document.body.replaceChildren();
  document.body.dataset.state = "left";
  location.replace(leaveUrl());
}

/** The title only ever says "peerchat", with a count of unseen messages while the tab is hidden. */
export class Title {
  constructor() {
    this.unseen = 0;
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.reset();
    });
  }

  bump() {
    if (document.visibilityState !== "hidden") return;
    this.unseen += 1;
    document.title = `(${this.unseen}) ${TITLE}`;
  }

  reset() {
    this.unseen = 0;
    document.title = TITLE;
  }
}
