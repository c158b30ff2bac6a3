// Vital signs charted over time: the series in time order with gaps skipped, the range a
// chart shows, and what a screen reader hears.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { range, series, summary } from '../../web/js/vitals-chart.js';

const vitals = [
  { measured_at: '2026-06-05T12:00:00Z', values: { weight_kg: 79.5, systolic_mmhg: 128, diastolic_mmhg: 82 } },
  { measured_at: '2026-03-01T12:00:00Z', values: { weight_kg: 82, systolic_mmhg: 142, diastolic_mmhg: 91 } },
  { measured_at: '2026-04-10T12:00:00Z', values: { glucose_mg_dl: 101 } },
];

test('a series is in time order and skips the sets without that measure', () => {
  assert.deepEqual(series(vitals, 'weight_kg').map((p) => p.v), [82, 79.5]);
  assert.deepEqual(series(vitals, 'glucose_mg_dl').map((p) => p.v), [101]);
  assert.deepEqual(series([{ measured_at: 'não é data', values: { weight_kg: 70 } }], 'weight_kg'), []);
});

test('the range leaves room around the values, even when they are all equal', () => {
  assert.deepEqual(range([80, 80]), { lo: 79, hi: 81 });
  const r = range([100, 200]);
  assert.ok(r.lo < 100 && r.hi > 200);
});

test('a chart says first and last values with their dates, and pressure as systolic/diastolic', () => {
  const weight = summary('Peso', 'kg', [series(vitals, 'weight_kg')]);
  assert.match(weight, /^Peso: 82 kg em 0[12]\/03\/2026 a 79,5 kg em 0[45]\/06\/2026, 2 medições$/);
  const pressure = summary('Pressão arterial', 'mmHg', [series(vitals, 'systolic_mmhg'), series(vitals, 'diastolic_mmhg')]);
  assert.match(pressure, /^Pressão arterial: 142\/91 mmHg em .* a 128\/82 mmHg em .*, 2 medições$/);
});
