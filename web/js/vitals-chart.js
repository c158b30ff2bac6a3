// @ts-check
// Vital signs charted over time (the record's "Sinais vitais"): weight, blood pressure
// (systolic and diastolic) and glucose, each a small SVG line chart with its points, drawn
// only when there are at least two measurements. The SVG is built with the DOM (the page's
// CSP refuses inline styles and markup strings); each chart is an image with a summary a
// screen reader says ("Peso: 82 kg em 01/03/2026 a 79,5 kg em 05/06/2026, 4 medições").

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 320;
const HEIGHT = 120;
const PAD = { left: 36, right: 8, top: 10, bottom: 20 };

/** The charts offered: each a title, a unit and the value keys drawn as lines. */
export const CHARTS = [
  { id: 'weight', title: 'Peso', unit: 'kg', keys: ['weight_kg'] },
  { id: 'pressure', title: 'Pressão arterial', unit: 'mmHg', keys: ['systolic_mmhg', 'diastolic_mmhg'] },
  { id: 'glucose', title: 'Glicemia', unit: 'mg/dL', keys: ['glucose_mg_dl'] },
];

/**
 * The measurements of `key` in time order: `{t, v}` with `t` in milliseconds.
 * @param {Array<{measured_at: string, values?: Record<string, number|null|undefined>}>} vitals
 * @param {string} key
 */
export function series(vitals, key) {
  return vitals
    .map((m) => ({ t: Date.parse(m.measured_at), v: m.values ? m.values[key] : undefined }))
    .filter((p) => Number.isFinite(p.t) && typeof p.v === 'number' && Number.isFinite(p.v))
    .map((p) => ({ t: p.t, v: /** @type {number} */ (p.v) }))
    .sort((a, b) => a.t - b.t);
}

/**
 * The value range a chart shows: the data's, widened by a tenth (at least 1) so flat lines
 * and the extremes do not sit on the edges.
 * @param {number[]} values
 */
export function range(values) {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = Math.max(1, (hi - lo) / 10);
  return { lo: lo - pad, hi: hi + pad };
}

/** @param {number} n */
function num(n) {
  return n.toLocaleString('pt-BR', { maximumFractionDigits: 1 });
}

/** @param {number} t */
function day(t) {
  return new Date(t).toLocaleDateString('pt-BR', { day: '2-digit', month: '2-digit', year: 'numeric' });
}

/**
 * What the chart says in words.
 * @param {string} title @param {string} unit @param {Array<Array<{t: number, v: number}>>} lines
 */
export function summary(title, unit, lines) {
  const first = lines[0];
  if (lines.length === 2) {
    const [s, d] = lines;
    const a = s[0];
    const b = s[s.length - 1];
    const da = d.find((p) => p.t === a.t);
    const db = d.find((p) => p.t === b.t);
    const pair = (/** @type {{t: number, v: number}} */ x, /** @type {{v: number}|undefined} */ y) => `${num(x.v)}/${y ? num(y.v) : '?'}`;
    return `${title}: ${pair(a, da)} ${unit} em ${day(a.t)} a ${pair(b, db)} ${unit} em ${day(b.t)}, ${s.length} medições`;
  }
  const a = first[0];
  const b = first[first.length - 1];
  return `${title}: ${num(a.v)} ${unit} em ${day(a.t)} a ${num(b.v)} ${unit} em ${day(b.t)}, ${first.length} medições`;
}

/**
 * @param {string} name @param {Record<string, string|number>} attrs
 */
function el(name, attrs = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/**
 * One chart, or null when fewer than two measurements exist.
 * @param {{id: string, title: string, unit: string, keys: string[]}} chart
 * @param {Array<{measured_at: string, values?: Record<string, number|null|undefined>}>} vitals
 * @returns {SVGSVGElement|null}
 */
export function lineChart(chart, vitals) {
  const lines = chart.keys.map((k) => series(vitals, k));
  if (lines[0].length < 2) return null;
  const all = lines.flat();
  const { lo, hi } = range(all.map((p) => p.v));
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t));
  const x = (/** @type {number} */ t) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (WIDTH - PAD.left - PAD.right);
  const y = (/** @type {number} */ v) => PAD.top + (1 - (v - lo) / (hi - lo)) * (HEIGHT - PAD.top - PAD.bottom);
  const svg = /** @type {SVGSVGElement} */ (/** @type {unknown} */ (el('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'vitals-chart', role: 'img',
    'aria-label': summary(chart.title, chart.unit, lines), 'data-chart': chart.id,
  })));
  // Axis labels: the range's ends and the first and last day.
  for (const v of [hi, lo]) {
    const label = el('text', { x: PAD.left - 4, y: y(v) + 4, class: 'vc-axis', 'text-anchor': 'end' });
    label.textContent = num(Math.round(v));
    svg.append(label);
  }
  svg.append(el('line', { x1: PAD.left, y1: HEIGHT - PAD.bottom, x2: WIDTH - PAD.right, y2: HEIGHT - PAD.bottom, class: 'vc-base' }));
  for (const [t, anchor] of [[t0, 'start'], [t1, 'end']]) {
    const label = el('text', { x: x(/** @type {number} */ (t)), y: HEIGHT - 5, class: 'vc-axis', 'text-anchor': String(anchor) });
    label.textContent = day(/** @type {number} */ (t));
    svg.append(label);
  }
  lines.forEach((points, i) => {
    if (!points.length) return;
    svg.append(el('polyline', {
      points: points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' '),
      class: `vc-line vc-line-${i}`,
    }));
    for (const p of points) {
      const dot = el('circle', { cx: x(p.t).toFixed(1), cy: y(p.v).toFixed(1), r: 2.5, class: `vc-dot vc-line-${i}` });
      const tip = el('title');
      tip.textContent = `${num(p.v)} ${chart.unit} em ${day(p.t)}`;
      dot.append(tip);
      svg.append(dot);
    }
  });
  return svg;
}
