// @ts-check
// "Exportar (FHIR)": the record as a FHIR R4 Bundle (application/fhir+json), downloaded as a
// file — by staff from the patient's record, by the patient for their own records.

import { api } from '../api.js';
import { saveBlob } from './documents.js';
import { h, errorMessage } from '../ui.js';

/**
 * A button that downloads `path` (a `…/record/fhir` route) as `<name>-<day>.fhir.json`.
 * @param {string} path
 * @param {string} name
 */
export function fhirExportButton(path, name) {
  const status = h('span', { class: 'form-status', role: 'status' });
  const button = h('button', {
    type: 'button', class: 'btn btn-secondary', text: 'Exportar (FHIR)',
    title: 'Prontuário no padrão FHIR R4 (RNDS), para levar a outro sistema',
    dataset: { action: 'export-fhir' },
  });
  button.addEventListener('click', async () => {
    button.disabled = true;
    status.textContent = 'Preparando…';
    try {
      const blob = await api.download(path);
      saveBlob(blob, `${name}-${new Date().toISOString().slice(0, 10)}.fhir.json`);
      status.textContent = 'Download iniciado.';
    } catch (err) {
      status.textContent = errorMessage(err);
    } finally {
      button.disabled = false;
    }
  });
  return h('div', { class: 'form-actions' }, button, status);
}
