// Animation frames only while something can change.
//
// regl (under regl-scatterplot) keeps a requestAnimationFrame loop running for as long as the
// renderer lives, also when nothing changes. With software WebGL that costs about 4 % of a core
// per open Clusters page, measured: 20 idle pages of a classroom took most of a core doing
// nothing. This gate lets animation frames through while the views may change: for AWAKE_MS after
// pointer, wheel or key input in this frame or a resize (hover, pan and lasso need a steady
// stream), always while a draw of new arguments from Python is in flight (hold() ... release():
// under load the library may ask for its frame seconds after the arguments arrived), and for only
// SETTLE_MS after that draw (a seed change is one draw; a 1.5 s tail after each one kept 20 pages
// of a classroom drawing about 90 empty frames per click); later requests are parked and
// released by the next wake(). A parked frame loses nothing: regl-scatterplot draws only when it
// has something new, and anything new arrives through one of the events that wake the gate. Only
// this component's iframe is affected.

const AWAKE_MS = 1500; // after input
const SETTLE_MS = 250; // after a draw of new arguments

const nativeRequest = window.requestAnimationFrame.bind(window);
const nativeCancel = window.cancelAnimationFrame.bind(window);
const parked = new Map(); // negative id -> callback
let nextParkedId = -1;
let awakeUntil = 0;
let holds = 0;

// parkedAt: performance.now() when the loop was last parked (tests read it through window.__scatter.frames)
export const frameGate = { parkedNow: () => parked.size, parkedAt: null, wakes: 0, holding: () => holds };

export function wake(ms = AWAKE_MS) {
  frameGate.wakes += 1;
  awakeUntil = Math.max(awakeUntil, performance.now() + ms);
  if (parked.size === 0) return;
  const callbacks = Array.from(parked.values());
  parked.clear();
  for (const cb of callbacks) nativeRequest(cb);
}

export function hold() {
  holds += 1;
  wake(SETTLE_MS); // frames flow anyway while held
}

export function release() {
  holds = Math.max(0, holds - 1);
  wake(SETTLE_MS); // and stay awake a little longer, for what the draw set in motion
}

window.requestAnimationFrame = (cb) => {
  if (holds > 0 || performance.now() < awakeUntil) return nativeRequest(cb);
  if (parked.size === 0) frameGate.parkedAt = performance.now();
  const id = nextParkedId;
  nextParkedId -= 1;
  parked.set(id, cb);
  return id;
};

window.cancelAnimationFrame = (id) => {
  if (id < 0) parked.delete(id);
  else nativeCancel(id);
};

for (const type of ["pointerdown", "pointermove", "pointerup", "wheel", "keydown", "keyup", "resize"]) {
  window.addEventListener(type, () => wake(), { capture: true, passive: true });
}
wake();
