// The drawing page: draw (or drop) a digit, send it to /model/predict, show all ten probabilities;
// or, in number mode, draw a row of digits on a wide pad, send it to /model/read, show the number
// and a box round each digit read.
"use strict";

const PREDICT_URL = "../model/predict";
const READ_URL = "../model/read";
const PADS = { digit: [280, 280], number: [840, 280] };  // canvas pixels per mode
const HINTS = {
  digit: "Draw one digit, 0\u20139, large and in the middle of the pad, with the mouse or a " +
    "finger. Or drop a picture of a digit onto the pad, or choose one.",
  number: "Write a number, digits side by side from left to right, with the mouse or a finger. " +
    "Or drop a picture of a number onto the pad, or choose one.",
};
const AUTO_DELAY_MS = 400;     // wait this long after a stroke for the next one of the digit
const SURE = 0.7;              // below this probability the answer is shown as "not sure"
const PAPER = "#fff";
const INK = "#000";

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const digitOut = document.getElementById("digit");
const confidenceOut = document.getElementById("confidence");
const message = document.getElementById("message");
const answer = document.querySelector(".answer");
const bars = document.getElementById("bars");
const auto = document.getElementById("auto");
const fileInput = document.getElementById("file");
const undoButton = document.getElementById("undo");
const boxes = document.getElementById("boxes");
const hint = document.getElementById("hint");
const heading = document.querySelector("h1");
const answerLabel = document.getElementById("answer-label");

let stroke = null;         // {id, x, y, width, points} while a pointer is drawing
let strokes = [];          // every stroke since the last clear, oldest first (for undo)
let picture = null;        // a chosen or dropped picture under the strokes: {image, x, y, w, h}
let loading = null;        // the picture being decoded for the preview; a clear cancels it
let inked = false;         // anything drawn or dropped since the last clear
let autoTimer = 0;
let latest = 0;            // number of the newest request; older answers are dropped
let pending = 0;           // requests in flight (tests wait for 0)
let mode = "digit";        // "digit" (/model/predict) or "number" (/model/read)
let reading = null;        // the number shown, in number mode
let uploaded = null;       // where a dropped picture sits on the pad, and its own size

function buildBars() {
  for (let digit = 0; digit < 10; digit += 1) {
    const row = document.createElement("li");
    row.dataset.digit = String(digit);
    row.innerHTML = `<span class="label">${digit}</span>` +
      '<span class="bar"><span class="fill"></span></span><span class="value"></span>';
    bars.appendChild(row);
  }
}

function showProbabilities(ranked) {
  const byDigit = new Map(ranked.map((entry) => [entry.prediction, entry.probability]));
  for (const row of bars.children) {
    const probability = byDigit.get(Number(row.dataset.digit)) || 0;
    row.querySelector(".fill").style.width = `${(probability * 100).toFixed(1)}%`;
    row.querySelector(".value").textContent = `${(probability * 100).toFixed(1)}%`;
    row.classList.toggle("top", ranked.length > 0 && ranked[0].prediction === Number(row.dataset.digit));
  }
}

// A probability for people: one decimal, never a flat 100.0% or 0.0%.
function percent(probability) {
  if (probability > 0.999) return ">99.9%";
  if (probability < 0.001) return "<0.1%";
  return `${(probability * 100).toFixed(1)}%`;
}

// The answer's state: "sure", "unsure" (small type, with the runner-up), "refused" or "".
function setState(state) {
  answer.dataset.state = state;
}

function showResult(ranked) {
  const [best, runnerUp] = ranked;
  digitOut.textContent = String(best.prediction);
  if (best.probability >= SURE) {
    setState("sure");
    confidenceOut.textContent = `(${percent(best.probability)} sure)`;
  } else {
    setState("unsure");
    confidenceOut.textContent = `not sure: ${best.prediction} (${percent(best.probability)})` +
      (runnerUp ? ` or ${runnerUp.prediction} (${percent(runnerUp.probability)})` : "");
  }
  message.textContent = "";
  showProbabilities(ranked);
}

// A number read: its digits, the whole reading's probability, and a box round each digit on
// the pad (boxes come in the uploaded image's pixels: the pad's, or the dropped picture's).
function showReading(answer) {
  reading = answer;
  digitOut.textContent = answer.text;
  confidenceOut.textContent = `(${(answer.probability * 100).toFixed(1)}% sure of all ` +
    `${answer.text.length} digit${answer.text.length === 1 ? "" : "s"})`;
  message.textContent = "";
  showBoxes();
}

function showBoxes() {
  boxes.replaceChildren();
  if (!reading || (loading && !uploaded)) return;  // a dropped picture's preview is not ready
  const source = uploaded || { x: 0, y: 0, w: pad.width, h: pad.height,
    width: pad.width, height: pad.height };
  for (const digit of reading.digits) {
    const [x, y, w, h] = digit.box;
    const box = document.createElement("div");
    box.className = "box";
    box.dataset.digit = String(digit.prediction);
    box.style.left = `${(100 * (source.x + (x * source.w) / source.width)) / pad.width}%`;
    box.style.top = `${(100 * (source.y + (y * source.h) / source.height)) / pad.height}%`;
    box.style.width = `${(100 * ((w * source.w) / source.width)) / pad.width}%`;
    box.style.height = `${(100 * ((h * source.h) / source.height)) / pad.height}%`;
    const label = document.createElement("span");
    label.textContent = String(digit.prediction);
    box.appendChild(label);
    boxes.appendChild(box);
  }
}

function showError(text) {
  setState("");
  digitOut.textContent = "?";
  confidenceOut.textContent = "";
  message.textContent = text;
  showProbabilities([]);
  reading = null;
  boxes.replaceChildren();
}

// The server refused the picture as not a digit (a 422 that says so).
function showRefused() {
  setState("refused");
  digitOut.textContent = "";
  confidenceOut.textContent = "that does not look like a digit";
  message.textContent = "";
  showProbabilities([]);
}

function paper() {
  ctx.fillStyle = PAPER;
  ctx.fillRect(0, 0, pad.width, pad.height);
}

function forgetResult() {
  clearTimeout(autoTimer);
  latest += 1;               // answers still on their way are for a drawing that is gone
  setState("");
  digitOut.textContent = "";
  confidenceOut.textContent = "";
  message.textContent = "";
  showProbabilities([]);
  reading = null;
  boxes.replaceChildren();
}

function clear() {
  forgetResult();
  strokes = [];
  picture = null;
  loading = null;
  uploaded = null;
  redraw();
}

// The pen's width as a fraction of the pad's side (the checked "pen" radio button).
function penWidth() {
  return Number(document.querySelector('input[name="pen"]:checked').value);
}

function redraw() {
  paper();
  if (picture) ctx.drawImage(picture.image, picture.x, picture.y, picture.w, picture.h);
  for (const drawn of strokes) {
    line(drawn.points[0], drawn.points[0], drawn.width);
    for (let i = 1; i < drawn.points.length; i += 1) {
      line(drawn.points[i - 1], drawn.points[i], drawn.width);
    }
  }
  inked = strokes.length > 0 || picture !== null;
  undoButton.disabled = strokes.length === 0;
}

function undo() {
  if (stroke || strokes.length === 0) return;
  strokes.pop();
  forgetResult();
  redraw();
  if (inked && auto.checked) autoTimer = setTimeout(predictDrawing, AUTO_DELAY_MS);
}

function setPending(change) {
  pending += change;
  document.body.dataset.pending = String(pending);
}

async function predict(blob, name) {
  clearTimeout(autoTimer);
  const request = ++latest;
  const form = new FormData();
  form.append("image", blob, name);
  setPending(1);
  try {
    const response = await fetch(mode === "number" ? READ_URL : PREDICT_URL,
      { method: "POST", body: form });
    const body = await response.json().catch(() => ({}));
    if (request !== latest) return;
    if (response.ok && typeof body.text === "string" && Array.isArray(body.digits)) {
      showReading(body);
    } else if (response.ok && Array.isArray(body.predictions) && body.predictions.length) {
      showResult(body.predictions);
    } else if (response.ok) {
      showError("the server's answer holds no prediction");
    } else if (response.status === 422 && /not look like a digit/.test(body.message || "")) {
      showRefused();
    } else {
      showError(body.message || `the server answered ${response.status}`);
    }
  } catch (error) {
    if (request === latest) showError(`could not reach the server (${error.message})`);
  } finally {
    setPending(-1);
  }
}

function predictDrawing() {
  if (!inked) {
    showError(mode === "number" ? "write a number first" : "draw a digit first");
    return;
  }
  const drawing = latest;     // a clear before the PNG is ready makes this click moot
  setPending(1);             // counts from the click, before the PNG is encoded
  pad.toBlob((blob) => {
    setPending(-1);
    if (drawing === latest) predict(blob, "drawing.png");
  }, "image/png");
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return {
    x: ((event.clientX - box.left) * pad.width) / box.width,
    y: ((event.clientY - box.top) * pad.height) / box.height,
  };
}

function line(from, to, width) {
  ctx.strokeStyle = INK;
  ctx.lineWidth = width * pad.height;  // the pen is the same on the wide pad
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(from.x, from.y);
  ctx.lineTo(to.x, to.y);
  ctx.stroke();
}

pad.addEventListener("pointerdown", (event) => {
  if (stroke || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  clearTimeout(autoTimer);
  pad.setPointerCapture(event.pointerId);
  const start = point(event);
  stroke = { id: event.pointerId, ...start, width: penWidth(), points: [start] };
  strokes.push(stroke);
  line(start, start, stroke.width);  // a tap leaves a dot
  inked = true;
  undoButton.disabled = false;
});

pad.addEventListener("pointermove", (event) => {
  if (!stroke || event.pointerId !== stroke.id) return;
  const moves = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const move of moves.length ? moves : [event]) {
    const next = point(move);
    line(stroke, next, stroke.width);
    stroke.points.push(next);
    stroke.x = next.x;
    stroke.y = next.y;
  }
});

function endStroke(event) {
  if (!stroke || event.pointerId !== stroke.id) return;
  stroke = null;
  if (auto.checked) autoTimer = setTimeout(predictDrawing, AUTO_DELAY_MS);
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function showPicture(file) {
  const url = URL.createObjectURL(file);
  const image = new Image();
  loading = image;
  image.onload = () => {
    URL.revokeObjectURL(url);
    if (loading !== image) return;
    const scale = Math.min(pad.width / image.width, pad.height / image.height);
    const w = image.width * scale;
    const h = image.height * scale;
    picture = { image, x: (pad.width - w) / 2, y: (pad.height - h) / 2, w, h };
    uploaded = { ...picture, width: image.naturalWidth, height: image.naturalHeight };
    redraw();
    showBoxes();
  };
  image.onerror = () => URL.revokeObjectURL(url);
  image.src = url;
}

function usePicture(file) {
  if (!file) return;
  clear();
  inked = true;
  showPicture(file);         // a preview only: the file itself goes to the server, unchanged
  predict(file, file.name);
}

fileInput.addEventListener("change", () => {
  usePicture(fileInput.files[0]);
  fileInput.value = "";
});
pad.addEventListener("dragover", (event) => {
  event.preventDefault();
  pad.classList.add("dropping");
});
pad.addEventListener("dragleave", () => pad.classList.remove("dropping"));
pad.addEventListener("drop", (event) => {
  event.preventDefault();
  pad.classList.remove("dropping");
  usePicture(event.dataTransfer.files[0]);
});

// Digit or number: the pad's shape, the words on the page, and where drawings are sent.
function setMode(chosen) {
  mode = chosen;
  document.body.classList.toggle("number", mode === "number");
  heading.textContent = mode === "number" ? "Write a number" : "Draw a digit";
  hint.textContent = HINTS[mode];
  answerLabel.textContent = mode === "number" ? "Number:" : "Prediction:";
  [pad.width, pad.height] = PADS[mode];
  pad.setAttribute("aria-label", mode === "number"
    ? "Drawing pad: write a number here, or drop an image file"
    : "Drawing pad: draw one digit here, or drop an image file");
  clear();
}

for (const radio of document.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener("change", () => setMode(radio.value));
}
document.getElementById("predict").addEventListener("click", predictDrawing);
document.getElementById("clear").addEventListener("click", clear);
undoButton.addEventListener("click", undo);
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
  }
});

buildBars();
setMode(document.querySelector('input[name="mode"]:checked').value);
document.body.dataset.pending = "0";
