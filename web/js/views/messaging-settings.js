// @ts-check
// "Como a clínica avisa os pacientes", on the outbox page (clinic admins): whether and when
// reminders go, the quiet hours, WhatsApp and SMS, and the sender's name and reply-to.
//
//   GET /api/clinics/{id}/messaging → MessagingSettings (+ whatsapp_available, sms_available:
//       whether this installation has the channel at all)
//   PUT /api/clinics/{id}/messaging {sender_name, reply_to, reminders_enabled,
//       reminder_offsets_minutes, quiet_start, quiet_end, whatsapp_enabled, sms_enabled}
//       → the saved settings; 422 invalid_reminders, invalid_email, invalid_sender_name

import { api, seg } from '../api.js';
import { offsetChoices, offsetLabel } from '../reminder-offsets.js';
import { h, createForm, loadInto } from '../ui.js';

/**
 * @typedef {{sender_name: string|null, reply_to: string|null, reminders_enabled: boolean,
 *   reminder_offsets_minutes: number[], quiet_start: string, quiet_end: string,
 *   whatsapp_enabled: boolean|null, sms_enabled: boolean|null, whatsapp_available: boolean,
 *   sms_available: boolean}} MessagingSettings
 */

/** @param {number} minutes */
const offsetName = (minutes) => `offset_${minutes}`;

/** @param {string} clinicId */
export function messagingSettingsPanel(clinicId) {
  const path = `/api/clinics/${seg(clinicId)}/messaging`;
  const body = h('div', {});

  /** @param {MessagingSettings} s */
  function render(s) {
    const choices = offsetChoices(s.reminder_offsets_minutes);
    const channelHint = (/** @type {boolean} */ available, /** @type {string} */ what) => (available
      ? `Para pacientes com telefone cadastrado que não pediram para parar; os demais recebem por ${what}.`
      : 'Esta instalação do atende ainda não tem este canal configurado: enquanto isso, nada muda.');
    const offsets = h('fieldset', { class: 'field field-wide ms-offsets' },
      h('legend', { text: 'Quando lembrar (até 5)' }));
    const ctrl = createForm({
      label: 'Avisos aos pacientes',
      className: 'ms-form',
      submitLabel: 'Salvar',
      busyLabel: 'Salvando…',
      codeToField: { invalid_email: 'reply_to', invalid_sender_name: 'sender_name', invalid_reminders: 'quiet_start' },
      fields: [
        { name: 'reminders_enabled', type: 'checkbox', label: 'Enviar lembretes das consultas', value: s.reminders_enabled, wide: true },
        offsets,
        ...choices.map((m) => ({ name: offsetName(m), type: 'checkbox', label: offsetLabel(m), value: s.reminder_offsets_minutes.includes(m) })),
        {
          name: 'quiet_start', type: 'time', label: 'Sem lembretes a partir de', required: true, value: s.quiet_start,
          hint: 'No fuso da clínica. Um lembrete que cairia nesse intervalo sai quando ele termina (ou antes, se a consulta for mais cedo).',
        },
        { name: 'quiet_end', type: 'time', label: 'até', required: true, value: s.quiet_end },
        {
          name: 'whatsapp_enabled', type: 'checkbox', label: 'Lembretes e documentos por WhatsApp', value: s.whatsapp_enabled,
          hint: channelHint(s.whatsapp_available, 'SMS ou e-mail'), wide: true,
        },
        {
          name: 'sms_enabled', type: 'checkbox', label: 'Lembretes por SMS', value: s.sms_enabled,
          hint: channelHint(s.sms_available, 'e-mail'), wide: true,
        },
        {
          name: 'sender_name', label: 'Nome do remetente', maxlength: 80, value: s.sender_name || '',
          hint: 'Como as mensagens chegam assinadas. Vazio: o nome da clínica.',
        },
        {
          name: 'reply_to', type: 'email', label: 'Respostas de e-mail para', value: s.reply_to || '',
          hint: 'Vazio: o paciente não consegue responder aos e-mails.',
        },
      ],
      async onSubmit(values, form) {
        const chosen = choices.filter((m) => values[offsetName(m)]);
        if (values.reminders_enabled && chosen.length === 0) {
          form.showError('Escolha quando lembrar, ou desmarque "Enviar lembretes das consultas".');
          return '';
        }
        /** @type {MessagingSettings} */
        const saved = await api.put(path, {
          reminders_enabled: values.reminders_enabled,
          reminder_offsets_minutes: chosen,
          quiet_start: values.quiet_start,
          quiet_end: values.quiet_end,
          whatsapp_enabled: values.whatsapp_enabled,
          sms_enabled: values.sms_enabled,
          sender_name: values.sender_name ?? null,
          reply_to: values.reply_to ?? null,
        });
        const when = saved.reminders_enabled && saved.reminder_offsets_minutes.length
          ? `lembretes ${saved.reminder_offsets_minutes.map(offsetLabel).join(', ')} da consulta`
          : 'sem lembretes';
        return `Salvo: ${when}.`;
      },
    });
    // The lead-time boxes sit under their legend.
    for (const m of choices) {
      const f = ctrl.get(offsetName(m));
      if (f) offsets.append(f.wrap);
    }
    return ctrl.form;
  }

  loadInto(body, () => api.get(path), render);
  return h('section', { class: 'panel', 'aria-labelledby': `ms-heading-${clinicId}` },
    h('h2', { id: `ms-heading-${clinicId}`, text: 'Como a clínica avisa os pacientes' }),
    body);
}
