// The Review card's keyboard (a Streamlit components.v2 component, no build step).
//
// Renders the list of keys and listens to key presses on the page. A key counts only on the
// card the browser shows, and only once that card has been on screen for `dwell_ms`; after one
// key is sent, further keys wait for the next card (the server's next render, a new `token`).
// So keys typed ahead (five presses 60 ms apart) label the item on screen once and are dropped
// afterwards, never applied to an item the annotator has not seen. Every key sent names the
// card it was pressed on (`item`) and a sequence number (`seq`), which the server checks again.
//
// data: {item, token, run, dwell_ms, enabled, keys: [{key, label, kind}]}  (labels are shown with textContent)
// trigger "key": {key, item, seq, token}
// window.__reviewKeys: the latest card, its clock and the one keydown listener; also a test hook
// (a browser test may set window.__reviewKeys.dwellMs to a longer dwell than the server's, so that
// its key timings hold on a loaded machine).

export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  const state = (window.__reviewKeys ||= { token: null, run: -1, shownAt: 0, sent: false, seq: 0, ignored: 0, active: false });
  if (data.run < state.run) return () => {}; // a stale instance drawing an older card: ignored
  state.run = data.run;
  state.data = data;
  state.send = setTriggerValue;
  state.active = true;
  if (state.token !== data.token) {
    state.token = data.token;
    state.shownAt = performance.now();
    state.sent = false;
  }

  let root = parentElement.querySelector("div.review-keys");
  if (!root) {
    root = document.createElement("div");
    root.className = "review-keys";
    parentElement.appendChild(root);
  }
  root.replaceChildren();
  const title = document.createElement("span");
  title.className = "title";
  title.textContent = "Keys";
  root.appendChild(title);
  for (const k of data.keys) {
    const chip = document.createElement("span");
    chip.className = `chip ${k.kind}`;
    const kbd = document.createElement("kbd");
    kbd.textContent = k.key;
    chip.appendChild(kbd);
    chip.appendChild(document.createTextNode(` ${k.label}`));
    root.appendChild(chip);
  }
  const note = document.createElement("span");
  note.className = "note";
  root.appendChild(note);
  root.classList.toggle("disabled", data.item === null || !data.enabled);
  state.root = root;
  state.note = note;

  if (!state.listening) {
    // one listener for the page's lifetime, reading the latest card (never a stale closure's)
    state.listening = true;
    document.addEventListener("keydown", (e) => onKey(state, e));
  }
  return () => {
    if (state.data === data) state.active = false; // unmounted (another page): keys do nothing
  };
}

function typing(el) {
  return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) || el.getAttribute?.("role") === "combobox");
}

function onKey(state, e) {
  const data = state.data;
  if (!state.active || !data || e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
  if (typing(e.target) || typing(document.activeElement)) return;
  const key = (e.key || "").toLowerCase();
  const k = data.keys.find((x) => x.key === key);
  if (!k) return;
  e.preventDefault();
  const early = state.sent || performance.now() - state.shownAt < (state.dwellMs ?? data.dwell_ms);
  const enabled = (data.enabled || k.kind === "previous") && (data.item !== null || k.kind === "undo" || k.kind === "previous");
  if (e.repeat || early || !enabled) {
    state.ignored += 1;
    if (state.note) state.note.textContent = early ? `"${key}" ignored: the next card is not on screen yet` : "";
    return;
  }
  state.sent = true;
  state.seq += 1;
  state.root?.classList.add("busy");
  if (state.note) state.note.textContent = "";
  state.send("key", { key, item: data.item, seq: state.seq, token: data.token });
}
