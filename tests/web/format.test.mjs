// The browser app's pure formatting: dates and times in the clinic's time zone (whatever the
// machine's zone is), money, durations, sizes, names, masks, and the pt-BR texts of errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../web/js/api.js';
import {
  addDays, agendaError, daysBetween, durationText, hhmm, isYmd, localDate, localMinutes, longDate,
  mediumDate, mondayOf, money, monthOf, parseHhmm, parseMoney, servicesFor, serviceText, slotsByDate, timeIn,
  weekdayOf, weekdayShort, whenText, zonedToUtc,
} from '../../web/js/agenda-util.js';
import { durationWords, formatDuration } from '../../web/js/call-media.js';
import {
  ageFrom, councilText, displayName, formatAddress, formatDate, formatDateTime, formatPhone,
  masks, plural, sentence,
} from '../../web/js/ui.js';
import { formatSize } from '../../web/js/views/chat-attachments.js';
import { expiryNotice } from '../../web/js/views/signing-key.js';
import { elapsed } from '../../web/js/views/queue-parts.js';

const NBSP = '\u00a0';

test('times are shown in the clinic\'s zone, not the machine\'s', () => {
  const at = '2026-11-25T13:00:00Z';
  assert.equal(timeIn(at, 'America/Sao_Paulo'), '10:00');
  assert.equal(timeIn(at, 'America/Manaus'), '09:00');
  assert.equal(timeIn(at, 'America/Noronha'), '11:00');
  assert.equal(whenText(at, 'America/Sao_Paulo'), 'quarta-feira, 25/11 às 10:00');
  assert.equal(formatDateTime('2026-11-25T13:05:00Z', 'America/Sao_Paulo'), '25/11/2026, 10:05');
  assert.equal(formatDateTime('2026-11-25T13:05:00Z', 'America/Noronha'), '25/11/2026, 11:05');
  assert.equal(formatDateTime('not a date', 'America/Sao_Paulo'), 'not a date');
  assert.equal(formatDateTime(null), '');
});

test('an instant late in the evening belongs to the clinic\'s day, not to UTC\'s', () => {
  const at = '2026-11-26T02:30:00Z'; // 23:30 on the 25th in São Paulo
  assert.equal(localDate(at, 'America/Sao_Paulo'), '2026-11-25');
  assert.equal(localMinutes(at, 'America/Sao_Paulo'), 23 * 60 + 30);
  assert.equal(localDate(at, 'UTC'), '2026-11-26');
});

test('a wall-clock time in the clinic\'s zone becomes the right UTC instant', () => {
  assert.equal(zonedToUtc('2026-11-25', '10:00', 'America/Sao_Paulo'), '2026-11-25T13:00:00.000Z');
  assert.equal(zonedToUtc('2026-11-25', '23:30', 'America/Manaus'), '2026-11-26T03:30:00.000Z');
  // Brazil still had daylight saving time in 2018 (São Paulo at UTC−2 in January).
  assert.equal(zonedToUtc('2018-01-10', '10:00', 'America/Sao_Paulo'), '2018-01-10T12:00:00.000Z');
  for (const tz of ['America/Sao_Paulo', 'America/Manaus', 'America/Noronha', 'America/Rio_Branco']) {
    const iso = zonedToUtc('2026-03-02', '08:15', tz);
    assert.equal(timeIn(iso, tz), '08:15', `round trip in ${tz}`);
    assert.equal(localDate(iso, tz), '2026-03-02');
  }
});

test('calendar dates: headings, weekdays, weeks from Monday, day arithmetic across months', () => {
  assert.equal(longDate('2026-11-25'), 'Quarta-feira, 25 de novembro de 2026');
  assert.equal(mediumDate('2026-11-25'), 'quarta-feira, 25/11');
  assert.equal(weekdayShort('2026-11-25'), 'qua');
  assert.equal(weekdayOf('2026-11-29'), 6, 'Sunday is 6 (the API counts from Monday = 0)');
  assert.equal(mondayOf('2026-11-29'), '2026-11-23');
  assert.equal(addDays('2026-02-27', 2), '2026-03-01');
  assert.equal(addDays('2028-02-28', 1), '2028-02-29');
  assert.equal(daysBetween('2026-02-27', '2026-03-02'), 3);
  assert.equal(isYmd('2026-02-29'), false);
  assert.equal(isYmd('2028-02-29'), true);
  assert.equal(formatDate('1990-05-07'), '07/05/1990');
  assert.equal(ageFrom('1990-05-07', new Date(2026, 4, 6)), 35);
  assert.equal(ageFrom('1990-05-07', new Date(2026, 4, 7)), 36);
  assert.equal(ageFrom('2030-01-01', new Date(2026, 0, 1)), null);
});

test('hours and minutes: "HH:MM" both ways, durations in words', () => {
  assert.equal(hhmm(9 * 60 + 5), '09:05');
  assert.equal(hhmm(-30), '23:30');
  assert.equal(parseHhmm('8:30'), 510);
  assert.equal(parseHhmm('24:00'), 1440);
  assert.ok(Number.isNaN(parseHhmm('24:01')));
  assert.ok(Number.isNaN(parseHhmm('10h')));
  assert.equal(durationText(30), '30 min');
  assert.equal(durationText(60), '1 h');
  assert.equal(durationText(90), '1 h 30 min');
  assert.equal(formatDuration(245_000), '04:05');
  assert.equal(formatDuration(3_845_000), '1:04:05');
  assert.equal(durationWords(725_000), '12 minutos e 5 segundos');
  assert.equal(durationWords(60_000), '1 minuto');
  assert.equal(durationWords(1_000), '1 segundo');
  const now = Date.parse('2026-11-25T13:00:00Z');
  assert.equal(elapsed('2026-11-25T12:59:30Z', now), 'menos de 1 min');
  assert.equal(elapsed('2026-11-25T11:40:00Z', now), '1 h 20 min');
  assert.equal(elapsed('2026-11-25T11:00:00Z', now), '2 h');
});

test('a month runs from its first to its last day, leap years and December included', () => {
  assert.deepEqual(monthOf('2026-02-10'), { from: '2026-02-01', to: '2026-02-28' });
  assert.deepEqual(monthOf('2028-02-29'), { from: '2028-02-01', to: '2028-02-29' });
  assert.deepEqual(monthOf('2026-12-31'), { from: '2026-12-01', to: '2026-12-31' });
});

test('amounts typed in reais become centavos, anything else is refused', () => {
  assert.equal(parseMoney('150'), 15000);
  assert.equal(parseMoney('150,5'), 15050);
  assert.equal(parseMoney('R$ 1.234,56'), 123456);
  assert.equal(parseMoney(' 0,99 '), 99);
  assert.equal(parseMoney('12.50'), 1250, 'a dot with two decimals is a decimal point');
  assert.equal(parseMoney('1.234'), 123400, 'a dot before three digits groups thousands');
  for (const bad of ['', 'abc', '-10', '1,234', '12,345', '1.23.4', '10 reais']) {
    assert.equal(parseMoney(bad), null, bad);
  }
});

test('money in reais, file sizes in pt-BR', () => {
  assert.equal(money(15000), `R$${NBSP}150,00`);
  assert.equal(money(123456), `R$${NBSP}1.234,56`);
  assert.equal(money(0), '', 'no price: nothing shown');
  assert.equal(serviceText({ name: 'Consulta', duration_minutes: 30, price_cents: 15000 }), `Consulta — 30 min · R$${NBSP}150,00`);
  assert.equal(serviceText({ name: 'Retorno', duration_minutes: 20, price_cents: 0 }), 'Retorno — 20 min');
  assert.equal(formatSize(1), '1 byte');
  assert.equal(formatSize(68), '68 bytes');
  assert.equal(formatSize(12 * 1024), '12 KB');
  assert.equal(formatSize(1.4 * 1024 * 1024), '1,4 MB');
});

test('names: the social name wins; phones, CPF, CNPJ and CEP as Brazilians write them', () => {
  assert.equal(displayName({ full_name: 'João Silva', social_name: ' Joana ' }), 'Joana');
  assert.equal(displayName({ full_name: 'João Silva', social_name: '  ' }), 'João Silva');
  assert.equal(displayName(null), '');
  assert.equal(councilText({ council: 'CRM', council_number: '123456', council_uf: 'SP' }), 'CRM 123456/SP');
  assert.equal(formatPhone('+5511912345678'), '(11) 91234-5678');
  assert.equal(formatPhone('1133334444'), '(11) 3333-4444');
  assert.equal(formatPhone('123'), '123');
  assert.equal(masks.cpf('52998224725'), '529.982.247-25');
  assert.equal(masks.cnpj('12abc34501de35'), '12.ABC.345/01DE-35', 'alphanumeric CNPJ (2026)');
  assert.equal(masks.cep('01310100'), '01310-100');
  assert.equal(formatAddress({ street: 'Av. Paulista', number: '1000', complement: 'sala 2', district: 'Bela Vista', city: 'São Paulo', uf: 'SP', postal_code: '01310-100' }),
    'Av. Paulista, 1000 — sala 2, Bela Vista, São Paulo/SP, CEP 01310-100');
  assert.equal(plural(1, 'consulta', 'consultas'), '1 consulta');
  assert.equal(plural(0, 'consulta', 'consultas'), '0 consultas');
});

test('server messages are tidied; agenda error codes get their pt-BR text', () => {
  assert.equal(sentence('horário indisponível'), 'Horário indisponível.');
  assert.equal(sentence('Pronto!'), 'Pronto!');
  assert.equal(agendaError(new ApiError(409, 'slot_taken', 'slot taken')), 'Esse horário acabou de ser ocupado. Escolha outro horário.');
  assert.equal(agendaError(new ApiError(409, 'patient_busy', 'x')), 'O paciente já tem outra consulta nesse horário.');
  assert.equal(agendaError(new ApiError(409, 'patient_busy', 'x'), { patient: true }), 'Você já tem outra consulta nesse horário.');
  assert.equal(agendaError(new ApiError(422, 'something_new', 'algo deu errado')), 'Algo deu errado.');
});

test('a professional\'s services, free slots grouped by the clinic\'s day', () => {
  const services = [
    { id: 's1', name: 'Retorno', duration_minutes: 20, price_cents: 0, professional_user_id: null },
    { id: 's2', name: 'Acupuntura', duration_minutes: 50, price_cents: 0, professional_user_id: 'p2' },
    { id: 's3', name: 'Consulta', duration_minutes: 30, price_cents: 0, professional_user_id: 'p1' },
    { id: 's4', name: 'Antigo', duration_minutes: 30, price_cents: 0, professional_user_id: null, active: false },
  ];
  assert.deepEqual(servicesFor(services, 'p1').map((s) => s.id), ['s3', 's1']);
  const slots = [
    { starts_at: '2026-11-26T02:00:00Z', ends_at: '2026-11-26T02:30:00Z' }, // 23:00 on the 25th
    { starts_at: '2026-11-25T13:00:00Z', ends_at: '2026-11-25T13:30:00Z' },
    { starts_at: '2026-11-26T12:00:00Z', ends_at: '2026-11-26T12:30:00Z' },
  ];
  const byDate = slotsByDate(slots, 'America/Sao_Paulo');
  assert.deepEqual([...byDate.keys()], ['2026-11-25', '2026-11-26']);
  assert.deepEqual(byDate.get('2026-11-25').map((s) => timeIn(s.starts_at, 'America/Sao_Paulo')), ['10:00', '23:00']);
});

test('attendance figures read as a person would say them', async () => {
  const { percent, hoursText } = await import('../../web/js/views/report-attendance.js');
  assert.equal(percent(null), '—');
  assert.equal(percent(0.5), '50 %');
  assert.equal(percent(0.0625), '6,3 %');
  assert.equal(percent(1.2), '120 %');
  assert.equal(hoursText(45), '45 min');
  assert.equal(hoursText(480), '8 h');
  assert.equal(hoursText(750), '12 h 30 min');
});

test('a signing certificate warns 30 days before it expires and says so once expired', () => {
  const now = new Date('2027-03-01T12:00:00Z');
  assert.equal(expiryNotice('2027-04-01T12:00:00Z', now), null, '31 days left: nothing to say');
  assert.deepEqual(expiryNotice('2027-03-31T12:00:00Z', now)?.level, 'warn');
  assert.match(expiryNotice('2027-03-31T12:00:00Z', now)?.text ?? '', /vence em 30 dias/);
  assert.match(expiryNotice('2027-03-01T18:00:00Z', now)?.text ?? '', /vence em 1 dia\./);
  const expired = expiryNotice('2027-03-01T11:59:59Z', now);
  assert.equal(expired?.level, 'error');
  assert.match(expired?.text ?? '', /está vencido/);
  assert.equal(expiryNotice('não é data', now), null);
});
