// The message catalog (web/js/messages.js): titles that agree with the professional's
// profession and gender, documents' participles that agree with their kind, clinic names
// never doubled, dates through Intl in the clinic's zone (whatever the machine's zone),
// every HTTP status's page, and no "null"/"undefined" in any text.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  agree, clinicName, dayPhrase, documentName, documentState, documentWith, dpoContact, failureText,
  honorific, join, professionalLine, professionalName, professionNoun, statusPage, text,
  timeAt, waitWords, whenPhrase,
} from '../../web/js/messages.js';

test('a professional is titled by profession and gender, never Dr. for a woman', () => {
  assert.equal(professionalName({ name: 'Helena Duarte', profession: 'doctor', gender: 'female' }), 'Dra. Helena Duarte');
  assert.equal(professionalName({ name: 'Rafael Lima', profession: 'doctor', gender: 'male' }), 'Dr. Rafael Lima');
  assert.equal(professionalName({ full_name: 'Bruna Alves', profession: 'dentist', gender: 'female' }), 'Dra. Bruna Alves');
  // No honorific for a psychologist, or when the gender is not known (no guessing).
  assert.equal(professionalName({ name: 'Ana Souza', profession: 'psychologist', gender: 'female' }), 'Ana Souza');
  assert.equal(professionalName({ name: 'Kim Rocha', profession: 'doctor', gender: null }), 'Kim Rocha');
  // A title already written into the name is replaced, not doubled or contradicted.
  assert.equal(professionalName({ name: 'Dr. Helena Duarte', profession: 'doctor', gender: 'female' }), 'Dra. Helena Duarte');
  assert.equal(professionalName({ name: 'Dra Helena Duarte', profession: 'doctor', gender: 'female' }), 'Dra. Helena Duarte');
  assert.equal(professionalName(null), '');
  assert.equal(professionalName({ name: null, profession: 'doctor', gender: 'male' }), '');
  assert.equal(honorific('nurse', 'male'), '');
});

test('the profession agrees with the gender: médico for doctors only', () => {
  assert.equal(professionNoun('doctor', 'female'), 'Médica');
  assert.equal(professionNoun('doctor', 'male'), 'Médico');
  assert.equal(professionNoun('dentist', 'male'), 'Cirurgião-dentista');
  assert.equal(professionNoun('dentist', 'female'), 'Cirurgiã-dentista');
  assert.equal(professionNoun('psychologist', 'female'), 'Psicóloga');
  assert.equal(professionNoun('psychologist', 'male'), 'Psicólogo');
  assert.equal(professionNoun('psychologist', null), 'Psicólogo(a)');
  assert.equal(professionNoun('nurse', 'female'), 'Enfermeira');
  assert.equal(professionNoun('physiotherapist', 'male'), 'Fisioterapeuta');
  assert.equal(professionNoun('astronaut', 'male'), '');
  assert.equal(
    professionalLine({ name: 'Bruna Alves', profession: 'dentist', gender: 'female' }),
    'Dra. Bruna Alves, Cirurgiã-dentista',
  );
  assert.equal(
    professionalLine({ name: 'Helena Duarte', profession: 'doctor', gender: 'female', specialty: 'Cardiologia' }),
    'Dra. Helena Duarte, Cardiologia',
  );
  assert.equal(agree(undefined, { f: 'a', m: 'o' }), 'o');
});

test('documents agree with their kind: a receita is assinada, an atestado assinado', () => {
  assert.equal(documentState('prescription', 'signed'), 'Assinada');
  assert.equal(documentState('special_prescription', 'signed'), 'Assinada');
  assert.equal(documentState('certificate', 'signed'), 'Assinado');
  assert.equal(documentState('exam_request', 'revoked'), 'Revogada');
  assert.equal(documentState('certificate', 'revoked'), 'Revogado');
  assert.equal(documentState('prescription', 'pending'), 'Assinando…');
  assert.equal(documentWith('prescription', 'assinad'), 'Receita simples assinada');
  assert.equal(documentWith('certificate', 'emitid'), 'Atestado médico emitido');
  assert.equal(documentName('prescription', { short: true }), 'Receita');
  assert.equal(documentName('mystery'), 'Documento');
});

test('a clinic name is never doubled', () => {
  assert.equal(clinicName('Aurora'), 'Clínica Aurora');
  assert.equal(clinicName('Clínica Aurora'), 'Clínica Aurora');
  assert.equal(clinicName('clinica boa vista'), 'clinica boa vista');
  assert.equal(clinicName('Consultório Dra. Ana'), 'Consultório Dra. Ana');
  assert.equal(clinicName('Policlínica Central'), 'Policlínica Central');
  assert.equal(clinicName(null), 'a clínica');
});

test('days and times are said in the clinic\'s zone, without "hoje em segunda-feira"', () => {
  const now = new Date('2026-12-07T15:00:00Z'); // Monday 12:00 in São Paulo
  const sp = 'America/Sao_Paulo';
  assert.equal(whenPhrase('2026-12-07T17:00:00Z', sp, now), 'hoje às 14:00');
  assert.equal(whenPhrase('2026-12-08T12:30:00Z', sp, now), 'amanhã às 09:30');
  assert.equal(whenPhrase('2026-12-06T12:30:00Z', sp, now), 'ontem às 09:30');
  assert.equal(whenPhrase('2026-12-10T13:00:00Z', sp, now), 'quinta-feira, 10 de dezembro, às 10:00');
  assert.equal(whenPhrase('2027-01-04T13:00:00Z', sp, now), 'segunda-feira, 4 de janeiro de 2027, às 10:00');
  // 01:30 UTC on the 8th is still the 7th (22:30) in São Paulo: "hoje", not "amanhã".
  assert.equal(whenPhrase('2026-12-08T01:30:00Z', sp, now), 'hoje às 22:30');
  // Fernando de Noronha (UTC-2): 23:30 on the 7th is today, 00:30 on the 8th tomorrow.
  assert.equal(dayPhrase('2026-12-08T01:30:00Z', 'America/Noronha', now), 'hoje');
  assert.equal(dayPhrase('2026-12-08T02:30:00Z', 'America/Noronha', now), 'amanhã');
  assert.equal(timeAt('2026-12-07T17:05:00Z', 'America/Manaus'), '13:05');
  for (const at of ['2026-12-07T17:00:00Z', '2026-12-09T17:00:00Z']) {
    assert.doesNotMatch(whenPhrase(at, sp, now), /hoje em|amanhã em|feira,? às.*feira/);
  }
  assert.equal(whenPhrase(null, sp, now), '');
  assert.equal(whenPhrase('not a date', sp, now), '');
});

test('every HTTP status has its page: 403 is "sem permissão", not "não encontrada"', () => {
  assert.equal(statusPage(403).title, 'Sem permissão');
  assert.equal(statusPage(403).kind, 'forbidden');
  assert.equal(statusPage(404).title, 'Página não encontrada');
  assert.equal(statusPage(409).kind, 'conflict');
  assert.equal(statusPage(401).kind, 'unauthenticated');
  assert.equal(statusPage(422).kind, 'invalid');
  assert.equal(statusPage(500).kind, 'server');
  assert.equal(statusPage(503).kind, 'server');
  assert.equal(statusPage(0).kind, 'offline');
  assert.equal(statusPage(200, { online: false }).kind, 'offline');
  assert.equal(statusPage(429, { retryAfter: 30 }).text, 'Aguarde 30 segundos e tente novamente.');
  assert.equal(statusPage(429, { retryAfter: 90 }).text, 'Aguarde 2 minutos e tente novamente.');
  assert.equal(statusPage(429).text, 'Aguarde um pouco e tente novamente.');
  const titles = new Set([0, 401, 403, 404, 409, 422, 429, 500].map((s) => statusPage(s).title));
  assert.equal(titles.size, 8, 'each status its own page');
  assert.equal(waitWords(1), '1 segundo');
  assert.equal(waitWords(60), '1 minuto');
  assert.equal(
    failureText({ status: 429, message: 'muitas tentativas de login', retryAfter: 45 }),
    'Muitas tentativas de login. Tente novamente em 45 segundos.',
  );
  assert.equal(
    failureText({ status: 429, message: 'muitas tentativas; tente novamente em 30 s', retryAfter: 30 }),
    'Muitas tentativas; tente novamente em 30 s.',
    'the wait is said once',
  );
  assert.equal(failureText({ status: 403, message: '' }), statusPage(403).text);
  assert.equal(failureText({ status: 422, message: 'informe o nome' }), 'Informe o nome.');
});

test('no text says "null" or "undefined"', () => {
  assert.equal(text(null), '');
  assert.equal(text(undefined), '');
  assert.equal(text('null'), '');
  assert.equal(text(Number.NaN), '');
  assert.equal(text(0), '0');
  assert.equal(join(['Dra. Ana', null, undefined, 'CRM 1/SP'], ' · '), 'Dra. Ana · CRM 1/SP');
  const samples = [
    professionalName({ name: undefined, profession: undefined, gender: undefined }),
    professionalLine({ name: 'Ana', profession: null, gender: null }),
    clinicName(undefined),
    whenPhrase(undefined, 'America/Sao_Paulo'),
    documentState(undefined, undefined),
  ];
  for (const s of samples) assert.doesNotMatch(s, /null|undefined/);
});

test('the outbox hides most of a recipient and names states and kinds in Portuguese', async () => {
  const { maskedRecipient, messageKind, MESSAGE_STATES, MESSAGE_CHANNELS } = await import('../../web/js/messages.js');
  assert.equal(maskedRecipient('joao.silva@exemplo.com'), 'jo•••@exemplo.com');
  assert.equal(maskedRecipient('a@b.com'), 'a•••@b.com');
  assert.equal(maskedRecipient('+5511987654321'), '+55 11 •••••-4321');
  assert.equal(maskedRecipient('5511987654321'), '+55 11 •••••-4321');
  assert.equal(maskedRecipient('(11) 3456-7890'), '11 •••••-7890');
  assert.equal(maskedRecipient(null), '');
  assert.equal(maskedRecipient('123'), '•••');
  // As the server sends it to staff (already masked): unchanged.
  assert.equal(maskedRecipient('+55 11 •••••-4321'), '+55 11 •••••-4321');
  assert.equal(maskedRecipient('jo•••@paciente.demo'), 'jo•••@paciente.demo');
  assert.equal(messageKind('appointment_reminder'), 'Lembrete de consulta');
  assert.equal(messageKind('novo_modelo'), 'novo modelo');
  assert.equal(MESSAGE_STATES.dead, 'Não enviada');
  assert.equal(MESSAGE_CHANNELS.sms, 'SMS');
});

test('the data protection officer is shown only when named, without empty parts', () => {
  assert.equal(dpoContact(null), '');
  assert.equal(dpoContact({ name: '  ', email: 'dpo@clinica.com.br' }), '');
  assert.equal(
    dpoContact({ name: 'Ana Lima', email: 'dpo@clinica.com.br', phone: null }),
    'Encarregado(a) de dados (LGPD): Ana Lima · dpo@clinica.com.br',
  );
  assert.doesNotMatch(dpoContact({ name: 'Ana Lima', email: undefined, phone: 'null' }), /null|undefined|· $/);
});
