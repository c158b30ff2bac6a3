// The clinic's onboarding sequence: which steps are done and which comes next.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onboardingSteps } from '../../web/js/onboarding.js';

const empty = { clinic: true, services: 0, members: [{ role: 'clinic_admin', user_id: 'a' }], hours: {}, prices: [] };

test('a clinic just created has its data and nothing else: hours come next', () => {
  const s = onboardingSteps(empty);
  assert.deepEqual(s.steps.map((x) => x.done), [true, false, false, false, false]);
  assert.equal(s.current, 'hours');
  assert.equal(s.doneCount, 1);
});

test('a professional without working hours keeps the professionals step open', () => {
  const members = [...empty.members, { role: 'professional', user_id: 'p1' }, { role: 'professional', user_id: 'p2' }];
  const half = onboardingSteps({ ...empty, services: 1, members, hours: { p1: 2 } });
  assert.equal(half.current, 'professionals');
  const all = onboardingSteps({ ...empty, services: 1, members, hours: { p1: 2, p2: 1 } });
  assert.equal(all.current, 'staff');
});

test('a price table with a free service is not done; everything done leaves no current step', () => {
  const members = [{ role: 'professional', user_id: 'p' }, { role: 'receptionist', user_id: 'r' }];
  const base = { clinic: true, services: 2, members, hours: { p: 1 } };
  assert.equal(onboardingSteps({ ...base, prices: [{ price_cents: 0 }, { price_cents: 100 }] }).current, 'prices');
  const done = onboardingSteps({ ...base, prices: [{ price_cents: 20000 }, { price_cents: 100 }] });
  assert.equal(done.current, null);
  assert.equal(done.doneCount, 5);
});
