// "Meu dia": which actions each appointment offers, and the day's one-line summary.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daySummary, visitActions } from '../../web/js/day.js';

test('an in-person appointment not yet seen offers to start the consultation', () => {
  for (const status of ['scheduled', 'confirmed', 'checked_in']) {
    assert.deepEqual(visitActions({ status, kind: 'in_person' }), ['start', 'record', 'chat']);
  }
});

test('a teleconsultation offers the video call, before and during it', () => {
  assert.deepEqual(visitActions({ status: 'confirmed', kind: 'teleconsultation' }), ['video', 'record', 'chat']);
  assert.deepEqual(visitActions({ status: 'in_progress', kind: 'teleconsultation' }), ['video', 'finish', 'record', 'chat']);
});

test('a consultation in progress is finished; a finished or missed one only opens the record and the chat', () => {
  assert.deepEqual(visitActions({ status: 'in_progress', kind: 'in_person' }), ['finish', 'record', 'chat']);
  assert.deepEqual(visitActions({ status: 'done', kind: 'in_person' }), ['record', 'chat']);
  assert.deepEqual(visitActions({ status: 'no_show', kind: 'in_person' }), ['record', 'chat']);
  assert.deepEqual(visitActions({ status: 'cancelled', kind: 'in_person' }), []);
});

test('the day reads in one line, in agreement with the counts', () => {
  assert.equal(daySummary([]), 'Nenhuma consulta neste dia.');
  assert.equal(daySummary([{ status: 'cancelled' }]), 'Nenhuma consulta neste dia.');
  assert.equal(daySummary([{ status: 'scheduled' }]), '1 consulta: 1 a seguir.');
  assert.equal(
    daySummary([{ status: 'done' }, { status: 'done' }, { status: 'in_progress' }, { status: 'confirmed' }, { status: 'no_show' }, { status: 'cancelled' }]),
    '5 consultas: 2 realizadas, 1 em atendimento, 1 a seguir, 1 falta.',
  );
});

test('an appointment whose time is over with no arrival recorded is not "a seguir"', () => {
  const now = Date.parse('2026-03-02T15:00:00Z');
  const list = [
    { status: 'scheduled', ends_at: '2026-03-02T12:30:00Z' },
    { status: 'confirmed', ends_at: '2026-03-02T13:30:00Z' },
    { status: 'checked_in', ends_at: '2026-03-02T14:30:00Z' },
    { status: 'scheduled', ends_at: '2026-03-02T16:00:00Z' },
  ];
  assert.equal(daySummary(list, now), '4 consultas: 2 a seguir, 2 passaram sem registro.');
  assert.equal(daySummary(list.slice(0, 1), now), '1 consulta: 1 passou sem registro.');
  // The same day seen the evening before: everything is still ahead.
  assert.equal(daySummary(list, Date.parse('2026-03-01T22:00:00Z')), '4 consultas: 4 a seguir.');
});

test('appointment statuses agree with "consulta" and never read "undefined"', async () => {
  const { appointmentStatus } = await import('../../web/js/messages.js');
  const { statusLabel } = await import('../../web/js/agenda-util.js');
  assert.deepEqual(
    ['scheduled', 'confirmed', 'cancelled', 'done', 'held'].map(appointmentStatus),
    ['Agendada', 'Confirmada', 'Cancelada', 'Realizada', 'Reservada (lista de espera)'],
  );
  assert.equal(statusLabel('no_show'), 'Faltou');
  assert.equal(appointmentStatus(undefined), '');
  assert.equal(appointmentStatus('novo_status'), 'novo_status');
});
