// @ts-check
// "Meu dia": what a professional may do with each appointment of their day, and how the
// day's summary reads. Pure functions (no DOM), shared by views/my-day.js and its tests.

/**
 * The actions an appointment offers on "Meu dia", in the order the buttons appear:
 * `start` (in-person consultation), `video` (open the teleconsultation), `finish`,
 * `record` (the patient's record: documents, encounters), `chat`.
 * @param {{status: string, kind: string}} a
 * @returns {Array<'start'|'video'|'finish'|'record'|'chat'>}
 */
export function visitActions(a) {
  const waiting = a.status === 'scheduled' || a.status === 'confirmed' || a.status === 'checked_in';
  /** @type {Array<'start'|'video'|'finish'|'record'|'chat'>} */
  const out = [];
  if (waiting) out.push(a.kind === 'teleconsultation' ? 'video' : 'start');
  if (a.status === 'in_progress') {
    if (a.kind === 'teleconsultation') out.push('video');
    out.push('finish');
  }
  if (a.status !== 'cancelled' && a.status !== 'held') out.push('record', 'chat');
  return out;
}

/**
 * "3 consultas: 1 realizada, 2 a seguir" — the day in one line (cancelled ones apart).
 * @param {Array<{status: string}>} list
 */
export function daySummary(list) {
  const count = (pred) => list.filter(pred).length;
  const total = count((a) => a.status !== 'cancelled' && a.status !== 'held');
  if (!total) return 'Nenhuma consulta neste dia.';
  const done = count((a) => a.status === 'done');
  const absent = count((a) => a.status === 'no_show');
  const now = count((a) => a.status === 'in_progress');
  const ahead = total - done - absent - now;
  const parts = [];
  if (done) parts.push(done === 1 ? '1 realizada' : `${done} realizadas`);
  if (now) parts.push('1 em atendimento');
  if (ahead) parts.push(`${ahead} a seguir`);
  if (absent) parts.push(absent === 1 ? '1 falta' : `${absent} faltas`);
  return `${total === 1 ? '1 consulta' : `${total} consultas`}: ${parts.join(', ')}.`;
}
