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
 * "3 consultas: 1 realizada, 2 a seguir" — the day in one line (cancelled ones apart). An
 * appointment whose time is over with nobody having checked the patient in or marked the
 * absence is not "a seguir": it "passou sem registro" until the desk or the professional
 * records what happened.
 * @param {Array<{status: string, ends_at?: string}>} list
 * @param {number} [now] milliseconds since the epoch (the page's clock; tests pass their own)
 */
export function daySummary(list, now = Date.now()) {
  const count = (pred) => list.filter(pred).length;
  const total = count((a) => a.status !== 'cancelled' && a.status !== 'held');
  if (!total) return 'Nenhuma consulta neste dia.';
  const done = count((a) => a.status === 'done');
  const absent = count((a) => a.status === 'no_show');
  const current = count((a) => a.status === 'in_progress');
  const unrecorded = count((a) => (a.status === 'scheduled' || a.status === 'confirmed')
    && typeof a.ends_at === 'string' && Date.parse(a.ends_at) <= now);
  const ahead = total - done - absent - current - unrecorded;
  const parts = [];
  if (done) parts.push(done === 1 ? '1 realizada' : `${done} realizadas`);
  if (current) parts.push(current === 1 ? '1 em atendimento' : `${current} em atendimento`);
  if (ahead) parts.push(`${ahead} a seguir`);
  if (unrecorded) parts.push(unrecorded === 1 ? '1 passou sem registro' : `${unrecorded} passaram sem registro`);
  if (absent) parts.push(absent === 1 ? '1 falta' : `${absent} faltas`);
  return `${total === 1 ? '1 consulta' : `${total} consultas`}: ${parts.join(', ')}.`;
}
