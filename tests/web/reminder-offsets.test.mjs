// Reminder lead times as the clinic admin reads and picks them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OFFSET_CHOICES, offsetChoices, offsetLabel } from '../../web/js/reminder-offsets.js';

test('a lead time reads in hours and minutes, singular where it is one', () => {
  assert.equal(offsetLabel(1440), '24 horas antes');
  assert.equal(offsetLabel(60), '1 hora antes');
  assert.equal(offsetLabel(30), '30 minutos antes');
  assert.equal(offsetLabel(90), '1 hora e 30 minutos antes');
  assert.equal(offsetLabel(121), '2 horas e 1 minuto antes');
});

test('a saved lead time outside the usual ones is offered too, longest first, once', () => {
  assert.deepEqual(offsetChoices([]), OFFSET_CHOICES);
  const c = offsetChoices([1440, 90, 4320]);
  assert.equal(c[0], 4320);
  assert.ok(c.includes(90));
  assert.equal(c.filter((m) => m === 1440).length, 1);
  assert.deepEqual([...c].sort((a, b) => b - a), c);
});
